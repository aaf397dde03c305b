"""Validate values taken from the URL path, naming the offending part."""

from __future__ import annotations

from marshmallow import ValidationError

from ..errors import ValidationFailed
from ..ldap import Directory
from ..models.policy.addresses import GLOBAL
from ..models.policy.addresses import resolve_account
from ..schemas.fields import normalise_domain
from ..schemas.fields import normalise_email


def path_domain(value: str) -> str:
    """Return the normalised domain from the path, or answer 400 INVALID_DOMAIN_NAME."""
    try:
        return normalise_domain(value)
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid domain name: {value!r}.",
            code="INVALID_DOMAIN_NAME",
            errors={"domain": exc.messages},
        ) from exc


def path_mail(value: str, field: str = "mail") -> str:
    """Return the normalised address from the path, or answer 400 INVALID_MAIL."""
    try:
        return normalise_email(value)
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid email address: {value!r}.", code="INVALID_MAIL", errors={field: exc.messages}
        ) from exc


def path_account(directory: Directory, value: str) -> str:
    """Return the policy account (`@domain`, `user@domain`) of a hosted domain or user in the path.

    400 naming `account` for a bad value or a spelling of global (it has its own route),
    404 NO_SUCH_DOMAIN/NO_SUCH_ACCOUNT unless this directory hosts it.
    """
    account = resolve_account(directory, value, "account")
    if account == GLOBAL:
        raise ValidationFailed(
            f"Invalid account {value!r}: the global policy is at .../global.",
            errors={"account": [f"{value!r}: use the global route."]},
        )
    return account
