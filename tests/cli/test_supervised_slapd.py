"""`serve` keeps its embedded slapd running: restarted after SIGKILL under load, or serve exits 1.

Clients create users through a real `serve` with several workers while its slapd is
killed (SIGKILL) twice: each time the service answers again within 5 s, and every
create that was answered 201 is in the directory afterwards. A slapd that cannot be
started again (its database destroyed) makes `serve` exit non-zero.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import requests
from ldap3 import Connection
from ldap3 import Server

from tests.helpers import PASSWORD
from tests.helpers import SERVE_ADMIN
from tests.helpers import SERVE_PASSWORD
from tests.helpers import Served

DOMAIN = "supervised.test"
WORKERS, CLIENTS = 3, 4
RESUME_SECONDS = 5


def kill_slapd(run_dir: Path) -> None:
    """SIGKILL the slapd serving run_dir (no clean shutdown)."""
    pid = int((run_dir / "slapd.pid").read_text().split()[0])
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone


def session(base: str) -> requests.Session:
    """Return a session logged in as serve's first admin."""
    client = requests.Session()
    credentials = {"username": SERVE_ADMIN, "password": SERVE_PASSWORD}
    assert client.post(f"{base}/login", data=credentials, timeout=30).status_code == 200
    return client


class Creator:
    """Create users one after the other until stopped; remember (sent, done, status, mail)."""

    def __init__(self, base: str, index: int) -> None:
        self.base, self.index = base, index
        self.session = session(base)
        self.calls: list[tuple[float, float, int, str]] = []

    def run(self, stop: threading.Event) -> None:
        serial = 0
        while not stop.is_set():
            serial += 1
            mail = f"c{self.index}n{serial}@{DOMAIN}"
            sent = time.monotonic()
            try:
                status = self.session.post(f"{self.base}/user/{mail}",
                                           data={"password": PASSWORD}, timeout=15).status_code  # fmt: skip
            except requests.RequestException:
                status = 0
            self.calls.append((sent, time.monotonic(), status, mail))


def users_in_directory(data: Path) -> set[str]:
    """Return the addresses of the domain's users, read as rootdn from the embedded slapd."""
    creds = json.loads((data / "slapd" / "credentials.json").read_text())
    conn = Connection(Server(creds["uri"]), creds["root_dn"], creds["root_password"],
                      auto_bind=True)  # fmt: skip
    try:
        found = conn.extend.standard.paged_search(
            f"ou=Users,domainName={DOMAIN},o=domains,{creds['suffix']}", "(objectClass=mailUser)",
            attributes=["mail"], paged_size=500, generator=True)  # fmt: skip
        return {
            str(item["attributes"]["mail"][0]) for item in found if item["type"] == "searchResEntry"
        }
    finally:
        conn.unbind()


def test_a_killed_slapd_is_restarted_under_load(tmp_path):
    data = tmp_path / "var"
    server = Served(data, "--admin-email", SERVE_ADMIN, "--admin-password", SERVE_PASSWORD,
                    workers=WORKERS)  # fmt: skip
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        assert session(server.base).post(f"{server.base}/domain/{DOMAIN}").status_code == 201
        creators = [Creator(server.base, index) for index in range(CLIENTS)]
        threads = [threading.Thread(target=c.run, args=(stop,)) for c in creators]
        for thread in threads:
            thread.start()
        resumed_after = []
        for _kill in range(2):
            time.sleep(1.5)
            killed = time.monotonic()
            kill_slapd(data / "slapd")
            while True:
                answered = [done for c in creators for sent, done, status, _ in list(c.calls)
                            if sent > killed and status == 201]  # fmt: skip
                if answered:
                    resumed_after.append(min(answered) - killed)
                    break
                assert time.monotonic() - killed < 30, "no create succeeded after the kill"
                time.sleep(0.05)
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert all(seconds < RESUME_SECONDS for seconds in resumed_after), resumed_after
        statuses = [status for c in creators for _, _, status, _ in c.calls]
        assert any(status == 503 for status in statuses), "the kills hit no request"
        acknowledged = {mail for c in creators for _, _, status, mail in c.calls if status == 201}
        assert len(acknowledged) > 20
        assert acknowledged <= users_in_directory(data)
        assert server.proc.poll() is None
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    output = server.output()
    assert output.count("slapd exited unexpectedly; restarting it") == 2, output
    assert output.count("slapd restarted after") == 2, output


def test_serve_exits_non_zero_when_slapd_cannot_be_restarted(tmp_path):
    data = tmp_path / "var"
    server = Served(data)
    try:
        # Destroy both LMDB meta pages: slapd can no longer open the database.
        with open(data / "slapd" / "db" / "data.mdb", "r+b") as database:
            database.write(b"\0" * 8192)
        kill_slapd(data / "slapd")
        assert server.proc.wait(timeout=60) == 1
    finally:
        if server.proc.poll() is None:
            server.stop()
    output = server.output()
    assert "slapd did not start (try 5 of 5)" in output, output
    assert "MDB_INVALID" in output
    assert "giving up: slapd did not start 5 times in a row" in output
    assert "Error: the embedded directory failed" in output
