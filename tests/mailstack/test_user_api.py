"""Users created through the API are served by the real Dovecot and Postfix LDAP lookups."""

from __future__ import annotations

import pytest

from iredapi_ldap import create_app
from iredapi_ldap.ldap.connection import get_pool
from tests.conftest import AuthActions
from tests.conftest import checked

DOMAIN = "stack.test"
PASSWORD = "Mail-Stack-Pass-42"
# Schemes slapd can check on a simple bind (Dovecot 2.3 uses auth_bind = yes, as iRedMail):
# {PLAIN}, bare PLAIN-MD5, CRAM-MD5 and NTLM hashes are stored fine but cannot log in this way.
BINDABLE_SCHEMES = ["SSHA512", "SSHA", "SHA512", "BCRYPT", "SHA512-CRYPT", "MD5"]


@pytest.fixture
def stack_client(ldap_tree, app_config, request):
    """A logged-in client of an app whose password scheme is the test's parameter."""
    app = checked(
        create_app({**app_config, "DEFAULT_PASSWORD_SCHEME": getattr(request, "param", "SSHA512")})
    )
    client = app.test_client()
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.models.admins.create import create_global_admin
    from tests.conftest import ADMIN_EMAIL
    from tests.conftest import ADMIN_PASSWORD

    with app.app_context():
        create_global_admin(get_directory(), ADMIN_EMAIL, ADMIN_PASSWORD)
    assert AuthActions(client).login().status_code == 200
    assert client.post(f"/api/domain/{DOMAIN}", data={"cn": "Stack"}).status_code == 201
    yield client
    get_pool(app).close_all()


@pytest.mark.parametrize("stack_client", BINDABLE_SCHEMES, indirect=True)
def test_api_user_logs_in_to_dovecot_with_each_scheme(stack_client, dovecot, raw, request):
    """doveadm auth accepts the password set through the API, whatever the configured scheme."""
    scheme = request.node.callspec.params["stack_client"]
    mail = f"user-{scheme.lower()}@{DOMAIN}"
    created = stack_client.post(f"/api/user/{mail}", data={"password": PASSWORD, "quota": "1024"})
    assert created.status_code == 201, created.json
    stored = raw.entry(raw.user_dn(mail))["userpassword"][0]
    assert not stored.startswith("{SSHA512}") or scheme == "SSHA512"
    assert dovecot.auth_test(mail, PASSWORD)
    assert not dovecot.auth_test(mail, PASSWORD + "x")
    looked_up = dovecot.user_lookup(mail)
    assert looked_up["home"].rstrip("/") == raw.entry(raw.user_dn(mail))["homedirectory"][0].rstrip(
        "/"
    )
    assert "bytes=1073741824" in looked_up.get("quota_rule", "")


def test_api_password_change_reaches_dovecot(stack_client, dovecot):
    """After PUT /api/user/<mail>/password Dovecot takes the new password only."""
    mail = f"changer@{DOMAIN}"
    assert stack_client.post(f"/api/user/{mail}", data={"password": PASSWORD}).status_code == 201
    new = "Changed-Pass-77"
    assert stack_client.put(f"/api/user/{mail}/password", data={"password": new}).status_code == 200
    assert dovecot.auth_test(mail, new)
    assert not dovecot.auth_test(mail, PASSWORD)


def test_api_user_mailbox_is_found_by_postfix(stack_client, postfix_maps, raw):
    """virtual_mailbox_domains accepts the domain and virtual_mailbox_maps finds the mailbox."""
    mail = f"postfix@{DOMAIN}"
    assert stack_client.post(f"/api/user/{mail}", data={"password": PASSWORD}).status_code == 201
    home = raw.entry(raw.user_dn(mail))["homedirectory"][0]
    assert postfix_maps.query("virtual_mailbox_domains", DOMAIN) is not None
    assert postfix_maps.query("virtual_mailbox_maps", mail) == home + "/Maildir/"
    assert postfix_maps.query("sender_login_maps", mail) == mail


def test_disabled_user_is_refused_everywhere(stack_client, dovecot, postfix_maps):
    """accountStatus=disabled through the API stops login and delivery."""
    mail = f"off@{DOMAIN}"
    assert stack_client.post(f"/api/user/{mail}", data={"password": PASSWORD}).status_code == 201
    assert dovecot.auth_test(mail, PASSWORD)
    assert (
        stack_client.put(f"/api/user/{mail}", data={"accountStatus": "disabled"}).status_code == 200
    )
    assert not dovecot.auth_test(mail, PASSWORD)
    assert postfix_maps.query("virtual_mailbox_maps", mail) is None
    assert (
        stack_client.put(f"/api/user/{mail}", data={"accountStatus": "active"}).status_code == 200
    )
    assert dovecot.auth_test(mail, PASSWORD)


def test_user_of_disabled_domain_is_refused(stack_client, dovecot, postfix_maps):
    """Disabling the domain through the API refuses its users; enabling restores them."""
    mail = f"member@{DOMAIN}"
    assert stack_client.post(f"/api/user/{mail}", data={"password": PASSWORD}).status_code == 201
    assert (
        stack_client.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "disabled"}).status_code
        == 200
    )
    assert not dovecot.auth_test(mail, PASSWORD)
    assert postfix_maps.query("virtual_mailbox_maps", mail) is None
    assert postfix_maps.query("virtual_mailbox_domains", DOMAIN) is None
    assert (
        stack_client.put(f"/api/domain/{DOMAIN}", data={"accountStatus": "active"}).status_code
        == 200
    )
    assert dovecot.auth_test(mail, PASSWORD)
    assert postfix_maps.query("virtual_mailbox_maps", mail) is not None
