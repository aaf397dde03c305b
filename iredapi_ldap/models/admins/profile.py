"""Admin accounts: add, change and remove the entry, passwords; stored the iRedAdmin way."""

from __future__ import annotations

from typing import Any

from ... import errors
from ... import passwords
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import filters as F
from ...ldap import retry_on_stale
from ..settings import setting_changes
from ..settings import setting_value
from . import roles as admin_roles
from .create import check_standalone_address
from .login import CREATE_NEW_DOMAINS
from .login import LOCKED
from .login import PASSWORD_EXPIRATION
from .login import RESTRICTED_IPS
from .login import ROLE
from .login import ROLE_LIMITED
from .login import SETTING
from .login import SIMULTANEOUS_LOGINS
from .login import days_since_epoch
from .login import is_yes
from .view import CONTACT_EMAIL
from .view import COUNT_FIELDS
from .view import MAILBOX_FIELDS
from .view import PROMOTED_FILTER
from .view import SECURITY_ANSWER
from .view import SECURITY_QUESTION
from .view import SERVICE_FLAGS
from .view import STANDALONE_FILTER
from .view import admin_type
from .view import get_admin_entry

RETRIES = 3


def password_policy(config: dict[str, Any]) -> passwords.PasswordPolicy:
    """Return the global password policy (config PASSWORD_*), which admins follow."""
    defaults = passwords.PasswordPolicy()
    return passwords.PasswordPolicy(
        min_length=config.get("PASSWORD_MIN_LENGTH", defaults.min_length),
        max_length=config.get("PASSWORD_MAX_LENGTH", defaults.max_length),
        require_letter=config.get("PASSWORD_REQUIRE_LETTER", defaults.require_letter),
        require_uppercase=config.get("PASSWORD_REQUIRE_UPPERCASE", defaults.require_uppercase),
        require_digit=config.get("PASSWORD_REQUIRE_DIGIT", defaults.require_digit),
        require_special=config.get("PASSWORD_REQUIRE_SPECIAL", defaults.require_special),
        special_chars=config.get("PASSWORD_SPECIAL_CHARACTERS", defaults.special_chars),
    )


def hashed_password(plain: str, config: dict[str, Any]) -> list[str]:
    """Check a password against the global policy (400 naming password) and hash it."""
    policy = password_policy(config)
    codes = passwords.check_password(plain, policy)
    if codes:
        text = passwords.describe_password_errors(codes, policy)
        raise errors.ValidationFailed(
            text[0].upper() + text[1:] + ".", code=codes[0], errors={"password": [text]}
        )
    return passwords.hash_password(plain, _scheme(config))


def _scheme(config: dict[str, Any]) -> str:
    return config.get("DEFAULT_PASSWORD_SCHEME") or passwords.DEFAULT_SCHEME


def requested_type(values: dict[str, Any]) -> str | None:
    """Return the type a request asks for (type, else isGlobalAdmin), or None."""
    if "type" in values:
        return values["type"]
    if "isGlobalAdmin" in values:
        return "super" if values["isGlobalAdmin"] else "standard"
    return None


def _settings_of_request(
    mail: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Return accountSetting keys the request sets; None removes a key."""
    settings: dict[str, Any] = {}
    wanted_type = requested_type(values)
    if wanted_type is not None:
        settings[ROLE] = ROLE_LIMITED if wanted_type == "limited" else None
    if "locked" in values:
        settings[LOCKED] = "yes" if values["locked"] else None
    if "passwordExpiration" in values:
        settings[PASSWORD_EXPIRATION] = values["passwordExpiration"] or None
    if "allowSimultaneousLogins" in values:
        settings[SIMULTANEOUS_LOGINS] = None if values["allowSimultaneousLogins"] else "no"
    if "restrictedIps" in values:
        settings[RESTRICTED_IPS] = values["restrictedIps"] or None
    if "email" in values:
        settings[CONTACT_EMAIL] = values["email"] if values["email"] != mail else None
    if "securityQuestion" in values:
        settings[SECURITY_QUESTION] = values["securityQuestion"]
    if "securityAnswer" in values:
        answer = values["securityAnswer"].strip().lower()
        settings[SECURITY_ANSWER] = passwords.hash_password(answer, _scheme(config))[0]
    if "createNewDomains" in values:
        settings[CREATE_NEW_DOMAINS] = "yes" if values["createNewDomains"] else None
    elif values.get("maxDomains", 0) > 0:
        # iRedAdmin-Pro scripts send only maxDomains; a cap to create up to implies the right.
        settings[CREATE_NEW_DOMAINS] = "yes"
    for field, key in COUNT_FIELDS.items():
        if field in values:
            settings[key] = values[field] or None
    if "maxQuota" in values:
        settings[admin_roles.QUOTA_CAP] = values["maxQuota"] or None
        settings[admin_roles.QUOTA_UNIT] = (
            values.get("quotaUnit", "MB") if values["maxQuota"] else None
        )
    return settings


def _encode(settings: dict[str, Any]) -> list[str]:
    encoded: list[str] = []
    for key, value in settings.items():
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, ""):
                encoded.append(f"{key}:{item}")
    return encoded


def _check_domains(directory: Directory, values: dict[str, Any]) -> None:
    for field in ("domains", "addDomain"):
        unknown = admin_roles.missing_domains(directory, values.get(field, []))
        if unknown:
            raise errors.ValidationFailed(
                f"No such domain: {', '.join(unknown)}.",
                code="NO_SUCH_DOMAIN",
                errors={field: [f"Not hosted here: {', '.join(unknown)}."]},
            )


def add_admin_entry(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> str:
    """Add a standalone admin's entry (mailAdmin under o=domainAdmins); return its address."""
    mail = check_standalone_address(directory, mail)
    _check_domains(directory, values)
    local = mail.split("@", 1)[0]
    kind_type = requested_type(values) or "standard"
    enabled = values.get("enabled", values.get("accountStatus", A.STATUS_ACTIVE) == A.STATUS_ACTIVE)
    directory.add(
        directory.dn.admin(mail),
        {
            "objectClass": [A.OC_ADMIN],
            "mail": mail,
            "cn": values.get("name") or local,
            "givenName": values.get("firstName") or local,
            "sn": values.get("lastName") or local,
            "userPassword": hashed_password(values["password"], config),
            "accountStatus": A.STATUS_ACTIVE if enabled else A.STATUS_DISABLED,
            "preferredLanguage": values.get("language") or config.get("DEFAULT_LANGUAGE"),
            "domainGlobalAdmin": "yes" if kind_type == "super" else None,
            "shadowLastChange": days_since_epoch(),
            "disabledService": [svc for field, svc in SERVICE_FLAGS.items() if values.get(field)],
            SETTING: _encode(_settings_of_request(mail, values, config)),
        },
    )
    return mail


def other_super_exists(directory: Directory, dn: str) -> bool:
    """Tell whether an active, unlocked global admin other than `dn` exists."""
    common = [
        F.eq("domainGlobalAdmin", "yes"),
        F.eq("accountStatus", A.STATUS_ACTIVE),
        F.not_(F.eq(SETTING, f"{LOCKED}:yes")),
        F.not_(F.eq(SETTING, f"{ROLE}:{ROLE_LIMITED}")),
    ]
    searches = (
        (directory.dn.admins, F.and_(STANDALONE_FILTER, *common), "one"),
        (directory.dn.domains, F.and_(PROMOTED_FILTER, *common), "sub"),
    )
    for base, search_filter, scope in searches:
        for entry in directory.search(base, search_filter, ["1.1"], scope):
            if entry.dn.lower() != dn.lower():
                return True
    return False


def _stays_super(entry: Entry, values: dict[str, Any]) -> bool:
    wanted_type = requested_type(values)
    if wanted_type is not None and wanted_type != "super":
        return False
    if values.get("locked") or values.get("enabled") is False:
        return False
    return values.get("accountStatus", A.STATUS_ACTIVE) == A.STATUS_ACTIVE


def _guard_last_super(directory: Directory, entry: Entry, stays: bool) -> None:
    is_super = (
        admin_type(entry) == "super" and (entry.first("accountStatus") or "") == A.STATUS_ACTIVE
    )
    if is_super and not is_yes(setting_value(entry, LOCKED)) and not stays:
        if not other_super_exists(directory, entry.dn):
            raise errors.Conflict(
                "This is the last active global admin; create another one first.",
                code="LAST_GLOBAL_ADMIN",
            )


def check_old_password(entry: Entry, values: dict[str, Any]) -> None:
    """Require the current password (400 naming oldPassword) and a new one that differs."""
    old = values.get("oldPassword")
    if not old:
        raise errors.ValidationFailed(
            "Give oldPassword to change your own password.",
            errors={"oldPassword": ["Required to change your own password."]},
        )
    if not any(passwords.verify_password(old, v) for v in entry.all("userPassword")):
        raise errors.ValidationFailed(
            "oldPassword does not match the current password.",
            code="INVALID_OLD_PASSWORD",
            errors={"oldPassword": ["Does not match the current password."]},
        )
    if values["password"].strip() == old.strip():
        raise errors.ValidationFailed(
            "The new password must differ from the current one.",
            errors={"password": ["Must differ from the current password."]},
        )


def _changes(entry: Entry, values: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    mail = (entry.first("mail") or "").lower()
    changes: dict[str, Any] = {}
    for field, attribute in (("name", "cn"), ("firstName", "givenName"), ("lastName", "sn"),
                             ("language", "preferredLanguage")):  # fmt: skip
        if field in values:
            changes[attribute] = ("replace", values[field] or [])
    if "enabled" in values or "accountStatus" in values:
        enabled = values.get("enabled", values.get("accountStatus") == A.STATUS_ACTIVE)
        changes["accountStatus"] = ("replace", A.STATUS_ACTIVE if enabled else A.STATUS_DISABLED)
    wanted_type = requested_type(values)
    if wanted_type is not None:
        changes["domainGlobalAdmin"] = ("replace", "yes" if wanted_type == "super" else [])
    if "password" in values:
        changes["userPassword"] = ("replace", hashed_password(values["password"], config))
        changes["shadowLastChange"] = ("replace", str(days_since_epoch()))
    services = [s for s in entry.all("disabledService")]
    for field, service in SERVICE_FLAGS.items():
        if field in values:
            services = [s for s in services if s.lower() != service]
            services += [service] if values[field] else []
    if services != entry.all("disabledService"):
        changes["disabledService"] = ("replace", services)
    steps = setting_changes(entry, _settings_of_request(mail, values, config))
    if steps:
        changes[SETTING] = steps
    return changes


def modify_admin(
    directory: Directory,
    mail: str,
    values: dict[str, Any],
    config: dict[str, Any],
    by_self: bool = False,
) -> None:
    """Change an admin's entry (retried when it changed meanwhile); domain roles are not touched."""
    _check_domains(directory, values)

    def attempt() -> None:
        entry = get_admin_entry(directory, mail)
        if entry.has("objectClass", A.OC_USER):
            given = [field for field in MAILBOX_FIELDS if field in values]
            if given:
                raise errors.ValidationFailed(
                    "A mail user's status belongs to its mailbox; use PUT /api/user/<mail>.",
                    errors={field: ["Not for an admin mail user."] for field in given},
                )
        if "securityAnswer" in values and not (
            "securityQuestion" in values or setting_value(entry, SECURITY_QUESTION)
        ):
            raise errors.ValidationFailed(
                "Give securityQuestion with securityAnswer.",
                errors={"securityAnswer": ["Needs a securityQuestion."]},
            )
        if "password" in values and by_self:
            check_old_password(entry, values)
        _guard_last_super(directory, entry, _stays_super(entry, values))
        directory.modify(entry.dn, _changes(entry, values, config))

    retry_on_stale(attempt, RETRIES)


def set_admin_password(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any], by_self: bool
) -> None:
    """Change an admin's password (its own needs oldPassword) and reset shadowLastChange."""
    entry = get_admin_entry(directory, mail)
    if by_self:
        check_old_password(entry, values)
    directory.modify(
        entry.dn,
        {
            "userPassword": ("replace", hashed_password(values["password"], config)),
            "shadowLastChange": ("replace", str(days_since_epoch())),
        },
    )


def remove_admin(directory: Directory, mail: str) -> None:
    """Delete a standalone admin's entry, or take the admin role from a mail user.

    The domains it managed still name it; `roles.drop_from_all_domains` removes that.
    """
    entry = get_admin_entry(directory, mail)
    _guard_last_super(directory, entry, stays=False)
    if entry.has("objectClass", A.OC_USER):
        changes: dict[str, Any] = {"enabledService": ("delete", ["domainadmin"])}
        if entry.first("domainGlobalAdmin"):
            changes["domainGlobalAdmin"] = ("replace", [])
        directory.modify(entry.dn, changes)
    else:
        directory.delete(entry.dn)


def verify_admin_password(directory: Directory, mail: str, password: str) -> bool:
    """Tell whether a plain password matches the admin's stored hash (404 when no such admin)."""
    entry = get_admin_entry(directory, mail)
    return any(passwords.verify_password(password, v) for v in entry.all("userPassword"))
