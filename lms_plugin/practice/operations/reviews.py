"""Mid-placement and final reviews, the assessor's countersignature and the review panel.

A final review's recommendation becomes a progression decision only when a Training
Centre assessor who is not the cadet's mentor countersigns it. If the assessor disagrees,
a panel case opens; the panel (someone who signed neither) decides, with reasons. Every
one of these is a signed, append-only record in the cadet's hash chain; a correction is a
new record pointing at the old one, with its reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, selectinload

from competency_framework.models import Competency, NodeKind
from competency_framework.operations import current_framework
from lms_plugin.core import audit
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import Role, User
from lms_plugin.practice.models import (
    AreaJudgement,
    Countersignature,
    CountersignDecision,
    PanelCase,
    PanelDecision,
    PanelStatus,
    Placement,
    PracticeReview,
    Recommendation,
    ReviewJudgement,
    ReviewKind,
)
from lms_plugin.practice.operations.access import mentor_placement
from lms_plugin.practice.operations.chain import seal
from lms_plugin.practice.operations.guards import write_once
from lms_plugin.practice.operations.logbook import MAX_TEXT, is_corrected


def practice_areas(session: Session) -> list[Competency]:
    """The competency areas of the current framework, in the framework's order: what a review judges."""
    framework = current_framework(session)
    if framework is None:
        return []
    return list(session.scalars(select(Competency).where(
        Competency.framework_id == framework.id, Competency.kind == NodeKind.AREA, Competency.retired.is_(False))
        .order_by(Competency.sort_order, Competency.code)))


def _text(value: str | None, field: str, message: str | None = None) -> str:
    value = (value or "").strip()
    if message is not None and not value:
        raise OperationError(message, field=field)
    if len(value) > MAX_TEXT:
        raise OperationError(_l("Keep each text under %(n)d characters.", n=MAX_TEXT), field=field)
    return value


def review_placement(session: Session, mentor: User, cadet: User, kind: ReviewKind, today: dt.date,
                     grace_days: int) -> Placement:
    """The placement a mentor may review now, or ``PermissionDenied`` saying why not.

    A mid-placement review is written during the placement; a final review during it or up to
    ``grace_days`` after it ended (the mentor's only signature allowed after the end).
    """
    placement = mentor_placement(session, mentor, cadet, today, grace_days if kind is ReviewKind.FINAL else 0)
    if placement is None:
        if kind is ReviewKind.FINAL:
            raise PermissionDenied(_l("A final review can be signed during the placement or within %(n)d days "
                                      "after it ends.", n=grace_days))
        raise PermissionDenied(_l("You can sign only for cadets in your current placements."))
    return placement


def record_review(session: Session, mentor: User, cadet: User, *, kind: ReviewKind,
                  judgements: dict[int, tuple[AreaJudgement, str]], summary: str,
                  recommendation: Recommendation | None, today: dt.date, grace_days: int,
                  corrects: PracticeReview | None = None, reason: str = "") -> PracticeReview:
    """The mentor signs a review: a judgement for every competency area, an overall summary and,
    in a final review, the recommendation. With ``corrects``, a corrected version of an own review."""
    require(mentor, Capability.SIGN_OFF_PRACTICE)
    if cadet.role is not Role.CADET:
        raise OperationError(_l("%(name)s is not a cadet.", name=cadet.full_name))
    if mentor.id == cadet.id:
        raise PermissionDenied(_l("You cannot sign your own practice."))
    placement = review_placement(session, mentor, cadet, kind, today, grace_days)
    areas = practice_areas(session)
    if not areas:
        raise Conflict(_l("There is no published competency framework to review against."))
    rows = []
    for order, area in enumerate(areas):
        if area.id not in judgements:
            raise OperationError(_l("Give a judgement for every competency area (%(area)s is missing).",
                                    area=area.code), field=f"area_{area.id}")
        judgement, comment = judgements[area.id]
        comment = _text(comment, f"area_{area.id}_comment")
        if judgement is AreaJudgement.CONCERN and not comment:
            raise OperationError(_l("Say what causes concern in %(area)s.", area=area.code),
                                 field=f"area_{area.id}_comment")
        rows.append(ReviewJudgement(area_id=area.id, area_code=area.code, sort_order=order, judgement=judgement,
                                    comment=comment))
    summary = _text(summary, "summary", _l("Write an overall summary."))
    if kind is ReviewKind.FINAL and recommendation is None:
        raise OperationError(_l("A final review must say whether the cadet is ready to progress."),
                             field="recommendation")
    if kind is ReviewKind.MID:
        recommendation = None
    if corrects is not None:
        reason = _text(reason, "reason", _l("Say why the record is corrected."))
        if corrects.signer_id != mentor.id:
            raise PermissionDenied(_l("Only the person who signed a record can correct it."))
        if corrects.placement_id != placement.id or corrects.kind is not kind:
            raise OperationError(_l("A correction replaces the same review of the same placement."))
        if is_corrected(session, PracticeReview, corrects.id):
            raise Conflict(_l("This record has already been corrected; correct the newest version."))
        if session.scalar(select(exists().where(Countersignature.review_id == corrects.id))):
            raise Conflict(_l("This final review has been countersigned; a change now goes through the "
                              "review panel."))
    taken = (_l("This record has already been corrected; correct the newest version.") if corrects is not None
             else _l("This review has already been signed for this placement; correct it instead."))
    if corrects is None and session.scalar(select(exists().where(
            PracticeReview.placement_id == placement.id, PracticeReview.kind == kind,
            PracticeReview.corrects_id.is_(None)))):
        raise Conflict(taken)
    with write_once(session, taken):
        review = PracticeReview(placement=placement, placement_id=placement.id, cadet_id=cadet.id, kind=kind, signer_id=mentor.id,
                                signer_role=mentor.role.value, summary=summary, recommendation=recommendation,
                                corrects_id=corrects.id if corrects is not None else None,
                                correction_reason=reason.strip() if corrects is not None else "",
                                signed_at=utcnow(), judgements=rows)
        seal(session, review)
    audit.record(session, mentor, "practice.review_corrected" if corrects is not None else "practice.review",
                 review, kind=kind.value, placement=placement.id,
                 recommendation=recommendation.value if recommendation else None,
                 corrects=corrects.id if corrects is not None else None)
    return review


def latest_version(session: Session, model: type, record):
    """Follow a record's corrections to the version in force."""
    while True:
        newer = session.scalar(select(model).where(model.corrects_id == record.id))
        if newer is None:
            return record
        record = newer


def standing(model: type):
    """A WHERE clause: records of ``model`` that no correction replaces."""
    from sqlalchemy.orm import aliased

    newer = aliased(model)
    return ~exists().where(newer.corrects_id == model.id)


def _is_party(session: Session, user: User, review: PracticeReview) -> bool:
    """Whether ``user`` mentors the cadet (in any placement) or signed this review."""
    if user.id == review.signer_id:
        return True
    return bool(session.scalar(select(exists().where(Placement.cadet_id == review.cadet_id,
                                                     Placement.mentor_id == user.id))))


def countersign(session: Session, assessor: User, review: PracticeReview, *, decision: CountersignDecision,
                comment: str) -> Countersignature:
    """A Training Centre assessor countersigns a final review. Disagreeing opens a review panel case."""
    require(assessor, Capability.COUNTERSIGN_PRACTICE)
    if review.kind is not ReviewKind.FINAL:
        raise OperationError(_l("Only final reviews are countersigned."))
    if _is_party(session, assessor, review):
        raise PermissionDenied(_l("The assessor who countersigns must not be the cadet's mentor."))
    if is_corrected(session, PracticeReview, review.id):
        raise Conflict(_l("This review has been corrected; countersign the newest version."))
    comment = _text(comment, "comment",
                    _l("Give your reasons for disagreeing.") if decision is CountersignDecision.DISAGREE else None)
    taken = _l("This review has already been countersigned.")
    if session.scalar(select(exists().where(Countersignature.review_id == review.id))):
        raise Conflict(taken)
    with write_once(session, taken):
        signature = Countersignature(review=review, review_id=review.id, cadet_id=review.cadet_id, signer_id=assessor.id,
                                     signer_role=assessor.role.value, decision=decision, comment=comment,
                                     signed_at=utcnow(), correction_reason="")
        seal(session, signature)
        if decision is CountersignDecision.DISAGREE:
            _open_case(session, review, signature)
    audit.record(session, assessor, "practice.countersigned", signature, review=review.id, decision=decision.value)
    return signature


def _open_case(session: Session, review: PracticeReview, signature: Countersignature) -> PanelCase:
    case = session.scalar(select(PanelCase).where(PanelCase.review_id == review.id))
    if case is None:
        case = PanelCase(cadet_id=review.cadet_id, review_id=review.id, countersignature=signature,
                         status=PanelStatus.OPEN, opened_at=utcnow())
        session.add(case)
    else:  # reopened after a correction
        case.status, case.countersignature, case.opened_at, case.decided_at = (
            PanelStatus.OPEN, signature, utcnow(), None)
    session.flush()
    audit.record(session, None, "practice.panel_case_opened", case, review=review.id, countersignature=signature.id)
    return case


def correct_countersignature(session: Session, assessor: User, old: Countersignature, *,
                             decision: CountersignDecision, comment: str, reason: str) -> Countersignature:
    """The assessor who countersigned replaces the countersignature, before any panel decision."""
    require(assessor, Capability.COUNTERSIGN_PRACTICE)
    if old.signer_id != assessor.id:
        raise PermissionDenied(_l("Only the person who signed a record can correct it."))
    reason = _text(reason, "reason", _l("Say why the record is corrected."))
    comment = _text(comment, "comment",
                    _l("Give your reasons for disagreeing.") if decision is CountersignDecision.DISAGREE else None)
    superseded = _l("This record has already been corrected; correct the newest version.")
    if is_corrected(session, Countersignature, old.id):
        raise Conflict(superseded)
    case = session.scalar(select(PanelCase).where(PanelCase.review_id == old.review_id))
    if case is not None and case.status is PanelStatus.DECIDED:
        raise Conflict(_l("The review panel has decided this case; the countersignature can no longer change."))
    with write_once(session, superseded):
        signature = Countersignature(review=old.review, review_id=old.review_id, cadet_id=old.cadet_id, signer_id=assessor.id,
                                     signer_role=assessor.role.value, decision=decision, comment=comment,
                                     signed_at=utcnow(), corrects_id=old.id, correction_reason=reason)
        seal(session, signature)
        if decision is CountersignDecision.DISAGREE:
            _open_case(session, old.review, signature)
        elif case is not None and case.status is PanelStatus.OPEN:
            case.status, case.decided_at = PanelStatus.WITHDRAWN, utcnow()
            session.flush()
            audit.record(session, assessor, "practice.panel_case_withdrawn", case, reason=reason)
    audit.record(session, assessor, "practice.countersignature_corrected", signature, corrects=old.id,
                 decision=decision.value, reason=reason)
    return signature


def require_panel_member(session: Session, member: User, case: PanelCase) -> None:
    require(member, Capability.DECIDE_PANEL)
    signers = {c.signer_id for c in session.scalars(select(Countersignature).where(
        Countersignature.review_id == case.review_id))}
    if member.id in signers or _is_party(session, member, case.review):
        raise PermissionDenied(_l("Someone who signed the review or its countersignature cannot decide the "
                                  "panel case."))


def decide_panel(session: Session, member: User, case: PanelCase, *, decision: Recommendation, reasons: str,
                 members: str) -> PanelDecision:
    """The review panel's decision on an open case, with its reasons: open → decided."""
    require_panel_member(session, member, case)
    reasons = _text(reasons, "reasons", _l("The panel's reasons are required."))
    members = _text(members, "members")
    taken = _l("The panel has already decided this case.")
    if case.status is not PanelStatus.OPEN:
        raise Conflict(taken)
    with write_once(session, taken):
        moved = session.execute(update(PanelCase).where(PanelCase.id == case.id, PanelCase.status == PanelStatus.OPEN)
                                .values(status=PanelStatus.DECIDED, decided_at=utcnow())
                                .execution_options(synchronize_session="fetch"))
        if moved.rowcount != 1:
            raise Conflict(taken)
        record = PanelDecision(case=case, case_id=case.id, cadet_id=case.cadet_id, signer_id=member.id,
                               signer_role=member.role.value, decision=decision, reasons=reasons, members=members,
                               signed_at=utcnow(), correction_reason="")
        seal(session, record)
    audit.record(session, member, "practice.panel_decided", record, case=case.id, decision=decision.value)
    return record


def correct_panel_decision(session: Session, member: User, old: PanelDecision, *, decision: Recommendation,
                           reasons: str, members: str, reason: str) -> PanelDecision:
    """A panel decision replaced by a corrected one (a wrong click, a misrecorded member), with the reason."""
    require_panel_member(session, member, old.case)
    reason = _text(reason, "reason", _l("Say why the record is corrected."))
    reasons = _text(reasons, "reasons", _l("The panel's reasons are required."))
    members = _text(members, "members")
    superseded = _l("This record has already been corrected; correct the newest version.")
    if is_corrected(session, PanelDecision, old.id):
        raise Conflict(superseded)
    with write_once(session, superseded):
        record = PanelDecision(case=old.case, case_id=old.case_id, cadet_id=old.cadet_id, signer_id=member.id,
                               signer_role=member.role.value, decision=decision, reasons=reasons, members=members,
                               signed_at=utcnow(), corrects_id=old.id, correction_reason=reason)
        seal(session, record)
    audit.record(session, member, "practice.panel_decision_corrected", record, corrects=old.id,
                 decision=decision.value, reason=reason)
    return record


# --- where a final review stands -----------------------------------------------------------------------

@dataclass
class Progression:
    """A final review (the version in force) and what became of it."""

    review: PracticeReview
    countersignature: Countersignature | None
    case: PanelCase | None
    decision: PanelDecision | None

    @property
    def state(self) -> str:
        if self.decision is not None:
            return "panel_decided"
        if self.case is not None and self.case.status is PanelStatus.OPEN:
            return "with_panel"
        if self.countersignature is None:
            return "awaiting_countersignature"
        return "countersigned"

    @property
    def outcome(self) -> Recommendation | None:
        """The progression decision in force, if there is one yet."""
        if self.decision is not None:
            return self.decision.decision
        if self.countersignature is not None and self.countersignature.decision is CountersignDecision.AGREE:
            return self.review.recommendation
        return None


def progression_of(session: Session, review: PracticeReview) -> Progression:
    review = latest_version(session, PracticeReview, review)
    signature = session.scalar(select(Countersignature).where(Countersignature.review_id == review.id,
                                                              standing(Countersignature)))
    case = session.scalar(select(PanelCase).where(PanelCase.review_id == review.id))
    decision = None
    if case is not None:
        decision = session.scalar(select(PanelDecision).where(PanelDecision.case_id == case.id,
                                                              standing(PanelDecision)))
    return Progression(review, signature, case, decision)


def final_reviews_awaiting_countersignature(session: Session) -> list[PracticeReview]:
    return list(session.scalars(
        select(PracticeReview).where(PracticeReview.kind == ReviewKind.FINAL, standing(PracticeReview),
                                     ~exists().where(Countersignature.review_id == PracticeReview.id))
        .options(selectinload(PracticeReview.cadet), selectinload(PracticeReview.signer),
                 selectinload(PracticeReview.placement).selectinload(Placement.unit))
        .order_by(PracticeReview.signed_at)))


def panel_cases(session: Session, status: PanelStatus | None = None) -> list[PanelCase]:
    query = select(PanelCase).options(selectinload(PanelCase.cadet), selectinload(PanelCase.review),
                                      selectinload(PanelCase.countersignature))
    if status is not None:
        query = query.where(PanelCase.status == status)
    return list(session.scalars(query.order_by(PanelCase.opened_at.desc())))


def reviews_of(session: Session, cadet_id: int) -> list[PracticeReview]:
    return list(session.scalars(select(PracticeReview).where(PracticeReview.cadet_id == cadet_id)
                                .options(selectinload(PracticeReview.judgements),
                                         selectinload(PracticeReview.signer),
                                         selectinload(PracticeReview.countersignatures))
                                .order_by(PracticeReview.signed_at)))
