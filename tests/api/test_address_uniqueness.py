"""One address, one account: slapd's unique overlay settles races the API's own check cannot.

The API looks an address up before it writes it, which leaves a window between the
look-up and the add; two requests in that window both pass. The embedded slapd refuses
the second write (constraintViolation), and the API answers 409 ALREADY_EXISTS.
"""

from __future__ import annotations

import pytest

from iredapi_ldap import errors
from iredapi_ldap.ldap import get_directory
from tests.helpers import PASSWORD
from tests.helpers import alias_dn
from tests.helpers import assert_error
from tests.helpers import logged_in_sessions
from tests.helpers import make_domain
from tests.helpers import make_user
from tests.helpers import run_at_once

DOMAIN = "example.com"
ROUNDS = 3
# Adding an alias address leaves a narrower window than a create: more rounds to hit it.
ALIAS_ROUNDS = 8
# Every kind of account the API creates under an address: (route, body).
KINDS = (
    ("user", {"password": PASSWORD}),
    ("alias", {}),
    ("maillist", {}),
    ("ml", {}),
)
COUNTERS = ("domaincurrentusernumber", "domaincurrentaliasnumber", "domaincurrentlistnumber")


@pytest.fixture
def app_config(app_config, mlmmj_spool):
    """The test app with an mlmmj spool, so that subscribable lists join the race."""
    spool, archive = mlmmj_spool
    return {**app_config, "MLMMJ_SPOOL_DIR": str(spool), "MLMMJ_ARCHIVE_DIR": str(archive)}


def holders(raw, address):
    """Return the DNs under o=domains whose mail or shadowAddress is the address."""
    raw.conn.search(
        f"o=domains,{raw.suffix}", f"(|(mail={address})(shadowAddress={address}))",
        attributes=["1.1"],
    )  # fmt: skip
    return [item["dn"] for item in raw.conn.response if item["type"] == "searchResEntry"]


def counters(raw):
    """Return the domain's user, alias and list counters as ints (missing: 0)."""
    entry = raw.entry(raw.domain_dn(DOMAIN))
    return [int(entry.get(name, ["0"])[0]) for name in COUNTERS]


def test_parallel_creates_of_one_address_as_mixed_kinds_make_one_account(
    api, raw, live_url, mlmmj_spool
):
    """20 simultaneous creates of one address as user/alias/list/mlmmj list: one 201, 19 409."""
    make_domain(api)
    spool = mlmmj_spool[0]
    for round_ in range(ROUNDS):
        address = f"race{round_}@{DOMAIN}"
        results = run_at_once(
            logged_in_sessions(live_url, 20),
            lambda s, i, address=address: s.post(
                f"{live_url}/{KINDS[i % len(KINDS)][0]}/{address}", data=KINDS[i % len(KINDS)][1]
            ),
        )
        statuses = sorted(status for status, _body in results)
        assert statuses == [201] + [409] * 19, results
        assert {body["msg"] for status, body in results if status == 409} == {"ALREADY_EXISTS"}
        assert len(holders(raw, address)) == 1, holders(raw, address)
    # Losers released what they reserved: the counters add up to the accounts that exist.
    assert sum(counters(raw)) == ROUNDS
    lists = [p.name for p in (spool / DOMAIN).iterdir()] if (spool / DOMAIN).exists() else []
    ml_entries = raw.count(f"ou=Groups,{raw.domain_dn(DOMAIN)}", "(enabledService=mlmmj)")
    assert len(lists) == ml_entries


def test_parallel_alias_addresses_of_one_address_go_to_one_user(api, raw, live_url):
    """20 users adding the same alias address at once: one 200, 19 409, one holder."""
    make_domain(api)
    for i in range(20):
        make_user(api, f"u{i:02d}@{DOMAIN}")
    for round_ in range(ALIAS_ROUNDS):
        address = f"shared{round_}@{DOMAIN}"
        results = run_at_once(
            logged_in_sessions(live_url, 20),
            lambda s, i, address=address: s.put(
                f"{live_url}/user/u{i:02d}@{DOMAIN}", data={"addAlias": address}
            ),
        )
        statuses = sorted(status for status, _body in results)
        assert statuses == [200] + [409] * 19, results
        assert {body["msg"] for status, body in results if status == 409} == {"ALREADY_EXISTS"}
        assert len(holders(raw, address)) == 1


def test_alias_address_equal_to_a_user_mail_is_409(api, raw):
    """A user's alias address (shadowAddress) may not be another user's mail; nothing changes."""
    make_domain(api)
    make_user(api, f"john@{DOMAIN}")
    make_user(api, f"jane@{DOMAIN}")
    before = raw.snapshot()
    response = api.put(f"/api/user/jane@{DOMAIN}", data={"addAlias": f"john@{DOMAIN}"})
    assert_error(response, 409, "ALREADY_EXISTS", "addAlias", [f"john@{DOMAIN}"])
    assert raw.snapshot() == before


def test_slapd_refusal_is_409_naming_the_address(app, api, raw):
    """A write that slipped past the API's look-up is refused by slapd: AlreadyExists naming it."""
    make_domain(api)
    make_user(api, f"john@{DOMAIN}")
    with app.app_context():
        directory = get_directory()
        with pytest.raises(errors.AlreadyExists) as refused:
            directory.add(
                alias_dn(raw, f"JOHN@{DOMAIN}"),
                {"objectClass": ["mailAlias"], "mail": f"JOHN@{DOMAIN}"},
            )
    assert refused.value.status == 409 and refused.value.code == "ALREADY_EXISTS"
    assert refused.value.detail == f"Address already used by another account: john@{DOMAIN}."
    assert holders(raw, f"john@{DOMAIN}") == [raw.user_dn(f"john@{DOMAIN}")]
