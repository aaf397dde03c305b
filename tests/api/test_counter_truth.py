"""Domain counters stay true: between worker processes, across re-counts, against other writers.

Two apps built from one configuration stand for two worker processes of one host:
each has its own counter queue (deltas in memory), and both share the counter locks
in the test's folder, as gunicorn's workers do.
"""

from __future__ import annotations

import time

import pytest
from ldap3 import MODIFY_REPLACE

from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models import counters
from iredapi_ldap.models.aliases.alias import create_alias
from iredapi_ldap.models.aliases.alias import delete_alias
from iredapi_ldap.models.counter_queue import flush_pending
from iredapi_ldap.models.counter_queue import get_counter_queue
from iredapi_ldap.models.users.create import create_user
from tests.helpers import PASSWORD
from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"
MB = 1024 * 1024
WORKER = {"LDAP_COUNTER_FLUSH_SECONDS": 60}  # written behind; no timer fires during a test


def stored(raw, attribute=counters.USERS):
    return raw.entry(raw.domain_dn(DOMAIN)).get(attribute.lower(), [None])[0]


def add_users(app, *names, quota=0):
    with app.app_context():
        for name in names:
            create_user(get_directory(), f"{name}@{DOMAIN}", {"password": PASSWORD, "quota": quota},
                        app.config)  # fmt: skip


def flush(app):
    with app.app_context():
        flush_pending(get_directory())


def raw_user(raw, mail, quota_bytes):
    """Add a user as another tool would (iRedAdmin): the entry, no counter change."""
    local = mail.split("@")[0]
    assert raw.conn.add(raw.user_dn(mail), ["inetOrgPerson", "mailUser"],
                        {"mail": mail, "uid": local, "cn": local, "sn": local,
                         "accountStatus": "active", "mailQuota": str(quota_bytes)}), raw.conn.result  # fmt: skip


def test_a_recount_by_one_worker_drops_what_another_has_queued(api, make_app, raw):
    """The cause of issue 13's drift: a re-count included deltas another worker then added again."""
    make_domain(api)
    first, second = make_app(**WORKER), make_app(**WORKER)
    add_users(first, "a", "b", "c")
    add_users(second, "d")
    assert stored(raw) is None  # a new domain: no counter yet
    flush(second)  # the counter is missing: re-counted from the tree, a-d included
    assert stored(raw) == "4"
    flush(first)  # queued before that re-count: dropped, not added to it
    assert stored(raw) == "4"
    add_users(first, "e")
    flush(first)  # queued after it: added
    assert stored(raw) == "5"


def test_a_delete_flushed_before_the_create_it_follows_stays_exact(api, make_app, raw):
    """Create in one worker, delete in another, the delete written first: re-counted, not -1 +1."""
    make_domain(api)
    assert raw.conn.modify(raw.domain_dn(DOMAIN), {counters.ALIASES: [(MODIFY_REPLACE, ["0"])]})
    creator, deleter = make_app(**WORKER), make_app(**WORKER)
    with creator.app_context():
        create_alias(get_directory(), f"y@{DOMAIN}", {})  # +1 queued in creator
    with deleter.app_context():
        delete_alias(get_directory(), f"y@{DOMAIN}")  # -1 queued in deleter
    flush(deleter)  # 0 - 1 would be below zero: re-counted instead
    assert stored(raw, counters.ALIASES) == "0"
    flush(creator)  # its +1 was queued before that re-count: dropped
    assert stored(raw, counters.ALIASES) == "0"
    assert api.get(f"/api/domain/{DOMAIN}").json["_data"]["currentAliases"] == 0


def test_setting_or_changing_a_limit_recounts_and_drops_queued_deltas(api, make_app, raw):
    make_domain(api)
    worker = make_app(**WORKER)
    make_user(api, f"a@{DOMAIN}")
    add_users(worker, "b", "c")  # +2 queued in the worker
    assert raw.conn.modify(raw.domain_dn(DOMAIN), {counters.USERS: [(MODIFY_REPLACE, ["9"])]})
    assert api.put(f"/api/domain/{DOMAIN}", data={"numberOfUsers": "20"}).status_code == 200
    assert stored(raw) == "3"  # set: re-counted
    flush(worker)
    assert stored(raw) == "3"  # b and c were counted by the re-count: not added again
    assert raw.conn.modify(raw.domain_dn(DOMAIN), {counters.USERS: [(MODIFY_REPLACE, ["9"])]})
    assert api.put(f"/api/domain/{DOMAIN}", data={"numberOfUsers": "30"}).status_code == 200
    assert stored(raw) == "3"  # changed: re-counted too
    assert api.get(f"/api/domain/{DOMAIN}").json["_data"]["currentUsers"] == 3


@pytest.fixture
def limited_app(make_app):
    """A worker that re-counts counters older than 1 s before a limit decides (no sweep thread)."""
    app = make_app(LDAP_COUNTER_RECOUNT_SECONDS=1)
    get_counter_queue(app).stop_upkeep()
    return app


def test_another_writers_users_count_before_a_quota_reservation(api, raw, limited_app):
    """iRedAdmin adds a user without the quota counter: a stale total would let the cap be passed."""
    make_domain(api, quota="100")
    client = limited_app.test_client()
    assert client.post("/api/login", data={"username": "postmaster@admin.test",
                                           "password": PASSWORD}).status_code == 200  # fmt: skip
    assert make_user(client, f"a@{DOMAIN}", quota="50").status_code == 201
    raw_user(raw, f"b@{DOMAIN}", 40 * MB)
    assert stored(raw, counters.QUOTA) == str(50 * MB)  # the cached total misses b
    time.sleep(1.1)  # the counters are now older than counter_recount_seconds
    refused = client.post(f"/api/user/c@{DOMAIN}", data={"password": PASSWORD, "quota": "30"})
    assert_error(refused, 403, "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")
    assert raw.count(raw.domain_dn(DOMAIN), "(mail=c@example.com)") == 0
    assert (stored(raw), stored(raw, counters.QUOTA)) == ("2", str(90 * MB))
    assert make_user(client, f"c@{DOMAIN}", quota="10").status_code == 201
    assert (stored(raw), stored(raw, counters.QUOTA)) == ("3", str(100 * MB))


def test_a_refusal_is_checked_against_a_recount(api, raw):
    """iRedAdmin deletes users without counting them out: the API must not refuse free quota."""
    make_domain(api, quota="100")
    make_user(api, f"a@{DOMAIN}", quota="60")
    make_user(api, f"b@{DOMAIN}", quota="30")
    assert stored(raw, counters.QUOTA) == str(90 * MB)
    assert raw.conn.delete(raw.user_dn(f"b@{DOMAIN}")), raw.conn.result
    time.sleep(1.1)  # longer ago than the gap between two refusal re-counts
    make_user(api, f"c@{DOMAIN}", quota="40")  # refused on the cached 90 MB; re-counted: 60
    assert (stored(raw), stored(raw, counters.QUOTA)) == ("2", str(100 * MB))
    assert_error(api.post(f"/api/user/d@{DOMAIN}", data={"password": PASSWORD, "quota": "1"}),
                 403, "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")  # fmt: skip


def test_the_periodic_recount_repairs_every_domain(api, raw, make_app):
    """A worker's thread re-counts all domains every counter_recount_seconds (drift from elsewhere)."""
    make_domain(api)
    make_domain(api, "other.test")
    make_user(api, f"a@{DOMAIN}")
    raw_user(raw, f"b@{DOMAIN}", 0)
    raw_user(raw, "c@other.test", 0)
    assert raw.conn.modify(raw.domain_dn("other.test"), {counters.USERS: [(MODIFY_REPLACE, ["7"])]})
    queue = get_counter_queue(make_app(LDAP_COUNTER_RECOUNT_SECONDS=0.5))
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if (stored(raw), raw.entry(raw.domain_dn("other.test"))["domaincurrentusernumber"]) == (
                "2",
                ["1"],
            ):
                break
            time.sleep(0.05)
    finally:
        queue.stop_upkeep()
    assert stored(raw) == "2"
    assert raw.entry(raw.domain_dn("other.test"))["domaincurrentusernumber"] == ["1"]
