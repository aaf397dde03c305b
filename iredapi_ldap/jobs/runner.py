"""One runner thread per process and app: claims jobs, runs them, beats, resumes orphans."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import TypeVar

from flask import Flask
from flask import current_app

from .. import errors
from ..ldap import Directory
from ..ldap import get_directory
from ..sqlstore import get_store
from ..sqlstore.jobs import Jobs
from .store import process_owner

log = logging.getLogger(__name__)

EXTENSION_KEY = "iredapi_ldap_jobs"
# Items handed to one worker thread at a time.
CHUNK = 100

T = TypeVar("T")
Handler = Callable[["JobContext"], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


class JobLost(Exception):
    """Another process took the job over (this one was presumed dead): stop quietly."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that performs jobs of one kind."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


@dataclass
class JobContext:
    """What a handler gets: the app, the job row, progress reporting, parallel LDAP work."""

    app: Flask
    store: Jobs
    row: dict[str, Any]
    owner: str
    secret: str | None = None
    on_progress: Callable[[int, int | None], None] | None = None
    progress: int = 0
    total: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_beat: float = 0.0
    _reported: bool = False
    lost: bool = False

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.row["id"]

    @property
    def row_params(self) -> dict[str, Any]:
        """The job's parameters (JSON in the table)."""
        return json.loads(self.row["params"])

    @property
    def resumed(self) -> bool:
        """Tell whether an earlier run of this job was interrupted."""
        return self.row["attempts"] > 1

    @property
    def config(self) -> dict[str, Any]:
        """The app's configuration."""
        return self.app.config

    def report(self, done: int, total: int) -> None:
        """Take a service's progress (its `progress` callback); write it and the heartbeat.

        The first report declares the total (and what an earlier run did) and is
        written at once; later ones now and then. Reports from parallel writers
        may arrive out of order, so the count never goes back.
        """
        with self._lock:
            first, self._reported = not self._reported, True
            self.total = total
            self.progress = done if first else max(self.progress, done)
        self._beat(force=first)

    def _beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < float(self.config["JOBS_HEARTBEAT_SECONDS"]):
            return
        self._last_beat = now
        if self.on_progress is not None:
            self.on_progress(self.progress, self.total)
        try:
            alive = self.store.beat(self.job_id, self.owner, self.progress, self.total)
        except errors.ApiError as exc:
            # Keep working: the work is idempotent, a takeover only repeats some of it.
            log.warning("Job %s: progress not recorded: %s", self.job_id, exc.detail)
            return
        if not alive:
            self.lost = True
            raise JobLost()

    def each(self, items: Iterable[T], action: Callable[[Directory, T], Any]) -> None:
        """Apply `action(directory, item)` to every item on [jobs] parallelism connections.

        The action reports its own progress (see `report`); a lost job stops at the next item.
        """
        chunks: list[list[T]] = []
        for item in items:
            if not chunks or len(chunks[-1]) >= CHUNK:
                chunks.append([])
            chunks[-1].append(item)
        threads = max(1, int(self.config["JOBS_PARALLELISM"]))

        def run(chunk: list[T]) -> None:
            with self.app.app_context():
                directory = get_directory()
                for item in chunk:
                    if self.lost:
                        raise JobLost()
                    action(directory, item)

        if threads == 1 or len(chunks) <= 1:
            for chunk in chunks:
                run(chunk)
            return
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="iredapi-job") as pool:
            futures = [pool.submit(run, chunk) for chunk in chunks]
            done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                self.lost = True  # stop the other threads at their next item
                for future in futures:
                    future.cancel()
                raise failed[0].exception()  # type: ignore[misc]


class Runner:
    """The jobs machinery of one app in this process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._kicked = False
        self._checked_pid: int | None = None
        self._local: list[str] = []
        self._secrets: dict[str, str] = {}

    @property
    def store(self) -> Jobs:
        """The jobs table of this app's SQL store."""
        return get_store(self.app).jobs

    def _after_fork(self) -> None:
        # A thread, a queue or a secret of the parent is not this process's.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._wake = threading.Event()
            self._thread = None
            self._local, self._secrets = [], {}
            self._checked_pid = None

    def submit(
        self,
        kind: str,
        domain: str,
        params: dict[str, Any],
        created_by: str,
        total: int | None = None,
        secret: str | None = None,
        start: bool = True,
    ) -> str:
        """Record a job and (by default) start running it in this process; return its id."""
        self._after_fork()
        if kind not in HANDLERS:
            raise ValueError(f"unknown job kind {kind!r}")
        owner = process_owner()
        job_id = self.store.create(kind, domain, params, created_by, total, owner=owner)
        if secret is not None:
            self._secrets[job_id] = secret
        if start:
            with self._lock:
                self._local.append(job_id)
            self.ensure_started()
        return job_id

    def check_once(self) -> None:
        """Start the runner in a new process if unfinished jobs exist (orphans to resume)."""
        self._after_fork()
        if self._checked_pid == os.getpid():
            return
        self._checked_pid = os.getpid()
        try:
            if self.store.has_unfinished():
                self.ensure_started()
        except errors.ApiError as exc:
            log.warning("Jobs: cannot look for unfinished jobs: %s", exc.detail)

    def ensure_started(self) -> None:
        """Make sure the runner thread is alive, and wake it."""
        self._after_fork()
        with self._lock:
            self._kicked = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="iredapi-jobs", daemon=True)
                self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        poll = max(0.05, float(self.app.config["JOBS_POLL_SECONDS"]))
        while True:
            try:
                ran = self._run_one()
                unfinished = ran or self.store.has_unfinished()
            except errors.ApiError as exc:
                log.warning("Jobs: store unavailable: %s", exc.detail)
                unfinished = True
                ran = False
            with self._lock:
                if not unfinished and not self._kicked and not self._local:
                    self._thread = None
                    return
                self._kicked = False
            if not ran:
                self._wake.wait(poll)
                self._wake.clear()

    def _run_one(self) -> bool:
        """Run a job submitted here, or claim a pending/orphaned one; True if one ran."""
        with self._lock:
            local = self._local.pop(0) if self._local else None
        owner = process_owner()
        if local is not None:
            self.run(local, owner)
            return True
        stale = int(self.app.config["JOBS_STALE_SECONDS"])
        for job_id in self.store.claimable(stale):
            if self.store.claim(job_id, owner, stale):
                self.run(job_id, owner)
                return True
        return False

    def run(
        self,
        job_id: str,
        owner: str,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> dict[str, Any] | None:
        """Perform a job this process holds; record done/failed; return its final row."""
        store = self.store
        row = store.get(job_id)
        if row is None or row["owner"] != owner:
            return row
        context = JobContext(
            self.app, store, row, owner, secret=self._secrets.pop(job_id, None),
            on_progress=on_progress, progress=row["progress"], total=row["total"],
        )  # fmt: skip
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = HANDLERS[row["kind"]](context)
        except JobLost:
            log.warning("Job %s was taken over by another process.", job_id)
            return store.get(job_id)
        except errors.ApiError as exc:
            error = f"{exc.code}: {exc.detail}"
        except Exception:
            log.exception("Job %s (%s) failed", job_id, row["kind"])
            error = "INTERNAL_ERROR: the job failed; see the server log."
        if on_progress is not None:
            on_progress(context.progress, context.total)
        store.finish(job_id, owner, context.progress, context.total, result, error)
        return store.get(job_id)


def get_runner(app: Flask) -> Runner:
    """Return the app's runner, created on first use."""
    # The runner thread outlives the request: keep the app itself, never current_app's proxy.
    app = app._get_current_object() if hasattr(app, "_get_current_object") else app
    runner = app.extensions.get(EXTENSION_KEY)
    if runner is None:
        runner = app.extensions.setdefault(EXTENSION_KEY, Runner(app))
    return runner


def resume_orphans() -> None:
    """before_request: once per process, resume the jobs a dead worker left unfinished."""
    get_runner(current_app).check_once()
