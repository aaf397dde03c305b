"""Background jobs: GET /api/jobs and /api/jobs/<id> (progress of 202 answers)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user

from ..auth import LOGIN
from ..auth import requires
from ..errors import NotFound
from ..jobs import DONE
from ..jobs import FAILED
from ..jobs import get_runner
from ..jobs import public_view
from ..schemas.jobs import JobEnvelopeSchema
from ..schemas.jobs import JobListArgsSchema
from ..schemas.jobs import JobPageSchema
from ..sqlstore import get_store
from ..sqlstore.jobs import Jobs
from . import ApiBlueprint
from .paging import Page
from .paging import window

blp = ApiBlueprint("jobs", __name__, description="Background jobs (bulk updates, domain deletes)")

ACCEPTED = "More accounts than [jobs] sync_limit: the work runs as a job; follow /api/jobs/<id>."


def _store() -> Jobs:
    return get_store().jobs


@blp.route("/jobs/<job_id>", methods=["GET"])
@blp.response(200, JobEnvelopeSchema)
@requires(LOGIN)
def get_job(job_id):
    """Show a job's state and progress; admins see the jobs they started, global admins all."""
    row = _store().get(job_id) if len(job_id) <= 32 else None
    if row is None or not (current_user.is_global or row["created_by"] == current_user.mail):
        raise NotFound(f"No such job: {job_id}.")
    if row["state"] not in (DONE, FAILED):
        # Whoever polls keeps a runner alive here, to take over if the owner died.
        get_runner(current_app).ensure_started()
    return public_view(row)


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobListArgsSchema, location="query")
@blp.response(200, JobPageSchema)
@requires(LOGIN)
def list_jobs(args):
    """List jobs, newest first; admins see the jobs they started, global admins all."""
    offset, limit = window(args)
    created_by = None if current_user.is_global else current_user.mail
    rows, total = _store().page(offset, limit, created_by=created_by, state=args.get("state"))
    return Page([public_view(row) for row in rows], offset, limit, total)


def accepted(job_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Answer 202 with the new job and where to follow it."""
    return public_view(_store().get(job_id)), 202, {"Location": f"/api/jobs/{job_id}"}
