"""The product's one job runner: huey, embedded by default, a real broker by configuration.

- Default: huey's SQLite storage in ``instance/jobs.sqlite3`` and a worker thread that the app
  starts with its first request (so ``make run``'s single server runs jobs; command-line
  commands such as ``flask db upgrade`` never start one and never take a queued job).
- ``JOB_BROKER_URL=redis://…``: huey's Redis storage, shared by several servers; run workers
  with ``flask --app lms_plugin jobs worker`` (and ``JOB_WORKER=separate`` on the web servers).
- ``JOBS_IMMEDIATE``: huey's immediate mode, a job runs inside the call that enqueues it (tests).

A task is a named function ``task(job_id, **arguments)``, registered with ``task()`` by the
area that owns the work; it runs inside an app context with its own database session and
reports through ``progress``/``finish``/``fail`` on its ``Job`` row, committing each time, so
every write transaction it holds is short.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import update

from lms_plugin.core.base import utcnow
from lms_plugin.extensions import db
from lms_plugin.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

Task = Callable[..., None]
TASKS: dict[str, Task] = {}
HEARTBEAT_KEY = "worker-heartbeat"
HEARTBEAT_SECONDS = 5.0
# A separate worker that has not reported for this long is taken as gone (readiness fails).
HEARTBEAT_STALE_SECONDS = 30.0


def task(name: str) -> Callable[[Task], Task]:
    """Register ``function(job_id, **arguments)`` as the task ``name``."""
    def register(function: Task) -> Task:
        TASKS[name] = function
        return function
    return register


class Runner:
    """One app's queue (huey) and, in the embedded mode, its worker thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mode = app.config["JOB_WORKER"]
        self.huey = self._huey(app)
        self._run_job = self.huey.task(name="run_job")(self._run)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @staticmethod
    def _huey(app: Flask) -> Huey:
        if app.config.get("JOBS_IMMEDIATE"):
            return MemoryHuey("lms", immediate=True)
        url = app.config.get("JOB_BROKER_URL") or ""
        if url.startswith(("redis://", "rediss://", "unix://")):
            return RedisHuey("lms", url=url)
        if url:
            raise ValueError(f"JOB_BROKER_URL: unsupported broker {url.split(':', 1)[0]!r} (use redis://…)")
        return SqliteHuey("lms", filename=app.config.get("JOB_SQLITE_PATH")
                          or str(Path(app.instance_path) / "jobs.sqlite3"))

    # --- enqueueing and running ---------------------------------------------------------------

    def enqueue(self, name: str, job_id: int, **arguments: Any) -> None:
        if name not in TASKS:
            raise KeyError(f"no task named {name!r}")
        self._run_job(name, job_id, arguments)

    def _run(self, name: str, job_id: int, arguments: dict[str, Any]) -> None:
        if has_app_context() and current_app._get_current_object() is self.app:  # type: ignore[attr-defined]
            self._run_here(name, job_id, arguments)
            return
        with self.app.app_context():
            try:
                self._run_here(name, job_id, arguments)
            finally:
                db.session.remove()

    @staticmethod
    def _run_here(name: str, job_id: int, arguments: dict[str, Any]) -> None:
        db.session.execute(update(Job).where(Job.id == job_id).values(status=JobStatus.RUNNING))
        db.session.commit()
        try:
            TASKS[name](job_id, **arguments)
        except Exception as error:
            log.exception("job %s (%s) failed", job_id, name)
            db.session.rollback()
            fail(job_id, [{"problem": f"{type(error).__name__}: {error}"}])

    # --- the embedded worker -------------------------------------------------------------------

    def ensure_worker(self) -> None:
        """Start the worker thread once, in the embedded mode."""
        if self.mode != "thread" or self.app.config.get("JOBS_IMMEDIATE"):
            return
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.work, name="job-worker", daemon=True)
                self._thread.start()

    def work(self, *, poll: float = 0.5, stop_when_idle: bool = False) -> None:
        """Take jobs off the queue and run them, one at a time, until stopped."""
        beat = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now - beat > HEARTBEAT_SECONDS:
                    self.huey.put(HEARTBEAT_KEY, time.time())
                    beat = now
                queued = self.huey.dequeue()
            except Exception:  # the broker is unreachable for now: try again shortly
                log.exception("job queue unreachable")
                self._stop.wait(5)
                continue
            if queued is None:
                if stop_when_idle:
                    return
                self._stop.wait(poll)
                continue
            self.huey.execute(queued)

    def stop(self) -> None:
        self._stop.set()

    # --- readiness -------------------------------------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        """Whether the queue is reachable and someone is taking jobs off it."""
        try:
            self.huey.pending_count()
        except Exception as error:
            return False, f"queue unreachable ({type(error).__name__})"
        if self.app.config.get("JOBS_IMMEDIATE"):
            return True, "ok"
        if self.mode == "thread":
            self.ensure_worker()
            return (True, "ok") if self._thread is not None and self._thread.is_alive() else (False, "no worker")
        try:
            seen = self.huey.get(HEARTBEAT_KEY, peek=True)
        except Exception as error:
            return False, f"queue unreachable ({type(error).__name__})"
        if seen is None or time.time() - float(seen) > HEARTBEAT_STALE_SECONDS:
            return False, "no worker has reported recently"
        return True, "ok"


def init_app(app: Flask) -> Runner:
    runner = Runner(app)
    app.extensions["jobs"] = runner

    @app.before_request
    def start_worker() -> None:
        runner.ensure_worker()

    return runner


def runner() -> Runner:
    return current_app.extensions["jobs"]


# --- what a task reports ------------------------------------------------------------------------

def create(kind: str, actor_id: int | None, *, total: int = 0) -> Job:
    """A queued job row, flushed (the caller commits before enqueueing it)."""
    job = Job(kind=kind, created_by_id=actor_id, total=total, status=JobStatus.QUEUED, result={}, problems=[])
    db.session.add(job)
    db.session.flush()
    return job


def start(job: Job, name: str, **arguments: Any) -> None:
    """Commit the job row, then hand the job to the runner."""
    db.session.commit()
    runner().enqueue(name, job.id, **arguments)


def progress(job_id: int, done: int, total: int) -> None:
    """Record progress; the task commits it with its current batch."""
    db.session.execute(update(Job).where(Job.id == job_id).values(done=done, total=total))


def finish(job_id: int, result: dict[str, Any]) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(
        status=JobStatus.DONE, result=result, finished_at=utcnow()))
    db.session.commit()


def fail(job_id: int, problems: list[dict[str, Any]]) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(
        status=JobStatus.FAILED, problems=problems, finished_at=utcnow()))
    db.session.commit()
