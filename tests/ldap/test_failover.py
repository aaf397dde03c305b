"""Two real providers replicating each other: failover, health-checked failback, writes sent once.

The providers are the embedded pair (`EmbeddedProviders`, syncrepl multi-provider). A
TCP proxy between them (or between the API and slapd) injects the faults: a replication
link that lags, an answer that never arrives.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from iredapi_ldap import errors
from iredapi_ldap.embedded.providers import EmbeddedProviders
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap import get_pool
from iredapi_ldap.models import counters
from iredapi_ldap.models.admins.create import create_global_admin
from iredapi_ldap.models.counter_queue import get_counter_queue
from iredapi_ldap.models.counter_queue import recount_domain
from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import PASSWORD
from tests.helpers import add_domain
from tests.helpers import new_client
from tests.helpers import private_app
from tests.tcpproxy import TcpProxy


def port_of(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


@pytest.fixture
def pair(tmp_path):
    """Two providers; the first pulls the second's changes through a proxy the test can pause."""
    providers = EmbeddedProviders(tmp_path / "pair", durable=False)
    providers.prepare()
    first, second = providers.members
    link = TcpProxy(port_of(second.credentials.uri))
    first.peers = (link.uri,)
    providers.start()
    yield providers, link
    providers.stop()
    link.close()


def pair_app(make_app, providers, uris=None, **overrides):
    """An app on both providers, the first preferred (or in the order of `uris`)."""
    return private_app(make_app, providers, LDAP_URI=" ".join(uris or providers.uris), **overrides)


def kill(server) -> None:
    """SIGKILL one provider and reap it."""
    os.kill(server._proc.pid, signal.SIGKILL)
    server._proc.wait()


def host_choice(app) -> dict:
    """Return the host's shared choice of server (failover.py's state file)."""
    return json.loads((get_pool(app).choice.folder / "ldap-servers.json").read_text())


def domain_dn(providers, domain: str) -> str:
    return f"domainName={domain},o=domains,{providers.credentials.suffix}"


def has_domain(server, providers, domain: str) -> bool:
    found = server.client.search(domain_dn(providers, domain), "(objectClass=*)", "1.1",
                                 scope="base", check=False)  # fmt: skip
    return "dn:" in found.stdout


def add_domain_entry(app, providers, domain: str) -> None:
    with app.app_context():
        get_directory().add(domain_dn(providers, domain),
                            {"objectClass": "mailDomain", "domainName": domain})  # fmt: skip


def read_domain(app, providers, domain: str) -> bool:
    with app.app_context():
        return get_directory().exists(domain_dn(providers, domain))


def test_failover_then_failback_once_the_returning_server_caught_up(make_app, pair):
    providers, link = pair
    first, second = providers.members
    app = pair_app(make_app, providers)
    add_domain_entry(app, providers, "one.test")
    assert has_domain(first, providers, "one.test")
    providers.wait_converged(10)

    kill(first)
    assert read_domain(app, providers, "one.test")  # failed over: no error, second answers
    assert host_choice(app)["active"] == 1
    add_domain_entry(app, providers, "two.test")
    assert has_domain(second, providers, "two.test")
    down_until = time.monotonic() + 2
    while time.monotonic() < down_until:  # each request may start a check of the first
        assert read_domain(app, providers, "two.test")
        time.sleep(0.05)
    assert host_choice(app)["retry"]["0"][1] >= 2  # tried again, failed, waits longer

    link.pause()  # the first comes back without what the second took meanwhile
    first.start()
    lagging_until = time.monotonic() + 3
    while time.monotonic() < lagging_until:
        assert read_domain(app, providers, "two.test")  # read where it was written
        time.sleep(0.05)
    assert not has_domain(first, providers, "two.test")
    assert host_choice(app)["active"] == 1  # answers, but not caught up: no failback

    link.resume()
    deadline = time.monotonic() + 20
    while host_choice(app)["active"] != 0:
        assert time.monotonic() < deadline, host_choice(app)
        assert read_domain(app, providers, "two.test")
        time.sleep(0.05)
    assert has_domain(first, providers, "two.test")
    with app.app_context():
        directory = get_directory()
        assert directory.conn.server_index == 0
        assert directory.exists(domain_dn(providers, "two.test"))
    assert host_choice(app)["epoch"] == 2


def test_a_write_whose_answer_is_lost_is_not_sent_again(make_app, slapd_server, raw):
    """The answer to an increment never arrives: 503, and the counter moved once, not twice."""
    proxy = TcpProxy(port_of(slapd_server.credentials.uri))
    try:
        app = private_app(make_app, slapd_server, LDAP_URI=proxy.uri)
        add_domain(raw, "lost.test")
        dn = raw.domain_dn("lost.test")
        assert raw.conn.modify(dn, {"domainCurrentUserNumber": [("MODIFY_ADD", ["5"])]})
        with app.app_context():
            assert get_directory().exists(dn)  # a connection into the pool
        with app.app_context():
            directory = get_directory()
            assert directory._reused
            proxy.lose_answers()
            with pytest.raises(errors.DirectoryUnavailable):
                directory.modify(dn, {counters.USERS: ("increment", 1)})
        assert raw.entry(dn)["domaincurrentusernumber"] == ["6"]
    finally:
        proxy.close()


def test_a_write_on_a_connection_slapd_closed_goes_to_a_fresh_one(make_app, private_slapd):
    """A pooled connection slapd hung up on is replaced before a write, which is sent once."""
    app = private_app(make_app, private_slapd)
    dn = f"domainName=fresh.test,o=domains,{private_slapd.credentials.suffix}"
    with app.app_context():
        get_directory().add(dn, {"objectClass": "mailDomain", "domainName": "fresh.test",
                                 "domainCurrentUserNumber": "1"})  # fmt: skip
    private_slapd.stop()
    private_slapd.start()
    with app.app_context():
        directory = get_directory()
        assert directory._reused
        directory.modify(dn, {counters.USERS: ("increment", 1)})
        assert not directory._reused  # replaced before the write
    assert "domainCurrentUserNumber: 2" in private_slapd.ldapsearch(dn, scope="base")
    assert get_pool(app).opened == 2


def test_a_switch_of_server_has_every_domain_recounted(make_app, pair):
    """After a failover the counters are re-counted: once by one process, and before a reservation."""
    providers, _link = pair
    first, _second = providers.members
    app = pair_app(make_app, providers)
    add_domain_entry(app, providers, "switch.test")
    with app.app_context():
        recount_domain(get_directory(), "switch.test")
        queue = get_counter_queue()
        assert not queue.stale("switch.test")
        with queue.locks.sweep_due(0, queue.switched()) as due:
            assert not due
    providers.wait_converged(10)
    kill(first)
    assert read_domain(app, providers, "switch.test")  # failed over
    with app.app_context():
        assert queue.switched() > 0
        assert queue.stale("switch.test")  # a reservation re-counts first
        with queue.locks.sweep_due(0, queue.switched()) as due:
            assert due  # this process re-counts every domain ...
        with queue.locks.sweep_due(0, queue.switched()) as due:
            assert not due  # ... and no other does it again
        recount_domain(get_directory(), "switch.test")
        assert not queue.stale("switch.test")


# -- both providers taking writes -----------------------------------------------------------

HOSTS, THREADS, EACH = 2, 3, 12
SHARED = "shared.test"


def counter_and_truth(server, providers, domain: str) -> tuple[int, int]:
    """Return a provider's domainCurrentUserNumber and its real number of users."""
    text = server.ldapsearch(domain_dn(providers, domain), "(objectClass=*)", counters.USERS,
                             scope="base")  # fmt: skip
    stored = int(text.split(f"{counters.USERS}: ")[1].split()[0])
    users = server.ldapsearch(f"ou=Users,{domain_dn(providers, domain)}",
                              "(objectClass=mailUser)", "1.1", scope="one")  # fmt: skip
    return stored, users.count("dn: ")


def test_two_hosts_writing_to_both_providers_never_count_twice(make_app, pair, tmp_path):
    """Two API hosts, each preferring another provider, reserve in one domain at once.

    Each provider applies each compare-and-swap once; replication carries entries, not
    operations, so the domain entry converges on the later of two concurrent changes:
    a reservation can be lost (the counter below the truth), never counted twice. The
    re-count (after a switch, periodic, or `iredapi-ldap recount`) sets it right on both.
    """
    providers, _link = pair
    first, second = providers.members
    orders = [providers.uris, providers.uris[::-1]]
    apps = [pair_app(make_app, providers, uris=order,
                     LDAP_COUNTER_LOCK_DIR=str(tmp_path / f"host-{index}"))
            for index, order in enumerate(orders)]  # fmt: skip
    with apps[0].app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    setup = new_client(apps[0], ADMIN_EMAIL, ADMIN_PASSWORD)
    created = setup.post(f"/api/domain/{SHARED}", data={"numberOfUsers": "1000"})
    assert created.status_code == 201, created.json
    assert setup.post(f"/api/user/first@{SHARED}", data={"password": PASSWORD}).status_code == 201
    providers.wait_converged(10)
    statuses: list[int] = []

    def create(app, host: int, thread: int) -> None:
        client = new_client(app, ADMIN_EMAIL, ADMIN_PASSWORD)
        for serial in range(EACH):
            mail = f"h{host}t{thread}n{serial}@{SHARED}"
            statuses.append(
                client.post(f"/api/user/{mail}", data={"password": PASSWORD}).status_code
            )

    threads = [threading.Thread(target=create, args=(app, host, thread))
               for host, app in enumerate(apps) for thread in range(THREADS)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses.count(201) == HOSTS * THREADS * EACH, statuses
    used = [get_pool(app).uris[get_pool(app).choice.current().active] for app in apps]
    assert used == providers.uris  # both providers took writes
    providers.wait_converged(20)
    (stored, truth), other = (counter_and_truth(server, providers, SHARED)
                              for server in (first, second))  # fmt: skip
    assert (stored, truth) == other  # the providers agree
    assert truth == 1 + HOSTS * THREADS * EACH
    assert stored <= truth  # lost reservations at most, never one counted twice

    with apps[0].app_context():
        recount_domain(get_directory(), SHARED)
    providers.wait_converged(20)
    for server in (first, second):
        assert counter_and_truth(server, providers, SHARED) == (truth, truth)
