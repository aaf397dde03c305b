"""The system under test: a durable embedded slapd, loaded offline, and the API under gunicorn."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from iredapi_ldap import config as cfg
from iredapi_ldap.embedded.ldaptools import _search_path
from iredapi_ldap.embedded.providers import EmbeddedProviders
from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.embedded.slapd import free_port
from iredapi_ldap.ldap import DNs
from iredapi_ldap.passwords import hash_password

from .ldif import PASSWORD
from .ldif import domain_ldif

REPO = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "bench@admin.bench"
ADMIN_PASSWORD = "Bench-Admin-123"


class Environment:
    """slapd (durable commits) + the API under `gunicorn --preload`, in one work directory."""

    def __init__(
        self,
        workdir: Path,
        workers: int,
        threads: int,
        api_config: dict[str, Any],
        replicas: int = 1,
    ) -> None:
        self.workdir = workdir
        # iRedAPD's database: the embedded default's SQLite file unless --iredapd-url names one.
        self.iredapd_url = (
            api_config.get("IREDAPD_URL") or f"sqlite:///{workdir / 'iredapd.sqlite'}"
        )
        self.workers = workers
        self.threads = threads
        self.api_config = api_config
        # Two or more: providers replicating each other, the API given every URI.
        self.slapd: EmbeddedSlapd | EmbeddedProviders = (
            EmbeddedProviders(workdir / "ldap", count=replicas, durable=True)
            if replicas > 1
            else EmbeddedSlapd(workdir / "ldap", durable=True)
        )
        self.creds = None
        self.password_hash = hash_password(PASSWORD, "SSHA512")[0]
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.port = 0

    # -- slapd -----------------------------------------------------------------

    def start_slapd(self) -> None:
        """Start slapd (creating the base tree)."""
        self.creds = self.slapd.start()

    def load(self, domains: dict[str, int]) -> float:
        """Stop slapd, `slapadd -q` the domains with their users, start it again; return seconds."""
        ldif = self.workdir / "bench.ldif"
        dn = DNs(self.creds.suffix)
        with open(ldif, "w") as out:
            for domain, users in domains.items():
                out.writelines(domain_ldif(dn, domain, users, self.password_hash))
        started = time.perf_counter()
        self.slapd.stop()
        slapadd = shutil.which("slapadd", path=os.pathsep.join(_search_path()))
        if slapadd is None:
            raise RuntimeError("slapadd not found (apt-get install slapd)")
        subprocess.run([slapadd, "-q", "-f", str(self.slapd.conf_path), "-l", str(ldif)],
                       check=True, capture_output=True)  # fmt: skip
        self.creds = self.slapd.start()
        ldif.unlink()
        return time.perf_counter() - started

    # -- the API ---------------------------------------------------------------

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        """Return the API's configuration."""
        uris = self.slapd.uris if isinstance(self.slapd, EmbeddedProviders) else [self.creds.uri]
        values = {
            "LDAP_URI": " ".join(uris),
            "LDAP_BIND_DN": self.creds.vmailadmin_dn,
            "LDAP_BIND_PASSWORD": self.creds.vmailadmin_password,
            "LDAP_SUFFIX": self.creds.suffix,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "SQL_URL": f"sqlite:///{self.workdir / 'store.sqlite'}",
            "LDAP_COUNTER_LOCK_DIR": str(self.workdir / "counter-locks"),
            "IREDAPD_URL": self.iredapd_url,
            "LOG_LEVEL": "WARNING",
        }
        values.update(self.api_config)
        values.update(overrides)
        return values

    def create_admin(self) -> None:
        """Create the global admin the clients log in as."""
        from iredapi_ldap import create_app
        from iredapi_ldap import sqlstore
        from iredapi_ldap.ldap import get_directory
        from iredapi_ldap.ldap import get_pool
        from iredapi_ldap.models.admins.create import create_global_admin

        app = create_app(self.config_values())
        with app.app_context():
            create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
        get_pool(app).close_all()
        sqlstore.dispose(app)

    def start_api(self, **overrides: Any) -> str:
        """Start gunicorn with --preload and wait for /api/health; return the /api URL."""
        ini = self.workdir / "config.ini"
        cfg.write_ini(ini, self.config_values(**overrides))
        self.port = free_port("127.0.0.1")
        command = [
            sys.executable, "-m", "gunicorn", "--preload",
            "--workers", str(self.workers), "--threads", str(self.threads),
            # gthread even with one thread: it keeps connections alive, as clients expect.
            "--worker-class", "gthread",
            "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
            "--timeout", "600", "--graceful-timeout", "5", "wsgi:app",
        ]  # fmt: skip
        env = {**os.environ, cfg.ENV_VAR: str(ini)}
        self.gunicorn = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
        url = f"http://127.0.0.1:{self.port}/api"
        wait_for_http(f"{url}/health", self.gunicorn)
        return url

    def stop_api(self) -> None:
        """Stop gunicorn."""
        proc, self.gunicorn = self.gunicorn, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (children of the master)."""
        if self.gunicorn is None:
            return []
        return children_of(self.gunicorn.pid)

    def stop(self) -> None:
        """Stop everything."""
        self.stop_api()
        self.slapd.stop()


def wait_for_http(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Wait until `url` answers 200; fail if the server process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


def children_of(parent: int) -> list[int]:
    """Return the pids whose parent is `parent` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def rss_bytes(pid: int) -> int:
    """Return a process's resident set size in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakRss:
    """Sample the RSS of some processes every 10 ms while in use; `growth` is the largest rise."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.baseline = {pid: rss_bytes(pid) for pid in pids}
        self.peak = dict(self.baseline)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        """Return the largest peak-minus-baseline over the processes."""
        return max(self.peak[pid] - self.baseline[pid] for pid in self.pids)


def slapd_connections(port: int, states: Iterable[str] = ("established",)) -> int:
    """Count TCP connections to slapd's port in the given states (`ss`)."""
    total = 0
    for state in states:
        result = subprocess.run(
            ["ss", "-Htn", "state", state, "dport", "=", f":{port}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        total += len([line for line in result.stdout.splitlines() if line.strip()])
    return total
