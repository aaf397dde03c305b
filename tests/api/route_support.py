"""Every route of an app with plausible path values, and the accounts those values name."""

from __future__ import annotations

from typing import Any
from typing import NamedTuple

from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models.admin import create_global_admin
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD

from .admin_support import add_admin
from .admin_support import add_domain
from .admin_support import add_user
from .admin_support import login

DOMAIN = "a.test"
BOSS = "boss@partner.test"  # a standard admin of a.test
TARGET = "target@partner.test"  # another admin, the subject of the admin routes
PATH_VALUES = {
    "domain": DOMAIN,
    "days": "30",
    "new_mail": f"new@{DOMAIN}",
    "token_id": "0123456789abcdef",
    "job_id": "0123456789abcdef",
    "filename": "x.css",
}
MAIL_BY_RESOURCE = {
    "user": f"u@{DOMAIN}",
    "alias": f"al@{DOMAIN}",
    "maillist": f"ml@{DOMAIN}",
    "ml": f"list@{DOMAIN}",
    "admin": TARGET,
    "token": TARGET,
}


class Route(NamedTuple):
    """One method of one URL rule, with its path filled in."""

    method: str
    url: str
    endpoint: str
    view: Any

    def argument_schemas(self) -> list[Any]:
        """Return the schemas the view parses its arguments with."""
        parameters = getattr(self.view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        return [p["schema"] for p in parameters]

    def reads_body(self) -> bool:
        """Tell whether the view parses a JSON or form body."""
        parameters = getattr(self.view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        return any(p.get("in") == "json_or_form" for p in parameters)


def every_route(app) -> list[Route]:
    """Return every rule and method of the app (HEAD and OPTIONS aside), DELETEs last."""
    routes = []
    for rule in app.url_map.iter_rules():
        resource = rule.endpoint.split(".")[0]
        values = {
            name: MAIL_BY_RESOURCE.get(resource, f"u@{DOMAIN}")
            if name == "mail"
            else PATH_VALUES[name]
            for name in rule.arguments
        }
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append(Route(method, url, rule.endpoint, app.view_functions[rule.endpoint]))
    return sorted(routes, key=lambda route: route.method == "DELETE")


def build_world(app, raw) -> None:
    """The global admin, a.test with a user, an alias and a list, its admin BOSS, and TARGET."""
    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    add_domain(raw, DOMAIN, admins=[BOSS])
    add_admin(raw, BOSS)
    add_admin(raw, TARGET)
    add_user(raw, f"u@{DOMAIN}")
    client = app.test_client()
    assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    assert client.post(f"/api/alias/al@{DOMAIN}").status_code == 201
    assert client.post(f"/api/maillist/ml@{DOMAIN}").status_code == 201
