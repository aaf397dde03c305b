"""iRedAPD's sending limits: /api/throttle/{global|<domain>|<mail>}/{inbound|outbound}."""

from __future__ import annotations

from ..auth import DOMAIN_READ
from ..auth import DOMAIN_WRITE
from ..auth import GLOBAL_ADMIN
from ..auth import requires
from ..ldap import get_directory
from ..models.policy import throttle
from ..models.policy.addresses import GLOBAL
from ..schemas.throttle import ThrottleEnvelopeSchema
from ..schemas.throttle import ThrottleSetSchema
from ..sqlstore.iredapd import get_policy_store
from . import ApiBlueprint
from .paging import Beside
from .paths import path_account

blp = ApiBlueprint("throttle", __name__, description="Sending limits (iRedAPD's throttle table)")


@blp.route("/throttle/global/<kind>", methods=["GET"])
@blp.response(200, ThrottleEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def get_global_throttle(kind):
    """Show the global rule of a kind (inbound/outbound); {} when there is none."""
    return _with_setting(
        throttle.get_throttle(get_policy_store(), GLOBAL, throttle.check_kind(kind))
    )


@blp.route("/throttle/global/<kind>", methods=["POST"])
@blp.arguments(ThrottleSetSchema, location="json_or_form")
@blp.response(200, ThrottleEnvelopeSchema)
@requires(GLOBAL_ADMIN)
def set_global_throttle(args, kind):
    """Set the global rule; period 0 (or limits that change nothing) removes it."""
    return _with_setting(
        throttle.set_throttle(get_policy_store(), GLOBAL, throttle.check_kind(kind), **args)
    )


@blp.route("/throttle/<account>/<kind>", methods=["GET"])
@blp.response(200, ThrottleEnvelopeSchema)
@requires(DOMAIN_READ)
def get_throttle(account, kind):
    """Show a domain's or user's rule; a user's with iRedAPD's current usage."""
    kind = throttle.check_kind(kind)
    target = path_account(get_directory(), account)
    return _with_setting(throttle.get_throttle(get_policy_store(), target, kind))


@blp.route("/throttle/<account>/<kind>", methods=["POST"])
@blp.arguments(ThrottleSetSchema, location="json_or_form")
@blp.response(200, ThrottleEnvelopeSchema)
@requires(DOMAIN_WRITE)
def set_throttle(args, account, kind):
    """Set a domain's or user's rule (-1 inherits); period 0 removes it."""
    kind = throttle.check_kind(kind)
    target = path_account(get_directory(), account)
    return _with_setting(throttle.set_throttle(get_policy_store(), target, kind, **args))


def _with_setting(rule):
    """Answer the rule under `_data` and, as iRedAdmin-Pro does, under `setting`."""
    return Beside(rule, {"setting": rule})
