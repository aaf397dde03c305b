"""Two (or more) embedded slapd providers replicating each other: `serve --replicas N`, tests."""

import time
from pathlib import Path

from iredapi_ldap.embedded.slapd import DirectoryCredentials
from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.embedded.slapd import SlapdStartError


def member_name(index: int) -> str:
    """Return the folder of provider `index` (0-based) below the data dir: slapd, slapd-2, ..."""
    return "slapd" if index == 0 else f"slapd-{index + 1}"


def context_csns(server: EmbeddedSlapd) -> dict[str, str]:
    """Return the suffix's contextCSN values by serverID (hex), read as rootdn; {} if none."""
    result = server.client.search(server.suffix, "(objectClass=*)", "contextCSN", scope="base",
                                  check=False)  # fmt: skip
    csns = {}
    for line in result.stdout.splitlines():
        if line.lower().startswith("contextcsn: "):
            value = line.split(": ", 1)[1]
            csns[value.split("#")[2]] = value
    return csns


class EmbeddedProviders:
    """N EmbeddedSlapd providers in one data dir, each pulling the others' changes (syncrepl).

    They share the suffix and every password (those of the first, in `slapd/`), each
    has its own port, serverID (1..N) and database. The first creates the base tree;
    the others receive it by replication.
    """

    def __init__(
        self,
        data_dir: Path,
        count: int = 2,
        suffix: str = "dc=example,dc=com",
        durable: bool = True,
        size_limit: int = 500,
    ) -> None:
        if count < 2:
            raise ValueError("replication needs at least two providers")
        self.members = [
            EmbeddedSlapd(
                data_dir,
                suffix=suffix,
                durable=durable,
                size_limit=size_limit,
                name=member_name(index),
                server_id=index + 1,
            )  # fmt: skip
            for index in range(count)
        ]
        self.prepared = False

    @property
    def credentials(self) -> DirectoryCredentials:
        """Return the first provider's credentials (every member has the same secrets)."""
        return self.members[0].credentials

    @property
    def uris(self) -> list[str]:
        """Return each provider's ldap:// URI, in order."""
        return [member.credentials.uri for member in self.members]

    def prepare(self) -> None:
        """Create every member's credentials (ports, shared secrets) and tell each its peers."""
        shared = self.members[0].load_credentials()
        for member in self.members[1:]:
            member.shared_secrets = shared
            member.load_credentials()
        for member in self.members:
            member.peers = tuple(uri for uri in self.uris if uri != member.credentials.uri)
        self.prepared = True

    def start(self, timeout: float = 30) -> DirectoryCredentials:
        """Start every provider, the first with the base tree, and wait until they agree.

        prepare() first, unless called already (a test may then change a member's peers).
        """
        if not self.prepared:
            self.prepare()
        try:
            self.members[0].start()
            for member in self.members[1:]:
                member.start(init_tree=False)
            self.wait_converged(timeout)
        except BaseException:
            self.stop()
            raise
        return self.credentials

    def converged(self) -> bool:
        """Tell whether every running provider holds the same changes (equal contextCSN sets)."""
        seen = [context_csns(member) for member in self.members]
        return bool(seen[0]) and all(csns == seen[0] for csns in seen[1:])

    def wait_converged(self, timeout: float = 30) -> None:
        """Wait until converged(); SlapdStartError after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.converged():
            if time.monotonic() > deadline:
                raise SlapdStartError(f"the providers did not converge in {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every provider."""
        for member in self.members:
            member.stop()

    def __enter__(self) -> "EmbeddedProviders":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
