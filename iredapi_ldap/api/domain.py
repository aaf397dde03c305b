"""Domains: /api/domains and /api/domain/<domain>."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from .. import services
from ..auth import DOMAIN_CREATE
from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import GLOBAL_ADMIN
from ..auth import LOGIN
from ..auth import remember_managed_domain
from ..auth import requires
from ..errors import Forbidden
from ..errors import ValidationFailed
from ..jobs import get_runner
from ..jobs.work import DELETE_DOMAIN
from ..ldap import get_directory
from ..models import admins
from ..models import domains
from ..models.settings import settings_of
from ..schemas.base import EnvelopeSchema
from ..schemas.domain import DomainCreateSchema
from ..schemas.domain import DomainEnvelopeSchema
from ..schemas.domain import DomainListArgsSchema
from ..schemas.domain import DomainPageSchema
from ..schemas.domain import DomainUpdateSchema
from ..schemas.jobs import JobEnvelopeSchema
from . import ApiBlueprint
from .jobs import ACCEPTED
from .jobs import accepted
from .paging import Page
from .paging import window
from .paths import path_domain

blp = ApiBlueprint("domain", __name__, description="Mail domains")

# Domain settings only a global admin changes (limits, status, services, routing);
# legacy names included, since the check reads the raw body.
GLOBAL_FIELDS = (
    "quota", "mailQuota", "maxUserQuota", "numberOfUsers", "numberOfAliases", "numberOfLists",
    "accountStatus", "services", "addService", "removeService", "transport", "is_backupmx",
    "primarymx", "disableDomainProfile", "enableDomainProfile", "disableUserProfile",
    "enableUserProfile", "disableUserPreference", "enableUserPreference",
)  # fmt: skip
# Fields behind each domain profile tab a global admin can hide from normal admins
# (accountSetting disabledDomainProfile).
PROFILE_FIELDS = {
    "bcc": ("senderBcc", "recipientBcc"),
    "relay": ("outboundRelay",),
    "backupmx": ("is_backupmx", "primarymx"),
    "password_policies": ("minPasswordLength", "maxPasswordLength"),
    "catchall": ("catchall",),
    "aliases": ("aliasDomains", "addAliasDomain", "removeAliasDomain"),
}


@blp.route("/domains", methods=["GET"])
@blp.arguments(DomainListArgsSchema, location="query")
@blp.response(200, DomainPageSchema)
@requires(LOGIN)
def list_domains(args):
    """List the domains the caller manages (all for a global admin), paged."""
    offset, limit = window(args)
    if current_user.is_global:
        items, total = domains.list_domains(
            get_directory(), offset, limit, args["disabled_only"], args["name_only"]
        )
    else:
        items, total = admins.list_managed_domains(
            get_directory(),
            current_user.mail,
            offset,
            limit,
            args["disabled_only"],
            args["name_only"],
        )
    return Page(items, offset, limit, total)


@blp.route("/domain/<domain>", methods=["GET"])
@blp.response(200, DomainEnvelopeSchema)
@requires(DOMAIN_READ)
def get_domain(domain):
    """Show one domain's profile."""
    return domains.get_domain(get_directory(), path_domain(domain))


@blp.route("/domain/<domain>", methods=["POST"])
@blp.arguments(DomainCreateSchema, location="json_or_form")
@blp.response(201, DomainEnvelopeSchema)
@requires(DOMAIN_CREATE, global_fields=GLOBAL_FIELDS)
def create_domain(args, domain):
    """Create a domain with its four containers; a standard admin creating it manages it."""
    domain = path_domain(domain)
    if not current_user.is_super:
        _check_password_minimum(args)
    manager = None if current_user.is_global else current_user.mail
    created = services.domains.create_domain(
        get_directory(), domain, args, current_app.config, managed_by=manager
    )
    if manager is not None:
        remember_managed_domain(domain)
    return created


@blp.route("/domain/<domain>", methods=["PUT"])
@blp.arguments(DomainUpdateSchema, location="json_or_form")
@blp.response(200, DomainEnvelopeSchema)
@requires(DOMAIN_WRITE, global_fields=GLOBAL_FIELDS)
def update_domain(args, domain):
    """Update a domain; accountStatus=disabled also marks every account under it."""
    domain = path_domain(domain)
    if not current_user.is_super:
        _check_domain_admin_fields(domain, args)
    updated = services.domains.update_domain(get_directory(), domain, args, current_app.config)
    return updated


def _check_domain_admin_fields(domain: str, args: dict) -> None:
    """Refuse fields on tabs hidden from normal admins, and password lengths below the global one."""
    hidden = settings_of(domains.get_domain_entry(get_directory(), domain)).get(
        "disabledDomainProfile", []
    )
    refused = sorted({f for tab in hidden for f in PROFILE_FIELDS.get(tab, ()) if f in args})
    if refused:
        raise Forbidden(
            f"A global admin has reserved: {', '.join(refused)}.",
            errors={name: ["Reserved for global admins on this domain."] for name in refused},
        )
    _check_password_minimum(args)


def _check_password_minimum(args: dict) -> None:
    """Refuse a per-domain minPasswordLength below the global minimum (normal admins)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if 0 < args.get("minPasswordLength", minimum) < minimum:
        raise ValidationFailed(
            f"minPasswordLength must not be below the global minimum of {minimum}.",
            errors={"minPasswordLength": [f"At least {minimum}."]},
        )


@blp.route("/domain/<domain>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@blp.alt_response(202, schema=JobEnvelopeSchema, description=ACCEPTED)
@requires(GLOBAL_ADMIN)
def delete_domain(domain):
    """Delete a domain and everything in it (mailboxes on disk are kept)."""
    return _delete(domain, 0)


@blp.route("/domain/<domain>/keep_mailbox_days/<int:days>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@blp.alt_response(202, schema=JobEnvelopeSchema, description=ACCEPTED)
@requires(GLOBAL_ADMIN)
def delete_domain_keep_days(domain, days):
    """Delete a domain, keeping its mailboxes on disk for N days (0 = forever)."""
    return _delete(domain, days)


def _delete(domain: str, keep_days: int):
    if keep_days > 1095:
        raise ValidationFailed(
            "keep_mailbox_days must be 0 to 1095.", errors={"keep_mailbox_days": ["0 to 1095."]}
        )
    domain = path_domain(domain)
    directory = get_directory()
    if domains.more_entries_than(directory, domain, current_app.config["JOBS_SYNC_LIMIT"]):
        # Too big to delete within a request: a job deletes it and can be followed.
        params = {"domain": domain, "keep_days": keep_days, "admin": current_user.mail}
        return accepted(
            get_runner(current_app).submit(DELETE_DOMAIN, domain, params, current_user.mail)
        )
    services.domains.delete_domain(directory, domain, current_user.mail, keep_days)
    return None
