"""Use cases: one function each for what takes several model calls or backends.

A view (`api/`) and a job (`jobs/work.py`) call the same function with plain
values; a use case that writes many entries also takes a progress callback and
an `each` that spreads the writes (see `progress.py`). Services sit between the
request pipeline and `models/`: they import `models/` and the backends, never
Flask's request, `api/`, `auth` or `jobs/`.
"""

from . import admins
from . import domains
from . import mailhost
from . import mls
from . import users

__all__ = ["admins", "domains", "mailhost", "mls", "users"]
