"""Every DN the API uses is built here, with RDN values escaped per RFC 4514."""

from __future__ import annotations

from string import hexdigits

from ldap3.utils.dn import parse_dn

from . import attrs

_SPECIAL = frozenset('\\"+,;<=>#')


def escape_rdn_value(value: str) -> str:
    """Escape one attribute value for use inside an RDN (RFC 4514)."""
    # '#' is escaped everywhere, not only in front (RFC 4514 allows both): ldap3's
    # parse_dn rejects a bare one. NUL becomes the hex pair RFC 4514 asks for.
    parts = ["\\00" if ch == "\x00" else "\\" + ch if ch in _SPECIAL else ch for ch in value]
    if parts and parts[0] == " ":
        parts[0] = "\\ "
    if parts and parts[-1] == " ":
        parts[-1] = "\\ "
    return "".join(parts)


def unescape_rdn_value(text: str) -> str:
    """Return the value an escaped RDN value stands for (`\\c` pairs and `\\XX` hex)."""
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and all(c in hexdigits for c in pair):
                raw.append(int(pair, 16))
                i += 3
                continue
            raw += text[i + 1].encode()
            i += 2
            continue
        raw += text[i].encode()
        i += 1
    return raw.decode("utf-8", "replace")


def rdn(attribute: str, value: str) -> str:
    """Return `attribute=value` with the value escaped."""
    return f"{attribute}={escape_rdn_value(value)}"


class DNs:
    """DN builders for one directory suffix (iRedMail layout)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.domains = f"o={attrs.OU_DOMAINS},{suffix}"
        self.admins = f"o={attrs.OU_ADMINS},{suffix}"
        self.vmail = f"cn=vmail,{suffix}"
        self.vmailadmin = f"cn=vmailadmin,{suffix}"

    def domain(self, domain: str) -> str:
        """Return the DN of a mail domain."""
        return f"{rdn(attrs.RDN_DOMAIN, domain)},{self.domains}"

    def ou(self, domain: str, ou: str) -> str:
        """Return the DN of one of a domain's containers (Users, Groups, ...)."""
        return f"{rdn('ou', ou)},{self.domain(domain)}"

    def users(self, domain: str) -> str:
        """Return the DN of a domain's ou=Users."""
        return self.ou(domain, attrs.OU_USERS)

    def aliases(self, domain: str) -> str:
        """Return the DN of a domain's ou=Aliases."""
        return self.ou(domain, attrs.OU_ALIASES)

    def groups(self, domain: str) -> str:
        """Return the DN of a domain's ou=Groups."""
        return self.ou(domain, attrs.OU_GROUPS)

    def externals(self, domain: str) -> str:
        """Return the DN of a domain's ou=Externals."""
        return self.ou(domain, attrs.OU_EXTERNALS)

    def user(self, mail: str) -> str:
        """Return the DN of a mail user (or a catch-all `@domain`)."""
        return f"{rdn(attrs.RDN_USER, mail)},{self.users(domain_of(mail))}"

    def alias(self, mail: str) -> str:
        """Return the DN of a mail alias."""
        return f"{rdn(attrs.RDN_USER, mail)},{self.aliases(domain_of(mail))}"

    def maillist(self, mail: str) -> str:
        """Return the DN of a mailing list."""
        return f"{rdn(attrs.RDN_USER, mail)},{self.groups(domain_of(mail))}"

    def external_members(self, list_mail: str) -> str:
        """Return the DN of the entry holding a legacy list's external members."""
        return f"{rdn(attrs.RDN_EXTERNAL, list_mail)},{self.externals(domain_of(list_mail))}"

    def admin(self, mail: str) -> str:
        """Return the DN of a standalone admin."""
        return f"{rdn(attrs.RDN_USER, mail)},{self.admins}"

    def rdn_value(self, dn: str) -> str:
        """Return the unescaped value of a DN's first RDN."""
        # escape=True: slapd returns a '#' inside a value bare, which parse_dn rejects.
        return unescape_rdn_value(parse_dn(dn, escape=True, strip=False)[0][1])


def domain_of(mail: str) -> str:
    """Return the domain part of an address (or of `@domain`)."""
    return mail.rsplit("@", 1)[-1]
