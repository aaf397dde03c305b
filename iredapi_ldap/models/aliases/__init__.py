"""Mail aliases: the functions `api/` calls (the module holds the rules)."""

from .alias import change_alias_email
from .alias import create_alias
from .alias import delete_alias
from .alias import get_alias
from .alias import list_aliases
from .alias import update_alias

__all__ = [
    "change_alias_email",
    "create_alias",
    "delete_alias",
    "get_alias",
    "list_aliases",
    "update_alias",
]
