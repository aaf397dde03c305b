"""Admins as iRedAdmin sees them (standalone mailAdmin entries and admin mail users): login and sessions."""

from __future__ import annotations

import datetime
import hashlib
import random
import time

from marshmallow import ValidationError

from ... import errors
from ...addresses import normalise_email
from ...identity import CurrentAdmin
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import StaleValue
from ...ldap import attrs as A
from ...ldap import filters as F
from ...ldap import retry_on_stale
from ...passwords import verify_password
from ..settings import setting_int
from ..settings import setting_value
from ..settings import setting_values

# accountSetting keys this project adds to admin entries. iRedAdmin keeps keys it
# does not know, so these survive edits made in its web UI.
ROLE = "role"  # role:limited makes a read-only admin (Rackspace type "limited")
ROLE_LIMITED = "limited"
LOCKED = "locked"  # locked:yes
PASSWORD_EXPIRATION = "passwordExpiration"  # days after shadowLastChange; absent = never
SIMULTANEOUS_LOGINS = "allowSimultaneousLogins"  # only "no" is stored
SESSION_EPOCH = "sessionEpoch"  # bumped at each login of a single-session admin
# endedSession:<session id>:<unix time>: a logged-out session, refused until no copy of its
# cookie can still be valid (the idle lifetime after the logout).
ENDED_SESSION = "endedSession"
# More ended sessions than this at once: a logout ends all of the admin's sessions instead.
MAX_ENDED_SESSIONS = 100
RESTRICTED_IPS = "restrictedIps"  # one value per address or network
CREATE_NEW_DOMAINS = "create_new_domains"  # iRedAdmin-Pro: a normal admin may create domains
SETTING = "accountSetting"

LOGIN_ATTRIBUTES = ["objectClass", "mail", "userPassword", "accountStatus", "domainStatus",
                    "enabledService", "domainGlobalAdmin", "accountSetting",
                    "shadowLastChange"]  # fmt: skip
# Verified when the account does not exist, so both paths cost one hash check.
_DUMMY_HASH = "{SSHA512}" + "A" * 88
EPOCH_ATTEMPTS = 20


def days_since_epoch() -> int:
    """Return today as days since 1970-01-01 (shadowLastChange)."""
    return (datetime.date.today() - datetime.date(1970, 1, 1)).days


def is_yes(value: str | None) -> bool:
    """Tell whether a stored flag says yes."""
    return (value or "").strip().lower() == "yes"


def password_expired(entry: Entry, today: int | None = None) -> bool:
    """Tell whether passwordExpiration days have passed since shadowLastChange (unknown = passed)."""
    days = setting_int(entry, PASSWORD_EXPIRATION)
    if days <= 0:
        return False
    try:
        changed = int(entry.first("shadowLastChange") or "")
    except ValueError:
        return True
    return (today if today is not None else days_since_epoch()) >= changed + days


def is_admin_entry(entry: Entry) -> bool:
    """Tell whether an entry is a standalone admin or a mail user promoted to admin."""
    if entry.has("objectClass", A.OC_ADMIN):
        return True
    return entry.has("objectClass", A.OC_USER) and entry.has("enabledService", "domainadmin")


def is_active(entry: Entry) -> bool:
    """Tell whether an admin entry is enabled (and, for a mail user, its domain too)."""
    if (entry.first("accountStatus") or "").lower() != A.STATUS_ACTIVE:
        return False
    return (entry.first("domainStatus") or "").lower() != A.STATUS_DISABLED


def is_global_entry(entry: Entry) -> bool:
    """Tell whether an admin entry carries domainGlobalAdmin: yes."""
    return is_yes(entry.first("domainGlobalAdmin"))


def admin_from_entry(entry: Entry, domains: list[str] | None = None) -> CurrentAdmin | None:
    """Return the admin an entry stands for (locked ones too), or None if it may not log in."""
    if not is_admin_entry(entry) or not is_active(entry):
        return None
    is_global = is_global_entry(entry)
    kind = "admin" if entry.has("objectClass", A.OC_ADMIN) else "user"
    epoch = setting_int(entry, SESSION_EPOCH)
    return CurrentAdmin(
        (entry.first("mail") or "").lower(),
        entry.dn,
        kind,
        is_global,
        read_only=(setting_value(entry, ROLE) or "").lower() == ROLE_LIMITED,
        can_create_domains=is_yes(setting_value(entry, CREATE_NEW_DOMAINS)),
        locked=is_yes(setting_value(entry, LOCKED)),
        password_expired=password_expired(entry),
        restricted_ips=setting_values(entry, RESTRICTED_IPS),
        single_session=(setting_value(entry, SIMULTANEOUS_LOGINS) or "").lower() == "no",
        session_epoch=epoch,
        password_digest=password_digest(entry),
        domains=[] if is_global else domains,
    )


def password_digest(entry: Entry) -> str:
    """Return a digest of the entry's stored password hashes: it changes with the password."""
    return hashlib.sha256("\0".join(sorted(entry.all("userPassword"))).encode()).hexdigest()


def login_entries(directory: Directory, mail: str) -> list[Entry]:
    """Return the mail user and the standalone admin of an address, in iRedAdmin's login order."""
    entries = []
    for dn in (directory.dn.user(mail), directory.dn.admin(mail)):
        entry = directory.get(dn, LOGIN_ATTRIBUTES)
        if entry is not None:
            entries.append(entry)
    return entries


def managed_domains(directory: Directory, mail: str) -> list[str]:
    """Return the domains whose domainAdmin names this address (iRedAdmin get_managed_domains)."""
    search_filter = F.and_(F.object_class(A.OC_DOMAIN), F.eq("domainAdmin", mail))
    entries = directory.search(directory.dn.domains, search_filter, ["domainName"], "one")
    return sorted((e.first("domainName") or "").lower() for e in entries)


def verify_login(directory: Directory, username: str, password: str) -> CurrentAdmin | None:
    """Return the admin whose password matches (locked or not), or None; checked in Python."""
    try:
        mail = normalise_email(username)
    except ValidationError:
        verify_password(password, _DUMMY_HASH)
        return None
    for entry in login_entries(directory, mail):
        if not any(verify_password(password, stored) for stored in entry.all("userPassword")):
            return None
        admin = admin_from_entry(entry)
        if admin is not None and not admin.is_global:
            admin.domains = managed_domains(directory, admin.mail)
        return admin
    verify_password(password, _DUMMY_HASH)
    return None


def authenticate(directory: Directory, username: str, password: str) -> CurrentAdmin | None:
    """Return the admin whose password matches and who may log in now (not locked), else None."""
    admin = verify_login(directory, username, password)
    return admin if admin is not None and not admin.locked else None


def load_login_admin(
    directory: Directory, mail: str, with_domains: bool = True
) -> CurrentAdmin | None:
    """Re-read an admin for a running session; None when it may no longer log in (locked too)."""
    for entry in login_entries(directory, mail):
        admin = admin_from_entry(entry)
        if admin is None or admin.locked:
            continue
        if with_domains and not admin.is_global:
            admin.domains = managed_domains(directory, admin.mail)
        return admin
    return None


def reload_admin(directory: Directory, dn: str) -> tuple[CurrentAdmin, Entry] | None:
    """Re-read an admin by DN (one base read); None when it may no longer act (locked too)."""
    entry = directory.get(dn, LOGIN_ATTRIBUTES)
    admin = admin_from_entry(entry) if entry is not None else None
    if entry is None or admin is None or admin.locked:
        return None
    return admin, entry


def _ended_records(entry: Entry) -> list[tuple[str, str, int]]:
    """Return (stored value, session id, kept until) for each endedSession value of an entry."""
    records = []
    for value in entry.all(SETTING):
        key, _sep, rest = value.partition(":")
        if key.lower() == ENDED_SESSION.lower():
            session_id, _sep, until = rest.rpartition(":")
            records.append((value, session_id, int(until) if until.isdigit() else 0))
    return records


def load_session_admin(directory: Directory, dn: str, session_id: str) -> CurrentAdmin | None:
    """Re-read a running session's admin; None when it may no longer act or the session ended."""
    found = reload_admin(directory, dn)
    if found is None or any(ended == session_id for _v, ended, _u in _ended_records(found[1])):
        return None
    return found[0]


def end_session(directory: Directory, dn: str, session_id: str, until: int) -> None:
    """Record a logout on the admin's entry (dropping expired records) so every node refuses it.

    With MAX_ENDED_SESSIONS records still live, the admin's sessionEpoch is increased
    instead: that ends all of its sessions and lets every record go.
    """

    def attempt() -> None:
        entry = directory.get(dn, [SETTING])
        if entry is None:
            return
        records = _ended_records(entry)
        if any(ended == session_id for _v, ended, _u in records):
            return
        now = time.time()
        if sum(1 for _v, _s, kept in records if kept > now) >= MAX_ENDED_SESSIONS:
            epochs = [v for v in entry.all(SETTING) if _key_of(v) == SESSION_EPOCH.lower()]
            new_epoch = f"{SESSION_EPOCH}:{setting_int(entry, SESSION_EPOCH) + 1}"
            steps = [("delete", [v for v, _s, _k in records] + epochs), ("add", [new_epoch])]
        else:
            expired = [value for value, _s, kept in records if kept <= now]
            steps = [("delete", expired)] if expired else []
            steps.append(("add", [f"{ENDED_SESSION}:{session_id}:{until}"]))
        directory.modify(dn, {SETTING: steps})

    retry_on_stale(attempt, EPOCH_ATTEMPTS)


def _key_of(value: str) -> str:
    return value.partition(":")[0].lower()


def bump_session_epoch(directory: Directory, dn: str) -> int:
    """Increase the admin's sessionEpoch by compare-and-swap and return the new value."""
    for _attempt in range(EPOCH_ATTEMPTS):
        entry = directory.get(dn, [SETTING])
        if entry is None:
            raise errors.InvalidCredentials()
        old = [
            v for v in entry.all(SETTING) if v.partition(":")[0].lower() == SESSION_EPOCH.lower()
        ]
        new = setting_int(entry, SESSION_EPOCH) + 1
        steps: list[tuple[str, list[str]]] = [("delete", old)] if old else []
        steps.append(("add", [f"{SESSION_EPOCH}:{new}"]))
        try:
            directory.modify(dn, {SETTING: steps})
            return new
        except StaleValue:
            time.sleep(random.uniform(0, 0.01))
    raise errors.Conflict("Too many logins at once; try again.")
