"""Mail aliases: /api/alias/<mail>, change_email, /api/aliases/<domain>, numberOfAliases."""

from __future__ import annotations

import pytest

from tests.helpers import alias_dn
from tests.helpers import assert_error
from tests.helpers import list_dn
from tests.helpers import logged_in_sessions
from tests.helpers import make_domain
from tests.helpers import make_example_accounts
from tests.helpers import run_at_once

DOMAIN = "example.com"
ALIAS = "team@example.com"


def create(api, mail=ALIAS, **params):
    return api.post(f"/api/alias/{mail}", data=params)


def counter(raw, domain=DOMAIN):
    return raw.entry(raw.domain_dn(domain)).get("domaincurrentaliasnumber", [None])[0]


def alias_count(raw, domain=DOMAIN):
    return raw.count(f"ou=Aliases,{raw.domain_dn(domain)}", "(objectClass=mailAlias)")


@pytest.fixture
def world(api):
    """example.com with john and jane, and a second hosted domain other.test with bob."""
    make_example_accounts(api)
    return api


# -- create -------------------------------------------------------------------


def test_create_writes_what_iredmail_expects(world, raw):
    """POST stores a mailAlias with mail+deliver, members as mailForwardingAddress, and counts it."""
    response = create(world, name="The Team", members="john@example.com, someone@elsewhere.test",
                      moderators="jane@example.com", accessPolicy="membersonly")  # fmt: skip
    assert response.status_code == 201, response.json
    data = response.json["_data"]
    assert data["mail"] == ALIAS and data["name"] == "The Team"
    assert data["members"] == ["john@example.com", "someone@elsewhere.test"]
    assert data["moderators"] == ["jane@example.com"]
    assert data["accessPolicy"] == "membersonly" and data["hasMembers"] is True
    assert data["warnings"] == []
    entry = raw.entry(alias_dn(raw, ALIAS))
    assert entry["objectclass"] == ["mailAlias"]
    assert sorted(entry["enabledservice"]) == ["deliver", "mail"]
    assert entry["accountstatus"] == ["active"] and entry["cn"] == ["The Team"]
    assert sorted(entry["mailforwardingaddress"]) == ["john@example.com", "someone@elsewhere.test"]
    assert entry["listmoderator"] == ["jane@example.com"]
    assert entry["accesspolicy"] == ["membersonly"]
    assert "domainstatus" not in entry and "shadowaddress" not in entry
    assert counter(raw) == "1"


def test_create_without_members_is_accepted_and_get_says_so(world, raw):
    """An alias may start empty; its GET warns that mail to it is rejected."""
    assert create(world).status_code == 201
    data = world.get(f"/api/alias/{ALIAS}").json["_data"]
    assert data["members"] == [] and data["hasMembers"] is False
    assert "no members" in data["warnings"][0]
    assert "mailforwardingaddress" not in raw.entry(alias_dn(raw, ALIAS))
    assert data["accessPolicy"] == "public"


def test_legacy_cn_and_json_lists_are_accepted(world, raw):
    """The 2016 name cn and a JSON list of members work."""
    response = world.post(
        f"/api/alias/{ALIAS}", json={"cn": "Team", "members": ["john@example.com"]}
    )
    assert response.status_code == 201, response.json
    assert raw.entry(alias_dn(raw, ALIAS))["cn"] == ["Team"]


def test_invalid_addresses_are_named_and_nothing_is_created(world, raw):
    """Invalid entries of a comma list are refused together, never dropped."""
    response = create(world, members="john@example.com,not-an-address,also@bad@x")
    assert_error(response, 400, "INVALID_PARAMETERS", "members", ["not-an-address", "also@bad@x"])
    assert raw.entry(alias_dn(raw, ALIAS)) is None
    assert counter(raw) is None


def test_alias_pointing_at_itself_is_refused(world, raw):
    """An alias cannot be its own member."""
    response = create(world, members=f"john@example.com,{ALIAS}")
    assert_error(response, 400, "INVALID_PARAMETERS", "members", [ALIAS])
    assert raw.entry(alias_dn(raw, ALIAS)) is None


def test_unknown_addresses_of_hosted_domains_are_refused(world, raw):
    """Members in a hosted domain must exist there; external addresses are free."""
    response = create(world, members="nobody@example.com,ghost@other.test,x@elsewhere.test")
    assert_error(response, 400, "INVALID_PARAMETERS", "members",
                 ["nobody@example.com", "ghost@other.test"])  # fmt: skip
    assert "x@elsewhere.test" not in " ".join(response.json["errors"]["members"])
    assert raw.entry(alias_dn(raw, ALIAS)) is None
    assert create(world, members="bob@other.test,x@elsewhere.test").status_code == 201


def test_address_in_use_is_409(world, raw):
    """An address used by a user or another alias cannot become an alias."""
    assert_error(create(world, "john@example.com"), 409, "ALREADY_EXISTS", "mail")
    assert raw.entry(alias_dn(raw, "john@example.com")) is None
    assert create(world).status_code == 201
    assert_error(create(world), 409, "ALREADY_EXISTS")
    assert counter(raw) == "1"


def test_missing_domain_and_missing_alias(world, raw):
    """Creating in an unknown domain is 404 NO_SUCH_DOMAIN; a missing alias is 404."""
    assert_error(create(world, "a@nowhere.test"), 404, "NO_SUCH_DOMAIN")
    assert_error(world.get("/api/alias/nobody@example.com"), 404, "NO_SUCH_ACCOUNT")
    assert_error(
        world.put("/api/alias/nobody@example.com", data={"name": "x"}), 404, "NO_SUCH_ACCOUNT"
    )
    assert_error(world.delete("/api/alias/nobody@example.com"), 404, "NO_SUCH_ACCOUNT")
    assert_error(world.get("/api/alias/john@example.com"), 404, "NO_SUCH_ACCOUNT")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"accessPolicy": "everyone"}, "accessPolicy"), ({"accountStatus": "gone"}, "accountStatus"),
     ({"membres": "a@b.test"}, "membres"), ({"name": "x" * 256}, "name")],
)  # fmt: skip
def test_bad_parameters_are_400(world, raw, params, field):
    """Unknown fields and bad values are 400 naming the field; nothing is created."""
    assert_error(create(world, **params), 400, "INVALID_PARAMETERS", field)
    assert raw.entry(alias_dn(raw, ALIAS)) is None


def test_alias_in_disabled_domain_is_marked(world, raw):
    """A new alias of a disabled domain carries domainStatus: disabled."""
    assert world.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "disabled"}).status_code == 200
    assert create(world, members="john@example.com").status_code == 201
    assert raw.entry(alias_dn(raw, ALIAS))["domainstatus"] == ["disabled"]
    assert world.get(f"/api/alias/{ALIAS}").json["_data"]["domainDisabled"] is True


# -- update -------------------------------------------------------------------


def test_members_triad(world, raw):
    """addMember/removeMember change the set, members replaces it, empty clears it."""
    assert create(world, members="john@example.com").status_code == 201
    response = world.put(f"/api/alias/{ALIAS}",
                         data={"addMember": "jane@example.com,x@elsewhere.test", "removeMember": "john@example.com"})  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["_data"]["members"] == ["jane@example.com", "x@elsewhere.test"]
    assert sorted(raw.entry(alias_dn(raw, ALIAS))["mailforwardingaddress"]) == [
        "jane@example.com", "x@elsewhere.test"]  # fmt: skip
    assert world.put(f"/api/alias/{ALIAS}", data={"members": "bob@other.test"}).status_code == 200
    assert raw.entry(alias_dn(raw, ALIAS))["mailforwardingaddress"] == ["bob@other.test"]
    response = world.put(f"/api/alias/{ALIAS}", data={"members": ""})
    assert response.status_code == 200 and response.json["_data"]["hasMembers"] is False
    assert "mailforwardingaddress" not in raw.entry(alias_dn(raw, ALIAS))


def test_update_refuses_bad_members_and_changes_nothing(world, raw):
    """Invalid, unknown or self members in an update are 400 naming them; the entry is unchanged."""
    assert create(world, members="john@example.com").status_code == 201
    before = raw.snapshot()
    for params, names in (({"addMember": "bad,worse"}, ["bad", "worse"]),
                          ({"addMember": ALIAS}, [ALIAS]),
                          ({"addMember": "nobody@example.com"}, ["nobody@example.com"])):  # fmt: skip
        assert_error(world.put(f"/api/alias/{ALIAS}", data=params), 400, "INVALID_PARAMETERS",
                     "addMember", names)  # fmt: skip
    assert_error(world.put(f"/api/alias/{ALIAS}", data={"members": "a@x.test", "addMember": "b@x.test"}),
                 400, "INVALID_PARAMETERS", "members")  # fmt: skip
    assert raw.snapshot() == before


def test_update_profile_fields(world, raw):
    """name, accountStatus, accessPolicy and the moderators triad are stored; empty removes."""
    assert create(world, name="Team", members="john@example.com").status_code == 201
    response = world.put(f"/api/alias/{ALIAS}", data={
        "name": "", "accountStatus": "disabled", "accessPolicy": "moderatorsonly",
        "addModerator": "jane@example.com,boss@elsewhere.test"})  # fmt: skip
    assert response.status_code == 200, response.json
    entry = raw.entry(alias_dn(raw, ALIAS))
    assert "cn" not in entry and entry["accountstatus"] == ["disabled"]
    assert entry["accesspolicy"] == ["moderatorsonly"]
    assert sorted(entry["listmoderator"]) == ["boss@elsewhere.test", "jane@example.com"]
    response = world.put(
        f"/api/alias/{ALIAS}", data={"accessPolicy": "", "removeModerator": "jane@example.com"}
    )
    assert response.status_code == 200
    entry = raw.entry(alias_dn(raw, ALIAS))
    assert "accesspolicy" not in entry and entry["listmoderator"] == ["boss@elsewhere.test"]
    assert response.json["_data"]["accessPolicy"] == "public"
    assert world.put(f"/api/alias/{ALIAS}", data={"accessPolicy": "allowedonly"}).status_code == 200
    assert raw.entry(alias_dn(raw, ALIAS))["accesspolicy"] == ["moderatorsonly"]


def test_domain_policy_limits_members_to_the_domain(world, raw):
    """Under accessPolicy=domain only members of the domain are accepted; subdomain also allows subdomains."""
    response = create(
        world, accessPolicy="domain", members="john@example.com,bob@other.test,x@sub.example.com"
    )
    assert_error(
        response, 400, "INVALID_PARAMETERS", "members", ["bob@other.test", "x@sub.example.com"]
    )
    assert raw.entry(alias_dn(raw, ALIAS)) is None
    response = create(world, accessPolicy="subdomain", members="john@example.com,x@sub.example.com")
    assert response.status_code == 201, response.json
    assert_error(world.put(f"/api/alias/{ALIAS}", data={"addMember": "bob@other.test"}), 400,
                 "INVALID_PARAMETERS", "addMember", ["bob@other.test"])  # fmt: skip


def test_switching_to_domain_policy_checks_existing_members(world, raw):
    """Setting accessPolicy=domain is refused while outside members remain, unless removed at once."""
    assert create(world, members="john@example.com,x@elsewhere.test").status_code == 201
    assert_error(world.put(f"/api/alias/{ALIAS}", data={"accessPolicy": "domain"}), 400,
                 "INVALID_PARAMETERS", "accessPolicy", ["x@elsewhere.test"])  # fmt: skip
    assert "accesspolicy" not in raw.entry(alias_dn(raw, ALIAS))
    response = world.put(f"/api/alias/{ALIAS}",
                         data={"accessPolicy": "domain", "removeMember": "x@elsewhere.test"})  # fmt: skip
    assert response.status_code == 200, response.json
    entry = raw.entry(alias_dn(raw, ALIAS))
    assert entry["accesspolicy"] == ["domain"] and entry["mailforwardingaddress"] == [
        "john@example.com"
    ]


# -- delete and references -------------------------------------------------------


def test_delete_removes_every_reference(world, raw):
    """Deleting an alias drops it from other aliases, lists (memberOfGroup/member) and moderators."""
    assert create(world, members="john@example.com").status_code == 201
    assert create(world, "all@example.com", members=f"{ALIAS},jane@example.com",
                  moderators=ALIAS).status_code == 201  # fmt: skip
    response = world.post(
        "/api/maillist/list@example.com", data={"members": f"{ALIAS},john@example.com"}
    )
    assert response.status_code == 201, response.json
    assert raw.entry(alias_dn(raw, ALIAS))["memberofgroup"] == ["list@example.com"]
    assert counter(raw) == "2"

    response = world.delete(f"/api/alias/{ALIAS}")
    assert response.status_code == 200 and response.json == {"success": True, "_success": True}
    assert raw.entry(alias_dn(raw, ALIAS)) is None
    other = raw.entry(alias_dn(raw, "all@example.com"))
    assert other["mailforwardingaddress"] == ["jane@example.com"] and "listmoderator" not in other
    members = [m.lower() for m in raw.entry(list_dn(raw, "list@example.com"))["member"]]
    assert members == [raw.user_dn("john@example.com").lower()]
    assert world.get("/api/maillist/list@example.com").json["_data"]["members"] == [
        "john@example.com"
    ]
    assert counter(raw) == "1"


def test_deleting_a_user_removes_it_from_aliases(world, raw):
    """A deleted user disappears from every alias's members and moderators."""
    assert (
        create(
            world, members="john@example.com,jane@example.com", moderators="john@example.com"
        ).status_code
        == 201
    )
    assert world.delete("/api/user/john@example.com").status_code == 200
    entry = raw.entry(alias_dn(raw, ALIAS))
    assert entry["mailforwardingaddress"] == ["jane@example.com"] and "listmoderator" not in entry


def test_change_email_renames_and_references_follow(world, raw):
    """change_email moves the entry; aliases and lists naming it are rewritten."""
    assert create(world, members="john@example.com").status_code == 201
    assert create(world, "all@example.com", members=ALIAS).status_code == 201
    assert world.post("/api/maillist/list@example.com", data={"members": ALIAS}).status_code == 201
    response = world.post(f"/api/alias/{ALIAS}/change_email/crew@example.com")
    assert response.status_code == 200, response.json
    assert response.json["_data"]["mail"] == "crew@example.com"
    assert raw.entry(alias_dn(raw, ALIAS)) is None
    entry = raw.entry(alias_dn(raw, "crew@example.com"))
    assert entry["mail"] == ["crew@example.com"] and entry["memberofgroup"] == ["list@example.com"]
    assert raw.entry(alias_dn(raw, "all@example.com"))["mailforwardingaddress"] == [
        "crew@example.com"
    ]
    members = [m.lower() for m in raw.entry(list_dn(raw, "list@example.com"))["member"]]
    assert members == [alias_dn(raw, "crew@example.com").lower()]
    assert counter(raw) == "2"


def test_change_email_refusals(world, raw):
    """Another domain is 400, a taken address 409, a missing alias 404; nothing changes."""
    assert create(world, members="john@example.com").status_code == 201
    before = raw.snapshot()
    assert_error(world.post(f"/api/alias/{ALIAS}/change_email/team@other.test"), 400,
                 "INVALID_PARAMETERS", "new_mail")  # fmt: skip
    assert_error(
        world.post(f"/api/alias/{ALIAS}/change_email/john@example.com"), 409, "ALREADY_EXISTS"
    )
    assert_error(world.post(f"/api/alias/{ALIAS}/change_email/bad..x@example.com"), 400,
                 "INVALID_MAIL", "new_mail")  # fmt: skip
    assert_error(
        world.post("/api/alias/none@example.com/change_email/x@example.com"), 404, "NO_SUCH_ACCOUNT"
    )
    assert raw.snapshot() == before


# -- listing ----------------------------------------------------------------------


def test_list_aliases_paged(world, raw):
    """GET /api/aliases/<domain> pages profiles; email_only and disabled_only trim."""
    for i in range(5):
        assert create(world, f"a{i}@example.com", members="john@example.com").status_code == 201
    assert (
        world.put("/api/alias/a3@example.com", data={"accountStatus": "disabled"}).status_code
        == 200
    )
    body = world.get(f"/api/aliases/{DOMAIN}?page=1&page_size=2").json
    assert body["total"] == 5 and len(body["_data"]) == 2
    assert body["_data"][0]["members"] == ["john@example.com"]
    second = world.get(f"/api/aliases/{DOMAIN}?offset=2&limit=10&email_only=yes").json
    assert second["total"] == 5 and len(second["_data"]) == 3
    everyone = world.get(f"/api/aliases/{DOMAIN}?email_only=yes").json["_data"]
    assert sorted(everyone) == [f"a{i}@example.com" for i in range(5)]
    disabled = world.get(f"/api/aliases/{DOMAIN}?disabled_only=yes&email_only=yes").json
    assert disabled["_data"] == ["a3@example.com"] and disabled["total"] == 1
    assert_error(world.get("/api/aliases/nowhere.test"), 404, "NO_SUCH_DOMAIN")
    assert_error(world.get(f"/api/aliases/{DOMAIN}?bogus=1"), 400, "INVALID_PARAMETERS", "bogus")


# -- limits -----------------------------------------------------------------------


def test_number_of_aliases_is_enforced_and_freed_by_delete(api, raw):
    """numberOfAliases caps creation (403 EXCEEDED_DOMAIN_ALIAS_LIMIT); a delete frees a place."""
    make_domain(api, numberOfAliases="2")
    assert create(api, "a@example.com").status_code == 201
    assert create(api, "b@example.com").status_code == 201
    refused = create(api, "c@example.com")
    assert_error(refused, 403, "EXCEEDED_DOMAIN_ALIAS_LIMIT")
    assert raw.entry(alias_dn(raw, "c@example.com")) is None and counter(raw) == "2"
    assert api.delete("/api/alias/a@example.com").status_code == 200
    assert counter(raw) == "1"
    assert create(api, "c@example.com").status_code == 201
    assert alias_count(raw) == 2 and counter(raw) == "2"


def test_minus_one_allows_no_aliases(api, raw):
    """numberOfAliases=-1 refuses every alias."""
    make_domain(api, numberOfAliases="-1")
    assert_error(create(api), 403, "EXCEEDED_DOMAIN_ALIAS_LIMIT")
    assert alias_count(raw) == 0


def test_missing_alias_counter_is_initialised_from_a_real_count(api, raw):
    """A domain without domainCurrentAliasNumber is counted first (aliases written elsewhere count)."""
    make_domain(api, numberOfAliases="2")
    for mail in ("a@example.com", "b@example.com"):
        assert raw.conn.add(alias_dn(raw, mail), ["mailAlias"],
                            {"mail": mail, "accountStatus": "active"}), raw.conn.result  # fmt: skip
    assert_error(create(api), 403, "EXCEEDED_DOMAIN_ALIAS_LIMIT")
    assert counter(raw) == "2"


def test_parallel_creates_never_exceed_number_of_aliases(api, raw, live_url):
    """15 concurrent creates under numberOfAliases=3 leave exactly 3 aliases and the counter at 3."""
    make_domain(api, numberOfAliases="3")
    sessions = logged_in_sessions(live_url, 15)
    results = run_at_once(
        sessions, lambda s, i: s.post(f"{live_url}/alias/a{i:02d}@{DOMAIN}", data={})
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * 3 + [403] * 12, results
    assert {body["msg"] for status, body in results if status == 403} == {
        "EXCEEDED_DOMAIN_ALIAS_LIMIT"
    }
    assert alias_count(raw) == 3
    assert counter(raw) == "3"
