"""Find the OpenLDAP binaries and run the ldap-utils tools as rootdn."""

import base64
import hashlib
import os
import re
import shutil
import subprocess

INSTALL_HINT = "install on Debian with `apt-get install slapd ldap-utils`"
SERVER_TOOLS = ("slapd", "slaptest")
CLIENT_TOOLS = ("ldapadd", "ldapmodify", "ldapdelete", "ldapsearch", "ldapwhoami")
NO_SUCH_OBJECT = 32


class SlapdNotInstalled(RuntimeError):
    """slapd or the ldap-utils client tools are not installed."""


class LdapToolError(RuntimeError):
    """An ldap-utils command run against the embedded server failed."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(args)} exited with {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def _search_path() -> list[str]:
    """Return PATH plus the sbin sibling of each bin directory."""
    # Debian installs slapd in /usr/sbin, which a normal user's PATH lacks.
    dirs: list[str] = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        candidates = [entry]
        if entry.rstrip("/").endswith("/bin"):
            candidates.append(entry.rstrip("/")[: -len("bin")] + "sbin")
        dirs += [d for d in candidates if d and d not in dirs]
    return dirs


def find_tools() -> dict[str, str]:
    """Return the path of every slapd and ldap-utils binary this package runs."""
    path = os.pathsep.join(_search_path())
    names = SERVER_TOOLS + CLIENT_TOOLS
    found = {name: shutil.which(name, path=path) for name in names}
    missing = [name for name, where in found.items() if where is None]
    if missing:
        raise SlapdNotInstalled(f"{', '.join(missing)} not found; {INSTALL_HINT}")
    return {name: str(where) for name, where in found.items()}


def check_installed() -> None:
    """Raise SlapdNotInstalled if slapd or the ldap-utils binaries are missing."""
    find_tools()


def ssha(password: str) -> str:
    """Return an OpenLDAP {SSHA} hash of a password."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def normalize_dn(dn: str) -> str:
    """Return a DN in a form good enough to compare the plain DNs used here."""
    return re.sub(r"\s*([,=])\s*", r"\1", dn).lower()


def parse_dns(ldif: str) -> list[str]:
    """Return the DNs of an LDIF text, decoding base64 ones."""
    dns = []
    for line in ldif.splitlines():
        if line.startswith("dn:: "):
            dns.append(base64.b64decode(line[5:]).decode())
        elif line.startswith("dn: "):
            dns.append(line[4:])
    return dns


class RootClient:
    """Run ldap-utils tools as rootdn over an ldapi:// socket with SASL EXTERNAL."""

    def __init__(self, tools: dict[str, str], ldapi_uri: str) -> None:
        self.tools = tools
        self.ldapi_uri = ldapi_uri

    def run(
        self, name: str, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one tool and return its result, raising LdapToolError if check."""
        auth = ["-H", self.ldapi_uri, "-Y", "EXTERNAL", "-Q"]
        command = [self.tools[name], *auth, *args]
        # LDAPNOINIT: ignore the user's ldap.conf and .ldaprc (BASE, TLS, SASL).
        env = {**os.environ, "LDAPNOINIT": "1"}
        result = subprocess.run(command, input=input, capture_output=True, text=True, env=env)
        if check and result.returncode != 0:
            raise LdapToolError(command, result.returncode, result.stderr)
        return result

    def search(
        self, base: str, filt: str, *attrs: str, scope: str = "sub", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Search and return the result with unwrapped LDIF on stdout."""
        args = ["-LLL", "-o", "ldif-wrap=no", "-b", base, "-s", scope, filt, *attrs]
        return self.run("ldapsearch", *args, check=check)

    def children(self, base: str) -> list[str]:
        """Return the DNs one level below base."""
        result = self.search(base, "(objectClass=*)", "1.1", scope="one")
        return parse_dns(result.stdout)
