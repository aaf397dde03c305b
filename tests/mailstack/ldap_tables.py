"""iRedMail's LDAP lookups, as its Dovecot and Postfix configurations run them.

Sources: iRedMail `samples/dovecot/dovecot-ldap.conf` and `samples/postfix/ldap/*.cf`
(placeholders PH_LDAP_BASEDN = o=domains,<suffix>, PH_LDAP_ATTR_GROUP_USERS = Users), and
for the tables whose current sample was not at hand, the same filters as written by
iRedMail's older installer (`functions/postfix.sh`) with the `(!(domainStatus=disabled))`
test every current account filter has, checked against iredmail-ldap-model.md 2.3.
"""

from __future__ import annotations

from dataclasses import dataclass

# iRedMail samples/dovecot/dovecot-ldap.conf (Dovecot 2.3): the same filter finds the user
# for the password bind and for the userdb; %Ls%Lc is the service plus "secured"/"tls".
ACCOUNT_FILTER = (
    "(&(objectClass=mailUser)(accountStatus=active)(!(domainStatus=disabled))"
    "(enabledService=mail)(enabledService=%Ls%Lc)"
    "(|(mail=%u)(&(enabledService=shadowaddress)(shadowAddress=%u))))"
)
USER_ATTRS = (
    "mail=master_user,mail=user,=home=%L{ldap:homeDirectory},"
    "=mail=%{ldap:mailboxFormat:maildir}:~/%{ldap:mailboxFolder:Maildir}/,"
    "mailQuota=quota_rule=*:bytes=%$"
)
PASS_ATTRS = "mail=user,userPassword=password,allowNets=allow_nets"


@dataclass(frozen=True)
class LdapMap:
    """One Postfix ldap: table; {base} in search_base stands for o=domains,<suffix>."""

    query_filter: str
    result_attribute: str
    search_base: str = "{base}"
    scope: str = "sub"
    result_format: str | None = None


ACTIVE_ACCOUNT = "(accountStatus=active)(!(domainStatus=disabled))"
ADDRESS = "(|(mail=%s)(shadowAddress=%s))"
DOMAIN = "(|(domainName=%s)(&(enabledService=domainalias)(domainAliasName=%s)))"
USERS_OF_DOMAIN = "ou=Users,domainName=%d,{base}"

# Keys: a domain for *_domains and transport_maps_domain; a full address otherwise (the
# %d maps need one, Postfix skips the query for a key without "@"). Multiple values come
# back comma-joined, as Postfix sees them.
MAPS: dict[str, LdapMap] = {
    # Older installer's filter (no current sample at hand).
    "virtual_mailbox_domains": LdapMap(
        f"(&(objectClass=mailDomain)(accountStatus=active)(enabledService=mail)"
        f"(!(domainBackupMX=yes)){DOMAIN})",
        "domainName",
        scope="one",
    ),
    "relay_domains": LdapMap(
        f"(&(objectClass=mailDomain)(accountStatus=active)(enabledService=mail)"
        f"(domainBackupMX=yes){DOMAIN})",
        "domainName",
        scope="one",
    ),
    # Current sample, verbatim.
    "virtual_mailbox_maps": LdapMap(
        f"(&(objectClass=mailUser){ADDRESS}{ACTIVE_ACCOUNT}"
        "(enabledService=mail)(enabledService=deliver))",
        "homeDirectory",
        result_format="%s/Maildir/",
    ),
    # Older installer's filter plus the domainStatus test.
    "virtual_alias_maps": LdapMap(
        f"(&{ADDRESS}{ACTIVE_ACCOUNT}(enabledService=mail)(enabledService=deliver)"
        "(|(objectClass=mailAlias)(&(objectClass=mailUser)(enabledService=forward))))",
        "mailForwardingAddress",
    ),
    # Current samples, verbatim (this one and the next).
    "virtual_group_maps": LdapMap(
        f"(&{ACTIVE_ACCOUNT}(enabledService=mail)(enabledService=deliver)"
        "(|(&(|(memberOfGroup=%s)(shadowAddress=%s))"
        "(|(objectClass=mailUser)(objectClass=mailExternalUser)))"
        "(&(memberOfGroup=%s)(!(shadowAddress=%s))"
        "(|(objectClass=mailAlias)(objectClass=mailList)))"
        f"(&(objectClass=mailList)(enabledService=mlmmj){ADDRESS})))",
        "mail",
    ),
    "virtual_group_members_maps": LdapMap(
        f"(&(objectClass=mailUser){ACTIVE_ACCOUNT}(enabledService=mail)"
        f"(enabledService=deliver){ADDRESS})",
        "mail",
    ),
    # Older installer's filter plus the domainStatus test.
    "catchall_maps": LdapMap(
        f"(&(objectClass=mailUser){ACTIVE_ACCOUNT}(|(mail=@%d)(shadowAddress=@%d)))",
        "mailForwardingAddress",
    ),
    # Model doc 2.3: users and mlmmj lists, searched in the domain's subtree.
    "transport_maps_user": LdapMap(
        "(&(|(objectClass=mailUser)(&(objectClass=mailList)(enabledService=mlmmj)))"
        f"{ADDRESS}{ACTIVE_ACCOUNT}(enabledService=mail))",
        "mtaTransport",
        search_base="domainName=%d,{base}",
    ),
    # Older installer's filter.
    "transport_maps_domain": LdapMap(
        "(&(objectClass=mailDomain)(accountStatus=active)(enabledService=mail)"
        "(|(domainName=%s)(domainAliasName=%s)))",
        "mtaTransport",
        scope="one",
    ),
    # Current samples for the user BCC maps, verbatim; domain ones from the older installer.
    "sender_bcc_maps_user": LdapMap(
        f"(&{ADDRESS}(objectClass=mailUser){ACTIVE_ACCOUNT}"
        "(enabledService=mail)(enabledService=senderbcc))",
        "userSenderBccAddress",
        search_base=USERS_OF_DOMAIN,
        scope="one",
    ),
    "sender_bcc_maps_domain": LdapMap(
        "(&(objectClass=mailDomain)(accountStatus=active)(enabledService=mail)"
        "(enabledService=senderbcc)(|(domainName=%d)(domainAliasName=%d)))",
        "domainSenderBccAddress",
        scope="one",
    ),
    "recipient_bcc_maps_user": LdapMap(
        f"(&{ADDRESS}(objectClass=mailUser){ACTIVE_ACCOUNT}"
        "(enabledService=mail)(enabledService=recipientbcc))",
        "userRecipientBccAddress",
        search_base=USERS_OF_DOMAIN,
        scope="one",
    ),
    "recipient_bcc_maps_domain": LdapMap(
        "(&(objectClass=mailDomain)(accountStatus=active)(enabledService=mail)"
        "(enabledService=recipientbcc)(|(domainName=%d)(domainAliasName=%d)))",
        "domainRecipientBccAddress",
        scope="one",
    ),
    # Current sample, verbatim.
    "sender_login_maps": LdapMap(
        f"(&(objectClass=mailUser){ACTIVE_ACCOUNT}(enabledService=mail)"
        f"(enabledService=smtp){ADDRESS})",
        "mail",
    ),
    # Model doc 2.3 only (senderRelayHost of the user, then of the domain): reconstructed.
    "sender_dependent_relayhost_maps_user": LdapMap(
        f"(&(objectClass=mailUser){ACTIVE_ACCOUNT}{ADDRESS})",
        "senderRelayHost",
    ),
    "sender_dependent_relayhost_maps_domain": LdapMap(
        "(&(objectClass=mailDomain)(accountStatus=active)(|(domainName=%d)(domainAliasName=%d)))",
        "senderRelayHost",
        scope="one",
    ),
}
