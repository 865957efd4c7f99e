"""A job's page and its small JSON status, which the page polls. Only the job's starter sees them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from lms_plugin.extensions import db
from lms_plugin.jobs.models import Job, JobStatus

bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder="templates")

KIND_LABELS = {"framework.import": _l("Importing a framework file"),
               "framework.discard": _l("Discarding a draft version")}
STATUS_LABELS = {JobStatus.QUEUED: _l("waiting to start"), JobStatus.RUNNING: _l("running"),
                 JobStatus.DONE: _l("finished"), JobStatus.FAILED: _l("failed")}


def _own_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.created_by_id != current_user.id:
        abort(404)  # somebody else's job is as good as missing
    return job


def _next_url(job: Job) -> str | None:
    """Where the result is, once the job is done."""
    if job.status is not JobStatus.DONE:
        return None
    if job.kind == "framework.import" and job.result.get("framework_id"):
        return url_for("framework.version", framework_id=job.result["framework_id"])
    if job.kind == "framework.discard":
        return url_for("framework.index")
    return None


def status_of(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "status": job.status.value, "status_label": str(STATUS_LABELS[job.status]),
            "done": job.done, "total": job.total, "finished": job.finished, "result": job.result,
            "problems": job.problems, "next_url": _next_url(job)}


@bp.get("/<int:job_id>")
@login_required
def page(job_id: int) -> str:
    job = _own_job(job_id)
    problems = job.problems or []
    shown = {name: any(row.get(name) not in (None, "") for row in problems)
             for name in ("sheet", "row", "column", "path")}
    return render_template("jobs/job.html", job=job, title=str(KIND_LABELS.get(job.kind, _("Background job"))),
                           status_label=str(STATUS_LABELS[job.status]), problems=problems, shown=shown,
                           next_url=_next_url(job))


@bp.get("/<int:job_id>/status")
@login_required
def status(job_id: int) -> dict[str, Any]:
    return status_of(_own_job(job_id))
