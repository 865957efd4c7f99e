"""Mentors: their cadets' practice logs, the sign-off queue, observations, reviews and corrections;
and, for everyone who may see a cadet, the cadet's practice timeline and reviews."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability, require
from lms_plugin.core.clock import today
from lms_plugin.core.errors import Conflict, OperationError
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.practice.forms import CorrectSignOffForm, ObservationForm, SignOffForm, review_form
from lms_plugin.practice.models import (
    AreaJudgement,
    LogbookEntry,
    PracticeReview,
    PracticeTask,
    Recommendation,
    RequestStatus,
    ReviewKind,
    SignOff,
    SignOffOutcome,
    SignOffRequest,
)
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import oversight, reviews
from lms_plugin.practice.operations.access import mentor_placement
from lms_plugin.practice.operations.chain import verify_chain
from lms_plugin.practice.operations.placements import placement_history
from lms_plugin.practice.views.helpers import (
    KIND_TITLES,
    form_status,
    grace_days,
    setting,
    show_problem,
    visible_cadet,
    written,
)
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, SittingStatus
from lms_plugin.web.pages import language, localised, role_label

bp = Blueprint("mentoring", __name__, template_folder="../templates")



def _can_sign_now(cadet: User) -> bool:
    placement = mentor_placement(db.session, current_user, cadet, today())
    return has_capability(current_user, Capability.SIGN_OFF_PRACTICE) and placement is not None


def _render_cadet(cadet: User, forms: dict[int, SignOffForm] | None = None, status: int = 200) -> tuple[str, int]:
    entries = practice.logbook(db.session, cadet)
    can_sign = _can_sign_now(cadet)
    forms = forms or {}
    for entry in entries:
        if can_sign and not entry.signoffs and entry.id not in forms:
            forms[entry.id] = SignOffForm(prefix=f"e{entry.id}", formdata=None)
    sittings = db.session.query(Sitting).filter(Sitting.person_id == cadet.id,
                                                Sitting.status == SittingStatus.SUBMITTED).all()
    bands = []
    for sitting in sittings:
        instrument = assessments.instrument_of(sitting.assignment.instrument)
        bands.append((sitting, assessments.result_views(instrument, sitting.results, language(),
                                                        include_scores=False, include_feedback=False)))
    reviewable = has_capability(current_user, Capability.SIGN_OFF_PRACTICE) and mentor_placement(
        db.session, current_user, cadet, today(), grace_days()) is not None
    return render_template("practice/cadet.html", cadet=cadet, entries=entries, forms=forms, can_sign=can_sign,
                           can_review=reviewable, bands=bands, reviews=reviews.reviews_of(db.session, cadet.id),
                           history=placement_history(db.session, cadet), kind_titles=KIND_TITLES,
                           placement=practice.current_placement(db.session, cadet, today())), status


@bp.get("/cadets/<int:cadet_id>")
@login_required
def cadet(cadet_id: int) -> tuple[str, int]:
    return _render_cadet(visible_cadet(cadet_id))


def _signed_elsewhere_message(entry_id: int) -> str | None:
    """After losing a race: who signed the entry, and when (read in a fresh transaction)."""
    signoff = db.session.scalar(select(SignOff).where(SignOff.entry_id == entry_id).order_by(SignOff.id).limit(1))
    if signoff is None:
        return None
    return _("This entry was signed a moment ago by %(name)s (%(role)s) at %(when)s; your judgement was not "
             "recorded. Read it below and correct it if it is wrong.", name=signoff.signer.full_name,
             role=role_label(signoff.signer_role), when=_local(signoff.signed_at))


def _local(moment: Any) -> str:
    from lms_plugin.web.pages import local_time

    return local_time(moment)


@bp.post("/entries/<int:entry_id>/signoff")
@login_required
def sign(entry_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    entry = db.session.get(LogbookEntry, entry_id)
    if entry is None:
        abort(404)
    cadet = visible_cadet(entry.cadet_id)
    form = SignOffForm(prefix=f"e{entry.id}")
    if form.validate_on_submit():
        try:
            practice.sign_off(db.session, current_user, entry, outcome=SignOffOutcome(form.outcome.data),
                              comment=form.comment.data or "", today=today())
            db.session.commit()
            flash(_("Signed: %(task)s for %(name)s.", task=entry.task.code, name=cadet.full_name), "success")
            return redirect(url_for("mentoring.cadet", cadet_id=cadet.id, _anchor=f"entry-{entry.id}"))
        except OperationError as problem:
            db.session.rollback()
            if problem.status_code == 403:
                raise
            message = _signed_elsewhere_message(entry.id) if isinstance(problem, Conflict) else None
            target = form.comment if problem.field == "comment" else form.outcome
            target.errors = [*target.errors, message or str(problem.message)]
            status = problem.status_code
    else:
        status = 400
    return _render_cadet(cadet, {entry.id: form}, status)


# --- the queue --------------------------------------------------------------------------------------

def _render_queue(forms: dict[int, SignOffForm] | None = None, status: int = 200) -> tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    queue = oversight.mentor_queue(db.session, current_user, today())
    forms = forms or {}
    for item in queue:
        forms.setdefault(item.id, SignOffForm(prefix=f"q{item.id}", formdata=None))
    overdue_days = int(setting("SIGNOFF_OVERDUE_DAYS", oversight.DEFAULT_OVERDUE_DAYS))
    return render_template("practice/queue.html", queue=queue, forms=forms, now=utcnow(),
                           waiting_days=oversight.waiting_days, overdue_days=overdue_days), status


@bp.get("/mentoring/queue")
@login_required
def queue() -> tuple[str, int]:
    return _render_queue()


@bp.post("/mentoring/requests/<int:request_id>/sign")
@login_required
def sign_request(request_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    item = db.session.get(SignOffRequest, request_id)
    if item is None:
        abort(404)
    visible_cadet(item.cadet_id)
    form = SignOffForm(prefix=f"q{item.id}")
    if not form.validate_on_submit():
        return _render_queue({item.id: form}, 400)
    if item.status is not RequestStatus.PENDING:
        message = (_signed_elsewhere_message(item.entry_id) if item.status is RequestStatus.SIGNED
                   else _("The cadet withdrew this request."))
        flash(message or _("This request is no longer waiting."), "error")
        return redirect(url_for("mentoring.queue"))
    try:
        practice.sign_off(db.session, current_user, item.entry, outcome=SignOffOutcome(form.outcome.data),
                          comment=form.comment.data or "", today=today())
        db.session.commit()
    except OperationError as problem:
        db.session.rollback()
        if problem.status_code == 403:
            raise
        if isinstance(problem, Conflict):
            flash(_signed_elsewhere_message(item.entry_id) or str(problem.message), "error")
            return redirect(url_for("mentoring.queue"))
        target = form.comment if problem.field == "comment" else form.outcome
        target.errors = [*target.errors, str(problem.message)]
        return _render_queue({item.id: form}, problem.status_code)
    flash(_("Signed: %(task)s for %(name)s.", task=item.entry.task.code, name=item.cadet.full_name), "success")
    return redirect(url_for("mentoring.queue"))


# --- observations -----------------------------------------------------------------------------------

@bp.route("/cadets/<int:cadet_id>/observations/new", methods=["GET", "POST"])
@login_required
def new_observation(cadet_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    cadet = visible_cadet(cadet_id)
    if not _can_sign_now(cadet):
        abort(403)
    form = ObservationForm()
    tasks = db.session.scalars(select(PracticeTask).order_by(PracticeTask.code)).all()
    form.task.choices = [SelectChoice(t.id, f"{t.code} · {localised(t, 'title')}") for t in tasks]
    if request.method == "GET" and form.observed_on.data is None:
        form.observed_on.data = today()
    if form.validate_on_submit():
        task = db.session.get(PracticeTask, form.task.data)

        def record() -> None:
            if task is None:
                raise OperationError(_("Choose a task from the catalogue."), field="task")
            practice.record_observation(db.session, current_user, cadet, task=task,
                                        observed_on=form.observed_on.data, location=form.location.data or "",
                                        description=form.description.data, outcome=SignOffOutcome(form.outcome.data),
                                        comment=form.comment.data or "", today=today())

        if written(form, "description", record):
            assert task is not None
            flash(_("Observation signed: %(task)s for %(name)s.", task=task.code, name=cadet.full_name), "success")
            return redirect(url_for("mentoring.cadet", cadet_id=cadet.id))
    return render_template("practice/observation.html", cadet=cadet, form=form), form_status(form)


# --- reviews ------------------------------------------------------------------------------------------

def _area_label(area: Any) -> str:
    return f"{area.code} · {localised(area, 'title')}"


def _review_form(kind: ReviewKind, *, correction: bool, source: PracticeReview | None = None):
    areas = reviews.practice_areas(db.session)
    form = review_form(areas, final=kind is ReviewKind.FINAL, correction=correction, label=_area_label)
    if request.method == "GET" and source is not None:
        for judgement in source.judgements:
            if hasattr(form, f"area_{judgement.area_id}"):
                getattr(form, f"area_{judgement.area_id}").data = judgement.judgement.value
                getattr(form, f"area_{judgement.area_id}_comment").data = judgement.comment
        form.summary.data = source.summary
        if kind is ReviewKind.FINAL and source.recommendation is not None:
            form.recommendation.data = source.recommendation.value
    return areas, form


def _submit_review(form: Any, areas: list[Any], cadet: User, kind: ReviewKind,
                   corrects: PracticeReview | None) -> PracticeReview | None:
    if not form.validate_on_submit():
        return None
    judgements = {area.id: (AreaJudgement(getattr(form, f"area_{area.id}").data),
                            getattr(form, f"area_{area.id}_comment").data or "") for area in areas}
    recommendation = (Recommendation(form.recommendation.data)
                      if kind is ReviewKind.FINAL and form.recommendation.data else None)
    try:
        review = reviews.record_review(db.session, current_user, cadet, kind=kind, judgements=judgements,
                                       summary=form.summary.data, recommendation=recommendation, today=today(),
                                       grace_days=grace_days(), corrects=corrects,
                                       reason=getattr(form, "reason", None) and form.reason.data or "")
        db.session.commit()
        return review
    except OperationError as problem:
        db.session.rollback()
        if problem.status_code == 403:
            raise
        show_problem(form, problem, "summary")
        return None


@bp.route("/cadets/<int:cadet_id>/reviews/new/<kind>", methods=["GET", "POST"])
@login_required
def new_review(cadet_id: int, kind: str) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    try:
        review_kind = ReviewKind(kind)
    except ValueError:
        abort(404)
    cadet = visible_cadet(cadet_id)
    placement = reviews.review_placement(db.session, current_user, cadet, review_kind, today(), grace_days())
    areas, form = _review_form(review_kind, correction=False)
    review = _submit_review(form, areas, cadet, review_kind, None)
    if review is not None:
        flash(_("%(kind)s signed for %(name)s.", kind=KIND_TITLES[review_kind], name=cadet.full_name), "success")
        return redirect(url_for("mentoring.review", review_id=review.id))
    return render_template("practice/review_form.html", cadet=cadet, form=form, areas=areas, kind=review_kind,
                           title=KIND_TITLES[review_kind], placement=placement, corrects=None), form_status(form)


@bp.route("/reviews/<int:review_id>/correct", methods=["GET", "POST"])
@login_required
def correct_review(review_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    old = db.get_or_404(PracticeReview, review_id)
    cadet = visible_cadet(old.cadet_id)
    if old.signer_id != current_user.id:
        abort(403)
    placement = reviews.review_placement(db.session, current_user, cadet, old.kind, today(), grace_days())
    areas, form = _review_form(old.kind, correction=True, source=old)
    review = _submit_review(form, areas, cadet, old.kind, old)
    if review is not None:
        flash(_("Correction signed. The earlier version stays on record."), "success")
        return redirect(url_for("mentoring.review", review_id=review.id))
    return render_template("practice/review_form.html", cadet=cadet, form=form, areas=areas, kind=old.kind,
                           title=KIND_TITLES[old.kind], placement=placement, corrects=old), form_status(form)


@bp.get("/reviews/<int:review_id>")
@login_required
def review(review_id: int) -> str:
    from lms_plugin.practice.forms import CountersignForm

    found = db.get_or_404(PracticeReview, review_id)
    cadet = visible_cadet(found.cadet_id)
    versions = practice.correction_chain(db.session, PracticeReview, found)
    progression = reviews.progression_of(db.session, found) if found.kind is ReviewKind.FINAL else None
    latest = versions[-1]
    can_countersign = (found.kind is ReviewKind.FINAL and progression is not None
                       and progression.countersignature is None and progression.case is None
                       and has_capability(current_user, Capability.COUNTERSIGN_PRACTICE))
    can_correct = (latest.signer_id == current_user.id and (progression is None or progression.countersignature is None)
                   and mentor_placement(db.session, current_user, cadet, today(),
                                        grace_days() if found.kind is ReviewKind.FINAL else 0) is not None)
    return render_template("practice/review.html", cadet=cadet, versions=versions, latest=latest, kind_titles=KIND_TITLES,
                           progression=progression, can_countersign=can_countersign, can_correct=can_correct,
                           form=CountersignForm(formdata=None))


# --- corrections of sign-offs ---------------------------------------------------------------------------

@bp.route("/signoffs/<int:signoff_id>/correct", methods=["GET", "POST"])
@login_required
def correct_signoff(signoff_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    old = db.get_or_404(SignOff, signoff_id)
    cadet = visible_cadet(old.cadet_id)
    if old.signer_id != current_user.id or not _can_sign_now(cadet):
        abort(403)
    form = CorrectSignOffForm()
    if request.method == "GET":
        form.outcome.data, form.comment.data = old.outcome.value, old.comment
    if form.validate_on_submit() and written(form, "reason", lambda: practice.correct_signoff(
            db.session, current_user, old, outcome=SignOffOutcome(form.outcome.data),
            comment=form.comment.data or "", reason=form.reason.data, today=today())):
        flash(_("Correction signed. The earlier version stays on record."), "success")
        return redirect(url_for("mentoring.cadet", cadet_id=cadet.id, _anchor=f"entry-{old.entry_id}"))
    return render_template("practice/correct_signoff.html", cadet=cadet, old=old, entry=old.entry, form=form), \
        form_status(form)


# --- the timeline -----------------------------------------------------------------------------------------

@bp.get("/cadets/<int:cadet_id>/timeline")
@login_required
def timeline(cadet_id: int) -> str:
    cadet = visible_cadet(cadet_id)
    return render_template("practice/timeline.html", cadet=cadet, items=oversight.timeline(db.session, cadet),
                           chain=verify_chain(db.session, cadet.id), kind_titles=KIND_TITLES)
