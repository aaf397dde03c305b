"""What the tests' private database servers share: a loopback port, the account, the process."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on HOST that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_account(
    user: str, missing: type[RuntimeError], install_hint: str
) -> pwd.struct_passwd | None:
    """Return the account a server must run as: root may not run it, others run it as themselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise missing(
            f"running as root and there is no {user!r} system user; run `{install_hint}`"
        ) from None


class ServerProcess:
    """A server run as a child process in a temp dir of its own, removed at stop()."""

    log_name = "server.log"  # below root
    stop_signal = signal.SIGTERM
    stop_timeout = 15

    def __init__(self, account: pwd.struct_passwd | None) -> None:
        self.account = account
        self.root: Path | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _environment(self) -> dict[str, str]:
        return {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def _run_as(self) -> dict[str, Any]:
        """Return the subprocess options that run a command as the server's account."""
        options: dict[str, Any] = {"env": self._environment(), "cwd": self.root}
        if self.account is not None:
            options.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return options

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server log."""
        if self.root is None or not (self.root / self.log_name).exists():
            return ""
        text = (self.root / self.log_name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Shut the server down and remove its directory."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(self.stop_signal)
            try:
                self._proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
