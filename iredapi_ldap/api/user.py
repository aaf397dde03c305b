"""One mail user: /api/user/<mail>, its password, rename, and /api/verify_password/user/<mail>."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from .. import services
from ..auth import CREATE_USER
from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import GLOBAL_ADMIN
from ..auth import UPDATE_USER
from ..auth import requires
from ..errors import InvalidCredentials
from ..errors import ValidationFailed
from ..ldap import get_directory
from ..models import users
from ..schemas.base import EnvelopeSchema
from ..schemas.base import ErrorEnvelopeSchema
from ..schemas.user import UserCreateSchema
from ..schemas.user import UserPasswordSchema
from ..schemas.user import UserUpdateSchema
from ..schemas.user import VerifyPasswordSchema
from ..schemas.user_view import UserEnvelopeSchema
from . import ApiBlueprint
from .paths import path_mail
from .user_rules import ADMIN_SERVICE_RULES
from .user_rules import MAILDIR_RULE
from .user_rules import TRANSPORT_RULE

blp = ApiBlueprint("user", __name__, description="One mail user")

MAX_KEEP_DAYS = 1095


@blp.route("/user/<mail>", methods=["GET"])
@blp.response(200, UserEnvelopeSchema)
@requires(DOMAIN_READ)
def get_user(mail):
    """Show one user's profile (never the password hash)."""
    return users.get_user(get_directory(), path_mail(mail))


@blp.route("/user/<mail>", methods=["POST"])
@blp.arguments(UserCreateSchema, location="json_or_form")
@blp.response(201, UserEnvelopeSchema)
@blp.alt_response(403, schema=ErrorEnvelopeSchema,
                  description="EXCEEDED_DOMAIN_ACCOUNT_LIMIT or EXCEEDED_DOMAIN_QUOTA_SIZE")  # fmt: skip
@requires(CREATE_USER, global_values=(MAILDIR_RULE,))
def create(args, mail):
    """Create a mail user; numberOfUsers and the domain quota hold under concurrency."""
    created = users.create_user(get_directory(), path_mail(mail), args, current_app.config)
    return created


@blp.route("/user/<mail>", methods=["PUT"])
@blp.arguments(UserUpdateSchema, location="json_or_form")
@blp.response(200, UserEnvelopeSchema)
@requires(
    UPDATE_USER,
    global_fields=("isGlobalAdmin",),
    global_values=(*ADMIN_SERVICE_RULES, MAILDIR_RULE, TRANSPORT_RULE),
)
def update(args, mail):
    """Update a user; X replaces a set, addX/removeX change it (not combined)."""
    return users.update_user(get_directory(), path_mail(mail), args, current_app.config)


@blp.route("/user/<mail>/password", methods=["PUT"])
@blp.arguments(UserPasswordSchema, location="json_or_form")
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def set_password(args, mail):
    """Set a user's password (plain, policy checked) or a ready {SCHEME} hash."""
    users.set_password(get_directory(), path_mail(mail), args, current_app.config)
    return None


@blp.route("/user/<mail>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def delete(mail):
    """Delete a user and every reference to it; the mailbox is kept on disk."""
    return _delete(mail, 0)


@blp.route("/user/<mail>/keep_mailbox_days/<int:days>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def delete_keep_days(mail, days):
    """Delete a user, keeping the mailbox on disk for N days (0 = forever)."""
    return _delete(mail, days)


def _delete(mail: str, keep_days: int):
    check_keep_days(keep_days)
    services.users.delete_user(get_directory(), path_mail(mail), current_user.mail, keep_days)
    return None


def check_keep_days(keep_days: int) -> None:
    """Refuse keep_mailbox_days outside 0..1095 (400 naming it)."""
    if not 0 <= keep_days <= MAX_KEEP_DAYS:
        raise ValidationFailed(
            f"keep_mailbox_days must be 0 to {MAX_KEEP_DAYS}.",
            errors={"keep_mailbox_days": [f"0 to {MAX_KEEP_DAYS}."]},
        )


@blp.route("/user/<mail>/change_email/<new_mail>", methods=["POST"])
@blp.response(200, UserEnvelopeSchema)
@requires(DOMAIN_WRITE)
def change_email(mail, new_mail):
    """Rename a user within its domain; the mailbox path is kept, references follow."""
    renamed = services.users.change_email(
        get_directory(), path_mail(mail), path_mail(new_mail, field="new_mail")
    )
    return renamed


@blp.route("/verify_password/user/<mail>", methods=["POST"])
@blp.arguments(VerifyPasswordSchema, location="json_or_form")
@blp.response(200, EnvelopeSchema)
@blp.alt_response(401, schema=ErrorEnvelopeSchema,
                  description="INVALID_CREDENTIALS: the password does not match")  # fmt: skip
@requires(GLOBAL_ADMIN)
def verify_password(args, mail):
    """Check a plain password against the user's stored hash: 200 matches, 401 does not."""
    if not users.verify_user_password(get_directory(), path_mail(mail), args["password"]):
        raise InvalidCredentials("The password does not match.")
    return None
