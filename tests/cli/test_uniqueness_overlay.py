"""init-directory --show-uniqueness: the printed set-up makes an existing slapd keep addresses unique."""

from __future__ import annotations

import subprocess
import sys

from iredapi_ldap import config as cfg
from tests.helpers import ConfigSlapd


def cli() -> list[str]:
    """Return the command that runs the CLI from this checkout."""
    return [sys.executable, "-m", "iredapi_ldap.cli"]


def test_init_directory_shows_the_uniqueness_overlay_for_an_existing_server(tmp_path):
    """--show-uniqueness prints the LDIF that makes a cn=config slapd refuse used addresses."""
    server = ConfigSlapd(tmp_path / "server")
    try:
        creds = server.creds
        ini = tmp_path / "config.ini"
        cfg.write_ini(ini, {"LDAP_URI": creds.uri, "LDAP_BIND_DN": creds.vmailadmin_dn,
                            "LDAP_BIND_PASSWORD": creds.vmailadmin_password,
                            "LDAP_SUFFIX": creds.suffix, "SECRET_KEY": "k"})  # fmt: skip
        domain = f"domainName=a.test,o=domains,{creds.suffix}"
        user = (f"dn: mail=x@a.test,ou=Users,{domain}\nobjectClass: inetOrgPerson\n"
                "objectClass: mailUser\nmail: x@a.test\nuid: x\ncn: x\nsn: x\n")  # fmt: skip
        alias = f"dn: mail=x@a.test,ou=Aliases,{domain}\nobjectClass: mailAlias\nmail: x@a.test\n"
        tree = f"dn: {domain}\nobjectClass: mailDomain\ndomainName: a.test\n\n" + "\n".join(
            f"dn: ou={ou},{domain}\nobjectClass: organizationalUnit\nou: {ou}\n"
            for ou in ("Users", "Aliases")
        )
        assert server.add(tree).returncode == 0
        assert server.add(user).returncode == 0
        assert server.add(alias).returncode == 0  # no overlay yet: the duplicate goes in
        server.server.ldapdelete(f"mail=x@a.test,ou=Aliases,{domain}")

        shown = subprocess.run(
            [*cli(), "init-directory", "--config", str(ini), "--show-uniqueness", "cn=config"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        assert "olcDatabase={1}mdb,cn=config" in shown.stdout
        applied = server.server.client.run("ldapmodify", input=shown.stdout, check=False)
        assert applied.returncode == 0, applied.stderr
        refused = server.add(alias)
        assert refused.returncode == 19 and "non-unique attributes" in refused.stderr
        assert (
            server.server.client.search(
                f"o=domains,{creds.suffix}", "(mail=x@a.test)", "1.1"
            ).stdout.count("dn: ")
            == 1
        )
    finally:
        server.stop()

    conf = subprocess.run(
        [*cli(), "init-directory", "--config", str(ini), "--show-uniqueness", "slapd.conf"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert conf.returncode == 0, conf.stderr
    embedded = server.server.conf_path.read_text().splitlines()
    for line in conf.stdout.splitlines():
        assert not line or line.startswith("#") or line in embedded, line
