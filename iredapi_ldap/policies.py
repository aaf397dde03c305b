"""Access policies: the rule each route declares with @requires, checked before the view runs."""

# Private internals of flask-smorest relied on (setup.cfg pins flask-smorest to 0.47.x;
# tests/unit/test_library_internals.py checks every name below):
# - view._apidoc["manual_doc"] -- requires() adds the access text and security schemes
#   there, which smorest merges into the operation as it merges @blp.doc's (without the
#   extra wrapper per call that Blueprint.doc would add). Changed, the OpenAPI document
#   loses who may call each route.

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app
from flask import g
from flask import request
from flask_login import current_user
from marshmallow import ValidationError

from .addresses import normalise_domain
from .errors import Forbidden
from .errors import Unauthorized
from .identity import CurrentAdmin
from .inputs import MalformedInput
from .inputs import form_body
from .inputs import json_body
from .ldap import get_directory
from .models.admins.roles import creation_guard
from .models.admins.roles import domain_has_other_admins
from .models.admins.roles import is_admin_account
from .models.admins.roles import manages_domain
from .security import client_address

log = logging.getLogger(__name__)

# Endpoints that are not API views: flask-smorest's OpenAPI document, static files.
PUBLIC_ENDPOINT_PREFIXES = ("api-docs.",)
PUBLIC_ENDPOINTS = frozenset({"static"})
_CHECKED = "_iredapi_policy_checked"


class Policy(str):
    """A named access rule a view declares with @requires; equal to its name as a string."""

    login: bool
    super_only: bool
    self_target: bool
    domain_scoped: bool
    write: bool
    bulk: bool
    create_domain: bool
    creates: str | None
    expired_ok: bool
    description: str

    def __new__(
        cls,
        name: str,
        description: str,
        *,
        login: bool = True,
        super_only: bool = False,
        self_target: bool = False,
        domain_scoped: bool = False,
        write: bool = False,
        bulk: bool = False,
        create_domain: bool = False,
        creates: str | None = None,
        expired_ok: bool = False,
    ) -> Policy:
        policy = super().__new__(cls, name)
        policy.description = description
        policy.login = login
        policy.super_only = super_only
        policy.self_target = self_target
        policy.domain_scoped = domain_scoped
        policy.write = write
        policy.bulk = bulk
        policy.create_domain = create_domain
        policy.creates = creates
        policy.expired_ok = expired_ok
        return policy


PUBLIC = Policy("public", "Anyone; no login needed.", login=False, expired_ok=True)
LOGIN = Policy("login", "Any logged-in admin; the answer covers only what it manages.")
GLOBAL_ADMIN = Policy("global_admin", "Global (super) admins only.", super_only=True)
SELF = Policy("self", "The admin named in the path, or a global admin.", self_target=True)
PASSWORD_CHANGE = Policy(
    "password_change",
    "The admin named in the path (also with an expired password), or a global admin.",
    self_target=True,
    expired_ok=True,
)
DOMAIN_READ = Policy("domain_read", "Global admins and admins of the domain.", domain_scoped=True)
DOMAIN_WRITE = Policy(
    "domain_write",
    "Global admins and non-limited admins of the domain; other admins' accounts are global-only.",
    domain_scoped=True,
    write=True,
)
DOMAIN_BULK_WRITE = Policy(
    "domain_bulk_write",
    "Global admins; admins of the domain when it holds no other admin's account.",
    domain_scoped=True,
    write=True,
    bulk=True,
)
DOMAIN_CREATE = Policy(
    "domain_create",
    "Global admins; standard admins allowed to create domains, within maxDomains.",
    write=True,
    create_domain=True,
    creates="domains",
)
CREATE_USER = Policy(
    "create_user",
    "As domain_write, within the admin's maxUsers and maxQuota over all its domains.",
    domain_scoped=True,
    write=True,
    creates="users",
)
UPDATE_USER = Policy(
    "update_user",
    "As domain_write; a quota change stays within the admin's maxQuota.",
    domain_scoped=True,
    write=True,
    creates="user_quota",
)
CREATE_ALIAS = Policy(
    "create_alias",
    "As domain_write, within the admin's maxAliases over all its domains.",
    domain_scoped=True,
    write=True,
    creates="aliases",
)
CREATE_LIST = Policy(
    "create_list",
    "As domain_write, within the admin's maxLists over all its domains.",
    domain_scoped=True,
    write=True,
    creates="lists",
)
POLICIES: tuple[Policy, ...] = (
    PUBLIC, LOGIN, GLOBAL_ADMIN, SELF, PASSWORD_CHANGE, DOMAIN_READ, DOMAIN_WRITE,
    DOMAIN_BULK_WRITE, DOMAIN_CREATE, CREATE_USER, UPDATE_USER, CREATE_ALIAS, CREATE_LIST,
)  # fmt: skip
_BY_NAME = {str(policy): policy for policy in POLICIES}


@dataclass(frozen=True)
class ValueRule:
    """A body field a non-global admin may send, but only with values the rule lets through.

    `parse` turns one raw value (a JSON value or one form value) into what the view's
    schema would make of it; a value it cannot parse is left to the schema (400).
    `refuse(parsed values, view args)` returns why they are global-only, or None.
    `example` is a value refused to a non-global admin on every route declaring the
    rule (tests/api/test_roles.py sends it).
    """

    field: str
    refuse: Callable[[list[Any], dict[str, Any]], str | None]
    example: str
    description: str
    parse: Callable[[Any], Any] = lambda value: value


def global_values(
    fields: Iterable[str], names: Iterable[str], parse: Callable[[Any], Any], description: str
) -> tuple[ValueRule, ...]:
    """Return rules making each field global-only when it names one of `names` (any case)."""
    wanted = frozenset(name.lower() for name in names)

    def refuse(values: list[Any], view_args: dict[str, Any]) -> str | None:
        return naming(values, wanted)

    example = ",".join(sorted(wanted))
    return tuple(ValueRule(field, refuse, example, description, parse) for field in fields)


def naming(values: list[Any], names: frozenset[str]) -> str | None:
    """Return a refusal when the parsed values (strings or lists of them) name one of `names`."""
    items = [v for value in values for v in (value if isinstance(value, list) else [value])]
    named = sorted({item.lower() for item in items if isinstance(item, str)} & names)
    return f"Only a global admin may set or remove {', '.join(named)}." if named else None


def address_allowed(address: str | None, allowed: Iterable[str]) -> bool:
    """Tell whether an address lies in one of the allowed addresses or networks."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for item in allowed:
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def requires(
    policy: str, *, global_fields: Iterable[str] = (), global_values: Iterable[ValueRule] = ()
) -> Callable:
    """Declare who may call a view, which body fields and which field values are global-only."""
    declared = _BY_NAME.get(str(policy))
    if declared is None:
        raise ValueError(f"unknown policy {policy!r}")
    super_fields = tuple(global_fields)
    value_rules = tuple(global_values)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not g.get(_CHECKED):
                check_policy(declared, request.view_args or {}, super_fields, value_rules)
            if declared.creates and current_user.is_authenticated and not current_user.is_super:
                values = next((a for a in args if isinstance(a, dict)), {})
                with creation_guard(
                    get_directory(), current_user, declared.creates, request.view_args or {}, values
                ):
                    return view(*args, **kwargs)
            return view(*args, **kwargs)

        wrapper._iredapi_policy = declared
        wrapper._iredapi_global_fields = super_fields
        wrapper._iredapi_value_rules = value_rules
        apidoc = dict(getattr(wrapper, "_apidoc", {}))
        manual = dict(apidoc.get("manual_doc", {}))
        if declared.login:
            manual["security"] = [{"cookieAuth": []}, {"bearerAuth": []}, {"basicAuth": []}]
        manual["description"] = (
            ((view.__doc__ or "").strip() + "\n\n").lstrip()
            + f"Access: {declared.description}"
            + "".join(f"\n\n`{rule.field}`: {rule.description}" for rule in value_rules)
        )
        apidoc["manual_doc"] = manual
        wrapper._apidoc = apidoc
        return wrapper

    return decorator


def policy_of(view: Callable) -> Policy | None:
    """Return the declared policy of a view function, if any."""
    while view is not None:
        policy = getattr(view, "_iredapi_policy", None)
        if policy:
            return policy
        view = getattr(view, "__wrapped__", None)
    return None


def global_fields_of(view: Callable) -> tuple[str, ...]:
    """Return the body fields of a view that only a global admin may send."""
    return _declared(view, "_iredapi_global_fields")


def value_rules_of(view: Callable) -> tuple[ValueRule, ...]:
    """Return the value rules of a view: fields global-only with some values."""
    return _declared(view, "_iredapi_value_rules")


def _declared(view: Callable, name: str) -> tuple:
    while view is not None:
        if hasattr(view, name):
            return getattr(view, name)
        view = getattr(view, "__wrapped__", None)
    return ()


def enforce_route_policy() -> None:
    """before_request: check the route's policy before its body is parsed; none declared: 403."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return
    if endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
        return
    view = current_app.view_functions.get(endpoint)
    policy = policy_of(view) if view is not None else None
    if policy is None:
        log.error("Route %s declares no access policy; refused.", endpoint)
        raise Forbidden("This route declares no access policy.")
    check_policy(policy, request.view_args or {}, global_fields_of(view), value_rules_of(view))
    g.setdefault(_CHECKED, True)


def check_policy(
    policy: Policy,
    view_args: dict[str, Any],
    global_fields: Iterable[str] = (),
    value_rules: Iterable[ValueRule] = (),
) -> None:
    """Raise Unauthorized/Forbidden unless the current admin may call a route with this policy."""
    if not policy.login:
        return
    # One proxy lookup: each attribute read through current_user costs a LocalProxy resolution.
    admin = current_user._get_current_object()
    if not admin.is_authenticated:
        raise Unauthorized()
    if admin.restricted_ips and not address_allowed(client_address(), admin.restricted_ips):
        raise Forbidden("This admin may not work from this address.", code="IP_NOT_ALLOWED")
    if admin.password_expired:
        if not policy.expired_ok:
            raise Forbidden(
                "Your password has expired; change it first (PUT /api/admin/<mail>/password).",
                code="PASSWORD_EXPIRED",
            )
        if policy.self_target and _path_mail(view_args) != admin.mail:
            raise Forbidden("Change your own expired password first.", code="PASSWORD_EXPIRED")
    if admin.is_super:
        return
    if policy.super_only:
        raise Forbidden("Only a global admin may do this.")
    if policy.self_target:
        if _path_mail(view_args) != admin.mail:
            raise Forbidden("Only a global admin may manage other admins.")
        _check_global_fields(global_fields)
        return
    if policy.write and admin.read_only:
        raise Forbidden("A limited admin has read-only access.")
    if policy.create_domain and not admin.can_create_domains:
        raise Forbidden("This admin may not create domains.")
    _check_global_fields(global_fields)
    if policy.domain_scoped:
        _check_scope(admin, policy, view_args)
    _check_values(value_rules, view_args)


def _check_global_fields(global_fields: Iterable[str]) -> None:
    sent = _body_fields() & set(global_fields)
    if sent:
        raise Forbidden(
            f"Only a global admin may set: {', '.join(sorted(sent))}.",
            errors={name: ["Global admins only."] for name in sorted(sent)},
        )


def _check_values(value_rules: Iterable[ValueRule], view_args: dict[str, Any]) -> None:
    """Refuse body values only a global admin may send (checked after the domain scope)."""
    refused: dict[str, list[str]] = {}
    for rule in value_rules:
        parsed = []
        for raw in _body_values(rule.field):
            try:
                parsed.append(rule.parse(raw))
            except ValidationError:
                continue  # the view's schema refuses it with a 400; nothing is written
        reason = rule.refuse(parsed, view_args) if parsed else None
        if reason:
            refused.setdefault(rule.field, []).append(reason)
    if refused:
        raise Forbidden(
            "; ".join(f"{name}: {' '.join(why)}" for name, why in sorted(refused.items())),
            errors=dict(sorted(refused.items())),
        )


def _check_scope(admin: Any, policy: Policy, view_args: dict[str, Any]) -> None:
    domains = _scope_domains(view_args)
    if not domains or not all(domain and _manages(admin, domain) for domain in domains):
        raise Forbidden("You do not manage this domain.")
    if not policy.write:
        return
    directory = get_directory()
    target = _path_mail(view_args) or _path_account_mail(view_args)
    if target and target != admin.mail and is_admin_account(directory, target):
        raise Forbidden("Only a global admin may change another admin's account.")
    if policy.bulk and domain_has_other_admins(directory, domains[0], admin.mail):
        raise Forbidden(
            "The domain holds other admins' accounts; only a global admin may change all."
        )


def _manages(admin: CurrentAdmin, domain: str) -> bool:
    """Tell whether the admin manages the domain; asks the directory when it has too many."""
    known = admin.manages(domain)
    return manages_domain(get_directory(), admin.mail, domain) if known is None else known


def _normalised_mail(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def _path_mail(view_args: dict[str, Any]) -> str | None:
    return _normalised_mail(view_args.get("mail"))


def _path_account_mail(view_args: dict[str, Any]) -> str | None:
    """Return the address an `account` path value names (a policy route), None for a domain."""
    value = _normalised_mail(view_args.get("account"))
    return value if value and "@" in value.lstrip("@") else None


def _scope_domains(view_args: dict[str, Any]) -> list[str | None]:
    """Return the domains named by the path (`domain`, `*_domain`, the domain part of `*mail`).

    An `account` (the policy routes) is a domain, `@domain` or an address: its domain part.
    """
    found: list[str | None] = []
    for name, value in view_args.items():
        if not isinstance(value, str):
            continue
        if name == "domain" or name.endswith("_domain"):
            text = value
        elif name in ("mail", "account") or name.endswith("_mail"):
            text = value.rpartition("@")[2]
        else:
            continue
        try:
            found.append(normalise_domain(text))
        except ValidationError:
            found.append(None)  # never managed: refused
    return found


def _body_fields() -> set[str]:
    """Return the names of the fields the request body carries (JSON or form).

    A body that cannot be read names none: the view's parser reads the same decoded body
    and answers 400 before anything is done, so no field can slip past this check.
    """
    try:
        if request.is_json:
            body = json_body()
            return set(body) if isinstance(body, dict) else set()
        return set(form_body().keys())
    except MalformedInput:
        return set()


def _body_values(field: str) -> list[Any]:
    """Return every raw value of one body field: the JSON value, or each repeated form value.

    An unreadable body gives none, for the reason _body_fields gives.
    """
    try:
        if request.is_json:
            body = json_body()
            return [body[field]] if isinstance(body, dict) and field in body else []
        return form_body().getlist(field)
    except MalformedInput:
        return []
