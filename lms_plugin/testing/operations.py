"""Sitting a psychometric test: start, answer as you go, submit, score against norms."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from competency_framework.models import EvidenceSource
from competency_framework.operations import competencies_by_code, current_framework, record_evidence
from lms_plugin.core import audit, outages
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import Cohort, User
from lms_plugin.testing.models import (
    Answer,
    InstrumentRecord,
    NormObservation,
    NormSampleResponse,
    Sitting,
    SittingStatus,
    SubscaleResult,
    TestAssignment,
)
from psychometrics import Instrument, InvalidResponse, NormTable, band_for_t, load_instrument, score_instrument
from psychometrics.instrument import localise

NORM_GROUP = "cadets"
# Norm groups are stored by key; people read them by these names.
NORM_GROUP_LABELS = {"cadets": _l("cadets"), "officers": _l("serving officers")}


def norm_group_label(group: str) -> str:
    """A norm group's name in the person's language (an unknown key is shown as it is stored)."""
    return str(NORM_GROUP_LABELS.get(group, group))


# How a sitting's state is named on the administrator's and the psychologist's pages.
SITTING_STATUS_LABELS = {
    "none": _l("not started"),
    SittingStatus.NOT_STARTED.value: _l("reopened, not started yet"),
    SittingStatus.IN_PROGRESS.value: _l("in progress"),
    SittingStatus.SUBMITTED.value: _l("submitted"),
    "time_over": _l("time over, not scored yet"),
}


_instruments: dict[tuple[str, int], Instrument] = {}


def instrument_of(record: InstrumentRecord) -> Instrument:
    """The parsed instrument of a stored definition, cached: a stored code and version never change."""
    key = (record.code, record.version)
    if key not in _instruments:
        _instruments[key] = load_instrument(record.definition)
    return _instruments[key]


def assignments_for(session: Session, person: User) -> list[TestAssignment]:
    if person.cohort_id is None:
        return []
    return list(session.scalars(select(TestAssignment).where(TestAssignment.cohort_id == person.cohort_id)
                                .order_by(TestAssignment.opens_at)))


def latest_sitting(session: Session, assignment: TestAssignment, person: User) -> Sitting | None:
    return session.scalar(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                Sitting.person_id == person.id)
                          .order_by(Sitting.attempt.desc()).limit(1))


def submitted_sittings(session: Session, assignment: TestAssignment, person: User) -> list[Sitting]:
    """Every submitted attempt of the person, first attempt first: a reopened test keeps its earlier results."""
    return list(session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                      Sitting.person_id == person.id,
                                                      Sitting.status == SittingStatus.SUBMITTED)
                                .order_by(Sitting.attempt)))


def item_order(instrument: Instrument, assignment: TestAssignment, person_id: int, attempt: int) -> list[str]:
    """The order of items for one sitting: the instrument's, or shuffled with a seed of this very sitting."""
    order = [item.id for item in instrument.items]
    if assignment.randomise_items:
        random.Random(f"{assignment.id}:{person_id}:{attempt}").shuffle(order)
    return order


def _deadline(assignment: TestAssignment, now: dt.datetime, *, reopened: bool = False) -> dt.datetime | None:
    """The end of the time limit, never after the window closes.

    A reopened attempt started after the window closed keeps only its time limit: staff decided to allow it.
    """
    ends = []
    if assignment.time_limit_minutes:
        ends.append(now + dt.timedelta(minutes=assignment.time_limit_minutes))
    if not (reopened and assignment.closes_at < now):
        ends.append(assignment.closes_at)
    return min(ends) if ends else None


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(SERVICE_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def start_or_resume(session: Session, person: User, assignment: TestAssignment,
                    now: dt.datetime | None = None) -> Sitting:
    """Resume the open sitting, begin a reopened one, or start a new attempt while the window is open.

    The attempt policy decides whether a submitted sitting may be followed by another one:
    one attempt only, or another attempt ``retake_after_days`` after the last submission.
    Two tabs starting at the same moment get the same sitting.
    """
    require(person, Capability.TAKE_TESTS)
    now = now or utcnow()
    if person.cohort_id != assignment.cohort_id:
        raise PermissionDenied(_l("This test is not assigned to you."))
    existing = latest_sitting(session, assignment, person)
    attempt = 1
    if existing is not None:
        if existing.status is SittingStatus.IN_PROGRESS:
            return existing  # an expired one is scored by the next page it asks for (finish_if_expired)
        if existing.status is SittingStatus.NOT_STARTED:
            return begin(session, person, existing, now)
        retake_at = assignment.retake_opens_at(existing)
        if retake_at is None:
            raise Conflict(_l("You have already submitted this test."))
        if now < retake_at:
            raise Conflict(_l("You can take this test again from %(date)s.", date=_local(retake_at)))
        attempt = existing.attempt + 1
    if not assignment.is_open(now):
        raise Conflict(_l("This test is not open now."))
    instrument = instrument_of(assignment.instrument)
    sitting = Sitting(assignment=assignment, person_id=person.id, attempt=attempt,
                      status=SittingStatus.IN_PROGRESS,
                      item_order=item_order(instrument, assignment, person.id, attempt),
                      position=0, started_at=now, deadline_at=_deadline(assignment, now))
    try:
        with session.begin_nested():
            session.add(sitting)
            session.flush()
    except IntegrityError:  # a second tab started the same attempt at the same moment
        found = latest_sitting(session, assignment, person)
        assert found is not None
        return found
    audit.record(session, person, "psychometrics.sitting_started", sitting, assignment=assignment.id,
                 attempt=attempt)
    return sitting


def begin(session: Session, person: User, sitting: Sitting, now: dt.datetime | None = None) -> Sitting:
    """not_started → in_progress: the person begins a reopened attempt; the time limit runs from now."""
    now = now or utcnow()
    if sitting.person_id != person.id:
        raise PermissionDenied(_l("This is not your test."))
    flipped = session.execute(
        Sitting.__table__.update().where(Sitting.__table__.c.id == sitting.id,
                                         Sitting.__table__.c.status == SittingStatus.NOT_STARTED.value)
        .values(status=SittingStatus.IN_PROGRESS.value, started_at=now,
                deadline_at=_deadline(sitting.assignment, now, reopened=True)))
    session.refresh(sitting)
    if flipped.rowcount == 1:
        audit.record(session, person, "psychometrics.sitting_started", sitting, assignment=sitting.assignment_id,
                     attempt=sitting.attempt, reopened_from=sitting.reopened_from_id)
    elif sitting.status is not SittingStatus.IN_PROGRESS:  # another tab began it: fine; anything else is not
        raise Conflict(_l("This test has already been submitted."))
    return sitting


def is_expired(sitting: Sitting, now: dt.datetime | None = None) -> bool:
    """In progress, with a deadline that has passed."""
    now = now or utcnow()
    return (sitting.status is SittingStatus.IN_PROGRESS and sitting.deadline_at is not None
            and now > sitting.deadline_at)


def credit_outages(sitting: Sitting, now: dt.datetime | None = None) -> dt.timedelta:
    """Move a running sitting's deadline on by the time the server could not serve (a busy
    database refused requests) since the sitting started or was last credited.

    Each outage is credited once: ``credited_through`` marks how far the sitting has been credited.
    """
    now = now or utcnow()
    if sitting.status is not SittingStatus.IN_PROGRESS or sitting.deadline_at is None:
        return dt.timedelta()
    start = max(sitting.credited_through or sitting.started_at, sitting.started_at)
    deadline, lost = sitting.deadline_at, dt.timedelta()
    # Outages after the deadline count only as far as earlier credit has moved the deadline past them.
    while start < min(now, deadline):
        more = outages.within(start, min(now, deadline))
        if more <= dt.timedelta():
            break
        lost += more
        start, deadline = min(now, deadline), deadline + more
    if lost > dt.timedelta():
        sitting.deadline_at = deadline
        sitting.credited_through = now
    return lost


def finish_if_expired(session: Session, sitting: Sitting, now: dt.datetime | None = None) -> bool:
    """Submit what was saved in time once the deadline has passed. True if this call closed the sitting.

    Called by whatever request touches the sitting next (the person's pages, the autosave API,
    staff pages), so an abandoned tab does not leave a sitting open for ever. Outage time is
    credited first (``credit_outages``).
    """
    now = now or utcnow()
    credit_outages(sitting, now)
    if not is_expired(sitting, now):
        return False
    return _close_and_score(session, None, sitting, now, auto=True) is not None


def finish_expired_sittings(session: Session, actor: User, assignment: TestAssignment,
                            now: dt.datetime | None = None) -> int:
    """Staff: score every sitting of the assignment whose time is over. Returns how many were closed."""
    require(actor, Capability.MANAGE_TESTS)
    now = now or utcnow()
    closed = 0
    expired = session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                    Sitting.status == SittingStatus.IN_PROGRESS,
                                                    Sitting.deadline_at < now)).all()
    for sitting in expired:
        if finish_if_expired(session, sitting, now):
            closed += 1
    audit.record(session, actor, "psychometrics.expired_sittings_scored", assignment, closed=closed)
    session.flush()
    return closed


def _require_open(sitting: Sitting, person: User, now: dt.datetime) -> None:
    if sitting.person_id != person.id:
        raise PermissionDenied(_l("This is not your test."))
    if sitting.status is SittingStatus.SUBMITTED:
        raise Conflict(_l("This test has already been submitted; answers can no longer change."))
    if sitting.status is not SittingStatus.IN_PROGRESS:
        raise Conflict(_l("Start the test first."))
    if sitting.deadline_at is not None and now > sitting.deadline_at:
        raise Conflict(_l("The time for this test is over. Your saved answers will be scored."))


def save_answer(session: Session, person: User, sitting: Sitting, item_id: str, value: Any,
                now: dt.datetime | None = None) -> Answer:
    """Validate and store one answer; the latest answer to an item wins."""
    now = now or utcnow()
    _require_open(sitting, person, now)
    instrument = instrument_of(sitting.assignment.instrument)
    try:
        key = instrument.validate_response(item_id, value)
    except InvalidResponse:
        raise OperationError(_l("That answer is not one of the options for item %(item)s.", item=item_id),
                             field=item_id) from None
    if item_id not in sitting.item_order:
        raise OperationError(_l("Item %(item)s is not part of this test.", item=item_id), field=item_id)
    answer = session.scalar(select(Answer).where(Answer.sitting_id == sitting.id, Answer.item_id == item_id))
    if answer is None:
        answer = Answer(sitting_id=sitting.id, item_id=item_id, value=key, answered_at=now)
        try:
            with session.begin_nested():
                session.add(answer)
                session.flush()
            return answer
        except IntegrityError:  # the same item saved at the same moment from another tab: the latest wins
            answer = session.scalar(select(Answer).where(Answer.sitting_id == sitting.id,
                                                         Answer.item_id == item_id))
            assert answer is not None
    answer.value, answer.answered_at = key, now
    session.flush()
    return answer


def move_to(session: Session, person: User, sitting: Sitting, position: int) -> None:
    """Remember where the person is, so that leaving and coming back resumes there."""
    _require_open(sitting, person, utcnow())
    sitting.position = max(0, min(position, len(sitting.item_order) - 1))
    session.flush()


def count_answers(session: Session, sitting: Sitting) -> int:
    return session.scalar(select(func.count(Answer.id)).where(Answer.sitting_id == sitting.id)) or 0


def answers_of(session: Session, sitting: Sitting) -> dict[str, str]:
    return dict(session.execute(select(Answer.item_id, Answer.value).where(Answer.sitting_id == sitting.id)).all())


def norm_tables(session: Session, instrument_code: str, group: str = NORM_GROUP) -> dict[str, NormTable]:
    rows = session.execute(select(NormObservation.subscale, NormObservation.score).where(
        NormObservation.instrument_code == instrument_code, NormObservation.group == group)).all()
    by_subscale: dict[str, list[float]] = {}
    for subscale, score in rows:
        by_subscale.setdefault(subscale, []).append(score)
    tables = {}
    for code, scores in by_subscale.items():
        try:
            tables[code] = NormTable.from_scores(group, code, scores)
        except ValueError:  # fewer than two scores, or no spread: no norm for this subscale
            continue
    return tables


def reference_groups(session: Session, instrument_code: str) -> list[str]:
    """The norm groups of the reference sample that bands can be given against."""
    return list(session.scalars(select(NormObservation.group).where(
        NormObservation.instrument_code == instrument_code).distinct().order_by(NormObservation.group)))


def submit(session: Session, person: User, sitting: Sitting, now: dt.datetime | None = None) -> list[SubscaleResult]:
    """Score and close the sitting. A submit after the deadline scores what was saved in time."""
    now = now or utcnow()
    if sitting.person_id != person.id:
        raise PermissionDenied(_l("This is not your test."))
    if sitting.status is SittingStatus.SUBMITTED:
        raise Conflict(_l("This test has already been submitted."))
    results = _close_and_score(session, person, sitting, now, auto=is_expired(sitting, now))
    if results is None:
        raise Conflict(_l("This test has already been submitted."))
    return results


def _close_and_score(session: Session, actor: User | None, sitting: Sitting, now: dt.datetime, *,
                     auto: bool) -> list[SubscaleResult] | None:
    """in_progress → submitted, then score against the assignment's norm group and record evidence.

    Returns None when another request closed the sitting first (only the one that flips the status goes on).
    """
    flipped = session.execute(
        Sitting.__table__.update().where(Sitting.__table__.c.id == sitting.id,
                                         Sitting.__table__.c.status == SittingStatus.IN_PROGRESS.value)
        .values(status=SittingStatus.SUBMITTED.value, submitted_at=now, auto_submitted=auto))
    session.refresh(sitting)
    if flipped.rowcount != 1:
        return None
    record = sitting.assignment.instrument
    instrument = instrument_of(record)
    scores = score_instrument(instrument, answers_of(session, sitting))
    norms = norm_tables(session, record.code, sitting.assignment.norm_group)
    results = []
    for code, score in scores.items():
        result = SubscaleResult(sitting=sitting, subscale=code, n_items=score.n_items,
                                n_answered=score.n_answered, scored=score.scored, raw=score.raw,
                                score=score.score, percent=score.percent)
        norm = norms.get(code)
        if score.scored and norm is not None and instrument.bands:
            assert score.score is not None
            result.t_score = round(norm.t(score.score), 1)
            result.percentile = round(norm.percentile_rank(score.score), 1)
            result.band = band_for_t(result.t_score, instrument.bands).code
            result.norm_group = norm.group
        session.add(result)
        results.append(result)
    session.flush()
    _record_evidence(session, sitting.person, instrument, sitting, results)
    audit.record(session, actor, "psychometrics.sitting_submitted", sitting,
                 answered=sum(r.n_answered for r in results), auto=auto or None)
    return results


# A band turns into a proficiency level on the framework's scale (1–5): a screening
# test alone never shows more than independent practice.
_BAND_LEVEL = {"development": 1, "typical": 2, "strength": 3}


def _record_evidence(session: Session, person: User, instrument: Instrument, sitting: Sitting,
                     results: list[SubscaleResult]) -> None:
    framework = current_framework(session)
    if framework is None:
        return
    for result in results:
        if not result.scored or result.band is None:
            continue
        subscale = instrument.subscale(result.subscale)
        try:
            competencies = competencies_by_code(session, framework, subscale.competencies)
        except ValueError:
            continue  # the subscale points at codes this framework version does not have
        for competency in competencies:
            record_evidence(session, person_id=person.id, competency=competency,
                            source=EvidenceSource.PSYCHOMETRIC, recorded_by_id=None,
                            level=_BAND_LEVEL.get(result.band), source_ref=f"sitting:{sitting.id}",
                            note=f"{instrument.code} {subscale.code}: {result.band}")


@dataclass(frozen=True)
class ResultView:
    """What a viewer may see of one subscale result (bands for most, raw scores only with the capability)."""

    subscale: str
    title: str
    band: str | None
    band_title: str | None
    feedback: str | None
    scored: bool
    percent: float | None = None
    score: float | None = None
    t_score: float | None = None
    percentile: float | None = None
    n_answered: int | None = None
    n_items: int | None = None


def result_views(instrument: Instrument, results: list[SubscaleResult], language: str, *,
                 include_scores: bool, include_feedback: bool) -> list[ResultView]:
    band_titles = {band.code: localise(band.title, language) for band in instrument.bands}
    views = []
    by_code = {result.subscale: result for result in results}
    for subscale in instrument.subscales:
        result = by_code.get(subscale.code)
        if result is None:
            continue
        feedback = None
        if include_feedback and result.band and result.band in subscale.feedback:
            feedback = localise(subscale.feedback[result.band], language)
        extra: Mapping[str, Any] = {}
        if include_scores:
            extra = dict(percent=result.percent, score=result.score, t_score=result.t_score,
                         percentile=result.percentile, n_answered=result.n_answered, n_items=result.n_items)
        views.append(ResultView(subscale.code, localise(subscale.title, language), result.band,
                                band_titles.get(result.band) if result.band else None, feedback,
                                result.scored, **extra))
    return views


def register_instrument(session: Session, definition: Mapping[str, Any]) -> InstrumentRecord:
    """Store a validated instrument definition. A stored code and version is never replaced."""
    instrument = load_instrument(definition)
    existing = session.scalar(select(InstrumentRecord).where(InstrumentRecord.code == instrument.code,
                                                             InstrumentRecord.version == instrument.version))
    if existing is not None:
        return existing
    record = InstrumentRecord(code=instrument.code, version=instrument.version,
                              title_en=instrument.title.get("en", ""), title_lt=instrument.title.get("lt", ""),
                              definition=dict(definition))
    session.add(record)
    session.flush()
    return record


def _check_window(opens_at: dt.datetime, closes_at: dt.datetime) -> None:
    if closes_at <= opens_at:
        raise OperationError(_l("The test must close after it opens."), field="closes_at")


def assign_instrument(session: Session, actor: User | None, *, record: InstrumentRecord, cohort_id: int,
                      opens_at: dt.datetime, closes_at: dt.datetime, time_limit_minutes: int | None = None,
                      randomise_items: bool = False, retake_after_days: int | None = None,
                      norm_group: str = NORM_GROUP) -> TestAssignment:
    """Assign an instrument to a cohort for a window. ``actor`` None is the system (demo loader, CLI)."""
    if actor is not None:
        require(actor, Capability.MANAGE_TESTS)
    _check_window(opens_at, closes_at)
    if time_limit_minutes is not None and time_limit_minutes < 1:
        raise OperationError(_l("A time limit is at least one minute."), field="time_limit_minutes")
    if retake_after_days is not None and retake_after_days < 1:
        raise OperationError(_l("A retake can be allowed after one day at the earliest."), field="retake_after_days")
    if session.get(Cohort, cohort_id) is None:
        raise OperationError(_l("Choose a cohort."), field="cohort")
    groups = reference_groups(session, record.code)
    if groups and norm_group not in groups:
        raise OperationError(_l("There is no norm group %(group)s for this test.", group=norm_group),
                             field="norm_group")
    assignment = TestAssignment(instrument=record, cohort_id=cohort_id, opens_at=opens_at, closes_at=closes_at,
                                time_limit_minutes=time_limit_minutes, randomise_items=randomise_items,
                                retake_after_days=retake_after_days, norm_group=norm_group)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "psychometrics.assigned", assignment, instrument=record.code, cohort=cohort_id,
                 opens_at=opens_at.isoformat(), closes_at=closes_at.isoformat(), time_limit=time_limit_minutes,
                 randomise=randomise_items, retake_after_days=retake_after_days, norm_group=norm_group)
    return assignment


def reschedule_assignment(session: Session, actor: User, assignment: TestAssignment, *, opens_at: dt.datetime,
                          closes_at: dt.datetime) -> TestAssignment:
    """Move the window (e.g. extend it for an intake). Open sittings get the new closing time as their limit."""
    require(actor, Capability.MANAGE_TESTS)
    _check_window(opens_at, closes_at)
    previous = (assignment.opens_at, assignment.closes_at)
    assignment.opens_at, assignment.closes_at = opens_at, closes_at
    for sitting in session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                         Sitting.status == SittingStatus.IN_PROGRESS)):
        sitting.deadline_at = _deadline(assignment, sitting.started_at, reopened=sitting.reopened_from_id is not None)
    session.flush()
    audit.record(session, actor, "psychometrics.rescheduled", assignment,
                 previous=[moment.isoformat() for moment in previous],
                 opens_at=opens_at.isoformat(), closes_at=closes_at.isoformat())
    return assignment


REOPEN_REASON_MAX = 1000


def reopen_sitting(session: Session, actor: User, sitting: Sitting, reason: str,
                   now: dt.datetime | None = None) -> Sitting:
    """Staff allow another attempt after a submitted one, for a recorded reason.

    The submitted attempt, its results and its evidence are kept; the new attempt is a new row
    (``not_started``) that points at it. The person begins it from their dashboard; a time limit
    runs from then.
    """
    require(actor, Capability.MANAGE_TESTS)
    now = now or utcnow()
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise OperationError(_l("Give the reason for reopening (at least a few words)."), field="reason")
    if len(reason) > REOPEN_REASON_MAX:
        raise OperationError(_l("Keep it under %(max)d characters.", max=REOPEN_REASON_MAX), field="reason")
    if sitting.status is not SittingStatus.SUBMITTED:
        raise Conflict(_l("Only a submitted attempt can be reopened."))
    assignment = sitting.assignment
    latest = latest_sitting(session, assignment, sitting.person)
    if latest is not None and latest.id != sitting.id:
        raise Conflict(_l("A later attempt exists already; reopen that one if needed."))
    attempt = sitting.attempt + 1
    instrument = instrument_of(assignment.instrument)
    new = Sitting(assignment=assignment, person_id=sitting.person_id, attempt=attempt,
                  status=SittingStatus.NOT_STARTED,
                  item_order=item_order(instrument, assignment, sitting.person_id, attempt),
                  position=0, started_at=now, deadline_at=None, reopened_from_id=sitting.id,
                  reopened_by_id=actor.id, reopen_reason=reason)
    try:
        with session.begin_nested():
            session.add(new)
            session.flush()
    except IntegrityError:
        raise Conflict(_l("A later attempt exists already; reopen that one if needed.")) from None
    audit.record(session, actor, "psychometrics.sitting_reopened", new, reopened_from=sitting.id,
                 person=sitting.person_id, reason=reason)
    return new


def add_norm_sample(session: Session, record: InstrumentRecord, group: str,
                    responses: Sequence[Mapping[str, str]], intake_year: int | None = None) -> int:
    """Store anonymised response patterns of a norm group, and their subscale scores as its reference sample.

    The patterns feed item analysis; the scores feed the norm tables bands are given against.
    Returns the number of scores added.
    """
    instrument = instrument_of(record)
    count = 0
    for pattern in responses:
        clean = {str(item_id): instrument.validate_response(str(item_id), key) for item_id, key in pattern.items()}
        session.add(NormSampleResponse(instrument_code=record.code, instrument_version=record.version, group=group,
                                       intake_year=intake_year, responses=clean))
        for code, score in score_instrument(instrument, clean).items():
            if score.scored and score.score is not None:
                session.add(NormObservation(instrument_code=record.code, group=group, subscale=code,
                                            score=score.score))
                count += 1
    session.flush()
    return count
