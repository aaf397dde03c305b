"""Domain counters written behind ([ldap] counter_flush_seconds > 0): sums, reads, limits, exits, outages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from ldap3 import MODIFY_DELETE
from ldap3 import MODIFY_REPLACE

from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models import counters
from iredapi_ldap.models.counter_queue import flush_pending
from iredapi_ldap.models.counter_queue import get_counter_queue
from iredapi_ldap.models.domains.domain import create_domain
from iredapi_ldap.models.users.create import create_user
from tests.helpers import PASSWORD
from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user
from tests.helpers import private_app

DOMAIN = "example.com"
MB = 1024 * 1024
# Long enough that no timer fires while a test looks at the tree before flushing.
INTERVAL = 60


@pytest.fixture
def app_config(app_config, mlmmj_spool):
    """The suite writes counters at once; these tests write them behind (and may make mlmmj lists)."""
    spool, archive = mlmmj_spool
    return dict(app_config, LDAP_COUNTER_FLUSH_SECONDS=INTERVAL,
                MLMMJ_SPOOL_DIR=str(spool), MLMMJ_ARCHIVE_DIR=str(archive))  # fmt: skip


@pytest.fixture(autouse=True)
def nothing_left_pending(app):
    """Write what a test left pending into its own tree, before the next test resets it."""
    yield
    with app.app_context():
        get_counter_queue(app).flush(get_directory())


def stored(raw, attribute=counters.USERS, domain=DOMAIN):
    entry = raw.entry(raw.domain_dn(domain))
    return entry.get(attribute.lower(), [None])[0]


def set_stored(raw, value, attribute=counters.USERS, domain=DOMAIN):
    change = [(MODIFY_REPLACE, [str(value)])] if value is not None else [(MODIFY_DELETE, [])]
    assert raw.conn.modify(raw.domain_dn(domain), {attribute: change}), raw.conn.result


def test_creates_are_summed_in_memory_then_written_before_this_process_reads(api, app, raw):
    make_domain(api)
    set_stored(raw, 0)
    for name in ("a", "b", "c"):
        make_user(api, f"{name}@{DOMAIN}")
    assert stored(raw) == "0"
    assert get_counter_queue(app).pending(DOMAIN) == {counters.USERS: 3}

    listing = api.get(f"/api/users/{DOMAIN}")
    assert listing.status_code == 200
    assert listing.json["total"] == 3 and listing.json["total_exact"] is False
    assert stored(raw) == "3"
    assert get_counter_queue(app).pending(DOMAIN) == {}


@pytest.mark.parametrize(("path", "counter"), [
    ("alias", counters.ALIASES), ("maillist", counters.LISTS), ("ml", counters.LISTS),
])  # fmt: skip
def test_aliases_and_lists_are_counted_behind_too(api, app, raw, path, counter):
    make_domain(api)
    set_stored(raw, 0, counter)
    for name in ("one", "two"):
        assert api.post(f"/api/{path}/{name}@{DOMAIN}").status_code == 201
    assert stored(raw, counter) == "0"
    assert get_counter_queue(app).pending(DOMAIN) == {counter: 2}
    assert api.delete(f"/api/{path}/one@{DOMAIN}").status_code == 200
    assert get_counter_queue(app).pending(DOMAIN) == {counter: 1}
    with app.app_context():
        get_counter_queue(app).flush(get_directory())
    assert stored(raw, counter) == "1"


def test_an_alias_limit_still_reserves_at_once(api, app, raw):
    make_domain(api, numberOfAliases="1")
    assert api.post(f"/api/alias/one@{DOMAIN}").status_code == 201
    assert stored(raw, counters.ALIASES) == "1" and get_counter_queue(app).pending(DOMAIN) == {}
    assert_error(api.post(f"/api/alias/two@{DOMAIN}"), 403, "EXCEEDED_DOMAIN_ALIAS_LIMIT")


def test_the_timer_writes_without_any_read(api, app, raw):
    make_domain(api)
    set_stored(raw, 0)
    get_counter_queue(app).interval = 0.2
    make_user(api, f"a@{DOMAIN}")
    make_user(api, f"b@{DOMAIN}")
    deadline = time.monotonic() + 10
    while stored(raw) != "2" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(raw) == "2"
    assert get_counter_queue(app).pending(DOMAIN) == {}


def test_quota_counter_is_summed_and_written_by_compare_and_swap(api, app, raw):
    make_domain(api)
    set_stored(raw, 0)
    set_stored(raw, 0, counters.QUOTA)
    make_user(api, f"a@{DOMAIN}", quota="100")
    make_user(api, f"b@{DOMAIN}", quota="20")
    assert get_counter_queue(app).pending(DOMAIN) == {counters.USERS: 2, counters.QUOTA: 120 * MB}
    assert api.get(f"/api/domain/{DOMAIN}").json["_data"]["currentQuotaSize"] == 120 * MB
    assert (stored(raw), stored(raw, counters.QUOTA)) == ("2", str(120 * MB))


def test_a_missing_counter_is_set_from_a_real_count_not_added_to(api, raw):
    make_domain(api)
    set_stored(raw, 5)
    make_user(api, f"a@{DOMAIN}")
    make_user(api, f"b@{DOMAIN}")
    set_stored(raw, None)
    assert api.get(f"/api/users/{DOMAIN}").json["total"] == 2
    assert stored(raw) == "2"


def test_a_decrement_below_zero_recounts(api, raw):
    make_domain(api)
    make_user(api, f"a@{DOMAIN}")
    make_user(api, f"b@{DOMAIN}")
    api.get(f"/api/users/{DOMAIN}")
    set_stored(raw, 0)  # drifted: another tool reset it
    assert api.delete(f"/api/user/a@{DOMAIN}").status_code == 200
    api.get(f"/api/users/{DOMAIN}")
    assert stored(raw) == "1"


def test_deletes_are_written_behind_and_the_user_limit_still_holds(api, raw):
    make_domain(api, numberOfUsers="2")
    make_user(api, f"a@{DOMAIN}")
    make_user(api, f"b@{DOMAIN}")
    assert stored(raw) == "2"  # under a limit a create reserves its place at once
    assert api.delete(f"/api/user/a@{DOMAIN}").status_code == 200
    assert stored(raw) == "2"  # ahead of the truth until written: the limit stays safe
    make_user(api, f"c@{DOMAIN}")  # the reservation writes this process's pending delete first
    assert stored(raw) == "2"
    assert_error(api.post(f"/api/user/d@{DOMAIN}", data={"password": "Secret-Pass-123"}),
                 403, "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")  # fmt: skip
    assert stored(raw) == "2"


def test_setting_a_limit_recounts_the_counter_it_starts_to_guard(api, raw):
    make_domain(api)
    make_user(api, f"a@{DOMAIN}")
    make_user(api, f"b@{DOMAIN}")
    set_stored(raw, 50)  # drifted, e.g. a worker killed with changes pending
    assert api.put(f"/api/domain/{DOMAIN}", data={"numberOfUsers": "10"}).status_code == 200
    assert stored(raw) == "2"
    set_stored(raw, 7)  # drifted again, e.g. iRedAdmin deleted users without counting them out
    assert api.put(f"/api/domain/{DOMAIN}", data={"numberOfUsers": "20"}).status_code == 200
    assert stored(raw) == "2"  # a changed limit re-counts too


def queue_on_private_slapd(make_app, server, users, **overrides):
    """Return an app on a slapd the test may stop, with DOMAIN holding `users` users, and its queue."""
    app = private_app(make_app, server, **overrides)
    with app.app_context():
        directory = get_directory()
        create_domain(directory, DOMAIN, {}, app.config)
        for index in range(users):
            create_user(directory, f"u{index}@{DOMAIN}", {"password": PASSWORD}, app.config)
    return app, get_counter_queue(app)


def stored_on(app, attribute=counters.USERS):
    with app.app_context():
        directory = get_directory()
        return directory.get(directory.dn.domain(DOMAIN)).first(attribute)


def test_a_directory_outage_ends_in_a_recount_not_a_second_increment(make_app, private_slapd):
    """A flush that fails may have reached slapd: the domain is re-counted once it is back."""
    app, queue = queue_on_private_slapd(make_app, private_slapd, 3)
    assert queue.pending(DOMAIN) == {counters.USERS: 3} and stored_on(app) is None
    with app.app_context():
        flush_pending(get_directory())  # the missing counter is set by a re-count
    assert stored_on(app) == "3"
    with app.app_context():
        queue.defer(get_directory(), DOMAIN, {counters.USERS: 2})  # as if two adds were made
    private_slapd.stop()
    with app.app_context(), pytest.raises(Exception, match="unavailable"):
        queue.flush(get_directory())
    assert queue.pending(DOMAIN) == {} and queue.marked(DOMAIN)
    private_slapd.start()
    with app.app_context():
        flush_pending(get_directory(), [DOMAIN])
    assert stored_on(app) == "3"  # the truth, not 5: the deltas were not applied again
    assert not queue.marked(DOMAIN)


EXIT_SCRIPT = """
import json, sys
from iredapi_ldap import create_app
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models.counter_queue import flush_pending
from iredapi_ldap.models.counter_queue import get_counter_queue
app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    get_counter_queue(app).defer(get_directory(), "example.com", {"domainCurrentUserNumber": 3})
print("pending", get_counter_queue(app).pending("example.com"))
"""


def test_a_process_writes_its_pending_changes_when_it_exits(api, app_config, raw):
    make_domain(api)
    set_stored(raw, 1)
    child = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, json.dumps(app_config)],
                           capture_output=True, text=True, timeout=60, cwd=os.getcwd())  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert "pending {'domainCurrentUserNumber': 3}" in child.stdout
    assert stored(raw) == "4"


def test_a_domain_deleted_meanwhile_drops_its_pending_changes(api, app):
    make_domain(api)
    make_user(api, f"a@{DOMAIN}")
    assert api.delete(f"/api/domain/{DOMAIN}").status_code == 200
    with app.app_context():
        get_counter_queue(app).flush(get_directory())
    assert get_counter_queue(app).pending(DOMAIN) == {}


def test_the_timer_recounts_after_an_outage(make_app, private_slapd):
    """A flush that failed is followed by a re-count every interval until slapd answers."""
    app, queue = queue_on_private_slapd(make_app, private_slapd, 1, LDAP_COUNTER_FLUSH_SECONDS=0.2)
    private_slapd.stop()
    time.sleep(1)  # the timer's first rounds fail meanwhile
    assert queue.marked(DOMAIN) and queue.pending(DOMAIN) == {}
    private_slapd.start()
    deadline = time.monotonic() + 15
    while queue.marked(DOMAIN) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_on(app) == "1" and not queue.marked(DOMAIN)
