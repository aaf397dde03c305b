"""Who is calling: cookie sessions (flask-login), the admin's role, login checks."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask import current_app
from flask import session
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import login_user
from flask_login import logout_user

from .errors import Forbidden
from .errors import InvalidCredentials
from .errors import Unauthorized
from .policies import CREATE_ALIAS
from .policies import CREATE_LIST
from .policies import CREATE_USER
from .policies import DOMAIN_BULK_WRITE
from .policies import DOMAIN_CREATE
from .policies import DOMAIN_READ
from .policies import DOMAIN_WRITE
from .policies import GLOBAL_ADMIN
from .policies import LOGIN
from .policies import PASSWORD_CHANGE
from .policies import POLICIES
from .policies import PUBLIC
from .policies import SELF
from .policies import UPDATE_USER
from .policies import Policy
from .policies import address_allowed
from .policies import client_address
from .policies import enforce_route_policy
from .policies import policy_of
from .policies import requires

# Views import the policies from here; they live in policies.py.
__all__ = [
    "CurrentAdmin",
    "log_in",
    "log_out",
    "login_manager",
    "refresh_session",
    "remember_managed_domain",
    "CREATE_ALIAS",
    "CREATE_LIST",
    "CREATE_USER",
    "DOMAIN_BULK_WRITE",
    "DOMAIN_CREATE",
    "DOMAIN_READ",
    "DOMAIN_WRITE",
    "GLOBAL_ADMIN",
    "LOGIN",
    "PASSWORD_CHANGE",
    "POLICIES",
    "PUBLIC",
    "SELF",
    "UPDATE_USER",
    "Policy",
    "address_allowed",
    "client_address",
    "enforce_route_policy",
    "policy_of",
    "requires",
]

login_manager = LoginManager()

SESSION_KEY = "_iredapi_admin"
# Re-read the admin's entry at most this often, so a disabled admin is locked out
# quickly without an extra LDAP read on every request.
RECHECK_SECONDS = 30
# The session cookie caches at most this many managed domains; an admin with more
# is checked against the directory on each domain-scoped request instead.
MAX_CACHED_DOMAINS = 50
SUPER, STANDARD, LIMITED = "super", "standard", "limited"


class CurrentAdmin(UserMixin):
    """The authenticated admin of this request, with its role and restrictions."""

    def __init__(
        self,
        mail: str,
        dn: str,
        kind: str,
        is_global: bool,
        *,
        read_only: bool = False,
        can_create_domains: bool = False,
        locked: bool = False,
        password_expired: bool = False,
        restricted_ips: Iterable[str] = (),
        single_session: bool = False,
        session_epoch: int = 0,
        domains: Iterable[str] | None = None,
        checked: float | None = None,
    ) -> None:
        self.mail = mail
        self.dn = dn
        self.kind = kind
        self.is_global = is_global
        self.read_only = read_only
        self.can_create_domains = can_create_domains and not read_only
        self.locked = locked
        self.password_expired = password_expired
        self.restricted_ips = list(restricted_ips)
        self.single_session = single_session
        self.session_epoch = session_epoch
        self.domains = None if domains is None else [d.lower() for d in domains]
        self.checked = time.time() if checked is None else checked

    @property
    def is_super(self) -> bool:
        """Tell whether this admin may do everything (a global, non-limited admin)."""
        return self.is_global and not self.read_only

    @property
    def type(self) -> str:
        """Return the Rackspace admin type: super, standard or limited."""
        if self.read_only:
            return LIMITED
        return SUPER if self.is_global else STANDARD

    def manages(self, domain: str) -> bool:
        """Tell whether this admin may see the domain's objects."""
        if self.is_global:
            return True
        if self.domains is not None:
            return domain.lower() in self.domains
        from .ldap import get_directory
        from .models.admin_roles import manages_domain

        return manages_domain(get_directory(), self.mail, domain)

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return self.mail

    def to_session(self) -> dict[str, Any]:
        """Return what the session cookie remembers about this admin."""
        cached = self.domains if self.domains and len(self.domains) <= MAX_CACHED_DOMAINS else None
        return {
            "mail": self.mail,
            "dn": self.dn,
            "kind": self.kind,
            "global": self.is_global,
            "read_only": self.read_only,
            "create_domains": self.can_create_domains,
            "expired": self.password_expired,
            "ips": self.restricted_ips,
            "single": self.single_session,
            "epoch": self.session_epoch,
            "domains": [] if self.domains == [] else cached,
            "checked": self.checked,
        }

    @classmethod
    def from_session(cls, stored: dict[str, Any]) -> CurrentAdmin:
        """Rebuild the admin from the session cookie."""
        return cls(
            stored["mail"],
            stored["dn"],
            stored["kind"],
            stored["global"],
            read_only=stored.get("read_only", False),
            can_create_domains=stored.get("create_domains", False),
            password_expired=stored.get("expired", False),
            restricted_ips=stored.get("ips") or (),
            single_session=stored.get("single", False),
            session_epoch=stored.get("epoch", 0),
            domains=stored.get("domains"),
            checked=stored.get("checked", 0),
        )


def init_app(app: Flask) -> None:
    """Bind flask-login and the policy check to the app; sessions are permanent (idle timeout)."""
    login_manager.init_app(app)
    login_manager.session_protection = None
    app.before_request(enforce_route_policy)


def _renew_cookie_when_due() -> None:
    """Re-sign the session cookie once a quarter of the idle lifetime has passed.

    Flask would re-sign it on every request (SESSION_REFRESH_EACH_REQUEST), which cost 12%
    of a worker's CPU; renewing every lifetime/4 (at most every minute) keeps the idle
    timeout between 3/4 and all of the configured time.
    """
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    now = time.time()
    if now - session.get("_iredapi_signed", 0) > min(60.0, lifetime / 4):
        session["_iredapi_signed"] = now


@login_manager.user_loader
def _load_admin(user_id: str) -> CurrentAdmin | None:
    stored = session.get(SESSION_KEY)
    if not stored or stored.get("mail") != user_id:
        return None
    admin = CurrentAdmin.from_session(stored)
    _renew_cookie_when_due()
    due = time.time() - admin.checked > RECHECK_SECONDS
    if not due and not admin.single_session:
        return admin
    from .ldap import get_directory
    from .models.admin import load_login_admin

    # A single-session admin is re-read on every request: a newer login ends this one at once.
    fresh = load_login_admin(get_directory(), user_id, with_domains=due)
    if fresh is None or (fresh.single_session and fresh.session_epoch != admin.session_epoch):
        session.pop(SESSION_KEY, None)
        return None
    fresh.session_epoch = admin.session_epoch
    if not due:
        fresh.domains, fresh.checked = admin.domains, admin.checked
        return fresh
    session[SESSION_KEY] = fresh.to_session()
    return fresh


@login_manager.request_loader
def _load_admin_from_token(request: Any) -> CurrentAdmin | None:
    from .security.tokens import admin_from_request

    return admin_from_request(request)


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    raise Unauthorized()


def log_in(username: str, password: str) -> CurrentAdmin:
    """Check the credentials, lock and address; start a session (ending others if single-session)."""
    from .ldap import get_directory
    from .models.admin import bump_session_epoch
    from .models.admin import verify_login
    from .security import ratelimit

    ratelimit.check_login(username)
    directory = get_directory()
    admin = verify_login(directory, username, password)
    if admin is None:
        ratelimit.record_failure(username)
        raise InvalidCredentials()
    if admin.locked:
        raise Forbidden("This admin account is locked.", code="ACCOUNT_LOCKED")
    if admin.restricted_ips and not address_allowed(client_address(), admin.restricted_ips):
        raise Forbidden("This admin may not log in from this address.", code="IP_NOT_ALLOWED")
    if admin.single_session:
        admin.session_epoch = bump_session_epoch(directory, admin.dn)
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = admin.to_session()
    login_user(admin)
    return admin


def log_out() -> None:
    """End the session."""
    logout_user()
    session.clear()


def refresh_session() -> None:
    """Re-read the logged-in admin now (after it changed its own password or domains)."""
    from .ldap import get_directory
    from .models.admin import load_login_admin

    stored = session.get(SESSION_KEY)
    if not stored:
        return
    fresh = load_login_admin(get_directory(), stored["mail"])
    if fresh is None:
        session.pop(SESSION_KEY, None)
        return
    fresh.session_epoch = stored.get("epoch", 0)
    session[SESSION_KEY] = fresh.to_session()


def remember_managed_domain(domain: str) -> None:
    """Add a domain the logged-in admin just created to its cached managed domains."""
    stored = session.get(SESSION_KEY)
    if stored and stored.get("domains") is not None:
        domains = list(stored["domains"])
        if domain not in domains:
            domains.append(domain)
        stored = dict(stored, domains=domains if len(domains) <= MAX_CACHED_DOMAINS else None)
        session[SESSION_KEY] = stored


def config_secret_ok() -> bool:
    """Tell whether a secret key is configured (sessions need one)."""
    return bool(current_app.config.get("SECRET_KEY"))
