"""Admins as iRedAdmin sees them: standalone mailAdmin entries and admin mail users."""

from __future__ import annotations

import datetime

from marshmallow import ValidationError

from .. import errors
from ..auth import CurrentAdmin
from ..ldap import Directory, Entry
from ..ldap import attrs as A
from ..ldap import filters as F
from ..passwords import hash_password, verify_password
from ..schemas.fields import normalise_email

LOGIN_ATTRIBUTES = ["objectClass", "mail", "userPassword", "accountStatus", "domainStatus",
                    "enabledService", "domainGlobalAdmin"]  # fmt: skip
# Verified when the account does not exist, so both paths cost one hash check.
_DUMMY_HASH = "{SSHA512}" + "A" * 88


def days_since_epoch() -> int:
    """Return today as days since 1970-01-01 (shadowLastChange)."""
    return (datetime.date.today() - datetime.date(1970, 1, 1)).days


def _admin_from_entry(entry: Entry) -> CurrentAdmin | None:
    """Return the admin an entry stands for, or None if it may not log in as admin."""
    if (entry.first("accountStatus") or "").lower() != A.STATUS_ACTIVE:
        return None
    is_global = (entry.first("domainGlobalAdmin") or "").lower() == "yes"
    if entry.has("objectClass", A.OC_USER):
        if (entry.first("domainStatus") or "").lower() == A.STATUS_DISABLED:
            return None
        if not entry.has("enabledService", "domainadmin"):
            return None
        kind = "user"
    elif entry.has("objectClass", A.OC_ADMIN):
        kind = "admin"
    else:
        return None
    return CurrentAdmin(entry.first("mail", "").lower(), entry.dn, kind, is_global)


def _login_entries(directory: Directory, mail: str) -> list[Entry]:
    # iRedAdmin's order: the mail user first, then the standalone admin.
    entries = []
    for dn in (directory.dn.user(mail), directory.dn.admin(mail)):
        entry = directory.get(dn, LOGIN_ATTRIBUTES)
        if entry is not None:
            entries.append(entry)
    return entries


def authenticate(directory: Directory, username: str, password: str) -> CurrentAdmin | None:
    """Return the admin whose password matches, checked in Python as iRedAdmin does."""
    try:
        mail = normalise_email(username)
    except ValidationError:
        verify_password(password, _DUMMY_HASH)
        return None
    for entry in _login_entries(directory, mail):
        if any(verify_password(password, stored) for stored in entry.all("userPassword")):
            return _admin_from_entry(entry)
        return None
    verify_password(password, _DUMMY_HASH)
    return None


def load_login_admin(directory: Directory, mail: str) -> CurrentAdmin | None:
    """Re-read an admin for a running session; None when it may no longer log in."""
    for entry in _login_entries(directory, mail):
        admin = _admin_from_entry(entry)
        if admin is not None:
            return admin
    return None


def any_global_admin(directory: Directory) -> bool:
    """Tell whether at least one global admin (standalone or mail user) exists."""
    standalone = F.and_(F.object_class(A.OC_ADMIN), F.eq("domainGlobalAdmin", "yes"))
    if directory.search_one(directory.dn.admins, standalone, ["1.1"], scope="one"):
        return True
    promoted = F.and_(
        F.object_class(A.OC_USER), F.eq("domainGlobalAdmin", "yes"), F.eq("enabledService", "domainadmin")
    )
    return directory.search_one(directory.dn.domains, promoted, ["1.1"]) is not None


def create_admin(
    directory: Directory, mail: str, password: str, is_global: bool = True, scheme: str = "SSHA512"
) -> str:
    """Create a standalone admin (mailAdmin under o=domainAdmins); return its DN."""
    try:
        mail = normalise_email(mail)
    except ValidationError as exc:
        raise errors.ValidationFailed(
            f"Invalid email address: {mail!r}.", code="INVALID_MAIL", errors={"mail": exc.messages}
        ) from exc
    hosted = directory.get(directory.dn.domain(mail.rsplit("@", 1)[1]), ["1.1"])
    if hosted is not None:
        raise errors.ValidationFailed(
            "A standalone admin's address must not be in a hosted domain.",
            code="CAN_NOT_BE_LOCAL_DOMAIN",
            errors={"mail": ["Domain is hosted here; promote a mail user instead."]},
        )
    dn = directory.dn.admin(mail)
    local = mail.split("@", 1)[0]
    directory.add(
        dn,
        {
            "objectClass": [A.OC_ADMIN],
            "mail": mail,
            "cn": local,
            "sn": local,
            "givenName": local,
            "userPassword": hash_password(password, scheme),
            "accountStatus": A.STATUS_ACTIVE,
            "domainGlobalAdmin": "yes" if is_global else None,
            "shadowLastChange": days_since_epoch(),
        },
    )
    return dn


def create_global_admin(directory: Directory, mail: str, password: str) -> str:
    """Create a standalone global admin; return its DN."""
    return create_admin(directory, mail, password, is_global=True)
