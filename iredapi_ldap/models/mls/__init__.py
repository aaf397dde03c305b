"""Subscribable (mlmmj) lists: the functions `api/` and `services/` call."""

from .ml import archive_lists
from .ml import create_list
from .ml import delete_list_entry
from .ml import domain_list_addresses
from .ml import get_list
from .ml import list_lists
from .ml import update_list

__all__ = [
    "archive_lists",
    "create_list",
    "delete_list_entry",
    "domain_list_addresses",
    "get_list",
    "list_lists",
    "update_list",
]
