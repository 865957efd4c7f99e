"""Taking a psychometric test: introduction, one item per page, review, submit, results."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms_plugin.core import audit
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.clock import today
from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.practice.operations.access import can_view_person
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, SittingStatus, TestAssignment
from lms_plugin.web import charts
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import language
from psychometrics.instrument import localise

bp = Blueprint("testing", __name__, template_folder="templates")
bp.add_app_template_global(assessments.norm_group_label, "norm_group_label")
CHART_DPI = 160


def _chart_inches(subscales: int) -> tuple[float, float]:
    """The results chart's size; narrow enough that its text stays legible on a phone."""
    return 5.0, 0.7 * subscales + 2.2


def _own_sitting(sitting_id: int) -> Sitting:
    sitting = db.get_or_404(Sitting, sitting_id)
    if sitting.person_id != current_user.id:
        abort(404)  # another person's sitting does not exist, as far as this person can tell
    return sitting


def _closed_by_time(sitting: Sitting) -> Response | None:
    """When the time is over, submit what was saved in time and show the results instead."""
    if not assessments.finish_if_expired(db.session, sitting):
        return None
    db.session.commit()
    flash(_("The time for this test is over. The answers you saved in time have been submitted."), "info")
    return redirect(url_for("testing.results", sitting_id=sitting.id))


# Show a countdown when a time limit applies, or when the window closes within this many seconds.
COUNTDOWN_FROM_SECONDS = 24 * 3600


def _time_left(sitting: Sitting) -> int | None:
    """Whole seconds until the sitting's deadline, when a countdown is worth showing."""
    if sitting.deadline_at is None:
        return None
    seconds = max(0, int((sitting.deadline_at - utcnow()).total_seconds()))
    if sitting.assignment.time_limit_minutes or seconds <= COUNTDOWN_FROM_SECONDS:
        return seconds
    return None


@bp.get("/tests/<int:assignment_id>")
@login_required
def introduction(assignment_id: int) -> str:
    assignment = db.get_or_404(TestAssignment, assignment_id)
    if current_user.cohort_id != assignment.cohort_id:
        abort(404)
    instrument = assessments.instrument_of(assignment.instrument)
    sitting = assessments.latest_sitting(db.session, assignment, current_user)
    now = utcnow()
    retake_at = assignment.retake_opens_at(sitting)
    earlier = [done for done in assessments.submitted_sittings(db.session, assignment, current_user)
               if sitting is None or done.id != sitting.id]
    return render_template("testing/intro.html", assignment=assignment, instrument=instrument, sitting=sitting,
                           is_open=assignment.is_open(now), retake_at=retake_at,
                           retake_due=retake_at is not None and retake_at <= now and assignment.is_open(now),
                           form=ConfirmForm(), localise=localise, earlier=earlier)


@bp.post("/tests/<int:assignment_id>/start")
@login_required
def start(assignment_id: int) -> Response:
    assignment = db.get_or_404(TestAssignment, assignment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    sitting = assessments.start_or_resume(db.session, current_user, assignment)
    db.session.commit()
    return _closed_by_time(sitting) or redirect(url_for("testing.item", sitting_id=sitting.id))


@bp.route("/sittings/<int:sitting_id>", methods=["GET", "POST"])
@login_required
def item(sitting_id: int) -> str | Response | tuple[str, int]:
    sitting = _own_sitting(sitting_id)
    if sitting.status is SittingStatus.SUBMITTED:
        return redirect(url_for("testing.results", sitting_id=sitting.id))
    if sitting.status is SittingStatus.NOT_STARTED:
        return redirect(url_for("testing.introduction", assignment_id=sitting.assignment_id))
    closed = _closed_by_time(sitting)
    if closed is not None:
        return closed
    g.no_store = True
    instrument = assessments.instrument_of(sitting.assignment.instrument)
    form = ConfirmForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        item_id = request.form.get("item_id", "")
        value = request.form.get("answer")
        action = request.form.get("action", "next")
        try:
            if value is not None:
                assessments.save_answer(db.session, current_user, sitting, item_id, value)
            position = sitting.position + (1 if action == "next" else -1 if action == "previous" else 0)
            if action == "review" or position >= len(sitting.item_order):
                db.session.commit()
                return redirect(url_for("testing.review", sitting_id=sitting.id))
            assessments.move_to(db.session, current_user, sitting, position)
            db.session.commit()
            return redirect(url_for("testing.item", sitting_id=sitting.id))
        except OperationError as problem:
            db.session.rollback()
            if problem.status_code == 409:
                return _closed_by_time(sitting) or redirect(url_for("testing.review", sitting_id=sitting.id))
            error = str(problem.message)
    requested = request.args.get("q", type=int)
    if requested is not None and 1 <= requested <= len(sitting.item_order):
        assessments.move_to(db.session, current_user, sitting, requested - 1)
        db.session.commit()
    current = instrument.item(sitting.item_order[sitting.position])
    answers = assessments.answers_of(db.session, sitting)
    status = 400 if error else 200
    return render_template("testing/item.html", sitting=sitting, instrument=instrument, item=current,
                           chosen=answers.get(current.id), answered=len(answers), form=form, error=error,
                           time_left=_time_left(sitting), localise=localise, lang=language()), status


@bp.get("/sittings/<int:sitting_id>/review")
@login_required
def review(sitting_id: int) -> str | Response:
    sitting = _own_sitting(sitting_id)
    if sitting.status is SittingStatus.SUBMITTED:
        return redirect(url_for("testing.results", sitting_id=sitting.id))
    if sitting.status is SittingStatus.NOT_STARTED:
        return redirect(url_for("testing.introduction", assignment_id=sitting.assignment_id))
    closed = _closed_by_time(sitting)
    if closed is not None:
        return closed
    g.no_store = True
    instrument = assessments.instrument_of(sitting.assignment.instrument)
    answers = assessments.answers_of(db.session, sitting)
    unanswered = [index + 1 for index, item_id in enumerate(sitting.item_order) if item_id not in answers]
    return render_template("testing/review.html", sitting=sitting, instrument=instrument, answered=len(answers),
                           unanswered=unanswered, expired=False, time_left=_time_left(sitting), form=ConfirmForm(),
                           localise=localise)


@bp.post("/sittings/<int:sitting_id>/submit")
@login_required
def submit(sitting_id: int) -> Response:
    sitting = _own_sitting(sitting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    closed = _closed_by_time(sitting)
    if closed is not None:
        return closed
    unanswered = len(sitting.item_order) - len(assessments.answers_of(db.session, sitting))
    expired = sitting.deadline_at is not None and utcnow() > sitting.deadline_at
    if unanswered and not expired and request.form.get("confirm_incomplete") != "yes" \
            and sitting.status is SittingStatus.IN_PROGRESS:
        flash(_("%(n)d questions are still unanswered. Answer them, or confirm that you want to submit anyway.",
                n=unanswered), "error")
        return redirect(url_for("testing.review", sitting_id=sitting.id))
    assessments.submit(db.session, current_user, sitting)
    db.session.commit()
    return redirect(url_for("testing.results", sitting_id=sitting.id))


def _viewable_submitted(sitting_id: int) -> Sitting:
    sitting = db.get_or_404(Sitting, sitting_id)
    # Someone who may not see the person is told nothing, not even that the sitting exists.
    if sitting.status is not SittingStatus.SUBMITTED or not can_view_person(
            db.session, current_user, sitting.person, today(), current_app.config["MENTOR_GRACE_DAYS"]):
        abort(404)
    return sitting


@bp.get("/sittings/<int:sitting_id>/results")
@login_required
def results(sitting_id: int) -> str:
    sitting = _viewable_submitted(sitting_id)
    instrument = assessments.instrument_of(sitting.assignment.instrument)
    own = sitting.person_id == current_user.id
    raw = has_capability(current_user, Capability.VIEW_RAW_SCORES)
    views = assessments.result_views(instrument, sitting.results, language(), include_scores=raw,
                                     include_feedback=own or raw)
    raw_answers = None
    if raw:
        raw_answers = assessments.answers_of(db.session, sitting)
        audit.record(db.session, current_user, "psychometrics.view_raw", sitting, person=sitting.person_id)
        db.session.commit()
    g.no_store = True
    norm_group = next((result.norm_group for result in sitting.results if result.norm_group), None)
    return render_template("testing/results.html", sitting=sitting, instrument=instrument, views=views, own=own,
                           raw=raw, raw_answers=raw_answers, show_chart=own or raw,
                           norm_group=norm_group and assessments.norm_group_label(norm_group), localise=localise,
                           chart_pixels=[int(inches * CHART_DPI)
                                         for inches in _chart_inches(len(instrument.subscales))])


@bp.get("/sittings/<int:sitting_id>/chart.png")
@login_required
def chart(sitting_id: int) -> Response:
    sitting = _viewable_submitted(sitting_id)
    if sitting.person_id != current_user.id and not has_capability(current_user, Capability.VIEW_RAW_SCORES):
        abort(403)  # mentors see bands only, not the position within a band
    instrument = assessments.instrument_of(sitting.assignment.instrument)
    by_code = {result.subscale: result for result in sitting.results}
    labels = [localise(s.title, language()) for s in instrument.subscales]
    figure, axes = charts.new_figure(*_chart_inches(len(labels)))
    if any(result.t_score is not None for result in sitting.results):
        charts.t_score_profile(
            axes, labels, [by_code[s.code].t_score if s.code in by_code else None for s in instrument.subscales],
            [band.max_t for band in instrument.bands if band.max_t is not None],
            [localise(band.title, language()) for band in instrument.bands],
            _("T-score (50 = norm group average)"))
    else:
        charts.percent_bars(axes, labels, [by_code[s.code].percent if s.code in by_code else None
                                           for s in instrument.subscales], _("Score (share of the possible range, %)"))
    response = Response(charts.png_bytes(figure, dpi=CHART_DPI), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response
