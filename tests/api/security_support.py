"""Helpers for the token, access, rate-limit, XML and audit tests."""

from __future__ import annotations

import base64
from contextlib import contextmanager

from iredapi_ldap import create_app
from iredapi_ldap import sqlstore
from iredapi_ldap.ldap.connection import get_pool
from iredapi_ldap.passwords import hash_password
from tests.api import admin_support

PASSWORD = "Other-Pass-456"
USER_CLASSES = ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]


@contextmanager
def app_with(app_config, **overrides):
    """Build a second app (another API node) on the same directory and SQL store."""
    application = create_app({**app_config, **overrides})
    try:
        yield application
    finally:
        get_pool(application).close_all()
        sqlstore.dispose(application)


def add_admin(raw, mail, password=PASSWORD, is_global=False, settings=()):
    """Add a standalone mailAdmin the way iRedAdmin writes it (no shadowLastChange); return its DN."""
    return admin_support.add_admin(
        raw, mail, password, is_global, settings, shadow_last_change=None
    )


def add_user_admin(raw, mail, password=PASSWORD):
    """Add a mail user promoted to domain admin (enabledService=domainadmin)."""
    local, domain = mail.split("@")
    attributes = {
        "objectClass": USER_CLASSES,
        "mail": mail,
        "uid": local,
        "cn": local,
        "sn": local,
        "userPassword": hash_password(password)[0],
        "accountStatus": "active",
        "enabledService": ["mail", "deliver", "smtp", "imap", "domainadmin"],
        "homeDirectory": f"/var/vmail/vmail1/{domain}/{local}/",
    }
    assert raw.conn.add(raw.user_dn(mail), attributes=attributes), raw.conn.result
    return raw.user_dn(mail)


def make_token(client, mail, **params):
    """Create a token through the API and return the response's _data."""
    response = client.post(f"/api/admin/{mail}/tokens", data=params)
    assert response.status_code == 201, response.json
    return response.json["_data"]


def bearer(token):
    """Return headers sending a token as Bearer."""
    return {"Authorization": f"Bearer {token}"}


def basic(username, secret):
    """Return headers sending HTTP Basic credentials."""
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def token_values(raw, dn):
    """Return the apiToken accountSetting values of an entry."""
    entry = raw.entry(dn) or {}
    return [v for v in entry.get("accountsetting", []) if v.startswith("apiToken:")]
