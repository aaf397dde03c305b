"""Domain resource: create, read, list, update, disable, delete; body and directory state."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error

OUS = ("Aliases", "Externals", "Groups", "Users")


@pytest.fixture
def api(module_api):
    """Share one app across this module (building an app per test is the slow part)."""
    return module_api


def ok_body(response, status=200):
    """Assert a success envelope with the given status and return its _data."""
    assert response.status_code == status, response.json
    body = response.json
    assert body["success"] is True and body["_success"] is True
    assert "msg" not in body and "_msg" not in body
    return body.get("_data")


def settings(raw, domain):
    """Return the domain's accountSetting values, sorted."""
    return raw.attrs(raw.domain_dn(domain)).get("accountsetting", [])


def add_accounts(raw, domain, count=1, start=0):
    """Add mailUser/mailAlias/mailList/mailExternalUser entries directly; return their DNs."""
    base = raw.domain_dn(domain)
    dns = []
    for i in range(start, start + count):
        entries = [
            (f"mail=u{i}@{domain},ou=Users,{base}", ["inetOrgPerson", "mailUser"],
             {"cn": f"u{i}", "sn": f"u{i}", "uid": f"u{i}", "mail": f"u{i}@{domain}"}),
            (f"mail=al{i}@{domain},ou=Aliases,{base}", ["mailAlias"], {"mail": f"al{i}@{domain}"}),
            (f"mail=li{i}@{domain},ou=Groups,{base}", ["mailList"], {"mail": f"li{i}@{domain}"}),
            (f"memberOfGroup=li{i}@{domain},ou=Externals,{base}", ["mailExternalUser"],
             {"memberOfGroup": f"li{i}@{domain}"}),
        ]  # fmt: skip
        for dn, classes, attrs in entries:
            assert raw.conn.add(dn, classes, attrs), raw.conn.result
            dns.append(dn)
    return dns


# -- create ----------------------------------------------------------------------------


def test_create_minimal(api, raw):
    """POST with no parameters writes what iRedAdmin writes, and the four containers."""
    data = ok_body(api.post("/api/domain/example.com"), 201)
    assert data["domain"] == "example.com"
    assert data["transport"] == "dovecot"
    assert data["services"] == ["mail"]
    assert data["accountStatus"] == "active"
    assert data["quota"] == 0 and data["numberOfUsers"] == 0
    assert raw.attrs(raw.domain_dn("example.com")) == {
        "objectclass": ["mailDomain"],
        "domainname": ["example.com"],
        "mtatransport": ["dovecot"],
        "enabledservice": ["mail"],
        "accountstatus": ["active"],
    }
    base = raw.domain_dn("example.com")
    assert raw.children(base) == [f"ou={ou},{base}" for ou in OUS]
    for ou in OUS:
        assert raw.attrs(f"ou={ou},{base}") == {
            "objectclass": ["organizationalUnit"],
            "ou": [ou],
        }


FULL_FORM = {
    "name": "Example Inc.",
    "quota": "2048",
    "language": "de_DE",
    "transport": "lmtp:inet:127.0.0.1:24",
    "defaultQuota": "1024",
    "maxUserQuota": "4096",
    "numberOfUsers": "10",
    "numberOfAliases": "20",
    "numberOfLists": "-1",
    "accountStatus": "active",
    "minPasswordLength": "8",
    "maxPasswordLength": "32",
    "senderBcc": "Out@Archive.example.net",
    "recipientBcc": "in@archive.example.net",
    "outboundRelay": "smtp:[192.0.2.10]:587",
    "services": "mail,self-service",
}
FULL_STORED = {
    "objectclass": ["mailDomain"],
    "domainname": ["example.com"],
    "cn": ["Example Inc."],
    "mtatransport": ["lmtp:inet:127.0.0.1:24"],
    "accountstatus": ["active"],
    "enabledservice": sorted(["mail", "self-service", "senderbcc", "recipientbcc"]),
    "domainsenderbccaddress": ["out@archive.example.net"],
    "domainrecipientbccaddress": ["in@archive.example.net"],
    "senderrelayhost": ["smtp:[192.0.2.10]:587"],
    "accountsetting": sorted([
        "defaultQuota:1024", "maxUserQuota:4096", "numberOfUsers:10", "numberOfAliases:20",
        "numberOfLists:-1", "minPasswordLength:8", "maxPasswordLength:32",
        "domainQuota:2048:MB", "defaultLanguage:de_DE",
    ]),
}  # fmt: skip


def check_full_profile(data):
    """Assert the API view of the FULL_FORM domain."""
    assert data["name"] == "Example Inc."
    assert data["quota"] == 2048
    assert data["language"] == "de_DE"
    assert data["transport"] == "lmtp:inet:127.0.0.1:24"
    assert (data["defaultQuota"], data["maxUserQuota"]) == (1024, 4096)
    assert (data["numberOfUsers"], data["numberOfAliases"], data["numberOfLists"]) == (10, 20, -1)
    assert (data["minPasswordLength"], data["maxPasswordLength"]) == (8, 32)
    assert data["senderBcc"] == "out@archive.example.net"
    assert data["recipientBcc"] == "in@archive.example.net"
    assert data["outboundRelay"] == "smtp:[192.0.2.10]:587"
    assert sorted(data["services"]) == FULL_STORED["enabledservice"]
    assert data["is_backupmx"] is False and data["primarymx"] is None


def test_create_every_parameter_form(api, raw):
    """A form body with every LDAP parameter is stored attribute by attribute."""
    check_full_profile(ok_body(api.post("/api/domain/example.com", data=FULL_FORM), 201))
    assert raw.attrs(raw.domain_dn("example.com")) == FULL_STORED


def test_create_every_parameter_json(api, raw):
    """The same parameters as a JSON body (numbers and lists) store the same entry."""
    body = dict(FULL_FORM)
    for key in ("quota", "defaultQuota", "maxUserQuota", "numberOfUsers", "numberOfAliases",
                "numberOfLists", "minPasswordLength", "maxPasswordLength"):  # fmt: skip
        body[key] = int(body[key])
    body["services"] = ["mail", "self-service"]
    check_full_profile(ok_body(api.post("/api/domain/example.com", json=body), 201))
    assert raw.attrs(raw.domain_dn("example.com")) == FULL_STORED
    assert ok_body(api.get("/api/domain/example.com"))["name"] == "Example Inc."


def test_create_with_2016_names(api, raw):
    """cn, mailQuota and preferredLanguage (2016 names) work like name, quota, language."""
    data = ok_body(
        api.post(
            "/api/domain/old.example",
            data={"cn": "Legacy", "mailQuota": "10", "preferredLanguage": "fr_FR"},
        ),
        201,
    )
    assert (data["name"], data["quota"], data["language"]) == ("Legacy", 10, "fr_FR")
    stored = raw.attrs(raw.domain_dn("old.example"))
    assert stored["cn"] == ["Legacy"]
    assert stored["accountsetting"] == ["defaultLanguage:fr_FR", "domainQuota:10:MB"]


def test_create_disabled(api, raw):
    """accountStatus=disabled creates the domain disabled."""
    data = ok_body(api.post("/api/domain/off.example", data={"accountStatus": "disabled"}), 201)
    assert data["accountStatus"] == "disabled"
    assert raw.attrs(raw.domain_dn("off.example"))["accountstatus"] == ["disabled"]


def test_create_zero_values_are_left_out(api, raw):
    """Zero limits and quotas mean "unlimited" and are not written, as iRedAdmin does."""
    ok_body(
        api.post(
            "/api/domain/z.example", data={"quota": "0", "defaultQuota": "0", "numberOfUsers": "0"}
        ),  # fmt: skip
        201,
    )
    assert "accountsetting" not in raw.attrs(raw.domain_dn("z.example"))


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"outboundRelay": ""},
        {"senderBcc": ""},
        {"name": "", "outboundRelay": "", "recipientBcc": ""},
    ],
)
def test_create_with_empty_values(api, raw, body):
    """Empty optional values on create are left out (not an LDAP syntax error)."""
    ok_body(api.post("/api/domain/e.example", json=body), 201)
    assert raw.attrs(raw.domain_dn("e.example")) == {
        "objectclass": ["mailDomain"], "domainname": ["e.example"], "mtatransport": ["dovecot"],
        "enabledservice": ["mail"], "accountstatus": ["active"],
    }  # fmt: skip


def test_create_name_with_special_characters(api, raw):
    """A description with , * ( ) # + and Unicode is stored verbatim."""
    name = "Müller, Söhne & Co. (*EU*) #1 +"
    assert ok_body(api.post("/api/domain/m.example", json={"name": name}), 201)["name"] == name
    assert raw.attrs(raw.domain_dn("m.example"))["cn"] == [name]


def test_create_backup_mx_with_primary(api, raw):
    """is_backupmx=yes with primarymx stores domainBackupMX and a relay transport."""
    data = ok_body(
        api.post(
            "/api/domain/bk.example", data={"is_backupmx": "yes", "primarymx": "[192.0.2.5]:25"}
        ),
        201,
    )
    assert data["is_backupmx"] is True and data["primarymx"] == "[192.0.2.5]:25"
    stored = raw.attrs(raw.domain_dn("bk.example"))
    assert stored["domainbackupmx"] == ["yes"]
    assert stored["mtatransport"] == ["relay:[192.0.2.5]:25"]


def test_create_backup_mx_without_primary(api, raw):
    """Without primarymx the relay goes to the domain's own MX lookup."""
    ok_body(api.post("/api/domain/bk2.example", data={"is_backupmx": "yes"}), 201)
    assert raw.attrs(raw.domain_dn("bk2.example"))["mtatransport"] == ["relay:bk2.example"]


def test_create_is_backupmx_no_is_a_plain_domain(api, raw):
    """is_backupmx=no writes no domainBackupMX and the default transport."""
    ok_body(api.post("/api/domain/nb.example", data={"is_backupmx": "no"}), 201)
    stored = raw.attrs(raw.domain_dn("nb.example"))
    assert "domainbackupmx" not in stored and stored["mtatransport"] == ["dovecot"]


@pytest.mark.parametrize(
    "form, field",
    [
        ({"primarymx": "192.0.2.5"}, "primarymx"),
        ({"is_backupmx": "yes", "transport": "dovecot"}, "transport"),
    ],
)
def test_create_backup_mx_conflicts(api, raw, form, field):
    """primarymx without is_backupmx, or transport with it, is 400 and creates nothing."""
    body = assert_error(api.post("/api/domain/bk.example", data=form), 400, "INVALID_PARAMETERS")
    assert field in body["errors"]
    assert raw.entry(raw.domain_dn("bk.example")) is None


def test_create_duplicate(api, raw):
    """Creating an existing domain is 409 ALREADY_EXISTS and leaves it untouched."""
    ok_body(api.post("/api/domain/dup.example", data={"name": "first"}), 201)
    before = raw.snapshot()
    assert_error(
        api.post("/api/domain/DUP.example", data={"name": "second"}), 409, "ALREADY_EXISTS"
    )
    assert raw.snapshot() == before


def test_create_name_of_an_alias_domain(api, raw):
    """A name already used as another domain's alias domain is 409."""
    ok_body(api.post("/api/domain/main.example"), 201)
    raw.conn.modify(
        raw.domain_dn("main.example"), {"domainAliasName": [("MODIFY_ADD", ["alias.example"])]}
    )
    assert raw.attrs(raw.domain_dn("main.example"))["domainaliasname"] == ["alias.example"]
    assert_error(api.post("/api/domain/alias.example"), 409, "ALREADY_EXISTS")
    assert raw.entry(raw.domain_dn("alias.example")) is None


def test_create_lowercases_and_accepts_punycode(api, raw):
    """Upper-case names are stored lower-case; punycode IDNs are accepted."""
    assert ok_body(api.post("/api/domain/UPPER.Example.COM"), 201)["domain"] == "upper.example.com"
    assert raw.entry(raw.domain_dn("upper.example.com")) is not None
    assert ok_body(api.get("/api/domain/Upper.EXAMPLE.com"))["domain"] == "upper.example.com"
    assert ok_body(api.post("/api/domain/xn--mnchen-3ya.de"), 201)["domain"] == "xn--mnchen-3ya.de"
    assert raw.attrs(raw.domain_dn("xn--mnchen-3ya.de"))["domainname"] == ["xn--mnchen-3ya.de"]


# -- read --------------------------------------------------------------------------------


def test_get_domain(api, raw):
    """GET returns the profile under _data, including cached counters."""
    ok_body(api.post("/api/domain/g.example", data=FULL_FORM), 201)
    raw.conn.modify(raw.domain_dn("g.example"), {
        "domainCurrentUserNumber": [("MODIFY_REPLACE", ["3"])],
        "domainCurrentQuotaSize": [("MODIFY_REPLACE", ["1048576"])],
    })  # fmt: skip
    data = ok_body(api.get("/api/domain/g.example"))
    check_full_profile(data)
    assert data["domain"] == "g.example"
    assert data["currentUsers"] == 3 and data["currentQuotaSize"] == 1048576
    assert data["admins"] == [] and data["aliasDomains"] == []


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_missing_domain_is_404(api, raw, method):
    """GET, PUT and DELETE of an unknown domain answer 404 NO_SUCH_DOMAIN."""
    before = raw.snapshot()
    body = assert_error(getattr(api, method)("/api/domain/nowhere.example"), 404, "NO_SUCH_DOMAIN")
    assert "nowhere.example" in body["detail"]
    assert raw.snapshot() == before


# -- update ------------------------------------------------------------------------------


@pytest.fixture
def domain(api):
    """Create d.example with a few settings and return its name."""
    ok_body(api.post("/api/domain/d.example", data={"name": "D", "quota": "100",
                                                    "numberOfUsers": "5"}), 201)  # fmt: skip
    return "d.example"


@pytest.mark.parametrize(
    "form, attribute, expected",
    [
        ({"name": "New name"}, "cn", ["New name"]),
        ({"cn": "Old style"}, "cn", ["Old style"]),
        ({"name": ""}, "cn", None),
        ({"transport": "smtp:[192.0.2.1]"}, "mtatransport", ["smtp:[192.0.2.1]"]),
        ({"accountStatus": "disabled"}, "accountstatus", ["disabled"]),
        ({"outboundRelay": "smtp:[192.0.2.3]:25"}, "senderrelayhost", ["smtp:[192.0.2.3]:25"]),
        ({"senderBcc": "s@x.example"}, "domainsenderbccaddress", ["s@x.example"]),
        ({"recipientBcc": "r@x.example"}, "domainrecipientbccaddress", ["r@x.example"]),
    ],
)
def test_update_plain_attributes(api, raw, domain, form, attribute, expected):
    """Each scalar parameter replaces its attribute (empty removes it)."""
    ok_body(api.put(f"/api/domain/{domain}", data=form))
    assert raw.attrs(raw.domain_dn(domain)).get(attribute) == expected


@pytest.mark.parametrize(
    "form, removed, added",
    [
        ({"quota": "2048"}, ["domainQuota:100:MB"], ["domainQuota:2048:MB"]),
        ({"mailQuota": "0"}, ["domainQuota:100:MB"], []),
        ({"numberOfUsers": "-1"}, ["numberOfUsers:5"], ["numberOfUsers:-1"]),
        ({"numberOfUsers": "0"}, ["numberOfUsers:5"], []),
        ({"numberOfAliases": "7"}, [], ["numberOfAliases:7"]),
        ({"numberOfLists": "8"}, [], ["numberOfLists:8"]),
        ({"defaultQuota": "1024"}, [], ["defaultQuota:1024"]),
        ({"maxUserQuota": "2048"}, [], ["maxUserQuota:2048"]),
        ({"minPasswordLength": "10"}, [], ["minPasswordLength:10"]),
        ({"maxPasswordLength": "40"}, [], ["maxPasswordLength:40"]),
        ({"language": "it_IT"}, [], ["defaultLanguage:it_IT"]),
        ({"preferredLanguage": "pt_BR"}, [], ["defaultLanguage:pt_BR"]),
        ({"disableDomainProfile": "bcc"}, [], ["disabledDomainProfile:bcc"]),
        ({"disableUserProfile": "forwarding,relay"}, [],
         ["disabledUserProfile:forwarding", "disabledUserProfile:relay"]),
        ({"disableUserPreference": "wblist"}, [], ["disabledUserPreference:wblist"]),
    ],
)  # fmt: skip
def test_update_account_settings(api, raw, domain, form, removed, added):
    """Each setting changes only its own accountSetting values."""
    before = settings(raw, domain)
    ok_body(api.put(f"/api/domain/{domain}", data=form))
    assert settings(raw, domain) == sorted([v for v in before if v not in removed] + added)


def test_update_returns_the_new_profile(api, domain):
    """PUT answers with the updated profile."""
    data = ok_body(api.put(f"/api/domain/{domain}", json={"quota": 300, "name": "X"}))
    assert data["quota"] == 300 and data["name"] == "X"


def test_update_several_fields_json(api, raw, domain):
    """A JSON body changes several attributes in one request."""
    ok_body(api.put(f"/api/domain/{domain}", json={
        "defaultQuota": 512, "numberOfUsers": 50, "language": "en_GB",
        "disableDomainProfile": ["relay", "backupmx"], "transport": "dovecot",
    }))  # fmt: skip
    assert settings(raw, domain) == sorted([
        "domainQuota:100:MB", "defaultQuota:512", "numberOfUsers:50", "defaultLanguage:en_GB",
        "disabledDomainProfile:relay", "disabledDomainProfile:backupmx",
    ])  # fmt: skip


def test_profile_toggles_disable_and_enable(api, raw, domain):
    """disable*/enable* add and remove single items of the multi-value settings."""
    ok_body(api.put(f"/api/domain/{domain}", data={
        "disableDomainProfile": "bcc,relay,throttle", "disableUserProfile": "bcc",
        "disableUserPreference": "personal_info,quarantine",
    }))  # fmt: skip
    ok_body(api.put(f"/api/domain/{domain}", data={
        "enableDomainProfile": "relay", "enableUserProfile": "bcc",
        "enableUserPreference": "quarantine", "disableDomainProfile": "bcc",
    }))  # fmt: skip
    data = ok_body(api.get(f"/api/domain/{domain}"))
    assert sorted(data["disabledDomainProfiles"]) == ["bcc", "throttle"]
    assert data["disabledUserProfiles"] == []
    assert data["disabledUserPreferences"] == ["personal_info"]
    assert settings(raw, domain) == sorted([
        "domainQuota:100:MB", "numberOfUsers:5", "disabledDomainProfile:bcc",
        "disabledDomainProfile:throttle", "disabledUserPreference:personal_info",
    ])  # fmt: skip


def test_services_replace(api, raw, domain):
    """services= replaces the whole enabledService set."""
    ok_body(api.put(f"/api/domain/{domain}", data={"services": "self-service,domainalias"}))
    assert raw.attrs(raw.domain_dn(domain))["enabledservice"] == ["domainalias", "self-service"]


def test_services_add_and_remove(api, raw, domain):
    """addService/removeService change the set incrementally, duplicates ignored."""
    ok_body(api.put(f"/api/domain/{domain}", data={"addService": "self-service,mail"}))
    assert raw.attrs(raw.domain_dn(domain))["enabledservice"] == ["mail", "self-service"]
    ok_body(api.put(f"/api/domain/{domain}", json={"removeService": ["mail"],
                                                   "addService": ["domainalias"]}))  # fmt: skip
    assert raw.attrs(raw.domain_dn(domain))["enabledservice"] == ["domainalias", "self-service"]


def test_services_replace_with_add_is_400(api, raw, domain):
    """Combining services= with addService= is 400 naming services; nothing changes."""
    before = raw.snapshot()
    body = assert_error(
        api.put(f"/api/domain/{domain}", data={"services": "mail", "addService": "self-service"}),
        400,
        "INVALID_PARAMETERS",
    )
    assert list(body["errors"]) == ["services"]
    assert raw.snapshot() == before


def test_bcc_clear_removes_attribute_and_service(api, raw, domain):
    """An empty senderBcc removes the address and the senderbcc service."""
    ok_body(api.put(f"/api/domain/{domain}", data={"senderBcc": "b@x.example"}))
    assert raw.attrs(raw.domain_dn(domain))["enabledservice"] == ["mail", "senderbcc"]
    ok_body(api.put(f"/api/domain/{domain}", data={"senderBcc": ""}))
    stored = raw.attrs(raw.domain_dn(domain))
    assert "domainsenderbccaddress" not in stored
    assert stored["enabledservice"] == ["mail"]


def test_outbound_relay_clear(api, raw, domain):
    """An empty outboundRelay removes senderRelayHost."""
    ok_body(api.put(f"/api/domain/{domain}", data={"outboundRelay": "smtp:[192.0.2.1]:25"}))
    ok_body(api.put(f"/api/domain/{domain}", data={"outboundRelay": ""}))
    assert "senderrelayhost" not in raw.attrs(raw.domain_dn(domain))


def test_backup_mx_on_and_off(api, raw, domain):
    """is_backupmx=yes sets relay transport; =no removes the flag and restores the default."""
    ok_body(
        api.put(
            f"/api/domain/{domain}", data={"is_backupmx": "yes", "primarymx": "mx1.example.net"}
        )
    )
    stored = raw.attrs(raw.domain_dn(domain))
    assert stored["domainbackupmx"] == ["yes"]
    assert stored["mtatransport"] == ["relay:mx1.example.net"]
    before = raw.snapshot()
    body = assert_error(api.put(f"/api/domain/{domain}", data={"transport": "dovecot"}), 400,
                     "INVALID_PARAMETERS")  # fmt: skip
    assert "transport" in body["errors"]
    assert raw.snapshot() == before
    ok_body(api.put(f"/api/domain/{domain}", data={"is_backupmx": "no"}))
    stored = raw.attrs(raw.domain_dn(domain))
    assert "domainbackupmx" not in stored
    assert stored["mtatransport"] == ["dovecot"]


def test_update_without_changes_is_fine(api, raw, domain):
    """An empty PUT succeeds and modifies nothing."""
    before = raw.snapshot()
    ok_body(api.put(f"/api/domain/{domain}"))
    assert raw.snapshot() == before


# -- disable / enable ---------------------------------------------------------------------


def test_disable_marks_every_account_and_enable_clears(api, raw, domain):
    """accountStatus=disabled adds domainStatus=disabled to all accounts; active removes it."""
    dns = add_accounts(raw, domain, count=3)
    ok_body(api.post("/api/domain/other.example"), 201)
    other = add_accounts(raw, "other.example", count=1)
    ok_body(api.put(f"/api/domain/{domain}", data={"accountStatus": "disabled"}))
    assert raw.attrs(raw.domain_dn(domain))["accountstatus"] == ["disabled"]
    for dn in dns:
        assert raw.attrs(dn)["domainstatus"] == ["disabled"], dn
    for dn in other:
        assert "domainstatus" not in raw.attrs(dn)
    for ou in OUS:
        assert "domainstatus" not in raw.attrs(f"ou={ou},{raw.domain_dn(domain)}")
    assert "domainstatus" not in raw.attrs(raw.domain_dn(domain))

    ok_body(api.put(f"/api/domain/{domain}", json={"accountStatus": "active"}))
    assert raw.attrs(raw.domain_dn(domain))["accountstatus"] == ["active"]
    for dn in dns:
        assert "domainstatus" not in raw.attrs(dn), dn


def test_disable_twice_is_idempotent(api, raw, domain):
    """Disabling an already disabled domain keeps one domainStatus value per account."""
    dns = add_accounts(raw, domain, count=1)
    ok_body(api.put(f"/api/domain/{domain}", data={"accountStatus": "disabled"}))
    ok_body(api.put(f"/api/domain/{domain}", data={"accountStatus": "disabled"}))
    for dn in dns:
        assert raw.attrs(dn)["domainstatus"] == ["disabled"]


# -- delete ----------------------------------------------------------------------------------


def test_delete_removes_subtree_only(api, raw, domain):
    """DELETE removes the domain and everything under it, and nothing else."""
    add_accounts(raw, domain, count=2)
    ok_body(api.post("/api/domain/keep.example"), 201)
    keep = add_accounts(raw, "keep.example", count=1)
    assert ok_body(api.delete(f"/api/domain/{domain}")) is None
    assert raw.entry(raw.domain_dn(domain)) is None
    assert raw.count(raw.domain_dn("keep.example")) == 5 + len(keep)
    assert_error(api.get(f"/api/domain/{domain}"), 404, "NO_SUCH_DOMAIN")


@pytest.mark.parametrize("days", [0, 30, 1095])
def test_delete_keep_mailbox_days(api, raw, domain, days):
    """DELETE .../keep_mailbox_days/<n> deletes the domain for 0..1095."""
    ok_body(api.delete(f"/api/domain/{domain}/keep_mailbox_days/{days}"))
    assert raw.entry(raw.domain_dn(domain)) is None


def test_delete_keep_mailbox_days_out_of_range(api, raw, domain):
    """More than 1095 days is 400 naming keep_mailbox_days; the domain stays."""
    before = raw.snapshot()
    body = assert_error(api.delete(f"/api/domain/{domain}/keep_mailbox_days/1096"), 400,
                     "INVALID_PARAMETERS")  # fmt: skip
    assert list(body["errors"]) == ["keep_mailbox_days"]
    assert raw.snapshot() == before


def test_delete_domain_larger_than_size_limit(api, raw, domain):
    """A domain with more entries than slapd's size limit (500) is deleted completely."""
    add_accounts(raw, domain, count=160)  # 640 accounts + domain + 4 OUs
    assert raw.count(raw.domain_dn(domain)) == 645
    ok_body(api.delete(f"/api/domain/{domain}"))
    assert raw.entry(raw.domain_dn(domain)) is None
    assert raw.count(f"o=domains,{raw.suffix}") == 1


def test_disable_domain_larger_than_size_limit(api, raw, domain):
    """Disabling marks all accounts even beyond the 500-entry size limit."""
    add_accounts(raw, domain, count=130)
    ok_body(api.put(f"/api/domain/{domain}", data={"accountStatus": "disabled"}))
    assert raw.count(raw.domain_dn(domain), "(domainStatus=disabled)") == 520
    ok_body(api.put(f"/api/domain/{domain}", data={"accountStatus": "active"}))
    assert raw.count(raw.domain_dn(domain), "(domainStatus=*)") == 0


# -- list --------------------------------------------------------------------------------------


@pytest.fixture
def many_domains(api, raw):
    """Add 650 domains directly (every 10th disabled); return their names in order."""
    names = [f"d{i:03d}.example" for i in range(650)]
    for i, name in enumerate(names):
        status = "disabled" if i % 10 == 0 else "active"
        assert raw.conn.add(raw.domain_dn(name), ["mailDomain"], {
            "domainName": name, "accountStatus": status, "mtaTransport": "dovecot",
            "enabledService": "mail", "cn": f"Domain {i}",
        }), raw.conn.result  # fmt: skip
    return names


def test_list_empty(api):
    """Without domains the list is empty with total 0."""
    response = api.get("/api/domains")
    assert ok_body(response) == []
    assert response.json["total"] == 0


def test_list_pages_beyond_size_limit(api, many_domains):
    """page/page_size walks all 650 domains; page 7 of 100 holds the last 50."""
    response = api.get("/api/domains?page=7&page_size=100")
    data = ok_body(response)
    body = response.json
    assert (body["total"], body["page"], body["page_size"]) == (650, 7, 100)
    assert (body["offset"], body["limit"]) == (600, 100)
    assert len(data) == 50
    assert data[0]["name"] == "Domain 600" and data[0]["domain"] == "d600.example"
    seen = []
    for page in range(1, 8):
        seen += [d["domain"] for d in ok_body(api.get(f"/api/domains?page={page}&page_size=100"))]
    assert seen == many_domains
    assert ok_body(api.get("/api/domains?page=8&page_size=100")) == []


def test_list_offset_limit_and_name_only(api, many_domains):
    """offset/limit picks a window; name_only=yes returns bare names."""
    response = api.get("/api/domains?offset=495&limit=10&name_only=yes")
    assert ok_body(response) == many_domains[495:505]
    assert (response.json["total"], response.json["offset"], response.json["limit"]) == (
        650,
        495,
        10,
    )


def test_list_disabled_only(api, many_domains):
    """disabled_only=yes lists only disabled domains, with their total."""
    response = api.get("/api/domains?disabled_only=yes&name_only=yes&limit=1000")
    assert ok_body(response) == many_domains[::10]
    assert response.json["total"] == 65


def test_list_page_size_default_and_cap(api, many_domains):
    """No paging arguments gives API_DEFAULT_PAGE_SIZE (100); page_size is capped at 1000."""
    response = api.get("/api/domains?name_only=no")
    data = ok_body(response)
    assert len(data) == 100 and response.json["total"] == 650
    assert data[0]["accountStatus"] == "disabled" and data[1]["accountStatus"] == "active"
    response = api.get("/api/domains?page_size=5000&name_only=yes")
    assert response.json["limit"] == 1000
    assert ok_body(response) == many_domains
