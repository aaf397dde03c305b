"""POST /api/user/<mail>: exactly the entry iRedAdmin writes (model 3.3)."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from iredapi_ldap.models.users.user import NORMAL_USER_SERVICES
from iredapi_ldap.passwords import hash_password
from iredapi_ldap.passwords import verify_password
from tests.helpers import USER_CLASSES
from tests.helpers import add_entry
from tests.helpers import assert_error
from tests.helpers import make_domain

DOMAIN = "example.com"
PASSWORD = "Secret-Pass-123"
HOME = re.compile(
    r"^/var/vmail/vmail1/example\.com/j/o/h/john-\d{4}\.\d\d\.\d\d\.\d\d\.\d\d\.\d\d/$"
)
MB = 1024 * 1024


def create(api, mail="john@example.com", **params):
    params.setdefault("password", PASSWORD)
    return api.post(f"/api/user/{mail}", data=params)


def today():
    return str((datetime.date.today() - datetime.date(1970, 1, 1)).days)


# -- what is written ----------------------------------------------------------


def test_create_writes_exactly_what_iredadmin_writes(api, raw):
    make_domain(api)
    response = create(api)
    assert response.status_code == 201, response.json
    assert response.json["success"] is True and response.json["_success"] is True
    assert response.json["_data"]["mail"] == "john@example.com"

    entry = raw.entry(raw.user_dn("john@example.com"))
    assert sorted(entry["objectclass"]) == sorted(USER_CLASSES)
    assert entry["mail"] == ["john@example.com"]
    assert entry["uid"] == ["john"]
    assert entry["sn"] == ["john"]
    assert entry["cn"] == ["john"]
    assert len(entry["userpassword"]) == 1
    assert entry["userpassword"][0].startswith("{SSHA512}")
    assert verify_password(PASSWORD, entry["userpassword"][0])
    assert HOME.match(entry["homedirectory"][0]), entry["homedirectory"]
    assert entry["accountstatus"] == ["active"]
    assert entry["enabledservice"] == list(NORMAL_USER_SERVICES)
    assert entry["preferredlanguage"] == ["en_US"]
    assert entry["shadowlastchange"] == [today()]
    assert entry["amavislocal"] == ["TRUE"]
    assert entry["mailboxformat"] == ["maildir"]
    assert entry["mailboxfolder"] == ["Maildir"]
    for absent in ("mailquota", "domainstatus", "shadowaddress", "givenname",
                   "storagebasedirectory", "mailmessagestore", "domainglobaladmin"):  # fmt: skip
        assert absent not in entry, absent
    domain = raw.entry(raw.domain_dn(DOMAIN))
    assert domain["domaincurrentusernumber"] == ["1"]


def test_the_full_normal_user_service_list():
    assert set(NORMAL_USER_SERVICES) == {
        "internal", "doveadm", "lib-storage", "indexer-worker", "dsync", "quota-status",
        "mail", "smtp", "smtpsecured", "smtptls", "pop3", "pop3secured", "pop3tls",
        "imap", "imapsecured", "imaptls", "managesieve", "managesievesecured",
        "managesievetls", "sieve", "sievesecured", "sievetls", "deliver", "lda", "lmtp",
        "recipientbcc", "senderbcc", "forward", "shadowaddress",
        "displayedInGlobalAddressBook", "sogo", "sogowebmail", "sogocalendar", "sogoactivesync",
    }  # fmt: skip
    assert len(NORMAL_USER_SERVICES) == 34


def test_response_never_contains_a_password_hash(api):
    make_domain(api)
    response = create(api)
    text = response.get_data(as_text=True)
    assert "{SSHA512}" not in text and "userPassword" not in text and PASSWORD not in text
    shown = api.get("/api/user/john@example.com")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "{SSHA512}" not in text and "userPassword" not in text


def test_sample_client_call_with_2016_names(api, app, raw):
    # seeds/iredadmin-pro-api-python-sample.txt, verbatim data.
    make_domain(api, "test.com", defaultQuota="1024")
    app.config.update(PASSWORD_REQUIRE_UPPERCASE=False, PASSWORD_REQUIRE_DIGIT=False)
    response = api.post(
        "/api/user/zhb@test.com",
        data={
            "cn": "Zhang Huangbin",
            "password": "password_for_zhb",
            "preferredLanguage": "en_US",
            "mailQuota": 2048,
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["success"] is True
    entry = raw.entry(raw.user_dn("zhb@test.com"))
    assert entry["cn"] == ["Zhang Huangbin"]
    assert entry["preferredlanguage"] == ["en_US"]
    assert entry["mailquota"] == [str(2048 * MB)]
    assert verify_password("password_for_zhb", entry["userpassword"][0])
    assert entry["homedirectory"][0].startswith("/var/vmail/vmail1/test.com/z/h/b/zhb-")
    # The sample's delete call.
    assert api.delete("/api/user/zhb@test.com").json["success"] is True
    assert raw.entry(raw.user_dn("zhb@test.com")) is None


def test_sample_password_fails_the_default_policy(api, raw):
    make_domain(api, "test.com")
    response = api.post("/api/user/zhb@test.com", data={"cn": "Z", "password": "password_for_zhb"})
    assert_error(response, 400, "PW_NO_UPPERCASE", "password")
    assert "upper-case" in response.json["errors"]["password"][0]
    assert raw.entry(raw.user_dn("zhb@test.com")) is None


def test_current_names_and_json_body(api, raw):
    make_domain(api)
    response = api.post(
        "/api/user/John@Example.com",
        data=json.dumps(
            {
                "name": "John Smith",
                "password": PASSWORD,
                "language": "de_DE",
                "quota": 10,
                "accountStatus": "disabled",
            }
        ),  # fmt: skip
        content_type="application/json",
    )
    assert response.status_code == 201, response.json
    entry = raw.entry(raw.user_dn("john@example.com"))
    assert entry["mail"] == ["john@example.com"]
    assert entry["cn"] == ["John Smith"]
    assert entry["preferredlanguage"] == ["de_DE"]
    assert entry["mailquota"] == [str(10 * MB)]
    assert entry["accountstatus"] == ["disabled"]


def test_legacy_and_current_name_together_is_refused(api):
    make_domain(api)
    assert_error(create(api, cn="A", name="B"), 400, "INVALID_PARAMETERS", "cn")


def test_unknown_parameter_is_refused(api, raw):
    make_domain(api)
    assert_error(create(api, bogus="1"), 400, "INVALID_PARAMETERS", "bogus")
    assert raw.entry(raw.user_dn("john@example.com")) is None


# -- quota and language defaults ---------------------------------------------


def test_quota_defaults_to_the_domain_default_quota(api, raw):
    make_domain(api, defaultQuota="512")
    assert create(api, "a@example.com").status_code == 201
    assert create(api, "b@example.com", quota="0").status_code == 201
    assert create(api, "c@example.com", quota="100").status_code == 201
    assert raw.entry(raw.user_dn("a@example.com"))["mailquota"] == [str(512 * MB)]
    assert raw.entry(raw.user_dn("b@example.com"))["mailquota"] == [str(512 * MB)]
    assert raw.entry(raw.user_dn("c@example.com"))["mailquota"] == [str(100 * MB)]


def test_no_quota_anywhere_means_no_mailquota(api, raw):
    make_domain(api)
    assert create(api, quota="0").status_code == 201
    assert "mailquota" not in raw.entry(raw.user_dn("john@example.com"))
    assert api.get("/api/user/john@example.com").json["_data"]["quota"] == 0


def test_bad_quota_is_refused(api):
    make_domain(api)
    assert_error(create(api, quota="-5"), 400, "INVALID_PARAMETERS", "quota")
    assert_error(create(api, quota="lots"), 400, "INVALID_PARAMETERS", "quota")


def test_language_defaults_to_the_domain_language(api, raw):
    make_domain(api, language="fr_FR")
    assert create(api).status_code == 201
    assert raw.entry(raw.user_dn("john@example.com"))["preferredlanguage"] == ["fr_FR"]
    assert_error(
        create(api, "x@example.com", language="french"), 400, "INVALID_PARAMETERS", "language"
    )


# -- passwords ----------------------------------------------------------------


def test_password_hash_is_stored_as_is_and_skips_the_policy(api, raw):
    make_domain(api)
    stored = hash_password("x", "SSHA")[0]
    response = api.post("/api/user/john@example.com", data={"password_hash": stored})
    assert response.status_code == 201, response.json
    assert raw.entry(raw.user_dn("john@example.com"))["userpassword"] == [stored]


def test_unsupported_password_hash_is_refused(api, raw):
    make_domain(api)
    for value in ("plaintext", "{FOO}abc", "{SSHA}not-base64!"):
        response = api.post("/api/user/john@example.com", data={"password_hash": value})
        assert_error(response, 400, "INVALID_PASSWORD_SCHEME", "password_hash")
    assert raw.entry(raw.user_dn("john@example.com")) is None


def test_exactly_one_of_password_and_password_hash(api):
    make_domain(api)
    response = api.post("/api/user/john@example.com", data={"name": "x"})
    assert_error(response, 400, "INVALID_PARAMETERS", "password")
    both = create(api, password_hash=hash_password("x", "SSHA")[0])
    assert_error(both, 400, "INVALID_PARAMETERS", "password")


def test_password_policy_global_defaults(api):
    make_domain(api)
    response = create(api, password="Sh-1")
    assert_error(response, 400, "PW_SHORTER_THAN_MIN_LENGTH", "password")
    assert "at least 8 characters" in response.json["errors"]["password"][0]
    assert_error(create(api, password="nouppercase-1"), 400, "PW_NO_UPPERCASE", "password")
    assert_error(create(api, password="NoDigits-here"), 400, "PW_NO_DIGIT_NUMBER", "password")
    assert_error(create(api, password="NoSpecial123"), 400, "PW_NO_SPECIAL_CHAR", "password")


def test_password_policy_per_domain_lengths(api):
    make_domain(api, minPasswordLength="12", maxPasswordLength="14")
    assert_error(create(api, password="Secret-12ab"), 400, "PW_SHORTER_THAN_MIN_LENGTH", "password")
    long = create(api, password="Secret-12abcdef")
    assert_error(long, 400, "PW_GREATER_THAN_MAX_LENGTH", "password")
    assert "at most 14" in long.json["errors"]["password"][0]
    assert create(api, password="Secret-12abc").status_code == 201


def test_password_policy_from_config(api, app):
    make_domain(api)
    app.config.update(PASSWORD_MIN_LENGTH=4, PASSWORD_REQUIRE_SPECIAL=False)
    assert create(api, password="Ab12").status_code == 201


def test_password_scheme_from_config(api, app, raw):
    make_domain(api)
    app.config["DEFAULT_PASSWORD_SCHEME"] = "SSHA"
    assert create(api).status_code == 201
    stored = raw.entry(raw.user_dn("john@example.com"))["userpassword"]
    assert len(stored) == 1 and stored[0].startswith("{SSHA}")
    assert verify_password(PASSWORD, stored[0])


# -- mailbox ------------------------------------------------------------------


def test_mailbox_format_folder_and_maildir(api, raw):
    make_domain(api)
    response = create(api, mailboxFormat="MDBOX", mailboxFolder="Mail2", maildir="/Data/Mail/John/")
    assert response.status_code == 201, response.json
    entry = raw.entry(raw.user_dn("john@example.com"))
    assert entry["mailboxformat"] == ["mdbox"]
    assert entry["mailboxfolder"] == ["Mail2"]
    assert entry["homedirectory"] == ["/data/mail/john/"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mailboxFormat", "mbox"),
        ("mailboxFolder", "Mail.dir"),
        ("mailboxFolder", "a" * 21),
        ("maildir", "relative/path"),
        ("maildir", "/var/vmail/../etc/"),
        ("maildir", "/var/vmail/caf\u00e9/"),
    ],
)
def test_bad_mailbox_values_are_refused(api, raw, field, value):
    make_domain(api)
    assert_error(create(api, **{field: value}), 400, "INVALID_PARAMETERS", field)
    assert raw.entry(raw.user_dn("john@example.com")) is None


def test_maildir_layout_follows_config_and_domain_base(api, app, raw):
    make_domain(api)
    app.config.update(STORAGE_BASE_DIRECTORY="/srv/vmail", MAILDIR_HASHED=False,
                      MAILDIR_APPEND_TIMESTAMP=False, MAILBOX_FORMAT="sdbox",
                      MAILBOX_FOLDER="Mail")  # fmt: skip
    assert create(api, "jo@example.com").status_code == 201
    entry = raw.entry(raw.user_dn("jo@example.com"))
    assert entry["homedirectory"] == ["/srv/vmail/example.com/jo/"]
    assert entry["mailboxformat"] == ["sdbox"]
    assert entry["mailboxfolder"] == ["Mail"]
    raw.conn.modify(raw.domain_dn(DOMAIN),
                    {"accountSetting": [("MODIFY_ADD", ["defaultStorageBaseDirectory:/data/vmail9"])]})  # fmt: skip
    assert create(api, "al@example.com").status_code == 201
    assert raw.entry(raw.user_dn("al@example.com"))["homedirectory"] == [
        "/data/vmail9/example.com/al/"
    ]


# -- domain state -------------------------------------------------------------


def test_user_of_a_disabled_domain_is_marked(api, raw):
    make_domain(api, accountStatus="disabled")
    assert create(api).status_code == 201
    assert raw.entry(raw.user_dn("john@example.com"))["domainstatus"] == ["disabled"]


def test_alias_domains_give_shadow_addresses(api, raw):
    make_domain(api)
    raw.conn.modify(raw.domain_dn(DOMAIN),
                    {"domainAliasName": [("MODIFY_ADD", ["alias.net", "Other.org"])]})  # fmt: skip
    assert create(api).status_code == 201
    entry = raw.entry(raw.user_dn("john@example.com"))
    assert sorted(entry["shadowaddress"]) == ["john@alias.net", "john@other.org"]
    assert "shadowaddress" in entry["enabledservice"]


def test_additional_services_from_config(api, app, raw):
    make_domain(api)
    app.config["ADDITIONAL_ENABLED_USER_SERVICES"] = "gitlab, Jabber mail"
    assert create(api).status_code == 201
    services = raw.entry(raw.user_dn("john@example.com"))["enabledservice"]
    assert services == [*NORMAL_USER_SERVICES, "gitlab", "jabber"]


# -- refusals -----------------------------------------------------------------


def test_missing_domain_is_404(api, raw):
    assert_error(create(api, "john@nowhere.com"), 404, "NO_SUCH_DOMAIN")


@pytest.mark.parametrize("mail", ["john+ext@example.com", "@example.com", "john", "jo hn@example.com",
                                  ".john@example.com", "john..x@example.com"])  # fmt: skip
def test_invalid_address_is_400(api, mail):
    make_domain(api)
    assert_error(create(api, mail), 400, "INVALID_MAIL", "mail")


def test_existing_user_is_409(api, raw):
    make_domain(api)
    assert create(api).status_code == 201
    assert_error(create(api), 409, "ALREADY_EXISTS")
    assert raw.entry(raw.domain_dn(DOMAIN))["domaincurrentusernumber"] == ["1"]


def test_address_used_by_an_alias_list_or_shadow_address_is_409(api, raw):
    make_domain(api)
    base = raw.domain_dn(DOMAIN)
    add_entry(raw, f"mail=sales@example.com,ou=Aliases,{base}", objectClass=["mailAlias"],
              mail="sales@example.com", accountStatus="active")  # fmt: skip
    add_entry(raw, f"mail=team@example.com,ou=Groups,{base}", objectClass=["mailList"],
              mail="team@example.com", accountStatus="active")  # fmt: skip
    assert create(api, "boss@example.com").status_code == 201
    raw.conn.modify(raw.user_dn("boss@example.com"),
                    {"shadowAddress": [("MODIFY_ADD", ["chief@example.com"])]})  # fmt: skip
    for mail in ("sales@example.com", "team@example.com", "chief@example.com"):
        assert_error(create(api, mail), 409, "ALREADY_EXISTS")
        assert raw.entry(raw.user_dn(mail)) is None
    assert raw.entry(base)["domaincurrentusernumber"] == ["1"]


def test_requires_login(client, admin):
    response = client.post("/api/user/john@example.com", data={"password": PASSWORD})
    assert response.status_code == 401
