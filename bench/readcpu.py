"""CPU of one user read in the client, per LDAP client: `python -m bench.readcpu [--count N]`.

One base search for the attributes GET /api/user asks for, repeated on one bound connection
against the embedded slapd, by three clients: stock ldap3 (SYNC strategy, pyasn1 encoding
and ldap3's decoder), the pool's FastConnection (ldap/fastpath.py: requests encoded and
entries decoded by ldap/ber.py) and python-ldap (libldap, C), when it is importable. It
prints the client's CPU milliseconds per read (time.process_time), the best and the median
of several rounds taken in turn, so that a busy machine slows every client alike. Timings
never decide a test; docs/development.md ("Why the BER fast path") quotes these figures.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldap3 import BASE
from ldap3 import NONE
from ldap3 import Server

if __package__ in (None, ""):  # `python bench/readcpu.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"  # noqa: A001

from bench.clients import ldap_connection  # noqa: E402
from bench.ldif import user_mail  # noqa: E402
from bench.server import Environment  # noqa: E402
from iredapi_ldap.ldap import DNs  # noqa: E402
from iredapi_ldap.ldap.fastpath import FastConnection  # noqa: E402
from iredapi_ldap.models.users.view import USER_READ_ATTRIBUTES  # noqa: E402

DOMAIN = "read.bench"
PYTHON_LDAP_MISSING = (
    "python-ldap not installed (pip install python-ldap; needs libldap-dev libsasl2-dev)"
)

Read = Callable[[], dict[str, list[bytes]]]


def stock_ldap3(creds: Any, dn: str, attributes: list[str]) -> Read:
    """Return a read by ldap3 as shipped (bench/clients.py's connection)."""
    conn = ldap_connection(creds)

    def read() -> dict[str, list[bytes]]:
        conn.search(dn, "(objectClass=*)", BASE, attributes=attributes)
        return conn.response[0]["raw_attributes"]

    return read


def fast_connection(creds: Any, dn: str, attributes: list[str]) -> Read:
    """Return a read by the pool's FastConnection."""
    conn = FastConnection(Server(creds.uri, get_info=NONE), creds.vmailadmin_dn,
                          creds.vmailadmin_password, auto_bind=True, raise_exceptions=True)  # fmt: skip

    def read() -> dict[str, list[bytes]]:
        conn.search(dn, "(objectClass=*)", BASE, attributes=attributes)
        return conn.response[0]["raw_attributes"]

    return read


def python_ldap(creds: Any, dn: str, attributes: list[str]) -> Read | None:
    """Return a read by python-ldap, or None when it is not installed."""
    try:
        import ldap  # type: ignore[import-not-found]
    except ImportError:
        return None
    conn = ldap.initialize(creds.uri)
    conn.simple_bind_s(creds.vmailadmin_dn, creds.vmailadmin_password)

    def read() -> dict[str, list[bytes]]:
        return conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", attributes)[0][1]

    return read


def cpu_ms(read: Read, count: int) -> float:
    """Return the client's CPU milliseconds per read over `count` reads."""
    started = time.process_time()
    for _ in range(count):
        read()
    return (time.process_time() - started) / count * 1000


def main(argv: list[str] | None = None) -> int:
    """Measure; print a Markdown table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.readcpu", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--count", type=int, default=2000, help="reads per round and client")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, the clients in turn")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="iredapi-readcpu-"))
    env = Environment(workdir, 1, 1, {})
    try:
        env.start_slapd()
        env.load({DOMAIN: 1})
        dn = DNs(env.creds.suffix).user(user_mail(DOMAIN, 0))
        attributes = sorted({*USER_READ_ATTRIBUTES, "objectClass"})
        clients: dict[str, Read | None] = {
            "stock ldap3": stock_ldap3(env.creds, dn, attributes),
            "FastConnection (ldap/fastpath.py)": fast_connection(env.creds, dn, attributes),
            "python-ldap (libldap)": python_ldap(env.creds, dn, attributes),
        }
        reads = {label: read for label, read in clients.items() if read is not None}
        answers = {
            label: {k.lower(): v for k, v in read().items() if v} for label, read in reads.items()
        }
        if len({repr(sorted(answer.items())) for answer in answers.values()}) != 1:
            raise RuntimeError("the clients read different values")
        print(f"One user read ({len(next(iter(answers.values())))} attributes), client CPU ms:\n")
        print("| Client | best | median |")
        print("|---|---|---|")
        for read in reads.values():
            cpu_ms(read, max(args.count // 10, 10))  # warm up
        samples: dict[str, list[float]] = {label: [] for label in reads}
        for _ in range(args.rounds):
            for label, read in reads.items():
                samples[label].append(cpu_ms(read, args.count))
        for label, values in samples.items():
            print(f"| {label} | {min(values):.3f} | {statistics.median(values):.3f} |")
        if clients["python-ldap (libldap)"] is None:
            print(f"| {PYTHON_LDAP_MISSING} | - | - |")
    finally:
        env.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
