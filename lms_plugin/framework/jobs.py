"""The framework's long work on the job runner: big imports and discards, in short transactions.

Each batch of rows is committed with the job's progress, so other requests (a cadet's autosave
above all) get the database between batches. A version being written or removed is ``PENDING``:
no page shows it. A failed import removes what it had written, so in the end it changed nothing.
"""

from __future__ import annotations

from typing import Any

from competency_framework.interchange import InterchangeError
from competency_framework.models import Framework
from competency_framework.versioning import purge_framework
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.framework import operations as ops
from lms_plugin.jobs import runner

IMPORT = "framework.import"
DISCARD = "framework.discard"


def _problem_rows(error: InterchangeError) -> list[dict[str, Any]]:
    return [{"sheet": location.sheet, "row": location.row, "column": location.column, "path": location.path,
             "problem": problem} for location, problem in error.problems]


@runner.task(IMPORT)
def import_job(job_id: int, *, data: bytes, actor_id: int | None, format: str | None = None,
               scale_code: str | None = None, filename: str = "") -> None:
    actor = None if actor_id is None else db.session.get(User, actor_id)
    made: list[int] = []

    def committed() -> None:
        db.session.commit()

    try:
        report = ops.import_file(db.session, actor, data, format=format, scale_code=scale_code, filename=filename,
                                 progress=lambda done, total: runner.progress(job_id, done, total),
                                 after_batch=committed, created=lambda framework: made.append(framework.id))
        framework = report.framework
        result = {"framework_id": framework.id, "code": framework.code, "version": framework.version,
                  "nodes": report.nodes, "role_profiles": report.role_profiles, "warnings": report.warnings}
        runner.progress(job_id, report.nodes, report.nodes)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        for framework_id in made:  # what earlier batches committed goes again
            if db.session.get(Framework, framework_id) is not None:
                purge_framework(db.session, framework_id, after_batch=committed)
        if isinstance(error, InterchangeError):
            runner.fail(job_id, _problem_rows(error))
            return
        raise
    runner.finish(job_id, result)


@runner.task(DISCARD)
def discard_job(job_id: int, *, framework_id: int, code: str, version: int) -> None:
    ops.finish_discard(db.session, framework_id, after_batch=db.session.commit,
                       progress=lambda done, total: runner.progress(job_id, done, total))
    runner.finish(job_id, {"code": code, "version": version})
