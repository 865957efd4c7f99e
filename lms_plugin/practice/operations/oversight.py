"""What needs attention: a mentor's sign-off queue, overdue requests, cadets at risk, accreditations
running out; and a cadet's practice as one timeline. Read-only; each list is a fixed number of
queries whatever the size of the service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lms_plugin.core.base import utcnow
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.collation import sort_key
from lms_plugin.core.people import Role, User
from lms_plugin.practice.models import (
    Countersignature,
    LogbookEntry,
    MentorProfile,
    PanelCase,
    PanelDecision,
    Placement,
    PracticeReview,
    RequestStatus,
    SignOff,
    SignOffOutcome,
    SignOffRequest,
)
from lms_plugin.practice.operations.logbook import standing_signoffs

DEFAULT_OVERDUE_DAYS = 7
DEFAULT_AT_RISK_SHARE = 0.6
DEFAULT_AT_RISK_MIN_ACHIEVED = 3
DEFAULT_ACCREDITATION_WARNING_DAYS = 60
LIST_LIMIT = 500


def _current(on: dt.date, *, mentor_id: int | None = None) -> Any:
    clause = and_(Placement.cadet_id == SignOffRequest.cadet_id, Placement.starts_on <= on, Placement.ends_on >= on)
    return clause if mentor_id is None else and_(clause, Placement.mentor_id == mentor_id)


def mentor_queue(session: Session, mentor: User, on: dt.date) -> list[SignOffRequest]:
    """Pending requests of the cadets placed with this mentor today (oldest first). Cadets from
    ended placements are not here: their mentor can no longer sign."""
    return list(session.scalars(
        select(SignOffRequest).join(Placement, _current(on, mentor_id=mentor.id))
        .where(SignOffRequest.status == RequestStatus.PENDING)
        .options(joinedload(SignOffRequest.cadet),
                 joinedload(SignOffRequest.entry).options(
                     joinedload(LogbookEntry.task), joinedload(LogbookEntry.request),
                     selectinload(LogbookEntry.attachments), selectinload(LogbookEntry.signoffs),
                     joinedload(LogbookEntry.recorded_by)))
        .order_by(SignOffRequest.requested_at, SignOffRequest.id).limit(LIST_LIMIT)).unique())


def mentor_queue_counts(session: Session, mentor: User, on: dt.date) -> dict[int, int]:
    """cadet id → how many of that cadet's requests are in :func:`mentor_queue` (same definition)."""
    return {cadet_id: count for cadet_id, count in session.execute(
        select(SignOffRequest.cadet_id, func.count(SignOffRequest.id))
        .join(Placement, _current(on, mentor_id=mentor.id))
        .where(SignOffRequest.status == RequestStatus.PENDING).group_by(SignOffRequest.cadet_id))}


def waiting_days(request: SignOffRequest, now: dt.datetime | None = None) -> int:
    return ((now or utcnow()) - request.requested_at).days


@dataclass
class OverdueRequest:
    request: SignOffRequest
    mentor: User | None
    days: int


def overdue_requests(session: Session, on: dt.date, days: int = DEFAULT_OVERDUE_DAYS) -> list[OverdueRequest]:
    """Requests pending for longer than ``days``, with the mentor who should sign now (if any)."""
    now = utcnow()
    rows = session.execute(
        select(SignOffRequest, User).outerjoin(Placement, _current(on))
        .outerjoin(User, User.id == Placement.mentor_id)
        .where(SignOffRequest.status == RequestStatus.PENDING,
               SignOffRequest.requested_at < now - dt.timedelta(days=days))
        .options(joinedload(SignOffRequest.cadet), joinedload(SignOffRequest.entry).joinedload(LogbookEntry.task))
        .order_by(SignOffRequest.requested_at).limit(LIST_LIMIT)).unique().all()
    return [OverdueRequest(request, mentor, waiting_days(request, now)) for request, mentor in rows]


@dataclass
class AtRiskCadet:
    cadet: User
    placement: Placement
    episode_start: dt.date
    elapsed_share: float
    achieved: int
    not_yet: int


def cadets_at_risk(session: Session, on: dt.date, share: float = DEFAULT_AT_RISK_SHARE,
                   min_achieved: int = DEFAULT_AT_RISK_MIN_ACHIEVED) -> list[AtRiskCadet]:
    """Cadets past ``share`` of their placement (counted from its first day, through any reassignment)
    with fewer than ``min_achieved`` different tasks signed as achieved in it."""
    current = session.scalars(select(Placement).where(Placement.starts_on <= on, Placement.ends_on >= on)
                              .options(joinedload(Placement.cadet), joinedload(Placement.mentor),
                                       joinedload(Placement.unit))).all()
    if not current:
        return []
    cadet_ids = [p.cadet_id for p in current]
    earlier = {p.id: p for p in session.scalars(select(Placement).where(Placement.cadet_id.in_(cadet_ids)))}
    episodes: dict[int, dt.date] = {}
    for placement in current:
        start, link = placement.starts_on, placement
        while link.previous_id is not None and link.previous_id in earlier:
            link = earlier[link.previous_id]
            start = link.starts_on
        episodes[placement.cadet_id] = start
    candidates = {}
    for placement in current:
        start = episodes[placement.cadet_id]
        total = (placement.ends_on - start).days + 1
        elapsed = (on - start).days + 1
        if total > 0 and elapsed / total >= share:
            candidates[placement.cadet_id] = (placement, start, elapsed / total)
    if not candidates:
        return []
    counts: dict[tuple[int, SignOffOutcome], int] = {}
    earliest = min(start for _, start, _ in candidates.values())
    for cadet_id, outcome, n in session.execute(
            select(SignOff.cadet_id, SignOff.outcome, func.count(distinct(SignOff.task_id)))
            .join(LogbookEntry, LogbookEntry.id == SignOff.entry_id)
            .where(SignOff.cadet_id.in_(list(candidates)), standing_signoffs(), LogbookEntry.performed_on >= earliest)
            .group_by(SignOff.cadet_id, SignOff.outcome)):
        counts[(cadet_id, outcome)] = n
    result = []
    for cadet_id, (placement, start, elapsed_share) in candidates.items():
        achieved = counts.get((cadet_id, SignOffOutcome.ACHIEVED), 0)
        if achieved < min_achieved:
            result.append(AtRiskCadet(placement.cadet, placement, start, elapsed_share, achieved,
                                      counts.get((cadet_id, SignOffOutcome.NOT_YET), 0)))
    return sorted(result, key=lambda row: (row.achieved, -row.elapsed_share, sort_key(row.cadet.full_name)))


@dataclass
class ExpiringMentor:
    mentor: User
    expires_on: dt.date
    days_left: int
    current_cadets: int


def accreditations_expiring(session: Session, on: dt.date,
                            days: int = DEFAULT_ACCREDITATION_WARNING_DAYS) -> list[ExpiringMentor]:
    """Active mentors whose accreditation runs out within ``days`` (or already has)."""
    load = (select(Placement.mentor_id, func.count(Placement.id).label("n"))
            .where(Placement.starts_on <= on, Placement.ends_on >= on).group_by(Placement.mentor_id).subquery())
    rows = session.execute(
        select(User, MentorProfile.accreditation_expires_on, func.coalesce(load.c.n, 0))
        .join(MentorProfile, MentorProfile.user_id == User.id).outerjoin(load, load.c.mentor_id == User.id)
        .where(User.role == Role.MENTOR, User.active.is_(True),
               MentorProfile.accreditation_expires_on <= on + dt.timedelta(days=days))
        .order_by(MentorProfile.accreditation_expires_on).limit(LIST_LIMIT)).all()
    return [ExpiringMentor(user, expires, (expires - on).days, n) for user, expires, n in rows]


# --- one timeline of a cadet's practice ----------------------------------------------------------------

@dataclass
class TimelineItem:
    when: dt.datetime
    kind: str
    record: Any
    extra: dict[str, Any] = field(default_factory=dict)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SERVICE_TIMEZONE)


def timeline(session: Session, cadet: User) -> list[TimelineItem]:
    """Placements, entries, requests, sign-offs, observations, reviews, countersignatures, panel cases and
    decisions, corrections included, in the order they happened (newest first)."""
    items: list[TimelineItem] = []
    for placement in session.scalars(select(Placement).where(Placement.cadet_id == cadet.id)
                                     .options(joinedload(Placement.mentor), joinedload(Placement.unit))):
        items.append(TimelineItem(_day_start(placement.starts_on), "placement", placement))
    entries = session.scalars(select(LogbookEntry).where(LogbookEntry.cadet_id == cadet.id)
                              .options(joinedload(LogbookEntry.task), selectinload(LogbookEntry.attachments),
                                       joinedload(LogbookEntry.recorded_by))).unique().all()
    for entry in entries:
        if not entry.is_observation:
            items.append(TimelineItem(entry.created_at, "entry", entry))
    for request in session.scalars(select(SignOffRequest).where(SignOffRequest.cadet_id == cadet.id)
                                   .options(joinedload(SignOffRequest.entry))):
        items.append(TimelineItem(request.requested_at, "request", request))
        if request.status is RequestStatus.WITHDRAWN and request.closed_at is not None:
            items.append(TimelineItem(request.closed_at, "request_withdrawn", request))
    for signoff in session.scalars(select(SignOff).where(SignOff.cadet_id == cadet.id)
                                   .options(joinedload(SignOff.signer), joinedload(SignOff.entry))):
        kind = "observation" if signoff.entry.is_observation and signoff.corrects_id is None else "signoff"
        items.append(TimelineItem(signoff.signed_at, kind, signoff))
    for review in session.scalars(select(PracticeReview).where(PracticeReview.cadet_id == cadet.id)
                                  .options(joinedload(PracticeReview.signer),
                                           selectinload(PracticeReview.judgements))):
        items.append(TimelineItem(review.signed_at, "review", review))
    for signature in session.scalars(select(Countersignature).where(Countersignature.cadet_id == cadet.id)
                                     .options(joinedload(Countersignature.signer))):
        items.append(TimelineItem(signature.signed_at, "countersignature", signature))
    for case in session.scalars(select(PanelCase).where(PanelCase.cadet_id == cadet.id)):
        items.append(TimelineItem(case.opened_at, "panel_case", case))
    for decision in session.scalars(select(PanelDecision).where(PanelDecision.cadet_id == cadet.id)
                                    .options(joinedload(PanelDecision.signer))):
        items.append(TimelineItem(decision.signed_at, "panel_decision", decision))
    order = {"placement": 0, "entry": 1, "request": 2, "observation": 3, "signoff": 3, "review": 4,
             "countersignature": 5, "panel_case": 6, "panel_decision": 7, "request_withdrawn": 8}
    return sorted(items, key=lambda item: (item.when, order[item.kind], getattr(item.record, "id", 0)),
                  reverse=True)
