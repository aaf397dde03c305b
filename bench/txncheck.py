"""Does this slapd survive RFC 5805 transactions under load? `python -m bench.txncheck`.

Starts a throwaway slapd (the same build the embedded default uses), then runs,
on separate connections at once: transactions that increment a counter and add
an entry (as `[ldap] transactions = yes` does for a new user), plain searches,
and, unless --no-failures, transactions whose add fails (an existing entry).
Exit status 0 if slapd is still alive after --seconds, 1 if it died.

slapd 2.5.13 (Debian 12) dies within seconds: keep `[ldap] transactions = no`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/txncheck.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ldap3 import BASE  # noqa: E402
from ldap3 import MODIFY_INCREMENT  # noqa: E402
from ldap3 import NONE  # noqa: E402
from ldap3 import Connection  # noqa: E402
from ldap3 import Server  # noqa: E402
from ldap3.core import exceptions as lx  # noqa: E402

from iredapi_ldap.embedded.slapd import EmbeddedSlapd  # noqa: E402
from iredapi_ldap.ldap.txn import Transaction  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.txncheck", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-failures", action="store_true", help="only transactions that succeed")
    args = parser.parse_args(argv)
    slapd = EmbeddedSlapd(Path(tempfile.mkdtemp(prefix="iredapi-txncheck-")), durable=False)
    creds = slapd.start()
    stats = {"committed": 0, "failed": 0, "searches": 0, "errors": 0}
    stop = threading.Event()
    domain = f"domainName=txn.check,o=domains,{creds.suffix}"

    def connect() -> Connection:
        return Connection(Server(creds.uri, get_info=NONE), creds.vmailadmin_dn,
                          creds.vmailadmin_password, auto_bind=True, raise_exceptions=True)  # fmt: skip

    setup = connect()
    setup.add(domain, ["mailDomain"], {"domainName": "txn.check", "domainCurrentUserNumber": "0"})
    setup.add(f"ou=Users,{domain}", ["organizationalUnit"], {"ou": "Users"})
    setup.add(f"mail=taken@txn.check,ou=Users,{domain}", ["inetOrgPerson", "mailUser"],
              {"mail": "taken@txn.check", "uid": "taken", "sn": "t", "cn": "t"})  # fmt: skip
    setup.unbind()

    def writer(index: int, failing: bool) -> None:
        conn = connect()
        n = 0
        while not stop.is_set():
            n += 1
            mail = "taken@txn.check" if failing else f"u{index}x{n}@txn.check"
            txn = Transaction(conn)
            try:
                txn.start()
                txn.queue(
                    lambda c: conn.modify(
                        domain, {"domainCurrentUserNumber": [(MODIFY_INCREMENT, ["1"])]}, controls=c
                    )
                )
                txn.queue(lambda c, mail=mail: conn.add(f"mail={mail},ou=Users,{domain}", ["inetOrgPerson", "mailUser"],
                                                        {"mail": mail, "uid": mail, "sn": "t", "cn": "t"}, controls=c))  # fmt: skip
                txn.end()
                stats["committed"] += 1
            except lx.LDAPOperationResult:
                stats["failed"] += 1
            except lx.LDAPException:
                stats["errors"] += 1
                return

    def reader() -> None:
        conn = connect()
        while not stop.is_set():
            try:
                conn.search(domain, "(objectClass=*)", BASE, attributes=["domainCurrentUserNumber"])
                stats["searches"] += 1
            except lx.LDAPException:
                stats["errors"] += 1
                return

    threads = [
        threading.Thread(target=writer, args=(i, False)) for i in range(max(1, args.threads // 2))
    ]
    threads += [threading.Thread(target=reader) for _ in range(max(1, args.threads // 2))]
    if not args.no_failures:
        threads.append(threading.Thread(target=writer, args=(99, True)))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and slapd.running() and stats["errors"] == 0:
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    alive = slapd.running()
    slapd.stop()
    shutil.rmtree(slapd.data_dir, ignore_errors=True)
    print(f"committed {stats['committed']}, failed (expected) {stats['failed']}, searches {stats['searches']}, "
          f"connection errors {stats['errors']}; slapd {'alive' if alive else 'DIED'}")  # fmt: skip
    if not alive or stats["errors"]:
        print("This slapd is not safe with transactions: keep [ldap] transactions = no.")
        return 1
    print("No crash seen; [ldap] transactions = yes may be used with this slapd.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
