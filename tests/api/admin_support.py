"""Helpers for the admin and role tests: directory fixtures written the way iRedAdmin writes them."""

from __future__ import annotations

from iredapi_ldap.passwords import hash_password

PASSWORD = "Admin-Pass-123"
USER_CLASSES = ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]
OUS = ("Users", "Groups", "Aliases", "Externals")


def admin_dn(raw, mail):
    """Return the DN of a standalone admin."""
    return f"mail={mail},o=domainAdmins,{raw.suffix}"


def add_domain(raw, domain, admins=(), **settings):
    """Add a mailDomain with its four containers; `admins` become domainAdmin values."""
    attributes = {
        "objectClass": ["mailDomain"],
        "domainName": domain,
        "accountStatus": "active",
        "mtaTransport": "dovecot",
        "enabledService": ["mail"],
    }
    if admins:
        attributes["domainAdmin"] = list(admins)
    if settings:
        attributes["accountSetting"] = [f"{key}:{value}" for key, value in settings.items()]
    assert raw.conn.add(raw.domain_dn(domain), attributes=attributes), raw.conn.result
    for ou in OUS:
        dn = f"ou={ou},{raw.domain_dn(domain)}"
        assert raw.conn.add(dn, attributes={"objectClass": ["organizationalUnit"], "ou": ou})


def add_admin(
    raw, mail, password=PASSWORD, is_global=False, settings=(), shadow_last_change="19000", **extra
):
    """Add a standalone mailAdmin with accountSetting values (`key:value` strings); return its DN."""
    local = mail.split("@")[0]
    attributes = {
        "objectClass": ["mailAdmin"],
        "mail": mail,
        "cn": local,
        "sn": local,
        "givenName": local,
        "userPassword": hash_password(password)[0],
        "accountStatus": "active",
    }
    if shadow_last_change:
        attributes["shadowLastChange"] = shadow_last_change
    attributes.update(extra)
    if is_global:
        attributes["domainGlobalAdmin"] = "yes"
    if settings:
        attributes["accountSetting"] = list(settings)
    assert raw.conn.add(admin_dn(raw, mail), attributes=attributes), raw.conn.result
    return admin_dn(raw, mail)


def add_user(raw, mail, password=PASSWORD, admin=False, is_global=False, **extra):
    """Add a mail user; `admin` adds enabledService domainadmin, `is_global` domainGlobalAdmin."""
    local, domain = mail.split("@")
    services = ["mail", "deliver", "smtp", "imap"] + (["domainadmin"] if admin else [])
    attributes = {
        "objectClass": USER_CLASSES,
        "mail": mail,
        "uid": local,
        "sn": local,
        "cn": local,
        "userPassword": hash_password(password)[0],
        "accountStatus": "active",
        "enabledService": services,
        "homeDirectory": f"/var/vmail/vmail1/{domain}/{local}/",
        "mailboxFormat": "maildir",
        "mailboxFolder": "Maildir",
        "amavisLocal": "TRUE",
        "shadowLastChange": "19000",
        **extra,
    }
    if is_global:
        attributes["domainGlobalAdmin"] = "yes"
    assert raw.conn.add(raw.user_dn(mail), attributes=attributes), raw.conn.result


def settings_of(raw, dn):
    """Return the accountSetting values of an entry, sorted."""
    return sorted((raw.entry(dn) or {}).get("accountsetting", []))


def login(client, mail, password=PASSWORD, **kwargs):
    """Log a test client in; return the response."""
    return client.post("/api/login", data={"username": mail, "password": password}, **kwargs)


def new_client(app, mail, password=PASSWORD):
    """Return a fresh test client logged in as `mail` (asserting the login worked)."""
    client = app.test_client()
    response = login(client, mail, password)
    assert response.status_code == 200, response.json
    return client


def tree(raw):
    """Return a full dump (with entryCSN) of o=domains and o=domainAdmins."""
    return {
        **raw.snapshot(f"o=domains,{raw.suffix}"),
        **raw.snapshot(f"o=domainAdmins,{raw.suffix}"),
    }
