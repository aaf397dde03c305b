"""The mail stack harness: real Dovecot and Postfix lookups on entries as iRedAdmin writes them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ldap3 import MODIFY_DELETE
from ldap3 import MODIFY_REPLACE

from iredapi_ldap.passwords import hash_password
from tests.helpers import add_alias
from tests.helpers import add_catchall
from tests.helpers import add_domain
from tests.helpers import add_user
from tests.mailstack.harness import MAPS
from tests.mailstack.harness import Dovecot
from tests.mailstack.harness import MailStackError
from tests.mailstack.harness import PostfixMaps
from tests.mailstack.harness import require_mail_stack

DOMAIN = "ex.test"
MAIL = "john@ex.test"
PASSWORD = "Secret-Pass-123"
HOME = "/var/vmail/vmail1/ex.test/j/o/h/john-2026.01.01.00.00.00/"
QUOTA_BYTES = "1073741824"
# iRedAdmin attrs.py USER_SERVICES_OF_NORMAL_USER (iredmail-ldap-model.md 3.3).
NORMAL_USER_SERVICES = """
    internal doveadm lib-storage indexer-worker dsync quota-status
    mail smtp smtpsecured smtptls pop3 pop3secured pop3tls imap imapsecured imaptls
    managesieve managesievesecured managesievetls sieve sievesecured sievetls
    deliver lda lmtp recipientbcc senderbcc forward shadowaddress displayedInGlobalAddressBook
    sogo sogowebmail sogocalendar sogoactivesync
""".split()


def modify(raw, dn, changes):
    """Modify an entry as rootdn and fail loudly if slapd refuses it."""
    assert raw.conn.modify(dn, changes), raw.conn.result


def add_john(raw, password_hash=None):
    """Add ex.test and john@ex.test exactly as iRedAdmin (ldif_mailuser) writes them; return john's DN."""
    add_domain(raw, DOMAIN)
    return add_user(
        raw,
        MAIL,
        userPassword=password_hash or hash_password(PASSWORD, "SSHA512")[0],
        homeDirectory=HOME,
        mailQuota=QUOTA_BYTES,
        enabledService=NORMAL_USER_SERVICES,
        shadowLastChange="20454",
    )


@pytest.fixture
def john(ldap_tree, raw):
    """A fresh tree holding ex.test and john@ex.test (SSHA512 password)."""
    return add_john(raw)


def test_require_mail_stack_finds_dovecot_and_postfix_ldap():
    require_mail_stack()


@pytest.mark.parametrize(
    ("scheme", "prefix"),
    [
        ("SSHA512", "{SSHA512}"),
        ("SSHA", "{SSHA}"),
        ("BCRYPT", "{CRYPT}$2b$"),
        ("SHA512-CRYPT", "{CRYPT}$6$"),
    ],
)
def test_dovecot_logs_in_with_each_scheme_slapd_verifies(ldap_tree, raw, dovecot, scheme, prefix):
    password_hash = hash_password(PASSWORD, scheme)[0]
    assert password_hash.startswith(prefix)
    add_john(raw, password_hash)

    assert dovecot.auth_test(MAIL, PASSWORD) is True
    assert dovecot.auth_test(MAIL.upper(), PASSWORD) is True  # Dovecot lower-cases (%Lu)
    assert dovecot.auth_test(MAIL, PASSWORD + "x") is False
    assert dovecot.auth_test("nobody@ex.test", PASSWORD) is False


@pytest.mark.parametrize(
    ("service", "secured"),
    [
        ("imap", None),
        ("imap", "tls"),
        ("imap", "secured"),
        ("pop3", None),
        ("smtp", "tls"),
        ("sieve", None),
        ("managesieve", "secured"),
    ],
)
def test_dovecot_checks_the_service_and_transport_security(john, dovecot, service, secured):
    assert dovecot.auth_test(MAIL, PASSWORD, service=service, secured=secured) is True


def test_dovecot_refuses_a_service_the_user_lacks(john, raw, dovecot):
    modify(raw, john, {"enabledService": [(MODIFY_DELETE, ["pop3", "imaptls"])]})

    assert dovecot.auth_test(MAIL, PASSWORD, service="pop3") is False
    assert dovecot.auth_test(MAIL, PASSWORD, service="imap", secured="tls") is False
    assert dovecot.auth_test(MAIL, PASSWORD, service="imap") is True


def test_dovecot_logs_in_by_shadow_address_only_with_the_service(john, raw, dovecot):
    modify(raw, john, {"shadowAddress": [(MODIFY_REPLACE, ["j.doe@ex.test"])]})
    assert dovecot.auth_test("j.doe@ex.test", PASSWORD) is True

    modify(raw, john, {"enabledService": [(MODIFY_DELETE, ["shadowaddress"])]})
    assert dovecot.auth_test("j.doe@ex.test", PASSWORD) is False


def test_dovecot_user_lookup_returns_home_mail_and_quota(john, dovecot):
    fields = dovecot.user_lookup(MAIL)

    assert fields["home"] == HOME
    assert fields["mail"] == "maildir:~/Maildir/"
    assert fields["quota_rule"] == f"*:bytes={QUOTA_BYTES}"
    assert fields["master_user"] == MAIL
    assert dovecot.user_lookup("nobody@ex.test") is None


def test_postfix_accepts_the_domain_and_finds_the_mailbox(john, postfix_maps):
    assert postfix_maps.query("virtual_mailbox_domains", DOMAIN) == DOMAIN
    assert postfix_maps.query("virtual_mailbox_domains", "other.test") is None
    assert postfix_maps.query("relay_domains", DOMAIN) is None
    # iRedMail's result_format is "%s/Maildir/" and homeDirectory ends in "/".
    assert postfix_maps.query("virtual_mailbox_maps", MAIL) == HOME + "/Maildir/"
    assert postfix_maps.query("virtual_mailbox_maps", "nobody@ex.test") is None
    assert postfix_maps.query("sender_login_maps", MAIL) == MAIL
    assert postfix_maps.query("transport_maps_domain", DOMAIN) == "dovecot"
    assert postfix_maps.query("transport_maps_user", MAIL) is None


def test_postfix_resolves_an_alias(john, raw, postfix_maps):
    alias_dn = add_alias(
        raw, "team@ex.test", cn="Team", mailForwardingAddress=[MAIL, "someone@elsewhere.test"]
    )

    assert postfix_maps.values("virtual_alias_maps", "team@ex.test") == [
        MAIL,
        "someone@elsewhere.test",
    ]
    assert postfix_maps.query("virtual_alias_maps", MAIL) is None  # no forwarding set

    modify(raw, alias_dn, {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]})
    assert postfix_maps.query("virtual_alias_maps", "team@ex.test") is None


def test_postfix_resolves_a_catch_all(john, raw, postfix_maps):
    add_catchall(raw, DOMAIN, mailForwardingAddress=[MAIL])

    assert postfix_maps.query("catchall_maps", "anything@ex.test") == MAIL
    assert postfix_maps.query("catchall_maps", "anything@other.test") is None


def test_postfix_accepts_an_alias_domain_only_with_domainalias(john, raw, postfix_maps):
    domain_dn = raw.domain_dn(DOMAIN)
    modify(raw, domain_dn, {"domainAliasName": [(MODIFY_REPLACE, ["alias.test"])]})
    assert postfix_maps.query("virtual_mailbox_domains", "alias.test") is None

    modify(raw, domain_dn, {"enabledService": [(MODIFY_REPLACE, ["mail", "domainalias"])]})
    assert postfix_maps.query("virtual_mailbox_domains", "alias.test") == DOMAIN


@pytest.mark.parametrize("status_attribute", ["accountStatus", "domainStatus"])
def test_a_disabled_account_is_refused_everywhere(
    john, raw, dovecot, postfix_maps, status_attribute
):
    """accountStatus disables the user; domainStatus marks the users of a disabled domain."""
    assert dovecot.auth_test(MAIL, PASSWORD) is True

    modify(raw, john, {status_attribute: [(MODIFY_REPLACE, ["disabled"])]})

    assert dovecot.auth_test(MAIL, PASSWORD) is False
    assert dovecot.user_lookup(MAIL) is None
    assert postfix_maps.query("virtual_mailbox_maps", MAIL) is None
    assert postfix_maps.query("sender_login_maps", MAIL) is None


def test_a_disabled_domain_is_not_accepted(john, raw, postfix_maps):
    modify(raw, raw.domain_dn(DOMAIN), {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]})

    assert postfix_maps.query("virtual_mailbox_domains", DOMAIN) is None
    assert postfix_maps.query("transport_maps_domain", DOMAIN) is None


def test_postfix_bcc_and_relayhost_maps(john, raw, postfix_maps):
    modify(
        raw,
        john,
        {
            "userSenderBccAddress": [(MODIFY_REPLACE, ["audit@ex.test"])],
            "userRecipientBccAddress": [(MODIFY_REPLACE, ["archive@ex.test"])],
            "senderRelayHost": [(MODIFY_REPLACE, ["[relay.test]:587"])],
        },
    )
    modify(
        raw,
        raw.domain_dn(DOMAIN),
        {
            "enabledService": [(MODIFY_REPLACE, ["mail", "senderbcc", "recipientbcc"])],
            "domainSenderBccAddress": [(MODIFY_REPLACE, ["dsbcc@ex.test"])],
            "domainRecipientBccAddress": [(MODIFY_REPLACE, ["drbcc@ex.test"])],
            "senderRelayHost": [(MODIFY_REPLACE, ["[domain-relay.test]:25"])],
        },
    )

    assert postfix_maps.query("sender_bcc_maps_user", MAIL) == "audit@ex.test"
    assert postfix_maps.query("recipient_bcc_maps_user", MAIL) == "archive@ex.test"
    assert postfix_maps.query("sender_bcc_maps_domain", MAIL) == "dsbcc@ex.test"
    assert postfix_maps.query("recipient_bcc_maps_domain", MAIL) == "drbcc@ex.test"
    user_relay = postfix_maps.query("sender_dependent_relayhost_maps_user", MAIL)
    assert user_relay == "[relay.test]:587"
    domain_relay = postfix_maps.query("sender_dependent_relayhost_maps_domain", "@ex.test")
    assert domain_relay == "[domain-relay.test]:25"

    modify(raw, john, {"enabledService": [(MODIFY_DELETE, ["senderbcc"])]})
    assert postfix_maps.query("sender_bcc_maps_user", MAIL) is None


@pytest.mark.parametrize("map_name", sorted(MAPS))
def test_every_map_is_a_valid_postfix_ldap_table(john, postfix_maps, map_name):
    """postmap accepts each .cf and its filter (a syntax error would raise)."""
    key = DOMAIN if map_name.endswith("_domains") or map_name == "transport_maps_domain" else MAIL
    postfix_maps.query(map_name, key)


def test_unknown_map_is_an_error(postfix_maps):
    with pytest.raises(KeyError):
        postfix_maps.query("no_such_maps", MAIL)


def test_lookup_errors_raise_instead_of_reading_as_not_found(slapd_server, tmp_path):
    creds = replace(slapd_server.credentials, vmail_password="wrong")
    maps = PostfixMaps(tmp_path / "postfix", creds)

    with pytest.raises(MailStackError, match="Invalid credentials"):
        maps.query("virtual_mailbox_maps", MAIL)


def test_dovecot_fails_to_start_when_it_cannot_bind(slapd_server, tmp_path):
    creds = replace(slapd_server.credentials, vmail_password="wrong")
    server = Dovecot(tmp_path / "dovecot", creds)

    with pytest.raises(MailStackError, match="not ready"):
        server.start(timeout=1)
    assert not server.running()
