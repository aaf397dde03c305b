"""A private Postfix instance for the tests, and helpers to fill and read its queue.

One instance runs per test session (`postfix_instance` in conftest.py); `mail_queue` empties
its queue before each test. Nothing listens on port 25 and the system Postfix is never
touched (iredapi_ldap.embedded.postfix). Mail to STALL_DOMAIN goes to a loopback listener
that accepts and never greets, so such a message stays in the `active` queue; everything
else is refused at once and lands in `deferred`.
"""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from iredapi_ldap.embedded.postfix import PostfixNotInstalled
from iredapi_ldap.embedded.postfix import PrivatePostfix
from iredapi_ldap.embedded.postfix import check_postfix_installed
from iredapi_ldap.mailhost import roothelper

STALL_DOMAIN = "stall.test"
SENDER = "sender@origin.test"
# The helper as root runs it: this one file, in isolated mode, with no project import.
HELPER_COMMAND = [sys.executable, "-I", roothelper.__file__]


class Staller:
    """A loopback SMTP listener that accepts connections and says nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def drop(self) -> None:
        """Close the connections held so far (their deliveries end instead of waiting)."""
        while self.held:
            self.held.pop().close()

    def close(self) -> None:
        """Stop listening and drop every held connection."""
        self.sock.close()
        self.drop()


class TestPostfix(PrivatePostfix):
    """The private instance plus what tests do to it."""

    __test__ = False

    def queue(self) -> list[dict]:
        """Return `postqueue -j` as a list, read independently of the code under test."""
        result = self.run("postqueue", "-j")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def by_id(self) -> dict[str, dict]:
        """Return {queue_id: message} of the queue."""
        return {message["queue_id"]: message for message in self.queue()}

    def inject(
        self, count: int = 1, recipient: str = "rcpt{n}@far.test", sender: str = SENDER
    ) -> None:
        """Submit `count` messages with `sendmail -C` (no wait)."""
        for n in range(count):
            result = self.run(
                "sendmail", "-f", sender, recipient.format(n=n),
                input=f"Subject: test {n}\n\nbody {n}\n", stdin=None,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr

    def settled(self, expected: int, timeout: float = 20) -> dict[str, dict]:
        """Wait until `expected` messages sit still (nothing in maildrop or incoming)."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.by_id()
            moving = [m for m in messages.values() if m["queue_name"] in ("maildrop", "incoming")]
            waiting = [
                m
                for m in messages.values()
                if m["queue_name"] == "active"
                and not m["recipients"][0]["address"].endswith("@" + STALL_DOMAIN)
            ]
            if len(messages) == expected and not moving and not waiting:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"queue did not settle at {expected}: {messages}")
            time.sleep(0.1)

    def fill(self, deferred: int = 0, hold: int = 0, active: int = 0) -> dict[str, dict]:
        """Put messages into deferred, hold and (stalled) active; return the settled queue."""
        self.inject(deferred + hold)
        self.inject(active, recipient="rcpt{n}@" + STALL_DOMAIN)
        messages = self.settled(deferred + hold + active)
        to_hold = sorted(i for i, m in messages.items() if m["queue_name"] == "deferred")[:hold]
        for queue_id in to_hold:
            assert self.run("postsuper", "-h", queue_id).returncode == 0
        return self.settled(deferred + hold + active)

    def remove(self) -> None:
        """Stop the instance and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    staller: Staller | None = None

    def purge(self) -> None:
        """Delete everything, maildrop included, and end stalled deliveries."""
        for args in (("-d", "ALL"), ("-d", "ALL", "maildrop")):
            result = self.run("postsuper", *args)
            assert result.returncode == 0, result.stderr
        if self.staller is not None:  # free the destination's delivery slots
            self.staller.drop()
        assert self.queue() == []


def start_instance() -> tuple[TestPostfix, Staller]:
    """Start the session's instance; fail (never skip) when Postfix is missing.

    It lives in a directory of its own below /tmp, not in pytest's 0700 temp tree: the
    postfix user must reach its data and queue directories.
    """
    try:
        check_postfix_installed()
    except PostfixNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="iredapi-postfix-"))
    root.chmod(0o755)
    staller = Staller()
    instance = TestPostfix(
        root,
        extra={"transport_maps": f"inline:{{{STALL_DOMAIN}=smtp:[127.0.0.1]:{staller.port}}}"},
    )
    instance.staller = staller
    instance.start()
    return instance, staller


def helper_config(path: Path, postfix: TestPostfix, backend: str = "command", **sections) -> Path:
    """Write a helper config (root-owned, 0644) allowing the instance; return its path."""
    lines = [
        "[postfix]",
        f"config_directories = {postfix.config_dir}",
        "[services]",
        f"backend = {backend}",
        f"amavis_dropin = {path.parent / 'amavis-conf.d' / '60-iredapi-ldap'}",
        "timeout = 10",
    ]
    for name, values in sections.items():
        lines.append(f"[command:{name}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def app_mailhost_config(path: Path, postfix: TestPostfix, **sections) -> dict[str, str]:
    """Return the app's [mailhost] values running the helper on the instance, without sudo.

    As on the embedded default: the API user owns the instance, so no sudo is needed.
    """
    config = helper_config(path, postfix, **sections)
    return {
        "MAILHOST_HELPER_COMMAND": shlex.join(HELPER_COMMAND),
        "MAILHOST_SUDO_COMMAND": "",
        "MAILHOST_HELPER_CONFIG": str(config),
        "MAILHOST_POSTFIX_CONFIG_DIR": str(postfix.config_dir),
        "MAILHOST_SERVICE_BACKEND": "command",
    }
