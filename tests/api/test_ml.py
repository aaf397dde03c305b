"""Subscribable (mlmmj) lists: /api/ml/<mail> and /api/mls/<domain>.

Every test checks the LDAP entry (rootdn), the list directory on disk and what the
real `mlmmj-list` reads back; the Postfix tests query iRedMail's LDAP maps with postmap.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.helpers import assert_error
from tests.helpers import list_dn
from tests.helpers import logged_in_sessions
from tests.helpers import make_domain
from tests.helpers import run_at_once

DOMAIN = "example.com"
LIST = f"team@{DOMAIN}"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DEFAULT_HEADERS = (
    "Precedence: list\n"
    "X-Mailing-List: team@example.com\n"
    "List-Subscribe: <mailto:team+subscribe@example.com?subject=Subscribe>\n"
    "List-Unsubscribe: <mailto:team+unsubscribe@example.com?subject=Unsubscribe>\n"
)
DEFAULT_CONTROLS = {
    "listaddress": f"{LIST}\n",
    "owner": "postmaster@example.com\n",
    "moderators": "postmaster@example.com\n",
    "customheaders": DEFAULT_HEADERS,
    "tocc": "",
    "subonlypost": "",
    "noget": "",
    "subonlyget": "",
}


@pytest.fixture
def app_config(app_config, mlmmj_spool):
    """The test app with its mlmmj spool and archive in the test's tmp directory."""
    spool, archive = mlmmj_spool
    return {**app_config, "MLMMJ_SPOOL_DIR": str(spool), "MLMMJ_ARCHIVE_DIR": str(archive)}


@pytest.fixture
def spool(mlmmj_spool):
    return mlmmj_spool[0]


# -- helpers -------------------------------------------------------------------------------


def create(api, mail=LIST, **params):
    return api.post(f"/api/ml/{mail}", data=params)


def created(api, mail=LIST, **params):
    response = create(api, mail, **params)
    assert response.status_code == 201, response.json
    return response.json["_data"]


def list_dir(spool, mail=LIST):
    local, domain = mail.split("@")
    return spool / domain / local


def controls(spool, mail=LIST):
    """Return {control file: content} of a list."""
    return {p.name: p.read_text() for p in (list_dir(spool, mail) / "control").iterdir()}


def mlmmj_list(spool, mail=LIST, *flags):
    """What the real mlmmj-list prints for the list (sorted lines)."""
    result = subprocess.run(["/usr/bin/mlmmj-list", "-L", str(list_dir(spool, mail)), *flags],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return sorted(line for line in result.stdout.splitlines() if line)


def list_counter(raw, domain=DOMAIN):
    return raw.entry(raw.domain_dn(domain)).get("domaincurrentlistnumber", [None])[0]


def add_alias_domain(raw, alias, domain=DOMAIN):
    assert raw.conn.modify(raw.domain_dn(domain), {"domainAliasName": [("MODIFY_ADD", [alias])]})


def spool_state(spool):
    """Every file below the spool with its content, for "nothing changed" checks."""
    return {str(p.relative_to(spool)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(spool.rglob("*"))}  # fmt: skip


# -- create ----------------------------------------------------------------------------------


def test_create_writes_the_entry_mlmmjadmin_writes(api, raw, spool):
    make_domain(api)
    add_alias_domain(raw, "alias.test")
    data = created(api, name="Team")
    entry = raw.attrs(list_dn(raw, LIST))
    mlid = entry.pop("mailinglistid")
    assert len(mlid) == 1 and UUID.match(mlid[0])
    assert entry == {
        "objectclass": ["mailList"],
        "mail": [LIST],
        "mtatransport": ["mlmmj:example.com/team"],
        "accountstatus": ["active"],
        "enabledservice": ["deliver", "mail", "mlmmj"],
        "cn": ["Team"],
        "accesspolicy": ["membersonly"],
        "shadowaddress": ["team@alias.test"],
        "listowner": ["postmaster@example.com"],
        "listmoderator": ["postmaster@example.com"],
        "listalloweduser": ["postmaster@example.com"],
    }
    assert list_counter(raw) == "1"
    assert data["mail"] == LIST and data["mailingListID"] == mlid[0]
    assert data["transport"] == "mlmmj:example.com/team" and data["accessPolicy"] == "membersonly"
    assert data["only_subscriber_can_post"] is True and data["tocc"] is True
    assert data["spool_exists"] is True and "subscribers" not in data


def test_create_lays_out_the_list_directory(api, spool):
    make_domain(api)
    created(api, name="Team")
    path = list_dir(spool)
    assert sorted(p.name for p in path.iterdir()) == sorted([
        "archive", "bounce", "control", "digesters.d", "incoming", "index", "moderation",
        "nomailsubs.d", "queue", "requeue", "subconf", "subscribers.d", "text", "unsubconf",
    ])  # fmt: skip
    assert controls(spool) == {**DEFAULT_CONTROLS, "name": "Team\n"}
    assert (path / "text" / "help").is_file()
    assert mlmmj_list(spool) == [] and mlmmj_list(spool, LIST, "-o") == ["postmaster@example.com"]


def test_create_with_subscribers_without_confirmation(api, raw, spool):
    make_domain(api)
    data = created(api, subscribers="Alice@Example.org, bob@example.net", require_confirm="no")
    assert mlmmj_list(spool) == ["alice@example.org", "bob@example.net"]
    assert data["subscribers"] == [
        {"mail": "alice@example.org", "subscription": "normal"},
        {"mail": "bob@example.net", "subscription": "normal"},
    ]
    assert list(list_dir(spool).joinpath("subconf").iterdir()) == []


def test_create_with_digest_subscribers_as_json(api, spool):
    make_domain(api)
    response = api.post(f"/api/ml/{LIST}", json={
        "subscribers": ["carol@example.org"], "require_confirm": False, "subscription": "digest",
    })  # fmt: skip
    assert response.status_code == 201, response.json
    assert mlmmj_list(spool, LIST, "-d") == ["carol@example.org"] and mlmmj_list(spool) == []


def test_subscribers_confirm_by_default(api, spool):
    make_domain(api)
    data = created(api, subscribers="erin@example.org")
    assert data["subscribers"] == [] and mlmmj_list(spool) == []
    pending = [p.name for p in (list_dir(spool) / "subconf").iterdir()]
    assert len(pending) == 1 and pending[0].endswith("-erin=example.org")


def test_create_every_profile_parameter(api, raw, spool):
    make_domain(api)
    data = created(
        api, name="Sales", accessPolicy="moderatorsonly", max_message_size="1048576",
        newsletter_description="News for customers", is_newsletter="yes", close_list="yes",
        disable_subscription="yes", disable_archive="yes", notify_owner_when_sub_unsub="yes",
        owner="boss@example.com,second@example.com", moderators="mod@example.com",
        subscription_moderators="gate@example.com", extra_addresses="sales@example.com",
        subject_prefix="[sales]", custom_headers="X-Team: sales\\nX-Mailing-List: overridden",
        remove_headers="Received,X-Spam:", footer_html="<p>bye</p>", tocc="no",
    )  # fmt: skip
    files = controls(spool)
    assert files == {
        "listaddress": f"{LIST}\nsales@example.com\n",
        "name": "Sales\n",
        "owner": "boss@example.com\nsecond@example.com\n",
        "moderators": "mod@example.com\n",
        "submod": "gate@example.com\n",
        "customheaders": "X-Team: sales\n" + DEFAULT_HEADERS,
        "delheaders": "Received:\nX-Spam:\n",
        "prefix": "[sales]\n",
        "maxmailsize": "1048576\n",
        "modonlypost": "", "moderated": "", "closedlist": "", "closedlistsub": "",
        "noarchive": "", "notifysub": "", "enable_newsletter_subscription": "",
        "noget": "", "subonlyget": "",
        "footer_html": "<p>bye</p>\n", "footer_text": "\n",
    }  # fmt: skip
    entry = raw.attrs(list_dn(raw, LIST))
    assert entry["accesspolicy"] == ["moderatorsonly"]
    assert entry["maxmessagesize"] == ["1048576"]
    assert entry["description"] == ["News for customers"]
    assert entry["listowner"] == ["boss@example.com", "second@example.com"]
    assert entry["listmoderator"] == ["mod@example.com"]
    assert entry["listalloweduser"] == ["boss@example.com", "mod@example.com", "second@example.com"]
    assert data["is_newsletter"] is True and data["moderate_subscription"] is True
    assert data["extra_addresses"] == ["sales@example.com"]
    assert data["max_message_size"] == 1048576 and data["maxMailSize"] == 1048576
    assert mlmmj_list(spool, LIST, "-m") == ["mod@example.com"]


def test_create_disabled_in_a_disabled_domain(api, raw, spool):
    make_domain(api, accountStatus="disabled")
    created(api, accountStatus="disabled", accessPolicy="domain")
    entry = raw.attrs(list_dn(raw, LIST))
    assert entry["accountstatus"] == ["disabled"] and entry["domainstatus"] == ["disabled"]
    assert entry["accesspolicy"] == ["domain"]
    assert "subonlypost" not in controls(spool) and "modonlypost" not in controls(spool)


@pytest.mark.parametrize("params, field", [
    ({"subscribers": "alice@example.org,not an address"}, "subscribers"),
    ({"owner": "boss@"}, "owner"),
    ({"accessPolicy": "everyone"}, "accessPolicy"),
    ({"close_list": "maybe"}, "close_list"),
    ({"max_message_size": "-1"}, "max_message_size"),
    ({"maxMailSize": "10", "max_message_size": "20"}, "maxMailSize"),
    ({"subject_prefix": "two\nlines"}, "subject_prefix"),
    ({"custom_headers": "no colon here"}, "custom_headers"),
    ({"remove_headers": "Bad Header"}, "remove_headers"),
    ({"add_subscribers": "a@example.org"}, "add_subscribers"),
    ({"subscription": "digest"}, "subscription"),
    ({"subscribers": "a@example.org", "subscription": "weekly"}, "subscription"),
    ({"accessPolicy": "public", "only_subscriber_can_post": "yes"}, "only_subscriber_can_post"),
    ({"only_subscriber_can_post": "yes", "only_moderator_can_post": "yes"}, "only_moderator_can_post"),
    ({"subscribers": LIST, "require_confirm": "no"}, "subscribers"),
    ({"subscribers": "team@alias.test", "require_confirm": "no"}, "subscribers"),
])  # fmt: skip
def test_bad_input_is_400_and_changes_nothing(api, raw, spool, params, field):
    make_domain(api)
    add_alias_domain(raw, "alias.test")
    before = raw.snapshot()
    response = create(api, **params)
    assert_error(response, 400, response.json["msg"], field)
    assert raw.snapshot() == before
    assert spool_state(spool) == {}


def test_an_invalid_subscriber_is_named(api, spool):
    make_domain(api)
    response = create(api, subscribers="good@example.org,bad@@example.org")
    assert response.status_code == 400
    assert "bad@@example.org" in response.json["errors"]["subscribers"][0]
    assert "good@example.org" not in response.json["errors"]["subscribers"][0]


def test_address_in_use_is_409_and_leaves_no_directory(api, raw, spool):
    make_domain(api)
    user = api.post(f"/api/user/{LIST}", data={"password": "Secret-Pass-123"})
    assert user.status_code == 201, user.json
    assert_error(create(api), 409, "ALREADY_EXISTS", "mail")
    assert not list_dir(spool).exists()
    assert list_counter(raw) in (None, "0")


def test_existing_list_directory_is_409_and_kept(api, raw, spool):
    make_domain(api)
    leftover = list_dir(spool) / "control"
    leftover.mkdir(parents=True)
    (leftover / "owner").write_text("old@example.com\n")
    assert_error(create(api), 409, "ALREADY_EXISTS", "mail")
    assert (leftover / "owner").read_text() == "old@example.com\n"
    assert raw.entry(list_dn(raw, LIST)) is None and list_counter(raw) == "0"


def test_failed_ldap_add_removes_the_directory_and_releases_the_counter(api, raw, spool):
    make_domain(api)
    # An entry at the list's DN that is no account: the address looks free, the add fails.
    assert raw.conn.add(list_dn(raw, LIST), attributes={
        "objectClass": ["inetOrgPerson"], "mail": LIST, "cn": "x", "sn": "x",
    }), raw.conn.result  # fmt: skip
    response = create(api, subscribers="a@example.org", require_confirm="no")
    assert_error(response, 409, "ALREADY_EXISTS")
    assert not list_dir(spool).exists()
    assert list_counter(raw) == "0"


def test_missing_mlmmj_tools_is_503_and_changes_nothing(api, raw, spool, app, tmp_path):
    make_domain(api)
    app.config["MLMMJ_BIN_DIR"] = str(tmp_path / "no-bin")
    before = raw.snapshot()
    response = create(api)
    assert_error(response, 503, "MAILHOST_UNAVAILABLE")
    assert "apt-get install mlmmj" in response.json["detail"]
    assert spool_state(spool) == {}
    assert raw.snapshot() == before


def test_missing_tools_refuse_subscriber_changes_before_the_entry_changes(
    api, raw, spool, app, tmp_path
):
    make_domain(api)
    created(api)
    app.config["MLMMJ_BIN_DIR"] = str(tmp_path / "no-bin")
    before, files = raw.snapshot(), spool_state(spool)
    response = api.put(f"/api/ml/{LIST}", data={"name": "New", "add_subscribers": "a@example.org"})
    assert_error(response, 503, "MAILHOST_UNAVAILABLE")
    assert raw.snapshot() == before and spool_state(spool) == files


def test_missing_spool_is_503(api, raw, app, tmp_path):
    make_domain(api)
    app.config["MLMMJ_SPOOL_DIR"] = str(tmp_path / "no-spool")
    assert_error(create(api), 503, "MAILHOST_UNAVAILABLE")
    assert raw.entry(list_dn(raw, LIST)) is None and not (tmp_path / "no-spool").exists()


def test_missing_domain_is_404(api, spool):
    assert_error(create(api, "team@nowhere.test"), 404, "NO_SUCH_DOMAIN")
    assert spool_state(spool) == {}


# -- numberOfLists -----------------------------------------------------------------------------


def test_number_of_lists_is_enforced_and_freed_by_delete(api, raw, spool):
    make_domain(api, numberOfLists="2")
    created(api, "a@example.com")
    created(api, "b@example.com")
    assert_error(create(api, "c@example.com"), 403, "EXCEEDED_DOMAIN_ML_LIMIT")
    assert not list_dir(spool, "c@example.com").exists()
    assert list_counter(raw) == "2"
    assert api.delete("/api/ml/a@example.com").status_code == 200
    assert list_counter(raw) == "1"
    created(api, "c@example.com")
    assert list_counter(raw) == "2"


def test_minus_one_allows_no_lists(api, spool):
    make_domain(api, numberOfLists="-1")
    assert_error(create(api), 403, "EXCEEDED_DOMAIN_ML_LIMIT")
    assert spool_state(spool) == {}


def test_legacy_lists_count_towards_number_of_lists(api, raw):
    make_domain(api, numberOfLists="1")
    assert raw.conn.add(list_dn(raw, "old@example.com"), attributes={
        "objectClass": ["mailList"], "mail": "old@example.com", "accountStatus": "active",
        "enabledService": ["mail", "deliver"],
    })  # fmt: skip
    assert_error(create(api), 403, "EXCEEDED_DOMAIN_ML_LIMIT")
    assert list_counter(raw) == "1"


def test_parallel_creates_never_exceed_number_of_lists(api, raw, spool, live_url):
    make_domain(api, numberOfLists="3")
    results = run_at_once(
        logged_in_sessions(live_url, 10), lambda s, i: s.post(f"{live_url}/ml/list{i}@{DOMAIN}")
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * 3 + [403] * 7, results
    assert raw.count(f"ou=Groups,{raw.domain_dn(DOMAIN)}", "(objectClass=mailList)") == 3
    assert len(list((spool / DOMAIN).iterdir())) == 3
    assert list_counter(raw) == "3"


def test_parallel_creates_of_one_address_make_one_list(api, raw, spool, live_url):
    make_domain(api)
    results = run_at_once(
        logged_in_sessions(live_url, 6), lambda s, i: s.post(f"{live_url}/ml/{LIST}")
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] + [409] * 5, results
    assert [p.name for p in (spool / DOMAIN).iterdir()] == ["team"]
    assert list_counter(raw) == "1"
    assert controls(spool) == DEFAULT_CONTROLS


# -- read ----------------------------------------------------------------------------------------


def test_get_with_subscribers_of_every_version(api, spool):
    make_domain(api)
    created(api, subscribers="alice@example.org", require_confirm="no")
    api.put(f"/api/ml/{LIST}", data={"add_subscribers": "carol@example.org",
                                     "subscription": "digest", "require_confirm": "no"})  # fmt: skip
    api.put(f"/api/ml/{LIST}", data={"add_subscribers": "dave@example.org",
                                     "subscription": "nomail", "require_confirm": "no"})  # fmt: skip
    plain = api.get(f"/api/ml/{LIST}")
    assert plain.status_code == 200 and "subscribers" not in plain.json["_data"]
    data = api.get(f"/api/ml/{LIST}?with_subscribers=yes").json["_data"]
    assert data["subscribers"] == [
        {"mail": "alice@example.org", "subscription": "normal"},
        {"mail": "carol@example.org", "subscription": "digest"},
        {"mail": "dave@example.org", "subscription": "nomail"},
    ]
    assert mlmmj_list(spool, LIST, "-d") == ["carol@example.org"]
    assert mlmmj_list(spool, LIST, "-n") == ["dave@example.org"]


def test_get_unknown_and_old_style_lists_are_404(api, raw):
    make_domain(api)
    assert_error(api.get(f"/api/ml/{LIST}"), 404, "NO_SUCH_ACCOUNT")
    assert raw.conn.add(list_dn(raw, LIST), attributes={
        "objectClass": ["mailList"], "mail": LIST, "accountStatus": "active",
        "enabledService": ["mail", "deliver"],
    })  # fmt: skip
    response = api.get(f"/api/ml/{LIST}")
    assert_error(response, 404, "NO_SUCH_ACCOUNT")
    assert "/api/maillist/" in response.json["detail"]


def test_get_unknown_query_parameter_is_400(api):
    make_domain(api)
    created(api)
    assert_error(
        api.get(f"/api/ml/{LIST}?with_subscriber=yes"), 400, "INVALID_PARAMETERS", "with_subscriber"
    )


def test_get_reports_a_missing_directory(api, spool):
    make_domain(api)
    created(api, owner="boss@example.com")
    import shutil

    shutil.rmtree(list_dir(spool))
    data = api.get(f"/api/ml/{LIST}?with_subscribers=yes").json["_data"]
    assert data["spool_exists"] is False and data["subscribers"] == [] and data["owner"] == []
    assert_error(api.put(f"/api/ml/{LIST}", data={"close_list": "yes"}), 409, "CONFLICT")


def test_list_lists_paged_and_email_only(api, raw, spool):
    make_domain(api)
    for name in ("a", "b", "c"):
        created(api, f"{name}@example.com")
    assert raw.conn.add(list_dn(raw, "old@example.com"), attributes={
        "objectClass": ["mailList"], "mail": "old@example.com", "accountStatus": "active",
        "enabledService": ["mail", "deliver"],
    })  # fmt: skip
    response = api.get(f"/api/mls/{DOMAIN}?email_only=yes")
    assert response.status_code == 200
    assert sorted(response.json["_data"]) == ["a@example.com", "b@example.com", "c@example.com"]
    assert response.json["total"] == 3
    page = api.get(f"/api/mls/{DOMAIN}?page=2&page_size=2").json
    assert page["total"] == 3 and page["page"] == 2 and len(page["_data"]) == 1
    assert page["_data"][0]["transport"].startswith("mlmmj:example.com/")
    assert_error(api.get("/api/mls/nowhere.test"), 404, "NO_SUCH_DOMAIN")
    assert_error(
        api.get(f"/api/mls/{DOMAIN}?emailonly=yes"), 400, "INVALID_PARAMETERS", "emailonly"
    )


# -- update ----------------------------------------------------------------------------------------


def test_update_subscribers_add_and_remove(api, spool):
    make_domain(api)
    created(api, subscribers="a@example.org,b@example.org", require_confirm="no")
    response = api.put(f"/api/ml/{LIST}", data={
        "add_subscribers": "c@example.org", "remove_subscribers": "a@example.org",
        "require_confirm": "no",
    })  # fmt: skip
    assert response.status_code == 200, response.json
    assert mlmmj_list(spool) == ["b@example.org", "c@example.org"]
    assert [s["mail"] for s in response.json["_data"]["subscribers"]] == [
        "b@example.org",
        "c@example.org",
    ]


def test_update_subscribers_replaces_the_whole_set(api, spool):
    make_domain(api)
    created(api, subscribers="a@example.org,b@example.org", require_confirm="no")
    api.put(f"/api/ml/{LIST}", data={"add_subscribers": "d@example.org", "subscription": "digest",
                                     "require_confirm": "no"})  # fmt: skip
    response = api.put(f"/api/ml/{LIST}", data={"subscribers": "b@example.org,e@example.org",
                                                "require_confirm": "no"})  # fmt: skip
    assert response.status_code == 200, response.json
    assert mlmmj_list(spool) == ["b@example.org", "e@example.org"]
    assert mlmmj_list(spool, LIST, "-d") == []


def test_update_subscriber_triad_and_overlap_are_400(api, spool):
    make_domain(api)
    created(api)
    before = spool_state(spool)
    for params, field in (
        ({"subscribers": "a@example.org", "add_subscribers": "b@example.org"}, "subscribers"),
        (
            {"add_subscribers": "a@example.org", "remove_subscribers": "a@example.org"},
            "add_subscribers",
        ),
        ({"add_subscriber": "a@example.org"}, "add_subscriber"),  # mlmmjadmin#25: never ignored
        ({"remove_subscribers": "x@"}, "remove_subscribers"),
    ):
        assert_error(api.put(f"/api/ml/{LIST}", data=params), 400, "INVALID_PARAMETERS", field)
    assert spool_state(spool) == before


def test_update_settings_and_entry(api, raw, spool):
    make_domain(api)
    created(api, name="Team")
    response = api.put(f"/api/ml/{LIST}", data={
        "name": "Team 2", "close_list": "yes", "subject_prefix": "[t]", "maxMailSize": "2048",
        "moderators": "m1@example.com,m2@example.com", "owner": "o@example.com",
        "newsletter_description": "Weekly", "accountStatus": "disabled",
        "disable_retrieving_old_posts": "no",
    })  # fmt: skip
    assert response.status_code == 200, response.json
    files = controls(spool)
    assert files["name"] == "Team 2\n" and files["closedlist"] == "" and files["prefix"] == "[t]\n"
    assert files["maxmailsize"] == "2048\n" and "noget" not in files
    assert (
        files["moderators"] == "m1@example.com\nm2@example.com\n"
        and files["owner"] == "o@example.com\n"
    )
    entry = raw.attrs(list_dn(raw, LIST))
    assert entry["cn"] == ["Team 2"] and entry["accountstatus"] == ["disabled"]
    assert entry["maxmessagesize"] == ["2048"] and entry["description"] == ["Weekly"]
    assert entry["listmoderator"] == ["m1@example.com", "m2@example.com"]
    assert entry["listowner"] == ["o@example.com"]
    assert entry["listalloweduser"] == ["m1@example.com", "m2@example.com", "o@example.com"]
    data = response.json["_data"]
    assert data["close_list"] is True and data["disable_retrieving_old_posts"] is False
    # Empty values remove again; an empty owner falls back to postmaster@<domain>.
    response = api.put(f"/api/ml/{LIST}", data={
        "subject_prefix": "", "maxMailSize": "0", "moderators": "", "owner": "",
        "newsletter_description": "", "name": "",
    })  # fmt: skip
    assert response.status_code == 200, response.json
    files = controls(spool)
    assert "prefix" not in files and "maxmailsize" not in files and "moderators" not in files
    assert "name" not in files and files["owner"] == "postmaster@example.com\n"
    entry = raw.attrs(list_dn(raw, LIST))
    for gone in ("cn", "maxmessagesize", "description", "listmoderator"):
        assert gone not in entry, gone
    assert entry["listowner"] == entry["listalloweduser"] == ["postmaster@example.com"]


@pytest.mark.parametrize("params, policy, present, absent", [
    ({"accessPolicy": "moderatorsonly"}, "moderatorsonly", {"modonlypost", "moderated"}, {"subonlypost"}),
    ({"accessPolicy": "public"}, "public", set(), {"subonlypost", "modonlypost"}),
    ({"accessPolicy": "subdomain"}, "subdomain", set(), {"subonlypost", "modonlypost"}),
    ({"only_moderator_can_post": "yes"}, "moderatorsonly", {"modonlypost", "moderated"}, {"subonlypost"}),
    ({"only_subscriber_can_post": "no"}, "public", set(), {"subonlypost", "modonlypost"}),
])  # fmt: skip
def test_access_policy_and_posting_flags_stay_in_step(
    api, raw, spool, params, policy, present, absent
):
    make_domain(api)
    created(api)
    response = api.put(f"/api/ml/{LIST}", data=params)
    assert response.status_code == 200, response.json
    assert raw.attrs(list_dn(raw, LIST))["accesspolicy"] == [policy]
    files = set(controls(spool))
    assert present <= files and not (absent & files)
    assert response.json["_data"]["accessPolicy"] == policy


def test_posting_flag_back_to_members_only(api, raw, spool):
    make_domain(api)
    created(api, accessPolicy="moderatorsonly")
    response = api.put(f"/api/ml/{LIST}", data={"only_subscriber_can_post": "yes"})
    assert response.status_code == 200, response.json
    assert raw.attrs(list_dn(raw, LIST))["accesspolicy"] == ["membersonly"]
    assert "subonlypost" in controls(spool) and "modonlypost" not in controls(spool)


def test_update_leaves_a_missing_access_policy_alone(api, raw, spool):
    make_domain(api)
    created(api)
    # mlmmjadmin writes no accessPolicy by default; a plain update must not invent one.
    assert raw.conn.modify(list_dn(raw, LIST), {"accessPolicy": [("MODIFY_DELETE", [])]})
    response = api.put(f"/api/ml/{LIST}", data={"name": "Renamed", "close_list": "yes"})
    assert response.status_code == 200, response.json
    entry = raw.attrs(list_dn(raw, LIST))
    assert "accesspolicy" not in entry and entry["cn"] == ["Renamed"]
    assert "subonlypost" in controls(spool)


def test_subscription_moderation(api, spool):
    make_domain(api)
    created(api)
    api.put(f"/api/ml/{LIST}", data={"moderate_subscription": "yes"})
    assert controls(spool)["submod"] == ""
    api.put(f"/api/ml/{LIST}", data={"subscription_moderators": "g@example.com"})
    assert controls(spool)["submod"] == "g@example.com\n"
    data = api.get(f"/api/ml/{LIST}").json["_data"]
    assert data["moderate_subscription"] is True and data["subscription_moderators"] == [
        "g@example.com"
    ]
    api.put(f"/api/ml/{LIST}", data={"moderate_subscription": "no"})
    assert "submod" not in controls(spool)
    response = api.put(f"/api/ml/{LIST}", data={"moderate_subscription": "no",
                                                "subscription_moderators": "g@example.com"})  # fmt: skip
    assert_error(response, 400, "INVALID_PARAMETERS", "moderate_subscription")


def test_update_unknown_list_is_404(api, spool):
    make_domain(api)
    assert_error(api.put(f"/api/ml/{LIST}", data={"close_list": "yes"}), 404, "NO_SUCH_ACCOUNT")


# -- delete --------------------------------------------------------------------------------------------


def test_delete_archives_by_default_and_removes_references(api, raw, spool, mlmmj_spool):
    make_domain(api)
    created(api, subscribers="alice@example.org", require_confirm="no")
    user = api.post(f"/api/user/john@{DOMAIN}", data={"password": "Secret-Pass-123"})
    assert user.status_code == 201, user.json
    forward = api.put(f"/api/user/john@{DOMAIN}", data={"addForwarding": LIST})
    assert forward.status_code == 200, forward.json
    response = api.delete(f"/api/ml/{LIST}")
    assert response.status_code == 200, response.json
    archived = response.json["_data"]["archived_to"]
    assert raw.entry(list_dn(raw, LIST)) is None
    assert list_counter(raw) == "0"
    assert not list_dir(spool).exists()
    archive_dir = mlmmj_spool[1] / DOMAIN
    assert [str(p) for p in archive_dir.iterdir()] == [archived]
    assert re.match(r"^team-\d{14}$", archive_dir.joinpath(archived).name)
    result = subprocess.run(["/usr/bin/mlmmj-list", "-L", archived], capture_output=True, text=True)
    assert result.stdout.split() == ["alice@example.org"]
    forwarding = raw.entry(raw.user_dn(f"john@{DOMAIN}")).get("mailforwardingaddress", [])
    assert LIST not in forwarding


@pytest.mark.parametrize("how", ["query", "form", "json", "archive"])
def test_delete_without_archive_removes_the_directory(api, raw, spool, mlmmj_spool, how):
    make_domain(api)
    created(api)
    url = f"/api/ml/{LIST}"
    if how == "query":
        response = api.delete(f"{url}?keep_archive=no")
    elif how == "form":
        response = api.delete(url, data={"keep_archive": "no"})
    elif how == "json":
        response = api.delete(url, json={"keep_archive": False})
    else:
        response = api.delete(f"{url}?archive=no")
    assert response.status_code == 200, response.json
    assert response.json["_data"] == {"archived_to": None}
    assert not list_dir(spool).exists() and not mlmmj_spool[1].exists()
    assert raw.entry(list_dn(raw, LIST)) is None


def test_delete_with_contradicting_keep_archive_is_400(api, raw, spool):
    make_domain(api)
    created(api)
    response = api.delete(f"/api/ml/{LIST}?keep_archive=no", data={"keep_archive": "yes"})
    assert_error(response, 400, "INVALID_PARAMETERS", "keep_archive")
    assert raw.entry(list_dn(raw, LIST)) is not None and list_dir(spool).exists()


def test_delete_unknown_list_is_404(api):
    make_domain(api)
    assert_error(api.delete(f"/api/ml/{LIST}"), 404, "NO_SUCH_ACCOUNT")


# -- the mail stack ----------------------------------------------------------------------------------


def test_postfix_routes_the_list_to_mlmmj(api, raw, postfix_maps):
    make_domain(api)
    add_alias_domain(raw, "alias.test")
    created(api, subscribers="alice@example.org", require_confirm="no")
    assert postfix_maps.query("transport_maps_user", LIST) == "mlmmj:example.com/team"
    assert postfix_maps.values("virtual_group_maps", LIST) == [LIST]
    assert postfix_maps.values("virtual_group_maps", "team@alias.test") == [LIST]
    assert postfix_maps.query("virtual_mailbox_maps", LIST) is None
    # A disabled list is no longer routed; a deleted one is unknown.
    assert api.put(f"/api/ml/{LIST}", data={"accountStatus": "disabled"}).status_code == 200
    assert postfix_maps.query("transport_maps_user", LIST) is None
    assert postfix_maps.query("virtual_group_maps", LIST) is None
    assert api.put(f"/api/ml/{LIST}", data={"accountStatus": "active"}).status_code == 200
    assert postfix_maps.query("transport_maps_user", LIST) == "mlmmj:example.com/team"
    assert api.delete(f"/api/ml/{LIST}").status_code == 200
    assert postfix_maps.query("transport_maps_user", LIST) is None
    assert postfix_maps.query("virtual_group_maps", LIST) is None


def test_transport_name_is_configurable(api, raw, app, postfix_maps):
    app.config["MLMMJ_TRANSPORT_NAME"] = "mlmmj-test"
    make_domain(api)
    created(api)
    assert postfix_maps.query("transport_maps_user", LIST) == "mlmmj-test:example.com/team"


def test_deleting_the_domain_archives_its_list_directories(api, raw, spool, mlmmj_spool):
    """DELETE /api/domain archives every mlmmj list directory of the domain, subscribers kept."""
    make_domain(api)
    created(api, subscribers="alice@example.org", require_confirm="no")
    assert list_dir(spool).is_dir()
    response = api.delete(f"/api/domain/{DOMAIN}")
    assert response.status_code == 200, response.json
    assert raw.entry(raw.domain_dn(DOMAIN)) is None
    assert not list_dir(spool).exists()
    (archived,) = (mlmmj_spool[1] / DOMAIN).iterdir()
    assert re.match(r"^team-\d{14}$", archived.name)
    result = subprocess.run(
        ["/usr/bin/mlmmj-list", "-L", str(archived)], capture_output=True, text=True
    )
    assert result.stdout.split() == ["alice@example.org"]
