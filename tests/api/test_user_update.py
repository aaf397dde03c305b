"""GET/PUT /api/user/<mail>, PUT .../password, change_email and verify_password."""

from __future__ import annotations

import datetime
import json

import pytest

from iredapi_ldap.passwords import hash_password
from iredapi_ldap.passwords import verify_password
from tests.helpers import add_alias
from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"
MAIL = "john@example.com"
PASSWORD = "Secret-Pass-123"
NEW_PASSWORD = "Other-Pass-456"
MB = 1024 * 1024


@pytest.fixture
def user(api, raw):
    """example.com with john@example.com; returns a reader of john's raw entry."""
    make_domain(api)
    make_user(api, MAIL)
    return lambda mail=MAIL: raw.entry(raw.user_dn(mail))


def put(api, data, mail=MAIL, **kwargs):
    return api.put(f"/api/user/{mail}", data=data, **kwargs)


def today():
    return str((datetime.date.today() - datetime.date(1970, 1, 1)).days)


# -- GET ----------------------------------------------------------------------


def test_get_shows_the_profile_without_password(api, user):
    response = api.get(f"/api/user/{MAIL}")
    assert response.status_code == 200
    data = response.json["_data"]
    assert data["mail"] == MAIL and data["name"] == "john" and data["accountStatus"] == "active"
    assert "password" not in json.dumps(data).lower().replace("lastpasswordchange", "")
    assert "{SSHA512}" not in response.get_data(as_text=True)


def test_get_unknown_user_is_404(api, user):
    assert_error(api.get("/api/user/nobody@example.com"), 404, "NO_SUCH_ACCOUNT")
    assert_error(api.get("/api/user/nobody"), 400, "INVALID_MAIL", "mail")


# -- single values -------------------------------------------------------------


def test_names(api, user):
    response = put(api, {"name": "John Smith", "gn": "John", "sn": "Smith"})
    assert response.status_code == 200, response.json
    assert response.json["_data"]["name"] == "John Smith"
    entry = user()
    assert (entry["cn"], entry["givenname"], entry["sn"]) == (["John Smith"], ["John"], ["Smith"])
    assert put(api, {"name": "", "gn": "", "sn": ""}).status_code == 200
    entry = user()
    assert entry["cn"] == ["john"] and entry["sn"] == ["john"] and "givenname" not in entry


def test_legacy_names_on_update(api, user):
    assert (
        put(api, {"cn": "Legacy", "preferredLanguage": "it_IT", "mailQuota": "7"}).status_code
        == 200
    )
    entry = user()
    assert entry["cn"] == ["Legacy"] and entry["preferredlanguage"] == ["it_IT"]
    assert entry["mailquota"] == [str(7 * MB)]


def test_password_sets_hash_and_shadow_last_change(api, raw, user):
    raw.conn.modify(raw.user_dn(MAIL), {"shadowLastChange": [("MODIFY_REPLACE", ["1"])]})
    assert put(api, {"password": NEW_PASSWORD}).status_code == 200
    entry = user()
    assert verify_password(NEW_PASSWORD, entry["userpassword"][0])
    assert not verify_password(PASSWORD, entry["userpassword"][0])
    assert entry["shadowlastchange"] == [today()]


def test_password_hash_and_policy_on_update(api, user):
    stored = hash_password("anything", "SSHA")[0]
    assert put(api, {"password_hash": stored}).status_code == 200
    assert user()["userpassword"] == [stored]
    assert_error(put(api, {"password": "weak"}), 400, "PW_SHORTER_THAN_MIN_LENGTH", "password")
    assert_error(put(api, {"password": NEW_PASSWORD, "password_hash": stored}), 400,
                 "INVALID_PARAMETERS", "password")  # fmt: skip
    assert_error(
        put(api, {"password_hash": "{MD5}xyz"}), 400, "INVALID_PASSWORD_SCHEME", "password_hash"
    )
    assert user()["userpassword"] == [stored]


def test_password_endpoint(api, raw, user):
    raw.conn.modify(raw.user_dn(MAIL), {"shadowLastChange": [("MODIFY_REPLACE", ["1"])]})
    response = api.put(f"/api/user/{MAIL}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 200 and response.json["success"] is True
    assert verify_password(NEW_PASSWORD, user()["userpassword"][0])
    assert user()["shadowlastchange"] == [today()]
    stored = hash_password("x", "SSHA512")[0]
    assert api.put(f"/api/user/{MAIL}/password", data={"password_hash": stored}).status_code == 200
    assert user()["userpassword"] == [stored]
    assert_error(
        api.put(f"/api/user/{MAIL}/password", data={}), 400, "INVALID_PARAMETERS", "password"
    )
    assert_error(api.put(f"/api/user/{MAIL}/password", data={"password": "short"}), 400,
                 "PW_SHORTER_THAN_MIN_LENGTH", "password")  # fmt: skip
    assert_error(api.put("/api/user/nobody@example.com/password", data={"password": NEW_PASSWORD}),
                 404, "NO_SUCH_ACCOUNT")  # fmt: skip


def test_password_policy_uses_the_domain_lengths(api, raw, user):
    raw.conn.modify(
        raw.domain_dn(DOMAIN), {"accountSetting": [("MODIFY_ADD", ["minPasswordLength:20"])]}
    )
    assert_error(
        put(api, {"password": NEW_PASSWORD}), 400, "PW_SHORTER_THAN_MIN_LENGTH", "password"
    )
    assert put(api, {"password": "Long-enough-pass-1234"}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "attribute", "stored"),
    [
        ("accountStatus", "disabled", "accountstatus", ["disabled"]),
        ("language", "de_DE", "preferredlanguage", ["de_DE"]),
        ("employeeid", "E-1234", "employeenumber", ["E-1234"]),
        ("transport", "lmtp:inet:127.0.0.1:24", "mtatransport", ["lmtp:inet:127.0.0.1:24"]),
        ("senderBcc", "Audit@Example.net", "usersenderbccaddress", ["audit@example.net"]),
        ("recipientBcc", "in@example.net", "userrecipientbccaddress", ["in@example.net"]),
        ("mailboxFormat", "mdbox", "mailboxformat", ["mdbox"]),
        ("mailboxFolder", "Mail", "mailboxfolder", ["Mail"]),
        ("maildir", "/Data/John/", "homedirectory", ["/data/john/"]),
        ("quota", "25", "mailquota", [str(25 * MB)]),
    ],
)
def test_single_value_fields(api, user, field, value, attribute, stored):
    response = put(api, {field: value})
    assert response.status_code == 200, response.json
    assert user()[attribute] == stored


@pytest.mark.parametrize(
    ("field", "attribute"),
    [
        ("language", "preferredlanguage"),
        ("employeeid", "employeenumber"),
        ("transport", "mtatransport"),
        ("senderBcc", "usersenderbccaddress"),
        ("recipientBcc", "userrecipientbccaddress"),
    ],
)
def test_empty_value_removes_the_attribute(api, user, field, attribute):
    values = {"language": "de_DE", "employeeid": "1", "transport": "dovecot",
              "senderBcc": "a@b.net", "recipientBcc": "a@b.net"}  # fmt: skip
    assert put(api, {field: values[field]}).status_code == 200
    assert attribute in user()
    assert put(api, {field: ""}).status_code == 200
    assert attribute not in user()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accountStatus", "gone"),
        ("language", "german"),
        ("transport", "bad transport"),
        ("senderBcc", "not-an-address"),
        ("mailboxFormat", "mbox"),
        ("mailboxFolder", "a/b"),
        ("maildir", "relative/"),
        ("quota", "-1"),
        ("isGlobalAdmin", "maybe"),
        ("services", "bad name!"),
        ("forwarding", "nobody"),
        ("telephoneNumber", "call me \u260e"),
        ("unknownField", "x"),
    ],
)
def test_bad_values_are_400_and_change_nothing(api, user, field, value):
    before = user()
    assert_error(put(api, {field: value}), 400, "INVALID_PARAMETERS", field)
    assert user() == before


def test_bcc_adds_the_service_when_missing(api, user):
    assert put(api, {"removeService": "senderbcc,recipientbcc"}).status_code == 200
    assert "senderbcc" not in user()["enabledservice"]
    assert put(api, {"senderBcc": "a@b.net", "recipientBcc": "c@d.net"}).status_code == 200
    services = user()["enabledservice"]
    assert "senderbcc" in services and "recipientbcc" in services


def test_unknown_user_is_404(api, user):
    assert_error(put(api, {"name": "x"}, mail="nobody@example.com"), 404, "NO_SUCH_ACCOUNT")


# -- admin flag -----------------------------------------------------------------


def test_is_global_admin(api, client, auth, user):
    assert put(api, {"isGlobalAdmin": "yes"}).status_code == 200
    entry = user()
    assert entry["domainglobaladmin"] == ["yes"]
    assert "domainadmin" in entry["enabledservice"]
    assert api.get(f"/api/user/{MAIL}").json["_data"]["isGlobalAdmin"] is True
    auth.logout()
    assert auth.login(MAIL, PASSWORD).status_code == 200
    assert put(client, {"isGlobalAdmin": "no"}).status_code == 200
    entry = user()
    assert "domainglobaladmin" not in entry
    assert "domainadmin" not in entry["enabledservice"]


# -- sets -------------------------------------------------------------------------


def test_services_triad(api, user):
    assert put(api, {"addService": "gitlab,Jabber"}).status_code == 200
    services = user()["enabledservice"]
    assert services[-2:] == ["gitlab", "jabber"]
    assert put(api, {"removeService": "imap,gitlab"}).status_code == 200
    services = user()["enabledservice"]
    assert "imap" not in services and "gitlab" not in services and "jabber" in services
    assert put(api, {"services": "mail,deliver,displayedinglobaladdressbook"}).status_code == 200
    assert user()["enabledservice"] == ["mail", "deliver", "displayedInGlobalAddressBook"]
    assert_error(
        put(api, {"services": "mail", "addService": "imap"}), 400, "INVALID_PARAMETERS", "services"
    )


def test_forwarding_triad(api, raw, user):
    make_user(api, "jane@example.com")
    add_alias(raw, "sales@example.com")
    response = put(
        api, {"forwarding": "Jane@Example.com,ext@other.net,sales@example.com,ext@other.net"}
    )
    assert response.status_code == 200, response.json
    assert sorted(user()["mailforwardingaddress"]) == [
        "ext@other.net",
        "jane@example.com",
        "sales@example.com",
    ]
    assert response.json["_data"]["forwarding"] == [
        "jane@example.com",
        "ext@other.net",
        "sales@example.com",
    ]
    assert (
        put(
            api, {"addForwarding": f"{MAIL},more@other.net", "removeForwarding": "ext@other.net"}
        ).status_code
        == 200
    )
    assert sorted(user()["mailforwardingaddress"]) == [
        "jane@example.com", MAIL, "more@other.net", "sales@example.com"
    ]  # fmt: skip
    assert put(api, {"forwarding": ""}).status_code == 200
    assert "mailforwardingaddress" not in user()


def test_forwarding_to_a_missing_local_address_is_refused(api, user):
    response = put(api, {"addForwarding": "ghost@example.com,ext@other.net"})
    assert_error(response, 400, "INVALID_PARAMETERS", "addForwarding")
    assert "ghost@example.com" in response.json["errors"]["addForwarding"][0]
    assert "mailforwardingaddress" not in user()


def test_forwarding_restores_the_forward_service(api, user):
    assert put(api, {"removeService": "forward"}).status_code == 200
    assert "forward" not in user()["enabledservice"]
    assert put(api, {"forwarding": "ext@other.net"}).status_code == 200
    assert "forward" in user()["enabledservice"]


def test_forwarding_and_add_forwarding_cannot_combine(api, user):
    response = put(api, {"forwarding": "a@b.net", "addForwarding": "c@d.net"})
    assert_error(response, 400, "INVALID_PARAMETERS", "forwarding")


def test_aliases_triad(api, raw, user):
    raw.conn.modify(raw.domain_dn(DOMAIN), {"domainAliasName": [("MODIFY_ADD", ["alias.net"])]})
    assert put(api, {"addAlias": "J.Smith@example.com,js@alias.net"}).status_code == 200
    assert sorted(user()["shadowaddress"]) == ["j.smith@example.com", "js@alias.net"]
    assert put(api, {"removeAlias": "js@alias.net"}).status_code == 200
    assert user()["shadowaddress"] == ["j.smith@example.com"]
    assert put(api, {"aliases": "a1@example.com,a2@example.com"}).status_code == 200
    assert sorted(user()["shadowaddress"]) == ["a1@example.com", "a2@example.com"]
    assert put(api, {"aliases": ""}).status_code == 200
    assert "shadowaddress" not in user()


def test_alias_outside_the_domain_or_own_address_is_400(api, user):
    for value in ("js@other.net", MAIL):
        response = put(api, {"addAlias": value})
        assert_error(response, 400, "INVALID_PARAMETERS", "addAlias")
        assert value in response.json["errors"]["addAlias"][0]
    assert "shadowaddress" not in user()


def test_alias_used_by_another_account_is_409(api, raw, user):
    make_user(api, "jane@example.com")
    add_alias(raw, "sales@example.com")
    put(api, {"addAlias": "jj@example.com"}, mail="jane@example.com")
    for value in ("jane@example.com", "sales@example.com", "jj@example.com"):
        response = put(api, {"addAlias": value})
        assert_error(response, 409, "ALREADY_EXISTS", "addAlias")
        assert value in response.json["errors"]["addAlias"][0]
    assert "shadowaddress" not in user()


def test_alias_restores_the_shadowaddress_service(api, user):
    assert put(api, {"removeService": "shadowaddress"}).status_code == 200
    assert put(api, {"addAlias": "js@example.com"}).status_code == 200
    assert "shadowaddress" in user()["enabledservice"]


def test_phones_are_multi_valued(api, user):
    response = api.put(
        f"/api/user/{MAIL}",
        data={"telephoneNumber": ["+1 555 0100", "+1 555 0101"], "mobile": "+49 170 1,+49 170 2"},
    )
    assert response.status_code == 200, response.json
    entry = user()
    assert entry["telephonenumber"] == ["+1 555 0100", "+1 555 0101"]
    assert entry["mobile"] == ["+49 170 1", "+49 170 2"]
    response = put(api, json.dumps({"mobile": ["+44 7700 900000"], "telephoneNumber": []}),
                   content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.json
    entry = user()
    assert entry["mobile"] == ["+44 7700 900000"] and "telephonenumber" not in entry


def test_many_fields_in_one_json_request(api, user):
    body = {"name": "J", "quota": 3, "accountStatus": "disabled", "addService": ["gitlab"],
            "forwarding": ["ext@other.net"], "isGlobalAdmin": "no"}  # fmt: skip
    response = put(api, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.json
    data = response.json["_data"]
    assert data["name"] == "J" and data["quota"] == 3 and data["accountStatus"] == "disabled"
    assert data["forwarding"] == ["ext@other.net"] and "gitlab" in data["services"]


# -- change_email ---------------------------------------------------------------


def test_change_email_renames_and_keeps_the_mailbox(api, raw, user):
    raw.conn.modify(raw.domain_dn(DOMAIN), {"domainAliasName": [("MODIFY_ADD", ["alias.net"])],
                                            "domainAdmin": [("MODIFY_ADD", [MAIL])]})  # fmt: skip
    raw.conn.modify(raw.user_dn(MAIL), {"shadowAddress": [("MODIFY_ADD", ["john@alias.net"])]})
    assert (
        put(api, {"forwarding": f"{MAIL},ext@other.net", "name": "John Smith"}).status_code == 200
    )
    alias = add_alias(raw, "sales@example.com", mailForwardingAddress=[MAIL, "x@other.net"])
    home = user()["homedirectory"]

    response = api.post(f"/api/user/{MAIL}/change_email/JS@example.com")
    assert response.status_code == 200, response.json
    assert response.json["_data"]["mail"] == "js@example.com"
    assert user() is None
    entry = user("js@example.com")
    assert entry["mail"] == ["js@example.com"]
    assert entry["uid"] == ["js"] and entry["sn"] == ["js"] and entry["cn"] == ["John Smith"]
    assert entry["homedirectory"] == home
    assert entry["shadowaddress"] == ["js@alias.net"]
    assert sorted(entry["mailforwardingaddress"]) == ["ext@other.net", "js@example.com"]
    assert sorted(raw.entry(alias)["mailforwardingaddress"]) == ["js@example.com", "x@other.net"]
    assert raw.entry(raw.domain_dn(DOMAIN))["domainadmin"] == ["js@example.com"]
    assert raw.entry(raw.domain_dn(DOMAIN))["domaincurrentusernumber"] == ["1"]


def test_change_email_refusals(api, raw, user):
    make_user(api, "jane@example.com")
    add_alias(raw, "sales@example.com")
    make_domain(api, "other.com")
    assert_error(api.post(f"/api/user/{MAIL}/change_email/john@other.com"), 400,
                 "INVALID_PARAMETERS", "new_mail")  # fmt: skip
    assert_error(
        api.post(f"/api/user/{MAIL}/change_email/{MAIL}"), 400, "INVALID_PARAMETERS", "new_mail"
    )
    assert_error(
        api.post(f"/api/user/{MAIL}/change_email/bad+x@example.com"),
        400,
        "INVALID_MAIL",
        "new_mail",
    )
    for taken in ("jane@example.com", "sales@example.com"):
        assert_error(api.post(f"/api/user/{MAIL}/change_email/{taken}"), 409, "ALREADY_EXISTS")
    assert_error(
        api.post("/api/user/ghost@example.com/change_email/g2@example.com"), 404, "NO_SUCH_ACCOUNT"
    )
    assert user() is not None


def test_change_email_to_an_own_alias_address(api, user):
    assert put(api, {"addAlias": "js@example.com"}).status_code == 200
    assert api.post(f"/api/user/{MAIL}/change_email/js@example.com").status_code == 200
    assert "shadowaddress" not in user("js@example.com")


# -- verify_password --------------------------------------------------------------


def test_verify_password(api, user):
    ok = api.post(f"/api/verify_password/user/{MAIL}", data={"password": PASSWORD})
    assert ok.status_code == 200 and ok.json["success"] is True and ok.json["_success"] is True
    wrong = api.post(f"/api/verify_password/user/{MAIL}", data={"password": "nope"})
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    assert_error(
        api.post(f"/api/verify_password/user/{MAIL}", data={}),
        400,
        "INVALID_PARAMETERS",
        "password",
    )
    assert_error(api.post("/api/verify_password/user/x@example.com", data={"password": "a"}), 404,
                 "NO_SUCH_ACCOUNT")  # fmt: skip
    # The admin's own session survives a failed check.
    assert api.get(f"/api/user/{MAIL}").status_code == 200


def test_values_the_directory_treats_as_equal_are_stored_once(api, user):
    response = put(api, {"services": "mail,MAIL,Imap", "telephoneNumber": "+1 555-0100,+15550100"})
    assert response.status_code == 200, response.json
    entry = user()
    assert entry["enabledservice"] == ["mail", "imap"]
    assert entry["telephonenumber"] == ["+1 555-0100"]


def test_dropping_global_admin_keeps_a_domain_admin_role(api, raw):
    """isGlobalAdmin=no keeps enabledService domainadmin while a domain still lists the user."""
    assert api.post("/api/domain/ga.test", data={"cn": "G"}).status_code == 201
    mail = "boss@ga.test"
    assert api.post(f"/api/user/{mail}", data={"password": "Secret-Pass-123"}).status_code == 201
    assert api.put("/api/domain/admins/ga.test", data={"addAdmin": mail}).status_code == 200
    assert api.put(f"/api/user/{mail}", data={"isGlobalAdmin": "yes"}).status_code == 200
    assert api.put(f"/api/user/{mail}", data={"isGlobalAdmin": "no"}).status_code == 200
    entry = raw.entry(raw.user_dn(mail))
    assert "domainadmin" in [s.lower() for s in entry["enabledservice"]]
    assert "domainglobaladmin" not in entry
