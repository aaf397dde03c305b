"""Domain limits on users: numberOfUsers, maxUserQuota, defaultQuota, the domain quota.

The concurrency tests run the app in a real threaded HTTP server and fire
parallel requests from separately logged-in sessions, then count the result
in the directory with the rootdn.
"""

from __future__ import annotations

from tests.helpers import add_catchall
from tests.helpers import add_user
from tests.helpers import assert_error
from tests.helpers import logged_in_sessions
from tests.helpers import make_domain
from tests.helpers import run_at_once

DOMAIN = "example.com"
PASSWORD = "Secret-Pass-123"
MB = 1024 * 1024
USERS_FILTER = f"(&(objectClass=mailUser)(!(mail=@{DOMAIN})))"


def create(api, mail, **params):
    params.setdefault("password", PASSWORD)
    return api.post(f"/api/user/{mail}", data=params)


def counters(raw, domain=DOMAIN):
    entry = raw.entry(raw.domain_dn(domain))
    return (
        entry.get("domaincurrentusernumber", [None])[0],
        entry.get("domaincurrentquotasize", [None])[0],
    )


def user_count(raw, domain=DOMAIN):
    return raw.count(f"ou=Users,{raw.domain_dn(domain)}", USERS_FILTER)


# -- numberOfUsers ------------------------------------------------------------


def test_minus_one_allows_no_users(api, raw):
    make_domain(api, numberOfUsers="-1")
    assert_error(create(api, "a@example.com"), 403, "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")
    assert user_count(raw) == 0
    assert counters(raw)[0] == "0"


def test_limit_is_enforced_and_freed_by_delete(api, raw):
    make_domain(api, numberOfUsers="2")
    assert create(api, "a@example.com").status_code == 201
    assert create(api, "b@example.com").status_code == 201
    refused = create(api, "c@example.com")
    assert_error(refused, 403, "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")
    assert "limit of 2 users" in refused.json["detail"]
    assert counters(raw)[0] == "2"
    assert api.delete("/api/user/a@example.com").status_code == 200
    assert counters(raw)[0] == "1"
    assert create(api, "c@example.com").status_code == 201
    assert user_count(raw) == 2 and counters(raw)[0] == "2"


def test_zero_means_unlimited(api, raw):
    make_domain(api, numberOfUsers="0")
    for i in range(4):
        assert create(api, f"u{i}@example.com").status_code == 201
    assert counters(raw)[0] == "4"


def test_missing_counter_is_initialised_from_a_real_count(api, raw):
    make_domain(api, numberOfUsers="3")
    for mail in ("a@example.com", "b@example.com", "c@example.com"):
        add_user(raw, mail, mailQuota=str(5 * MB))
    # The catch-all is not a user and is not counted.
    add_catchall(raw, mailForwardingAddress=None)
    assert counters(raw) == (None, None)
    assert_error(create(api, "d@example.com"), 403, "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")
    assert counters(raw) == ("3", str(15 * MB))


def test_garbage_counter_is_recounted(api, raw):
    make_domain(api)
    add_user(raw, "a@example.com", mailQuota=str(MB))
    raw.conn.modify(raw.domain_dn(DOMAIN), {"domainCurrentQuotaSize": [("MODIFY_ADD", ["lots"])]})
    assert create(api, "b@example.com", quota="2").status_code == 201
    assert counters(raw) == ("2", str(3 * MB))


def test_failed_add_releases_the_reservation(api, raw):
    make_domain(api, numberOfUsers="5")
    raw.conn.modify(raw.domain_dn(DOMAIN), {"domainCurrentUserNumber": [("MODIFY_ADD", ["0"])],
                                            "domainCurrentQuotaSize": [("MODIFY_ADD", ["0"])]})  # fmt: skip
    # A broken domain without ou=Users: the reservation succeeds, the add cannot.
    assert raw.conn.delete(f"ou=Users,{raw.domain_dn(DOMAIN)}"), raw.conn.result
    response = create(api, "a@example.com", quota="10")
    assert response.status_code == 404, response.json
    assert counters(raw) == ("0", "0")


# -- per-user quota -------------------------------------------------------------


def test_max_user_quota_caps_the_quota(api, raw):
    make_domain(api, maxUserQuota="100")
    refused = create(api, "a@example.com", quota="101")
    assert_error(refused, 400, "EXCEEDED_MAX_USER_QUOTA", "quota")
    assert user_count(raw) == 0
    assert counters(raw)[0] == "0"
    assert create(api, "a@example.com", quota="100").status_code == 201
    # No quota asked and no default: the cap, never unlimited.
    assert create(api, "b@example.com").status_code == 201
    assert raw.entry(raw.user_dn("b@example.com"))["mailquota"] == [str(100 * MB)]


def test_default_quota_applies_and_is_checked_against_the_cap(api, raw):
    make_domain(api, defaultQuota="50", maxUserQuota="100")
    assert create(api, "a@example.com").status_code == 201
    assert raw.entry(raw.user_dn("a@example.com"))["mailquota"] == [str(50 * MB)]
    assert counters(raw) == ("1", str(50 * MB))


def test_update_quota_respects_the_cap(api, raw):
    make_domain(api, maxUserQuota="100")
    assert create(api, "a@example.com", quota="10").status_code == 201
    assert_error(api.put("/api/user/a@example.com", data={"quota": "200"}), 400,
                 "EXCEEDED_MAX_USER_QUOTA", "quota")  # fmt: skip
    assert_error(api.put("/api/user/a@example.com", data={"quota": "0"}), 400,
                 "EXCEEDED_MAX_USER_QUOTA", "quota")  # fmt: skip
    assert raw.entry(raw.user_dn("a@example.com"))["mailquota"] == [str(10 * MB)]
    assert counters(raw)[1] == str(10 * MB)


# -- whole-domain quota ---------------------------------------------------------


def test_domain_quota_limits_the_sum_of_user_quotas(api, raw):
    make_domain(api, quota="100")
    assert create(api, "a@example.com", quota="40").status_code == 201
    assert create(api, "b@example.com", quota="40").status_code == 201
    refused = create(api, "c@example.com", quota="40")
    assert_error(refused, 403, "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")
    assert "20 MB left" in refused.json["detail"]
    assert raw.entry(raw.user_dn("c@example.com")) is None
    # Without a quota a new user gets what is left (iRedAdmin-Pro).
    assert create(api, "c@example.com").status_code == 201
    assert raw.entry(raw.user_dn("c@example.com"))["mailquota"] == [str(20 * MB)]
    assert counters(raw) == ("3", str(100 * MB))
    assert_error(create(api, "d@example.com"), 403, "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")
    assert counters(raw) == ("3", str(100 * MB))


def test_domain_quota_on_update_and_delete(api, raw):
    make_domain(api, quota="100")
    assert create(api, "a@example.com", quota="30").status_code == 201
    assert create(api, "b@example.com", quota="30").status_code == 201
    assert_error(api.put("/api/user/a@example.com", data={"quota": "71"}), 403,
                 "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")  # fmt: skip
    assert_error(api.put("/api/user/a@example.com", data={"quota": "0"}), 403,
                 "EXCEEDED_DOMAIN_QUOTA_SIZE", "quota")  # fmt: skip
    assert api.put("/api/user/a@example.com", data={"quota": "70"}).status_code == 200
    assert counters(raw)[1] == str(100 * MB)
    assert api.put("/api/user/a@example.com", data={"quota": "20"}).status_code == 200
    assert counters(raw)[1] == str(50 * MB)
    assert api.delete("/api/user/b@example.com").status_code == 200
    assert counters(raw) == ("1", str(20 * MB))


def test_quota_counter_without_domain_quota_still_tracks_the_sum(api, raw):
    make_domain(api)
    assert create(api, "a@example.com", quota="10").status_code == 201
    assert api.put("/api/user/a@example.com", data={"quota": "0"}).status_code == 200
    assert "mailquota" not in raw.entry(raw.user_dn("a@example.com"))
    assert counters(raw) == ("1", "0")


# -- concurrency ----------------------------------------------------------------


def test_parallel_creates_never_exceed_number_of_users(api, raw, live_url):
    make_domain(api, numberOfUsers="5")
    sessions = logged_in_sessions(live_url, 20)
    results = run_at_once(
        sessions,
        lambda s, i: s.post(f"{live_url}/user/user{i:02d}@{DOMAIN}", data={"password": PASSWORD}),
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * 5 + [403] * 15, results
    assert {body["msg"] for status, body in results if status == 403} == {
        "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"
    }
    assert user_count(raw) == 5
    assert counters(raw)[0] == "5"


def test_parallel_creates_never_exceed_the_domain_quota(api, raw, live_url):
    make_domain(api, quota="100")
    sessions = logged_in_sessions(live_url, 20)
    results = run_at_once(
        sessions,
        lambda s, i: s.post(
            f"{live_url}/user/user{i:02d}@{DOMAIN}", data={"password": PASSWORD, "quota": "20"}
        ),  # fmt: skip
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * 5 + [403] * 15, results
    assert {body["msg"] for status, body in results if status == 403} == {
        "EXCEEDED_DOMAIN_QUOTA_SIZE"
    }
    assert user_count(raw) == 5
    assert counters(raw) == ("5", str(100 * MB))


def test_parallel_quota_raises_never_exceed_the_domain_quota(api, raw, live_url):
    make_domain(api, quota="150")
    for i in range(10):
        assert create(api, f"user{i:02d}@{DOMAIN}", quota="10").status_code == 201
    sessions = logged_in_sessions(live_url, 10)
    results = run_at_once(
        sessions, lambda s, i: s.put(f"{live_url}/user/user{i:02d}@{DOMAIN}", data={"quota": "20"})
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [200] * 5 + [403] * 5, results
    total = sum(
        int(raw.entry(raw.user_dn(f"user{i:02d}@{DOMAIN}"))["mailquota"][0]) for i in range(10)
    )
    assert total == 150 * MB
    assert counters(raw)[1] == str(150 * MB)


def test_parallel_creates_and_deletes_keep_the_counter_exact(api, raw, live_url):
    make_domain(api, numberOfUsers="10", quota="1000")
    for i in range(10):
        assert create(api, f"old{i:02d}@{DOMAIN}", quota="10").status_code == 201
    sessions = logged_in_sessions(live_url, 20)

    def request(session, i):
        if i < 10:
            return session.delete(f"{live_url}/user/old{i:02d}@{DOMAIN}")
        return session.post(
            f"{live_url}/user/new{i:02d}@{DOMAIN}", data={"password": PASSWORD, "quota": "5"}
        )

    results = run_at_once(sessions, request)
    assert all(status in (200, 201, 403) for status, _body in results), results
    created = sum(1 for status, _body in results if status == 201)
    assert user_count(raw) == created
    assert counters(raw) == (str(created), str(created * 5 * MB))
