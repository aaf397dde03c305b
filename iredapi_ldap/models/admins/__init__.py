"""Admin accounts: the functions `api/` and `services/` call (the modules hold the rules)."""

from .login import managed_domains
from .profile import add_admin_entry
from .profile import modify_admin
from .profile import remove_admin
from .profile import set_admin_password
from .profile import verify_admin_password
from .roles import add_domain_admin
from .roles import drop_from_all_domains
from .roles import is_admin_account
from .roles import list_managed_domains
from .roles import set_managed_domains
from .tokens import create_token
from .tokens import list_tokens
from .tokens import revoke_token
from .view import get_admin
from .view import list_admins

__all__ = [
    "add_admin_entry",
    "add_domain_admin",
    "create_token",
    "drop_from_all_domains",
    "get_admin",
    "is_admin_account",
    "list_admins",
    "list_managed_domains",
    "list_tokens",
    "managed_domains",
    "modify_admin",
    "remove_admin",
    "revoke_token",
    "set_admin_password",
    "set_managed_domains",
    "verify_admin_password",
]
