"""Run the real mail stack's LDAP lookups (Dovecot auth, Postfix maps) against a test slapd.

Dovecot runs as a private instance (its own base_dir, state_dir and log in a work directory,
no mail listeners) and Postfix is not run at all: `postmap -q` evaluates the same LDAP tables
the daemons would. Nothing under /etc is read or changed besides the packages' own files.
The LDAP searches reproduce iRedMail's samples (`samples/dovecot/dovecot-ldap.conf`,
`samples/postfix/ldap/*.cf`), bound as the read-only cn=vmail, as on an iRedMail host.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from iredapi_ldap.embedded.process import spawn_logged
from iredapi_ldap.embedded.slapd import DirectoryCredentials
from tests.mailstack.ldap_tables import ACCOUNT_FILTER
from tests.mailstack.ldap_tables import MAPS
from tests.mailstack.ldap_tables import PASS_ATTRS
from tests.mailstack.ldap_tables import USER_ATTRS
from tests.mailstack.ldap_tables import LdapMap

__all__ = [
    "INSTALL_COMMAND",
    "MAPS",
    "Dovecot",
    "LdapMap",
    "MailStackError",
    "PostfixMaps",
    "deliver",
    "mail_owner",
    "make_storage",
    "require_mail_stack",
]

PACKAGES = ("dovecot-core", "dovecot-ldap", "postfix-ldap")
INSTALL_COMMAND = "apt-get install " + " ".join(PACKAGES)
TOOLS = ("dovecot", "doveadm", "postmap", "postconf")
DOVECOT_LDAP_MODULE = Path("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so")
# sun_path is 108 bytes on Linux; this is the longest name Dovecot puts in base_dir.
MAX_SOCKET_PATH = 107
LONGEST_SOCKET = "replication-notify-fifo"
# sysexits codes doveadm uses for "no such user" and "authentication failed".
EX_NOUSER = 67
EX_NOPERM = 77
PROBE_USER = "mailstack-probe@harness.invalid"

# Fixed names speed postmap up: without them Postfix resolves the host name (seconds).
POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
myhostname = mail.harness.invalid
mydomain = harness.invalid
"""


class MailStackError(RuntimeError):
    """The mail stack is missing, would not start, or a lookup failed (not: found nothing)."""


def _tool(name: str) -> str | None:
    """Return the path of a mail stack binary (sbin may be missing from PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def _run(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command without a terminal and return its result."""
    return subprocess.run(
        args, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
    )


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a config file, by default one only its owner can read (cn=vmail's password)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    # Postfix waits (up to 2 s) for a file modified within the last second to settle.
    settled = time.time() - 60
    os.utime(path, (settled, settled))


def require_mail_stack() -> None:
    """Raise MailStackError naming the apt command if Dovecot/Postfix LDAP support is missing."""
    problems = [f"{name} not found" for name in TOOLS if _tool(name) is None]
    if not DOVECOT_LDAP_MODULE.exists():
        problems.append(f"Dovecot's LDAP driver {DOVECOT_LDAP_MODULE} is missing")
    postconf = _tool("postconf")
    if postconf:
        # A private main.cf: the system one does not exist on an unconfigured install.
        with tempfile.TemporaryDirectory() as config_dir:
            _write_private(Path(config_dir, "main.cf"), POSTFIX_MAIN_CF)
            result = _run([postconf, "-c", config_dir, "-m"])
        if "ldap" not in result.stdout.split():
            problems.append("`postconf -m` does not list the ldap table type")
    if problems:
        raise MailStackError(
            "mail stack unavailable (" + "; ".join(problems) + "); install it with: "
            "echo 'postfix postfix/main_mailer_type select No configuration' "
            f"| debconf-set-selections && DEBIAN_FRONTEND=noninteractive {INSTALL_COMMAND}"
        )


# ---------------------------------------------------------------------------- Dovecot

DOVECOT_LDAP_CONF = """\
uris            = {uri}
ldap_version    = 3
auth_bind       = yes
dn              = {vmail_dn}
dnpass          = {vmail_password}
base            = {base}
scope           = subtree
deref           = never
user_filter     = {account_filter}
user_attrs      = {user_attrs}
pass_filter     = {account_filter}
pass_attrs      = {pass_attrs}
default_pass_scheme = CRYPT
"""

DOVECOT_CONF = """\
# Private instance: only the auth service and its sockets, no mail listeners.
base_dir = {base_dir}
state_dir = {state_dir}
instance_name = {instance_name}
log_path = {log_path}
protocols =
ssl = no
# doveadm talks over a local socket; iRedMail's "yes" only matters for network clients.
disable_plaintext_auth = no
auth_mechanisms = PLAIN LOGIN
# Every directory change is seen at once; a failure is answered on the next
# 500 ms tick of Dovecot's failure timer instead of after 2 s.
auth_failure_delay = 0
auth_cache_size = 0
auth_verbose = yes
mail_location = maildir:%Lh/Maildir/:INDEX=%Lh/Maildir/

passdb {{
  driver = ldap
  args = {ldap_conf}
}}
userdb {{
  driver = ldap
  args = {ldap_conf}
}}

# The work directory is private to the user running the tests, so the auth
# processes (which read dovecot-ldap.conf themselves) run as that user too.
service auth {{
  user = {run_user}
}}
service auth-worker {{
  user = {run_user}
}}
"""


class Dovecot:
    """A private Dovecot 2.3 whose passdb/userdb are iRedMail's LDAP lookups."""

    def __init__(self, workdir: Path, creds: DirectoryCredentials) -> None:
        self.workdir = Path(workdir).absolute()
        self.creds = creds
        self.base_dn = f"o=domains,{creds.suffix}"
        self.conf_path = self.workdir / "dovecot.conf"
        self.ldap_conf_path = self.workdir / "dovecot-ldap.conf"
        self.base_dir = self.workdir / "run"
        self.state_dir = self.workdir / "state"
        self.log_path = self.workdir / "dovecot.log"
        self.output_path = self.workdir / "dovecot.out"
        self._proc: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        """Write dovecot.conf and dovecot-ldap.conf into the work directory."""
        if len(os.fsencode(self.base_dir / LONGEST_SOCKET)) > MAX_SOCKET_PATH:
            raise MailStackError(f"work directory too long for sockets: {self.base_dir}")
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        creds = self.creds
        _write_private(
            self.ldap_conf_path,
            DOVECOT_LDAP_CONF.format(
                uri=creds.uri,
                vmail_dn=creds.vmail_dn,
                vmail_password=creds.vmail_password,
                base=self.base_dn,
                account_filter=ACCOUNT_FILTER,
                user_attrs=USER_ATTRS,
                pass_attrs=PASS_ATTRS,
            ),
        )
        _write_private(
            self.conf_path,
            DOVECOT_CONF.format(
                base_dir=self.base_dir,
                state_dir=self.state_dir,
                log_path=self.log_path,
                instance_name=f"iredapi-mailstack-{os.getpid()}",
                ldap_conf=self.ldap_conf_path,
                run_user=_user_name(),
            ),
        )

    def start(self, timeout: float = 15) -> None:
        """Start the master in the foreground as our child; return once LDAP lookups answer."""
        if self.running():
            return
        require_mail_stack()
        self.write_config()
        command = [_tool("dovecot") or "dovecot", "-F", "-c", str(self.conf_path)]
        self._proc = spawn_logged(command, self.output_path)
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        """Poll a userdb lookup of a missing user until it says "no such user"."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise MailStackError(
                    f"dovecot exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            if (self.base_dir / "auth-userdb").exists():
                left = max(deadline - time.monotonic(), 0.1)
                try:
                    result = self.doveadm("user", PROBE_USER, timeout=left)
                except subprocess.TimeoutExpired:
                    pass  # Dovecot waits for LDAP itself; the deadline below decides
                else:
                    if result.returncode == EX_NOUSER:
                        return
            if time.monotonic() > deadline:
                raise MailStackError(f"dovecot not ready in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def doveadm(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run doveadm against this instance's configuration."""
        command = [_tool("doveadm") or "doveadm", "-c", str(self.conf_path), *args]
        return _run(command, timeout=timeout)

    def auth_test(
        self, user: str, password: str, service: str = "imap", secured: str | None = None
    ) -> bool:
        """Return whether Dovecot logs user in; secured is None, "secured" or "tls"."""
        # no-penalty: else anvil holds the next login after a failure back for seconds.
        extra = ["-x", f"service={service}", "-x", "no-penalty"]
        if secured == "secured":
            extra += ["-x", "secured"]
        elif secured == "tls":
            extra += ["-x", "secured=tls"]
        elif secured is not None:
            raise ValueError(f"secured must be None, 'secured' or 'tls', not {secured!r}")
        result = self.doveadm("auth", "test", *extra, user, password)
        if result.returncode == 0:
            return True
        if result.returncode == EX_NOPERM:
            return False
        raise self._failure("auth test", result)

    def user_lookup(self, user: str, service: str = "doveadm") -> dict[str, str] | None:
        """Return the userdb fields (home, mail, quota_rule, ...) or None if refused."""
        result = self.doveadm("-f", "tab", "user", "-x", f"service={service}", user)
        if result.returncode == EX_NOUSER:
            return None
        if result.returncode != 0:
            raise self._failure("user", result)
        fields = {}
        for line in result.stdout.splitlines()[1:]:  # the first line is the header
            name, _, value = line.partition("\t")
            if value:
                fields[name] = value
        return fields

    def subjects(self, user: str, mailbox: str = "INBOX") -> list[str]:
        """Return the Subject of each message Dovecot serves the user from a mailbox (its storage)."""
        uid, gid = mail_owner()
        result = self.doveadm(
            "-o", f"mail_uid={uid}", "-o", f"mail_gid={gid}",
            "fetch", "-u", user, "hdr.subject", "mailbox", mailbox, "all",
        )  # fmt: skip
        if result.returncode != 0:
            raise self._failure("fetch", result)
        prefix = "hdr.subject: "
        return [
            line[len(prefix) :] for line in result.stdout.splitlines() if line.startswith(prefix)
        ]

    def _failure(self, what: str, result: subprocess.CompletedProcess[str]) -> MailStackError:
        """Describe a doveadm run that neither succeeded nor refused."""
        return MailStackError(
            f"doveadm {what} exited with {result.returncode}: {result.stderr.strip()}\n"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of the Dovecot log and of the master's own output."""
        tails = []
        for path in (self.output_path, self.log_path):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            tails += text.splitlines()[-lines:]
        return "\n".join(tails) or "(no log)"

    def stop(self) -> None:
        """Stop the master and its children (the process group it leads); safe to call twice."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # Signalling the whole group at once: a master left to stop its own children
        # takes a second longer.
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def running(self) -> bool:
        """Return whether the master is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def mail_owner() -> tuple[int, int]:
    """Return the uid and gid mailboxes are read as: ours, or nobody's as root (Dovecot refuses root)."""
    import pwd

    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def make_storage() -> Path:
    """Create a mail storage base the mail owner can traverse (pytest's temp root is private)."""
    base = Path(tempfile.mkdtemp(prefix="iredapi-vmail-"))
    base.chmod(0o755)
    return base


def deliver(home: str | os.PathLike[str], subject: str, folder: str = "Maildir") -> Path:
    """Put one message into the Maildir below a home directory, owned by the mail owner."""
    maildir = Path(home) / folder
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    message = maildir / "new" / f"{time.time_ns()}.{os.getpid()}.harness"
    message.write_text(f"From: sender@harness.invalid\nSubject: {subject}\n\n{subject}\n")
    uid, gid = mail_owner()
    for path in (Path(home), *Path(home).rglob("*")):
        os.chown(path, uid, gid)
    return message


def _user_name() -> str:
    """Return the name of the user running the tests."""
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _signal_group(group: int, signum: int) -> None:
    """Send a signal to the process group a child of ours leads, if it still exists."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------- Postfix


LDAP_TABLE_CF = """\
server_host     = {uri}
version         = 3
bind            = yes
start_tls       = no
bind_dn         = {vmail_dn}
bind_pw         = {vmail_password}
search_base     = {search_base}
scope           = {scope}
query_filter    = {query_filter}
result_attribute= {result_attribute}
debuglevel      = 0
"""


class PostfixMaps:
    """iRedMail's Postfix LDAP tables in a private config directory, queried with postmap."""

    def __init__(self, workdir: Path, creds: DirectoryCredentials) -> None:
        self.workdir = Path(workdir).absolute()
        self.creds = creds
        self.base_dn = f"o=domains,{creds.suffix}"
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.workdir / "main.cf", POSTFIX_MAIN_CF, mode=0o644)
        for name, table in MAPS.items():
            _write_private(self.cf_path(name), self._render(table))

    def _render(self, table: LdapMap) -> str:
        """Return the text of one .cf file."""
        text = LDAP_TABLE_CF.format(
            uri=self.creds.uri,
            vmail_dn=self.creds.vmail_dn,
            vmail_password=self.creds.vmail_password,
            search_base=table.search_base.format(base=self.base_dn),
            scope=table.scope,
            query_filter=table.query_filter,
            result_attribute=table.result_attribute,
        )
        if table.result_format:
            text += f"result_format   = {table.result_format}\n"
        return text

    def cf_path(self, map_name: str) -> Path:
        """Return the .cf file of a map."""
        if map_name not in MAPS:
            raise KeyError(f"unknown map {map_name!r}; known: {', '.join(MAPS)}")
        return self.workdir / f"{map_name}.cf"

    def query(self, map_name: str, key: str) -> str | None:
        """Return what `postmap -q key ldap:<map>.cf` prints, or None if nothing matched."""
        table = f"ldap:{self.cf_path(map_name)}"
        result = _run([_tool("postmap") or "postmap", "-c", str(self.workdir), "-q", key, table])
        if result.returncode == 0:
            return result.stdout.rstrip("\n")
        if result.returncode == 1 and "fatal:" not in result.stderr:
            return None
        raise MailStackError(
            f"postmap -q {key!r} {table} exited with {result.returncode}: {result.stderr.strip()}"
        )

    def values(self, map_name: str, key: str) -> list[str]:
        """Return the comma-separated result of query() as a sorted list ([] if none)."""
        found = self.query(map_name, key)
        return sorted(v.strip() for v in found.split(",")) if found else []
