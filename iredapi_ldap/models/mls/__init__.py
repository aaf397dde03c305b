"""Subscribable (mlmmj) lists: the functions `api/` and `services/` call."""

from .ml import add_counted
from .ml import add_list_entry
from .ml import archive_lists
from .ml import delete_list_entry
from .ml import domain_list_addresses
from .ml import fill_list_directory
from .ml import get_list
from .ml import list_lists
from .ml import new_list_entry
from .ml import plan_list
from .ml import update_list

__all__ = [
    "add_counted",
    "add_list_entry",
    "archive_lists",
    "delete_list_entry",
    "domain_list_addresses",
    "fill_list_directory",
    "get_list",
    "list_lists",
    "new_list_entry",
    "plan_list",
    "update_list",
]
