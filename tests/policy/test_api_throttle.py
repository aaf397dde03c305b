"""The throttle routes: statuses, bodies, the rows written and iRedAPD's decision on them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.helpers import add_admin
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.helpers import assert_error
from tests.helpers import audit_rows
from tests.helpers import new_client

from .iredapd import DUNNO
from .iredapd import REJECT_QUOTA
from .iredapd import REJECT_SIZE

RULE = ("account", "kind", "priority", "period", "msg_size", "max_msgs", "max_quota", "max_rcpts")


def rules(policy):
    return policy.rows("throttle", *RULE, order_by="account, kind")


@pytest.fixture
def hosted(raw):
    add_domain(raw, "example.com")
    add_user(raw, "bob@example.com")
    add_user(raw, "carol@example.com")


def test_a_users_rule_is_written_shown_and_enforced(policy_api, hosted):
    """POST writes the row iRedAPD reads; GET shows it with the usage; the third message is refused."""
    client, policy = policy_api.client, policy_api.policy
    response = client.post("/api/throttle/Bob@Example.com/outbound",
                           data={"period": "3600", "max_msgs": "2"})  # fmt: skip

    assert response.status_code == 200, response.json
    data = response.json["_data"]
    assert {key: data[key] for key in RULE} == {
        "account": "bob@example.com", "kind": "outbound", "priority": 100, "period": 3600,
        "msg_size": 0, "max_msgs": 2, "max_quota": 0, "max_rcpts": -1,
    }  # fmt: skip
    assert rules(policy) == [{key: data[key] for key in RULE}]
    sent = [policy.iredapd.send("bob@example.com", f"x{i}@remote.test", sasl="bob@example.com")
            for i in range(3)]  # fmt: skip
    assert sent == [DUNNO, DUNNO, REJECT_QUOTA]
    shown = client.get("/api/throttle/bob@example.com/outbound").json["_data"]
    assert shown["usage"]["cur_msgs"] == 2 and shown["period"] == 3600
    empty = client.get("/api/throttle/bob@example.com/inbound").json
    assert empty["_data"] == empty["setting"] == {}  # iRedAdmin-Pro reads `setting`


def test_domain_and_global_rules_inherit_and_period_zero_removes(policy_api, hosted):
    """-1 inherits the domain rule, the global rule applies to the rest; period 0 deletes."""
    client, policy = policy_api.client, policy_api.policy
    assert client.post("/api/throttle/global/outbound",
                       json={"period": 60, "msg_size": 5000}).status_code == 200  # fmt: skip
    assert client.post("/api/throttle/example.com/outbound",
                       json={"period": 60, "msg_size": 1000}).status_code == 200  # fmt: skip
    assert client.post("/api/throttle/bob@example.com/outbound",
                       json={"period": 60, "msg_size": -1, "max_msgs": 5}).status_code == 200  # fmt: skip

    assert [(r["account"], r["priority"]) for r in rules(policy)] == [
        ("@.", 0),
        ("@example.com", 60),
        ("bob@example.com", 100),
    ]
    assert client.get("/api/throttle/example.com/outbound").json["_data"]["usage"] is None
    audited = [row for row in audit_rows(policy_api.app.config["SQL_URL"])
               if row["resource"] == "throttle"]  # fmt: skip
    assert [(row["method"], row["object"], row["domain"], row["status"]) for row in audited] == [
        ("POST", "outbound", "", 200),
        ("POST", "example.com", "example.com", 200),
        ("POST", "bob@example.com", "example.com", 200),
    ]
    send = policy.iredapd.send
    assert (
        send("bob@example.com", "x@remote.test", size=2000, sasl="bob@example.com") == REJECT_SIZE
    )
    assert send("eve@else.test", "x@remote.test", client="127.0.0.1", size=6000) == REJECT_SIZE

    response = client.post("/api/throttle/example.com/outbound", data={"period": "0"})

    assert response.status_code == 200 and response.json["_data"] == {}
    assert [r["account"] for r in rules(policy)] == ["@.", "bob@example.com"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("bob@example.com/outbound", {"max_msgs": "2"}, "period"),
        ("bob@example.com/outbound", {"period": "-1"}, "period"),
        ("bob@example.com/outbound", {"period": "60", "max_msgs": "many"}, "max_msgs"),
        ("bob@example.com/outbound", {"period": "60", "max_quota": "-2"}, "max_quota"),
        ("bob@example.com/outbound", {"period": "60", "max_msgs": "16777216"}, "max_msgs"),
        ("bob@example.com/outbound", {"period": "60", "burst": "1"}, "burst"),
        ("bob@example.com/sideways", {"period": "60"}, "kind"),
        ("global/sideways", {"period": "60"}, "kind"),
        ("bad..domain/inbound", {"period": "60"}, "account"),
        ("GLOBAL/inbound", {"period": "60"}, "account"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(sqlite_api, hosted, path, body,
                                                                field):  # fmt: skip
    """Each bad value is named; no row is written."""
    response = sqlite_api.client.post(f"/api/throttle/{path}", data=body)

    assert_error(response, 400, "INVALID_PARAMETERS", field=field)
    assert rules(sqlite_api.policy) == []


@pytest.mark.parametrize(
    ("path", "code"),
    [("nowhere.test/inbound", "NO_SUCH_DOMAIN"), ("nobody@example.com/inbound", "NO_SUCH_ACCOUNT")],
)
def test_accounts_this_directory_does_not_host_are_404(sqlite_api, hosted, path, code):
    """An unknown domain or user: 404, on GET and POST, nothing written."""
    client = sqlite_api.client
    assert_error(client.get(f"/api/throttle/{path}"), 404, code)
    assert_error(client.post(f"/api/throttle/{path}", data={"period": "60"}), 404, code)
    assert rules(sqlite_api.policy) == []


def test_twenty_concurrent_posts_leave_one_row(policy_api, hosted):
    """Twenty simultaneous POSTs of one (account, kind), each its own session: exactly one row."""
    app, policy = policy_api.app, policy_api.policy
    clients = [new_client(app, "postmaster@admin.test", ADMIN_PASSWORD) for _ in range(20)]
    barrier = threading.Barrier(len(clients))

    def post(index):
        barrier.wait()
        response = clients[index].post("/api/throttle/bob@example.com/outbound",
                                       data={"period": "60", "max_msgs": str(index + 1)})  # fmt: skip
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        statuses = list(pool.map(post, range(len(clients))))

    assert statuses == [200] * 20
    rows = rules(policy)
    assert len(rows) == 1 and 1 <= rows[0]["max_msgs"] <= 20


def test_a_domain_admin_reaches_its_own_domains_only(sqlite_api, raw):
    """A standard admin of example.com sets its users' limits; other domains and global: 403."""
    add_domain(raw, "example.com", admins=["std@partner.test"])
    add_domain(raw, "other.test")
    add_admin(raw, "std@partner.test")
    add_user(raw, "bob@example.com")
    add_user(raw, "dan@other.test")
    add_user(raw, "boss@example.com", admin=True)
    client = new_client(sqlite_api.app, "std@partner.test")
    body = {"period": "60", "max_msgs": "3"}

    assert client.post("/api/throttle/bob@example.com/inbound", data=body).status_code == 200
    assert client.post("/api/throttle/example.com/inbound", data=body).status_code == 200
    # Another admin's own mailbox is global-only, as on the account routes (DOMAIN_WRITE).
    assert_error(client.post("/api/throttle/boss@example.com/inbound", data=body), 403,
                 "PERMISSION_DENIED")  # fmt: skip
    assert client.get("/api/throttle/boss@example.com/inbound").status_code == 200
    for path in ("dan@other.test/inbound", "other.test/inbound", "global/inbound"):
        assert_error(client.post(f"/api/throttle/{path}", data=body), 403, "PERMISSION_DENIED")
        assert_error(client.get(f"/api/throttle/{path}"), 403, "PERMISSION_DENIED")
    assert [r["account"] for r in rules(sqlite_api.policy)] == ["@example.com", "bob@example.com"]
