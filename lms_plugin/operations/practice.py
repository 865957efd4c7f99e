"""The practice logbook and mentor sign-off."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from competency_framework.models import EvidenceSource
from competency_framework.operations import record_evidence
from lms_plugin.auth.capabilities import Capability
from lms_plugin.auth.permissions import mentor_placement, require
from lms_plugin.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.models.people import User
from lms_plugin.models.practice import LogbookEntry, Placement, PracticeTask, SignOff, SignOffOutcome
from lms_plugin.operations import audit

# "Achieved" in supervised practice is evidence of level 2 (guided practice) on the framework's scale.
SIGNOFF_ACHIEVED_LEVEL = 2
MAX_TEXT = 5000


def current_placement(session: Session, cadet: User, on: dt.date) -> Placement | None:
    return session.scalar(select(Placement).where(Placement.cadet_id == cadet.id, Placement.starts_on <= on,
                                                  Placement.ends_on >= on).limit(1))


def add_logbook_entry(session: Session, cadet: User, *, task: PracticeTask, performed_on: dt.date,
                      location: str, description: str, reflection: str, today: dt.date) -> LogbookEntry:
    """A cadet records a practice task during a current placement."""
    require(cadet, Capability.KEEP_LOGBOOK)
    placement = current_placement(session, cadet, today)
    if placement is None:
        raise Conflict(_l("You have no current placement, so there is no logbook to write in."))
    if performed_on > today:
        raise OperationError(_l("The date cannot be in the future."), field="performed_on")
    if performed_on < placement.starts_on:
        raise OperationError(_l("The date is before your placement started (%(date)s).",
                                date=placement.starts_on.isoformat()), field="performed_on")
    description = description.strip()
    if not description:
        raise OperationError(_l("Describe what you did."), field="description")
    if len(description) > MAX_TEXT or len(reflection) > MAX_TEXT:
        raise OperationError(_l("Keep each text under %(n)d characters.", n=MAX_TEXT), field="description")
    entry = LogbookEntry(cadet_id=cadet.id, placement=placement, task=task, performed_on=performed_on,
                         location=location.strip(), description=description, reflection=reflection.strip())
    session.add(entry)
    session.flush()
    audit.record(session, cadet, "practice.logbook_entry", entry, task=task.code)
    return entry


def sign_off(session: Session, mentor: User, entry: LogbookEntry, *, outcome: SignOffOutcome, comment: str,
             today: dt.date) -> SignOff:
    """A mentor signs a logbook entry. Only the cadet's mentor in a current placement, only once."""
    require(mentor, Capability.SIGN_OFF_PRACTICE)
    if mentor.id == entry.cadet_id:
        raise PermissionDenied(_l("You cannot sign your own practice."))
    placement = mentor_placement(session, mentor, entry.cadet, today)
    if placement is None or placement.ends_on < today:
        raise PermissionDenied(_l("You can sign only for cadets in your current placements."))
    comment = comment.strip()
    if outcome is SignOffOutcome.NOT_YET and not comment:
        raise OperationError(_l("Say what the cadet still needs to show: feedback is required for 'not yet'."),
                             field="comment")
    if len(comment) > MAX_TEXT:
        raise OperationError(_l("Keep the comment under %(n)d characters.", n=MAX_TEXT), field="comment")
    if entry.signoffs:
        raise Conflict(_l("This entry has already been signed."))
    signoff = SignOff(entry_id=entry.id, cadet_id=entry.cadet_id, task_id=entry.task_id, signer_id=mentor.id,
                      signer_role=mentor.role.value, outcome=outcome, comment=comment)
    try:
        with session.begin_nested():
            session.add(signoff)
            session.flush()
    except IntegrityError:  # another signature for the same entry landed first
        raise Conflict(_l("This entry has already been signed.")) from None
    if outcome is SignOffOutcome.ACHIEVED:
        for competency in entry.task.competencies:
            record_evidence(session, person_id=entry.cadet_id, competency=competency,
                            source=EvidenceSource.PRACTICE_SIGNOFF, recorded_by_id=mentor.id,
                            level=SIGNOFF_ACHIEVED_LEVEL, achieved=True, source_ref=f"signoff:{signoff.id}",
                            note=entry.task.code)
    audit.record(session, mentor, "practice.signoff", signoff, entry=entry.id, outcome=outcome.value)
    return signoff


def logbook(session: Session, cadet: User) -> list[LogbookEntry]:
    return list(session.scalars(select(LogbookEntry).where(LogbookEntry.cadet_id == cadet.id)
                                .order_by(LogbookEntry.performed_on.desc(), LogbookEntry.id.desc())))


def achieved_task_ids(session: Session, cadet: User) -> set[int]:
    return set(session.scalars(select(SignOff.task_id).where(
        SignOff.cadet_id == cadet.id, SignOff.outcome == SignOffOutcome.ACHIEVED)))


def upsert_task(session: Session, *, code: str, title_en: str, title_lt: str, description_en: str,
                description_lt: str, competencies: list) -> PracticeTask:
    task = session.scalar(select(PracticeTask).where(PracticeTask.code == code))
    if task is None:
        task = PracticeTask(code=code, title_en=title_en, title_lt=title_lt, description_en=description_en,
                            description_lt=description_lt, competencies=competencies)
        session.add(task)
        session.flush()
    return task
