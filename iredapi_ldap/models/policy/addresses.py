"""Policy accounts and sender values in the forms iRedAPD compares at mail time.

iRedAPD lower-cases what Postfix sends, strips a `+extension`, and then looks rows up by
exact string: `@.` (everyone), `@domain`, `@.domain` (the domain and its subdomains),
`@.tld`, `user@domain`, the client IP as Postfix writes it, `a.b.c.*`, and (for
whitelists only) networks it parses itself. A value in any other spelling is stored but
never matches, so it is refused here with the reason, rather than dropped as Pro does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from collections.abc import Iterable

import idna
from marshmallow import ValidationError

from ...addresses import TLD
from ...addresses import normalise_domain
from ...addresses import normalise_email
from ...errors import ValidationFailed
from ...ldap import Directory
from ..domains.domain import get_domain_entry
from ..users.user import get_user_entry

GLOBAL = "@."
# iRedAPD's ACCOUNT_PRIORITIES ("scale A"), which its tools/fix_throttle_priority.py also
# writes; Pro writes throttle rows on Amavisd's scale, which sorts these three the same way.
PRIORITIES = {"user": 100, "domain": 60, "global": 0}
# greylisting* account and sender columns are VARCHAR(100) on MySQL/MariaDB.
SHORT_COLUMN = 100
OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# iRedAPD tries `a.b.c.*` of an IPv4 client against greylisting whitelists.
WILDCARD_IPV4 = re.compile(rf"^{OCTET}\.{OCTET}\.{OCTET}\.\*$")


def ascii_domain(text: str) -> str:
    """Return a domain name lower-cased in ASCII, an IDN as punycode; ValueError if invalid."""
    value = text.strip()
    if not value.isascii():
        try:
            value = idna.encode(value.rstrip("."), uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError("Not a valid internationalised domain name.") from exc
    try:
        return normalise_domain(value)
    except ValidationError as exc:
        raise ValueError(_message(exc)) from exc


def ascii_address(text: str) -> str:
    """Return an e-mail address lower-cased, its domain in ASCII; ValueError if invalid."""
    local, _at, domain = text.strip().rpartition("@")
    try:
        return normalise_email(f"{local}@{ascii_domain(domain)}")
    except ValidationError as exc:
        raise ValueError(_message(exc)) from exc


def policy_account(target: str, field: str = "account") -> str:
    """Return the account form of `global`, a domain or an address: `@.`, `@domain`, `user@domain`.

    Forms already normalised come back unchanged, so every function here accepts both.
    """
    text = str(target).strip()
    try:
        if text.lower() == "global" or text == GLOBAL:
            return GLOBAL
        if text.startswith("@"):
            return "@" + ascii_domain(text[1:])
        if "@" in text:
            return ascii_address(text)
        return "@" + ascii_domain(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"Invalid account {target!r}: use global, a domain or an e-mail address.",
            errors={field: [f"{target!r}: {exc}"]},
        ) from None


def checked_account(target: str, max_length: int, field: str = "account") -> str:
    """Return policy_account(target) if it fits a column of max_length; ValidationFailed otherwise."""
    value = policy_account(target, field)
    if len(value) > max_length:
        raise ValidationFailed(
            f"Account longer than {max_length} characters.",
            errors={field: [f"{target!r}: longer than {max_length} characters."]},
        )
    return value


def one_of(value: str, choices: tuple[str, ...], field: str, what: str | None = None) -> str:
    """Return value lower-cased if it is one of choices; ValidationFailed naming field otherwise."""
    found = str(value).strip().lower()
    if found not in choices:
        allowed = " or ".join(choices)
        raise ValidationFailed(
            f"Invalid {what or field} {value!r}: {allowed}.",
            errors={field: [f"{value!r}: {allowed}."]},
        )
    return found


def account_type(account: str) -> str:
    """Return global, domain or user for a normalised account."""
    if account == GLOBAL:
        return "global"
    return "domain" if account.startswith("@") else "user"


def account_priority(account: str) -> int:
    """Return iRedAPD's priority of a normalised account (user 100, domain 60, global 0)."""
    return PRIORITIES[account_type(account)]


def resolve_account(directory: Directory, target: str, field: str = "account") -> str:
    """Return the account form of target; raise NoSuchDomain/NotFound unless this directory hosts it."""
    account = policy_account(target, field)
    kind = account_type(account)
    if kind == "domain":
        get_domain_entry(directory, account[1:])
    elif kind == "user":
        get_user_entry(directory, account, ["mail"])
    return account


def greylisting_sender(text: str) -> str:
    """Return a greylisting whitelist entry in the form iRedAPD compares; ValueError if it never matches."""
    value = text.strip().lower()
    if not value:
        raise ValueError("Empty.")
    if value.startswith("@"):
        return domain_form(value)
    if value.endswith("@*"):
        raise ValueError("iRedAPD's greylisting never compares user@* forms.")
    if "@" in value:
        return bare_address(value)
    if WILDCARD_IPV4.match(value):
        return value
    return ip_or_network(value)


def domain_form(value: str) -> str:
    """Return `@.`, `@.domain`, `@.tld` or `@domain` normalised; ValueError otherwise."""
    if value == GLOBAL:
        return value
    if value.startswith("@."):
        rest = value[2:]
        if "." in rest:
            return "@." + ascii_domain(rest)
        label = _ascii_label(rest)
        if not TLD.match(label):
            raise ValueError("Not a domain (@.domain) or top-level domain (@.tld).")
        return "@." + label
    return "@" + ascii_domain(value[1:])


def bare_address(value: str) -> str:
    """Return user@domain normalised; ValueError with a +extension, which iRedAPD drops."""
    if "+" in value.partition("@")[0]:
        raise ValueError("iRedAPD drops a +extension before comparing: give the bare address.")
    return ascii_address(value)


def _ascii_label(text: str) -> str:
    if text.isascii():
        return text
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError("Not a valid internationalised top-level domain.") from exc


def ip_or_network(value: str) -> str:
    """Return an IP address or network in the form iRedAPD compares; ValueError otherwise."""
    if "%" in value:
        raise ValueError("An IPv6 zone (%...) never appears in a client address.")
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            "Not an IP address, network (CIDR), a.b.c.*, e-mail address, @domain, @.domain or @."
        ) from None
    text = network.with_prefixlen
    if ipaddress.ip_interface(value).ip != network.network_address:
        # iRedAPD parses networks strictly: with host bits set, it skips the entry.
        raise ValueError(f"Host bits are set: the network is {text}.")
    # iRedAPD only tries whitelist networks that begin with the client's first octet
    # (IPv4), or with its first group and ':' and that contain ':/' (IPv6).
    if network.version == 4 and network.prefixlen < 8:
        raise ValueError("iRedAPD only matches IPv4 networks of /8 or longer.")
    if network.version == 6 and (network.prefixlen < 16 or ":/" not in text or text[0] == ":"):
        raise ValueError(
            "iRedAPD only matches IPv6 networks of /16 or longer written with '::' before"
            " the prefix (e.g. 2001:db8::/32); give a single address as such."
        )
    return text


def normalise_values(
    values: Iterable[str] | str, normalise: Callable[[str], str], field: str, max_length: int
) -> list[str]:
    """Normalise each value (dropping repeats); ValidationFailed names every bad one under field."""
    good: dict[str, None] = {}
    bad: list[tuple[str, str]] = []
    for item in split_values(values):
        try:
            value = normalise(item)
        except ValueError as exc:
            bad.append((item, str(exc)))
            continue
        if len(value) > max_length:
            bad.append((item, f"Longer than {max_length} characters."))
            continue
        good[value] = None
    if bad:
        raise ValidationFailed(
            f"Invalid value(s) in {field}: " + ", ".join(repr(item) for item, _ in bad) + ".",
            errors={field: [f"{item!r}: {reason}" for item, reason in bad]},
        )
    return list(good)


def split_values(values: Iterable[str] | str) -> list[str]:
    """Return values as a list; one string is split on commas, as Pro's form fields send."""
    if isinstance(values, str):
        return [part for part in (item.strip() for item in values.split(",")) if part]
    return [str(item) for item in values]


def _message(exc: ValidationError) -> str:
    messages = exc.messages
    return str(messages[0] if isinstance(messages, list) and messages else messages)
