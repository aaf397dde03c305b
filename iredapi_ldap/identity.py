"""Who is calling: the admin a request acts as, its role and restrictions (a leaf module).

The models build a CurrentAdmin from a directory entry, auth.py keeps it in the session
cookie, the policies check it. It knows nothing of Flask or flask-login: it offers the
four members flask-login asks of a user object (is_authenticated, is_active,
is_anonymous, get_id) itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

SUPER, STANDARD, LIMITED = "super", "standard", "limited"


class CurrentAdmin:
    """The authenticated admin of this request, with its role and restrictions."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    # Equal by id, as flask-login's UserMixin; hashable by identity, as it too.
    __hash__ = object.__hash__

    def __init__(
        self,
        mail: str,
        dn: str,
        kind: str,
        is_global: bool,
        *,
        read_only: bool = False,
        can_create_domains: bool = False,
        locked: bool = False,
        password_expired: bool = False,
        restricted_ips: Iterable[str] = (),
        single_session: bool = False,
        session_epoch: int = 0,
        password_digest: str = "",
        session_id: str = "",
        domains: Iterable[str] | None = None,
        checked: float | None = None,
    ) -> None:
        self.mail = mail
        self.dn = dn
        self.kind = kind
        self.is_global = is_global
        self.read_only = read_only
        self.can_create_domains = can_create_domains and not read_only
        self.locked = locked
        self.password_expired = password_expired
        self.restricted_ips = list(restricted_ips)
        self.single_session = single_session
        self.session_epoch = session_epoch
        self.password_digest = password_digest
        self.session_id = session_id
        self.domains = None if domains is None else [d.lower() for d in domains]
        self.checked = time.time() if checked is None else checked

    @property
    def is_super(self) -> bool:
        """Tell whether this admin may do everything (a global, non-limited admin)."""
        return self.is_global and not self.read_only

    @property
    def type(self) -> str:
        """Return the Rackspace admin type: super, standard or limited."""
        if self.read_only:
            return LIMITED
        return SUPER if self.is_global else STANDARD

    def manages(self, domain: str) -> bool | None:
        """Tell whether this admin may see the domain's objects; None when its domains are unknown.

        The domains are unknown when there are too many to cache: the caller then asks the
        directory (policies.py does).
        """
        if self.is_global:
            return True
        if self.domains is None:
            return None
        return domain.lower() in self.domains

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return self.mail

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CurrentAdmin):
            return self.get_id() == other.get_id()
        return NotImplemented
