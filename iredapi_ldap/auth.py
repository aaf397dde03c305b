"""Who is calling: cookie sessions (flask-login) and per-route access policies."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from .errors import Forbidden, InvalidCredentials, Unauthorized

login_manager = LoginManager()

PUBLIC = "public"
GLOBAL_ADMIN = "global_admin"
POLICIES = (PUBLIC, GLOBAL_ADMIN)
SESSION_KEY = "_iredapi_admin"
# Re-read the admin's entry at most this often, so a disabled admin is locked out
# quickly without an extra LDAP read on every request.
RECHECK_SECONDS = 30


class CurrentAdmin(UserMixin):
    """The authenticated admin of this request."""

    def __init__(self, mail: str, dn: str, kind: str, is_global: bool) -> None:
        self.mail = mail
        self.dn = dn
        self.kind = kind
        self.is_global = is_global

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return self.mail

    def to_session(self) -> dict[str, Any]:
        """Return what the session cookie remembers about this admin."""
        return {
            "mail": self.mail,
            "dn": self.dn,
            "kind": self.kind,
            "global": self.is_global,
            "checked": time.time(),
        }


def init_app(app: Flask) -> None:
    """Bind flask-login to the app; sessions are permanent so the idle timeout applies."""
    login_manager.init_app(app)
    login_manager.session_protection = None


@login_manager.user_loader
def _load_admin(user_id: str) -> CurrentAdmin | None:
    from .models.admin import load_login_admin

    stored = session.get(SESSION_KEY)
    if not stored or stored.get("mail") != user_id:
        return None
    if time.time() - stored.get("checked", 0) > RECHECK_SECONDS:
        from .ldap import get_directory

        fresh = load_login_admin(get_directory(), user_id)
        if fresh is None:
            session.pop(SESSION_KEY, None)
            return None
        session[SESSION_KEY] = fresh.to_session()
        return fresh
    return CurrentAdmin(stored["mail"], stored["dn"], stored["kind"], stored["global"])


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    raise Unauthorized()


def log_in(username: str, password: str) -> CurrentAdmin:
    """Check the credentials and start a session; errors never reveal which part failed."""
    from .ldap import get_directory
    from .models.admin import authenticate

    admin = authenticate(get_directory(), username, password)
    if admin is None:
        raise InvalidCredentials()
    if not admin.is_global:
        raise Forbidden("Only global admins can use the API in this version.")
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = admin.to_session()
    login_user(admin)
    return admin


def log_out() -> None:
    """End the session."""
    logout_user()
    session.clear()


def requires(policy: str) -> Callable:
    """Declare and enforce who may call a view; the policy is readable on the view."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if policy != PUBLIC:
                if not current_user.is_authenticated:
                    raise Unauthorized()
                if policy == GLOBAL_ADMIN and not current_user.is_global:
                    raise Forbidden()
            return view(*args, **kwargs)

        wrapper._iredapi_policy = policy
        if policy != PUBLIC:
            apidoc = dict(getattr(wrapper, "_apidoc", {}))
            manual = dict(apidoc.get("manual_doc", {}))
            manual["security"] = [{"cookieAuth": []}]
            apidoc["manual_doc"] = manual
            wrapper._apidoc = apidoc
        return wrapper

    return decorator


def policy_of(view: Callable) -> str | None:
    """Return the declared policy of a view function, if any."""
    while view is not None:
        policy = getattr(view, "_iredapi_policy", None)
        if policy:
            return policy
        view = getattr(view, "__wrapped__", None)
    return None


def config_secret_ok() -> bool:
    """Tell whether a secret key is configured (sessions need one)."""
    return bool(current_app.config.get("SECRET_KEY"))
