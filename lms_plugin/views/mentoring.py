"""Mentors: their cadets' practice logs and sign-off."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms_plugin.auth.capabilities import Capability, has_capability
from lms_plugin.auth.permissions import can_view_person, mentor_placement, require
from lms_plugin.clock import today
from lms_plugin.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.forms import SignOffForm
from lms_plugin.models.assessments import Sitting, SittingStatus
from lms_plugin.models.people import Role, User
from lms_plugin.models.practice import LogbookEntry, SignOffOutcome
from lms_plugin.operations import assessments, practice
from lms_plugin.views import language

bp = Blueprint("mentoring", __name__)


def _visible_cadet(cadet_id: int) -> User:
    cadet = db.session.get(User, cadet_id)
    if cadet is None or cadet.role is not Role.CADET or not can_view_person(
            db.session, current_user, cadet, today(), current_app.config["MENTOR_GRACE_DAYS"]):
        abort(404)  # a cadet outside one's assignments does not exist for this viewer
    return cadet


def _render_cadet(cadet: User, forms: dict[int, SignOffForm] | None = None, status: int = 200) -> tuple[str, int]:
    entries = practice.logbook(db.session, cadet)
    can_sign = (has_capability(current_user, Capability.SIGN_OFF_PRACTICE)
                and mentor_placement(db.session, current_user, cadet, today()) is not None)
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
    return render_template("mentor_cadet.html", cadet=cadet, entries=entries, forms=forms, can_sign=can_sign,
                           bands=bands, placement=practice.current_placement(db.session, cadet, today())), status


@bp.get("/cadets/<int:cadet_id>")
@login_required
def cadet(cadet_id: int) -> tuple[str, int]:
    return _render_cadet(_visible_cadet(cadet_id))


@bp.post("/entries/<int:entry_id>/signoff")
@login_required
def sign(entry_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.SIGN_OFF_PRACTICE)
    entry = db.session.get(LogbookEntry, entry_id)
    if entry is None:
        abort(404)
    cadet = _visible_cadet(entry.cadet_id)
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
            target = form.comment if problem.field == "comment" else form.outcome
            target.errors = [*target.errors, str(problem.message)]
            status = problem.status_code
    else:
        status = 400
    return _render_cadet(cadet, {entry.id: form}, status)
