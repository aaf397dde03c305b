"""mlmmj list directories on the mail host: layout, control files, and the mlmmj tools.

The layout is the one `mlmmj-make-ml` creates and mlmmjadmin (`libs/mlmmj.py`)
writes: `<spool>/<domain>/<listname>/` with the sub-directories below, the list
address in `control/listaddress`, an empty `index` and the language texts copied
from mlmmj's `text.skel`. Subscriptions are changed and read only through the
real `mlmmj-sub`, `mlmmj-unsub` and `mlmmj-list`, so the subscriber files keep
mlmmj's own format and locking. This module is the only place that runs them.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import errors

log = logging.getLogger(__name__)

INSTALL_COMMAND = "apt-get install mlmmj"
TOOLS = ("mlmmj-sub", "mlmmj-unsub", "mlmmj-list")
# mlmmj-make-ml's directories, in its order.
SUB_DIRS = (
    "incoming", "queue", "queue/discarded", "archive", "text", "subconf", "unsubconf",
    "bounce", "control", "moderation", "subscribers.d", "digesters.d", "requeue",
    "nomailsubs.d",
)  # fmt: skip
# Subscription version -> the flag mlmmj-sub takes for it, and the one mlmmj-list prints it with.
SUBSCRIPTIONS = {"normal": (), "digest": ("-d",), "nomail": ("-n",)}
LIST_FLAGS = {"normal": ("-s",), "digest": ("-d",), "nomail": ("-n",)}
DEFAULT_LANGUAGE = "en"
DIR_MODE = 0o700
FILE_MODE = 0o600
TOOL_TIMEOUT = 60
# Control file kinds (mlmmj tunables): presence, first line, one value per line, whole text.
FLAG, LINE, LINES, TEXT = "flag", "line", "lines", "text"

# mlmmjadmin's profile parameters (settings.py MLMMJ_*_WEB_PARAMS) -> (control file, kind).
# enable_newsletter_subscription, name, footer_text and footer_html are mlmmjadmin's own
# files, not mlmmj tunables (footers are added by mlmmj-amime-receive with altermime).
TUNABLES: dict[str, tuple[str, str]] = {
    # posting
    "close_list": ("closedlist", FLAG),
    "only_moderator_can_post": ("modonlypost", FLAG),
    "only_subscriber_can_post": ("subonlypost", FLAG),
    "moderated": ("moderated", FLAG),
    "moderate_non_subscriber_post": ("modnonsubposts", FLAG),
    # subscription
    "disable_subscription": ("closedlistsub", FLAG),
    "disable_subscription_confirm": ("nosubconfirm", FLAG),
    "disable_digest_subscription": ("nodigestsub", FLAG),
    "disable_digest_text": ("nodigesttext", FLAG),
    "disable_nomail_subscription": ("nonomailsub", FLAG),
    "moderate_subscription": ("submod", FLAG),
    "subscription_moderators": ("submod", LINES),
    # archive and retrieval
    "disable_retrieving_old_posts": ("noget", FLAG),
    "only_subscriber_can_get_old_posts": ("subonlyget", FLAG),
    "disable_retrieving_subscribers": ("nolistsubsemail", FLAG),
    "disable_archive": ("noarchive", FLAG),
    # notifications and copies
    "disable_send_copy_to_sender": ("notmetoo", FLAG),
    "notify_owner_when_sub_unsub": ("notifysub", FLAG),
    "notify_sender_when_moderated": ("notifymod", FLAG),
    "disable_notify_subscription_moderated": ("nosubmodmails", FLAG),
    "disable_notify_when_missing_listaddress": ("notoccdenymails", FLAG),
    "disable_notify_when_access_denied": ("noaccessdenymails", FLAG),
    "disable_notify_when_subscriber_only": ("nosubonlydenymails", FLAG),
    "disable_notify_when_moderator_only": ("nomodonlydenymails", FLAG),
    "disable_notify_when_exceeding_max_mail_size": ("nomaxmailsizedenymails", FLAG),
    "tocc": ("tocc", FLAG),
    "is_newsletter": ("enable_newsletter_subscription", FLAG),
    # addresses and roles
    "owner": ("owner", LINES),
    "moderators": ("moderators", LINES),
    "extra_addresses": ("listaddress", LINES),
    # message handling
    "max_message_size": ("maxmailsize", LINE),
    "subject_prefix": ("prefix", LINE),
    "custom_headers": ("customheaders", LINES),
    "remove_headers": ("delheaders", LINES),
    # texts
    "name": ("name", LINE),
    "footer_text": ("footer_text", TEXT),
    "footer_html": ("footer_html", TEXT),
}
FLAG_PARAMETERS = tuple(name for name, (_file, kind) in TUNABLES.items() if kind == FLAG)


class MailHostUnavailable(errors.ApiError):
    """mlmmj is not installed or its spool is missing (503)."""

    status = 503
    code = "MAILHOST_UNAVAILABLE"
    detail = "The mailing list manager (mlmmj) is not available on this host."


class MailHostError(errors.ApiError):
    """An mlmmj tool or a spool file operation failed (500; details only in the log)."""

    code = "MAILHOST_ERROR"
    detail = "The mailing list manager (mlmmj) failed; see the server log."


def require_mlmmj(bin_dir: str | os.PathLike[str], skel_dir: str | os.PathLike[str]) -> None:
    """Raise MailHostUnavailable naming the apt command if mlmmj's tools or texts are missing."""
    missing = [name for name in TOOLS if not os.access(Path(bin_dir, name), os.X_OK)]
    if not Path(skel_dir, DEFAULT_LANGUAGE).is_dir():
        missing.append(f"{Path(skel_dir, DEFAULT_LANGUAGE)} (list texts)")
    if missing:
        raise MailHostUnavailable(
            f"mlmmj is not installed ({', '.join(missing)} missing); "
            f"install it with: {INSTALL_COMMAND}"
        )


def _owner_ids(owner: str) -> tuple[int, int] | None:
    """Return (uid, gid) for `user` or `user:group`; None when no owner is configured."""
    if not owner:
        return None
    user, _, group = owner.partition(":")
    try:
        entry = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    except KeyError as exc:
        raise MailHostUnavailable(
            f"[mlmmj] owner names an unknown user or group: {owner}."
        ) from exc
    return entry.pw_uid, gid


class Mlmmj:
    """One mail host's mlmmj spool and tools."""

    def __init__(
        self,
        spool_dir: str | os.PathLike[str],
        archive_dir: str | os.PathLike[str] | None,
        bin_dir: str | os.PathLike[str] = "/usr/bin",
        skel_dir: str | os.PathLike[str] = "/usr/share/mlmmj/text.skel",
        owner: str = "",
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.archive_dir = Path(archive_dir) if archive_dir else None
        self.bin_dir = Path(bin_dir)
        self.skel_dir = Path(skel_dir)
        self.owner = owner

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Mlmmj:
        """Build from the app config ([mlmmj] section)."""
        return cls(
            config["MLMMJ_SPOOL_DIR"],
            config["MLMMJ_ARCHIVE_DIR"],
            config["MLMMJ_BIN_DIR"],
            config["MLMMJ_SKEL_DIR"],
            config["MLMMJ_OWNER"],
        )

    # -- the list directory ---------------------------------------------------------

    def list_dir(self, mail: str) -> Path:
        """Return `<spool>/<domain>/<listname>` of a (validated, lower-case) list address."""
        listname, _, domain = mail.lower().rpartition("@")
        for part in (listname, domain):
            if not part or "/" in part or part in (".", "..") or "\x00" in part:
                raise ValueError(f"not a list address: {mail!r}")
        return self.spool_dir / domain / listname

    def exists(self, mail: str) -> bool:
        """Tell whether the list directory exists."""
        return self.list_dir(mail).is_dir()

    def check(self) -> None:
        """Raise MailHostUnavailable unless the tools, the texts and the spool are there."""
        require_mlmmj(self.bin_dir, self.skel_dir)
        if not self.spool_dir.is_dir():
            raise MailHostUnavailable(f"The mlmmj spool directory {self.spool_dir} does not exist.")

    def create(self, mail: str, language: str = DEFAULT_LANGUAGE) -> Path:
        """Create the list directory as mlmmj-make-ml does; AlreadyExists if it is there."""
        self.check()
        texts = self.skel_dir / language
        if not texts.is_dir():
            texts = self.skel_dir / DEFAULT_LANGUAGE
        path = self.list_dir(mail)
        owner = _owner_ids(self.owner)
        domain_dir = path.parent
        with _file_errors(f"create {domain_dir}"):
            if not domain_dir.is_dir():
                domain_dir.mkdir(mode=DIR_MODE, exist_ok=True)
                self._chown(domain_dir, owner)
        try:
            path.mkdir(mode=DIR_MODE)  # atomic: of two concurrent creators one fails here
        except FileExistsError as exc:
            raise errors.AlreadyExists(
                f"The mlmmj directory of {mail} exists already; move it away first.",
                errors={"mail": ["An mlmmj list directory with this address exists on the host."]},
            ) from exc
        except OSError as exc:
            log.error("mlmmj spool: cannot create %s: %s", path, exc)
            raise MailHostError() from exc
        try:
            with _file_errors(f"fill {path}"):
                for name in SUB_DIRS:
                    (path / name).mkdir(mode=DIR_MODE)
                (path / "index").touch(mode=FILE_MODE)
                for source in sorted(texts.iterdir()):
                    if source.is_file():
                        shutil.copyfile(source, path / "text" / source.name)
                self._write(path / "control" / "listaddress", f"{mail.lower()}\n")
                self._chown_tree(path, owner)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        return path

    def discard(self, mail: str) -> None:
        """Remove a list directory for good (a creation being rolled back, or keep_archive=no)."""
        path = self.list_dir(mail)
        with _file_errors(f"remove {path}"):
            if path.is_dir():
                shutil.rmtree(path)

    def archive(self, mail: str) -> Path | None:
        """Move the list directory to `<archive>/<domain>/<listname>-<UTC time>`; return it."""
        path = self.list_dir(mail)
        if not path.is_dir():
            return None
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        parent = (self.archive_dir / path.parent.name) if self.archive_dir else path.parent
        target = parent / f"{path.name}-{stamp}"
        number = 1
        while target.exists():
            number += 1
            target = parent / f"{path.name}-{stamp}-{number}"
        with _file_errors(f"archive {path} to {target}"):
            parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            shutil.move(str(path), str(target))
        return target

    # -- control files --------------------------------------------------------------

    def control_path(self, mail: str, name: str) -> Path:
        """Return `control/<name>` of a list."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a control file name: {name!r}")
        return self.list_dir(mail) / "control" / name

    def read_control(self, mail: str, name: str, kind: str) -> Any:
        """Return a control value: bool (flag), str (line, text) or list[str] (lines)."""
        path = self.control_path(mail, name)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return {FLAG: False, LINE: "", LINES: [], TEXT: ""}[kind]
        except OSError as exc:
            log.error("mlmmj spool: cannot read %s: %s", path, exc)
            raise MailHostError() from exc
        if kind == FLAG:
            return True
        if kind == LINE:
            return text.split("\n", 1)[0]
        if kind == LINES:
            return [line.strip() for line in text.splitlines() if line.strip()]
        return text.rstrip("\n")

    def write_control(self, mail: str, name: str, kind: str, value: Any) -> None:
        """Set a control value; False, "" and [] remove the file (mlmmj's "not set")."""
        path = self.control_path(mail, name)
        with _file_errors(f"write {path}"):
            if not value:
                path.unlink(missing_ok=True)
                return
            if kind == FLAG:
                if not path.exists():
                    self._write(path, "")
                return
            if kind == LINES:
                self._write(path, "".join(f"{item}\n" for item in value))
            elif kind == LINE:
                self._write(path, f"{value}\n")
            else:
                self._write(path, value.strip("\n") + "\n")

    def _write(self, path: Path, text: str) -> None:
        """Replace a file atomically (readers see the old or the new content, never a part)."""
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(temporary, FILE_MODE)
            self._chown(Path(temporary), _owner_ids(self.owner))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _chown(self, path: Path, owner: tuple[int, int] | None) -> None:
        if owner is not None:
            os.chown(path, *owner)

    def _chown_tree(self, path: Path, owner: tuple[int, int] | None) -> None:
        if owner is None:
            return
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.chown(Path(root, name), *owner)
        os.chown(path, *owner)

    # -- subscribers (through mlmmj's tools) -------------------------------------------

    def subscribe(
        self, mail: str, addresses: list[str], subscription: str = "normal", confirm: bool = False
    ) -> None:
        """Subscribe addresses to one version; with confirm mlmmj mails them a confirmation.

        Without confirm the subscription is silent and forced (`-f -q -s`), which is what
        mlmmjadmin's direct file writes amount to. An address subscribed to another
        version is moved to this one (mlmmj-sub switches versions itself).
        """
        flags = ["-C"] if confirm else ["-f", "-q", "-s"]
        for address in addresses:
            self._tool("mlmmj-sub", "-L", str(self._existing(mail)), "-a", address,
                       *SUBSCRIPTIONS[subscription], *flags)  # fmt: skip

    def unsubscribe(self, mail: str, addresses: list[str]) -> None:
        """Unsubscribe addresses from every version, quietly; unknown addresses are no-ops."""
        for address in addresses:
            self._tool("mlmmj-unsub", "-L", str(self._existing(mail)), "-a", address, "-q", "-s")

    def subscribers(self, mail: str) -> dict[str, list[str]]:
        """Return {version: sorted addresses} as mlmmj-list prints them."""
        path = str(self._existing(mail))
        return {version: sorted(self._list(path, *flags)) for version, flags in LIST_FLAGS.items()}

    def _list(self, path: str, *flags: str) -> list[str]:
        output = self._tool("mlmmj-list", "-L", path, *flags).stdout
        return [line.strip().lower() for line in output.splitlines() if line.strip()]

    def _existing(self, mail: str) -> Path:
        path = self.list_dir(mail)
        if not path.is_dir():
            raise errors.NotFound(f"The mlmmj directory of {mail} is missing on the host.")
        return path

    def _tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one mlmmj tool; a missing tool is 503, a failing one 500 (logged)."""
        path = self.bin_dir / name
        if not os.access(path, os.X_OK):
            raise MailHostUnavailable(f"{path} is missing; install it with: {INSTALL_COMMAND}")
        try:
            result = subprocess.run(
                [str(path), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                timeout=TOOL_TIMEOUT, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("%s %s failed: %s", name, " ".join(args), exc)
            raise MailHostError() from exc
        if result.returncode != 0:
            log.error("%s %s exited with %d: %s", name, " ".join(args), result.returncode,
                      (result.stderr or result.stdout).strip())  # fmt: skip
            raise MailHostError()
        return result


class _file_errors:
    """Turn OS errors of spool operations into a logged MailHostError."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> bool:
        if isinstance(exc, OSError):
            log.error("mlmmj spool: cannot %s: %s", self.what, exc)
            raise MailHostError() from exc
        return False


def get_mlmmj() -> Mlmmj:
    """Return the Mlmmj of the current app's configuration."""
    from flask import current_app

    return Mlmmj.from_config(current_app.config)
