"""Managing tests (Capability.MANAGE_TESTS): assign an instrument to a cohort, move its window,
score sittings whose time is over, reopen an attempt with a recorded reason."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Cohort, Role, User
from lms_plugin.extensions import db
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.forms import AssignmentForm, ReopenForm, WindowForm
from lms_plugin.testing.models import Answer, InstrumentRecord, Sitting, SittingStatus, TestAssignment
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import localised

bp = Blueprint("testing_admin", __name__, url_prefix="/tests/admin", template_folder="templates")



def to_utc(local: dt.datetime) -> dt.datetime:
    """A naive date and time typed in Lithuanian time, as UTC."""
    return local.replace(tzinfo=SERVICE_TIMEZONE).astimezone(dt.timezone.utc)


def to_local_input(moment: dt.datetime) -> dt.datetime:
    """A stored UTC moment as the naive local value a datetime-local field shows."""
    return moment.astimezone(SERVICE_TIMEZONE).replace(tzinfo=None, second=0, microsecond=0)


def _manager() -> None:
    require(current_user, Capability.MANAGE_TESTS)


@bp.get("/")
@login_required
def index() -> str:
    _manager()
    assignments = db.session.scalars(select(TestAssignment).order_by(TestAssignment.opens_at.desc())).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for assignment_id, status, n in db.session.execute(
            select(Sitting.assignment_id, Sitting.status, func.count(func.distinct(Sitting.person_id)))
            .group_by(Sitting.assignment_id, Sitting.status)):
        counts[assignment_id][status.value] = n
    sizes = dict(db.session.execute(select(User.cohort_id, func.count(User.id))
                                    .where(User.role == Role.CADET).group_by(User.cohort_id)).all())
    return render_template("testing/admin_index.html", assignments=assignments, counts=counts, sizes=sizes,
                           now=utcnow())


def _assignment_form() -> AssignmentForm:
    form = AssignmentForm()
    records = db.session.scalars(select(InstrumentRecord).order_by(InstrumentRecord.code,
                                                                   InstrumentRecord.version.desc())).all()
    form.instrument.choices = [(r.id, f"{r.code} v{r.version} – {localised(r, 'title')}") for r in records]
    form.cohort.choices = [(c.id, f"{c.code} – {localised(c, 'name')}") for c in
                           db.session.scalars(select(Cohort).order_by(Cohort.starts_on.desc()))]
    groups = sorted({group for record in records for group in assessments.reference_groups(db.session, record.code)})
    form.norm_group.choices = [(group, assessments.norm_group_label(group))
                               for group in groups or [assessments.NORM_GROUP]]
    return form


@bp.route("/assignments/new", methods=["GET", "POST"])
@login_required
def new_assignment() -> str | Response | tuple[str, int]:
    _manager()
    form = _assignment_form()
    if not form.is_submitted():
        start = to_local_input(utcnow()).replace(minute=0) + dt.timedelta(hours=1)
        form.opens_at.data, form.closes_at.data = start, start + dt.timedelta(days=14)
        form.norm_group.data = assessments.NORM_GROUP
    if form.validate_on_submit():
        record = db.get_or_404(InstrumentRecord, form.instrument.data)
        try:
            assignment = assessments.assign_instrument(
                db.session, current_user, record=record, cohort_id=form.cohort.data,
                opens_at=to_utc(form.opens_at.data), closes_at=to_utc(form.closes_at.data),
                time_limit_minutes=form.time_limit_minutes.data, randomise_items=form.randomise_items.data,
                retake_after_days=form.retake_after_days.data if form.attempt_policy.data == "retake" else None,
                norm_group=form.norm_group.data)
        except OperationError as problem:
            db.session.rollback()
            field = getattr(form, problem.field or "", None)
            if field is None:
                raise
            field.errors = [*field.errors, str(problem.message)]
        else:
            db.session.commit()
            flash(_("The test is assigned to %(cohort)s.", cohort=assignment.cohort.code), "success")
            return redirect(url_for("testing_admin.assignment", assignment_id=assignment.id))
    status = 400 if form.is_submitted() else 200
    return render_template("testing/admin_new.html", form=form), status


def _sitting_rows(assignment: TestAssignment) -> list[dict]:
    """One row per cadet of the cohort: every attempt, newest last."""
    members = sorted_lt(db.session.scalars(select(User).where(User.cohort_id == assignment.cohort_id,
                                                              User.role == Role.CADET)),
                        key=lambda person: person.full_name)
    attempts: dict[int, list[Sitting]] = defaultdict(list)
    sittings = db.session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id)
                                  .order_by(Sitting.attempt)).all()
    for sitting in sittings:
        attempts[sitting.person_id].append(sitting)
    answered = dict(db.session.execute(
        select(Answer.sitting_id, func.count(Answer.id)).where(Answer.sitting_id.in_([s.id for s in sittings]))
        .group_by(Answer.sitting_id)).all())
    now = utcnow()
    rows = []
    for person in members:
        person_attempts = attempts.get(person.id, [])
        entries = []
        for sitting in person_attempts:
            status = sitting.status.value
            if assessments.is_expired(sitting, now):
                status = "time_over"
            entries.append({"sitting": sitting, "status": status, "answered": answered.get(sitting.id, 0),
                            "can_reopen": sitting.status is SittingStatus.SUBMITTED
                            and sitting is person_attempts[-1]})
        rows.append({"person": person, "attempts": entries})
    return rows


@bp.get("/assignments/<int:assignment_id>")
@login_required
def assignment(assignment_id: int) -> str:
    _manager()
    found = db.get_or_404(TestAssignment, assignment_id)
    window = WindowForm(formdata=None, opens_at=to_local_input(found.opens_at),
                        closes_at=to_local_input(found.closes_at))
    rows = _sitting_rows(found)
    expired = sum(1 for row in rows for entry in row["attempts"] if entry["status"] == "time_over")
    return render_template("testing/admin_assignment.html", assignment=found, rows=rows, window=window,
                           confirm=ConfirmForm(), expired=expired, status_labels=assessments.SITTING_STATUS_LABELS,
                           items=len(assessments.instrument_of(found.instrument).items), now=utcnow())


@bp.post("/assignments/<int:assignment_id>/window")
@login_required
def reschedule(assignment_id: int) -> str | Response | tuple[str, int]:
    _manager()
    found = db.get_or_404(TestAssignment, assignment_id)
    window = WindowForm()
    if not window.validate_on_submit():
        return render_template("testing/admin_assignment.html", assignment=found, rows=_sitting_rows(found),
                               window=window, confirm=ConfirmForm(), expired=0, status_labels=assessments.SITTING_STATUS_LABELS,
                               items=len(assessments.instrument_of(found.instrument).items), now=utcnow()), 400
    assessments.reschedule_assignment(db.session, current_user, found, opens_at=to_utc(window.opens_at.data),
                                      closes_at=to_utc(window.closes_at.data))
    db.session.commit()
    flash(_("The window is changed."), "success")
    return redirect(url_for("testing_admin.assignment", assignment_id=found.id))


@bp.post("/assignments/<int:assignment_id>/finish-expired")
@login_required
def finish_expired(assignment_id: int) -> Response:
    _manager()
    found = db.get_or_404(TestAssignment, assignment_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("testing_admin.assignment", assignment_id=found.id))
    closed = assessments.finish_expired_sittings(db.session, current_user, found)
    db.session.commit()
    flash(_("%(n)d sittings whose time was over are scored.", n=closed), "success")
    return redirect(url_for("testing_admin.assignment", assignment_id=found.id))


@bp.route("/sittings/<int:sitting_id>/reopen", methods=["GET", "POST"])
@login_required
def reopen(sitting_id: int) -> str | Response | tuple[str, int]:
    _manager()
    sitting = db.get_or_404(Sitting, sitting_id)
    form = ReopenForm()
    if form.validate_on_submit():
        try:
            new = assessments.reopen_sitting(db.session, current_user, sitting, form.reason.data)
        except OperationError as problem:
            db.session.rollback()
            if problem.field != "reason":
                raise
            form.reason.errors = [*form.reason.errors, str(problem.message)]
        else:
            db.session.commit()
            flash(_("Attempt %(n)d is open for %(name)s.", n=new.attempt, name=sitting.person.full_name), "success")
            return redirect(url_for("testing_admin.assignment", assignment_id=sitting.assignment_id))
    status = 400 if form.is_submitted() else 200
    return render_template("testing/admin_reopen.html", sitting=sitting, form=form,
                           status_labels=assessments.SITTING_STATUS_LABELS), status
