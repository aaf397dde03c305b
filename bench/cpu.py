"""Where the CPU goes: `python -m bench.cpu [--count N]`.

Runs get user and create user as the benchmark does (durable slapd, the API under
gunicorn --preload, 4 gthread workers x 1 thread, 4 client threads on each side) and prints the CPU
milliseconds each operation costs in the API workers, in slapd and in the client
process (user + system, from /proc/<pid>/stat), for the API and for raw ldap3.
Then the ceiling of the HTTP stack itself: an empty WSGI app under the same gunicorn
and the same requests client. Timings never decide a test; docs/performance.md
quotes these figures.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from ldap3 import BASE

if __package__ in (None, ""):  # `python bench/cpu.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"  # noqa: A001

from bench.clients import api_session  # noqa: E402
from bench.clients import expect  # noqa: E402
from bench.clients import ldap_connection  # noqa: E402
from bench.clients import run_parallel  # noqa: E402
from bench.ldif import user_attributes  # noqa: E402
from bench.ldif import user_mail  # noqa: E402
from bench.server import Environment  # noqa: E402
from bench.server import children_of  # noqa: E402
from bench.server import wait_for_http  # noqa: E402
from iredapi_ldap.embedded.slapd import free_port  # noqa: E402
from iredapi_ldap.ldap import DNs  # noqa: E402
from iredapi_ldap.models.users.view import USER_READ_ATTRIBUTES  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CLIENTS = 4
EMPTY_APP = """def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
"""


def cpu_seconds(pid: int) -> float:
    """Return a process's user + system CPU time in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(label: str, count: int, workers: list[int], slapd: int | None,
            setup: Callable[[], Any], operation: Callable[[Any, int], None]) -> float:  # fmt: skip
    """Run the operation `count` times on CLIENTS threads; print CPU ms per operation."""
    before = [cpu_seconds(pid) for pid in workers]
    slapd_before = cpu_seconds(slapd) if slapd else 0.0
    client_before = sum(os.times()[:2])
    timing = run_parallel(count, CLIENTS, setup, operation)
    worker_ms = (sum(cpu_seconds(pid) for pid in workers) - sum(before)) / count * 1000
    slapd_ms = ((cpu_seconds(slapd) - slapd_before) / count * 1000) if slapd else 0.0
    client_ms = (sum(os.times()[:2]) - client_before) / count * 1000
    print(f"| {label} | {timing.rate:,.0f}/s | {worker_ms:.2f} | {slapd_ms:.2f} | {client_ms:.2f} "
          f"| {worker_ms + slapd_ms + client_ms:.2f} |", flush=True)  # fmt: skip
    return timing.rate


def ldap_work(env: Environment, count: int) -> None:
    """GET and POST /api/user against raw search and add, with per-process CPU."""
    dn = DNs(env.creds.suffix)
    url = env.start_api()
    picks = [random.Random(i).randrange(1000) for i in range(count)]
    attributes = sorted({*USER_READ_ATTRIBUTES, "objectClass"})

    def api_get(session: requests.Session, i: int) -> None:
        expect(session.get(f"{url}/user/{user_mail('cpu.bench', picks[i % count])}"), 200)

    def raw_get(conn: Any, i: int) -> None:
        conn.search(
            dn.user(user_mail("cpu.bench", picks[i % count])),
            "(objectClass=*)",
            BASE,
            attributes=attributes,
        )

    run_parallel(1000, CLIENTS, lambda: api_session(url), api_get)  # warm every pooled connection
    # Only now: gunicorn answers /api/health as soon as the first worker is up.
    workers, slapd = env.worker_pids(), env.slapd._proc.pid
    api = measure("GET /api/user", count, workers, slapd, lambda: api_session(url), api_get)
    raw = measure("raw base search", count, [], slapd, lambda: ldap_connection(env.creds), raw_get)
    print(f"\nget user ratio: {api / raw:.2f}\n")

    creates = max(count // 4, 100)
    admin = api_session(url)
    for domain in ("api-cpu.bench", "raw-cpu.bench"):
        expect(admin.post(f"{url}/domain/{domain}", data={"name": domain}), 201)
    expect(admin.post(f"{url}/user/warmup@api-cpu.bench",
                      data={"password_hash": env.password_hash, "name": "W"}), 201)  # fmt: skip
    entries = [(dn.user(user_mail("raw-cpu.bench", i)),
                user_attributes(user_mail("raw-cpu.bench", i), env.password_hash, f"Bench User {i}"))
               for i in range(creates)]  # fmt: skip

    def api_create(session: requests.Session, i: int) -> None:
        data = {"password_hash": env.password_hash, "name": f"Bench User {i}"}
        expect(session.post(f"{url}/user/{user_mail('api-cpu.bench', i)}", data=data), 201)

    def raw_add(conn: Any, i: int) -> None:
        conn.add(entries[i][0], attributes=entries[i][1])

    api = measure("POST /api/user", creates, workers, slapd, lambda: api_session(url), api_create)
    raw = measure("raw add", creates, [], slapd, lambda: ldap_connection(env.creds), raw_add)
    print(f"\ncreate user ratio: {api / raw:.2f}\n")


def http_ceiling(workdir: Path, count: int) -> None:
    """An empty WSGI app under the benchmark's gunicorn and client: the HTTP stack alone."""
    (workdir / "empty_app.py").write_text(EMPTY_APP)
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "1",
               "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "empty_app:app"]  # fmt: skip
    server = subprocess.Popen(command, cwd=workdir, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, server)

        def get(session: requests.Session, i: int) -> None:
            expect(session.get(url), 200)

        run_parallel(500, CLIENTS, requests.Session, get)
        workers = children_of(server.pid)
        measure("empty WSGI app (HTTP stack only)", count, workers, None, requests.Session, get)
    finally:
        server.terminate()
        server.wait()


def main(argv: list[str] | None = None) -> int:
    """Measure; print a Markdown table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.cpu", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--count", type=int, default=5000, help="GETs per side (creates: a quarter)"
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="iredapi-cpu-"))
    env = Environment(workdir, 4, 1, {})
    print("CPU milliseconds per operation (user + system):\n")
    print("| Operation | rate | API workers | slapd | client | total |")
    print("|---|---|---|---|---|---|")
    try:
        env.start_slapd()
        env.load({"cpu.bench": 1000})
        env.create_admin()
        ldap_work(env, args.count)
        http_ceiling(workdir, args.count)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
