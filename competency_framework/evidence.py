"""Recording evidence. Evidence is append-only: a correction is a new row that supersedes
the old one, and an override is evidence too (with its reason in ``note``)."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from competency_framework.errors import EvidenceError
from competency_framework.models import Competency, Evidence, EvidenceSource, Framework, FrameworkStatus
from competency_framework.texts import TEXT_MAX, check_length, clean_text

SOURCE_REF_MAX = 128


def record_evidence(session: Session, *, person_id: int, competency: Competency, source: EvidenceSource,
                    recorded_by_id: int | None, level: int | None = None, achieved: bool | None = None,
                    note: str = "", source_ref: str = "", supersedes: Evidence | None = None,
                    recorded_at: dt.datetime | None = None) -> Evidence:
    """Append one piece of evidence against a published (or archived) version's competency.

    Drafts take no evidence: their rows may still be deleted. ``recorded_at`` is for
    importing dated historical records; it defaults to now.
    """
    source = EvidenceSource(source)
    framework = competency.framework
    if framework.status is FrameworkStatus.DRAFT:
        raise EvidenceError(f"{competency.code!r} belongs to a draft; record evidence against a published version")
    if competency.retired:
        raise EvidenceError(f"{competency.code!r} is retired")
    scale = framework.scale
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= scale.max_level:
            raise EvidenceError(f"level {level!r} is outside the scale 1–{scale.max_level}")
    note = check_length(clean_text(note), TEXT_MAX, "note")
    if source is EvidenceSource.OVERRIDE:
        if level is None:
            raise EvidenceError("an override must set a level")
        if not note:
            raise EvidenceError("an override needs a reason")
    if supersedes is not None:
        _check_supersedes(session, supersedes, person_id, competency)
    evidence = Evidence(person_id=person_id, competency=competency, source=source, level=level,
                        achieved=achieved, note=note, recorded_by_id=recorded_by_id,
                        source_ref=check_length(clean_text(source_ref), SOURCE_REF_MAX, "source reference"),
                        supersedes_id=None if supersedes is None else supersedes.id)
    if recorded_at is not None:
        evidence.recorded_at = recorded_at
    session.add(evidence)
    session.flush()
    return evidence


def _check_supersedes(session: Session, old: Evidence, person_id: int, competency: Competency) -> None:
    if old.person_id != person_id:
        raise EvidenceError("a correction must be about the same person")
    if old.competency.code != competency.code or old.competency.framework.code != competency.framework.code:
        raise EvidenceError("a correction must be about the same competency")
    if session.scalar(select(Evidence.id).where(Evidence.supersedes_id == old.id).limit(1)) is not None:
        raise EvidenceError(f"evidence {old.id} has already been corrected; correct the newest record")


def record_override(session: Session, *, person_id: int, competency: Competency, level: int, reason: str,
                    recorded_by_id: int | None) -> Evidence:
    """An authorised person sets the level outright; the reason is required and kept."""
    return record_evidence(session, person_id=person_id, competency=competency, source=EvidenceSource.OVERRIDE,
                           recorded_by_id=recorded_by_id, level=level, note=reason)


def correct_evidence(session: Session, old: Evidence, *, recorded_by_id: int | None, reason: str,
                     level: int | None = None, achieved: bool | None = None) -> Evidence:
    """Replace a wrong record with a corrected one (same person, competency and source)."""
    if not clean_text(reason):
        raise EvidenceError("a correction needs a reason")
    return record_evidence(session, person_id=old.person_id, competency=old.competency, source=old.source,
                           recorded_by_id=recorded_by_id, level=level, achieved=achieved, note=reason,
                           source_ref=old.source_ref, supersedes=old)


def withdraw_evidence(session: Session, old: Evidence, *, recorded_by_id: int | None, reason: str) -> Evidence:
    """Take a record out of the calculation: a superseding row that carries no level."""
    return correct_evidence(session, old, recorded_by_id=recorded_by_id, reason=reason)


def evidence_history(session: Session, framework: Framework, person_id: int,
                     codes: Iterable[str] | None = None) -> dict[str, list[Evidence]]:
    """Every piece of evidence about a person in any version of this framework, by competency code, oldest first."""
    query = (select(Evidence).join(Evidence.competency).join(Competency.framework)
             .options(contains_eager(Evidence.competency))
             .where(Evidence.person_id == person_id, Framework.code == framework.code)
             .order_by(Evidence.recorded_at, Evidence.id))
    if codes is not None:
        query = query.where(Competency.code.in_(list(codes)))
    history: dict[str, list[Evidence]] = {}
    for item in session.scalars(query):
        history.setdefault(item.competency.code, []).append(item)
    return history


def superseded_ids(items: Iterable[Evidence]) -> set[int]:
    return {item.supersedes_id for item in items if item.supersedes_id is not None}
