"""Validate values taken from the URL path, naming the offending part."""

from __future__ import annotations

from marshmallow import ValidationError

from ..errors import ValidationFailed
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
