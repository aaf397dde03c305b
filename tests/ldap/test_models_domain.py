"""Domain repository functions against slapd, without the HTTP layer."""

from __future__ import annotations

import pytest

from iredapi_ldap import errors
from iredapi_ldap import services
from iredapi_ldap.ldap import Directory
from iredapi_ldap.ldap import StaleValue
from iredapi_ldap.models.domains import domain as domains
from iredapi_ldap.models.settings import parse_settings
from iredapi_ldap.models.settings import setting_changes
from iredapi_ldap.models.settings import settings_of
from iredapi_ldap.models.units import bytes_to_mb
from iredapi_ldap.models.units import mb_to_bytes
from iredapi_ldap.models.units import parse_unit_quota
from tests.helpers import add_user


class RacingDirectory(Directory):
    """A real Directory on the same connection; another writer changes the domain first."""

    def __init__(self, directory, race, times):
        super().__init__(directory.conn, directory.dn.suffix, directory.page_size)
        self.race, self.times = race, times

    def modify(self, dn, changes):
        """Let the other writer in before modifying a domain entry (up to `times` times)."""
        if self.times and dn.startswith("domainName="):
            self.times -= 1
            self.race()
        super().modify(dn, changes)


# -- create --------------------------------------------------------------------------------


def test_create_uses_configured_services_and_transport(directory, config, raw):
    """ADDITIONAL_ENABLED_DOMAIN_SERVICES and DEFAULT_MTA_TRANSPORT shape new domains."""
    config.update(ADDITIONAL_ENABLED_DOMAIN_SERVICES="self-service, domainalias",
                  DEFAULT_MTA_TRANSPORT="lmtp:unix:private/dovecot-lmtp")  # fmt: skip
    profile = domains.create_domain(directory, "c.example", {"services": ["senderbcc"]}, config)
    assert profile["services"] == ["mail", "self-service", "domainalias", "senderbcc"]
    stored = raw.attrs(raw.domain_dn("c.example"))
    assert stored["mtatransport"] == ["lmtp:unix:private/dovecot-lmtp"]
    assert stored["enabledservice"] == ["domainalias", "mail", "self-service", "senderbcc"]


def test_create_existing_raises(directory, config):
    """A second create of the same domain raises AlreadyExists."""
    domains.create_domain(directory, "c.example", {}, config)
    with pytest.raises(errors.AlreadyExists):
        domains.create_domain(directory, "c.example", {"name": "x"}, config)


def test_create_rolls_back_when_a_container_fails(directory, config, raw):
    """If adding a container fails (another writer created it), the domain is removed again."""
    groups = f"ou=Groups,{raw.domain_dn('r.example')}"

    class Interfering(Directory):
        def add(self, dn, attributes):
            if dn == groups:
                assert raw.conn.add(groups, ["organizationalUnit"], {"ou": "Groups"})
            super().add(dn, attributes)

    with pytest.raises(errors.AlreadyExists):
        domains.create_domain(Interfering(directory.conn, directory.dn.suffix), "r.example", {},
                              config)  # fmt: skip
    assert raw.entry(raw.domain_dn("r.example")) is None


def test_missing_domain_raises_no_such_domain(directory, config):
    """Reading, updating or deleting an unknown domain raises NoSuchDomain (404)."""
    for call in (lambda: domains.get_domain(directory, "no.example"),
                 lambda: services.domains.update_domain(directory, "no.example", {"name": "x"},
                                                        config),
                 lambda: services.domains.delete_domain(directory, "no.example", "a@b.c", 0)):  # fmt: skip
        with pytest.raises(errors.NoSuchDomain) as info:
            call()
        assert info.value.status == 404 and info.value.code == "NO_SUCH_DOMAIN"


# -- reading what others wrote ---------------------------------------------------------------


def test_profile_tolerates_foreign_values(directory, raw):
    """Entries written by iRedAdmin or by hand are read leniently (garbage reads as 0)."""
    ok = raw.conn.add(raw.domain_dn("f.example"), ["mailDomain"], {
        "domainName": "f.example",
        "preferredLanguage": "de_DE",
        "mtaTransport": "relay:[192.0.2.9]:25",
        "domainBackupMX": "YES",
        "domainCurrentUserNumber": "3",
        "domainAliasName": ["alias.example"],
        "domainAdmin": ["boss@f.example"],
        "accountSetting": ["numberOfUsers:abc", "domainQuota:10:GB", "defaultQuota:5",
                           "disabledDomainProfile:BCC", "disabledMailService:imap",
                           "someFutureKey:value"],
    })  # fmt: skip
    assert ok, raw.conn.result
    profile = domains.get_domain(directory, "f.example")
    assert profile["name"] == "" and profile["accountStatus"] == "active"
    assert profile["language"] == "de_DE"
    assert profile["quota"] == 10240 and profile["defaultQuota"] == 5
    assert profile["numberOfUsers"] == 0 and profile["currentUsers"] == 3
    assert profile["disabledDomainProfiles"] == ["bcc"]
    assert profile["disabledMailServices"] == ["imap"]
    assert profile["is_backupmx"] is True and profile["primarymx"] == "[192.0.2.9]:25"
    assert profile["aliasDomains"] == ["alias.example"] and profile["admins"] == ["boss@f.example"]


def test_list_domains_window_and_filters(directory, raw):
    """list_domains pages in directory order, filters disabled ones, can return names only."""
    for i in range(7):
        assert raw.conn.add(raw.domain_dn(f"l{i}.example"), ["mailDomain"], {
            "domainName": f"l{i}.example", "accountStatus": "disabled" if i % 3 == 0 else "active",
        })  # fmt: skip
    names, total = domains.list_domains(directory, 2, 3, name_only=True)
    assert (names, total) == (["l2.example", "l3.example", "l4.example"], 7)
    names, total = domains.list_domains(directory, 0, 10, disabled_only=True, name_only=True)
    assert (names, total) == (["l0.example", "l3.example", "l6.example"], 3)
    profiles, total = domains.list_domains(directory, 6, 10)
    assert total == 7 and [p["domain"] for p in profiles] == ["l6.example"]


# -- update -------------------------------------------------------------------------------------


def bump_quota(raw, domain):
    """Return a race: another admin changes domainQuota and adds a limit, atomically."""
    dn = raw.domain_dn(domain)

    def race():
        current = [v for v in raw.attrs(dn)["accountsetting"] if v.startswith("domainQuota:")]
        new = int(current[0].split(":")[1]) + 1
        assert raw.conn.modify(dn, {"accountSetting": [
            ("MODIFY_DELETE", current), ("MODIFY_ADD", [f"domainQuota:{new}:MB", f"numberOfLists:{new}"]),
        ]}), raw.conn.result  # fmt: skip

    return race


def test_update_retries_after_a_concurrent_change(directory, config, raw):
    """A concurrent change makes the first modify fail; the retry applies on top of it."""
    domains.create_domain(directory, "u.example", {"quota": 100}, config)
    racing = RacingDirectory(directory, bump_quota(raw, "u.example"), times=1)
    profile = services.domains.update_domain(racing, "u.example", {"quota": 300}, config)
    assert profile["quota"] == 300
    # Exactly one domainQuota, and the other writer's numberOfLists survived.
    assert raw.attrs(raw.domain_dn("u.example"))["accountsetting"] == [
        "domainQuota:300:MB", "numberOfLists:101",
    ]  # fmt: skip


def test_update_gives_up_after_repeated_races(directory, config, raw):
    """When every attempt loses the race, StaleValue (409 CONFLICT) reaches the caller."""
    domains.create_domain(directory, "u.example", {"quota": 100}, config)
    racing = RacingDirectory(directory, bump_quota(raw, "u.example"), times=domains.RETRIES)
    with pytest.raises(StaleValue) as info:
        services.domains.update_domain(racing, "u.example", {"quota": 300, "name": "lost"}, config)
    assert info.value.status == 409
    stored = raw.attrs(raw.domain_dn("u.example"))
    assert f"domainQuota:{100 + domains.RETRIES}:MB" in stored["accountsetting"]
    assert "cn" not in stored


def test_set_accounts_domain_status_counts_and_scope(directory, config, raw):
    """Only this domain's accounts are marked; already marked ones are not touched again."""
    domains.create_domain(directory, "s.example", {}, config)
    domains.create_domain(directory, "t.example", {}, config)
    first = add_user(raw, "a@s.example")
    add_user(raw, "b@s.example", domainStatus="disabled")
    other = add_user(raw, "c@t.example")
    assert domains.set_accounts_domain_status(directory, "s.example", "disabled") == 1
    assert raw.attrs(first)["domainstatus"] == ["disabled"]
    assert "domainstatus" not in raw.attrs(other)
    assert domains.set_accounts_domain_status(directory, "s.example", "disabled") == 0
    assert domains.set_accounts_domain_status(directory, "s.example", "active") == 2
    assert raw.count(raw.domain_dn("s.example"), "(domainStatus=*)") == 0


# -- accountSetting and units ------------------------------------------------------------------


def test_parse_settings():
    """Integers become ints, multi-value keys lists (lower-cased, de-duplicated), others strings."""
    parsed = parse_settings(["defaultQuota:1024", "numberOfUsers:x", "disabledDomainProfile:BCC",
                             "disabledDomainProfile:bcc", "disableddomainprofile:relay",
                             "defaultLanguage:en_US", "noColon", "defaultList:a@x,b@x"])  # fmt: skip
    assert parsed == {
        "defaultQuota": 1024,
        "disabledDomainProfile": ["bcc", "relay"],
        "defaultLanguage": "en_US",
        "defaultList": "a@x,b@x",
    }


def test_setting_changes_touch_only_given_keys(directory, config, raw):
    """setting_changes deletes exactly the old values of the given keys and adds the new ones."""
    domains.create_domain(directory, "k.example", {"numberOfUsers": 5, "defaultQuota": 7}, config)
    entry = domains.get_domain_entry(directory, "k.example")
    steps = setting_changes(entry, {"numberOfUsers": 6, "maxUserQuota": None,
                                    "disabledUserProfile": ["bcc", "relay"]})  # fmt: skip
    assert steps == [
        ("delete", ["numberOfUsers:5"]),
        ("add", ["disabledUserProfile:bcc", "disabledUserProfile:relay", "numberOfUsers:6"]),
    ]
    directory.modify(entry.dn, {"accountSetting": steps})
    assert settings_of(directory.get(entry.dn)) == {
        "defaultQuota": 7, "numberOfUsers": 6, "disabledUserProfile": ["bcc", "relay"],
    }  # fmt: skip
    assert setting_changes(directory.get(entry.dn), {"numberOfUsers": 6}) == []


@pytest.mark.parametrize(
    "text, mb",
    [("10:GB", 10240), ("2:TB", 2097152), ("300:MB", 300), ("300", 300), ("5:mb", 5),
     ("", 0), (None, 0), ("x:GB", 0)],
)  # fmt: skip
def test_parse_unit_quota(text, mb):
    """domainQuota values read as MB; garbage reads as 0."""
    assert parse_unit_quota(text) == mb


def test_mb_bytes_conversion():
    """MB and bytes convert both ways (whole MB)."""
    assert mb_to_bytes(3) == 3 * 1024 * 1024
    assert bytes_to_mb(3 * 1024 * 1024 + 5) == 3
    assert bytes_to_mb(None) == 0 and bytes_to_mb("1048576") == 1
