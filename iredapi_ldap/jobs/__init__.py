"""Background jobs: bulk work that answers 202 at once and survives a worker restart.

A job is a row of the SQL store's `iredapi_jobs` table (sqlstore/jobs.py reads and writes it). The process that accepts
it runs it in its runner thread, writing progress and a heartbeat; a runner of
any process claims (one conditional UPDATE) pending jobs and running ones whose
heartbeat is older than [jobs] stale_seconds, and runs them again: the work is
idempotent. See docs/performance.md.
"""

from __future__ import annotations

from ..sqlstore.jobs import DONE
from ..sqlstore.jobs import FAILED
from ..sqlstore.jobs import PENDING
from ..sqlstore.jobs import RUNNING
from . import work
from .runner import HANDLERS
from .runner import JobContext
from .runner import Runner
from .runner import get_runner
from .runner import resume_orphans
from .store import process_owner
from .store import public_view

__all__ = [
    "DONE",
    "FAILED",
    "HANDLERS",
    "PENDING",
    "RUNNING",
    "JobContext",
    "Runner",
    "get_runner",
    "process_owner",
    "public_view",
    "resume_orphans",
    "work",
]
