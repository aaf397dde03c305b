"""LDIF of iRedAdmin-shaped domains and users, for an offline `slapadd -q` load."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from iredapi_ldap.config import DEFAULTS
from iredapi_ldap.ldap import DNs
from iredapi_ldap.ldap import Entry
from iredapi_ldap.ldap import attrs as A
from iredapi_ldap.models.users.create import new_user_attributes

# Every bench user shares this password hash; hashing cost stays out of the numbers.
PASSWORD = "Bench-Pass-123"


def domain_attributes(domain: str, users: int) -> dict[str, Any]:
    """Return a mailDomain entry as POST /api/domain writes it, with its user counter."""
    return {
        "objectClass": [A.OC_DOMAIN],
        "domainName": domain,
        "mtaTransport": DEFAULTS["DEFAULT_MTA_TRANSPORT"],
        "accountStatus": A.STATUS_ACTIVE,
        "cn": f"Bench {domain}",
        "enabledService": ["mail"],
        "domainCurrentUserNumber": str(users),
        "domainCurrentQuotaSize": "0",
    }


def user_attributes(mail: str, password_hash: str, name: str) -> dict[str, Any]:
    """Return a mail user's attributes exactly as POST /api/user writes them."""
    domain = mail.rsplit("@", 1)[1]
    domain_entry = Entry(
        "",
        {
            k.lower(): v if isinstance(v, list) else [v]
            for k, v in domain_attributes(domain, 0).items()
        },
    )
    values = {"password_hash": password_hash, "name": name}
    attributes = new_user_attributes(mail, values, domain_entry, dict(DEFAULTS))
    return {name: value for name, value in attributes.items() if value not in (None, "", [])}


def record(dn: str, attributes: dict[str, Any]) -> str:
    """Return one LDIF record (base64 for values that need it)."""
    lines = [f"dn: {dn}"]
    for name, value in attributes.items():
        for item in value if isinstance(value, list) else [value]:
            text = str(item)
            if text.isascii() and not text.startswith((" ", ":", "<")) and "\n" not in text:
                lines.append(f"{name}: {text}")
            else:
                lines.append(f"{name}:: {base64.b64encode(text.encode()).decode()}")
    return "\n".join(lines) + "\n\n"


def domain_ldif(dn: DNs, domain: str, users: int, password_hash: str) -> Iterator[str]:
    """Yield the records of a domain with its four containers and `users` users."""
    yield record(dn.domain(domain), domain_attributes(domain, users))
    for ou in A.DOMAIN_OUS:
        yield record(dn.ou(domain, ou), {"objectClass": [A.OC_OU], "ou": ou})
    for i in range(users):
        mail = user_mail(domain, i)
        yield record(dn.user(mail), user_attributes(mail, password_hash, f"Bench User {i}"))


def user_mail(domain: str, index: int) -> str:
    """Return the address of the index-th bench user of a domain."""
    return f"user{index:06d}@{domain}"
