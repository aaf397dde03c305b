"""Use cases of subscribable (mlmmj) lists that span the directory and the mail host."""

from __future__ import annotations

from ..ldap import Directory
from ..mailhost import Mlmmj
from ..models import mls


def delete_list(directory: Directory, mlmmj: Mlmmj, mail: str, keep_archive: bool) -> str | None:
    """Delete the entry and references to the list, then archive or remove its directory.

    Returns the directory the list was archived to (None when removed or absent).
    """
    mls.delete_list_entry(directory, mail)
    if keep_archive:
        archived = mlmmj.archive(mail)
        return str(archived) if archived else None
    mlmmj.discard(mail)
    return None
