"""The request pipeline: create_app registers every hook, in one order, and nothing else does."""

from __future__ import annotations

import ast
from pathlib import Path

from iredapi_ldap import create_app

PACKAGE = Path(__file__).resolve().parents[2] / "iredapi_ldap"
FACTORY = PACKAGE / "__init__.py"

# In the order Flask runs them (docs/development.md, "The lifecycle of a request").
BEFORE_REQUEST = [
    "iredapi_ldap.security.forget_previous_request",
    "iredapi_ldap.security.client.check_access",
    "iredapi_ldap.policies.enforce_route_policy",
    "iredapi_ldap.audit.remember_session_admin",
    "iredapi_ldap.jobs.runner.resume_orphans",
    "iredapi_ldap.api.reject_undeclared_input",
    "iredapi_ldap.models.counter_queue.start_counter_upkeep",
]
AFTER_REQUEST = [
    "iredapi_ldap.audit.record_write",
    "iredapi_ldap.auth.refresh_after_own_change",
    "flask_login.login_manager.LoginManager._update_remember_cookie",
    "iredapi_ldap.security.tokens.forget_changed_admins",
]
TEARDOWN_REQUEST = ["iredapi_ldap.audit.record_if_missed"]
TEARDOWN_APPCONTEXT = ["iredapi_ldap.ldap.connection.release_directory"]

# What registers (or reorders) a request hook on an app or a blueprint.
HOOK_NAMES = frozenset({
    "before_request", "after_request", "teardown_request", "teardown_appcontext",
    "before_app_request", "after_app_request", "teardown_app_request",
    "before_request_funcs", "after_request_funcs", "teardown_request_funcs",
    "teardown_appcontext_funcs",
})  # fmt: skip


def names(functions) -> list[str]:
    """Return the dotted names of hook functions."""
    return [f"{function.__module__}.{function.__qualname__}" for function in functions]


def build(tmp_path):
    """Build an app; create_app connects to nothing, so no server is needed."""
    return create_app({"SECRET_KEY": "x", "SQL_URL": f"sqlite:///{tmp_path / 'store.sqlite'}"})


def test_create_app_registers_every_hook_in_one_order(tmp_path):
    """Every request hook is app-wide and runs in the documented order."""
    app = build(tmp_path)

    assert names(app.before_request_funcs[None]) == BEFORE_REQUEST
    # Flask runs after_request and teardown hooks last-registered first.
    assert names(reversed(app.after_request_funcs[None])) == AFTER_REQUEST
    assert names(reversed(app.teardown_request_funcs[None])) == TEARDOWN_REQUEST
    assert names(reversed(app.teardown_appcontext_funcs)) == TEARDOWN_APPCONTEXT
    # No blueprint has hooks of its own, and nothing else runs around a request.
    for registry in (app.before_request_funcs, app.after_request_funcs,
                     app.teardown_request_funcs, app.url_value_preprocessors):  # fmt: skip
        assert set(registry) <= {None}, registry
    assert not app.url_value_preprocessors


def test_only_the_factory_registers_hooks():
    """No module but iredapi_ldap/__init__.py registers, or reorders, a request hook."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == FACTORY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in HOOK_NAMES:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.attr}")
    assert not offenders, "register hooks in create_app's _register_pipeline:\n" + "\n".join(
        offenders
    )
