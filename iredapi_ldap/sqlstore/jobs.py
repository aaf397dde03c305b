"""Reads and writes of the jobs table; every state change is one atomic UPDATE."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .engine import SqlState
from .errors import translate_errors
from .tables import jobs
from .tables import utc_now

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATES = (PENDING, RUNNING, DONE, FAILED)
UNFINISHED = (PENDING, RUNNING)


class Jobs:
    """The jobs table of one app's SQL store."""

    def __init__(self, state: SqlState) -> None:
        self._state = state

    def create(
        self,
        kind: str,
        domain: str,
        params: dict[str, Any],
        created_by: str,
        total: int | None = None,
        owner: str | None = None,
    ) -> str:
        """Insert a job, pending, or already running for `owner`; return its id."""
        job_id = uuid.uuid4().hex
        now = utc_now()
        row = {
            "id": job_id, "kind": kind, "domain": domain, "params": json.dumps(params),
            "state": RUNNING if owner else PENDING, "progress": 0, "total": total,
            "owner": owner, "heartbeat": now if owner else None, "attempts": 1 if owner else 0,
            "created_by": created_by, "created": now, "started": now if owner else None,
        }  # fmt: skip
        with translate_errors(), self._state.engine().begin() as conn:
            conn.execute(sa.insert(jobs), [row])
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return one job row, or None."""
        with translate_errors(), self._state.engine().connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return dict(row) if row else None

    def page(
        self, offset: int, limit: int, created_by: str | None = None, state: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Return one page of jobs, newest first, and how many match."""
        where = sa.and_(
            sa.true(),
            *([jobs.c.created_by == created_by] if created_by is not None else []),
            *([jobs.c.state == state] if state else []),
        )
        query = sa.select(jobs).where(where).order_by(jobs.c.created.desc(), jobs.c.id)
        count = sa.select(sa.func.count()).select_from(jobs).where(where)
        with translate_errors(), self._state.engine().connect() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(query.offset(offset).limit(limit)).mappings().all()
        return [dict(row) for row in rows], total

    def has_unfinished(self) -> bool:
        """Tell whether any job is pending or running (here or in another process)."""
        query = sa.select(jobs.c.id).where(jobs.c.state.in_(UNFINISHED)).limit(1)
        with translate_errors(), self._state.engine().connect() as conn:
            return conn.execute(query).first() is not None

    def claimable(self, stale_seconds: int) -> list[str]:
        """Return ids of pending jobs and of running ones whose owner stopped beating."""
        stale = utc_now() - timedelta(seconds=stale_seconds)
        query = (
            sa.select(jobs.c.id)
            .where(_claimable(stale))
            .order_by(jobs.c.created, jobs.c.id)
            .limit(20)
        )
        with translate_errors(), self._state.engine().connect() as conn:
            return [row.id for row in conn.execute(query)]

    def claim(self, job_id: str, owner: str, stale_seconds: int) -> bool:
        """Take a job for `owner` with one conditional UPDATE; True if this caller won."""
        now = utc_now()
        stale = now - timedelta(seconds=stale_seconds)
        update = (
            sa.update(jobs)
            .where(jobs.c.id == job_id, _claimable(stale))
            .values(
                state=RUNNING,
                owner=owner,
                heartbeat=now,
                attempts=jobs.c.attempts + 1,
                started=sa.func.coalesce(jobs.c.started, now),
            )  # fmt: skip
        )
        with translate_errors(), self._state.engine().begin() as conn:
            return conn.execute(update).rowcount == 1

    def beat(self, job_id: str, owner: str, progress: int, total: int | None) -> bool:
        """Record progress and that the owner is alive; False if the job was taken away."""
        values: dict[str, Any] = {"progress": progress, "heartbeat": utc_now()}
        if total is not None:
            values["total"] = total
        return self._update_held(job_id, owner, values)

    def finish(
        self,
        job_id: str,
        owner: str,
        progress: int,
        total: int | None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Mark a job done (or failed with an error) if `owner` still holds it."""
        now = utc_now()
        values: dict[str, Any] = {
            "state": FAILED if error else DONE, "progress": progress, "heartbeat": now,
            "finished": now, "error": error,
            "result": json.dumps(result) if result is not None else None,
        }  # fmt: skip
        if total is not None:
            values["total"] = total
        return self._update_held(job_id, owner, values)

    def _update_held(self, job_id: str, owner: str, values: dict[str, Any]) -> bool:
        """Write values to a job that `owner` still runs; False if it was taken away."""
        update = sa.update(jobs).where(
            jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.state == RUNNING
        )
        with translate_errors(), self._state.engine().begin() as conn:
            return conn.execute(update.values(**values)).rowcount == 1


def _claimable(stale: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        jobs.c.state == PENDING,
        sa.and_(jobs.c.state == RUNNING, jobs.c.heartbeat < stale),
    )
