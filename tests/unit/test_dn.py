"""DN builders: hostile RDN values are escaped and survive a parse round trip."""

from __future__ import annotations

import pytest
from ldap3.utils.dn import parse_dn

from iredapi_ldap.ldap.directory import dn_depth
from iredapi_ldap.ldap.dn import DNs
from iredapi_ldap.ldap.dn import domain_of
from iredapi_ldap.ldap.dn import escape_rdn_value
from iredapi_ldap.ldap.dn import rdn
from iredapi_ldap.ldap.dn import unescape_rdn_value

SUFFIX = "dc=example,dc=com"
DN = DNs(SUFFIX)

HOSTILE = [
    "*",
    "*)(uid=*",
    "a,b",
    "a,b+c",
    "a+b",
    "#lead",
    "mid#dle",
    " lead",
    "trail ",
    "  ",
    " ",
    "nu\x00l",
    "back\\slash",
    "\\",
    "a\\00",
    "a=b",
    'q"uote',
    "<a>;b",
    "münchen",
    "é#",
    "日本語",
    "x,ou=Users,domainName=evil.com",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_domain_dn_round_trips(value):
    """A hostile domain value stays one RDN under o=domains and parses back unchanged."""
    dn = DN.domain(value)
    parsed = parse_dn(dn, escape=False, strip=False)
    assert [attr for attr, _value, _sep in parsed] == ["domainName", "o", "dc", "dc"]
    assert unescape_rdn_value(parsed[0][1]) == value
    assert dn.endswith(",o=domains," + SUFFIX)
    assert DN.rdn_value(dn) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_user_dn_keeps_hostile_local_part_in_one_rdn(value):
    """A hostile local part of a user address never adds RDNs to the user DN."""
    mail = f"{value}@example.org"
    dn = DN.user(mail)
    parsed = parse_dn(dn)
    assert [attr for attr, _value, _sep in parsed] == [
        "mail", "ou", "domainName", "o", "dc", "dc",
    ]  # fmt: skip
    assert DN.rdn_value(dn) == mail
    assert parsed[2][1] == "example.org"


@pytest.mark.parametrize(
    "value, escaped",
    [
        ("*", "*"),
        ("a,b", "a\\,b"),
        ("a+b", "a\\+b"),
        ("#x", "\\#x"),
        ("x#y", "x\\#y"),
        (" x", "\\ x"),
        ("x ", "x\\ "),
        (" ", "\\ "),
        ("a b", "a b"),
        ("n\x00", "n\\00"),
        ("a\\b", "a\\\\b"),
        ("a=b", "a\\=b"),
        ('"', '\\"'),
        ("<>;", "\\<\\>\\;"),
        ("münchen", "münchen"),
        ("", ""),
    ],
)
def test_escape_rdn_value_exact(value, escaped):
    """Each RFC 4514 special character gets exactly one backslash; others are kept."""
    assert escape_rdn_value(value) == escaped


@pytest.mark.parametrize(
    "slapd_form, value",
    [
        ("\\20y", " y"),
        ("sp\\20", "sp "),
        ("\\23x", "#x"),
        ("a#b", "a#b"),
        ("q\\5Cz", "q\\z"),
        ("x\\00y", "x\x00y"),
        ("\\22q\\22", '"q"'),
        ("\\C3\\A9", "é"),
        ("a\\,b", "a,b"),
    ],
)
def test_unescape_reads_the_forms_slapd_returns(slapd_form, value):
    """Hex pairs (as slapd writes them) and backslash pairs unescape to the value."""
    assert unescape_rdn_value(slapd_form) == value
    assert DN.rdn_value(f"cn={slapd_form},{SUFFIX}") == value


def test_rdn_joins_attribute_and_escaped_value():
    """rdn() is attribute=escaped-value."""
    assert rdn("mail", "a,b@x.com") == "mail=a\\,b@x.com"


def test_containers_follow_the_iredmail_layout():
    """Every container DN has the iRedMail shape."""
    assert DN.domains == f"o=domains,{SUFFIX}"
    assert DN.admins == f"o=domainAdmins,{SUFFIX}"
    assert DN.users("a.com") == f"ou=Users,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.groups("a.com") == f"ou=Groups,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.aliases("a.com") == f"ou=Aliases,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.externals("a.com") == f"ou=Externals,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.user("u@a.com") == f"mail=u@a.com,ou=Users,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.alias("u@a.com") == f"mail=u@a.com,ou=Aliases,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.maillist("l@a.com") == f"mail=l@a.com,ou=Groups,domainName=a.com,o=domains,{SUFFIX}"
    assert DN.external_members("l@a.com") == (
        f"memberOfGroup=l@a.com,ou=Externals,domainName=a.com,o=domains,{SUFFIX}"
    )
    assert DN.admin("p@x.org") == f"mail=p@x.org,o=domainAdmins,{SUFFIX}"


def test_catch_all_user_dn():
    """A catch-all `@domain` lands in that domain's ou=Users."""
    assert DN.user("@a.com") == f"mail=@a.com,ou=Users,domainName=a.com,o=domains,{SUFFIX}"
    assert domain_of("@a.com") == "a.com"
    assert domain_of("x@y@a.com") == "a.com"


@pytest.mark.parametrize("dn, depth", [
    (SUFFIX, 2),
    (DN.domain("a.com"), 4),
    ("mail=a#b@x.com,ou=Users,domainName=x.com,o=domains," + SUFFIX, 6),
    (DN.user("a,b+c@x.com"), 6),
])  # fmt: skip
def test_dn_depth_counts_rdns_even_with_bare_hash(dn, depth):
    """dn_depth accepts the bare '#' slapd returns inside values."""
    assert dn_depth(dn) == depth
