"""Running the root helper from the API (`sudo -n <helper> <verb>`), and its sudoers rule.

The helper (`roothelper.py`) answers in JSON and with sysexits codes; this module turns
those into the API's errors: a bad argument is 400 naming the field, an unknown message
404, a service changing state 409, a missing sudo, helper, Postfix or service 503 naming
what is missing, anything else a logged 500 without internals.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .. import errors
from . import roothelper
from .mlmmj import MailHostError
from .mlmmj import MailHostUnavailable

log = logging.getLogger(__name__)

SUDO_INSTALL = "apt-get install sudo"
SUDOERS_SETUP = "iredapi-ldap sudoers --user <api user> --install-helper"
# Paths that go into a sudoers rule: nothing sudoers or a regular expression would read.
SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
FAILED = _l("The mail host helper failed; see the server log.")
# The helper's own fixed texts (it is stdlib only): translated here when it answers them.
HELPER_TEXTS = (
    _l("An argument is too long or has characters that are refused."),
    _l(
        "Stopping Amavisd would defer all mail (Postfix's content_filter points at it); "
        "it is not offered."
    ),
)


class Helper:
    """How the API runs the helper: the command, the sudo prefix and the fixed options."""

    def __init__(
        self,
        command: list[str],
        sudo: list[str],
        config_file: str = "",
        postfix_config_dir: str = "",
        timeout: float = 120.0,
    ) -> None:
        self.command = command
        self.sudo = sudo
        self.config_file = config_file
        self.postfix_config_dir = postfix_config_dir
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Helper:
        """Build from the app config ([mailhost] section)."""
        return cls(
            shlex.split(config["MAILHOST_HELPER_COMMAND"]),
            shlex.split(config["MAILHOST_SUDO_COMMAND"]),
            config["MAILHOST_HELPER_CONFIG"],
            config["MAILHOST_POSTFIX_CONFIG_DIR"],
            float(config["MAILHOST_HELPER_TIMEOUT"]),
        )

    def options(self, postfix: bool = True) -> list[str]:
        """Return the fixed options before the verb: --config and, for queue verbs, -c."""
        options = ["--config", self.config_file] if self.config_file else []
        if postfix and self.postfix_config_dir:
            options += ["-c", self.postfix_config_dir]
        return options

    def argv(self, verb: str, argument: str | None = None) -> list[str]:
        """Return the whole command line of one call (never run through a shell)."""
        tail = [verb] if argument is None else [verb, argument]
        return [*self.sudo, *self.command, *self.options(verb.startswith("queue-")), *tail]

    def call(self, verb: str, argument: str | None = None, unavailable: str = "") -> dict:
        """Run one verb and return its answer; raise the matching ApiError on failure."""
        argv = self.argv(verb, argument)
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise self._missing(argv[0]) from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("mail host helper %s failed: %s", verb, exc)
            raise MailHostError(str(FAILED)) from exc
        lines = result.stdout.strip().splitlines()
        answer = _parse(lines[-1]) if lines else None
        return self._answer(verb, answer, result.returncode, result.stderr, unavailable, argument)

    def stream(self, verb: str, unavailable: str = "") -> Iterator[dict]:
        """Yield the JSON lines a listing verb prints, then check its closing answer.

        Memory stays bounded by one line: the output is read as it comes. A consumer that
        stops early ends the helper.
        """
        argv = self.argv(verb)
        stderr = tempfile.TemporaryFile("w+")
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1 << 16,
            )
        except FileNotFoundError as exc:
            stderr.close()
            raise self._missing(argv[0]) from exc
        timer = threading.Timer(self.timeout, proc.kill)
        timer.start()
        answer = None
        try:
            for line in proc.stdout:
                item = _parse(line)
                if item is None or "ok" in item:
                    answer = item
                    break
                yield item
            proc.stdout.read()
        finally:
            timer.cancel()
            if proc.poll() is None and answer is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
            stderr.seek(0)
            text = stderr.read()
            stderr.close()
        self._answer(verb, answer, code, text, unavailable)

    def _missing(self, program: str) -> errors.ApiError:
        if self.sudo and program == self.sudo[0]:
            return MailHostUnavailable(
                gettext(
                    "sudo is not installed; install it with: %(command)s", command=SUDO_INSTALL
                ),
                code="MAILHOST_HELPER_UNAVAILABLE",
            )
        return MailHostUnavailable(
            gettext(
                "The mail host helper %(program)s is not installed; run: %(command)s",
                program=program,
                command=SUDOERS_SETUP,
            ),
            code="MAILHOST_HELPER_UNAVAILABLE",
        )

    def _answer(
        self,
        verb: str,
        answer: dict | None,
        code: int,
        stderr: str,
        unavailable: str,
        argument: str | None = None,
    ) -> dict:
        """Return a successful answer; map a failed one to the API's errors."""
        if answer is None:
            log.error("mail host helper %s: no answer (exit %s): %s", verb, code, stderr.strip())
            if self.sudo and stderr.lstrip().startswith("sudo:"):
                raise MailHostUnavailable(
                    gettext(
                        "sudo refused to run the mail host helper for this user; run: %(command)s",
                        command=SUDOERS_SETUP,
                    ),
                    code="MAILHOST_HELPER_UNAVAILABLE",
                )
            raise MailHostError(str(FAILED))
        if answer.get("ok") is True and code == 0:
            return answer
        kind, detail, field = (
            answer.get("error"),
            str(answer.get("detail", "")),
            answer.get("field"),
        )
        if kind == "usage" and field:
            detail = gettext(detail)  # the helper's fixed texts are in the catalogs
            raise errors.ValidationFailed(detail, errors={field: [detail]})
        if kind == "not_found":
            raise errors.NotFound(
                gettext("No message %(id)s in the mail queue.", id=argument), code="NO_SUCH_MESSAGE"
            )
        if kind == "busy":
            raise errors.Conflict(
                gettext("%(service)s is changing state; try again.", service=argument),
                code="SERVICE_BUSY",
            )
        if kind == "unavailable":
            raise MailHostUnavailable(detail, code=unavailable or "MAILHOST_UNAVAILABLE")
        if kind == "config":
            raise MailHostUnavailable(
                gettext(
                    "The mail host helper's configuration is not usable: %(detail)s", detail=detail
                ),
                code="MAILHOST_HELPER_MISCONFIGURED",
            )
        log.error("mail host helper %s failed (exit %s): %s", verb, code, detail)
        if kind == "failed":
            # A Postfix tool or service command refused (the mail system down, its log not
            # writable): a dependency failing, not a bug here. The detail stays in the log.
            raise MailHostUnavailable(str(FAILED), code="MAILHOST_TOOL_FAILED")
        raise MailHostError(str(FAILED))


def _parse(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- the sudoers drop-in ----------------------------------------------------------------


def _ere(text: str) -> str:
    """Escape a checked path for a POSIX extended regular expression."""
    return re.sub(r"([.+])", r"\\\1", text)


def sudoers_text(user: str, helper: Helper) -> str:
    """Return a sudoers drop-in letting `user` run exactly the helper's verbs as root."""
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user) or user == "root":
        raise ValueError(f"not a usable system user name for the API: {user!r}")
    if len(helper.command) != 1:
        raise ValueError(
            "[mailhost] helper_command must be one absolute path (the installed helper) "
            "when sudo runs it"
        )
    for path in (helper.command[0], helper.config_file, helper.postfix_config_dir):
        if path and not SAFE_PATH.fullmatch(path):
            raise ValueError(f"path not usable in a sudoers rule: {path!r}")
    alias = "IREDAPI_LDAP_MAILHOST_" + user.upper().replace("-", "_")
    commands = []
    for verb, (check, _handler, _postfix) in roothelper.VERBS.items():
        options = " ".join(_ere(option) for option in helper.options(verb.startswith("queue-")))
        argument = f" {roothelper.ARGUMENT_PATTERNS[check]}" if check else ""
        prefix = f"{options} " if options else ""
        commands.append(f"{helper.command[0]} ^{prefix}{verb}{argument}$")
    body = ", \\\n    ".join(commands)
    return (
        "# Generated by `iredapi-ldap sudoers`: the API user may run the mail host helper's\n"
        "# fixed verbs as root, and nothing else. Regenerate it instead of editing it.\n"
        f"# Check: visudo -cf <this file>; sudo -l -U {user}\n"
        f"Cmnd_Alias {alias} = \\\n    {body}\n"
        f"{user} ALL=(root) NOPASSWD: {alias}\n"
    )


def check_sudoers(path: str | os.PathLike[str]) -> None:
    """Run `visudo -cf` on a file; ValueError with visudo's words if it is refused."""
    visudo = shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if visudo is None:
        raise ValueError(f"visudo is missing; install it with: {SUDO_INSTALL}")
    result = subprocess.run(
        [visudo, "-cf", str(path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        raise ValueError(f"visudo refused the drop-in: {(result.stderr or result.stdout).strip()}")


def write_sudoers(path: str | os.PathLike[str], text: str) -> None:
    """Check the drop-in with `visudo -cf`, then put it in place atomically, mode 0440."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".iredapi-ldap-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        os.chmod(temporary, 0o440)
        check_sudoers(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def install_helper(target: str | os.PathLike[str]) -> Path:
    """Copy the helper (stdlib only) to a root-owned path, mode 0755; return the path."""
    path = Path(target)
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    source = Path(roothelper.__file__).read_bytes()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".mailhost-helper-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source)
        os.chmod(temporary, 0o755)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def helper_config_text(postfix_config_dir: str, backend: str) -> str:
    """Return a starting config for the helper from the API's [mailhost] values."""
    return (
        "# The mail host helper's own settings; root-owned, read by the helper only.\n"
        "[postfix]\n"
        "# Postfix config directories the API may name (with -c); empty: the default only.\n"
        f"config_directories = {postfix_config_dir}\n"
        "[services]\n"
        "# systemd, command (add a [command:<service>] section per service) or none.\n"
        f"backend = {backend}\n"
    )


def unsafe_paths(path: str | os.PathLike[str]) -> list[str]:
    """Return the path and parents someone other than root could change (should be none)."""
    unsafe = []
    current = Path(path).absolute()
    for item in (current, *current.parents):
        try:
            info = item.stat()
        except OSError:
            continue
        sticky_dir = item.is_dir() and info.st_mode & 0o1000  # others cannot rename in it
        if info.st_uid != 0 or (info.st_mode & 0o022 and not sticky_dir):
            unsafe.append(str(item))
    return unsafe
