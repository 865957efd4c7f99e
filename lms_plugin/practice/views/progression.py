"""The Training Centre's side of practice: countersigning final reviews, the review panel, and the
overdue and at-risk lists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.clock import today
from lms_plugin.core.errors import PermissionDenied
from lms_plugin.extensions import db
from lms_plugin.practice.forms import (
    CorrectCountersignForm,
    CorrectPanelDecisionForm,
    CountersignForm,
    PanelDecisionForm,
)
from lms_plugin.practice.models import (
    Countersignature,
    CountersignDecision,
    PanelCase,
    PanelDecision,
    PanelStatus,
    PracticeReview,
    Recommendation,
)
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import oversight, reviews
from lms_plugin.practice.views.helpers import KIND_TITLES, form_status, setting, visible_cadet, written

bp = Blueprint("progression", __name__, url_prefix="/progression", template_folder="../templates")

OVERSIGHT = (Capability.MANAGE_PLACEMENTS, Capability.COUNTERSIGN_PRACTICE, Capability.DECIDE_PANEL)


def _require_any(*capabilities: Capability) -> None:
    if not any(has_capability(current_user, c) for c in capabilities):
        raise PermissionDenied(_("You may not see this page."))


@bp.get("/")
@login_required
def index() -> str:
    _require_any(Capability.COUNTERSIGN_PRACTICE, Capability.DECIDE_PANEL)
    return render_template("practice/progression.html", awaiting=reviews.final_reviews_awaiting_countersignature(db.session),
                           open_cases=reviews.panel_cases(db.session, PanelStatus.OPEN),
                           closed_cases=[c for c in reviews.panel_cases(db.session) if c.status is not PanelStatus.OPEN])


@bp.post("/reviews/<int:review_id>/countersign")
@login_required
def countersign(review_id: int) -> Response | tuple[str, int]:

    if not has_capability(current_user, Capability.COUNTERSIGN_PRACTICE):
        raise PermissionDenied(_("Only a Training Centre assessor countersigns."))
    review = db.get_or_404(PracticeReview, review_id)
    cadet = visible_cadet(review.cadet_id)
    form = CountersignForm()
    status = 400
    if form.validate_on_submit():
        decision = CountersignDecision(form.decision.data)
        if written(form, "comment", lambda: reviews.countersign(db.session, current_user, review, decision=decision,
                                                                comment=form.comment.data or "")):
            if decision is CountersignDecision.DISAGREE:
                flash(_("Countersignature recorded: you disagree, so the case goes to the review panel."), "success")
            else:
                flash(_("Countersigned: the progression decision for %(name)s is final.", name=cadet.full_name),
                      "success")
            return redirect(url_for("mentoring.review", review_id=review.id))
        status = form_status(form)
    versions = practice.correction_chain(db.session, PracticeReview, review)
    return render_template("practice/review.html", cadet=cadet, versions=versions, latest=versions[-1],
                           kind_titles=KIND_TITLES, progression=reviews.progression_of(db.session, review),
                           can_countersign=True, can_correct=False, form=form), status


def _own_countersignature(signature_id: int) -> Countersignature:
    if not has_capability(current_user, Capability.COUNTERSIGN_PRACTICE):
        raise PermissionDenied(_("Only a Training Centre assessor countersigns."))
    signature = db.get_or_404(Countersignature, signature_id)
    visible_cadet(signature.cadet_id)
    if signature.signer_id != current_user.id:
        raise PermissionDenied(_("Only the person who signed a record can correct it."))
    return signature


@bp.route("/countersignatures/<int:signature_id>/correct", methods=["GET", "POST"])
@login_required
def correct_countersignature(signature_id: int) -> Response | tuple[str, int]:
    old = _own_countersignature(signature_id)
    form = CorrectCountersignForm()
    if request.method == "GET":
        form.decision.data, form.comment.data = old.decision.value, old.comment
    if form.validate_on_submit() and written(form, "reason", lambda: reviews.correct_countersignature(
            db.session, current_user, old, decision=CountersignDecision(form.decision.data),
            comment=form.comment.data or "", reason=form.reason.data)):
        flash(_("Correction signed. The earlier version stays on record."), "success")
        return redirect(url_for("mentoring.review", review_id=old.review_id))
    return render_template("practice/correct_countersignature.html", old=old, form=form,
                           cadet=old.review.cadet), form_status(form)


def _case(case_id: int) -> PanelCase:
    _require_any(Capability.COUNTERSIGN_PRACTICE, Capability.DECIDE_PANEL)
    case = db.get_or_404(PanelCase, case_id)
    visible_cadet(case.cadet_id)
    return case


def _render_case(case: PanelCase, form: Any = None, status: int = 200) -> tuple[str, int]:

    progression = reviews.progression_of(db.session, case.review)
    try:
        reviews.require_panel_member(db.session, current_user, case)
        can_decide = True
    except PermissionDenied:
        can_decide = False
    return render_template("practice/panel_case.html", case=case, progression=progression, kind_titles=KIND_TITLES,
                           decisions=case.decisions, can_decide=can_decide,
                           form=form or PanelDecisionForm(formdata=None)), status


@bp.get("/panel/<int:case_id>")
@login_required
def panel_case(case_id: int) -> tuple[str, int]:
    return _render_case(_case(case_id))


@bp.post("/panel/<int:case_id>/decide")
@login_required
def decide(case_id: int) -> Response | tuple[str, int]:
    if not has_capability(current_user, Capability.DECIDE_PANEL):
        raise PermissionDenied(_("Only the review panel decides."))
    case = _case(case_id)
    reviews.require_panel_member(db.session, current_user, case)
    form = PanelDecisionForm()
    if form.validate_on_submit():
        if written(form, "reasons", lambda: reviews.decide_panel(
                db.session, current_user, case, decision=Recommendation(form.decision.data),
                reasons=form.reasons.data, members=form.members.data or "")):
            flash(_("The panel's decision is recorded."), "success")
            return redirect(url_for("progression.panel_case", case_id=case.id))
        return _render_case(case, form, form_status(form))
    return _render_case(case, form, 400)


@bp.route("/decisions/<int:decision_id>/correct", methods=["GET", "POST"])
@login_required
def correct_decision(decision_id: int) -> Response | tuple[str, int]:
    if not has_capability(current_user, Capability.DECIDE_PANEL):
        raise PermissionDenied(_("Only the review panel decides."))
    old = db.get_or_404(PanelDecision, decision_id)
    visible_cadet(old.cadet_id)
    reviews.require_panel_member(db.session, current_user, old.case)
    form = CorrectPanelDecisionForm()
    if request.method == "GET":
        form.decision.data, form.reasons.data, form.members.data = old.decision.value, old.reasons, old.members
    if form.validate_on_submit() and written(form, "reason", lambda: reviews.correct_panel_decision(
            db.session, current_user, old, decision=Recommendation(form.decision.data), reasons=form.reasons.data,
            members=form.members.data or "", reason=form.reason.data)):
        flash(_("Correction signed. The earlier version stays on record."), "success")
        return redirect(url_for("progression.panel_case", case_id=old.case_id))
    return render_template("practice/correct_panel_decision.html", old=old, form=form), form_status(form)


@bp.get("/attention")
@login_required
def attention() -> str:
    """Overdue requests, cadets at risk, accreditations running out."""
    _require_any(*OVERSIGHT)
    on = today()
    overdue_days = int(setting("SIGNOFF_OVERDUE_DAYS", oversight.DEFAULT_OVERDUE_DAYS))
    share = float(setting("AT_RISK_ELAPSED_SHARE", oversight.DEFAULT_AT_RISK_SHARE))
    minimum = int(setting("AT_RISK_MIN_ACHIEVED", oversight.DEFAULT_AT_RISK_MIN_ACHIEVED))
    warning = int(setting("ACCREDITATION_WARNING_DAYS", oversight.DEFAULT_ACCREDITATION_WARNING_DAYS))
    return render_template("practice/attention.html", today=on,
                           overdue=oversight.overdue_requests(db.session, on, overdue_days), overdue_days=overdue_days,
                           at_risk=oversight.cadets_at_risk(db.session, on, share, minimum), share=share,
                           minimum=minimum, expiring=oversight.accreditations_expiring(db.session, on, warning),
                           warning_days=warning)
