"""Counters equal the truth after concurrent creates and deletes through 4 workers, with faults.

8 clients create and delete users, aliases and lists (and change quotas) in a domain
without limits (counted behind) and one with limits (reserved), through a real
`serve` with 4 gunicorn workers, while slapd is killed (SIGKILL) and restarted twice
and one worker is killed (SIGKILL). Afterwards every counter must equal the
directory within the documented bound (docs/directory.md): failures are re-counted
when slapd answers again, a killed worker's lost deltas by the periodic re-count.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from iredapi_ldap import config as cfg
from iredapi_ldap.models import counters
from tests.helpers import FREE
from tests.helpers import LIMITED
from tests.helpers import PASSWORD
from tests.helpers import serve_config
from tests.helpers import start_clients
from tests.helpers import truth_and_counters

FLUSH_SECONDS, RECOUNT_SECONDS = 0.5, 3
CLIENTS, WORKERS = 8, 4
# The bound of docs/directory.md for these settings, plus room for a loaded test machine.
CONVERGENCE_SECONDS = RECOUNT_SECONDS + 1.2 * RECOUNT_SECONDS / 2 + FLUSH_SECONDS + 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Serve:
    """`iredapi-ldap serve --config` with several workers, in a child process."""

    def __init__(self, ini: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = {k: v for k, v in os.environ.items() if k != cfg.ENV_VAR}
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "iredapi_ldap.cli", "serve", "--config", str(ini),
                 "--listen", f"127.0.0.1:{self.port}", "--workers", str(WORKERS)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        self.log = log
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not come up:\n{log.read_text()}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def kill_slapd(slapd) -> None:
    """SIGKILL the slapd child (no clean shutdown) and reap it."""
    pid = int(slapd.pid_path.read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while slapd.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not slapd.running()


class Client:
    """One API client creating, changing and deleting its own accounts until stopped."""

    KINDS = ("user", "alias", "maillist")

    def __init__(self, session: requests.Session, url: str, index: int) -> None:
        self.session, self.url, self.index = session, url, index
        self.rng = random.Random(index)
        self.mine: list[tuple[str, str]] = []  # (kind, address)
        self.statuses: dict[int, int] = {}
        self.serial = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                status = self.step()
            except requests.RequestException:
                status = 0  # a worker killed under the request, or slapd's outage
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def step(self) -> int:
        choice = self.rng.random()
        if self.mine and choice < 0.3:
            kind, mail = self.mine[self.rng.randrange(len(self.mine))]
            response = self.session.delete(f"{self.url}/{kind}/{mail}", timeout=15)
            if response.status_code in (200, 404):
                self.mine.remove((kind, mail))
            return response.status_code
        users = [mail for kind, mail in self.mine if kind == "user"]
        if users and choice < 0.4:
            mail = self.rng.choice(users)
            data = {"quota": str(self.rng.randint(1, 4))}
            return self.session.put(f"{self.url}/user/{mail}", data=data, timeout=15).status_code
        self.serial += 1
        kind = self.KINDS[self.serial % 3]
        mail = f"c{self.index}n{self.serial}@{self.rng.choice((FREE, LIMITED))}"
        data = (
            {"password": PASSWORD, "quota": str(self.rng.randint(1, 3))} if kind == "user" else {}
        )
        response = self.session.post(f"{self.url}/{kind}/{mail}", data=data, timeout=15)
        if response.status_code in (201, 409):  # 409: created under an earlier, lost answer
            self.mine.append((kind, mail))
        return response.status_code


def test_counters_equal_the_truth_after_concurrent_work_and_faults(tmp_path, private_slapd):
    ini = serve_config(tmp_path, private_slapd, LDAP_COUNTER_FLUSH_SECONDS=FLUSH_SECONDS,
                       LDAP_COUNTER_RECOUNT_SECONDS=RECOUNT_SECONDS)  # fmt: skip
    server = Serve(ini, tmp_path / "serve.log")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        clients, threads = start_clients(server.url, Client, CLIENTS, stop)
        admin = clients[0].session  # logged in as the global admin too
        for pause in (1.5, 2.5):
            time.sleep(pause)
            kill_slapd(private_slapd)
            time.sleep(0.7)
            private_slapd.start()
        time.sleep(1.0)
        os.kill(server.workers()[0], signal.SIGKILL)  # its queued deltas are lost
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        statuses: dict[int, int] = {}
        for client in clients:
            for status, count in client.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        assert statuses.get(201, 0) > 50 and statuses.get(200, 0) > 10, statuses
        assert any(status >= 500 or status == 0 for status in statuses), statuses  # faults hit

        ended = time.monotonic()
        while True:
            state = truth_and_counters(private_slapd)
            if all(real == stored for real, stored in state.values()):
                break
            assert time.monotonic() - ended < CONVERGENCE_SECONDS, (state, statuses)
            time.sleep(0.2)
        for domain, (real, _stored) in state.items():
            body = admin.get(f"{server.url}/domain/{domain}").json()["_data"]
            assert (body["currentUsers"], body["currentQuotaSize"], body["currentAliases"],
                    body["currentLists"]) == (real[counters.USERS], real[counters.QUOTA],
                                              real[counters.ALIASES], real[counters.LISTS])  # fmt: skip
            listed = admin.get(f"{server.url}/users/{domain}?total_exact=yes").json()
            assert listed["total"] == real[counters.USERS]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
