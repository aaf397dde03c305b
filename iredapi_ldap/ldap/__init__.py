"""The only package that imports ldap3: connections, DNs, filters, entries, errors."""

from .connection import get_directory, get_pool, init_app
from .directory import Directory, Entry
from .dn import DNs, domain_of
from .errors import StaleValue

__all__ = [
    "DNs",
    "Directory",
    "Entry",
    "StaleValue",
    "domain_of",
    "get_directory",
    "get_pool",
    "init_app",
]
