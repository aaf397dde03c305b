"""Background jobs: 202 + /api/jobs/<id> above [jobs] sync_limit, progress, resume after a crash, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from iredapi_ldap import config as cfg
from iredapi_ldap.cli import main as cli_main
from iredapi_ldap.jobs import process_owner
from iredapi_ldap.jobs.work import BULK_UPDATE
from iredapi_ldap.passwords import verify_password
from iredapi_ldap.sqlstore import get_store
from iredapi_ldap.sqlstore import utc_now
from iredapi_ldap.sqlstore.jobs import Jobs
from iredapi_ldap.sqlstore.tables import jobs
from tests.helpers import DOMAIN
from tests.helpers import add_catchall
from tests.helpers import add_many
from tests.helpers import add_user
from tests.helpers import make_domain
from tests.helpers import wait_done

from ..conftest import ADMIN_EMAIL
from ..conftest import ADMIN_PASSWORD

LIMIT = 50
NEW_PASSWORD = "Fresh-Pass-2024!"


@pytest.fixture
def app_config(app_config):
    """Jobs above 50 accounts, quick heartbeats, orphans taken over after 2 s."""
    return {
        **app_config,
        "JOBS_SYNC_LIMIT": LIMIT,
        "JOBS_HEARTBEAT_SECONDS": 0.2,
        "JOBS_STALE_SECONDS": 2,
        "JOBS_POLL_SECONDS": 1,
    }


def store_of(app) -> Jobs:
    return get_store(app).jobs


def count(raw, search_filter):
    return raw.count(raw.domain_dn(DOMAIN), search_filter)


def test_bulk_update_above_the_limit_is_a_job(api, raw):
    make_domain(api)
    add_many(raw, 120)
    add_catchall(raw)
    response = api.put(
        f"/api/users/{DOMAIN}", data={"accountStatus": "disabled", "language": "de_DE"}
    )
    assert response.status_code == 202, response.json
    job = response.json["_data"]
    assert response.json["success"] is True
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert (
        job["kind"] == BULK_UPDATE and job["domain"] == DOMAIN and job["created_by"] == ADMIN_EMAIL
    )
    assert job["state"] in ("pending", "running", "done")
    done = wait_done(api, job["id"])
    assert done["state"] == "done" and done["error"] is None, done
    assert done["progress"] == done["total"] == 120 and done["result"] == {"updated": 120}
    assert done["attempts"] == 1 and done["finished"] is not None
    assert count(raw, "(&(objectClass=mailUser)(accountStatus=disabled))") == 120
    assert count(raw, "(&(objectClass=mailUser)(preferredLanguage=de_DE))") == 120
    assert raw.entry(raw.user_dn(f"@{DOMAIN}"))["accountstatus"] == ["active"]


def test_at_the_limit_stays_inline(api, raw):
    make_domain(api)
    add_many(raw, LIMIT)
    response = api.put(f"/api/users/{DOMAIN}", data={"accountStatus": "disabled"})
    assert response.status_code == 200 and response.json["_data"] == {"updated": LIMIT}
    assert api.get("/api/jobs").json["total"] == 0


def test_bulk_password_job_hashes_each_user(api, raw):
    make_domain(api)
    add_many(raw, 60)
    response = api.put(f"/api/users/{DOMAIN}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 202, response.json
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    job = wait_done(api, response.json["_data"]["id"])
    assert job["state"] == "done" and job["progress"] == 60, job
    hashes = [raw.entry(raw.user_dn(f"user{i:05d}@{DOMAIN}"))["userpassword"][0] for i in range(60)]
    assert len(set(hashes)) == 60 and all(verify_password(NEW_PASSWORD, h) for h in hashes)
    with get_store(api.application).engine.connect() as conn:
        stored = conn.execute(sa.select(jobs.c.params)).scalar_one()
    assert NEW_PASSWORD not in stored


def test_policy_and_domain_are_checked_before_the_job(api, raw):
    make_domain(api)
    add_many(raw, 60)
    response = api.put(f"/api/users/{DOMAIN}/password", data={"password": "short"})
    assert response.status_code == 400 and "password" in response.json["errors"]
    response = api.put("/api/users/nowhere.example", data={"accountStatus": "disabled"})
    assert response.status_code == 404 and response.json["msg"] == "NO_SUCH_DOMAIN"
    assert api.get("/api/jobs").json["total"] == 0


def test_domain_delete_above_the_limit_is_a_job(api, raw, app):
    make_domain(api)
    for i in range(55):
        add_user(raw, f"u{i:02d}@{DOMAIN}", password=None)
    assert api.post("/api/domain/keep.example").status_code == 201
    response = api.delete(f"/api/domain/{DOMAIN}/keep_mailbox_days/30")
    assert response.status_code == 202, response.json
    job = wait_done(api, response.json["_data"]["id"])
    assert job["state"] == "done" and job["total"] == 55 + 5 and job["progress"] == 60, job
    assert raw.entry(raw.domain_dn(DOMAIN)) is None
    assert raw.entry(raw.domain_dn("keep.example")) is not None
    with app.app_context():
        logged = get_store(app).deleted_mailboxes(domain=DOMAIN)
    assert sorted(row["username"] for row in logged) == [f"u{i:02d}@{DOMAIN}" for i in range(55)]
    assert all(row["admin"] == ADMIN_EMAIL and row["delete_date"] is not None for row in logged)


def test_jobs_listing_and_access(api, raw, client):
    make_domain(api)
    add_many(raw, 60)
    job_id = api.put(f"/api/users/{DOMAIN}", data={"accountStatus": "disabled"}).json["_data"]["id"]
    wait_done(api, job_id)
    body = api.get("/api/jobs?state=done&page=1&page_size=10").json
    assert body["total"] == 1 and [j["id"] for j in body["_data"]] == [job_id]
    assert api.get("/api/jobs?state=running").json["total"] == 0
    response = api.get("/api/jobs?state=lost")
    assert response.status_code == 400 and "state" in response.json["errors"]
    response = api.get("/api/jobs/0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
    client.post("/api/logout")
    assert client.get(f"/api/jobs/{job_id}").status_code == 401
    assert client.get("/api/jobs").status_code == 401


def _orphan(app, params, progress=0, total=None):
    """Record a job as running in a process that stopped beating a minute ago."""
    store = store_of(app)
    job_id = store.create(
        BULK_UPDATE, DOMAIN, params, ADMIN_EMAIL, total=total, owner="gone.example:1"
    )
    with get_store(app).engine.begin() as conn:
        conn.execute(
            sa.update(jobs).where(jobs.c.id == job_id)
            .values(heartbeat=utc_now() - timedelta(minutes=1), progress=progress)
        )  # fmt: skip
    return job_id


def test_stale_job_is_taken_over_and_finished(api, raw, app):
    make_domain(api)
    add_many(raw, 80)
    job_id = _orphan(
        app, {"domain": DOMAIN, "values": {"accountStatus": "disabled"}, "password": False}, 30, 80
    )
    job = wait_done(api, job_id)
    assert job["state"] == "done" and job["attempts"] == 2, job
    assert job["progress"] == job["total"] == 80
    assert store_of(app).get(job_id)["owner"] == process_owner()
    assert count(raw, "(&(objectClass=mailUser)(accountStatus=disabled))") == 80


def test_orphaned_password_job_fails_safely(api, raw, app):
    make_domain(api)
    add_many(raw, 60)
    job_id = _orphan(app, {"domain": DOMAIN, "values": {}, "password": True})
    job = wait_done(api, job_id)
    assert job["state"] == "failed" and job["error"].startswith("JOB_INTERRUPTED"), job


CHILD = """
import json, sys, time
from iredapi_ldap import create_app
config, domain, user, password = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
client = create_app(config).test_client()
assert client.post("/api/login", data={"username": user, "password": password}).status_code == 200
response = client.put(f"/api/users/{domain}", data={"accountStatus": "disabled"})
assert response.status_code == 202, response.get_json()
print(response.get_json()["_data"]["id"], flush=True)
time.sleep(600)
"""


def test_job_of_a_killed_worker_resumes_elsewhere(api, raw, app, app_config):
    """A worker process is SIGKILLed mid-job; this process takes the job over and completes it."""
    make_domain(api)
    add_many(raw, 2000)
    add_catchall(raw)
    child_config = {**app_config, "JOBS_PARALLELISM": 1, "JOBS_HEARTBEAT_SECONDS": 0.05}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(child_config), DOMAIN, ADMIN_EMAIL, ADMIN_PASSWORD],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )  # fmt: skip
    try:
        job_id = child.stdout.readline().strip()
        assert job_id, "the child did not start a job"
        store = store_of(app)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = store.get(job_id)
            if row["progress"] >= 100:
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    row = store.get(job_id)
    assert row["state"] == "running" and row["owner"].endswith(f":{child.pid}"), row
    assert 0 < row["progress"] < 2000, "the job must be killed mid-way"
    job = wait_done(api, job_id)
    assert job["state"] == "done" and job["attempts"] == 2, job
    assert job["progress"] == job["total"] == 2000
    assert store.get(job_id)["owner"] == process_owner()
    assert count(raw, "(&(objectClass=mailUser)(accountStatus=disabled))") == 2000
    assert raw.entry(raw.user_dn(f"@{DOMAIN}"))["accountstatus"] == ["active"]


def test_cli_bulk_update_and_wait(api, raw, app_config, tmp_path):
    make_domain(api)
    add_many(raw, 70)
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, app_config)
    result = CliRunner().invoke(cli_main, ["bulk-update", DOMAIN, "--status", "disabled", "--language", "fr_FR",
                                           "--config", str(ini)])  # fmt: skip
    assert result.exit_code == 0, result.output
    job_id = result.output.split()[1]
    assert f"job {job_id} done" in result.output and '"updated": 70' in result.output
    assert (
        count(raw, "(&(objectClass=mailUser)(accountStatus=disabled)(preferredLanguage=fr_FR))")
        == 70
    )
    waited = CliRunner().invoke(cli_main, ["jobs", "wait", job_id, "--config", str(ini)])
    assert waited.exit_code == 0 and f"job {job_id} done" in waited.output, waited.output
    listed = CliRunner().invoke(cli_main, ["jobs", "list", "--config", str(ini)])
    assert job_id in listed.output and "1 job(s)" in listed.output
    bad = CliRunner().invoke(
        cli_main, ["bulk-update", DOMAIN, "--language", "not a language", "--config", str(ini)]
    )
    assert bad.exit_code != 0 and "language" in bad.output
