"""DELETE /api/user/<mail>[/keep_mailbox_days/<n>], and the mailboxes a domain delete logs."""

from __future__ import annotations

import datetime
import time

import pytest

from iredapi_ldap.sqlstore import get_store
from tests.conftest import ADMIN_EMAIL
from tests.helpers import add_entry
from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"
MAIL = "john@example.com"
MB = 1024 * 1024


def deleted_rows(app, **where):
    with app.app_context():
        return get_store().deleted_mailboxes(**where)


def test_delete_removes_the_entry_and_logs_the_mailbox(api, app, raw):
    make_domain(api)
    make_user(api, MAIL, quota="10")
    home = raw.entry(raw.user_dn(MAIL))["homedirectory"][0]
    response = api.delete(f"/api/user/{MAIL}")
    assert response.status_code == 200, response.json
    assert response.json == {"success": True, "_success": True}
    assert raw.entry(raw.user_dn(MAIL)) is None
    rows = deleted_rows(app)
    assert len(rows) == 1
    row = rows[0]
    assert (row["username"], row["domain"], row["maildir"], row["admin"]) == (
        MAIL, DOMAIN, home, ADMIN_EMAIL
    )  # fmt: skip
    assert row["delete_date"] is None
    domain = raw.entry(raw.domain_dn(DOMAIN))
    assert domain["domaincurrentusernumber"] == ["0"]
    assert domain["domaincurrentquotasize"] == ["0"]


def test_keep_mailbox_days(api, app, raw):
    make_domain(api)
    make_user(api, MAIL)
    response = api.delete(f"/api/user/{MAIL}/keep_mailbox_days/30")
    assert response.status_code == 200, response.json
    row = deleted_rows(app, username=MAIL)[0]
    assert row["delete_date"] == datetime.date.today() + datetime.timedelta(days=30)


@pytest.mark.parametrize("days", [1096, 5000])
def test_keep_mailbox_days_out_of_range_is_400(api, app, raw, days):
    make_domain(api)
    make_user(api, MAIL)
    assert_error(api.delete(f"/api/user/{MAIL}/keep_mailbox_days/{days}"), 400,
                 "INVALID_PARAMETERS", "keep_mailbox_days")  # fmt: skip
    assert raw.entry(raw.user_dn(MAIL)) is not None
    assert deleted_rows(app) == []


def test_delete_unknown_user_is_404(api, app):
    make_domain(api)
    assert_error(api.delete("/api/user/nobody@example.com"), 404, "NO_SUCH_ACCOUNT")
    assert_error(api.delete("/api/user/@example.com"), 400, "INVALID_MAIL", "mail")
    assert deleted_rows(app) == []


def test_delete_removes_every_reference(api, raw):
    make_domain(api)
    make_user(api, MAIL)
    make_user(api, "jane@example.com")
    assert api.put(f"/api/user/{MAIL}", data={"addAlias": "js@example.com"}).status_code == 200
    assert api.put("/api/user/jane@example.com",
                   data={"forwarding": f"{MAIL},js@example.com,ext@other.net"}).status_code == 200  # fmt: skip
    base = raw.domain_dn(DOMAIN)
    raw.conn.modify(base, {"domainAdmin": [("MODIFY_ADD", [MAIL, "jane@example.com"])]})
    alias = add_entry(raw, f"mail=sales@example.com,ou=Aliases,{base}", objectClass=["mailAlias"],
                      mail="sales@example.com", mailForwardingAddress=[MAIL, "jane@example.com"])  # fmt: skip
    lst = add_entry(raw, f"mail=team@example.com,ou=Groups,{base}", objectClass=["mailList"],
                    mail="team@example.com", listModerator=[MAIL], listOwner=[MAIL, "jane@example.com"],
                    listAllowedUser=["JS@example.com"])  # fmt: skip
    raw.conn.modify(raw.user_dn("jane@example.com"), {"userManager": [("MODIFY_ADD", [MAIL])]})

    assert api.delete(f"/api/user/{MAIL}").status_code == 200
    assert raw.entry(base)["domainadmin"] == ["jane@example.com"]
    assert raw.entry(alias)["mailforwardingaddress"] == ["jane@example.com"]
    jane = raw.entry(raw.user_dn("jane@example.com"))
    assert jane["mailforwardingaddress"] == ["ext@other.net"]
    assert "usermanager" not in jane
    team = raw.entry(lst)
    assert "listmoderator" not in team and "listalloweduser" not in team
    assert team["listowner"] == ["jane@example.com"]


def test_delete_removes_children_and_old_layout_paths(api, app, raw):
    make_domain(api)
    make_user(api, MAIL)
    dn = raw.user_dn(MAIL)
    raw.conn.modify(dn, {"homeDirectory": [("MODIFY_DELETE", [])],
                         "storageBaseDirectory": [("MODIFY_ADD", ["/var/vmail"])],
                         "mailMessageStore": [("MODIFY_ADD", ["vmail1/example.com/john/"])]})  # fmt: skip
    add_entry(raw, f"ou=Sieve,{dn}", objectClass=["organizationalUnit"], ou="Sieve")
    assert api.delete(f"/api/user/{MAIL}").status_code == 200
    assert raw.entry(dn) is None
    assert deleted_rows(app)[0]["maildir"] == "/var/vmail/vmail1/example.com/john/"


def test_domain_delete_logs_every_mailbox(api, app, raw):
    make_domain(api)
    make_user(api, MAIL)
    make_user(api, "jane@example.com")
    homes = {m: raw.entry(raw.user_dn(m))["homedirectory"][0] for m in (MAIL, "jane@example.com")}
    add_entry(raw, raw.user_dn("@example.com"), objectClass=["inetOrgPerson", "mailUser"],
              mail="@example.com", cn="catch-all", sn="catch-all", uid="catch-all")  # fmt: skip
    response = api.delete(f"/api/domain/{DOMAIN}/keep_mailbox_days/7")
    assert response.status_code == 200, response.json
    assert raw.entry(raw.domain_dn(DOMAIN)) is None
    rows = deleted_rows(app, domain=DOMAIN)
    assert {r["username"]: r["maildir"] for r in rows} == homes
    expected = datetime.date.today() + datetime.timedelta(days=7)
    assert {r["delete_date"] for r in rows} == {expected}
    assert {r["admin"] for r in rows} == {ADMIN_EMAIL}


def test_domain_delete_keeps_forever_by_default(api, app):
    make_domain(api)
    make_user(api, MAIL)
    assert api.delete(f"/api/domain/{DOMAIN}").status_code == 200
    rows = deleted_rows(app)
    assert [(r["username"], r["delete_date"]) for r in rows] == [(MAIL, None)]


def test_recreated_user_gets_a_fresh_mailbox_path(api, raw):
    make_domain(api)
    make_user(api, MAIL)
    first = raw.entry(raw.user_dn(MAIL))["homedirectory"][0]
    assert api.delete(f"/api/user/{MAIL}").status_code == 200
    time.sleep(1.05)
    make_user(api, MAIL)
    assert raw.entry(raw.user_dn(MAIL))["homedirectory"][0] != first
