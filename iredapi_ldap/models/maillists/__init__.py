"""Legacy LDAP mailing lists: the functions `api/` calls (the modules hold the rules)."""

from .maillist import create_list
from .maillist import delete_list
from .maillist import get_list
from .maillist import list_lists
from .maillist import update_list

__all__ = [
    "create_list",
    "delete_list",
    "get_list",
    "list_lists",
    "update_list",
]
