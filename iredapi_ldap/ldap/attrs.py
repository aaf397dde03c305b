"""Names from the iRedMail directory layout: RDNs, containers, classes, services."""

OU_DOMAINS = "domains"
OU_ADMINS = "domainAdmins"
OU_USERS = "Users"
OU_GROUPS = "Groups"
OU_ALIASES = "Aliases"
OU_EXTERNALS = "Externals"
DOMAIN_OUS = (OU_USERS, OU_GROUPS, OU_ALIASES, OU_EXTERNALS)

RDN_DOMAIN = "domainName"
RDN_USER = "mail"
RDN_EXTERNAL = "memberOfGroup"

OC_DOMAIN = "mailDomain"
OC_ADMIN = "mailAdmin"
OC_USER = "mailUser"
OC_ALIAS = "mailAlias"
OC_LIST = "mailList"
OC_EXTERNAL = "mailExternalUser"
OC_OU = "organizationalUnit"
USER_OBJECT_CLASSES = ("inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount")
# Entries inside a domain whose accounts Postfix/Dovecot filter on domainStatus.
DOMAIN_STATUS_CLASSES = (OC_USER, OC_LIST, OC_ALIAS, OC_EXTERNAL)

STATUS_ACTIVE = "active"
STATUS_DISABLED = "disabled"

# Domain services iRedAdmin knows (attrs.py DOMAIN_ENABLED_SERVICE).
DOMAIN_SERVICES = ("mail", "domainalias", "senderbcc", "recipientbcc", "self-service")

# Profile tabs and self-service pages an admin can hide (accountSetting keys).
DISABLED_DOMAIN_PROFILES = (
    "bcc", "relay", "catchall", "aliases", "throttle", "greylisting",
    "wblist", "spampolicy", "backupmx", "password_policies", "advanced",
)  # fmt: skip
DISABLED_USER_PROFILES = (
    "bcc", "forwarding", "relay", "aliases", "throttle", "greylisting",
    "wblist", "spampolicy",
)  # fmt: skip
DISABLED_USER_PREFERENCES = (
    "personal_info", "forwarding", "wblist", "quarantine", "rcvd_mails", "spampolicy",
)  # fmt: skip

# accountSetting keys whose value is an integer (-1 = none allowed, 0 = unlimited).
INTEGER_SETTINGS = (
    "defaultQuota", "maxUserQuota", "minPasswordLength", "maxPasswordLength",
    "numberOfUsers", "numberOfAliases", "numberOfLists", "create_max_domains",
    "create_max_quota", "create_max_users", "create_max_aliases", "create_max_lists",
)  # fmt: skip
# accountSetting keys stored as one value per item.
MULTI_SETTINGS = (
    "disabledDomainProfile", "disabledUserProfile", "disabledUserPreference",
    "disabledMailService",
)  # fmt: skip
