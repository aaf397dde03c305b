"""The embedded default gives mlmmj a spool in --data-dir: every /api/ml route works out of the box."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import requests
from ldap3 import BASE
from ldap3 import Connection
from ldap3 import Server

from iredapi_ldap import config as cfg
from iredapi_ldap.cli import write_embedded_config
from tests.helpers import SERVE_ADMIN as ADMIN
from tests.helpers import SERVE_PASSWORD as PASSWORD
from tests.helpers import Served

LIST = "news@example.com"


def list_entry(data, mail):
    """Read a list's entry as the embedded slapd's rootdn (credentials.json), or None."""
    creds = json.loads((data / "slapd" / "credentials.json").read_text())
    local, domain = mail.split("@")
    dn = f"mail={mail},ou=Groups,domainName={domain},o=domains,{creds['suffix']}"
    conn = Connection(Server(creds["uri"]), creds["root_dn"], creds["root_password"],
                      auto_bind=True)  # fmt: skip
    try:
        if not conn.search(dn, "(objectClass=mailList)", BASE, attributes=["*"]):
            return None
        return conn.entries[0].entry_attributes_as_dict
    finally:
        conn.unbind()


def test_every_ml_route_works_on_the_embedded_default(tmp_path):
    """serve without a config: create, show, subscribe, list and delete an mlmmj list (no 503)."""
    data = tmp_path / "var"
    server = Served(data, "--admin-email", ADMIN, "--admin-password", PASSWORD)
    try:
        api = requests.Session()
        assert api.post(f"{server.base}/login", data={"username": ADMIN, "password": PASSWORD}).ok
        assert api.post(f"{server.base}/domain/example.com").status_code == 201

        created = api.post(f"{server.base}/ml/{LIST}", data={"name": "News"})
        assert created.status_code == 201, created.text
        assert created.json()["_data"]["spool_exists"] is True
        spool = data / "mlmmj" / "example.com" / "news"
        assert (spool / "control" / "listaddress").read_text().strip() == LIST
        entry = list_entry(data, LIST)
        assert entry["mtaTransport"] == ["mlmmj:example.com/news"]
        assert "mlmmj" in entry["enabledService"]

        updated = api.put(f"{server.base}/ml/{LIST}", data={
            "add_subscribers": "reader@example.org", "require_confirm": "no",
            "subject_prefix": "[news]"})  # fmt: skip
        assert updated.status_code == 200, updated.text
        shown = api.get(f"{server.base}/ml/{LIST}", params={"with_subscribers": "yes"})
        assert shown.status_code == 200, shown.text
        assert shown.json()["_data"]["subscribers"] == [
            {"mail": "reader@example.org", "subscription": "normal"}
        ]
        assert (spool / "control" / "prefix").read_text().strip() == "[news]"
        listed = api.get(f"{server.base}/mls/example.com")
        assert listed.status_code == 200, listed.text
        assert [item["mail"] for item in listed.json()["_data"]] == [LIST]

        deleted = api.delete(f"{server.base}/ml/{LIST}", params={"keep_archive": "yes"})
        assert deleted.status_code == 200, deleted.text
        archived = deleted.json()["_data"]["archived_to"]
        assert archived.startswith(f"{data / 'mlmmj-archive' / 'example.com' / 'news-'}")
        assert (Path(archived) / "control" / "listaddress").is_file()
        assert not spool.exists()
        assert list_entry(data, LIST) is None
    finally:
        server.stop()
    values = cfg.load_ini(data / "config.ini")
    assert values["MLMMJ_SPOOL_DIR"] == str(data / "mlmmj")
    assert values["MLMMJ_ARCHIVE_DIR"] == str(data / "mlmmj-archive")
    assert oct((data / "mlmmj").stat().st_mode & 0o777) == "0o700"


CREDS = SimpleNamespace(uri="ldapi://x", vmailadmin_dn="cn=vmailadmin,dc=x",
                        vmailadmin_password="pw", suffix="dc=x")  # fmt: skip


def test_an_older_data_dir_gets_the_spool_and_a_configured_one_is_kept(tmp_path):
    """A config.ini without [mlmmj] gains the data-dir spool; one that names a spool keeps it."""
    older = tmp_path / "older"
    cfg.write_ini(older / "config.ini", {"SECRET_KEY": "kept"})
    values = cfg.load_ini(write_embedded_config(older, CREDS))
    assert values["MLMMJ_SPOOL_DIR"] == str(older / "mlmmj")
    assert (older / "mlmmj").is_dir()
    assert values["SECRET_KEY"] == "kept"

    own = tmp_path / "own"
    cfg.write_ini(own / "config.ini", {"SECRET_KEY": "kept", "MLMMJ_SPOOL_DIR": "/srv/lists"})
    values = cfg.load_ini(write_embedded_config(own, CREDS))
    assert values["MLMMJ_SPOOL_DIR"] == "/srv/lists"
    assert "MLMMJ_ARCHIVE_DIR" not in values  # [mlmmj] archive_dir's default, next to it
    assert not (own / "mlmmj").exists()
