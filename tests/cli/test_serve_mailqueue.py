"""The embedded default runs a private Postfix below --data-dir: the queue routes work at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from iredapi_ldap import config as cfg
from tests.helpers import SERVE_ADMIN as ADMIN
from tests.helpers import SERVE_PASSWORD as PASSWORD
from tests.helpers import Served


def postqueue(etc: Path) -> list[dict]:
    """Return `postqueue -j` of the instance, read independently of the API."""
    result = subprocess.run(["/usr/sbin/postqueue", "-c", str(etc), "-j"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_the_queue_routes_work_on_the_embedded_default():
    """serve starts its own Postfix (no smtp listener); inject, list, count, delete through the API."""
    # Below /tmp, not pytest's 0700 tree: the postfix user must reach the data dir.
    base = Path(tempfile.mkdtemp(prefix="iredapi-serve-postfix-"))
    base.chmod(0o755)
    data = base / "var"
    server = Served(data, "--admin-email", ADMIN, "--admin-password", PASSWORD)
    try:
        etc = data / "postfix" / "etc"
        values = cfg.load_ini(data / "config.ini")
        assert (values["MAILHOST_POSTFIX_CONFIG_DIR"], values["MAILHOST_SUDO_COMMAND"]) == (
            str(etc),
            "",
        )
        services = subprocess.run(["/usr/sbin/postconf", "-c", str(etc), "-M"],
                                  capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert not any(line.split()[:2] == ["smtp", "inet"] for line in services.splitlines())

        api = requests.Session()
        assert api.post(f"{server.base}/login", data={"username": ADMIN, "password": PASSWORD}).ok
        assert api.get(f"{server.base}/mailqueue/count").json()["_data"]["total"] == 0
        sent = subprocess.run(["/usr/sbin/sendmail", "-C", str(etc), "-f", "a@origin.test",
                               "b@far.test"], input="Subject: t\n\nbody\n", text=True)  # fmt: skip
        assert sent.returncode == 0
        deadline = time.monotonic() + 20
        while [m["queue_name"] for m in postqueue(etc)] != ["deferred"]:
            assert time.monotonic() < deadline, postqueue(etc)
            time.sleep(0.2)
        listed = api.get(f"{server.base}/mailqueue").json()
        assert [m["id"] for m in listed["_data"]] == [m["queue_id"] for m in postqueue(etc)]
        deleted = api.delete(f"{server.base}/mailqueue", params={"force": "yes"})
        assert deleted.status_code == 200 and deleted.json()["_data"]["deleted"] == 1
        assert postqueue(etc) == []
        status = api.get(f"{server.base}/mailservice/clamav")
        assert status.status_code == 503
        assert status.json()["msg"] == "SERVICE_CONTROL_UNAVAILABLE"
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
