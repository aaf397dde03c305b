"""The host's choice of LDAP server (ldap/failover.py): back-off, contextCSN checks, the shared file."""

from __future__ import annotations

import json
import time

from iredapi_ldap.ldap.failover import MAX_RETRY_SECONDS
from iredapi_ldap.ldap.failover import Choice
from iredapi_ldap.ldap.failover import ServerChoice
from iredapi_ldap.ldap.failover import csn_by_server
from iredapi_ldap.ldap.failover import holds_all
from iredapi_ldap.ldap.failover import retry_after

URIS = ["ldap://a:389", "ldap://b:389"]


def test_retry_waits_grow_to_a_cap():
    assert [retry_after(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 16, 30]
    assert retry_after(100) == MAX_RETRY_SECONDS


def test_context_csns_compare_per_server_id():
    old = "20260101120000.000001Z#000000#001#000000"
    new = "20260101120000.000002Z#000000#001#000000"
    other = "20260101110000.000000Z#000000#002#000000"
    assert csn_by_server([old, other, "garbage"]) == {"001": old, "002": other}
    assert holds_all({"001": new, "002": other}, {"001": old})
    assert not holds_all({"001": old}, {"001": new})
    assert not holds_all({"001": new}, {"001": old, "002": other})  # lacks a server's changes
    assert holds_all({}, {})  # no replication: nothing to wait for


def test_only_servers_before_the_active_one_are_due():
    now = time.time()
    choice = Choice(active=1, retry={0: [now + 5, 2]})
    assert choice.due(now) is None
    assert choice.due(now + 6) == 0
    assert Choice(active=0).due(now) is None


def test_every_process_of_the_host_sees_one_choice(tmp_path):
    one, other = ServerChoice(URIS, tmp_path), ServerChoice(URIS, tmp_path)
    assert one.current().active == other.current().active == 0
    one.failed(0)
    seen = other.current()
    assert (seen.active, seen.epoch) == (1, 1) and seen.retry[0][1] == 1
    other.failed(0)  # a late report of the same failure switches nothing
    assert one.current().active == 1 and one.current().epoch == 1
    assert one.current().retry[0][1] == 2  # but waits longer before the next try
    other.catching_up(0)
    assert one.current().active == 1
    other.returned(0)
    assert (one.current().active, one.current().epoch) == (0, 2)
    assert 0 not in one.current().retry


def test_a_file_written_for_other_servers_is_ignored(tmp_path):
    (tmp_path / "ldap-servers.json").write_text(
        json.dumps({"servers": ["ldap://old:389", URIS[1]], "active": 1, "epoch": 9})
    )
    assert ServerChoice(URIS, tmp_path).current().active == 0


def test_without_a_folder_the_choice_stays_in_the_process():
    choice = ServerChoice(URIS, None)
    choice.failed(0)
    assert choice.current().active == 1
