"""Spam policies: Amavisd's per-recipient settings for global, a domain or a user.

Amavisd takes each setting from the most specific `users` row (user, then domain, then
global) whose linked policy has it non-NULL, and falls back to amavisd.conf. A setting
given as `inherit` is stored as NULL; `yes`/`no` override what lies below.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from ...errors import ValidationFailed
from ...ldap import Directory
from ...sqlstore.amavisd import AmavisdStore
from ..members import alias_domains_of
from ..members import get_domain_entry
from .addresses import account_type
from .addresses import policy_account
from .wblist import ACCOUNT_PRIORITIES
from .wblist import COLUMN
from .wblist import amavisd_account

# iRedMail's amavisd.conf: $sa_spam_subject_tag; Pro's AMAVISD_SPAM_SUBJECT_PREFIX.
SUBJECT_PREFIX = "[SPAM] "
# The names iRedMail's amavisd.conf defines in %banned_rules.
BAN_RULES = ("ALLOW_MS_OFFICE", "ALLOW_MS_WORD", "ALLOW_MS_EXCEL", "ALLOW_MS_PPT", "DEFAULT")
BYPASS = {
    "bypass_spam_checks": "bypass_spam_checks",
    "bypass_virus_checks": "bypass_virus_checks",
    "bypass_banned_checks": "bypass_banned_checks",
    "bypass_header_checks": "bypass_header_checks",
}
QUARANTINE = {
    "quarantine_spam": ("spam_quarantine_to", "spam-quarantine"),
    "quarantine_virus": ("virus_quarantine_to", "virus-quarantine"),
    "quarantine_banned": ("banned_quarantine_to", "banned-quarantine"),
    "quarantine_bad_header": ("bad_header_quarantine_to", "bad-header-quarantine"),
}
SWITCHES = (*BYPASS, *QUARANTINE, "prefix_spam_in_subject", "always_insert_x_spam_headers")
# What a setting not given becomes (Pro's PUT replaces the whole policy with these).
DEFAULTS = {**dict.fromkeys(BYPASS, "no"), **dict.fromkeys(SWITCHES[4:], "inherit"),
            "quarantine_virus": "yes"}  # fmt: skip
CHOICES = {"yes": True, "no": False, "inherit": None}
# Score levels: FLOAT on MySQL keeps about 7 digits; two decimals are what we promise.
MAX_SCORE = Decimal("1000")
SCORE_STEP = Decimal("0.01")
# Columns the API manages; a PUT leaves every other column of the row as it was.
LEVEL_COLUMNS = ("spam_tag_level", "spam_tag2_level", "spam_tag3_level", "spam_kill_level")


def get_spam_policy(store: AmavisdStore, account: str) -> dict[str, Any]:
    """Return the account's policy row as Pro does (every column and users_id), or {}.

    Score levels come back with at most two decimals (MySQL stores them in single
    precision: 6.2 is read as 6.19999...).
    """
    row = store.spam_policy(amavisd_account(account))
    if row is None:
        return {}
    for name, value in row.items():
        if isinstance(value, float):
            row[name] = round(value, 2)
    return row


def set_spam_policy(
    store: AmavisdStore,
    account: str,
    settings: dict[str, Any],
    alias_domains: Iterable[str] = (),
    subject_prefix: str = SUBJECT_PREFIX,
) -> dict[str, Any]:
    """Replace the account's spam policy with settings (Pro's PUT) and return it.

    settings may hold the switches of SWITCHES (yes, no or inherit; True/False), a
    `spam_score` (a number >= 0 with at most two decimals: the level at which mail is
    spam, its subject tagged, and evasive action taken) and `banned_rulenames` (names of
    amavisd.conf's %banned_rules, a list or a comma-separated string). A switch not given
    takes Pro's default: bypass no, virus quarantine yes, the rest inherit. Every bad
    value is named under its field, and nothing is written.

    The policy is linked to the account's `users` row and, for a domain or user, to the
    same forms under each of alias_domains (see policy_alias_domains): mail to an alias
    domain reaches Amavisd under that name.
    """
    account = amavisd_account(account)
    values = policy_values(settings, subject_prefix)
    priority = ACCOUNT_PRIORITIES[account_type(account)]
    mirrors = [(form, priority) for form in alias_forms(account, alias_domains)]
    store.save_spam_policy((account, priority), values, mirrors)
    return get_spam_policy(store, account)


def delete_spam_policy(store: AmavisdStore, account: str) -> bool:
    """Delete the account's policy (it inherits again); True if there was one."""
    return store.delete_spam_policy(amavisd_account(account)) > 0


def policy_alias_domains(directory: Directory, account: str) -> list[str]:
    """Return the alias domains of the account's domain ([] for global)."""
    account = policy_account(account)
    if account_type(account) == "global":
        return []
    return alias_domains_of(get_domain_entry(directory, account.rpartition("@")[2]))


def sync_alias_domains(store: AmavisdStore, domain: str, alias_domains: Iterable[str]) -> None:
    """Link the policies of the domain and its users to exactly these alias domains' forms.

    For a domain update that adds or removes alias domains.
    """
    owners = store.policy_owners(policy_account(domain)[1:])
    aliases = list(alias_domains)
    store.relink_mirrors(
        (owner, [(form, ACCOUNT_PRIORITIES[account_type(owner)])
                 for form in alias_forms(owner, aliases)])
        for owner in owners
    )  # fmt: skip


def alias_forms(account: str, alias_domains: Iterable[str]) -> list[str]:
    """Return the account's forms under the alias domains: `@alias` or `user@alias`."""
    if account_type(account) == "global":
        return []
    local = account.rpartition("@")[0]
    forms = {f"{local}@{policy_account(alias)[1:]}" for alias in alias_domains}
    return sorted(form for form in forms if form != account and len(form) <= COLUMN)


def policy_values(settings: dict[str, Any], subject_prefix: str = SUBJECT_PREFIX) -> dict:
    """Return the managed `policy` columns for settings; ValidationFailed naming each bad field."""
    unknown = sorted(set(settings) - {*SWITCHES, "spam_score", "banned_rulenames"})
    errors: dict[str, list[str]] = {name: ["Unknown setting."] for name in unknown}
    choice: dict[str, bool | None] = {}
    for name in SWITCHES:
        value = settings.get(name)
        try:
            choice[name] = _choice(DEFAULTS[name] if value is None else value)
        except ValueError as exc:
            errors[name] = [f"{value!r}: {exc}"]
    score = rules = None
    try:
        score = _score(settings.get("spam_score"))
    except ValueError as exc:
        errors["spam_score"] = [f"{settings.get('spam_score')!r}: {exc}"]
    try:
        rules = _rules(settings.get("banned_rulenames"))
    except ValueError as exc:
        errors["banned_rulenames"] = [f"{settings.get('banned_rulenames')!r}: {exc}"]
    if errors:
        raise ValidationFailed(
            "Invalid spam policy setting(s): " + ", ".join(sorted(errors)) + ".", errors=errors
        )
    return _columns(choice, score, rules, subject_prefix)


def _columns(
    choice: dict[str, bool | None], score: float | None, rules: str, prefix: str
) -> dict[str, Any]:
    """Map checked settings to columns: yes/no/inherit become Y/N/NULL, or what each means."""
    values: dict[str, Any] = {}
    for name, column in BYPASS.items():
        values[column] = None if choice[name] is None else ("Y" if choice[name] else "N")
    for name, (column, target) in QUARANTINE.items():
        # '' quarantines nothing (and overrides lower rows); NULL inherits.
        values[column] = None if choice[name] is None else (target if choice[name] else "")
    prefixed = choice["prefix_spam_in_subject"]
    tag = None if prefixed is None else (prefix if prefixed else "")
    values |= {"spam_subject_tag": tag, "spam_subject_tag2": tag, "spam_subject_tag3": tag}
    # A tag level of -100: every message gets the X-Spam headers. There is no value that
    # means "never" short of a level no mail reaches, so no and inherit both leave it NULL.
    values["spam_tag_level"] = -100.0 if choice["always_insert_x_spam_headers"] else None
    values |= {"spam_tag2_level": score, "spam_tag3_level": score, "spam_kill_level": score}
    values["banned_rulenames"] = rules
    return values


def _choice(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in CHOICES:
        raise ValueError("yes, no or inherit.")
    return CHOICES[text]


def _score(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("Not a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Not a number.") from None
    if not number.is_finite() or not 0 <= number <= MAX_SCORE:
        raise ValueError(f"Must be 0 to {MAX_SCORE}.")
    if number != number.quantize(SCORE_STEP):
        raise ValueError("At most two decimals.")
    return float(number)


def _rules(value: Any) -> str:
    """Return the rule names as a comma list in amavisd.conf's spelling ('' for none)."""
    if value is None:
        return ""
    items = value.split(",") if isinstance(value, str) else [str(item) for item in value]
    known = {rule.lower(): rule for rule in BAN_RULES}
    names: dict[str, None] = {}
    bad = []
    for item in (part.strip() for part in items):
        if item:
            if item.lower() in known:
                names[known[item.lower()]] = None
            else:
                bad.append(item)
    if bad:
        raise ValueError(f"Not in %banned_rules ({', '.join(BAN_RULES)}): {', '.join(bad)}.")
    text = ",".join(names)
    if len(text) > 64:
        raise ValueError("Longer than 64 characters (banned_rulenames is VARCHAR(64)).")
    return text
