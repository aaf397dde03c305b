"""A private Postfix instance: its own config and queue directories, no listener on port 25.

The recipe of mailhost-ops.md §1.7. Debian's master.cf and postfix-files are copied into
`<root>/etc`, main.cf is written from scratch, and every tool is run with `-c <root>/etc`
(`sendmail -C`), so neither /etc/postfix nor a running system Postfix is read or touched.
The `smtp/inet` service is commented out and chroot is off; outbound mail goes to
`relayhost` (by default a loopback port where nothing listens, so every message is
deferred at once and stays in the queue). Starting it needs root: Postfix's master starts
as root and drops to the `postfix` user, which must own `data/`. The master runs as a
child of the starting process and stops with it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from .process import spawn_logged

INSTALL_COMMAND = "apt-get install postfix"
SBIN = Path("/usr/sbin")
TOOLS = ("postfix", "postconf", "postqueue", "postsuper", "sendmail", "postkick")
SYSTEM_CONFIG = Path("/etc/postfix")
COPIED = ("master.cf", "postfix-files", "postfix-files.d", "dynamicmaps.cf", "dynamicmaps.cf.d")
# Nothing listens on the discard port of loopback: connections are refused at once.
REFUSING_RELAY = "[127.0.0.1]:9"
HOSTNAME = "mail.private-postfix.invalid"


class PostfixNotInstalled(RuntimeError):
    """The Postfix tools or Debian's master.cf are missing."""


class PostfixStartError(RuntimeError):
    """The private instance could not be configured or did not start."""


def check_postfix_installed() -> None:
    """Raise PostfixNotInstalled naming what is missing and the apt command."""
    missing = [str(SBIN / name) for name in TOOLS if not os.access(SBIN / name, os.X_OK)]
    if not (SYSTEM_CONFIG / "master.cf").is_file():
        missing.append(str(SYSTEM_CONFIG / "master.cf"))
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        missing.append("the postfix system user")
    if missing:
        raise PostfixNotInstalled(
            f"Postfix is not installed ({', '.join(missing)} missing); "
            f"install it with: {INSTALL_COMMAND}"
        )


class PrivatePostfix:
    """One Postfix instance below `root`: etc/ (config), spool/ (queue), data/, maillog."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        relayhost: str = REFUSING_RELAY,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "spool"
        self.data_dir = self.root / "data"
        self.maillog = self.root / "maillog"
        self.relayhost = relayhost
        self.extra = dict(extra or {})
        self._proc: subprocess.Popen[bytes] | None = None

    def tool(self, name: str) -> str:
        """Return the path of a Postfix tool."""
        return str(SBIN / name)

    def run(self, *args: str, timeout: float = 60, **options) -> subprocess.CompletedProcess[str]:
        """Run a Postfix tool with `-c <config_dir>` (sendmail takes -C); no terminal."""
        name, *rest = args
        flag = "-C" if name == "sendmail" else "-c"
        options.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(
            [self.tool(name), flag, str(self.config_dir), *rest],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_environment(),
            check=False,
            **options,
        )

    def configure(self) -> None:
        """Create the directories and write main.cf and master.cf (idempotent).

        The postfix user must be able to reach `root` (a 0700 parent makes master fail).
        """
        check_postfix_installed()
        postfix = pwd.getpwnam("postfix")
        for path in (self.config_dir, self.queue_dir, self.data_dir):
            path.mkdir(parents=True, exist_ok=True)
        os.chown(self.data_dir, postfix.pw_uid, postfix.pw_gid)
        for name in COPIED:
            source, target = SYSTEM_CONFIG / name, self.config_dir / name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            elif source.is_file():
                shutil.copyfile(source, target)
        (self.config_dir / "main.cf").write_text("")
        settings = {
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "meta_directory": str(self.config_dir),
            "shlib_directory": "/usr/lib/postfix",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mydestination": "",
            "myhostname": HOSTNAME,
            "mydomain": "private-postfix.invalid",
            "compatibility_level": "3.6",
            "relayhost": self.relayhost,
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": f"/var, /dev/stdout, {self.root}",
            # Deferred mail stays put until someone flushes it: tests see a stable queue.
            "queue_run_delay": "3600s",
            "minimal_backoff_time": "3600s",
            "maximal_backoff_time": "7200s",
            "smtp_connect_timeout": "5s",
            **self.extra,
        }
        self._postconf("-e", *(f"{key}={value}" for key, value in settings.items()))
        self._postconf("-M#", "smtp/inet")
        self._postconf("-F", "*/*/chroot = n")

    def _postconf(self, *args: str) -> None:
        result = self.run("postconf", *args)
        if result.returncode != 0:
            raise PostfixStartError(f"postconf {' '.join(args)}: {result.stderr.strip()}")

    @property
    def pid_file(self) -> Path:
        """Return the master's pid file."""
        return self.queue_dir / "pid" / "master.pid"

    def running(self) -> bool:
        """Tell whether this instance's master runs."""
        return self.run("postfix", "status").returncode == 0

    def ready(self) -> bool:
        """Tell whether the master serves: the pid file is locked and showq answers."""
        if not self.running():
            return False
        listed = self.run("postqueue", "-j")  # "Mail system is down" while showq is not up
        return listed.returncode == 0 and "down" not in listed.stderr

    def start(self, timeout: float = 30) -> PrivatePostfix:
        """Configure and start the instance; PostfixStartError with the reason if it fails.

        The master runs in the foreground (`master -d`) as our child with a death signal,
        as the embedded slapd does, so it never outlives the process that started it.
        """
        self.configure()
        if self.running():
            return self
        checked = self.run("postfix", "check")  # also creates the queue directories
        if checked.returncode != 0:
            raise PostfixStartError(f"postfix check failed: {checked.stderr.strip()}")
        daemons = self.run("postconf", "-h", "daemon_directory").stdout.strip()
        # Without syslog or a terminal Postfix reports start-up errors only in maillog.
        self._proc = spawn_logged(
            [str(Path(daemons, "master")), "-d", "-c", str(self.config_dir)],
            self.root / "master.log",
        )
        deadline = time.monotonic() + timeout
        while self._proc.poll() is None and time.monotonic() < deadline:
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise PostfixStartError(f"the Postfix master did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the instance (mail in the queue stays there)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        elif self.config_dir.is_dir() and self.running():
            self.run("postfix", "stop")

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the instance's maillog and of the master's own output."""
        text = ""
        for path in (self.maillog, self.root / "master.log"):
            if path.is_file():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text


def _environment() -> dict[str, str]:
    """A clean environment: MAIL_CONFIG or a foreign PATH must not steer the tools."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C"}
