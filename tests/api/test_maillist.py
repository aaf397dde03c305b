"""Legacy LDAP mailing lists: /api/maillist/<mail>, /api/maillists/<domain>, numberOfLists."""

from __future__ import annotations

import pytest

from tests.helpers import add_admin
from tests.helpers import alias_dn
from tests.helpers import assert_error
from tests.helpers import list_dn
from tests.helpers import logged_in_sessions
from tests.helpers import make_alias
from tests.helpers import make_domain
from tests.helpers import make_example_accounts
from tests.helpers import new_client
from tests.helpers import run_at_once

DOMAIN = "example.com"
OTHER = "other.test"
LIST = "list@example.com"


def create(api, mail=LIST, **params):
    return api.post(f"/api/maillist/{mail}", data=params)


def holder_dn(raw, mail=LIST):
    return f"memberOfGroup={mail},ou=Externals,{raw.domain_dn(mail.split('@')[1])}"


def groups_of(raw, dn):
    return sorted((raw.entry(dn) or {}).get("memberofgroup", []))


def member_dns(raw, mail=LIST):
    return sorted(v.lower() for v in raw.entry(list_dn(raw, mail)).get("member", []))


def counter(raw, domain=DOMAIN):
    return raw.entry(raw.domain_dn(domain)).get("domaincurrentlistnumber", [None])[0]


def list_count(raw, domain=DOMAIN):
    return raw.count(f"ou=Groups,{raw.domain_dn(domain)}", "(objectClass=mailList)")


@pytest.fixture
def world(api):
    """example.com with john, jane and the alias team@; other.test with bob."""
    make_example_accounts(api)
    make_alias(api, "team@example.com", members="jane@example.com")
    return api


# -- create and storage -----------------------------------------------------------


def test_create_stores_members_the_iredmail_way(world, raw):
    """Internal members get memberOfGroup (+ member DN on the list); externals go to ou=Externals."""
    assert create(world, "sub@example.com").status_code == 201
    response = create(world, name="Everyone", accessPolicy="membersonly",
                      members="john@example.com,bob@other.test,team@example.com,sub@example.com,"
                              "ext1@elsewhere.test,ext2@elsewhere.test")  # fmt: skip
    assert response.status_code == 201, response.json
    data = response.json["_data"]
    assert data["members"] == sorted(["john@example.com", "bob@other.test", "team@example.com",
                                      "sub@example.com", "ext1@elsewhere.test", "ext2@elsewhere.test"])  # fmt: skip
    assert data["externalMembers"] == ["ext1@elsewhere.test", "ext2@elsewhere.test"]
    assert data["hasMembers"] is True and data["accessPolicy"] == "membersonly"

    entry = raw.entry(list_dn(raw, LIST))
    assert entry["objectclass"] == ["mailList"] and entry["cn"] == ["Everyone"]
    assert sorted(entry["enabledservice"]) == ["deliver", "displayedInGlobalAddressBook", "mail"]
    assert entry["accountstatus"] == ["active"] and entry["accesspolicy"] == ["membersonly"]
    internal = [raw.user_dn("john@example.com"), raw.user_dn("bob@other.test"),
                alias_dn(raw, "team@example.com"), list_dn(raw, "sub@example.com")]  # fmt: skip
    assert member_dns(raw) == sorted(dn.lower() for dn in internal)
    for dn in internal:
        assert groups_of(raw, dn) == [LIST]
    assert groups_of(raw, raw.user_dn("jane@example.com")) == []
    holder = raw.entry(holder_dn(raw))
    assert holder["objectclass"] == ["mailExternalUser"] and holder["memberofgroup"] == [LIST]
    assert holder["accountstatus"] == ["active"] and sorted(holder["enabledservice"]) == [
        "deliver",
        "mail",
    ]
    assert sorted(holder["mail"]) == ["ext1@elsewhere.test", "ext2@elsewhere.test"]
    assert counter(raw) == "2"


def test_empty_list_is_accepted_and_get_says_so(world, raw):
    """A list without members is created; its GET warns; no Externals entry is written."""
    assert create(world).status_code == 201
    data = world.get(f"/api/maillist/{LIST}").json["_data"]
    assert (
        data["members"] == []
        and data["hasMembers"] is False
        and "no members" in data["warnings"][0]
    )
    assert raw.entry(holder_dn(raw)) is None and "member" not in raw.entry(list_dn(raw, LIST))


def test_bad_members_are_named_and_nothing_is_written(world, raw):
    """Invalid, unknown-hosted and self members are 400 naming them; the tree is unchanged."""
    before = raw.snapshot()
    response = create(world, members="john@example.com,broken,x@y")
    assert_error(response, 400, "INVALID_PARAMETERS", "members", ["broken", "x@y"])
    response = create(world, members=f"john@example.com,nobody@example.com,ghost@other.test,{LIST}")
    assert_error(
        response,
        400,
        "INVALID_PARAMETERS",
        "members",
        ["nobody@example.com", "ghost@other.test", LIST],
    )
    assert raw.snapshot() == before


def test_address_in_use_and_missing_domain(world, raw):
    """A taken address is 409, an unknown domain 404; nothing is counted."""
    assert_error(create(world, "team@example.com"), 409, "ALREADY_EXISTS")
    assert_error(create(world, "john@example.com"), 409, "ALREADY_EXISTS")
    assert_error(create(world, "l@nowhere.test"), 404, "NO_SUCH_DOMAIN")
    assert_error(world.get("/api/maillist/none@example.com"), 404, "NO_SUCH_ACCOUNT")
    assert counter(raw) is None


def test_roles_are_stored_on_the_list(world, raw):
    """moderators, owners and allowedSenders (addresses or *@domain) go to listModerator/Owner/AllowedUser."""
    response = create(world, moderators="jane@example.com", owners="boss@elsewhere.test",
                      allowedSenders="john@example.com,*@partner.test", accessPolicy="moderatorsonly")  # fmt: skip
    assert response.status_code == 201, response.json
    entry = raw.entry(list_dn(raw, LIST))
    assert entry["listmoderator"] == ["jane@example.com"] and entry["listowner"] == [
        "boss@elsewhere.test"
    ]
    assert sorted(entry["listalloweduser"]) == ["*@partner.test", "john@example.com"]
    response = world.put(f"/api/maillist/{LIST}", data={
        "removeAllowedSender": "*@partner.test", "addOwner": "jane@example.com", "moderators": ""})  # fmt: skip
    assert response.status_code == 200, response.json
    entry = raw.entry(list_dn(raw, LIST))
    assert entry["listalloweduser"] == ["john@example.com"] and "listmoderator" not in entry
    assert sorted(entry["listowner"]) == ["boss@elsewhere.test", "jane@example.com"]
    assert response.json["_data"]["owners"] == ["boss@elsewhere.test", "jane@example.com"]
    assert_error(world.put(f"/api/maillist/{LIST}", data={"addAllowedSender": "*@bad_domain"}), 400,
                 "INVALID_PARAMETERS", "addAllowedSender")  # fmt: skip
    assert_error(world.put(f"/api/maillist/{LIST}", data={"addModerator": "nobody@example.com"}), 400,
                 "INVALID_PARAMETERS", "addModerator", ["nobody@example.com"])  # fmt: skip


@pytest.mark.parametrize(
    "policy",
    ["public", "domain", "subdomain", "membersonly", "moderatorsonly", "membersandmoderatorsonly"],
)
def test_every_access_policy_is_accepted(world, raw, policy):
    """Each iRedAPD policy is stored lower-case."""
    assert create(world, accessPolicy=policy.upper()).status_code == 201
    assert raw.entry(list_dn(raw, LIST))["accesspolicy"] == [policy]


def test_domain_policy_refuses_members_of_other_domains(world, raw):
    """accessPolicy=domain keeps members in the list's domain, internal or external."""
    response = create(
        world, accessPolicy="domain", members="john@example.com,bob@other.test,x@elsewhere.test"
    )
    assert_error(
        response, 400, "INVALID_PARAMETERS", "members", ["bob@other.test", "x@elsewhere.test"]
    )
    assert raw.entry(list_dn(raw, LIST)) is None
    assert groups_of(raw, raw.user_dn("john@example.com")) == []
    assert create(world, accessPolicy="domain", members="john@example.com").status_code == 201
    assert_error(world.put(f"/api/maillist/{LIST}", data={"addMember": "bob@other.test"}), 400,
                 "INVALID_PARAMETERS", "addMember", ["bob@other.test"])  # fmt: skip
    assert groups_of(raw, raw.user_dn("bob@other.test")) == []


# -- update -----------------------------------------------------------------------


def test_members_triad(world, raw):
    """addMember/removeMember move internal and external members; members replaces; empty clears."""
    assert create(world, members="john@example.com,ext1@elsewhere.test").status_code == 201
    response = world.put(f"/api/maillist/{LIST}", data={
        "addMember": "jane@example.com,ext2@elsewhere.test",
        "removeMember": "john@example.com,ext1@elsewhere.test"})  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["_data"]["members"] == ["ext2@elsewhere.test", "jane@example.com"]
    assert groups_of(raw, raw.user_dn("john@example.com")) == []
    assert groups_of(raw, raw.user_dn("jane@example.com")) == [LIST]
    assert member_dns(raw) == [raw.user_dn("jane@example.com").lower()]
    assert raw.entry(holder_dn(raw))["mail"] == ["ext2@elsewhere.test"]

    response = world.put(
        f"/api/maillist/{LIST}", data={"members": "bob@other.test,ext3@elsewhere.test"}
    )
    assert response.status_code == 200, response.json
    assert response.json["_data"]["members"] == ["bob@other.test", "ext3@elsewhere.test"]
    assert groups_of(raw, raw.user_dn("jane@example.com")) == []
    assert groups_of(raw, raw.user_dn("bob@other.test")) == [LIST]
    assert raw.entry(holder_dn(raw))["mail"] == ["ext3@elsewhere.test"]

    response = world.put(f"/api/maillist/{LIST}", data={"members": ""})
    assert response.status_code == 200 and response.json["_data"]["hasMembers"] is False
    assert groups_of(raw, raw.user_dn("bob@other.test")) == [] and "member" not in raw.entry(
        list_dn(raw, LIST)
    )
    assert "mail" not in raw.entry(holder_dn(raw))


def test_update_refusals_change_nothing(world, raw):
    """Bad additions and a replace combined with addMember are 400; nothing is written."""
    assert create(world, members="john@example.com").status_code == 201
    before = raw.snapshot()
    assert_error(world.put(f"/api/maillist/{LIST}", data={"addMember": "oops"}), 400,
                 "INVALID_PARAMETERS", "addMember", ["oops"])  # fmt: skip
    assert_error(world.put(f"/api/maillist/{LIST}", data={"addMember": f"{LIST},nobody@other.test"}), 400,
                 "INVALID_PARAMETERS", "addMember", [LIST, "nobody@other.test"])  # fmt: skip
    assert_error(world.put(f"/api/maillist/{LIST}", data={"members": "a@x.test", "removeMember": "b@x.test"}),
                 400, "INVALID_PARAMETERS", "members")  # fmt: skip
    assert_error(world.put(f"/api/maillist/{LIST}", data={"accountStatus": "disabled"}), 400,
                 "INVALID_PARAMETERS", "accountStatus")  # fmt: skip
    assert raw.snapshot() == before


def test_adding_a_member_twice_is_harmless(world, raw):
    """Adding an existing member (or removing a non-member) leaves one membership."""
    assert create(world, members="john@example.com,x@elsewhere.test").status_code == 201
    response = world.put(f"/api/maillist/{LIST}", data={
        "addMember": "john@example.com,x@elsewhere.test", "removeMember": "never@elsewhere.test"})  # fmt: skip
    assert response.status_code == 200, response.json
    assert groups_of(raw, raw.user_dn("john@example.com")) == [LIST]
    assert raw.entry(holder_dn(raw))["mail"] == ["x@elsewhere.test"]
    assert member_dns(raw) == [raw.user_dn("john@example.com").lower()]


def test_name_and_policy_update(world, raw):
    """name and accessPolicy are replaced; empty values remove them."""
    assert create(world, name="Old", accessPolicy="domain").status_code == 201
    assert world.put(f"/api/maillist/{LIST}", data={"name": "New"}).status_code == 200
    assert raw.entry(list_dn(raw, LIST))["cn"] == ["New"]
    response = world.put(f"/api/maillist/{LIST}", data={"name": "", "accessPolicy": ""})
    assert response.status_code == 200 and response.json["_data"]["accessPolicy"] == "public"
    entry = raw.entry(list_dn(raw, LIST))
    assert "cn" not in entry and "accesspolicy" not in entry


# -- delete and references ------------------------------------------------------------


def test_delete_removes_memberships_externals_and_references(world, raw):
    """Deleting a list clears memberOfGroup, its Externals entry, and references in aliases and lists."""
    assert (
        create(
            world, members="john@example.com,x@elsewhere.test", moderators="jane@example.com"
        ).status_code
        == 201
    )
    assert create(world, "outer@example.com", members=f"{LIST},jane@example.com").status_code == 201
    assert world.put("/api/alias/team@example.com", data={"addMember": LIST}).status_code == 200
    assert counter(raw) == "2"

    response = world.delete(f"/api/maillist/{LIST}?archive=yes")
    assert response.status_code == 200, response.json
    assert raw.entry(list_dn(raw, LIST)) is None and raw.entry(holder_dn(raw)) is None
    assert groups_of(raw, raw.user_dn("john@example.com")) == []
    assert member_dns(raw, "outer@example.com") == [raw.user_dn("jane@example.com").lower()]
    assert raw.entry(alias_dn(raw, "team@example.com"))["mailforwardingaddress"] == [
        "jane@example.com"
    ]
    assert counter(raw) == "1"
    assert_error(world.delete(f"/api/maillist/{LIST}"), 404, "NO_SUCH_ACCOUNT")
    assert_error(
        world.delete("/api/maillist/outer@example.com?bogus=1"), 400, "INVALID_PARAMETERS", "bogus"
    )


def test_deleting_a_member_account_removes_it_from_the_list(world, raw):
    """A deleted user or alias leaves the list: entry gone, member DN removed."""
    assert (
        create(world, members="john@example.com,team@example.com,jane@example.com").status_code
        == 201
    )
    assert world.delete("/api/user/john@example.com").status_code == 200
    assert world.delete("/api/alias/team@example.com").status_code == 200
    assert member_dns(raw) == [raw.user_dn("jane@example.com").lower()]
    assert world.get(f"/api/maillist/{LIST}").json["_data"]["members"] == ["jane@example.com"]


def test_renaming_a_member_updates_the_list(world, raw):
    """A user rename keeps its membership and rewrites the list's member DN."""
    assert create(world, members="john@example.com").status_code == 201
    assert (
        world.post("/api/user/john@example.com/change_email/johnny@example.com").status_code == 200
    )
    assert member_dns(raw) == [raw.user_dn("johnny@example.com").lower()]
    assert groups_of(raw, raw.user_dn("johnny@example.com")) == [LIST]
    assert world.get(f"/api/maillist/{LIST}").json["_data"]["members"] == ["johnny@example.com"]


def test_an_mlmmj_list_is_not_a_legacy_list(world, raw):
    """A subscribable (mlmmj) list is 404 here and missing from /api/maillists."""
    assert raw.conn.add(list_dn(raw, "news@example.com"), ["mailList"], {
        "mail": "news@example.com", "accountStatus": "active",
        "enabledService": ["mail", "deliver", "mlmmj"], "mtaTransport": "mlmmj:example.com/news"})  # fmt: skip
    assert create(world).status_code == 201
    response = world.get("/api/maillist/news@example.com")
    assert_error(response, 404, "NO_SUCH_ACCOUNT")
    assert "/api/ml/" in response.json["detail"]
    assert world.get(f"/api/maillists/{DOMAIN}?email_only=yes").json["_data"] == [LIST]


def test_list_maillists_paged(world, raw):
    """GET /api/maillists/<domain> pages profiles with members; email_only trims."""
    for i in range(4):
        assert (
            create(
                world, f"l{i}@example.com", members="john@example.com,x@elsewhere.test"
            ).status_code
            == 201
        )
    body = world.get(f"/api/maillists/{DOMAIN}?page=2&page_size=3").json
    assert body["total"] == 4 and len(body["_data"]) == 1 and body["page"] == 2
    assert body["_data"][0]["members"] == ["john@example.com", "x@elsewhere.test"]
    names = world.get(f"/api/maillists/{DOMAIN}?email_only=yes").json["_data"]
    assert sorted(names) == [f"l{i}@example.com" for i in range(4)]
    assert_error(world.get("/api/maillists/nowhere.test"), 404, "NO_SUCH_DOMAIN")


# -- domain admins ----------------------------------------------------------------------


def test_domain_admin_cannot_enrol_accounts_of_other_domains(world, raw, app):
    """A normal admin of example.com may not write memberOfGroup on accounts of other.test."""
    add_admin(raw, "helper@partner.test")
    assert raw.conn.modify(
        raw.domain_dn(DOMAIN), {"domainAdmin": [("MODIFY_ADD", ["helper@partner.test"])]}
    )
    helper = new_client(app, "helper@partner.test")
    response = helper.post(
        f"/api/maillist/{LIST}", data={"members": "john@example.com,bob@other.test"}
    )
    assert_error(response, 403, "PERMISSION_DENIED", "members", ["bob@other.test"])
    assert raw.entry(list_dn(raw, LIST)) is None
    response = helper.post(
        f"/api/maillist/{LIST}", data={"members": "john@example.com,x@elsewhere.test"}
    )
    assert response.status_code == 201, response.json
    assert_error(helper.put(f"/api/maillist/{LIST}", data={"addMember": "bob@other.test"}), 403,
                 "PERMISSION_DENIED", "addMember")  # fmt: skip
    assert groups_of(raw, raw.user_dn("bob@other.test")) == []


# -- limits -------------------------------------------------------------------------------


def test_number_of_lists_is_enforced(api, raw):
    """numberOfLists caps creation (403 EXCEEDED_DOMAIN_ML_LIMIT); a delete frees a place; -1 allows none."""
    make_domain(api, numberOfLists="1")
    assert create(api).status_code == 201
    assert_error(create(api, "two@example.com"), 403, "EXCEEDED_DOMAIN_ML_LIMIT")
    assert api.delete(f"/api/maillist/{LIST}").status_code == 200
    assert counter(raw) == "0"
    assert create(api, "two@example.com").status_code == 201
    make_domain(api, OTHER, numberOfLists="-1")
    assert_error(create(api, "l@other.test"), 403, "EXCEEDED_DOMAIN_ML_LIMIT")
    assert list_count(raw, OTHER) == 0


def test_parallel_creates_never_exceed_number_of_lists(api, raw, live_url):
    """15 concurrent creates under numberOfLists=3 leave exactly 3 lists and the counter at 3."""
    make_domain(api, numberOfLists="3")
    sessions = logged_in_sessions(live_url, 15)
    results = run_at_once(
        sessions,
        lambda s, i: s.post(
            f"{live_url}/maillist/l{i:02d}@{DOMAIN}", data={"members": "x@elsewhere.test"}
        ),
    )
    statuses = sorted(status for status, _body in results)
    assert statuses == [201] * 3 + [403] * 12, results
    assert {body["msg"] for status, body in results if status == 403} == {
        "EXCEEDED_DOMAIN_ML_LIMIT"
    }
    assert list_count(raw) == 3 and counter(raw) == "3"
    holders = raw.count(f"ou=Externals,{raw.domain_dn(DOMAIN)}", "(objectClass=mailExternalUser)")
    assert holders == 3


def test_lists_written_by_older_tools_are_read_and_cleaned(world, raw):
    """A list whose externals sit in per-address mailExternalUser entries is read, edited and deleted."""
    assert raw.conn.add(list_dn(raw, LIST), ["mailList"], {
        "mail": LIST, "accountStatus": "active", "enabledService": ["mail", "deliver"]})  # fmt: skip
    old_holder = f"mail=old@elsewhere.test,ou=Externals,{raw.domain_dn(DOMAIN)}"
    assert raw.conn.add(old_holder, ["mailExternalUser"], {
        "mail": "old@elsewhere.test", "memberOfGroup": LIST, "accountStatus": "active",
        "enabledService": ["mail", "deliver"]})  # fmt: skip
    assert raw.conn.modify(
        raw.user_dn("john@example.com"), {"memberOfGroup": [("MODIFY_ADD", [LIST])]}
    )
    data = world.get(f"/api/maillist/{LIST}").json["_data"]
    assert data["members"] == ["john@example.com", "old@elsewhere.test"]
    assert data["externalMembers"] == ["old@elsewhere.test"]
    response = world.put(f"/api/maillist/{LIST}", data={"removeMember": "old@elsewhere.test"})
    assert response.status_code == 200 and response.json["_data"]["members"] == ["john@example.com"]
    assert world.delete(f"/api/maillist/{LIST}").status_code == 200
    assert raw.entry(old_holder) is None and raw.entry(list_dn(raw, LIST)) is None
    assert groups_of(raw, raw.user_dn("john@example.com")) == []
