"""What the jobs machinery says about a job row: the owner's name, the public view."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from typing import Any

from ..sqlstore import iso_utc


def process_owner() -> str:
    """Return this process's name in the owner column: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """Return what GET /api/jobs/<id> shows of a job row."""

    def stamp(value: datetime | None) -> str | None:
        return None if value is None else iso_utc(value)

    return {
        "id": row["id"],
        "kind": row["kind"],
        "domain": row["domain"],
        "state": row["state"],
        "progress": row["progress"],
        "total": row["total"],
        "error": row["error"],
        "result": json.loads(row["result"]) if row["result"] else None,
        "attempts": row["attempts"],
        "created_by": row["created_by"],
        "created": stamp(row["created"]),
        "started": stamp(row["started"]),
        "finished": stamp(row["finished"]),
        "heartbeat": stamp(row["heartbeat"]),
    }
