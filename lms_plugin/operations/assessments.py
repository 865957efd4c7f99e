"""Sitting a psychometric test: start, answer as you go, submit, score against norms."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from competency_framework.base import utcnow
from competency_framework.models import EvidenceSource
from competency_framework.operations import competencies_by_code, current_framework, record_evidence
from lms_plugin.auth.capabilities import Capability
from lms_plugin.auth.permissions import require
from lms_plugin.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.models.assessments import (
    Answer,
    InstrumentRecord,
    NormObservation,
    Sitting,
    SittingStatus,
    SubscaleResult,
    TestAssignment,
)
from lms_plugin.models.people import User
from lms_plugin.operations import audit
from psychometrics import Instrument, InvalidResponse, NormTable, band_for_t, load_instrument, score_instrument
from psychometrics.instrument import localise

NORM_GROUP = "cadets"


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


def start_or_resume(session: Session, person: User, assignment: TestAssignment,
                    now: dt.datetime | None = None) -> Sitting:
    """Resume the open sitting, or start the first one while the window is open.

    One attempt per assignment: a submitted sitting is final.
    """
    require(person, Capability.TAKE_TESTS)
    now = now or utcnow()
    if person.cohort_id != assignment.cohort_id:
        raise PermissionDenied(_l("This test is not assigned to you."))
    existing = latest_sitting(session, assignment, person)
    if existing is not None:
        if existing.status is SittingStatus.SUBMITTED:
            raise Conflict(_l("You have already submitted this test."))
        return existing
    if not assignment.is_open(now):
        raise Conflict(_l("This test is not open now."))
    instrument = instrument_of(assignment.instrument)
    order = [item.id for item in instrument.items]
    if assignment.randomise_items:
        random.Random(f"{assignment.id}:{person.id}").shuffle(order)
    deadline = now + dt.timedelta(minutes=assignment.time_limit_minutes) if assignment.time_limit_minutes else None
    if deadline is not None:
        deadline = min(deadline, assignment.closes_at)
    sitting = Sitting(assignment=assignment, person_id=person.id, attempt=1, item_order=order,
                      position=0, started_at=now, deadline_at=deadline)
    try:
        with session.begin_nested():
            session.add(sitting)
            session.flush()
    except IntegrityError:  # a second tab started the same sitting at the same moment
        sitting = latest_sitting(session, assignment, person)
        assert sitting is not None
        return sitting
    audit.record(session, person, "psychometrics.sitting_started", sitting, assignment=assignment.id)
    return sitting


def _require_open(sitting: Sitting, person: User, now: dt.datetime) -> None:
    if sitting.person_id != person.id:
        raise PermissionDenied(_l("This is not your test."))
    if sitting.status is SittingStatus.SUBMITTED:
        raise Conflict(_l("This test has already been submitted; answers can no longer change."))
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
        answer = Answer(sitting=sitting, item_id=item_id, value=key, answered_at=now)
        session.add(answer)
    else:
        answer.value, answer.answered_at = key, now
    session.flush()
    return answer


def move_to(session: Session, person: User, sitting: Sitting, position: int) -> None:
    """Remember where the person is, so that leaving and coming back resumes there."""
    _require_open(sitting, person, utcnow())
    sitting.position = max(0, min(position, len(sitting.item_order) - 1))
    session.flush()


def answers_of(session: Session, sitting: Sitting) -> dict[str, str]:
    return dict(session.execute(select(Answer.item_id, Answer.value).where(Answer.sitting_id == sitting.id)).all())


def norm_tables(session: Session, instrument_code: str, group: str = NORM_GROUP) -> dict[str, NormTable]:
    rows = session.execute(select(NormObservation.subscale, NormObservation.score).where(
        NormObservation.instrument_code == instrument_code, NormObservation.group == group)).all()
    by_subscale: dict[str, list[float]] = {}
    for subscale, score in rows:
        by_subscale.setdefault(subscale, []).append(score)
    return {code: NormTable.from_scores(group, code, scores) for code, scores in by_subscale.items()
            if len(scores) >= 2}


def submit(session: Session, person: User, sitting: Sitting, now: dt.datetime | None = None) -> list[SubscaleResult]:
    """Score and close the sitting. A submit after the deadline scores what was saved in time."""
    now = now or utcnow()
    if sitting.person_id != person.id:
        raise PermissionDenied(_l("This is not your test."))
    if sitting.status is SittingStatus.SUBMITTED:
        raise Conflict(_l("This test has already been submitted."))
    # Guard against two submits racing: only the one that flips the status goes on.
    flipped = session.execute(
        Sitting.__table__.update().where(Sitting.__table__.c.id == sitting.id,
                                         Sitting.__table__.c.status == SittingStatus.IN_PROGRESS.value)
        .values(status=SittingStatus.SUBMITTED.value, submitted_at=now))
    if flipped.rowcount != 1:
        raise Conflict(_l("This test has already been submitted."))
    session.refresh(sitting)
    record = sitting.assignment.instrument
    instrument = instrument_of(record)
    scores = score_instrument(instrument, answers_of(session, sitting))
    norms = norm_tables(session, record.code)
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
    _record_evidence(session, person, instrument, sitting, results)
    audit.record(session, person, "psychometrics.sitting_submitted", sitting,
                 answered=sum(r.n_answered for r in results))
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


def assign_instrument(session: Session, actor: User | None, *, record: InstrumentRecord, cohort_id: int,
                      opens_at: dt.datetime, closes_at: dt.datetime, time_limit_minutes: int | None = None,
                      randomise_items: bool = False) -> TestAssignment:
    if closes_at <= opens_at:
        raise OperationError(_l("The test must close after it opens."), field="closes_at")
    if time_limit_minutes is not None and time_limit_minutes < 1:
        raise OperationError(_l("A time limit is at least one minute."), field="time_limit_minutes")
    assignment = TestAssignment(instrument=record, cohort_id=cohort_id, opens_at=opens_at, closes_at=closes_at,
                                time_limit_minutes=time_limit_minutes, randomise_items=randomise_items)
    session.add(assignment)
    session.flush()
    audit.record(session, actor, "psychometrics.assigned", assignment, instrument=record.code, cohort=cohort_id)
    return assignment


def add_norm_sample(session: Session, record: InstrumentRecord, group: str,
                    responses: list[Mapping[str, str]]) -> int:
    """Score anonymised response patterns into a norm group's reference sample."""
    instrument = instrument_of(record)
    count = 0
    for pattern in responses:
        for code, score in score_instrument(instrument, pattern).items():
            if score.scored and score.score is not None:
                session.add(NormObservation(instrument_code=record.code, group=group, subscale=code,
                                            score=score.score))
                count += 1
    session.flush()
    return count
