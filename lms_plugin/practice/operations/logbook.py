"""The practice logbook, its files, sign-off requests, mentor sign-off, observations and corrections."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from competency_framework.models import Evidence, EvidenceSource
from competency_framework.operations import record_evidence, withdraw_evidence
from lms_plugin.core import audit
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import Role, User
from lms_plugin.practice.models import (
    LogbookAttachment,
    LogbookEntry,
    Placement,
    PracticeTask,
    RequestStatus,
    SignOff,
    SignOffOutcome,
    SignOffRequest,
)
from lms_plugin.practice.operations.access import mentor_placement
from lms_plugin.practice.operations.chain import seal
from lms_plugin.practice.operations.guards import write_once

# "Achieved" in supervised practice is evidence of level 2 (guided practice) on the framework's scale.
SIGNOFF_ACHIEVED_LEVEL = 2
MAX_TEXT = 5000
MAX_FILES_PER_ENTRY = 5
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024


def current_placement(session: Session, cadet: User, on: dt.date) -> Placement | None:
    return session.scalar(select(Placement).where(Placement.cadet_id == cadet.id, Placement.starts_on <= on,
                                                  Placement.ends_on >= on).limit(1))


def _text(value: str, field: str, *, required: bool = False, message: str | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise OperationError(message or _l("This field is required."), field=field)
    if len(value) > MAX_TEXT:
        raise OperationError(_l("Keep each text under %(n)d characters.", n=MAX_TEXT), field=field)
    return value


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
    description = _text(description, "description", required=True, message=_l("Describe what you did."))
    reflection = _text(reflection, "reflection")
    entry = LogbookEntry(cadet_id=cadet.id, placement=placement, task=task, performed_on=performed_on,
                         location=_text(location, "location")[:255], description=description, reflection=reflection)
    session.add(entry)
    session.flush()
    audit.record(session, cadet, "practice.logbook_entry", entry, task=task.code)
    return entry


# --- files ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]
    label: str


PDF = FileKind("application/pdf", (".pdf",), "PDF")
PNG = FileKind("image/png", (".png",), "PNG")
JPEG = FileKind("image/jpeg", (".jpg", ".jpeg"), "JPEG")
DOCX = FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), "DOCX")
ODT = FileKind("application/vnd.oasis.opendocument.text", (".odt",), "ODT")
TEXT = FileKind("text/plain", (".txt",), "TXT")
ALLOWED_KINDS = (PDF, PNG, JPEG, DOCX, ODT, TEXT)
INLINE_TYPES = {PNG.content_type, JPEG.content_type}


def sniff(data: bytes) -> FileKind | None:
    """What the bytes are, judged by their content (magic numbers, the zip's inner files), not the name."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "[Content_Types].xml" in names and "word/document.xml" in names:
                    return DOCX
                if "mimetype" in names and archive.getinfo("mimetype").file_size < 100 \
                        and archive.read("mimetype").strip() == ODT.content_type.encode():
                    return ODT
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            return None
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text):
        return None
    return TEXT


ZIPPED_KINDS = (DOCX, ODT)
MAX_ARCHIVE_ENTRIES = 1000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # real documents stay far below; a zip bomb is thousands to one


def check_archive(data: bytes, kind: FileKind) -> None:
    """Refuse an Office file that would unpack into far more than it is (a zip bomb) for whoever opens it.

    The sizes are counted while really unpacking, since the sizes an archive declares can lie.
    """
    def refuse(message: Any) -> OperationError:
        return OperationError(message, field="attachment")

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise refuse(_l("This %(kind)s file holds more than %(n)d parts; it is refused.", kind=kind.label,
                            n=MAX_ARCHIVE_ENTRIES))
        limit = min(MAX_UNPACKED_BYTES, len(data) * MAX_COMPRESSION_RATIO)
        try:
            unpacked = _unpacked_size(archive, entries, limit)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError,
                EOFError, OSError, ValueError):
            raise refuse(_l("This %(kind)s file is damaged and cannot be read.", kind=kind.label)) from None
    if unpacked > limit:
        raise refuse(_l("This %(kind)s file unpacks to more than %(size)s (%(ratio)d times its own size); it is "
                        "refused as a possible zip bomb.", kind=kind.label, size=human_size(limit),
                        ratio=limit // len(data)))


def _unpacked_size(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limit: int) -> int:
    """The archive's unpacked size, counted up to just past ``limit``."""
    unpacked = 0
    for entry in entries:
        with archive.open(entry) as part:
            for block in iter(lambda: part.read(1 << 16), b""):
                unpacked += len(block)
                if unpacked > limit:
                    return unpacked
    return unpacked


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


def clean_filename(name: str) -> str:
    """The last part of an uploaded name, without control characters, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    return (name.lstrip(".") or "file")[-255:]


def attach_file(session: Session, cadet: User, entry: LogbookEntry, *, filename: str, data: bytes,
                storage_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LogbookAttachment:
    """A cadet attaches a file to an own entry that is not yet signed nor waiting for a signature."""
    require(cadet, Capability.KEEP_LOGBOOK)
    if entry.cadet_id != cadet.id or entry.is_observation:
        raise PermissionDenied(_l("You can attach files only to your own entries."))
    if entry.signoffs:
        raise Conflict(_l("This entry has been signed; it cannot change any more."), field="attachment")
    if entry.request is not None and entry.request.status is RequestStatus.PENDING:
        raise Conflict(_l("Your mentor has been asked to sign this entry. Withdraw the request to add a file."),
                       field="attachment")
    if len(entry.attachments) >= MAX_FILES_PER_ENTRY:
        raise OperationError(_l("An entry holds at most %(n)d files.", n=MAX_FILES_PER_ENTRY), field="attachment")
    if not data:
        raise OperationError(_l("The file is empty."), field="attachment")
    if len(data) > max_bytes:
        raise OperationError(_l("The file is larger than %(size)s.", size=human_size(max_bytes)), field="attachment")
    name = clean_filename(filename)
    kind = sniff(data)
    allowed = ", ".join(kind.label for kind in ALLOWED_KINDS)
    if kind is None:
        raise OperationError(_l("This kind of file cannot be attached. Allowed: %(kinds)s.", kinds=allowed),
                             field="attachment")
    if PurePosixPath(name.lower()).suffix not in kind.extensions:
        raise OperationError(_l("The file's name does not match its content (it is a %(kind)s file).",
                                kind=kind.label), field="attachment")
    if kind in ZIPPED_KINDS:
        check_archive(data, kind)
    stored_name = secrets.token_hex(16)
    storage_dir.mkdir(parents=True, exist_ok=True)
    with (storage_dir / stored_name).open("xb") as handle:
        handle.write(data)
    attachment = LogbookAttachment(entry=entry, cadet_id=cadet.id, original_name=name, stored_name=stored_name,
                                   content_type=kind.content_type, size=len(data),
                                   sha256=hashlib.sha256(data).hexdigest())
    session.add(attachment)
    session.flush()
    audit.record(session, cadet, "practice.file_attached", attachment, entry=entry.id, size=len(data),
                 content_type=kind.content_type)
    return attachment


# --- asking for a sign-off --------------------------------------------------------------------------

def request_signoff(session: Session, cadet: User, entry: LogbookEntry, *, message: str,
                    today: dt.date, at: dt.datetime | None = None) -> SignOffRequest:
    """The cadet asks the current mentor to sign an entry (again, after withdrawing).

    ``at`` is for loading dated records (the demo's overdue request); it defaults to now.
    """
    require(cadet, Capability.KEEP_LOGBOOK)
    if entry.cadet_id != cadet.id:
        raise PermissionDenied(_l("You can ask for a sign-off only of your own entries."))
    if entry.signoffs:
        raise Conflict(_l("This entry has already been signed."))
    placement = current_placement(session, cadet, today)
    if placement is None:
        raise Conflict(_l("You have no current placement, so no mentor can sign now."))
    message = _text(message, "message")
    request = entry.request
    if request is not None and request.status is RequestStatus.PENDING:
        raise Conflict(_l("You have already asked; the request is waiting for your mentor."))
    at = at or utcnow()
    if request is not None:  # withdrawn → pending
        request.status, request.requested_at, request.closed_at = RequestStatus.PENDING, at, None
        request.placement_id, request.message = placement.id, message
    else:
        request = SignOffRequest(entry=entry, cadet_id=cadet.id, placement_id=placement.id, message=message,
                                 status=RequestStatus.PENDING, requested_at=at)
        session.add(request)
    with write_once(session, _l("You have already asked; the request is waiting for your mentor.")):
        session.flush()
    audit.record(session, cadet, "practice.signoff_requested", request, entry=entry.id, placement=placement.id)
    return request


def withdraw_request(session: Session, cadet: User, request: SignOffRequest) -> SignOffRequest:
    """Pending → withdrawn, by the cadet who asked."""
    require(cadet, Capability.KEEP_LOGBOOK)
    if request.cadet_id != cadet.id:
        raise PermissionDenied(_l("You can withdraw only your own requests."))
    moved = session.execute(update(SignOffRequest).where(SignOffRequest.id == request.id,
                                                         SignOffRequest.status == RequestStatus.PENDING)
                            .values(status=RequestStatus.WITHDRAWN, closed_at=utcnow())
                            .execution_options(synchronize_session="fetch"))
    if moved.rowcount != 1:
        raise Conflict(_l("The request is no longer waiting: it has been signed or withdrawn."))
    session.flush()
    audit.record(session, cadet, "practice.signoff_request_withdrawn", request, entry=request.entry_id)
    return request


# --- signing ------------------------------------------------------------------------------------------

ALREADY_SIGNED = _l("This entry has already been signed.")


def _require_current_mentor(session: Session, mentor: User, cadet_id: int, today: dt.date) -> Placement:
    if mentor.id == cadet_id:
        raise PermissionDenied(_l("You cannot sign your own practice."))
    cadet = session.get(User, cadet_id)
    placement = mentor_placement(session, mentor, cadet, today) if cadet is not None else None
    if placement is None or placement.ends_on < today:
        raise PermissionDenied(_l("You can sign only for cadets in your current placements."))
    return placement


def _judgement(outcome: SignOffOutcome, comment: str) -> str:
    comment = (comment or "").strip()
    if outcome is SignOffOutcome.NOT_YET and not comment:
        raise OperationError(_l("Say what the cadet still needs to show: feedback is required for 'not yet'."),
                             field="comment")
    if len(comment) > MAX_TEXT:
        raise OperationError(_l("Keep the comment under %(n)d characters.", n=MAX_TEXT), field="comment")
    return comment


def _record_achievement(session: Session, signoff: SignOff, signer: User) -> None:
    for competency in signoff.entry.task.competencies:
        record_evidence(session, person_id=signoff.cadet_id, competency=competency,
                        source=EvidenceSource.PRACTICE_SIGNOFF, recorded_by_id=signer.id,
                        level=SIGNOFF_ACHIEVED_LEVEL, achieved=True, source_ref=f"signoff:{signoff.id}",
                        note=signoff.entry.task.code)


def sign_off(session: Session, mentor: User, entry: LogbookEntry, *, outcome: SignOffOutcome, comment: str,
             today: dt.date) -> SignOff:
    """A mentor signs a logbook entry: only the cadet's mentor in a current placement, only once.

    A pending request for the entry is closed in the same step; of two mentors (or two tabs)
    signing at once, exactly one signature is recorded and the other gets a ``Conflict``.
    """
    require(mentor, Capability.SIGN_OFF_PRACTICE)
    _require_current_mentor(session, mentor, entry.cadet_id, today)
    comment = _judgement(outcome, comment)
    if entry.signoffs:
        raise Conflict(ALREADY_SIGNED)
    now = utcnow()
    request = entry.request
    with write_once(session, ALREADY_SIGNED):
        if request is not None and request.status is RequestStatus.PENDING:
            claimed = session.execute(update(SignOffRequest).where(SignOffRequest.id == request.id,
                                                                   SignOffRequest.status == RequestStatus.PENDING)
                                      .values(status=RequestStatus.SIGNED, closed_at=now)
                                      .execution_options(synchronize_session="fetch"))
            if claimed.rowcount != 1:
                raise Conflict(ALREADY_SIGNED)
        signoff = SignOff(entry=entry, entry_id=entry.id, cadet_id=entry.cadet_id, task_id=entry.task_id, signer_id=mentor.id,
                          signer_role=mentor.role.value, outcome=outcome, comment=comment, signed_at=now,
                          correction_reason="")
        seal(session, signoff)
        if request is not None and request.status is RequestStatus.SIGNED and request.signoff_id is None:
            request.signoff_id = signoff.id
            session.flush()
    if outcome is SignOffOutcome.ACHIEVED:
        _record_achievement(session, signoff, mentor)
    audit.record(session, mentor, "practice.signoff", signoff, entry=entry.id, outcome=outcome.value,
                 request=request.id if request is not None else None)
    return signoff


def record_observation(session: Session, mentor: User, cadet: User, *, task: PracticeTask, observed_on: dt.date,
                       location: str, description: str, outcome: SignOffOutcome, comment: str,
                       today: dt.date) -> SignOff:
    """A mentor records and signs what they saw the cadet do, without the cadet asking."""
    require(mentor, Capability.SIGN_OFF_PRACTICE)
    if cadet.role is not Role.CADET:
        raise OperationError(_l("%(name)s is not a cadet.", name=cadet.full_name))
    placement = _require_current_mentor(session, mentor, cadet.id, today)
    if observed_on > today:
        raise OperationError(_l("The date cannot be in the future."), field="observed_on")
    if observed_on < placement.starts_on:
        raise OperationError(_l("The date is before the placement started (%(date)s).",
                                date=placement.starts_on.isoformat()), field="observed_on")
    description = _text(description, "description", required=True, message=_l("Describe what you observed."))
    comment = _judgement(outcome, comment)
    entry = LogbookEntry(cadet_id=cadet.id, placement=placement, task=task, performed_on=observed_on,
                         location=_text(location, "location")[:255], description=description, reflection="",
                         recorded_by_id=mentor.id)
    session.add(entry)
    session.flush()
    audit.record(session, mentor, "practice.observation", entry, cadet=cadet.id, task=task.code)
    return sign_off(session, mentor, entry, outcome=outcome, comment=comment, today=today)


def is_corrected(session: Session, model: type, record_id: int) -> bool:
    return session.scalar(select(exists().where(model.corrects_id == record_id))) or False


def correct_signoff(session: Session, mentor: User, old: SignOff, *, outcome: SignOffOutcome, comment: str,
                    reason: str, today: dt.date) -> SignOff:
    """The mentor who signed replaces a sign-off with a corrected one that points back and says why.

    Evidence follows: an "achieved" that no longer stands is withdrawn, a new one recorded.
    """
    require(mentor, Capability.SIGN_OFF_PRACTICE)
    if old.signer_id != mentor.id:
        raise PermissionDenied(_l("Only the person who signed a record can correct it."))
    _require_current_mentor(session, mentor, old.cadet_id, today)
    reason = _text(reason, "reason", required=True, message=_l("Say why the record is corrected."))
    comment = _judgement(outcome, comment)
    superseded = _l("This record has already been corrected; correct the newest version.")
    if is_corrected(session, SignOff, old.id):
        raise Conflict(superseded)
    with write_once(session, superseded):
        new = SignOff(entry=old.entry, entry_id=old.entry_id, cadet_id=old.cadet_id, task_id=old.task_id, signer_id=mentor.id,
                      signer_role=mentor.role.value, outcome=outcome, comment=comment, signed_at=utcnow(),
                      corrects_id=old.id, correction_reason=reason)
        seal(session, new)
    if old.outcome is SignOffOutcome.ACHIEVED and outcome is not SignOffOutcome.ACHIEVED:
        refs = [f"signoff:{s.id}" for s in old.entry.signoffs]
        replaced = aliased(Evidence)
        standing = session.scalars(select(Evidence).where(
            Evidence.person_id == old.cadet_id, Evidence.source == EvidenceSource.PRACTICE_SIGNOFF,
            Evidence.source_ref.in_(refs), ~exists().where(replaced.supersedes_id == Evidence.id))).all()
        for evidence in standing:
            withdraw_evidence(session, evidence, recorded_by_id=mentor.id, reason=reason)
    elif outcome is SignOffOutcome.ACHIEVED and old.outcome is not SignOffOutcome.ACHIEVED:
        _record_achievement(session, new, mentor)
    audit.record(session, mentor, "practice.signoff_corrected", new, corrects=old.id, outcome=outcome.value,
                 reason=reason)
    return new


# --- reading ------------------------------------------------------------------------------------------

def logbook(session: Session, cadet: User) -> list[LogbookEntry]:
    return list(session.scalars(
        select(LogbookEntry).where(LogbookEntry.cadet_id == cadet.id)
        .options(selectinload(LogbookEntry.signoffs).selectinload(SignOff.signer),
                 selectinload(LogbookEntry.attachments), selectinload(LogbookEntry.request),
                 selectinload(LogbookEntry.task), selectinload(LogbookEntry.recorded_by))
        .order_by(LogbookEntry.performed_on.desc(), LogbookEntry.id.desc())))


def standing_signoffs():
    """Sign-offs that have not been corrected (the ones in force)."""
    newer = aliased(SignOff)
    return ~exists().where(newer.corrects_id == SignOff.id)


def achieved_task_ids(session: Session, cadet: User) -> set[int]:
    return set(session.scalars(select(SignOff.task_id).where(
        SignOff.cadet_id == cadet.id, SignOff.outcome == SignOffOutcome.ACHIEVED, standing_signoffs())))


def pending_request_count(session: Session, cadet_ids: list[int]) -> dict[int, int]:
    return dict(session.execute(select(SignOffRequest.cadet_id, func.count(SignOffRequest.id)).where(
        SignOffRequest.cadet_id.in_(cadet_ids), SignOffRequest.status == RequestStatus.PENDING)
        .group_by(SignOffRequest.cadet_id)).all())


def upsert_task(session: Session, *, code: str, title_en: str, title_lt: str, description_en: str,
                description_lt: str, competencies: list) -> PracticeTask:
    task = session.scalar(select(PracticeTask).where(PracticeTask.code == code))
    if task is None:
        task = PracticeTask(code=code, title_en=title_en, title_lt=title_lt, description_en=description_en,
                            description_lt=description_lt, competencies=competencies)
        session.add(task)
        session.flush()
    return task


def correction_chain(session: Session, model: type, record: Any) -> list[Any]:
    """A signed record's whole correction chain (the record, what it corrects, what corrects it), oldest first."""
    while record.corrects_id is not None:
        record = session.get(model, record.corrects_id)
    chain = [record]
    while True:
        newer = session.scalar(select(model).where(model.corrects_id == chain[-1].id))
        if newer is None:
            return chain
        chain.append(newer)
