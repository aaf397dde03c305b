"""One mail user: read, passwords, address checks, delete and rename."""

from __future__ import annotations

from typing import Any

from ... import errors
from ... import passwords
from ...ldap import Directory
from ...ldap import Entry
from ...ldap import attrs as A
from ...ldap import domain_of
from ...ldap import filters as F
from ...ldap.dn import rdn
from .. import counted_changes
from .. import counters
from ..admins.login import days_since_epoch
from ..domains.domain import get_domain_entry
from ..members import addresses_in_use
from ..references import check_rename_target
from ..references import remove_account_references
from ..references import rename_address_references
from ..settings import settings_of
from .view import USER_READ_ATTRIBUTES
from .view import maildir_of
from .view import user_from_entry

# iRedAdmin attrs.py USER_SERVICES_OF_NORMAL_USER (iredmail-ldap-model.md 3.3).
NORMAL_USER_SERVICES = (
    "internal", "doveadm", "lib-storage", "indexer-worker", "dsync", "quota-status",
    "mail", "smtp", "smtpsecured", "smtptls", "pop3", "pop3secured", "pop3tls",
    "imap", "imapsecured", "imaptls", "managesieve", "managesievesecured", "managesievetls",
    "sieve", "sievesecured", "sievetls", "deliver", "lda", "lmtp", "recipientbcc", "senderbcc",
    "forward", "shadowaddress", "displayedInGlobalAddressBook",
    "sogo", "sogowebmail", "sogocalendar", "sogoactivesync",
)  # fmt: skip
ADMIN_SERVICE = "domainadmin"
# Known names keep their canonical spelling; any other name is stored lower-case.
CANONICAL_SERVICES = {name.lower(): name for name in (*NORMAL_USER_SERVICES, ADMIN_SERVICE)}
ACCOUNT_CLASSES = (A.OC_USER, A.OC_ALIAS, A.OC_LIST)
MAILBOX_ATTRIBUTES = ["mail", "mailQuota", "shadowAddress", "homeDirectory",
                      "storageBaseDirectory", "mailMessageStore"]  # fmt: skip


def canonical_service(name: str) -> str:
    """Return the stored spelling of a service name."""
    return CANONICAL_SERVICES.get(name.lower(), name.lower())


def local_part(mail: str) -> str:
    """Return the part of an address before the last `@`."""
    return mail.rsplit("@", 1)[0]


def get_user_entry(directory: Directory, mail: str, attributes: list[str] | None = None) -> Entry:
    """Return a mail user's entry or raise NotFound (the catch-all is not a user)."""
    wanted = None if attributes is None else sorted({*attributes, "objectClass"})
    entry = directory.get(directory.dn.user(mail), wanted)
    if entry is None or not entry.has("objectClass", A.OC_USER) or mail.startswith("@"):
        raise errors.NotFound(f"No such mail user: {mail}.")
    return entry


def get_user(directory: Directory, mail: str) -> dict[str, Any]:
    """Return one user's profile (never the password hash)."""
    return user_from_entry(get_user_entry(directory, mail, USER_READ_ATTRIBUTES))


# -- passwords ----------------------------------------------------------------


def password_policy_of(domain_entry: Entry, config: dict[str, Any]) -> passwords.PasswordPolicy:
    """Return the global policy with the domain's min/maxPasswordLength (0 = global)."""
    settings = settings_of(domain_entry)
    return passwords.PasswordPolicy(
        min_length=settings.get("minPasswordLength", 0) or config["PASSWORD_MIN_LENGTH"],
        max_length=settings.get("maxPasswordLength", 0) or config["PASSWORD_MAX_LENGTH"],
        require_letter=config["PASSWORD_REQUIRE_LETTER"],
        require_uppercase=config["PASSWORD_REQUIRE_UPPERCASE"],
        require_digit=config["PASSWORD_REQUIRE_DIGIT"],
        require_special=config["PASSWORD_REQUIRE_SPECIAL"],
        special_chars=config["PASSWORD_SPECIAL_CHARACTERS"],
    )


def password_policy_for(
    directory: Directory, domain: str, config: dict[str, Any]
) -> passwords.PasswordPolicy:
    """Return the password policy that applies to users of a domain."""
    return password_policy_of(get_domain_entry(directory, domain), config)


def check_policy(plain: str, policy: passwords.PasswordPolicy) -> None:
    """Raise ValidationFailed (code = first PW_* code) naming `password` if it breaks the policy."""
    codes = passwords.check_password(plain, policy)
    if codes:
        text = passwords.describe_password_errors(codes, policy)
        raise errors.ValidationFailed(
            text.capitalize() + ".", code=codes[0], errors={"password": [text]}
        )


def password_values(
    values: dict[str, Any], policy: passwords.PasswordPolicy, config: dict[str, Any]
) -> list[str]:
    """Return userPassword values from `password` (policy applies) or `password_hash` (as is)."""
    if values.get("password_hash") is not None:
        stored = values["password_hash"].strip()
        if not passwords.is_supported_hash(stored):
            raise errors.ValidationFailed(
                "password_hash must be a {SCHEME}-prefixed hash of a supported scheme.",
                code="INVALID_PASSWORD_SCHEME",
                errors={"password_hash": ["Unsupported or malformed {SCHEME} hash."]},
            )
        return [stored]
    check_policy(values["password"], policy)
    return passwords.hash_password(values["password"], config["DEFAULT_PASSWORD_SCHEME"])


def set_password(
    directory: Directory, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> None:
    """Replace a user's password and set shadowLastChange to today."""
    entry = get_user_entry(directory, mail, ["mail"])
    policy = password_policy_for(directory, domain_of(mail), config)
    directory.modify(
        entry.dn,
        {
            "userPassword": ("replace", password_values(values, policy, config)),
            "shadowLastChange": ("replace", days_since_epoch()),
        },
    )


def verify_user_password(directory: Directory, mail: str, plain: str) -> bool:
    """Tell whether a plain password matches one of the user's stored hashes."""
    entry = get_user_entry(directory, mail, ["userPassword"])
    return any(passwords.verify_password(plain, stored) for stored in entry.all("userPassword"))


# -- addresses ----------------------------------------------------------------


def existing_in_domain(directory: Directory, domain: str, addresses: list[str]) -> set[str]:
    """Return the addresses that exist inside a domain (user, alias or list, mail or shadow)."""
    if not addresses:
        return set()
    wanted = {a.lower() for a in addresses}
    search_filter = F.and_(
        F.or_(*(F.object_class(oc) for oc in ACCOUNT_CLASSES)),
        F.or_(F.any_of("mail", wanted), F.any_of("shadowAddress", wanted)),
    )
    found: set[str] = set()
    for entry in directory.search(
        directory.dn.domain(domain), search_filter, ["mail", "shadowAddress"]
    ):
        found |= {v.lower() for v in entry.all("mail") + entry.all("shadowAddress")} & wanted
    return found


# -- delete -------------------------------------------------------------------


def mailbox_records(entries: list[Entry], admin: str, keep_days: int) -> list[dict[str, Any]]:
    """Return deleted_mailboxes rows for deleted user entries."""
    rows = []
    for entry in entries:
        mail = (entry.first("mail") or "").lower()
        maildir = maildir_of(entry)
        if not mail or not maildir or mail.startswith("@"):
            continue
        rows.append({"username": mail, "domain": domain_of(mail), "maildir": maildir,
                     "admin": admin, "keep_days": keep_days})  # fmt: skip
    return rows


def domain_mailboxes(directory: Directory, domain: str) -> dict[str, Entry]:
    """Return a domain's mail users with their mailbox attributes, by lower-cased DN."""
    return {
        entry.dn.lower(): entry
        for entry in directory.search(
            directory.dn.users(domain), F.object_class(A.OC_USER), MAILBOX_ATTRIBUTES, "one"
        )
    }


def delete_user(directory: Directory, mail: str) -> Entry:
    """Delete a user: references to its addresses, the entry subtree, counters.

    Returns the deleted entry (with its mailbox attributes) for the mailbox log.
    """
    entry = get_user_entry(directory, mail, MAILBOX_ATTRIBUTES)
    remove_account_references(directory, entry, mail)
    quota = counters.parse_counter(entry.first("mailQuota")) or 0
    with counted_changes.removing(
        directory, domain_of(mail), {counters.USERS: 1, counters.QUOTA: quota}
    ):
        directory.delete_tree(entry.dn)
    return entry


# -- rename -------------------------------------------------------------------


def rename_user(directory: Directory, mail: str, new_mail: str) -> list[str]:
    """Rename a user within its domain; the mailbox path stays, references to `mail` follow.

    Returns the domain's alias domains, whose addresses `rename_in_alias_domains` renames.
    """
    check_rename_target(mail, new_mail)
    domain = domain_of(mail)
    entry = get_user_entry(directory, mail)
    if addresses_in_use(directory, [new_mail], exclude_dn=entry.dn):
        raise errors.AlreadyExists(f"{new_mail} is already used by another account.")
    alias_domains = [d.lower() for d in get_domain_entry(directory, domain).all("domainAliasName")]
    directory.rename(entry.dn, rdn(A.RDN_USER, new_mail))
    new_dn = directory.dn.user(new_mail)
    directory.modify(new_dn, _rename_changes(entry, mail, new_mail, alias_domains))
    rename_address_references(directory, mail, new_mail, entry.dn, new_dn)
    return alias_domains


def rename_in_alias_domains(
    directory: Directory, mail: str, new_mail: str, alias_domains: list[str]
) -> None:
    """Rename the references to a renamed user's addresses in its domain's alias domains."""
    old_local, new_local = local_part(mail), local_part(new_mail)
    for alias_domain in alias_domains:
        rename_address_references(
            directory, f"{old_local}@{alias_domain}", f"{new_local}@{alias_domain}"
        )


def _rename_changes(entry: Entry, mail: str, new_mail: str, alias_domains: list[str]) -> dict:
    old_local, new_local = local_part(mail), local_part(new_mail)
    changes: dict[str, Any] = {}
    for attribute in ("uid", "sn", "cn"):
        if any(v.lower() == old_local for v in entry.all(attribute)):
            changes[attribute] = ("replace", new_local)
    renamed = {f"{old_local}@{d}": f"{new_local}@{d}" for d in alias_domains}
    shadows = [renamed.get(v.lower(), v.lower()) for v in entry.all("shadowAddress")]
    shadows = [v for v in dict.fromkeys(shadows) if v != new_mail]
    if shadows != [v.lower() for v in entry.all("shadowAddress")]:
        changes["shadowAddress"] = ("replace", shadows)
    forwarding = [
        new_mail if v.lower() == mail else v.lower() for v in entry.all("mailForwardingAddress")
    ]
    if forwarding != [v.lower() for v in entry.all("mailForwardingAddress")]:
        changes["mailForwardingAddress"] = ("replace", list(dict.fromkeys(forwarding)))
    return changes
