"""Deleting or renaming a user or domain through the API deletes or moves its policy rows."""

from __future__ import annotations

import pytest

from tests.helpers import add_domain
from tests.helpers import add_many
from tests.helpers import add_user
from tests.helpers import wait_done

from .conftest import open_api
from .iredapd import DUNNO
from .iredapd import REJECT_QUOTA


def accounts(policy, table):
    return sorted({row["account"] for row in policy.rows(table, "account")})


def fill(client):
    """Rules and greylisting for bob, example.com, another domain and global, through the API."""
    for target in ("global", "example.com", "bob@example.com", "other.test", "dan@other.test"):
        response = client.post(f"/api/throttle/{target}/outbound",
                               data={"period": "60", "max_msgs": "1"})  # fmt: skip
        assert response.status_code == 200, response.json
    for target in ("example.com", "bob@example.com", "dan@other.test"):
        assert (
            client.post(f"/api/greylisting/{target}", data={"status": "enable"}).status_code == 200
        )
        client.post(f"/api/greylisting/{target}/whitelists", data={"addSenders": "192.0.2.1"})


@pytest.fixture
def hosted(raw):
    for domain in ("example.com", "other.test"):
        add_domain(raw, domain)
    add_user(raw, "bob@example.com")
    add_user(raw, "dan@other.test")


def test_deleting_a_user_deletes_its_policy_rows(policy_api, hosted, raw):
    """The user's throttle, counters, greylisting and whitelist rows go; nobody else's."""
    client, policy = policy_api.client, policy_api.policy
    fill(client)
    assert policy.iredapd.send("bob@example.com", "x@remote.test", sasl="bob@example.com") == DUNNO
    assert policy.rows("throttle_tracking") != []

    assert client.delete("/api/user/bob@example.com").status_code == 200

    assert accounts(policy, "throttle") == ["@.", "@example.com", "@other.test", "dan@other.test"]
    assert accounts(policy, "greylisting") == ["@example.com", "dan@other.test"]
    assert accounts(policy, "greylisting_whitelists") == ["@example.com", "dan@other.test"]
    assert all(row["account"] != "bob@example.com" for row in policy.rows("throttle_tracking"))


def test_renaming_a_user_moves_its_policy_rows(policy_api, hosted):
    """The rule follows the new address: iRedAPD applies it to the renamed user at once."""
    client, policy = policy_api.client, policy_api.policy
    fill(client)

    response = client.post("/api/user/bob@example.com/change_email/robert@example.com")

    assert response.status_code == 200, response.json
    assert "robert@example.com" in accounts(policy, "throttle")
    assert "bob@example.com" not in accounts(policy, "throttle") + accounts(policy, "greylisting")
    assert client.get("/api/greylisting/robert@example.com").json["_data"] == {"status": "enabled"}
    send = policy.iredapd.send
    assert send("robert@example.com", "x@r.test", sasl="robert@example.com") == DUNNO
    assert send("robert@example.com", "y@r.test", sasl="robert@example.com") == REJECT_QUOTA


def test_deleting_a_domain_deletes_its_and_its_users_policy_rows(policy_api, hosted):
    """@example.com and every x@example.com go; other.test and global stay."""
    client, policy = policy_api.client, policy_api.policy
    fill(client)

    assert client.delete("/api/domain/example.com").status_code == 200

    assert accounts(policy, "throttle") == ["@.", "@other.test", "dan@other.test"]
    assert accounts(policy, "greylisting") == ["dan@other.test"]
    assert accounts(policy, "greylisting_whitelists") == ["dan@other.test"]


def test_a_domain_deleted_by_a_job_loses_its_policy_rows_too(request, tmp_path, app_config,
                                                             admin, raw):  # fmt: skip
    """Above JOBS_SYNC_LIMIT the delete is a job; the job drops the policy rows as well."""
    config = {**app_config, "JOBS_SYNC_LIMIT": 5, "JOBS_POLL_SECONDS": 1}
    setup = open_api(request, tmp_path, config, admin, "sqlite")
    api = next(setup)
    try:
        add_domain(raw, "example.com")
        add_domain(raw, "other.test")
        add_user(raw, "bob@example.com")
        add_user(raw, "dan@other.test")
        add_many(raw, 10, domain="example.com")
        fill(api.client)

        response = api.client.delete("/api/domain/example.com")

        assert response.status_code == 202, response.json
        job = wait_done(api.client, response.json["_data"]["id"])
        assert job["state"] == "done", job
        assert accounts(api.policy, "throttle") == ["@.", "@other.test", "dan@other.test"]
        assert accounts(api.policy, "greylisting") == ["dan@other.test"]
    finally:
        setup.close()
