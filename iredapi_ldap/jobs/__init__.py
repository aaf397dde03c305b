"""Background jobs: bulk work that answers 202 at once and survives a worker restart.

A job is a row of the SQL store's `iredapi_jobs` table. The process that accepts
it runs it in its runner thread, writing progress and a heartbeat; a runner of
any process claims (one conditional UPDATE) pending jobs and running ones whose
heartbeat is older than [jobs] stale_seconds, and runs them again: the work is
idempotent. See docs/performance.md.
"""

from __future__ import annotations

from . import work
from .runner import HANDLERS
from .runner import JobContext
from .runner import Runner
from .runner import get_runner
from .store import JobStore
from .store import process_owner
from .store import public_view
from .tables import DONE
from .tables import FAILED
from .tables import PENDING
from .tables import RUNNING
from .tables import jobs

__all__ = [
    "DONE",
    "FAILED",
    "HANDLERS",
    "PENDING",
    "RUNNING",
    "JobContext",
    "JobStore",
    "Runner",
    "get_runner",
    "jobs",
    "process_owner",
    "public_view",
    "work",
]
