"""The landing page and each role's dashboard."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from courses.models import Programme
from courses.operations import module_progress
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability, require
from lms_plugin.core.clock import today
from lms_plugin.core.collation import sort_key, sorted_lt
from lms_plugin.core.people import Cohort, Role, User
from lms_plugin.extensions import db
from lms_plugin.practice.models import Placement, PracticeTask
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import oversight
from lms_plugin.practice.operations.access import assigned_cadet_ids
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, SittingStatus

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
def index() -> Response:
    return redirect(url_for("main.dashboard" if current_user.is_authenticated else "auth.login"))


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    if current_user.role is Role.CADET:
        return _cadet_dashboard()
    if current_user.role is Role.MENTOR:
        return _mentor_dashboard()
    return _staff_dashboard()


def _cadet_dashboard() -> str:
    now = utcnow()
    tests = []
    for assignment in assessments.assignments_for(db.session, current_user):
        sitting = assessments.latest_sitting(db.session, assignment, current_user)
        earlier = [done for done in assessments.submitted_sittings(db.session, assignment, current_user)
                   if sitting is None or done.id != sitting.id]
        tests.append((assignment, sitting, assignment.is_open(now), earlier))
    placement = practice.current_placement(db.session, current_user, today())
    tasks = db.session.scalars(select(PracticeTask).order_by(PracticeTask.code)).all()
    achieved = practice.achieved_task_ids(db.session, current_user)
    modules = [module_progress(db.session, current_user.id, module)
               for programme in db.session.scalars(select(Programme).order_by(Programme.code))
               for module in programme.modules]
    return render_template("dashboard/cadet.html", tests=tests, placement=placement, tasks=tasks,
                           achieved=achieved, modules=modules)


def _mentor_dashboard() -> str:
    grace = current_app.config["MENTOR_GRACE_DAYS"]
    cadet_ids = assigned_cadet_ids(db.session, current_user, today(), grace)
    placements = db.session.scalars(
        select(Placement).where(Placement.mentor_id == current_user.id, Placement.cadet_id.in_(cadet_ids))
        .order_by(Placement.starts_on.desc())).all()
    # The same requests the queue lists, so the two pages never disagree.
    pending = oversight.mentor_queue_counts(db.session, current_user, today())
    seen: set[int] = set()
    rows = []
    for placement in placements:
        if placement.cadet_id not in seen:
            seen.add(placement.cadet_id)
            rows.append((placement, pending.get(placement.cadet_id, 0)))
    rows.sort(key=lambda row: sort_key(row[0].cadet.full_name))
    return render_template("dashboard/mentor.html", rows=rows, today=today())


@bp.get("/cohorts/<int:cohort_id>")
@login_required
def cohort(cohort_id: int) -> str:
    require(current_user, Capability.VIEW_ALL_PEOPLE)
    found = db.get_or_404(Cohort, cohort_id)
    on = today()
    cadets = sorted_lt(db.session.scalars(select(User).where(User.cohort_id == found.id, User.role == Role.CADET)),
                       key=lambda person: person.full_name)
    placements = {p.cadet_id: p for p in db.session.scalars(
        select(Placement).where(Placement.cadet_id.in_([c.id for c in cadets]), Placement.starts_on <= on,
                                Placement.ends_on >= on)
        .options(selectinload(Placement.mentor), selectinload(Placement.unit)))}
    submitted = set(db.session.scalars(select(Sitting.person_id).where(
        Sitting.person_id.in_([c.id for c in cadets]), Sitting.status == SittingStatus.SUBMITTED)))
    return render_template("dashboard/cohort.html", cohort=found, cadets=cadets, placements=placements, submitted=submitted,
                           can_export=has_capability(current_user, Capability.EXPORT_REPORTS))


def _staff_dashboard() -> str:
    cohorts = db.session.execute(
        select(Cohort, func.count(User.id)).outerjoin(User, User.cohort_id == Cohort.id)
        .group_by(Cohort.id).order_by(Cohort.starts_on.desc())).all()
    return render_template("dashboard/staff.html", cohorts=cohorts,
                           can_export=has_capability(current_user, Capability.EXPORT_REPORTS))
