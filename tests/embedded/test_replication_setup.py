"""The two-provider set-up docs/deployment.md gives for an existing server: as printed, it replicates.

A cn=config server (slapd -F, as Debian's iRedMail runs it) takes the LDIF, a
slapd.conf server the lines; they then replicate each other both ways. The docs'
blocks are the rendered templates, character for character.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from iredapi_ldap.embedded.slapd import EmbeddedSlapd
from iredapi_ldap.embedded.slapd_conf import Replication
from iredapi_ldap.embedded.slapd_conf import replication_conf
from iredapi_ldap.embedded.slapd_conf import replication_ldif
from tests.helpers import ConfigSlapd

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
DOC_EXAMPLE = Replication(1, ("ldap://ldap2.example.com",), "cn=Manager,dc=example,dc=com",
                          "<rootdn password>")  # fmt: skip
SUFFIX = "dc=example,dc=com"


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL)


def test_the_docs_show_the_rendered_set_up():
    blocks = fenced_blocks(DOCS.read_text())
    global_lines, database_lines = replication_conf(DOC_EXAMPLE, SUFFIX)
    assert f'# Before the first "database" line:\n{global_lines}' in blocks
    assert f"# At the end of the mdb database section of the suffix:\n{database_lines}" in blocks
    assert replication_ldif(DOC_EXAMPLE, SUFFIX, "olcDatabase={1}mdb,cn=config") in blocks


def has(server: EmbeddedSlapd, dn: str) -> bool:
    found = server.client.search(dn, "(objectClass=*)", "1.1", scope="base", check=False)
    return found.returncode == 0


def wait_for(server: EmbeddedSlapd, dn: str) -> None:
    deadline = time.monotonic() + 20
    while not has(server, dn):
        assert time.monotonic() < deadline, f"{dn} never reached {server.run_dir}"
        time.sleep(0.05)


def test_a_cn_config_server_and_a_slapd_conf_server_replicate_each_other(tmp_path):
    existing = ConfigSlapd(tmp_path / "existing")
    creds = existing.creds
    second = EmbeddedSlapd(tmp_path / "second", durable=False, server_id=2)
    second.shared_secrets = existing.server.load_credentials()
    second.load_credentials()
    second.peers = (creds.uri,)
    try:
        ldif = replication_ldif(
            Replication(1, (second.credentials.uri,), creds.root_dn, creds.root_password),
            creds.suffix, "olcDatabase={1}mdb,cn=config",
        )  # fmt: skip
        applied = existing.server.client.run("ldapmodify", input=ldif, check=False)
        assert applied.returncode == 0, applied.stderr
        second.start(init_tree=False)
        wait_for(second, f"o=domains,{creds.suffix}")  # the base tree, pulled from the first

        one = f"domainName=one.test,o=domains,{creds.suffix}"
        existing.add(f"dn: {one}\nobjectClass: mailDomain\ndomainName: one.test\n")
        wait_for(second, one)
        two = f"domainName=two.test,o=domains,{creds.suffix}"
        second.ldapadd(f"dn: {two}\nobjectClass: mailDomain\ndomainName: two.test\n")
        wait_for(existing.server, two)
    finally:
        second.stop()
        existing.stop()
