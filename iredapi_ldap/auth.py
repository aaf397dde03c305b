"""Who is calling: cookie sessions (flask-login), the admin's role, login checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from flask import Response
from flask import current_app
from flask import request
from flask import session
from flask_login import LoginManager
from flask_login import login_user
from flask_login import logout_user

from .errors import Forbidden
from .errors import InvalidCredentials
from .errors import Unauthorized
from .identity import CurrentAdmin
from .ldap import get_directory
from .models.admins.login import bump_session_epoch
from .models.admins.login import end_session
from .models.admins.login import load_session_admin
from .models.admins.login import managed_domains
from .models.admins.login import reload_admin
from .models.admins.login import verify_login
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
from .security import ratelimit
from .security.tokens import admin_from_request
from .security.tokens import current_token

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
# Sessions are permanent with an idle timeout, and re-checked against the directory on
# every request (_load_admin); flask-login's own session protection would add nothing.
login_manager.session_protection = None

SESSION_KEY = "_iredapi_admin"
# Each request re-reads the admin's entry (one base read): a logout, a password change, a
# disabled, locked, deleted or demoted admin ends its sessions on every node at once. The
# managed domains (a subtree search) are re-read at most this often.
RECHECK_SECONDS = 30
# The session cookie caches at most this many managed domains; an admin with more
# is checked against the directory on each domain-scoped request instead.
MAX_CACHED_DOMAINS = 50


def session_record(admin: CurrentAdmin) -> dict[str, Any]:
    """Return what the session cookie remembers about an admin."""
    domains = admin.domains
    cached = domains if domains and len(domains) <= MAX_CACHED_DOMAINS else None
    return {
        "mail": admin.mail,
        "dn": admin.dn,
        "kind": admin.kind,
        "global": admin.is_global,
        "read_only": admin.read_only,
        "create_domains": admin.can_create_domains,
        "expired": admin.password_expired,
        "ips": admin.restricted_ips,
        "single": admin.single_session,
        "epoch": admin.session_epoch,
        "sid": admin.session_id,
        "pw": password_tag(admin.password_digest),
        "domains": [] if domains == [] else cached,
        "checked": admin.checked,
    }


def password_tag(digest: str, key: Any = None) -> str:
    """Return what the cookie keeps of the password digest: keyed, so it says nothing about it."""
    secret = str(current_app.secret_key if key is None else key).encode()
    return hmac.new(secret, digest.encode(), hashlib.sha256).hexdigest()[:32]


def password_unchanged(digest: str, tag: Any) -> bool:
    """Tell whether a cookie's tag was made from this digest (with the key or a fallback key)."""
    keys = (current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ()))
    text = tag if isinstance(tag, str) else ""
    return any(hmac.compare_digest(password_tag(digest, key), text) for key in keys)


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
    if not stored or stored.get("mail") != user_id or not stored.get("sid"):
        return None
    directory = get_directory()
    fresh = load_session_admin(directory, stored["dn"], stored["sid"])
    if (
        fresh is None
        or fresh.mail != user_id
        or fresh.session_epoch != stored.get("epoch", 0)
        or not password_unchanged(fresh.password_digest, stored.get("pw"))
    ):
        session.pop(SESSION_KEY, None)
        return None
    _renew_cookie_when_due()
    fresh.session_id = stored["sid"]
    changed_role = fresh.is_global != stored.get("global")
    if not changed_role and time.time() - stored.get("checked", 0) <= RECHECK_SECONDS:
        fresh.domains, fresh.checked = stored.get("domains"), stored.get("checked", 0)
        return fresh
    if not fresh.is_global:
        fresh.domains = managed_domains(directory, fresh.mail)
    session[SESSION_KEY] = session_record(fresh)
    return fresh


@login_manager.request_loader
def _load_admin_from_token(request: Any) -> CurrentAdmin | None:
    return admin_from_request(request)


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    raise Unauthorized()


def check_credentials(
    username: str, password: str, issue_device_cookie: bool = False
) -> CurrentAdmin:
    """Check the credentials (failed ones count against the login limits), lock and address."""
    attempt = ratelimit.check_login(username)
    admin = verify_login(get_directory(), username, password)
    if admin is None:
        attempt.failed()
        raise InvalidCredentials()
    if admin.locked:
        raise Forbidden("This admin account is locked.", code="ACCOUNT_LOCKED")
    if admin.restricted_ips and not address_allowed(client_address(), admin.restricted_ips):
        raise Forbidden("This admin may not log in from this address.", code="IP_NOT_ALLOWED")
    attempt.succeeded(admin.mail, issue_device_cookie=issue_device_cookie)
    return admin


def log_in(username: str, password: str) -> CurrentAdmin:
    """Check the credentials, lock and address; start a session (ending others if single-session)."""
    admin = check_credentials(username, password, issue_device_cookie=True)
    directory = get_directory()
    if admin.single_session:
        admin.session_epoch = bump_session_epoch(directory, admin.dn)
    admin.session_id = new_session_id()
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = session_record(admin)
    login_user(admin)
    return admin


def new_session_id() -> str:
    """Return a fresh random session id (the cookie carries it; a logout records it)."""
    return secrets.token_urlsafe(16)


def log_out() -> None:
    """End the session here and, through the admin's entry, on every node (copies included)."""
    stored = dict(session.get(SESSION_KEY) or {})
    logout_user()
    session.clear()
    if stored.get("sid") and stored.get("dn"):
        # A copy of the cookie cannot outlive its last signature by more than the idle
        # lifetime, and a refused copy is never signed again: the record may go after that.
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        end_session(get_directory(), stored["dn"], stored["sid"], int(time.time() + lifetime) + 1)


def refresh_session() -> None:
    """Re-read the logged-in admin now (after it changed its own password or domains)."""
    stored = session.get(SESSION_KEY)
    if not stored:
        return
    directory = get_directory()
    found = reload_admin(directory, stored["dn"])
    if found is None:
        session.pop(SESSION_KEY, None)
        return
    fresh = found[0]
    if not fresh.is_global:
        fresh.domains = managed_domains(directory, fresh.mail)
    fresh.session_epoch = stored.get("epoch", 0)
    fresh.session_id = stored.get("sid", "")
    session[SESSION_KEY] = session_record(fresh)


def refresh_after_own_change(response: Response) -> Response:
    """after_request: re-read the admin of a session that changed its own entry."""
    # The session that changed its own admin's entry (its password, above all) goes on with
    # the new state; every other copy of it is refused at its next request.
    if request.method in ("GET", "HEAD", "OPTIONS") or response.status_code >= 400:
        return response
    stored = session.get(SESSION_KEY)
    mail = (request.view_args or {}).get("mail")
    if stored and isinstance(mail, str) and mail.strip().lower() == stored.get("mail"):
        if current_token() is None:
            refresh_session()
    return response


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
