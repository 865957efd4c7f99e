"""A person's data on request: everything held about them, exported; the account erased; raw
psychometric answers deleted once their retention period is over.

What erasure keeps, and why: records that others signed (sign-offs, observations, reviews,
countersignatures, panel decisions, and the logbook entries and files those sign-offs cover) stay
as they are, because they are evidence of what someone else vouched for and each cadet's hash
chain covers them; they name people only by id, so once the account is anonymised they no longer
identify the person. Free text the person wrote that nobody signed is removed. Raw answers follow
the retention rule (``RAW_ANSWERS_RETENTION_DAYS``); scores and bands stay.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from competency_framework.models import Evidence
from courses.models import LessonProgress, ModuleCompletion
from lms_plugin.core import audit
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability, require
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import User
from lms_plugin.people.models import LoginAttempt
from lms_plugin.people.operations import end_sessions
from lms_plugin.practice.models import (
    Countersignature,
    LogbookAttachment,
    LogbookEntry,
    PanelCase,
    PanelDecision,
    Placement,
    PracticeReview,
    RequestStatus,
    ReviewJudgement,
    SignOff,
    SignOffRequest,
)
from lms_plugin.testing.models import Answer, Sitting, SubscaleResult

EXPORT_FORMAT = 1
DEFAULT_RETENTION_DAYS = 5 * 365 + 1  # five years, a leap day included


def may_view(actor: User) -> bool:
    return has_capability(actor, Capability.MANAGE_PEOPLE) or has_capability(actor, Capability.VIEW_RAW_SCORES)


def require_view(actor: User) -> None:
    if not may_view(actor):
        raise PermissionDenied(_l("Only the administrator or the psychologist may see a person's data."))


def is_erased(person: User) -> bool:
    return person.username == pseudonym(person)


def pseudonym(person: User) -> str:
    return f"erased-{person.id}"


# --- export ------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row(obj: Any, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    skipped = set(leave_out)
    return {column.key: _plain(getattr(obj, column.key)) for column in obj.__mapper__.column_attrs
            if column.key not in skipped}


def _rows(session: Session, model: type, *conditions: Any, leave_out: Iterable[str] = ()) -> list[dict[str, Any]]:
    query = select(model).where(*conditions).order_by(*model.__mapper__.primary_key)
    return [_row(obj, leave_out) for obj in session.scalars(query)]


def _ids(session: Session, column: Any, *conditions: Any) -> list[int]:
    return list(session.scalars(select(column).where(*conditions)))


def audit_rows_about(session: Session, person: User) -> list[AuditEntry]:
    """Audit rows the person made, and rows about the person or any record of theirs."""
    objects: dict[str, list[int]] = {
        "User": [person.id],
        "Placement": _ids(session, Placement.id, or_(Placement.cadet_id == person.id, Placement.mentor_id == person.id)),
        "LogbookEntry": _ids(session, LogbookEntry.id, LogbookEntry.cadet_id == person.id),
        "LogbookAttachment": _ids(session, LogbookAttachment.id, LogbookAttachment.cadet_id == person.id),
        "SignOffRequest": _ids(session, SignOffRequest.id, SignOffRequest.cadet_id == person.id),
        "SignOff": _ids(session, SignOff.id, SignOff.cadet_id == person.id),
        "PracticeReview": _ids(session, PracticeReview.id, PracticeReview.cadet_id == person.id),
        "Countersignature": _ids(session, Countersignature.id, Countersignature.cadet_id == person.id),
        "PanelCase": _ids(session, PanelCase.id, PanelCase.cadet_id == person.id),
        "PanelDecision": _ids(session, PanelDecision.id, PanelDecision.cadet_id == person.id),
        "Sitting": _ids(session, Sitting.id, Sitting.person_id == person.id),
        "Evidence": _ids(session, Evidence.id, Evidence.person_id == person.id),
        "ModuleCompletion": _ids(session, ModuleCompletion.id, ModuleCompletion.person_id == person.id),
    }
    about = [and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_([str(i) for i in ids]))
             for kind, ids in objects.items() if ids]
    return list(session.scalars(select(AuditEntry).where(or_(AuditEntry.actor_id == person.id, *about))
                                .order_by(AuditEntry.id)))


def personal_data(session: Session, actor: User, person: User, *, purpose: str) -> dict[str, Any]:
    """Everything held about ``person``, as plain JSON-ready data, and an audit row for the export.

    Raw answers are included only for an actor who may see raw psychometric data (the psychologist);
    for others the export says how many there are.
    """
    require_view(actor)
    raw = has_capability(actor, Capability.VIEW_RAW_SCORES)
    pid = person.id
    sitting_ids = _ids(session, Sitting.id, Sitting.person_id == pid)
    entry_ids = _ids(session, LogbookEntry.id, LogbookEntry.cadet_id == pid)
    review_ids = _ids(session, PracticeReview.id, or_(PracticeReview.cadet_id == pid, PracticeReview.signer_id == pid))
    account = _row(person, leave_out=("password_hash",))
    account.update(unit=person.unit.code if person.unit else None, cohort=person.cohort.code if person.cohort else None)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "account": account,
        "placements": _rows(session, Placement, or_(Placement.cadet_id == pid, Placement.mentor_id == pid)),
        "logbook_entries": _rows(session, LogbookEntry, or_(LogbookEntry.cadet_id == pid,
                                                            LogbookEntry.recorded_by_id == pid)),
        "attachments": _rows(session, LogbookAttachment, or_(LogbookAttachment.cadet_id == pid,
                                                             LogbookAttachment.entry_id.in_(entry_ids))),
        "signoff_requests": _rows(session, SignOffRequest, SignOffRequest.cadet_id == pid),
        "signoffs": _rows(session, SignOff, or_(SignOff.cadet_id == pid, SignOff.signer_id == pid)),
        "reviews": _rows(session, PracticeReview, PracticeReview.id.in_(review_ids)),
        "review_judgements": _rows(session, ReviewJudgement, ReviewJudgement.review_id.in_(review_ids)),
        "countersignatures": _rows(session, Countersignature, or_(Countersignature.cadet_id == pid,
                                                                  Countersignature.signer_id == pid)),
        "panel_cases": _rows(session, PanelCase, PanelCase.cadet_id == pid),
        "panel_decisions": _rows(session, PanelDecision, or_(PanelDecision.cadet_id == pid,
                                                             PanelDecision.signer_id == pid)),
        "evidence": _rows(session, Evidence, or_(Evidence.person_id == pid, Evidence.recorded_by_id == pid)),
        "sittings": _rows(session, Sitting, Sitting.id.in_(sitting_ids)),
        "results": _rows(session, SubscaleResult, SubscaleResult.sitting_id.in_(sitting_ids)),
        "course_progress": _rows(session, LessonProgress, LessonProgress.person_id == pid),
        "course_completions": _rows(session, ModuleCompletion, ModuleCompletion.person_id == pid),
        "sign_in_attempts": _rows(session, LoginAttempt, LoginAttempt.username == person.username),
        "audit": [_row(entry) for entry in audit_rows_about(session, person)],
    }
    answer_count = len(_ids(session, Answer.id, Answer.sitting_id.in_(sitting_ids)))
    if raw:
        data["answers"] = _rows(session, Answer, Answer.sitting_id.in_(sitting_ids))
    else:
        data["answers_withheld"] = answer_count
    audit.record(session, actor, "privacy.exported", person, format=purpose, raw_answers=answer_count if raw else 0)
    session.flush()
    return data


# --- erasure -----------------------------------------------------------------------------------------

@dataclass
class Erasure:
    person_id: int
    entries_cleared: int = 0
    files_removed: int = 0
    requests_cleared: int = 0
    kept_signed_entries: int = 0
    removed_paths: list[Path] = field(default_factory=list)


def erase_person(session: Session, actor: User, person: User, *, reason: str, storage_dir: Path) -> Erasure:
    """Anonymise the account and remove the unsigned free text the person wrote.

    Files are removed from ``storage_dir`` only by ``remove_files`` after the commit, so a failed
    commit leaves every file in place.
    """
    require(actor, Capability.MANAGE_PEOPLE)
    reason = (reason or "").strip()
    if not reason:
        raise OperationError(_l("Give the reason for the erasure (for example, the request's reference)."),
                             field="reason")
    if len(reason) > 2000:
        raise OperationError(_l("Keep it under %(max)d characters.", max=2000), field="reason")
    if person.id == actor.id:
        raise Conflict(_l("You cannot erase your own account."))
    if is_erased(person):
        raise Conflict(_l("This person's data has already been erased."))
    result = Erasure(person_id=person.id)
    old_username = person.username

    signed_entry_ids = set(session.scalars(select(SignOff.entry_id).where(SignOff.cadet_id == person.id)))
    own_entries = session.scalars(select(LogbookEntry).where(LogbookEntry.cadet_id == person.id,
                                                             LogbookEntry.recorded_by_id.is_(None))).all()
    for entry in own_entries:
        if entry.id in signed_entry_ids:
            result.kept_signed_entries += 1
            continue
        entry.location, entry.description, entry.reflection = "", "", ""
        result.entries_cleared += 1
        for attachment in list(entry.attachments):
            result.removed_paths.append(storage_dir / attachment.stored_name)
            session.delete(attachment)
            result.files_removed += 1
    for request in session.scalars(select(SignOffRequest).where(SignOffRequest.cadet_id == person.id)):
        if request.entry_id in signed_entry_ids:
            continue  # the request a sign-off answered is part of that record's story; its note is the cadet's
        if request.status is RequestStatus.PENDING:
            request.status, request.closed_at = RequestStatus.WITHDRAWN, utcnow()
        request.message = ""
        result.requests_cleared += 1
    session.execute(update(SignOffRequest).where(SignOffRequest.cadet_id == person.id,
                                                 SignOffRequest.entry_id.in_(signed_entry_ids))
                    .values(message=""))
    session.execute(update(LessonProgress).where(LessonProgress.person_id == person.id).values(state={}))
    session.execute(update(LoginAttempt).where(LoginAttempt.username == old_username)
                    .values(username=pseudonym(person), remote_addr=""))

    person.username = pseudonym(person)
    person.full_name = f"#{person.id}"
    person.email = ""
    # Not a hash of anything: no password matches it. The account is disabled and its sessions end now.
    person.password_hash = "!erased:" + secrets.token_hex(8)
    person.active = False
    end_sessions(session, person, "erased")
    session.flush()
    audit.record(session, actor, "privacy.erased", person, reason=reason, entries_cleared=result.entries_cleared,
                 files_removed=result.files_removed, kept_signed_entries=result.kept_signed_entries)
    session.flush()
    return result


def remove_files(erasure: Erasure) -> None:
    """After the commit: delete the files of the removed attachments."""
    for path in erasure.removed_paths:
        path.unlink(missing_ok=True)


# --- retention ---------------------------------------------------------------------------------------

def retention_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    if days < 1:
        raise OperationError(_l("The retention period must be at least one day."), field="RAW_ANSWERS_RETENTION_DAYS")
    return now - dt.timedelta(days=days)


def expired_sittings(session: Session, now: dt.datetime, days: int) -> list[int]:
    cutoff = retention_cutoff(now, days)
    return list(session.scalars(select(Sitting.id).where(Sitting.submitted_at.is_not(None),
                                                         Sitting.submitted_at < cutoff)
                                .where(Sitting.id.in_(select(Answer.sitting_id))).order_by(Sitting.id)))


def apply_retention(session: Session, actor: User | None, *, now: dt.datetime, days: int,
                    dry_run: bool = False) -> tuple[int, int]:
    """Delete the raw answers of sittings submitted more than ``days`` ago; scores and bands stay.

    Gives back (sittings, answers). ``actor`` is None for the scheduled command.
    """
    if actor is not None:
        require(actor, Capability.VIEW_RAW_SCORES)
    sittings = expired_sittings(session, now, days)
    answers = len(_ids(session, Answer.id, Answer.sitting_id.in_(sittings))) if sittings else 0
    if dry_run or not sittings:
        return len(sittings), answers
    for start in range(0, len(sittings), 500):
        session.execute(delete(Answer).where(Answer.sitting_id.in_(sittings[start:start + 500])))
    audit.record(session, actor, "psychometrics.raw_answers_deleted", RetentionRun(id=days),
                 cutoff=retention_cutoff(now, days).isoformat(), sittings=len(sittings), answers=answers)
    session.flush()
    return len(sittings), answers


@dataclass
class RetentionRun:
    """The audit log's object for a retention run: its period in days."""

    id: int


def people(session: Session, actor: User) -> list[User]:
    require_view(actor)
    return list(session.scalars(select(User).order_by(User.active.desc(), User.full_name)))
