"""Creating admins: a standalone mailAdmin entry, or the first global admin of a directory."""

from __future__ import annotations

from marshmallow import ValidationError

from ... import errors
from ...addresses import normalise_email
from ...ldap import Directory
from ...ldap import attrs as A
from ...ldap import filters as F
from ...passwords import hash_password
from .login import days_since_epoch


def any_global_admin(directory: Directory) -> bool:
    """Tell whether at least one global admin (standalone or mail user) exists."""
    standalone = F.and_(F.object_class(A.OC_ADMIN), F.eq("domainGlobalAdmin", "yes"))
    if directory.search_one(directory.dn.admins, standalone, ["1.1"], scope="one"):
        return True
    promoted = F.and_(
        F.object_class(A.OC_USER),
        F.eq("domainGlobalAdmin", "yes"),
        F.eq("enabledService", "domainadmin"),
    )
    return directory.search_one(directory.dn.domains, promoted, ["1.1"]) is not None


def check_standalone_address(directory: Directory, mail: str) -> str:
    """Return the normalised address of a new standalone admin, or raise 400 naming mail."""
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
    return mail


def create_admin(
    directory: Directory, mail: str, password: str, is_global: bool = True, scheme: str = "SSHA512"
) -> str:
    """Create a standalone admin (mailAdmin under o=domainAdmins); return its DN."""
    mail = check_standalone_address(directory, mail)
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
