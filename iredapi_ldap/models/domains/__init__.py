"""Mail domains: the functions `api/` and `services/` call (the modules hold the rules)."""

from .admins import get_domain_admins
from .admins import require_change
from .admins import update_domain_admins
from .alias_domains import check_alias_domains
from .alias_domains import sync_alias_addresses
from .catchall import check_catchall
from .catchall import set_catchall
from .domain import create_domain
from .domain import get_domain
from .domain import get_domain_entry
from .domain import list_domains
from .domain import modify_domain
from .domain import more_entries_than
from .domain import recount_for_limits
from .domain import set_accounts_domain_status
from .domain import subtree_dns

__all__ = [
    "check_alias_domains",
    "check_catchall",
    "create_domain",
    "get_domain",
    "get_domain_admins",
    "get_domain_entry",
    "list_domains",
    "modify_domain",
    "more_entries_than",
    "recount_for_limits",
    "require_change",
    "set_accounts_domain_status",
    "set_catchall",
    "subtree_dns",
    "sync_alias_addresses",
    "update_domain_admins",
]
