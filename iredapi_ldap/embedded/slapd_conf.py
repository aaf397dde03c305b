"""Render the slapd.conf of the embedded server, modelled on iRedMail's."""

from dataclasses import dataclass
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SYSTEM_SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

# Order matters: each file uses attribute types defined by the ones before it.
SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
PROJECT_SCHEMAS = ("amavis-compat", "iredmail-compat")

# iRedMail's index list, restricted to attribute types that exist in the
# loaded schemas; "sub" only where the attribute has a SUBSTR rule.
INDEXES = (
    ("objectClass,entryCSN,entryUUID", "eq"),
    ("uidNumber,gidNumber,uid,memberUid,loginShell", "eq,pres"),
    ("homeDirectory,mailMessageStore", "eq,pres"),
    ("ou,cn,mail,surname,givenName,telephoneNumber,displayName", "eq,pres,sub"),
    ("nisMapName,nisMapEntry", "eq,pres,sub"),
    ("shadowLastChange", "eq,pres"),
    ("member,uniqueMember", "eq,pres"),
    (
        "domainName,mtaTransport,accountStatus,enabledService,disabledService",
        "eq,pres,sub",
    ),
    ("domainAliasName", "eq,pres,sub"),
    ("domainMaxUserNumber", "eq,pres"),
    ("domainAdmin,domainGlobalAdmin,domainBackupMX", "eq,pres,sub"),
    ("domainRecipientBccAddress,domainSenderBccAddress", "eq,pres,sub"),
    ("accessPolicy,hasMember,listAllowedUser,mailingListID", "eq,pres,sub"),
    ("mailForwardingAddress,shadowAddress", "eq,pres,sub"),
    ("backupMailAddress,memberOfGroup", "eq,pres,sub"),
    ("userRecipientBccAddress,userSenderBccAddress", "eq,pres,sub"),
    ("mobile,departmentNumber,employeeNumber", "eq,pres,sub"),
)

# Attribute groups of iRedMail's first five access rules.
SECRET_ATTRS = ("userPassword", "mailForwardingAddress", "employeeNumber")
NAME_ATTRS = ("cn", "sn", "gn", "givenName", "telephoneNumber")
ROUTING_ATTRS = (
    "objectClass",
    "domainName",
    "mtaTransport",
    "enabledService",
    "domainSenderBccAddress",
    "domainRecipientBccAddress",
    "domainBackupMX",
    "domainMaxQuotaSize",
    "domainMaxUserNumber",
    "domainPendingAliasName",
)
ADMIN_ATTRS = ("domainAdmin", "domainGlobalAdmin")
ADDRESS_ATTRS = (
    "mail",
    "accountStatus",
    "domainStatus",
    "userSenderBccAddress",
    "userRecipientBccAddress",
    "mailQuota",
    "backupMailAddress",
    "shadowAddress",
    "memberOfGroup",
    "member",
    "uniqueMember",
    "storageBaseDirectory",
    "homeDirectory",
    "mailMessageStore",
    "mailingListID",
)

ACL_TEMPLATE = """\
# Access rules, in iRedMail's order: slapd stops at the first "access to"
# clause whose target matches, so the attribute rules come first.
# cn=vmail is the read-only service DN, cn=vmailadmin the read-write one.

# 1. Secrets: passwords and forwarding targets.
access to attrs="{secret_attrs}"
    by anonymous auth
    by self write
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users none

# 2. Names and phone numbers, readable by every bound user.
access to attrs="{name_attrs}"
    by anonymous auth
    by self write
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users read

# 3. Routing and service attributes: owners may read, not change them.
access to attrs="{routing_attrs}"
    by anonymous auth
    by self read
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users read

# 4. Admin markers, hidden from other users. (iRedMail also lists the
#    domain BCC attributes here, but rule 3 already matched them.)
access to attrs="{admin_attrs}"
    by anonymous auth
    by self read
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users none

# 5. Addresses, status, quota and storage paths.
access to attrs="{address_attrs}"
    by anonymous auth
    by self read
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users read

# 6-7. The service accounts themselves.
access to dn.exact="{vmail}"
    by anonymous auth
    by self write
    by users none

access to dn.exact="{vmailadmin}"
    by anonymous auth
    by self write
    by users none

# 8. A whole domain subtree (the target regex is deliberately unanchored on
#    the left): its standalone admins may write, its own users may read.
access to dn.regex="domainName=([^,]+),o=domains,{suffix_re}$"
    by anonymous auth
    by self write
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by dn.regex="^mail=[^,]+@$1,o=domainAdmins,{suffix_re}$" write
    by dn.regex="^mail=[^,]+@$1,ou=Users,domainName=$1,o=domains,{suffix_re}$" read
    by users none

# 9. The container of all domains.
access to dn.subtree="o=domains,{suffix}"
    by anonymous auth
    by self write
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users read

# 10. Standalone admins.
access to dn.subtree="o=domainAdmins,{suffix}"
    by anonymous auth
    by self write
    by dn.exact="{vmail}" read
    by dn.exact="{vmailadmin}" write
    by users none

# 11. Any other cn=... account directly below the suffix.
access to dn.regex="^cn=[^,]+,{suffix_re}$"
    by anonymous auth
    by self write
    by users none

# 12. Everything else, e.g. the suffix entry.
access to *
    by anonymous auth
    by self write
    by users read
"""


# Address uniqueness (slapo-unique). Only the entries that receive mail take part:
# users, aliases and lists. A legacy list's external members (mailExternalUser) may
# share addresses between lists, and standalone admins (o=domainAdmins) stay out.
UNIQUE_ATTRS = ("mail", "shadowAddress")
UNIQUE_CLASSES = ("mailUser", "mailAlias", "mailList")
UNIQUE_MODULE = "unique"
# Where slapd-config lists its dynamically loaded modules (Debian's default set-up).
MODULE_LIST_DN = "cn=module{0},cn=config"


def unique_uri(suffix: str) -> str:
    """Return the slapo-unique domain spec (keywords and URI) guarding addresses below suffix.

    slapo-unique searches each written value under its own attribute name only: mail is
    unique among mail values and shadowAddress among shadowAddress values, never one
    against the other (verified on slapd 2.5). `serialize` holds a lock from the check
    to the end of the write; without it two simultaneous adds both pass the check.
    """
    classes = "".join(f"(objectClass={name})" for name in UNIQUE_CLASSES)
    return f"serialize ldap:///o=domains,{suffix}?{','.join(UNIQUE_ATTRS)}?sub?(|{classes})"


def unique_overlay_conf(suffix: str) -> str:
    """Return the slapd.conf lines that load slapo-unique and configure it for suffix."""
    return UNIQUE_CONF_TEMPLATE.format(module=UNIQUE_MODULE, uri=unique_uri(suffix))


def unique_overlay_ldif(suffix: str, database_dn: str, module_dn: str = MODULE_LIST_DN) -> str:
    """Return the ldapmodify LDIF that adds slapo-unique to a cn=config server."""
    return UNIQUE_LDIF_TEMPLATE.format(
        module_dn=module_dn, module=UNIQUE_MODULE, database_dn=database_dn, uri=unique_uri(suffix)
    )


UNIQUE_CONF_TEMPLATE = """\
# Before the first "database" line:
moduleload {module}

# At the end of the mdb database section of the mail suffix:
overlay unique
unique_uri "{uri}"
"""

UNIQUE_LDIF_TEMPLATE = """\
dn: {module_dn}
changetype: modify
add: olcModuleLoad
olcModuleLoad: {module}

dn: olcOverlay=unique,{database_dn}
changetype: add
objectClass: olcOverlayConfig
objectClass: olcUniqueConfig
olcOverlay: unique
olcUniqueURI: {uri}
"""


@dataclass(frozen=True)
class Replication:
    """One provider of a multi-provider pair (or more): its serverID and the others' URIs.

    Each provider pulls the others' changes with syncrepl (refreshAndPersist, plain:
    whole entries, no accesslog) binding as `bind_dn`, which must read everything
    (the rootdn does).
    """

    server_id: int
    peers: tuple[str, ...]
    bind_dn: str
    password: str


# The syncprov module, then the serverID (1-4095), before the first "database" line.
REPLICATION_GLOBAL_TEMPLATE = """\
moduleload syncprov
serverID {server_id}
"""


def syncrepl_settings(rid: int, provider: str, replication: Replication, suffix: str) -> list[str]:
    """Return the settings of one syncrepl stanza (slapd.conf) or olcSyncrepl value (cn=config).

    retry "1 +": every second, for ever (a provider that comes back is caught up within
    a second); timeout/network-timeout bound a hung peer.
    """
    return [
        f"rid={rid:03d}", f"provider={provider}", "bindmethod=simple",
        f'binddn="{replication.bind_dn}"', f'credentials="{replication.password}"',
        f'searchbase="{suffix}"', "scope=sub", "type=refreshAndPersist", 'retry="1 +"',
        "timeout=5", "network-timeout=5",
    ]  # fmt: skip


# After the syncrepl stanzas, at the end of the database section.
PROVIDER_TEMPLATE = """\
multiprovider on
overlay syncprov
syncprov-checkpoint 100 1
syncprov-sessionlog 10000
"""


def replication_conf(replication: Replication, suffix: str) -> tuple[str, str]:
    """Return the slapd.conf lines of one provider: (global section, end of its database)."""
    stanzas = [
        "syncrepl " + "\n    ".join(syncrepl_settings(rid, provider, replication, suffix)) + "\n"
        for rid, provider in enumerate(replication.peers, start=1)
    ]
    return (
        REPLICATION_GLOBAL_TEMPLATE.format(server_id=replication.server_id),
        "".join(stanzas) + PROVIDER_TEMPLATE,
    )


REPLICATION_LDIF_TEMPLATE = """\
dn: {module_dn}
changetype: modify
add: olcModuleLoad
olcModuleLoad: syncprov

dn: cn=config
changetype: modify
replace: olcServerID
olcServerID: {server_id}

dn: olcOverlay=syncprov,{database_dn}
changetype: add
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: syncprov
olcSpCheckpoint: 100 1
olcSpSessionLog: 10000

dn: {database_dn}
changetype: modify
add: olcSyncrepl
{syncrepl}-
replace: olcMultiProvider
olcMultiProvider: TRUE
"""


def replication_ldif(
    replication: Replication, suffix: str, database_dn: str, module_dn: str = MODULE_LIST_DN
) -> str:
    """Return the ldapmodify LDIF that makes a cn=config server one provider of the set."""
    values = "".join(
        "olcSyncrepl: " + " ".join(syncrepl_settings(rid, provider, replication, suffix)) + "\n"
        for rid, provider in enumerate(replication.peers, start=1)
    )
    return REPLICATION_LDIF_TEMPLATE.format(
        module_dn=module_dn, server_id=replication.server_id, database_dn=database_dn,
        syncrepl=values,
    )  # fmt: skip


def regex_escape(text: str) -> str:
    """Escape POSIX extended-regex metacharacters in a DN."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def render_slapd_conf(
    *,
    suffix: str,
    root_dn: str,
    root_password_hash: str,
    vmail_dn: str,
    vmailadmin_dn: str,
    run_dir: Path,
    durable: bool,
    size_limit: int,
    uid: int,
    replication: Replication | None = None,
) -> str:
    """Return the text of slapd.conf for one embedded server."""
    schemas = [SYSTEM_SCHEMA_DIR / f"{name}.schema" for name in SYSTEM_SCHEMAS]
    schemas += [SCHEMA_DIR / f"{name}.schema" for name in PROJECT_SCHEMAS]
    lines = ["# Generated by iredapi-ldap's embedded slapd; create() rewrites it."]
    lines += [f'include "{path}"' for path in schemas]
    lines += [
        "",
        f'modulepath "{MODULE_DIR}"',
        "moduleload back_mdb",
        "# {SSHA512} and friends, needed for simple binds of iRedMail users",
        "# (Dovecot auth_bind).",
        "moduleload pw-sha2",
        "# slapo-unique: one address, one account (see the end of this file).",
        f"moduleload {UNIQUE_MODULE}",
        "",
    ]
    if replication is not None:
        global_lines, database_lines = replication_conf(replication, suffix)
        lines += ["# Multi-provider replication (syncrepl) with the other provider(s).",
                  global_lines]  # fmt: skip
    lines += [
        f'pidfile "{run_dir / "slapd.pid"}"',
        "disallow bind_anon",
        "require LDAPv3",
        "password-hash {SSHA}",
        "# iRedMail sets no limit; a finite one makes the tests prove paging.",
        f"sizelimit {size_limit}",
        "",
        "# The tools of this module talk to slapd over the ldapi:// socket with",
        "# SASL EXTERNAL; only this OS user is mapped to the rootdn.",
        "authz-regexp",
        f'    "^gidNumber=[0-9]+[+]uidNumber={uid},cn=peercred,cn=external,cn=auth$"',
        f'    "{root_dn}"',
        "",
        "# RFC 5805 transactions (Start/End Transaction, 1.3.6.1.1.21.1/.3) are",
        "# built into slapd 2.5 and served by back-mdb with no directive.",
        "database mdb",
        f'suffix "{suffix}"',
        f'rootdn "{root_dn}"',
        f"rootpw {root_password_hash}",
        f'directory "{run_dir / "db"}"',
        "maxsize 2147483648",
    ]
    if not durable:
        lines.append("# Throwaway data: skip fsync, much faster for tests.")
        lines.append("dbnosync")
    lines += [
        "",
        "# Unpaged searches by the service DNs stop at the size limit, paged ones",
        "# (RFC 2696) may return any number of entries in total.",
    ]
    for dn in (vmailadmin_dn, vmail_dn):
        lines.append(
            f'limits dn.exact="{dn}" size.soft={size_limit} size.hard={size_limit}'
            " size.prtotal=unlimited time=unlimited"
        )
    lines.append("")
    lines += [f"index {attrs} {kinds}" for attrs, kinds in INDEXES]
    lines.append("")
    lines.append(
        ACL_TEMPLATE.format(
            vmail=vmail_dn,
            vmailadmin=vmailadmin_dn,
            suffix=suffix,
            suffix_re=regex_escape(suffix),
            secret_attrs=",".join(SECRET_ATTRS),
            name_attrs=",".join(NAME_ATTRS),
            routing_attrs=",".join(ROUTING_ATTRS),
            admin_attrs=",".join(ADMIN_ATTRS),
            address_attrs=",".join(ADDRESS_ATTRS),
        )
    )
    lines += [
        "# One address, one account: no two users, aliases or lists below o=domains may",
        "# hold the same mail, nor the same shadowAddress (constraintViolation otherwise).",
        "overlay unique",
        f'unique_uri "{unique_uri(suffix)}"',
        "",
    ]
    if replication is not None:
        lines += ["# Replication: pull the other providers' changes, offer ours (syncprov).",
                  database_lines]  # fmt: skip
    return "\n".join(lines)
