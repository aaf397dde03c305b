"""GET /api/users/<domain> (paged, filtered, searched) and its NDJSON export."""

from __future__ import annotations

import json

import pytest

from iredapi_ldap.passwords import hash_password
from tests.helpers import DOMAIN
from tests.helpers import add_catchall
from tests.helpers import add_many
from tests.helpers import add_user
from tests.helpers import make_domain


@pytest.fixture
def domain(api, raw):
    make_domain(api)
    add_user(
        raw,
        f"alice@{DOMAIN}",
        cn="Alice Liddell",
        mailQuota=str(1024 * 1048576),
        preferredLanguage="de_DE",
        shadowLastChange="19723",
        employeeNumber="E-7",
        mailForwardingAddress=[f"alice@{DOMAIN}", "Alice@Elsewhere.org"],
        shadowAddress=f"ali@{DOMAIN}",
        telephoneNumber=["+1 555 0100", "+1 555 0101"],
        memberOfGroup=f"staff@{DOMAIN}",
        allowNets="192.0.2.0/24,2001:db8::/32",
        senderRelayHost="smtp:[192.0.2.25]:25",
        mtaTransport="lmtp:inet:127.0.0.1:24",
        userSenderBccAddress=f"audit@{DOMAIN}",
        userPassword=hash_password("Old-Pass-123"),
    )
    add_user(
        raw,
        f"bob@{DOMAIN}",
        password=None,
        cn="Bob Builder",
        accountStatus="disabled",
        enabledService=["mail", "deliver", "domainadmin"],
        domainGlobalAdmin="yes",
    )
    add_user(
        raw,
        f"carol@{DOMAIN}",
        password=None,
        cn="Carol",
        domainStatus="disabled",
        enabledService=["mail", "domainadmin"],
        homeDirectory=[],
        storageBaseDirectory="/var/vmail",
        mailMessageStore="vmail1/example.com/c/a/r/carol/",
    )
    add_catchall(raw)
    return DOMAIN


def _by_mail(items):
    return {item["mail"]: item for item in items}


def test_lists_profiles_without_catchall_or_hashes(api, domain):
    response = api.get(f"/api/users/{domain}")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["success"] is True and body["_success"] is True
    assert body["total"] == 3 and body["offset"] == 0 and body["page"] == 1
    users = _by_mail(body["_data"])
    assert set(users) == {f"alice@{domain}", f"bob@{domain}", f"carol@{domain}"}
    text = response.get_data(as_text=True)
    assert "{SSHA512}" not in text and "userpassword" not in text.lower()
    alice = users[f"alice@{domain}"]
    assert alice["name"] == "Alice Liddell"
    assert alice["quota"] == 1024
    assert alice["language"] == "de_DE"
    assert alice["lastPasswordChange"] == "2024-01-01"
    assert alice["employeeid"] == "E-7"
    assert alice["forwarding"] == [f"alice@{domain}", "alice@elsewhere.org"]
    assert alice["aliases"] == [f"ali@{domain}"]
    assert alice["telephoneNumber"] == ["+1 555 0100", "+1 555 0101"]
    assert alice["memberOfGroup"] == [f"staff@{domain}"]
    assert alice["allowNets"] == ["192.0.2.0/24", "2001:db8::/32"]
    assert alice["outboundRelay"] == "smtp:[192.0.2.25]:25"
    assert alice["transport"] == "lmtp:inet:127.0.0.1:24"
    assert alice["senderBcc"] == f"audit@{domain}" and alice["recipientBcc"] is None
    assert alice["maildir"].startswith("/var/vmail/vmail1/example.com/alice-")
    assert alice["mailboxFormat"] == "maildir" and alice["mailboxFolder"] == "Maildir"
    assert alice["isGlobalAdmin"] is False and alice["isDomainAdmin"] is False
    assert alice["domainDisabled"] is False
    bob = users[f"bob@{domain}"]
    assert bob["accountStatus"] == "disabled"
    assert bob["isGlobalAdmin"] is True and bob["isDomainAdmin"] is True
    assert bob["quota"] == 0 and bob["lastPasswordChange"] is None
    carol = users[f"carol@{domain}"]
    assert carol["maildir"] == "/var/vmail/vmail1/example.com/c/a/r/carol/"
    assert carol["domainDisabled"] is True
    # domainadmin without domainGlobalAdmin=yes is a domain admin only.
    assert carol["isGlobalAdmin"] is False and carol["isDomainAdmin"] is True


def test_email_only_and_disabled_only(api, domain):
    response = api.get(f"/api/users/{domain}?email_only=yes")
    assert response.status_code == 200
    assert sorted(response.json["_data"]) == [f"alice@{domain}", f"bob@{domain}", f"carol@{domain}"]
    response = api.get(f"/api/users/{domain}?disabled_only=yes")
    assert [u["mail"] for u in response.json["_data"]] == [f"bob@{domain}"]
    assert response.json["total"] == 1
    response = api.get(f"/api/users/{domain}?disabled_only=yes&email_only=yes")
    assert response.json["_data"] == [f"bob@{domain}"]


@pytest.mark.parametrize(
    "term, expected",
    [
        ("ALI", {"alice"}),  # mail and cn, case-insensitive
        ("builder", {"bob"}),  # cn only
        ("rol@", {"carol"}),
        ("b ", {"bob"}),  # inner space of "Bob Builder"
        ("example.com", {"alice", "bob", "carol"}),
        ("nobody", set()),
    ],
)
def test_search_on_mail_or_name(api, domain, term, expected):
    response = api.get(f"/api/users/{domain}", query_string={"search": term, "email_only": "yes"})
    assert response.status_code == 200, response.json
    assert {m.split("@")[0] for m in response.json["_data"]} == expected
    assert response.json["total"] == len(expected)


@pytest.mark.parametrize(
    "term", ["*)(mail=*", "*", ")(objectClass=*", "\\2a", "al*ce", "*)(|(cn=*", "\\", "(", "ä"]
)
def test_search_input_is_never_a_filter(api, domain, term):
    response = api.get(f"/api/users/{domain}", query_string={"search": term})
    assert response.status_code == 200, response.json
    assert response.json["_data"] == [] and response.json["total"] == 0


def test_paging_arguments(api, domain):
    page = api.get(f"/api/users/{domain}?email_only=yes&page=2&page_size=2").json
    assert page["total"] == 3 and page["page"] == 2 and page["page_size"] == 2
    assert len(page["_data"]) == 1
    first = api.get(f"/api/users/{domain}?email_only=yes&offset=0&limit=2").json["_data"]
    assert len(set(first) | set(page["_data"])) == 3
    empty = api.get(f"/api/users/{domain}?email_only=yes&page=9&page_size=2").json
    assert empty["_data"] == [] and empty["total"] == 3


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=1&limit=5", "page"),
        ("email_only=maybe", "email_only"),
        ("search=", "search"),
        ("nonsense=1", "nonsense"),
    ],
)
def test_bad_query_is_400_naming_the_field(api, domain, query, field):
    response = api.get(f"/api/users/{domain}?{query}")
    assert response.status_code == 400
    assert field in response.json["errors"]


def test_unknown_and_invalid_domain(api, domain):
    response = api.get("/api/users/nowhere.example")
    assert response.status_code == 404 and response.json["msg"] == "NO_SUCH_DOMAIN"
    response = api.get("/api/users/not_a_domain")
    assert response.status_code == 400 and response.json["msg"] == "INVALID_DOMAIN_NAME"
    response = api.get("/api/users/nowhere.example/export")
    assert response.status_code == 404 and response.json["msg"] == "NO_SUCH_DOMAIN"


def test_needs_a_global_admin(client, app, admin, domain):
    client.post("/api/logout")
    for path in (f"/api/users/{DOMAIN}", f"/api/users/{DOMAIN}/export"):
        response = client.get(path)
        assert response.status_code == 401 and response.json["msg"] == "LOGIN_REQUIRED"


def test_export_small_domain(api, domain):
    response = api.get(f"/api/users/{domain}/export?disabled_only=yes")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line)["mail"] for line in lines] == [f"bob@{domain}"]


def test_large_domain_pages_and_export(api, raw):
    """1,200 users: over slapd's 500-entry size limit for the service DN."""
    make_domain(api)
    add_many(raw, 1200)
    add_catchall(raw)

    seen: list[str] = []
    for page in (1, 2, 3):
        body = api.get(f"/api/users/{DOMAIN}?email_only=yes&page={page}&page_size=500").json
        assert body["total"] == 1200
        seen += body["_data"]
    assert len(seen) == 1200 and len(set(seen)) == 1200
    assert f"@{DOMAIN}" not in seen

    # A window straddling the size-limit boundary, with full profiles, keeps directory order.
    body = api.get(f"/api/users/{DOMAIN}?offset=450&limit=100").json
    assert [u["mail"] for u in body["_data"]] == seen[450:550]
    assert body["_data"][0]["name"].startswith("User ")
    last = api.get(f"/api/users/{DOMAIN}?page=2&page_size=1000").json
    assert [u["mail"] for u in last["_data"]] == seen[1000:]

    searched = api.get(f"/api/users/{DOMAIN}", query_string={"search": "*)(mail=*"}).json
    assert searched["total"] == 0
    searched = api.get(f"/api/users/{DOMAIN}", query_string={"search": "user0119"}).json
    assert searched["total"] == 10

    response = api.get(f"/api/users/{DOMAIN}/export")
    assert response.status_code == 200 and response.is_streamed
    exported = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [u["mail"] for u in exported] == seen
    assert all("userPassword" not in u for u in exported)
