"""Listing a large Postfix queue: GET /api/mailqueue (streamed) against `postqueue -j` alone.

    python -m bench.mailqueue [--messages 10000] [--workdir DIR]

A private Postfix instance (iredapi_ldap.embedded.postfix) under the work directory is
filled with sendmail (in parallel), then every message is put on hold (`postsuper -h ALL`)
so the queue stands still. The API runs under gunicorn (bench/server.py) with its helper
acting on that instance without sudo, as on the embedded default. In one run: the time of
the API's whole listing against `postqueue -j` read to the end, and the worker's memory
growth during the listing (peak RSS minus RSS before). Targets: the API at least half as
fast (>= 0.5x) and memory bounded (< 64 MB whatever the queue size).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from iredapi_ldap.embedded.postfix import PrivatePostfix
from iredapi_ldap.errors import AlreadyExists
from iredapi_ldap.mailhost import roothelper

from .clients import api_session
from .clients import expect
from .scenarios import MB
from .server import Environment
from .server import PeakRss

INJECTORS = 8


def fill(postfix: PrivatePostfix, count: int) -> float:
    """Submit `count` messages with sendmail, then hold them all; return seconds."""
    started = time.perf_counter()

    def send(n: int) -> None:
        result = postfix.run(
            "sendmail", "-f", "bench@origin.test", f"rcpt{n}@far.test",
            input=f"Subject: bench {n}\n\nbody {n}\n", stdin=None,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(result.stderr)

    with ThreadPoolExecutor(INJECTORS) as pool:
        list(pool.map(send, range(count)))
    deadline = time.monotonic() + 600
    while len(queued(postfix)) < count or moving(postfix):
        if time.monotonic() > deadline:
            raise RuntimeError("the queue did not settle")
        time.sleep(0.5)
    postfix.run("postsuper", "-h", "ALL")
    return time.perf_counter() - started


def queued(postfix: PrivatePostfix) -> list[str]:
    """Return the lines of `postqueue -j`."""
    return postfix.run("postqueue", "-j").stdout.splitlines()


def moving(postfix: PrivatePostfix) -> bool:
    """Tell whether messages are still on their way into the queue."""
    return any('"maildrop"' in line or '"incoming"' in line for line in queued(postfix))


def helper_config(path: Path, postfix: PrivatePostfix) -> Path:
    """Write the helper's config allowing the instance."""
    path.write_text(
        f"[postfix]\nconfig_directories = {postfix.config_dir}\n[services]\nbackend = none\n"
    )
    path.chmod(0o644)
    return path


def measure(env: Environment, url: str, postfix: PrivatePostfix, count: int) -> list[str]:
    """Return the result lines of one API listing and one `postqueue -j`."""
    session = api_session(url)
    with PeakRss(env.worker_pids()) as memory:
        started = time.perf_counter()
        with session.get(f"{url}/mailqueue", stream=True) as response:
            expect(response, 200)
            size = sum(len(chunk) for chunk in response.iter_content(65536))
        api_seconds = time.perf_counter() - started
    session.close()
    growth = memory.growth

    started = time.perf_counter()
    raw = subprocess.run(
        [postfix.tool("postqueue"), "-c", str(postfix.config_dir), "-j"],
        capture_output=True, check=True,
    )  # fmt: skip
    raw_seconds = time.perf_counter() - started
    lines = len(raw.stdout.splitlines())
    if lines != count:
        raise RuntimeError(f"postqueue -j listed {lines}, expected {count}")
    speed = raw_seconds / api_seconds
    return [
        f"list {count:,} queued messages: API {api_seconds:.2f} s ({size / MB:.1f} MB answer), "
        f"postqueue -j {raw_seconds:.2f} s -> {speed:.2f}x (target >= 0.5x): "
        + ("PASS" if speed >= 0.5 else "MISS"),
        f"worker memory growth while listing: {growth / MB:.1f} MB (target < 64 MB): "
        + ("PASS" if growth < 64 * MB else "MISS"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the scenario once and print its two result lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.mailqueue", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="iredapi-bench-queue-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # the postfix user must reach the instance's data directory
    postfix = PrivatePostfix(workdir / "postfix")
    env = Environment(workdir, 1, 4, {})
    try:
        postfix.start()
        if len(queued(postfix)) != args.messages:  # a --workdir of an earlier run is reused
            postfix.run("postsuper", "-d", "ALL")
            print(f"filled {args.messages:,} messages in {fill(postfix, args.messages):.1f} s")
        env.start_slapd()
        try:
            env.create_admin()
        except AlreadyExists:  # a --workdir of an earlier run
            pass
        mailhost = {
            "MAILHOST_HELPER_COMMAND": shlex.join([sys.executable, "-I", roothelper.__file__]),
            "MAILHOST_SUDO_COMMAND": "",
            "MAILHOST_HELPER_CONFIG": str(helper_config(workdir / "helper.ini", postfix)),
            "MAILHOST_POSTFIX_CONFIG_DIR": str(postfix.config_dir),
            "MAILHOST_SERVICE_BACKEND": "none",
        }
        url = env.start_api(**mailhost)
        for line in measure(env, url, postfix, args.messages):
            print(line)
    finally:
        env.stop()
        postfix.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
