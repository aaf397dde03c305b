"""The only package that imports ldap3: connections, DNs, filters, entries, errors."""

from .connection import get_directory
from .connection import get_pool
from .connection import host_state_dir
from .connection import init_app
from .connection import release_directory
from .directory import Directory
from .directory import Entry
from .dn import DNs
from .dn import domain_of
from .errors import StaleValue
from .errors import retry_on_stale

__all__ = [
    "DNs",
    "Directory",
    "Entry",
    "StaleValue",
    "domain_of",
    "get_directory",
    "get_pool",
    "host_state_dir",
    "retry_on_stale",
    "init_app",
    "release_directory",
]
