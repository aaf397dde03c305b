"""The large-directory paths: the first page at the cost of a page, creates without read-backs."""

from __future__ import annotations

import pytest

from iredapi_ldap.ldap import Directory
from iredapi_ldap.ldap import get_directory
from tests.helpers import DOMAIN
from tests.helpers import PASSWORD
from tests.helpers import add_catchall
from tests.helpers import add_many
from tests.helpers import make_domain


class CountingDirectory:
    """Count the LDAP operations of the app's Directory (the real one, just counted)."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        for name in ("_search_page", "add", "modify", "delete"):
            original = getattr(Directory, name)

            def counted(directory, *args, _name=name, _original=original, **kwargs):
                self.calls.append(_name)
                return _original(directory, *args, **kwargs)

            monkeypatch.setattr(Directory, name, counted)


@pytest.fixture
def counting(monkeypatch):
    return CountingDirectory(monkeypatch)


def set_counter(raw, value):
    assert raw.conn.modify(
        raw.domain_dn(DOMAIN), {"domainCurrentUserNumber": [("MODIFY_REPLACE", [str(value)])]}
    )


def test_first_page_takes_the_total_from_the_counter(api, raw, counting):
    make_domain(api)
    add_many(raw, 120)
    add_catchall(raw)
    # No counter yet (users added behind the API's back): the users are counted.
    body = api.get(f"/api/users/{DOMAIN}?page=1&page_size=10").json
    assert body["total"] == 120 and body["total_exact"] is True and len(body["_data"]) == 10
    set_counter(raw, 120)
    counting.calls.clear()
    body = api.get(f"/api/users/{DOMAIN}?page=1&page_size=10").json
    assert body["total"] == 120 and body["total_exact"] is False
    assert [u["mail"] for u in body["_data"]] == [f"user{i:05d}@{DOMAIN}" for i in range(10)]
    # The caller's own entry (sessions end at once: security.md), the domain, then one page
    # of 10: nothing that grows with the domain.
    assert counting.calls == ["_search_page", "_search_page", "_search_page"]


def test_cached_total_is_the_counter_and_total_exact_counts(api, raw):
    make_domain(api)
    add_many(raw, 30)
    set_counter(raw, 31)  # e.g. a create in flight has reserved its place
    body = api.get(f"/api/users/{DOMAIN}?email_only=yes").json
    assert body["total"] == 31 and body["total_exact"] is False and len(body["_data"]) == 30
    body = api.get(f"/api/users/{DOMAIN}?email_only=yes&total_exact=yes").json
    assert body["total"] == 30 and body["total_exact"] is True
    # A filter always counts.
    body = api.get(f"/api/users/{DOMAIN}", query_string={"search": "user0001"}).json
    assert body["total"] == 10 and body["total_exact"] is True
    response = api.get(f"/api/users/{DOMAIN}?total_exact=maybe")
    assert response.status_code == 400 and "total_exact" in response.json["errors"]


def test_deep_offsets_keep_directory_order(api, raw, app):
    make_domain(api)
    add_many(raw, 1120)
    set_counter(raw, 1120)
    everything = api.get(f"/api/users/{DOMAIN}?email_only=yes&offset=0&limit=1000").json["_data"]
    everything += api.get(f"/api/users/{DOMAIN}?email_only=yes&offset=1000&limit=1000").json[
        "_data"
    ]
    assert len(everything) == 1120 and len(set(everything)) == 1120
    deep = api.get(f"/api/users/{DOMAIN}?offset=1010&limit=50").json
    assert [u["mail"] for u in deep["_data"]] == everything[1010:1060]
    assert deep["total"] == 1120


def test_create_answers_what_it_wrote_in_five_operations(api, raw, counting):
    make_domain(api)
    assert api.post(f"/api/user/first@{DOMAIN}", data={"password": PASSWORD}).status_code == 201
    counting.calls.clear()
    response = api.post(
        f"/api/user/second@{DOMAIN}", data={"password": PASSWORD, "name": "Second User"}
    )
    assert response.status_code == 201, response.json
    # The caller's own entry, domain, address check, counter increment, add: no read-back.
    assert counting.calls == ["_search_page", "_search_page", "_search_page", "modify", "add"]
    assert response.json["_data"] == api.get(f"/api/user/second@{DOMAIN}").json["_data"]
    assert raw.entry(raw.domain_dn(DOMAIN))["domaincurrentusernumber"] == ["2"]


def test_create_refuses_an_admin_address_but_not_an_external_list_member(api, raw, app):
    from iredapi_ldap.models.admins.create import create_admin

    with app.app_context():  # an admin created while the domain was not hosted yet
        create_admin(get_directory(), f"boss@{DOMAIN}", PASSWORD, is_global=False)
    make_domain(api)
    response = api.post(f"/api/user/boss@{DOMAIN}", data={"password": PASSWORD})
    assert response.status_code == 409 and response.json["errors"] == {
        "mail": [f"Already used: boss@{DOMAIN}."]
    }
    # A legacy list elsewhere with an external member of that address does not own it.
    make_domain(api, "other.example")
    assert raw.conn.add(
        f"memberOfGroup=list@other.example,ou=Externals,{raw.domain_dn('other.example')}",
        attributes={"objectClass": ["mailExternalUser"], "memberOfGroup": "list@other.example",
                    "mail": f"guest@{DOMAIN}"},
    ), raw.conn.result  # fmt: skip
    assert api.post(f"/api/user/guest@{DOMAIN}", data={"password": PASSWORD}).status_code == 201
