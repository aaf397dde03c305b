"""Mail users: the functions `api/` and `services/` call (the modules hold the rules)."""

from .access import maildir_refusal
from .access import transport_refusal
from .create import create_user
from .listing import bulk_common_changes
from .listing import bulk_remaining_filter
from .listing import bulk_target_dns
from .listing import bulk_user_changes
from .listing import check_bulk_values
from .listing import export_users
from .listing import list_users
from .listing import more_users_than
from .update import update_user
from .user import ADMIN_SERVICE
from .user import delete_user
from .user import domain_mailboxes
from .user import get_user
from .user import mailbox_records
from .user import rename_in_alias_domains
from .user import rename_user
from .user import set_password
from .user import verify_user_password

__all__ = [
    "ADMIN_SERVICE",
    "bulk_common_changes",
    "bulk_remaining_filter",
    "bulk_target_dns",
    "bulk_user_changes",
    "check_bulk_values",
    "create_user",
    "delete_user",
    "domain_mailboxes",
    "export_users",
    "get_user",
    "list_users",
    "mailbox_records",
    "maildir_refusal",
    "more_users_than",
    "rename_in_alias_domains",
    "rename_user",
    "set_password",
    "transport_refusal",
    "update_user",
    "verify_user_password",
]
