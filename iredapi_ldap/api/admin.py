"""Admin accounts: /api/admins, /api/admin/<mail>, its password, /api/verify_password/admin/<mail>."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from .. import services
from ..auth import GLOBAL_ADMIN
from ..auth import PASSWORD_CHANGE
from ..auth import SELF
from ..auth import requires
from ..errors import InvalidCredentials
from ..ldap import get_directory
from ..models import admins
from ..schemas.admin import AdminCreateSchema
from ..schemas.admin import AdminEnvelopeSchema
from ..schemas.admin import AdminListArgsSchema
from ..schemas.admin import AdminPageSchema
from ..schemas.admin import AdminPasswordSchema
from ..schemas.admin import AdminSelfServiceSchema
from ..schemas.admin import AdminUpdateSchema
from ..schemas.admin import AdminVerifyPasswordSchema
from ..schemas.base import EnvelopeSchema
from ..schemas.base import ErrorEnvelopeSchema
from . import ApiBlueprint
from .paging import Page
from .paging import window
from .paths import path_mail

blp = ApiBlueprint(
    "admin", __name__, description="Admin accounts (global, domain and read-only admins)"
)

# What admins may change on their own account; everything else is global-admin only.
SELF_SERVICE_FIELDS = frozenset(AdminSelfServiceSchema().fields) | {"oldPassword"}
GLOBAL_ONLY_FIELDS = tuple(sorted(set(AdminUpdateSchema().fields) - SELF_SERVICE_FIELDS))


@blp.route("/admins", methods=["GET"])
@blp.arguments(AdminListArgsSchema, location="query")
@blp.response(200, AdminPageSchema)
@requires(GLOBAL_ADMIN)
def list_admins(args):
    """List admins, paged: standalone admins first, then mail users promoted to admin."""
    if "size" in args:
        args = dict(
            args, **({"page_size": args["size"]} if "page" in args else {"limit": args["size"]})
        )
    offset, limit = window(args)
    items, total = admins.list_admins(get_directory(), offset, limit)
    return Page(items, offset, limit, total, {"size": limit})


@blp.route("/admin/<mail>", methods=["GET"])
@blp.response(200, AdminEnvelopeSchema)
@requires(SELF)
def get_admin(mail):
    """Show an admin's profile and the domains it manages (no password or answer hash)."""
    return admins.get_admin(get_directory(), path_mail(mail))


@blp.route("/admin/<mail>", methods=["POST"])
@blp.arguments(AdminCreateSchema, location="json_or_form")
@blp.response(201, AdminEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def create_admin(args, mail):
    """Create a standalone admin under o=domainAdmins (type standard unless told otherwise)."""
    created = services.admins.create_admin(
        get_directory(), path_mail(mail), args, current_app.config
    )
    return created


@blp.route("/admin/<mail>", methods=["PUT"])
@blp.arguments(AdminUpdateSchema, location="json_or_form")
@blp.response(200, AdminEnvelopeSchema)
@requires(SELF, global_fields=GLOBAL_ONLY_FIELDS)
def update_admin(args, mail):
    """Update an admin; admins may change their own name, contact, language and password."""
    mail = path_mail(mail)
    by_self = mail == current_user.mail
    # auth refreshes the caller's own session after the write (_refresh_after_own_change).
    updated = services.admins.update_admin(
        get_directory(), mail, args, current_app.config, by_self=by_self
    )
    return updated


@blp.route("/admin/<mail>/password", methods=["PUT"])
@blp.arguments(AdminPasswordSchema, location="json_or_form")
@blp.response(200, EnvelopeSchema)
@requires(PASSWORD_CHANGE)
def set_password(args, mail):
    """Set an admin's password; your own (also an expired one) needs oldPassword."""
    mail = path_mail(mail)
    by_self = mail == current_user.mail
    admins.set_admin_password(get_directory(), mail, args, current_app.config, by_self=by_self)
    return None


@blp.route("/admin/<mail>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(GLOBAL_ADMIN)
def delete_admin(mail):
    """Delete a standalone admin (a promoted mail user only loses the admin role)."""
    services.admins.delete_admin(get_directory(), path_mail(mail))
    return None


@blp.route("/verify_password/admin/<mail>", methods=["POST"])
@blp.arguments(AdminVerifyPasswordSchema, location="json_or_form")
@blp.response(200, EnvelopeSchema)
@blp.alt_response(401, schema=ErrorEnvelopeSchema,
                  description="INVALID_CREDENTIALS: the password does not match")  # fmt: skip
@requires(GLOBAL_ADMIN)
def verify_password(args, mail):
    """Check a plain password against the admin's stored hash: 200 matches, 401 does not."""
    if not admins.verify_admin_password(get_directory(), path_mail(mail), args["password"]):
        raise InvalidCredentials("The password does not match.")
    return None
