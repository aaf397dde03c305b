"""Use cases of subscribable (mlmmj) lists that span the directory and the mail host."""

from __future__ import annotations

from typing import Any

from ..ldap import Directory
from ..mailhost import Mlmmj
from ..models import mls


def create_list(
    directory: Directory, mlmmj: Mlmmj, mail: str, values: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """Create the list directory (settings, subscribers), then the entry; undo both on failure.

    The directory is complete before the entry is added, so Postfix never
    delivers to a half-made list; a failed add removes the directory and
    releases the counter.
    """
    new = mls.plan_list(directory, mail, values)
    mlmmj.check()  # before anything is reserved or written
    attributes = mls.new_list_entry(directory, new, config)

    def create_both() -> None:
        created = False
        try:
            mlmmj.create(mail)
            created = True
            mls.fill_list_directory(mlmmj, new)
            mls.add_list_entry(directory, new, attributes)
        except BaseException:
            if created:
                mlmmj.discard(mail)
            raise

    mls.add_counted(directory, new, create_both)
    return mls.get_list(directory, mlmmj, mail, "subscribers" in values)


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
