"""Run the benchmark suite: `python -m bench [--quick]` or `python bench/run.py [--quick]`.

Starts a durable embedded slapd in a temporary directory, loads the big domains
offline with `slapadd -q`, starts the API under `gunicorn --preload`, then
measures the API and a raw ldap3 client doing the same LDAP work, taking turns
(ABBA), in the same run, against the same slapd, with the same client
parallelism. Prints a table; a full run also writes it into docs/performance.md.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"  # noqa: A001

from bench import bulk  # noqa: E402
from bench import policy  # noqa: E402
from bench import replicas  # noqa: E402
from bench import report  # noqa: E402
from bench import scenarios  # noqa: E402
from bench.server import REPO  # noqa: E402
from bench.server import Environment  # noqa: E402

SMALL, BIG, BULK, POLICY = "small.bench", "big.bench", "bulk.bench", "policy.bench"
# Deleted in the order API, raw, raw, API (bench.bulk.delete_domain).
DEL_API = ("del-api-1.bench", "del-api-2.bench")
DEL_RAW = ("del-raw-1.bench", "del-raw-2.bench")


# Each step and the bulk-loaded domains it needs.
STEPS = {
    "login": (),
    "get user": (SMALL,),
    "first page": (SMALL, BIG),
    "export": (BIG,),
    "create user": (),
    "bulk update": (BULK,),
    "delete domain": (*DEL_API, *DEL_RAW),
    "policy": (POLICY,),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (about 1.5 minutes); no report file"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gthread worker (default 1)"
    )
    parser.add_argument(
        "--clients", type=int, default=4, help="client threads, on both sides (default 4)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="write the table into this file (default: docs/performance.md on a full run)",
    )
    parser.add_argument("--no-report", action="store_true", help="only print the table")
    parser.add_argument(
        "--txn",
        action="store_true",
        help="also measure create with [ldap] transactions = yes (crashes slapd 2.5.13)",
    )
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="only measure create and get on two replicating providers against one slapd",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=STEPS,
        help="run only this step (repeatable); only its domains are loaded",
    )
    parser.add_argument(
        "--iredapd-url",
        default="",
        help="iRedAPD's database for the policy step (default: a SQLite file in the work dir)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the data here (default: a temp dir)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run everything; return the exit status (0 even when a target is missed)."""
    args = parse(argv)
    sizes = scenarios.QUICK if args.quick else scenarios.FULL
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="iredapi-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.replicas:
        return run_replicas(args, argv, sizes, workdir)
    api_config = {"JOBS_SYNC_LIMIT": 100} if args.quick else {}
    if args.iredapd_url:
        api_config["IREDAPD_URL"] = args.iredapd_url
    selected = args.only or list(STEPS)
    env = Environment(workdir, args.workers, args.threads, api_config)
    rows: list[scenarios.Row] = []
    started = time.perf_counter()
    try:
        env.start_slapd()
        sized = {SMALL: sizes.small, BIG: sizes.big, BULK: sizes.bulk, POLICY: sizes.policy}
        sized |= {domain: sizes.delete for domain in (*DEL_API, *DEL_RAW)}
        domains = {d: sized[d] for step in selected for d in STEPS[step]}
        loaded = env.load(domains) if domains else 0.0
        print(f"slapadd -q loaded {sum(domains.values()):,} users in {loaded:.1f} s", flush=True)
        env.create_admin()
        url = env.start_api()
        bench = scenarios.Bench(env, url, args.clients, sizes)
        steps = [
            ("login", lambda: [scenarios.login(bench)]),
            ("get user", lambda: list(scenarios.get_user(bench, SMALL))),
            ("first page", lambda: scenarios.first_page(bench, SMALL, BIG)),
            ("export", lambda: scenarios.export(bench, BIG)),
            ("create user", lambda: [scenarios.create_user(bench)]),
            ("bulk update", lambda: [bulk.bulk_update(bench, BULK)]),
            ("delete domain", lambda: [bulk.delete_domain(bench, DEL_API, DEL_RAW)]),
            ("policy", lambda: [policy.set_throttles(bench, POLICY, sizes.policy),
                                *policy.greylisting_all(bench, sizes.greylisting)]),
        ]  # fmt: skip
        for name, step in steps:
            if name not in selected:
                continue
            print(f"... {name}", flush=True)
            rows += step()
        if args.txn:
            print("... create user, [ldap] transactions = yes", flush=True)
            env.stop_api()
            bench = scenarios.Bench(env, env.start_api(LDAP_TRANSACTIONS=True), args.clients, sizes)
            rows.append(
                scenarios.create_user(bench, "create user, [ldap] transactions = yes", "-txn")
            )
    finally:
        env.stop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    setup = {
        "slapd setup": "embedded, durable commits (no dbnosync), back-mdb",
        "API": f"gunicorn --preload, gthread, {args.workers} workers x {args.threads} threads, no access log",
        "Clients": f"{args.clients} threads on each side (requests.Session / own bound ldap3 connection)",
        "Sizes": ", ".join(f"{k} {v:,}" for k, v in vars(sizes).items()),
        "Load": f"slapadd -q of {sum(domains.values()):,} users: {loaded:.1f} s",
        "Run time": f"{time.perf_counter() - started:.0f} s",
    }
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    section = report.render(rows, setup, command.strip())
    print()
    print(section)
    target = args.report or (None if args.quick else REPO / "docs" / "performance.md")
    if target is not None and not args.no_report:
        report.write(target, section)
        print(f"\nwritten to {target}")
    return 0


def run_replicas(
    args: argparse.Namespace, argv: list[str] | None, sizes: scenarios.Sizes, workdir: Path
) -> int:
    """`--replicas`: the comparison of bench/replicas.py alone; printed (and written with --report)."""
    started = time.perf_counter()
    try:
        rows = replicas.compare(workdir, args.workers, args.threads, args.clients, sizes)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    setup = {
        "slapd setup": "embedded, durable commits, back-mdb; two providers: syncrepl "
        "multi-provider (refreshAndPersist), the API given both URIs",
        "API": f"gunicorn --preload, gthread, {args.workers} workers x {args.threads} threads",
        "Clients": f"{args.clients} threads on each side",
        "Sizes": f"create {sizes.create:,}, get {sizes.get:,}",
        "Run time": f"{time.perf_counter() - started:.0f} s",
    }
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    section = report.render(rows, setup, command.strip(), replicas.COLUMNS)
    print()
    print(section)
    if args.report is not None and not args.no_report:
        report.write(args.report, section)
        print(f"\nwritten to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
