"""Big framework imports and discards: near-linear scaling, and what a cadet's autosave feels
meanwhile.

1. Import (as the job runner does it: batches committed as they go) and discard (set-based,
   deepest nodes first, committed per batch) of 2,000, 20,000 and 40,000 nodes on a SQLite file;
   reported: seconds per size and the ratio 40k/2k (20 means linear).
2. Autosave latency (p50/p99) on the real app, first with nothing else running, then while a
   40,000-node import runs on the job runner's worker thread in the same process.

With ``--benchmark-disable`` (the project default, `make test`) the sizes shrink so the file runs
in seconds as plain tests; ``make bench`` runs the full sizes and prints the figures. No timing is
asserted: the machine is shared, so the figures are reported, not judged.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from competency_framework.interchange import Format, export_framework
from competency_framework.interchange.document import apply_document, validate_document
from competency_framework.models import Competency, Framework, FrameworkStatus
from competency_framework.versioning import purge_framework
from lms_plugin.core.base import Base
from lms_plugin.core.sqlite import configure_sqlite
from tests.benchmarks.test_framework_benchmarks import full_size, generated_document
from tests.conftest import DEMO_PASSWORD, TEST_TODAY, csrf_token


def file_engine(path: Path) -> Any:
    engine = create_engine(f"sqlite:///{path}")
    configure_sqlite(engine)
    import lms_plugin.schema  # noqa: F401  (every table, as the app has them)

    Base.metadata.create_all(engine)
    return engine


def timed_import_and_discard(tmp_path: Path, nodes: int) -> tuple[float, float]:
    engine = file_engine(tmp_path / f"scale-{nodes}.sqlite3")
    document = validate_document(generated_document(f"S{nodes}", nodes - nodes // 40, 40))
    try:
        with Session(engine) as session:
            started = time.perf_counter()
            framework = apply_document(session, document, status=FrameworkStatus.PENDING, after_batch=session.commit)
            framework.status = FrameworkStatus.DRAFT
            session.commit()
            imported = time.perf_counter() - started
            framework_id = framework.id
            assert session.scalar(select(func.count()).select_from(Competency)
                                  .where(Competency.framework_id == framework_id)) == len(document.nodes)
            session.expunge_all()
            started = time.perf_counter()
            purge_framework(session, framework_id, after_batch=session.commit)
            discarded = time.perf_counter() - started
            assert session.scalar(select(func.count()).select_from(Competency)) == 0
            assert session.get(Framework, framework_id) is None
    finally:
        engine.dispose()
    return imported, discarded


def test_import_and_discard_scale_near_linearly(benchmark: Any, tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    sizes = (2000, 20000, 40000) if full_size(request) else (200, 400)
    figures: dict[int, tuple[float, float]] = {}

    def run() -> None:
        for size in sizes:
            figures[size] = timed_import_and_discard(tmp_path, size)

    benchmark.pedantic(run, rounds=1, iterations=1)
    small, large = sizes[0], sizes[-1]
    report = {f"{kind}_{size}_s": round(figures[size][index], 3)
              for size in sizes for index, kind in enumerate(("import", "discard"))}
    report["import_ratio"] = round(figures[large][0] / figures[small][0], 1)
    report["discard_ratio"] = round(figures[large][1] / figures[small][1], 1)
    report["size_ratio"] = large // small
    benchmark.extra_info.update(report)
    print(f"\nframework import/discard ({large}/{small} = {large // small}x nodes): {report}")


# --- autosave while a big import runs -------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def test_autosave_latency_while_a_big_import_runs(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from flask_migrate import upgrade

    from lms_plugin import create_app
    from lms_plugin.core.people import User
    from lms_plugin.demo_data import load_demo
    from lms_plugin.extensions import db
    from lms_plugin.jobs import runner as jobs
    from lms_plugin.jobs.models import Job, JobStatus
    from lms_plugin.testing import operations as assessments
    from lms_plugin.testing.models import TestAssignment

    big = full_size(request)
    nodes, saves = (40000, 400) if big else (1500, 40)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'autosave.sqlite3'}",
                      "SECRET_KEY": "bench", "BABEL_DEFAULT_LOCALE": "en", "JOB_WORKER": "thread",
                      "JOB_SQLITE_PATH": str(tmp_path / "jobs.sqlite3")})
    with app.app_context():
        upgrade()
        load_demo(db.session, TEST_TODAY)
        cadet = db.session.scalar(select(User).where(User.username == "cadet.01"))
        assignment = db.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
        second = assessments.assign_instrument(db.session, None, record=assignment.instrument,
                                               cohort_id=cadet.cohort_id, opens_at=assignment.opens_at,
                                               closes_at=assignment.closes_at)
        sitting = assessments.start_or_resume(db.session, cadet, second)
        sitting.deadline_at = None
        instrument = assessments.instrument_of(second.instrument)
        answers = [(item_id, instrument.item(item_id).options[0].key) for item_id in sitting.item_order]
        sitting_id = sitting.id
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        db.session.commit()
        data = export_framework(apply_document(db.session, validate_document(
            generated_document("AUTOSAVE", nodes - nodes // 40, 40))), Format.MOODLE)
        db.session.rollback()  # the file is made from a framework that is not kept
        db.session.remove()

    client = app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": "cadet.01", "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    token = csrf_token(client, f"/sittings/{sitting_id}")

    def autosave(count: int, stop: threading.Event | None = None) -> list[float]:
        latencies = []
        for number in range(count):
            if stop is not None and stop.is_set() and number > 5:
                break
            item_id, key = answers[number % len(answers)]
            started = time.perf_counter()
            response = client.post(f"/api/sittings/{sitting_id}/answers", json={"item_id": item_id, "value": key},
                                   headers={"X-CSRFToken": token})
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return latencies

    quiet = autosave(saves)
    runner = app.extensions["jobs"]
    with app.app_context():
        job = jobs.create("framework.import", admin_id)
        db.session.commit()
        job_id = job.id
        runner.enqueue("framework.import", job_id, data=data, actor_id=admin_id, format="moodle")
        db.session.remove()
    started = time.perf_counter()
    runner.ensure_worker()
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            with app.app_context():
                state = db.session.get(Job, job_id).status
                db.session.remove()
            if state in (JobStatus.DONE, JobStatus.FAILED):
                break
            time.sleep(0.2)
        done.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    busy = []
    while not done.is_set() and len(busy) < 100 * saves:
        busy.extend(autosave(min(saves, 20), done))
    watcher.join(timeout=3600)
    import_seconds = time.perf_counter() - started
    runner.stop()
    with app.app_context():
        finished = db.session.get(Job, job_id)
        assert finished.status is JobStatus.DONE, finished.problems
        assert finished.done == finished.total == finished.result["nodes"]
        nodes = finished.result["nodes"]
        db.session.remove()
        db.engine.dispose()
    figures = {"nodes": nodes, "import_s": round(import_seconds, 2), "saves_quiet": len(quiet),
               "saves_during_import": len(busy),
               "p50_quiet_ms": round(1000 * statistics.median(quiet), 1),
               "p99_quiet_ms": round(1000 * percentile(quiet, 0.99), 1),
               "p50_during_import_ms": round(1000 * statistics.median(busy), 1),
               "p99_during_import_ms": round(1000 * percentile(busy, 0.99), 1),
               "max_during_import_ms": round(1000 * max(busy), 1), "at": dt.datetime.now().isoformat()}
    print(f"\nautosave while a {nodes}-node import runs on the job runner: {figures}")
    assert busy, "no autosave ran while the import did"
