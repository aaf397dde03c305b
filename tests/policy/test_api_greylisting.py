"""The greylisting routes: statuses, bodies, the rows written and iRedAPD's decision on them."""

from __future__ import annotations

import pytest

from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import assert_error

REMOTE = "203.0.113.5"


@pytest.fixture
def hosted(raw):
    add_domain(raw, "example.com")
    add_user(raw, "bob@example.com")
    add_user(raw, "carol@example.com")


def switches(policy):
    return policy.rows("greylisting", "account", "priority", "sender", "active", order_by="account")


def greylisted(policy, recipient, client=REMOTE, sender="x@remote.test"):
    return policy.iredapd.greylisted(sender, recipient, client)


def test_switches_are_written_shown_and_decide_greylisting(policy_api, hosted):
    """global on, the domain off, bob on: rows on iRedAPD's scale, GET shows them, DELETE inherits."""
    client, policy = policy_api.client, policy_api.policy
    assert client.get("/api/greylisting/global").json["_data"] == {"status": "disabled"}
    assert client.get("/api/greylisting/example.com").json["_data"] == {"status": "inherit"}

    for path, status in (("global", "enable"), ("Example.com", "disable"),
                         ("bob@example.com", "ENABLE")):  # fmt: skip
        response = client.post(f"/api/greylisting/{path}", data={"status": status})
        assert response.status_code == 200, response.json
    assert response.json["_data"] == {"status": "enabled"}

    assert switches(policy) == [
        {"account": "@.", "priority": 0, "sender": "@.", "active": 1},
        {"account": "@example.com", "priority": 60, "sender": "@.", "active": 0},
        {"account": "bob@example.com", "priority": 100, "sender": "@.", "active": 1},
    ]
    assert client.get("/api/greylisting/example.com").json["_data"] == {"status": "disabled"}
    assert greylisted(policy, "bob@example.com") is True
    assert greylisted(policy, "carol@example.com") is False

    response = client.delete("/api/greylisting/example.com")

    assert response.status_code == 200 and response.json["success"] is True
    assert client.get("/api/greylisting/example.com").json["_data"] == {"status": "inherit"}
    assert greylisted(policy, "carol@example.com") is True
    assert client.delete("/api/greylisting/global").status_code == 200
    assert [row["account"] for row in switches(policy)] == ["bob@example.com"]


def test_whitelists_win_as_iredapd_decides(policy_api, hosted):
    """A whitelisted network and sender domain pass; replace, add and remove keep one list."""
    client, policy = policy_api.client, policy_api.policy
    client.post("/api/greylisting/global", data={"status": "enable"})

    response = client.post("/api/greylisting/bob@example.com/whitelists",
                           data={"addSenders": "203.0.113.0/24, @Partner.TEST"})  # fmt: skip

    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"whitelists": ["203.0.113.0/24", "@partner.test"]}
    assert greylisted(policy, "bob@example.com") is False
    assert greylisted(policy, "bob@example.com", client="198.51.100.7") is True
    assert greylisted(policy, "bob@example.com", "198.51.100.7", "a@partner.test") is False
    assert greylisted(policy, "carol@example.com") is True

    response = client.post("/api/greylisting/bob@example.com/whitelists",
                           json={"removeSenders": ["203.0.113.0/24"]})  # fmt: skip
    assert response.json["_data"] == {"whitelists": ["@partner.test"]}
    client.post("/api/greylisting/global/whitelists", data={"senders": "192.0.2.1"})
    got = client.get("/api/greylisting/global/whitelists").json["_data"]
    assert got == {"whitelists": ["192.0.2.1"], "whitelist_domains": []}
    assert client.get("/api/greylisting/bob@example.com/whitelists").json["_data"] == {
        "whitelists": ["@partner.test"]
    }
    rows = policy.rows("greylisting_whitelists", "account", "sender", order_by="account, sender")
    assert rows == [{"account": "@.", "sender": "192.0.2.1"},
                    {"account": "bob@example.com", "sender": "@partner.test"}]  # fmt: skip


def test_spf_domains_are_replaced_added_and_removed(policy_api):
    """Domains lower-cased in ASCII; the global whitelist GET lists them too."""
    client, policy = policy_api.client, policy_api.policy
    response = client.post("/api/greylisting/whitelist_spf_domains",
                           data={"addDomains": "Google.com, bücher.example"})  # fmt: skip

    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"domains": ["google.com", "xn--bcher-kva.example"]}
    client.post("/api/greylisting/whitelist_spf_domains", data={"removeDomains": "google.com"})
    assert policy.rows("greylisting_whitelist_domains", "domain") == [
        {"domain": "xn--bcher-kva.example"}
    ]
    client.post("/api/greylisting/whitelist_spf_domains", json={"domains": ["github.com"]})
    assert client.get("/api/greylisting/whitelist_spf_domains").json["_data"] == {
        "domains": ["github.com"]
    }
    assert client.get("/api/greylisting/global/whitelists").json["_data"]["whitelist_domains"] == [
        "github.com"
    ]


@pytest.mark.parametrize(
    ("path", "body", "field", "names"),
    [
        ("bob@example.com", {"status": "sometimes"}, "status", ["sometimes"]),
        ("bob@example.com", {}, "status", []),
        ("global", {"status": "maybe"}, "status", ["maybe"]),
        ("bob@example.com/whitelists", {"addSenders": "192.0.2.1, user@*, 10.0.0.0/4, 1.2.3.4/24"},
         "addSenders", ["user@*", "10.0.0.0/4", "1.2.3.4/24"]),
        ("bob@example.com/whitelists", {"senders": "192.0.2.1", "addSenders": "192.0.2.2"},
         "senders", []),
        ("global/whitelists", {"removeSenders": "x+tag@example.com"}, "removeSenders",
         ["x+tag@example.com"]),
        ("whitelist_spf_domains", {"domains": "good.test, 192.0.2.1, @bad.test"}, "domains",
         ["192.0.2.1", "@bad.test"]),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_each_value_and_writes_nothing(sqlite_api, hosted, path, body,
                                                                 field, names):  # fmt: skip
    """Every bad value is named under its field; no table gets a row."""
    policy = sqlite_api.policy
    response = sqlite_api.client.post(f"/api/greylisting/{path}", data=body)

    assert_error(response, 400, "INVALID_PARAMETERS", field=field, names=names)
    for table in ("greylisting", "greylisting_whitelists", "greylisting_whitelist_domains"):
        assert policy.rows(table) == []


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_accounts_are_404(sqlite_api, hosted, method):
    """A domain or user this directory does not host: 404 on every method, nothing written."""
    client = sqlite_api.client
    for path, code in (("nowhere.test", "NO_SUCH_DOMAIN"), ("nobody@example.com",
                                                            "NO_SUCH_ACCOUNT")):  # fmt: skip
        response = client.open(f"/api/greylisting/{path}", method=method,
                               data={"status": "enable"} if method == "POST" else None)  # fmt: skip
        assert_error(response, 404, code)
    assert sqlite_api.policy.rows("greylisting") == []


def test_all_rows_are_streamed_by_account_or_paged(sqlite_api):
    """GET /all answers Pro's {account: [rows]}, every row streamed, or one page with the total."""
    rows = [{"account": f"u{n % 7}@example.com", "sender": f"192.0.2.{n}", "priority": 100,
             "active": n % 2} for n in range(30)]  # fmt: skip
    sqlite_api.policy.insert("greylisting", *rows)
    client = sqlite_api.client

    response = client.get("/api/greylisting/all")

    assert response.status_code == 200 and "Content-Length" not in response.headers  # streamed
    data = response.json["_data"]
    assert list(data) == [f"u{n}@example.com" for n in range(7)]
    assert sum(len(group) for group in data.values()) == 30
    assert data["u0@example.com"][0] == {"account": "u0@example.com", "sender": "192.0.2.0",
                                         "status": "disabled"}  # fmt: skip
    page = client.get("/api/greylisting/all?page=2&page_size=10").json
    assert (page["total"], page["page"], page["offset"], page["limit"]) == (30, 2, 10, 10)
    assert sum(len(group) for group in page["_data"].values()) == 10
    assert list(page["_data"]) == ["u2@example.com", "u3@example.com", "u4@example.com"]


def test_all_is_an_empty_object_without_rows(sqlite_api):
    """No greylisting row: `_data` is {}."""
    response = sqlite_api.client.get("/api/greylisting/all")
    assert response.status_code == 200 and response.json["_data"] == {}


def test_all_in_xml_is_answered_whole(sqlite_api):
    """Asked for XML, /all answers the same rows as an XML document (not streamed JSON)."""
    sqlite_api.policy.insert("greylisting", {"account": "@.", "sender": "@.", "priority": 0,
                                             "active": 1})  # fmt: skip

    response = sqlite_api.client.get("/api/greylisting/all", headers={"Accept": "application/xml"})

    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert b"<sender>@.</sender>" in response.data and b"<status>enabled</status>" in response.data
