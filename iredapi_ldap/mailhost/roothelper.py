#!/usr/bin/python3 -I
"""The mail host helper: the only code of iredapi-ldap that runs as root, with fixed verbs.

The API reaches it through `sudo -n` and a sudoers drop-in that allows exactly the verbs
below (`iredapi-ldap sudoers` writes it). It imports nothing but the standard library, so
root runs this one file, which `iredapi-ldap sudoers --install-helper` copies to a
root-owned path. Every argument is re-validated here, tools are run with argv lists (never
a shell) and a clean environment, and the answer is JSON on stdout.

Usage:  mailhost-helper [--config FILE] [-c POSTFIX_CONFIG_DIR] VERB [ARGUMENT]

  --config FILE   this helper's own INI file (default /etc/iredapi-ldap/mailhost-helper.ini;
                  a missing default means built-in defaults). It must belong to root (or to
                  the user running the helper) and be writable by nobody else.
  -c DIR          a Postfix config directory; allowed only when the helper's config lists it
                  in [postfix] config_directories. Without it the tools use their default.

Verbs (ID is a Postfix queue id, QUEUE one of hold, deferred, incoming, active):
  queue-list                  every message, one JSON object per line, then a trailer line
  queue-delete ID             delete one message (after checking it is in the queue)
  queue-delete-all            delete every message in deferred and hold
  queue-delete-all-forced     delete every message in every queue
  queue-delete-queue QUEUE    delete every message of one queue (hold = the frozen ones)
  queue-hold ID               put one message on hold ("freeze")
  queue-release ID            take one message off hold
  queue-reship ID             deliver one message now, keeping its id
  queue-requeue ID            requeue one message (it gets a new id)
  queue-requeue-all           requeue every message (they get new ids)
  queue-flush                 attempt delivery of every queued message now
  service-status SERVICE      clamav, spamassassin or amavis: on, off or changing
  service-on SERVICE          start clamav or amavis / let Amavisd scan (clamav, spamassassin)
  service-off SERVICE         stop clamav / let Amavisd skip a check (amavis cannot be stopped)

Exit codes (sysexits): 0 done; 64 bad usage or argument (the JSON names the field);
66 no such message; 69 a tool, the Postfix instance or a service is not available (named);
70 a tool failed; 75 the service is changing state, try again; 78 this helper's config is
missing, unsafe or invalid. Every answer is a JSON object with "ok" (true or false); a
failure has "error", "detail" and, for a bad argument, "field". queue-list prints its
messages first, one per line, and the answer object last. No verb reads a secret yet; a
verb that needs one will read it from stdin, never from the arguments.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import time

DEFAULT_CONFIG = "/etc/iredapi-ldap/mailhost-helper.ini"
DEFAULT_DROPIN = "/etc/amavis/conf.d/60-iredapi-ldap"
ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C"}
INSTALL_POSTFIX = "apt-get install postfix"

EX_OK = 0
EX_USAGE = 64  # unknown verb, bad or refused argument
EX_NOINPUT = 66  # no such message
EX_UNAVAILABLE = 69  # a tool, the instance or a service is missing
EX_SOFTWARE = 70  # a tool failed
EX_TEMPFAIL = 75  # the service is changing state
EX_CONFIG = 78  # this helper's config is missing, unsafe or invalid
ERRORS = {
    EX_USAGE: "usage",
    EX_NOINPUT: "not_found",
    EX_UNAVAILABLE: "unavailable",
    EX_SOFTWARE: "failed",
    EX_TEMPFAIL: "busy",
    EX_CONFIG: "config",
}

MAX_ARGS = 6
MAX_ARG_LENGTH = 255
# Postfix queue ids (mail_queue.c): the short form is 5 hex digits of microseconds and the
# inode in hex; the long form (enable_long_queue_ids) is seconds and microseconds in a
# 52-letter alphabet without vowels, "z", then the inode in the same alphabet without "z".
# Neither can be "ALL", start with "-" or hold anything but letters and digits.
MAX_QUEUE_ID = 32
SHORT_ID = re.compile(r"[0-9A-F]{6,}")
_B52 = "0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z"
_B51 = "0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y"
LONG_ID = re.compile(rf"[{_B52}]{{10,}}z[{_B51}]+")
QUEUES = ("hold", "deferred", "incoming", "active")
LISTED_QUEUES = ("maildrop", *QUEUES)
SERVICES = ("clamav", "spamassassin", "amavis")

# Amavisd's documented switches; 60-* is read after iRedMail's 50-user, so it wins. A name
# without a dot: Debian's amavisd reads conf.d with run-parts, which skips dotted names.
BYPASS = {"clamav": "@bypass_virus_checks_maps", "spamassassin": "@bypass_spam_checks_maps"}
BYPASS_LINE = re.compile(r"^\s*(@bypass_(?:virus|spam)_checks_maps)\s*=\s*\(\s*1\s*\)\s*;")
# systemd units per service (Debian 12, iRedMail): clamd is socket-activated, so both stop.
UNITS = {
    "clamav": ("clamav-daemon.socket", "clamav-daemon.service"),
    "spamassassin": (),  # runs inside Amavisd on iRedMail; spamd.service stays disabled
    "amavis": ("amavis.service",),
}
ON, OFF, CHANGING = "on", "off", "changing"
BUSY_STATES = ("activating", "deactivating", "reloading", "refreshing")


class Failure(Exception):
    """End the helper with an exit code and a JSON error."""

    def __init__(self, code: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.field = code, detail, field


# -- arguments ----------------------------------------------------------------------


def check_queue_id(value: str) -> str:
    """Return a Postfix queue id, or raise Failure(EX_USAGE) naming the field "id"."""
    if (
        not isinstance(value, str)
        or not 6 <= len(value) <= MAX_QUEUE_ID
        or not (SHORT_ID.fullmatch(value) or LONG_ID.fullmatch(value))
    ):
        raise Failure(EX_USAGE, "Not a Postfix queue id (6-32 letters and digits).", "id")
    return value


def _choice(field: str, choices: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in choices:
            raise Failure(EX_USAGE, f"{field} must be one of: {', '.join(choices)}.", field)
        return value

    return check


check_queue = _choice("queue", QUEUES)
check_service = _choice("service", SERVICES)


def _plain(value: str) -> str:
    """Refuse control characters, non-ASCII and overlong arguments before anything else."""
    if len(value) > MAX_ARG_LENGTH or not value.isascii() or not value.isprintable():
        raise Failure(EX_USAGE, "An argument is too long or has characters that are refused.")
    return value


# -- config -------------------------------------------------------------------------


class Config:
    """The helper's own settings, from a file only root (or the running user) can change."""

    def __init__(self, path: str | None) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        explicit = path is not None
        self.path = path or DEFAULT_CONFIG
        if explicit or os.path.exists(self.path):
            self._check_owner(self.path)
            try:
                with open(self.path, encoding="utf-8") as handle:
                    parser.read_file(handle)
            except (OSError, UnicodeError, configparser.Error) as exc:
                detail = f"Cannot read the helper config {self.path}: {exc}"
                raise Failure(EX_CONFIG, detail) from exc
        self.parser = parser
        self.postfix_dirs = parser.get("postfix", "config_directories", fallback="").split()
        self.sbin = parser.get("postfix", "command_directory", fallback="/usr/sbin")
        self.backend = parser.get("services", "backend", fallback="systemd")
        self.dropin = parser.get("services", "amavis_dropin", fallback=DEFAULT_DROPIN)
        self.timeout = parser.getfloat("services", "timeout", fallback=60.0)
        if self.backend not in ("systemd", "command", "none"):
            raise Failure(
                EX_CONFIG, f"{self.path}: [services] backend must be systemd, command or none."
            )

    @staticmethod
    def _check_owner(path: str) -> None:
        """Refuse a config (or its directory) that anyone but root or us could change."""
        for item in (path, os.path.dirname(os.path.abspath(path))):
            try:
                info = os.stat(item)
            except OSError as exc:
                raise Failure(EX_CONFIG, f"Cannot read the helper config {path}: {exc}") from exc
            if info.st_uid not in (0, os.geteuid()) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise Failure(
                    EX_CONFIG, f"{item} must belong to root and be writable by nobody else."
                )

    def command(self, service: str) -> dict[str, str]:
        """Return the [command:<service>] section of the command backend."""
        section = f"command:{service}"
        if not self.parser.has_section(section):
            raise Failure(
                EX_UNAVAILABLE, f"{service} is not installed here (no [{section}] in {self.path})."
            )
        return dict(self.parser.items(section))


# -- running tools ------------------------------------------------------------------


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a tool (argv list, no shell, clean environment, no stdin); map a missing one to 69."""
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=ENVIRONMENT,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise Failure(EX_UNAVAILABLE, f"{argv[0]} is not installed.") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Failure(EX_SOFTWARE, f"{os.path.basename(argv[0])} failed: {exc}") from exc


class Postfix:
    """The Postfix tools of one instance (the default, or an allow-listed -c directory)."""

    def __init__(self, config: Config, config_dir: str | None) -> None:
        self.sbin = config.sbin
        self.flags: list[str] = []
        if config_dir is not None:
            if config_dir not in config.postfix_dirs or os.path.normpath(config_dir) != config_dir:
                raise Failure(
                    EX_CONFIG,
                    f"The Postfix config directory {config_dir} is not "
                    f"listed in [postfix] config_directories of {config.path}.",
                )
            self.flags = ["-c", config_dir]
        main_cf = os.path.join(config_dir or "/etc/postfix", "main.cf")
        if not os.path.isfile(os.path.join(self.sbin, "postsuper")):
            raise Failure(
                EX_UNAVAILABLE,
                f"Postfix is not installed ({self.sbin}/postsuper "
                f"missing); install it with: {INSTALL_POSTFIX}",
            )
        if not os.path.isfile(main_cf):
            raise Failure(EX_UNAVAILABLE, f"Postfix is not configured here ({main_cf} missing).")

    def argv(self, tool: str, *args: str) -> list[str]:
        """Return the argv of a Postfix tool for this instance."""
        return [os.path.join(self.sbin, tool), *self.flags, *args]

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a tool; a fatal error or a non-zero exit is 70 (failed)."""
        result = run(self.argv(tool, *args))
        fatal = [line for line in result.stderr.splitlines() if ": fatal: " in line]
        if fatal or result.returncode not in (0,):
            raise Failure(EX_SOFTWARE, f"{tool} failed: {(fatal or [result.stderr.strip()])[0]}")
        return result

    def messages(self):
        """Yield each message of `postqueue -j` once, as a checked dict of known members."""
        argv = self.argv("postqueue", "-j")
        with tempfile.TemporaryFile("w+") as errors:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    stdin=subprocess.DEVNULL,
                    env=ENVIRONMENT,
                    text=True,
                )
            except OSError as exc:
                raise Failure(EX_UNAVAILABLE, f"{argv[0]} cannot be run: {exc}") from exc
            seen: set[str] = set()
            try:
                for line in proc.stdout:
                    message = _message(line)
                    if message is not None and message["queue_id"] not in seen:
                        seen.add(message["queue_id"])
                        yield message
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.stdout.close()
                code = proc.wait()
            errors.seek(0)
            fatal = [line.strip() for line in errors if ": fatal: " in line]
            if code != 0 or fatal:
                raise Failure(
                    EX_UNAVAILABLE,
                    f"postqueue cannot list the queue: {(fatal or [f'exit {code}'])[0]}",
                )

    def find(self, queue_id: str) -> str:
        """Return the queue a message is in; Failure(EX_NOINPUT) when it is not queued."""
        for message in self.messages():
            if message["queue_id"] == queue_id:
                return message["queue_name"]
        raise Failure(EX_NOINPUT, f"No message {queue_id} in the mail queue.", "id")

    def postsuper(self, *args: str) -> tuple[int, list[str]]:
        """Run postsuper; return (the count on its last line, its output lines)."""
        lines = self.run("postsuper", *args).stderr.splitlines()
        count = 0
        for line in lines:
            match = re.search(r": [A-Z][a-z -]+: (\d+) message", line)
            if match:
                count += int(match.group(1))
        return count, lines

    def wake_pickup(self) -> list[str]:
        """Wake the pickup daemon so requeued mail is processed now, not within 60 s."""
        result = run(self.argv("postkick", "public", "pickup", "W"))
        if result.returncode != 0:  # Postfix is down: pickup takes the mail when it starts
            return [line for line in result.stderr.splitlines() if line.strip()]
        return []


def _message(line: str) -> dict | None:
    """Keep the members of one `postqueue -j` line that the API knows, checked."""
    try:
        raw = json.loads(line)
        queue_id, queue = raw["queue_id"], raw["queue_name"]
        check_queue_id(queue_id)
        if queue not in LISTED_QUEUES:
            return None
        recipients = [
            {
                "address": str(r["address"]),
                **({"delay_reason": str(r["delay_reason"])} if "delay_reason" in r else {}),
            }
            for r in raw.get("recipients", [])
        ]
        return {
            "queue_name": queue,
            "queue_id": queue_id,
            "arrival_time": int(raw.get("arrival_time", 0)),
            "message_size": int(raw.get("message_size", 0)),
            "forced_expire": bool(raw.get("forced_expire", False)),
            "sender": str(raw.get("sender", "")),
            "recipients": recipients,
        }
    except (ValueError, KeyError, TypeError, AttributeError, Failure):
        return None


# -- queue verbs --------------------------------------------------------------------


def queue_list(postfix: Postfix) -> dict:
    """Print every message as one JSON line; answer with how many."""
    count = 0
    out = sys.stdout
    for message in postfix.messages():
        out.write(json.dumps(message, separators=(",", ":")) + "\n")
        count += 1
    return {"listed": count}


def queue_delete(postfix: Postfix, queue_id: str) -> dict:
    """Delete one message from the queue it was found in."""
    queue = postfix.find(queue_id)
    deleted, lines = postfix.postsuper("-d", queue_id, queue)
    if not deleted:
        raise Failure(EX_NOINPUT, f"No message {queue_id} in the mail queue.", "id")
    return {"id": queue_id, "queue": queue, "deleted": deleted, "output": lines}


def _delete_queues(postfix: Postfix, *queues: str) -> dict:
    deleted, output = 0, []
    for queue in queues:
        count, lines = postfix.postsuper("-d", "ALL", *([queue] if queue else []))
        deleted += count
        output += lines
    return {
        "queues": [q for q in queues if q] or list(QUEUES),
        "deleted": deleted,
        "output": output,
    }


def queue_delete_all(postfix: Postfix) -> dict:
    """Delete deferred and held mail; mail being delivered or just arrived stays."""
    return _delete_queues(postfix, "deferred", "hold")


def queue_delete_all_forced(postfix: Postfix) -> dict:
    """Delete every message of every queue."""
    return _delete_queues(postfix, "")


def queue_delete_queue(postfix: Postfix, queue: str) -> dict:
    """Delete every message of one queue."""
    return _delete_queues(postfix, queue)


def queue_hold(postfix: Postfix, queue_id: str) -> dict:
    """Put one message on hold; a message already held stays as it is."""
    queue = postfix.find(queue_id)
    count, lines = (0, []) if queue == "hold" else postfix.postsuper("-h", queue_id)
    return {"id": queue_id, "queue": queue, "held": count, "output": lines}


def queue_release(postfix: Postfix, queue_id: str) -> dict:
    """Take one message off hold (into deferred); other messages are left alone."""
    queue = postfix.find(queue_id)
    count, lines = postfix.postsuper("-H", queue_id) if queue == "hold" else (0, [])
    return {"id": queue_id, "queue": queue, "released": count, "output": lines}


def queue_reship(postfix: Postfix, queue_id: str) -> dict:
    """Deliver one message now under its id: release it if held, then `postqueue -i`."""
    queue = postfix.find(queue_id)
    lines: list[str] = []
    if queue == "hold":
        lines += postfix.postsuper("-H", queue_id)[1]
    if queue in ("hold", "deferred"):
        postfix.run("postqueue", "-i", queue_id)
        lines.append(f"postqueue: {queue_id}: delivery attempt requested")
    return {
        "id": queue_id,
        "queue": queue,
        "reshipped": queue in ("hold", "deferred"),
        "output": lines,
    }


def queue_requeue(postfix: Postfix, queue_id: str) -> dict:
    """Requeue one message through pickup and cleanup; it gets a new queue id."""
    queue = postfix.find(queue_id)
    count, lines = postfix.postsuper("-r", queue_id)
    lines += postfix.wake_pickup()
    return {"id": queue_id, "queue": queue, "requeued": count, "output": lines}


def queue_requeue_all(postfix: Postfix) -> dict:
    """Requeue every message; they all get new queue ids."""
    count, lines = postfix.postsuper("-r", "ALL")
    lines += postfix.wake_pickup()
    return {"requeued": count, "output": lines}


def queue_flush(postfix: Postfix) -> dict:
    """Ask for a delivery attempt of every queued message now."""
    postfix.run("postqueue", "-f")
    return {"flushed": True}


# -- services -----------------------------------------------------------------------


def read_dropin(path: str) -> set[str]:
    """Return the bypass switches (`@bypass_*_checks_maps = (1);`) the drop-in sets."""
    try:
        with open(path, encoding="utf-8") as handle:
            return {m.group(1) for m in map(BYPASS_LINE.match, handle) if m}
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise Failure(EX_UNAVAILABLE, f"Cannot read {path}: {exc}") from exc


def write_dropin(path: str, switches: set[str]) -> None:
    """Replace the drop-in atomically (temp file, fsync, rename), world-readable for amavis."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise Failure(EX_UNAVAILABLE, f"Amavisd is not installed here ({directory} missing).")
    text = "# Written by the iredapi-ldap mail host helper; changes here are overwritten.\n"
    text += "".join(f"{name} = (1);\n" for name in sorted(switches)) + "1;  # end of file\n"
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".iredapi-ldap-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Systemd:
    """Units through systemctl; needs systemd as PID 1 (else 69, never "off")."""

    def __init__(self, config: Config) -> None:
        if not os.path.isdir("/run/systemd/system"):
            raise Failure(
                EX_UNAVAILABLE,
                "systemd is not running on this host; set "
                "[mailhost] service_backend = command (or none).",
            )
        self.timeout = config.timeout

    def state(self, service: str) -> dict[str, dict[str, str]]:
        """Return {unit: {load, active, sub, enabled}} from `systemctl show`."""
        units = UNITS[service]
        if not units:
            return {}
        result = run(
            [
                "systemctl",
                "show",
                "--property=Id,LoadState,ActiveState,SubState,UnitFileState",
                "--",
                *units,
            ],
            self.timeout,
        )
        if result.returncode != 0:
            raise Failure(
                EX_UNAVAILABLE,
                f"systemctl cannot read {', '.join(units)}: {result.stderr.strip()[:200]}",
            )
        states, current = {}, {}
        for line in (*result.stdout.splitlines(), ""):
            if not line.strip():
                if current.get("Id"):
                    states[current["Id"]] = {
                        "load": current.get("LoadState", ""),
                        "active": current.get("ActiveState", ""),
                        "sub": current.get("SubState", ""),
                        "enabled": current.get("UnitFileState", ""),
                    }
                current = {}
                continue
            key, _, value = line.partition("=")
            current[key] = value
        for unit in units:
            if states.get(unit, {}).get("load") != "loaded":
                raise Failure(EX_UNAVAILABLE, f"{unit} is not installed on this host.")
        return states

    def _systemctl(self, *args: str) -> None:
        result = run(["systemctl", *args], self.timeout)
        if result.returncode != 0:
            raise Failure(
                EX_SOFTWARE, f"systemctl {' '.join(args)} failed: {result.stderr.strip()[:200]}"
            )

    def switch(self, service: str, on: bool) -> None:
        """Enable and start, or disable and stop, every unit of a service."""
        if UNITS[service]:
            self._systemctl("enable" if on else "disable", "--now", "--", *UNITS[service])

    def restart(self, service: str) -> None:
        """Restart a running service (Amavisd re-reads its config and scanner choice)."""
        self.state(service)  # 69 when it is not installed
        self._systemctl("try-restart", "--", *UNITS[service])


class Commands:
    """Services started and stopped by configured commands and watched through a pidfile.

    `[command:<service>]` has `start` (argv, no shell), `pidfile`, and optionally `stop`
    (default: SIGTERM to the pid). While a start or stop runs the helper holds an
    exclusive lock on `<pidfile>.lock`, so a second request sees "changing" (75).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.timeout = config.timeout

    def _spec(self, service: str) -> dict[str, str]:
        spec = self.config.command(service)
        for key in ("start", "pidfile"):
            if not spec.get(key):
                raise Failure(
                    EX_CONFIG, f"[command:{service}] {key} is missing in {self.config.path}."
                )
        return spec

    def _pid(self, pidfile: str) -> int | None:
        try:
            with open(pidfile, encoding="ascii") as handle:
                pid = int(handle.read().split()[0])
        except FileNotFoundError:
            return None
        except (ValueError, IndexError):
            return None
        except OSError as exc:
            raise Failure(EX_UNAVAILABLE, f"Cannot read {pidfile}: {exc}") from exc
        return pid if self._alive(pid) else None

    @contextlib.contextmanager
    def _lock(self, pidfile: str, exclusive: bool):
        try:
            handle = open(pidfile + ".lock", "a+")
        except OSError as exc:
            raise Failure(EX_UNAVAILABLE, f"Cannot open {pidfile}.lock: {exc}") from exc
        with handle:
            try:
                fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def state(self, service: str) -> dict[str, dict[str, str]]:
        """Return {service: {active, pid}} read from the pidfile and the lock."""
        if service == "spamassassin":
            return {}
        spec = self._spec(service)
        with self._lock(spec["pidfile"], exclusive=False) as free:
            if not free:
                return {service: {"active": "changing", "sub": "", "pid": ""}}
            pid = self._pid(spec["pidfile"])
        return {
            service: {
                "active": "active" if pid else "inactive",
                "sub": "running" if pid else "dead",
                "pid": str(pid or ""),
            }
        }

    def switch(self, service: str, on: bool) -> None:
        """Start or stop the service and wait until the pidfile says it happened."""
        if service == "spamassassin":
            return
        spec = self._spec(service)
        pidfile = spec["pidfile"]
        with self._lock(pidfile, exclusive=True) as free:
            if not free:
                raise Failure(EX_TEMPFAIL, f"{service} is changing state; try again.", "service")
            pid = self._pid(pidfile)
            if on and not pid:
                self._run(spec["start"], service)
                self._wait(lambda: self._pid(pidfile), service, "start")
            elif not on and pid:
                if spec.get("stop"):
                    self._run(spec["stop"], service)
                else:
                    os.kill(pid, signal.SIGTERM)
                self._wait(lambda: not self._alive(pid), service, "stop")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(pidfile)

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie child of ours counts as gone
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def _run(self, command: str, service: str) -> None:
        argv = shlex.split(command)
        if not argv or not os.path.isabs(argv[0]) or not os.access(argv[0], os.X_OK):
            raise Failure(
                EX_UNAVAILABLE,
                f"{service} is not installed here ({argv[:1]} is not an executable absolute path).",
            )
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=ENVIRONMENT,
                timeout=self.timeout,
                check=False,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Failure(EX_SOFTWARE, f"{service}: {exc}") from exc
        if result.returncode != 0:
            raise Failure(EX_SOFTWARE, f"{service}: {argv[0]} exited with {result.returncode}.")

    def _wait(self, done, service: str, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > deadline:
                raise Failure(EX_SOFTWARE, f"{service} did not {what} within {self.timeout:g} s.")
            time.sleep(0.05)

    def restart(self, service: str) -> None:
        """Stop and start a running service."""
        if self.state(service)[service]["active"] == "active":
            self.switch(service, False)
            self.switch(service, True)


def _backend(config: Config):
    if config.backend == "none":
        raise Failure(
            EX_UNAVAILABLE,
            "Service control is turned off on this host ([mailhost] service_backend = none).",
        )
    return Systemd(config) if config.backend == "systemd" else Commands(config)


def _status(backend, config: Config, service: str) -> dict:
    units = backend.state(service)
    checks = None
    if service in BYPASS:
        bypassed = BYPASS[service] in read_dropin(config.dropin)
        checks = "bypassed" if bypassed else "enabled"
    if service == "spamassassin":  # it runs inside Amavisd
        units = {**units, **backend.state("amavis")}
    actives = [unit["active"] for unit in units.values()]
    if any(state in BUSY_STATES or state == CHANGING for state in actives):
        status = CHANGING
    elif actives and all(state == "active" for state in actives) and checks != "bypassed":
        status = ON
    else:
        status = OFF
    answer = {"service": service, "status": status, "units": units}
    if checks:
        answer["amavis_checks"] = checks
    return answer


def service_status(config: Config, service: str) -> dict:
    """Report on, off or changing, with each unit's state and Amavisd's switch."""
    return _status(_backend(config), config, service)


def _switch(config: Config, service: str, on: bool) -> dict:
    backend = _backend(config)
    before = _status(backend, config, service)
    if before["status"] == CHANGING:
        raise Failure(EX_TEMPFAIL, f"{service} is changing state; try again.", "service")
    if service == "amavis":
        if not on:
            raise Failure(
                EX_USAGE,
                "Stopping Amavisd would defer all mail (Postfix's "
                "content_filter points at it); it is not offered.",
                "service",
            )
        backend.switch("amavis", True)
        return _status(backend, config, service)
    backend.switch(service, on)
    if service == "clamav" and not os.path.isdir(os.path.dirname(config.dropin)):
        return _status(backend, config, service)  # no Amavisd here: clamd alone is the switch
    switches = read_dropin(config.dropin)
    wanted = (switches - {BYPASS[service]}) if on else (switches | {BYPASS[service]})
    if wanted != switches or not os.path.exists(config.dropin):
        write_dropin(config.dropin, wanted)
        # Amavisd decides at start-up whether to load the scanner code: restart it.
        try:
            backend.restart("amavis")
        except Failure as failure:
            if failure.code != EX_UNAVAILABLE:  # not installed: nothing to restart
                raise
    return _status(backend, config, service)


def service_on(config: Config, service: str) -> dict:
    """Switch a service on (see the module docstring)."""
    return _switch(config, service, True)


def service_off(config: Config, service: str) -> dict:
    """Switch a service off (see the module docstring)."""
    return _switch(config, service, False)


# -- the verb table and main ----------------------------------------------------------

# verb -> (argument check or None, handler, needs Postfix). The sudoers rule is built from
# this table (iredapi_ldap.mailhost.helper.sudoers_rule), so it allows exactly these verbs.
VERBS = {
    "queue-list": (None, queue_list, True),
    "queue-delete": (check_queue_id, queue_delete, True),
    "queue-delete-all": (None, queue_delete_all, True),
    "queue-delete-all-forced": (None, queue_delete_all_forced, True),
    "queue-delete-queue": (check_queue, queue_delete_queue, True),
    "queue-hold": (check_queue_id, queue_hold, True),
    "queue-release": (check_queue_id, queue_release, True),
    "queue-reship": (check_queue_id, queue_reship, True),
    "queue-requeue": (check_queue_id, queue_requeue, True),
    "queue-requeue-all": (None, queue_requeue_all, True),
    "queue-flush": (None, queue_flush, True),
    "service-status": (check_service, service_status, False),
    "service-on": (check_service, service_on, False),
    "service-off": (check_service, service_off, False),
}
# The argument patterns for sudoers (POSIX ERE), per check.
ARGUMENT_PATTERNS = {
    check_queue_id: f"[0-9A-Za-z]{{6,{MAX_QUEUE_ID}}}",
    check_queue: "(" + "|".join(QUEUES) + ")",
    check_service: "(" + "|".join(SERVICES) + ")",
}


def parse(argv: list[str]) -> tuple[str | None, str | None, str, str | None]:
    """Split `[--config F] [-c DIR] VERB [ARG]` strictly; return (config, dir, verb, arg)."""
    if len(argv) > MAX_ARGS:
        raise Failure(EX_USAGE, "Too many arguments.")
    args = [_plain(arg) for arg in argv]
    config = postfix_dir = None
    if args[:1] == ["--config"] and len(args) > 1:
        config, args = args[1], args[2:]
    if args[:1] == ["-c"] and len(args) > 1:
        postfix_dir, args = args[1], args[2:]
    if not args or args[0] not in VERBS:
        raise Failure(EX_USAGE, f"Unknown verb; one of: {', '.join(VERBS)}.", "verb")
    verb, rest = args[0], args[1:]
    check = VERBS[verb][0]
    if len(rest) != (1 if check else 0):
        raise Failure(EX_USAGE, f"{verb} takes {'one argument' if check else 'no argument'}.")
    for value in (config, postfix_dir):
        if value is not None and not os.path.isabs(value):
            raise Failure(EX_USAGE, "--config and -c take absolute paths.")
    return config, postfix_dir, verb, check(rest[0]) if check else None


def main(argv: list[str] | None = None) -> int:
    """Run one verb; print its JSON answer; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        config_path, postfix_dir, verb, argument = parse(argv)
        config = Config(config_path)
        _check, handler, needs_postfix = VERBS[verb]
        target = Postfix(config, postfix_dir) if needs_postfix else config
        answer = handler(target, argument) if argument is not None else handler(target)
        code, answer = EX_OK, {"ok": True, "verb": verb, **answer}
    except Failure as failure:
        code = failure.code
        answer = {"ok": False, "error": ERRORS[code], "detail": failure.detail}
        if failure.field:
            answer["field"] = failure.field
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
