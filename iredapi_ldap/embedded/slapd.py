"""Run a private OpenLDAP slapd for `iredapi-ldap serve` and the tests."""

import atexit
import json
import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path
from urllib.parse import quote

from iredapi_ldap.embedded.ldaptools import NO_SUCH_OBJECT
from iredapi_ldap.embedded.ldaptools import LdapToolError
from iredapi_ldap.embedded.ldaptools import RootClient
from iredapi_ldap.embedded.ldaptools import SlapdNotInstalled
from iredapi_ldap.embedded.ldaptools import check_installed
from iredapi_ldap.embedded.ldaptools import find_tools
from iredapi_ldap.embedded.ldaptools import normalize_dn
from iredapi_ldap.embedded.ldaptools import parse_dns
from iredapi_ldap.embedded.ldaptools import ssha
from iredapi_ldap.embedded.process import spawn_logged
from iredapi_ldap.embedded.slapd_conf import Replication
from iredapi_ldap.embedded.slapd_conf import render_slapd_conf

__all__ = [
    "DirectoryCredentials",
    "EmbeddedSlapd",
    "LdapToolError",
    "SlapdNotInstalled",
    "SlapdStartError",
    "check_installed",
]

RDN = r"[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9._-]+"
SUFFIX_RE = re.compile(rf"^{RDN}(,{RDN})*$")
# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107


class SlapdStartError(RuntimeError):
    """slapd could not be configured or started."""


@dataclass
class DirectoryCredentials:
    """Where the embedded directory listens and how to bind to it."""

    uri: str
    suffix: str
    root_dn: str
    root_password: str
    vmail_dn: str
    vmail_password: str
    vmailadmin_dn: str
    vmailadmin_password: str


def free_port(host: str) -> int:
    """Return a TCP port on host that is free right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _write_private(path: Path, text: str) -> None:
    """Replace a file atomically with one readable by its owner only."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _ldif(dn: str, *lines: str) -> str:
    """Return one LDIF record."""
    return "\n".join([f"dn: {dn}", *lines]) + "\n"


class EmbeddedSlapd:
    """A slapd child process serving an iRedMail-style tree from data_dir."""

    def __init__(
        self,
        data_dir: Path,
        suffix: str = "dc=example,dc=com",
        host: str = "127.0.0.1",
        port: int | None = None,
        durable: bool = True,
        size_limit: int = 500,
        name: str = "slapd",
        server_id: int | None = None,
    ) -> None:
        if not SUFFIX_RE.match(suffix):
            raise ValueError(f"unsupported suffix {suffix!r}, use e.g. dc=example,dc=com")
        self.data_dir = Path(data_dir).absolute()
        self.run_dir = self.data_dir / name
        self.conf_path = self.run_dir / "slapd.conf"
        self.db_dir = self.run_dir / "db"
        self.pid_path = self.run_dir / "slapd.pid"
        self.log_path = self.run_dir / "slapd.log"
        self.credentials_path = self.run_dir / "credentials.json"
        self.socket_path = self.run_dir / "ldapi"
        self.ldapi_uri = "ldapi://" + quote(str(self.socket_path), safe="")
        self.suffix = suffix
        self.host = host
        self.port = port
        self.durable = durable
        self.size_limit = size_limit
        # A provider of a replicated set (EmbeddedProviders): its serverID, the other
        # providers' URIs, and the secrets the set shares (those of its first member).
        self.server_id = server_id
        self.peers: tuple[str, ...] = ()
        self.shared_secrets: dict | None = None
        self._credentials: DirectoryCredentials | None = None
        self._client: RootClient | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def credentials(self) -> DirectoryCredentials:
        """Return the URI and the bind DNs and passwords (after create())."""
        if self._credentials is None:
            raise RuntimeError("call create() or start() first")
        return self._credentials

    @property
    def client(self) -> RootClient:
        """Return the rootdn tool runner, checking the installation once."""
        if self._client is None:
            self._client = RootClient(find_tools(), self.ldapi_uri)
        return self._client

    def create(self) -> DirectoryCredentials:
        """Write slapd.conf, db/ and credentials.json as needed; run slaptest."""
        tools = self.client.tools
        if len(os.fsencode(self.socket_path)) > MAX_SOCKET_PATH:
            raise SlapdStartError(f"data_dir too long for a socket: {self.socket_path}")
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db_dir.mkdir(mode=0o700, exist_ok=True)
        stored = self._load_or_create_credentials()
        replication = None
        if self.server_id is not None:
            replication = Replication(self.server_id, self.peers, stored["root_dn"],
                                      stored["root_password"])  # fmt: skip
        text = render_slapd_conf(
            suffix=self.suffix,
            root_dn=stored["root_dn"],
            root_password_hash=stored["root_password_hash"],
            vmail_dn=stored["vmail_dn"],
            vmailadmin_dn=stored["vmailadmin_dn"],
            run_dir=self.run_dir,
            durable=self.durable,
            size_limit=self.size_limit,
            uid=os.getuid(),
            replication=replication,
        )
        # The rootpw hash is stored, so the text only changes with the parameters
        # (durable, size_limit, the peers); rewrite it then, and only then. Private:
        # a provider's syncrepl stanzas hold the rootdn's password.
        if not self.conf_path.exists() or self.conf_path.read_text() != text:
            _write_private(self.conf_path, text)
        command = [tools["slaptest"], "-u", "-f", str(self.conf_path)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            detail = result.stderr.strip()
            raise SlapdStartError(f"slaptest rejected {self.conf_path}:\n{detail}")
        return self.credentials

    def _load_or_create_credentials(self) -> dict:
        """Read credentials.json, creating passwords and a port on first use."""
        if self.credentials_path.exists():
            stored = json.loads(self.credentials_path.read_text())
            if normalize_dn(stored["suffix"]) != normalize_dn(self.suffix):
                held = stored["suffix"]
                raise SlapdStartError(f"{self.data_dir} holds {held!r}, not {self.suffix!r}")
        elif self.shared_secrets is not None:
            kept = ("host", "port", "uri")
            stored = {k: v for k, v in self.shared_secrets.items() if k not in kept}
        else:
            root_password = secrets.token_urlsafe(24)
            stored = {
                "suffix": self.suffix,
                "root_dn": f"cn=Manager,{self.suffix}",
                "root_password": root_password,
                "root_password_hash": ssha(root_password),
                "vmail_dn": f"cn=vmail,{self.suffix}",
                "vmail_password": secrets.token_urlsafe(24),
                "vmailadmin_dn": f"cn=vmailadmin,{self.suffix}",
                "vmailadmin_password": secrets.token_urlsafe(24),
            }
        self.port = int(self.port or stored.get("port") or free_port(self.host))
        changed = stored.get("port") != self.port or stored.get("host") != self.host
        uri = f"ldap://{self._url_host()}:{self.port}"
        stored.update(host=self.host, port=self.port, uri=uri)
        if changed:
            _write_private(self.credentials_path, json.dumps(stored, indent=2) + "\n")
        names = {field.name for field in fields(DirectoryCredentials)}
        kept = {key: value for key, value in stored.items() if key in names}
        self._credentials = DirectoryCredentials(**kept)
        return stored

    def _url_host(self) -> str:
        """Return the host part of an LDAP URL."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def load_credentials(self) -> dict:
        """Create or read credentials.json (passwords, port) without starting; return it."""
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._load_or_create_credentials()

    def start(self, timeout: float = 15, init_tree: bool = True) -> DirectoryCredentials:
        """Start slapd as a foreground child, wait for it, then run init_tree() if asked."""
        if self.running():
            return self.credentials
        self._check_not_running_elsewhere()
        self.create()
        self.socket_path.unlink(missing_ok=True)
        urls = f"{self.credentials.uri}/ {self.ldapi_uri}"
        slapd = self.client.tools["slapd"]
        # "-d none" keeps slapd in the foreground (so it stays our child) and
        # still prints its fatal errors, which end up in slapd.log.
        command = [slapd, "-d", "none", "-f", str(self.conf_path), "-h", urls]
        self._proc = spawn_logged(command, self.log_path)
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
            if init_tree:
                self.init_tree()
        except BaseException:
            self.stop()
            raise
        return self.credentials

    def _check_not_running_elsewhere(self) -> None:
        """Refuse to start while a leftover slapd still serves data_dir."""
        try:
            pid = int(self.pid_path.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return
        if str(self.conf_path).encode() in cmdline:
            raise SlapdStartError(f"slapd pid {pid} already serves {self.data_dir}")

    def _wait_ready(self, timeout: float) -> None:
        """Poll with ldapwhoami until slapd answers as rootdn."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        expected = "dn:" + normalize_dn(self.credentials.root_dn)
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                raise SlapdStartError(f"slapd exited with {code}:\n{self.log_tail()}")
            result = self.client.run("ldapwhoami", check=False)
            if normalize_dn(result.stdout.strip()) == expected:
                return
            if time.monotonic() > deadline:
                reason = result.stderr.strip()
                raise SlapdStartError(f"no answer in {timeout} s ({reason}):\n{self.log_tail()}")
            time.sleep(0.02)

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of slapd.log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def ldapsearch(
        self, base: str, filt: str = "(objectClass=*)", *attrs: str, scope: str = "sub"
    ) -> str:
        """Search as rootdn and return unwrapped LDIF text."""
        return self.client.search(base, filt, *attrs, scope=scope).stdout

    def ldapadd(self, ldif: str) -> None:
        """Add the entries of an LDIF text as rootdn."""
        self.client.run("ldapadd", input=ldif)

    def ldapmodify(self, ldif: str) -> None:
        """Apply an LDIF change text as rootdn."""
        self.client.run("ldapmodify", input=ldif)

    def ldapdelete(self, *dns: str, recursive: bool = False) -> None:
        """Delete entries, with their subtrees if recursive, as rootdn."""
        if dns:
            flags = ["-r"] if recursive else []
            # DNs go through stdin: no argv limit, no DN mistaken for an option.
            self.client.run("ldapdelete", *flags, input="\n".join(dns) + "\n")

    def init_tree(self) -> None:
        """Add the missing base entries; never change existing ones."""
        creds = self.credentials
        result = self.client.search(self.suffix, "(objectClass=*)", "1.1", scope="one", check=False)
        if result.returncode == NO_SUCH_OBJECT:
            existing = set()
        elif result.returncode == 0:
            existing = {normalize_dn(dn) for dn in parse_dns(result.stdout)}
            existing.add(normalize_dn(self.suffix))
        else:
            args = ["ldapsearch", "-b", self.suffix]
            raise LdapToolError(args, result.returncode, result.stderr)
        records = {
            self.suffix: self._suffix_record(),
            creds.vmail_dn: _service_record(creds.vmail_dn, creds.vmail_password),
            creds.vmailadmin_dn: _service_record(creds.vmailadmin_dn, creds.vmailadmin_password),
            f"o=domains,{self.suffix}": _ldif(
                f"o=domains,{self.suffix}", "objectClass: organization", "o: domains"
            ),
            f"o=domainAdmins,{self.suffix}": _ldif(
                f"o=domainAdmins,{self.suffix}",
                "objectClass: organization",
                "o: domainAdmins",
            ),
        }
        missing = [ldif for dn, ldif in records.items() if normalize_dn(dn) not in existing]
        if missing:
            self.ldapadd("\n".join(missing))

    def _suffix_record(self) -> str:
        """Return the LDIF of the suffix entry."""
        attr, value = self.suffix.split(",", 1)[0].split("=", 1)
        if attr.lower() == "dc":
            classes = ["objectClass: dcObject", "objectClass: organization"]
            return _ldif(self.suffix, *classes, f"dc: {value}", f"o: {value}")
        if attr.lower() == "o":
            return _ldif(self.suffix, "objectClass: organization", f"o: {value}")
        raise SlapdStartError(f"no suffix entry for {self.suffix!r}: use dc= or o=")

    def reset_tree(self) -> None:
        """Delete everything below o=domains and o=domainAdmins, keeping both."""
        children = []
        for container in ("o=domains", "o=domainAdmins"):
            children += self.client.children(f"{container},{self.suffix}")
        self.ldapdelete(*children, recursive=True)

    def stop(self) -> None:
        """Stop slapd: SIGTERM, then SIGKILL if it hangs; safe to call twice."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def running(self) -> bool:
        """Return whether the slapd child is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> "EmbeddedSlapd":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _service_record(dn: str, password: str) -> str:
    """Return the LDIF of a cn=vmail style service account."""
    name = dn.split(",", 1)[0].split("=", 1)[1]
    return _ldif(
        dn,
        "objectClass: person",
        "objectClass: shadowAccount",
        "objectClass: top",
        f"cn: {name}",
        f"sn: {name}",
        f"uid: {name}",
        f"userPassword: {ssha(password)}",
    )
