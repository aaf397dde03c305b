"""iRedAPD's greylisting: /api/greylisting/{all|global|<domain>|<mail>}[/whitelists], SPF domains."""

from __future__ import annotations

from itertools import islice

from flask import current_app
from flask import json
from flask import stream_with_context

from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import GLOBAL_ADMIN
from ..auth import requires
from ..ldap import get_directory
from ..models.policy import greylisting
from ..models.policy.addresses import GLOBAL
from ..schemas.base import EnvelopeSchema
from ..schemas.greylisting import GreylistingAllArgsSchema
from ..schemas.greylisting import GreylistingAllEnvelopeSchema
from ..schemas.greylisting import GreylistingEnvelopeSchema
from ..schemas.greylisting import GreylistingSpfDomainsSchema
from ..schemas.greylisting import GreylistingStatusSchema
from ..schemas.greylisting import GreylistingWhitelistsSchema
from ..schemas.greylisting import SpfDomainsEnvelopeSchema
from ..schemas.greylisting import WhitelistsEnvelopeSchema
from ..sqlstore.iredapd import get_policy_store
from . import ApiBlueprint
from .envelope import JSON
from .envelope import negotiated_type
from .paging import Page
from .paging import window
from .paths import path_account

blp = ApiBlueprint("greylisting", __name__, description="Greylisting (iRedAPD's tables)")
STREAM_ACCOUNTS = 200


@blp.route("/greylisting/all", methods=["GET"])
@blp.arguments(GreylistingAllArgsSchema, location="query")
@blp.response(200, GreylistingAllEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def list_greylisting(args):
    """List every greylisting row by account; streamed, or one page with page/offset."""
    store = get_policy_store()
    if args:
        offset, limit = window(args)
        rows = list(islice(greylisting.iter_greylisting(store), offset, offset + limit))
        grouped: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            grouped.setdefault(row["account"], []).append(row)
        return Page(grouped, offset, limit, greylisting.count_greylisting(store))
    groups = greylisting.iter_greylisting_by_account(store)
    if negotiated_type() != JSON:  # XML is built whole; JSON is streamed
        return dict(groups)
    first = next(groups, None)  # a database error is a 503 here, before the answer starts

    def chunks():
        yield '{"success": true, "_success": true, "_data": {'
        pending: list[str] = []
        for index, (account, items) in enumerate(_chained(first, groups)):
            pending.append(("" if index == 0 else ", ") + json.dumps(account) + ": "
                           + json.dumps(items))  # fmt: skip
            if len(pending) >= STREAM_ACCOUNTS:
                yield "".join(pending)
                pending = []
        yield "".join(pending) + "}}"

    response = current_app.response_class(stream_with_context(chunks()), mimetype=JSON)
    response.vary.add("Accept")
    return response


def _chained(first, rest):
    if first is not None:
        yield first
        yield from rest


@blp.route("/greylisting/global", methods=["GET"])
@blp.response(200, GreylistingEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def get_global_greylisting():
    """Show whether greylisting is on for everyone (no row: disabled)."""
    return greylisting.get_greylisting(get_policy_store(), GLOBAL)


@blp.route("/greylisting/global", methods=["POST"])
@blp.arguments(GreylistingStatusSchema, location="json_or_form")
@blp.response(200, GreylistingEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def set_global_greylisting(args):
    """Switch greylisting on (enable) or off (disable) for everyone."""
    enabled = greylisting.parse_status(args["status"])
    return greylisting.set_greylisting(get_policy_store(), GLOBAL, enabled)


@blp.route("/greylisting/global", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(GLOBAL_ADMIN)
def delete_global_greylisting():
    """Delete the global greylisting rows: off for accounts without their own."""
    greylisting.delete_greylisting(get_policy_store(), GLOBAL)


@blp.route("/greylisting/global/whitelists", methods=["GET"])
@blp.response(200, WhitelistsEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def get_global_whitelists():
    """List the senders never greylisted for anyone, and the SPF-whitelisted domains."""
    return greylisting.get_whitelists(get_policy_store(), GLOBAL)


@blp.route("/greylisting/global/whitelists", methods=["POST"])
@blp.arguments(GreylistingWhitelistsSchema, location="json_or_form")
@blp.response(200, WhitelistsEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def update_global_whitelists(args):
    """Replace (senders) or change (addSenders/removeSenders) the global whitelist."""
    return _update_whitelists(GLOBAL, args)


@blp.route("/greylisting/whitelist_spf_domains", methods=["GET"])
@blp.response(200, SpfDomainsEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def get_spf_domains():
    """List the domains whose SPF/MX hosts iRedAPD's hourly job whitelists."""
    return greylisting.get_whitelist_spf_domains(get_policy_store())


@blp.route("/greylisting/whitelist_spf_domains", methods=["POST"])
@blp.arguments(GreylistingSpfDomainsSchema, location="json_or_form")
@blp.response(200, SpfDomainsEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def update_spf_domains(args):
    """Replace (domains) or change (addDomains/removeDomains) the SPF-whitelisted domains."""
    return greylisting.update_whitelist_spf_domains(
        get_policy_store(),
        domains=args.get("domains"),
        add_domains=args.get("addDomains", ()),
        remove_domains=args.get("removeDomains", ()),
    )


@blp.route("/greylisting/<account>", methods=["GET"])
@blp.response(200, GreylistingEnvelopeSchema)
@requires(DOMAIN_READ)
def get_greylisting(account):
    """Show a domain's or user's greylisting: enabled, disabled or inherit."""
    return greylisting.get_greylisting(get_policy_store(), path_account(get_directory(), account))


@blp.route("/greylisting/<account>", methods=["POST"])
@blp.arguments(GreylistingStatusSchema, location="json_or_form")
@blp.response(200, GreylistingEnvelopeSchema)
@requires(DOMAIN_WRITE)
def set_greylisting(args, account):
    """Switch greylisting on (enable) or off (disable) for mail to a domain or user."""
    enabled = greylisting.parse_status(args["status"])
    target = path_account(get_directory(), account)
    return greylisting.set_greylisting(get_policy_store(), target, enabled)


@blp.route("/greylisting/<account>", methods=["DELETE"])
@blp.response(200, EnvelopeSchema)
@requires(DOMAIN_WRITE)
def delete_greylisting(account):
    """Delete a domain's or user's greylisting rows: it inherits again."""
    greylisting.delete_greylisting(get_policy_store(), path_account(get_directory(), account))


@blp.route("/greylisting/<account>/whitelists", methods=["GET"])
@blp.response(200, WhitelistsEnvelopeSchema)
@requires(DOMAIN_READ)
def get_whitelists(account):
    """List the senders never greylisted for a domain or user."""
    return greylisting.get_whitelists(get_policy_store(), path_account(get_directory(), account))


@blp.route("/greylisting/<account>/whitelists", methods=["POST"])
@blp.arguments(GreylistingWhitelistsSchema, location="json_or_form")
@blp.response(200, WhitelistsEnvelopeSchema)
@requires(DOMAIN_WRITE)
def update_whitelists(args, account):
    """Replace (senders) or change (addSenders/removeSenders) a domain's or user's whitelist."""
    return _update_whitelists(path_account(get_directory(), account), args)


def _update_whitelists(account, args):
    return greylisting.update_whitelists(
        get_policy_store(),
        account,
        senders=args.get("senders"),
        add_senders=args.get("addSenders", ()),
        remove_senders=args.get("removeSenders", ()),
    )
