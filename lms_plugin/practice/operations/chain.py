"""Tamper evidence for a cadet's signed practice records: one hash chain per cadet.

Every signed record (sign-offs and observations, reviews, countersignatures, panel
decisions, and the corrections of each) takes the next place ``chain_seq`` in its cadet's
chain, stores the previous record's hash in ``prev_hash`` and its own hash in
``record_hash``: SHA-256 of the record's canonical content (sorted-key compact JSON),
``prev_hash`` included. A sign-off's content covers the logbook entry it signs, with the
hashes of its attached files; a countersignature's covers the hash of the review it
countersigns. ``practice_chain_heads`` holds each chain's length and last hash, so a
record removed from the end is noticed too.

Hashes alone can be recomputed by anyone who can write the database and run this code, so
each link is also sealed: ``link_mac`` is an HMAC under the chain key (held outside the
database, see ``lms_plugin.core.seals``) over the link's place, its ``record_hash`` and the
previous link's MAC; the head's ``head_mac`` seals its length and last MAC.

``verify_chain`` recomputes everything from the rows as they are now. An UPDATE or DELETE
made behind the application's back shows as a content, link, position, length or seal
mismatch. Putting back an older head with the records after it removed is caught by a
checkpoint (``checkpoints``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from lms_plugin.config import chain_keyring
from lms_plugin.core.base import utcnow
from lms_plugin.core.errors import Conflict
from lms_plugin.core.seals import GENESIS_MAC, Keyring, head_content, link_content
from lms_plugin.practice.models import (
    Countersignature,
    LogbookEntry,
    PanelDecision,
    PracticeChainHead,
    PracticeReview,
    SignOff,
)
from lms_plugin.practice.operations.guards import write_once

GENESIS = "0" * 64
SignedRecord = Union[SignOff, PracticeReview, Countersignature, PanelDecision]
CHAINED_MODELS: tuple[type, ...] = (SignOff, PracticeReview, Countersignature, PanelDecision)
KIND_OF = {SignOff: "signoff", PracticeReview: "review", Countersignature: "countersignature",
           PanelDecision: "panel_decision"}


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def entry_content(entry: LogbookEntry) -> dict[str, Any]:
    """What a sign-off vouches for: the entry as the cadet (or observing mentor) wrote it, and its files."""
    return {
        "id": entry.id, "placement": entry.placement_id, "task": entry.task_id, "cadet": entry.cadet_id,
        "performed_on": entry.performed_on.isoformat(), "location": entry.location,
        "description": entry.description, "reflection": entry.reflection, "recorded_by": entry.recorded_by_id,
        "files": [[a.sha256, a.size, a.content_type, a.original_name] for a in entry.attachments],
    }


def record_content(record: SignedRecord) -> dict[str, Any]:
    """The canonical content of a signed record, as a JSON-ready dict."""
    content: dict[str, Any] = {
        "kind": KIND_OF[type(record)], "cadet": record.cadet_id, "seq": record.chain_seq,
        "prev": record.prev_hash, "signer": record.signer_id, "role": record.signer_role,
        "signed_at": _moment(record.signed_at), "corrects": record.corrects_id,
        "correction_reason": record.correction_reason or "",
    }
    if isinstance(record, SignOff):
        content.update(entry=entry_content(record.entry), task=record.task_id, outcome=record.outcome.value,
                       comment=record.comment or "")
    elif isinstance(record, PracticeReview):
        content.update(placement=record.placement_id, review_kind=record.kind.value, summary=record.summary or "",
                       recommendation=record.recommendation.value if record.recommendation else None,
                       judgements=[[j.area_id, j.area_code, j.judgement.value, j.comment or ""]
                                   for j in sorted(record.judgements, key=lambda j: (j.sort_order, j.area_code))])
    elif isinstance(record, Countersignature):
        content.update(review=record.review_id, review_hash=record.review.record_hash,
                       decision=record.decision.value, comment=record.comment or "")
    elif isinstance(record, PanelDecision):
        content.update(case=record.case_id, review=record.case.review_id, decision=record.decision.value,
                       reasons=record.reasons or "", members=record.members or "")
    return content


def canonical_bytes(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(record: SignedRecord) -> str:
    return hashlib.sha256(canonical_bytes(record_content(record))).hexdigest()


def chain_name(cadet_id: int) -> str:
    return f"practice:{cadet_id}"


def link_seal(keyring: Keyring, record: SignedRecord, prev_mac: str) -> str:
    return keyring.mac("link", link_content(chain_name(record.cadet_id), record.chain_seq, record.record_hash,
                                            prev_mac))


def head_seal(keyring: Keyring, cadet_id: int, length: int, last_mac: str) -> dict[str, Any]:
    """The head's columns that seal it: its last MAC, its own MAC and the key's id."""
    return dict(last_mac=last_mac, key_id=keyring.current,
                head_mac=keyring.mac("head", head_content(chain_name(cadet_id), length, last_mac)))


def seal(session: Session, record: SignedRecord, keyring: Keyring | None = None) -> None:
    """Give a new record its place in the cadet's chain, its hashes and its seal, and insert it.

    Refuses (``Conflict``) if another record for the same cadet took the place first: the
    chain's head moves only where its length is still the one read here.
    """
    if record.signed_at is None:
        record.signed_at = utcnow()
    record.correction_reason = record.correction_reason or ""
    references = {SignOff: "entry_id", PracticeReview: "placement_id", Countersignature: "review_id",
                  PanelDecision: "case_id"}[type(record)]
    if getattr(record, references) is None or record.cadet_id is None or record.signer_id is None:
        raise ValueError(f"set {references}, cadet_id and signer_id before sealing: the hash covers them")
    taken = _l("Another record for this cadet was being signed at the same moment. Reload the page and try again.")
    # Nothing is flushed until the record is complete: a half-built record must never reach the table.
    with session.no_autoflush:
        head = session.scalar(select(PracticeChainHead).where(PracticeChainHead.cadet_id == record.cadet_id)
                              .with_for_update())
        length, previous = (head.length, head.head_hash) if head is not None else (0, GENESIS)
        record.chain_seq, record.prev_hash = length + 1, previous
        record.record_hash = compute_hash(record)
        keyring = keyring or chain_keyring(current_app)
        record.link_mac = link_seal(keyring, record, (head.last_mac if head is not None else None) or GENESIS_MAC)
        record.key_id = keyring.current
        sealed = head_seal(keyring, record.cadet_id, length + 1, record.link_mac)
        session.add(record)
        # (cadet_id, chain_seq) is unique in each table and the head moves only from the length read
        # above, so of two records sealed at once for one cadet, one fails here.
        with write_once(session, taken):
            if head is None:
                session.execute(insert(PracticeChainHead).values(
                    cadet_id=record.cadet_id, length=1, head_hash=record.record_hash, updated_at=utcnow(), **sealed))
            else:
                moved = session.execute(
                    update(PracticeChainHead)
                    .where(PracticeChainHead.cadet_id == record.cadet_id, PracticeChainHead.length == length)
                    .values(length=length + 1, head_hash=record.record_hash, updated_at=utcnow(), **sealed)
                    .execution_options(synchronize_session="fetch"))
                if moved.rowcount != 1:
                    raise Conflict(taken)
            session.flush()


# --- verification ------------------------------------------------------------------------------

@dataclass
class ChainProblem:
    record: str
    message: str
    code: str = ""  # "unsealed", "unknown-key" or "mismatch" for a seal that does not hold

    def __str__(self) -> str:
        return f"{self.record}: {self.message}"


@dataclass
class ChainReport:
    cadet_id: int
    chain: str = "practice"  # or "records": the person's keyed chain of competency evidence
    records: int = 0
    head_hash: str = GENESIS
    last_mac: str = GENESIS_MAC
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def label(record: SignedRecord) -> str:
    return f"{KIND_OF[type(record)]} #{record.id}"


def chained_records(session: Session, cadet_id: int) -> list[SignedRecord]:
    """Every signed record of a cadet as the database holds it now (never the session's cached copies),
    in chain order, unsealed ones last."""
    fresh = {"populate_existing": True}
    records: list[SignedRecord] = []
    records += session.scalars(select(SignOff).where(SignOff.cadet_id == cadet_id).options(
        selectinload(SignOff.entry).selectinload(LogbookEntry.attachments)).execution_options(**fresh)).all()
    records += session.scalars(select(PracticeReview).where(PracticeReview.cadet_id == cadet_id)
                               .options(selectinload(PracticeReview.judgements)).execution_options(**fresh)).all()
    records += session.scalars(select(Countersignature).where(Countersignature.cadet_id == cadet_id)
                               .options(selectinload(Countersignature.review)).execution_options(**fresh)).all()
    records += session.scalars(select(PanelDecision).where(PanelDecision.cadet_id == cadet_id)
                               .options(selectinload(PanelDecision.case)).execution_options(**fresh)).all()
    return sorted(records, key=lambda r: (r.chain_seq is None, r.chain_seq or 0, KIND_OF[type(r)], r.id))


def seal_problem(record: str, code: str, key_id: str | None) -> ChainProblem:
    """A seal that does not hold, said so that a wrong key is told apart from a forgery."""
    messages = {
        "unsealed": _l("it is not sealed with the chain key (run “flask practice rekey” once after upgrading)"),
        "unknown-key": _l("it is sealed with key %(key)s, which this installation does not hold (is CHAIN_KEY_FILE "
                          "the right key file?)", key=key_id or ""),
        "mismatch": _l("its seal does not match: it was changed, re-hashed or moved by someone without the chain key"),
    }
    return ChainProblem(record, str(messages[code]), code)


def verify_chain(session: Session, cadet_id: int, storage_dir: Path | None = None,
                 keyring: Keyring | None = None) -> ChainReport:
    """Recompute a cadet's chain from the rows; list every way it does not hold.

    With ``storage_dir``, the files attached to signed entries are hashed again too.
    """
    keyring = keyring or chain_keyring(current_app)
    report = ChainReport(cadet_id=cadet_id)
    try:
        records = chained_records(session, cadet_id)
    except LookupError as error:  # a stored value outside its enum: written behind the application's back
        report.problems.append(ChainProblem("chain", str(_l(
            "a signed record holds a value the application never writes (%(error)s); the chain cannot be "
            "recomputed", error=str(error)))))
        return report
    report.records = len(records)
    previous = GENESIS
    previous_mac = GENESIS_MAC
    position = 0
    for record in records:
        if record.chain_seq is None:
            report.problems.append(ChainProblem(label(record), str(_l("the record is not in the chain"))))
            continue
        position += 1
        if record.chain_seq != position:
            report.problems.append(ChainProblem(label(record), str(_l(
                "it holds place %(seq)d where place %(expected)d was expected (a record is missing or duplicated)",
                seq=record.chain_seq, expected=position))))
        if record.prev_hash != previous:
            report.problems.append(ChainProblem(label(record), str(_l(
                "it does not point at the previous record's hash"))))
        if compute_hash(record) != record.record_hash:
            report.problems.append(ChainProblem(label(record), str(_l(
                "its content no longer matches its hash (it was changed after signing)"))))
        problem = keyring.check("link", link_content(chain_name(cadet_id), record.chain_seq, record.record_hash or "",
                                                     previous_mac), record.key_id, record.link_mac)
        if problem is not None:
            report.problems.append(seal_problem(label(record), problem, record.key_id))
        previous = record.record_hash or ""
        previous_mac = record.link_mac or GENESIS_MAC
        if storage_dir is not None and isinstance(record, SignOff):
            for attachment in record.entry.attachments:
                path = storage_dir / attachment.stored_name
                if not path.is_file() or _file_sha256(path) != attachment.sha256:
                    report.problems.append(ChainProblem(f"file #{attachment.id}", str(_l(
                        "the stored file is missing or differs from the one that was signed"))))
    head = session.get(PracticeChainHead, cadet_id, populate_existing=True)
    head_length, head_hash = (head.length, head.head_hash) if head is not None else (0, GENESIS)
    if head_length != position or head_hash != previous:
        report.problems.append(ChainProblem("chain", str(_l(
            "its recorded end (%(length)d records) does not match the records found (%(found)d)",
            length=head_length, found=position))))
    elif head is not None and head.last_mac is not None and head.last_mac != previous_mac:
        report.problems.append(seal_problem("chain", "mismatch", head.key_id))
    elif head is not None:
        problem = keyring.check("head", head_content(chain_name(cadet_id), head.length, head.last_mac or ""),
                                head.key_id, head.head_mac)
        if problem is not None:
            report.problems.append(seal_problem("chain", problem, head.key_id))
    report.head_hash, report.last_mac = head_hash, (head.last_mac if head is not None else None) or GENESIS_MAC
    return report


def cadets_with_records(session: Session) -> list[int]:
    ids: set[int] = set(session.scalars(select(PracticeChainHead.cadet_id)))
    for model in CHAINED_MODELS:
        ids |= set(session.scalars(select(model.cadet_id).distinct()))
    return sorted(ids)


def verify_all(session: Session, cadet_ids: Iterable[int] | None = None,
               storage_dir: Path | None = None, keyring: Keyring | None = None) -> list[ChainReport]:
    return [verify_chain(session, cadet_id, storage_dir, keyring)
            for cadet_id in (cadet_ids if cadet_ids is not None else cadets_with_records(session))]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
