"""The jobs table: long bulk work that outlives a request and a worker."""

from __future__ import annotations

import sqlalchemy as sa

from ..sqlstore import TABLE_OPTIONS
from ..sqlstore import UTC_TIME
from ..sqlstore import metadata

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATES = (PENDING, RUNNING, DONE, FAILED)
UNFINISHED = (PENDING, RUNNING)

jobs = sa.Table(
    "iredapi_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    # JSON; never a secret (a new password lives only in the submitting process).
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("progress", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("total", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("result", sa.Text(), nullable=True),
    # host:pid of the process running it; heartbeat says it is still alive.
    sa.Column("owner", sa.String(255), nullable=True),
    sa.Column("heartbeat", UTC_TIME, nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
    sa.Column("created", UTC_TIME, nullable=False),
    sa.Column("started", UTC_TIME, nullable=True),
    sa.Column("finished", UTC_TIME, nullable=True),
    sa.Index("idx_iredapi_jobs_state", "state"),
    sa.Index("idx_iredapi_jobs_created", "created"),
    **TABLE_OPTIONS,
)
