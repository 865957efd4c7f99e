"""Competency evidence in each person's keyed record chain (``lms_plugin.core.ledger``).

Evidence is written by the framework domain, which never imports the app; every area that
records evidence (ratings and overrides here, sign-offs in practice, test results, course
completions) goes through the app's database session, so the seal is taken there: after
each flush, every new evidence row gets its link, under the key in ``CHAIN_KEY_FILE``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_sqlalchemy.session import Session as AppSession
from sqlalchemy import event
from sqlalchemy.orm import Session

from competency_framework.models import Evidence
from lms_plugin.config import chain_keyring
from lms_plugin.core.ledger import moment, register_kind, seal_records


def evidence_content(evidence: Evidence) -> dict[str, Any]:
    """What an evidence row says, as sealed: every column, the row's id included."""
    return {
        "id": evidence.id, "person": evidence.person_id, "competency": evidence.competency_id,
        "source": evidence.source.value if evidence.source is not None else None, "level": evidence.level,
        "achieved": evidence.achieved, "note": evidence.note or "", "source_ref": evidence.source_ref or "",
        "recorded_by": evidence.recorded_by_id, "recorded_at": moment(evidence.recorded_at),
        "supersedes": evidence.supersedes_id,
    }


register_kind("evidence", Evidence, "person_id", evidence_content)


@event.listens_for(AppSession, "after_flush")
def _seal_new_evidence(session: Session, flush_context: Any) -> None:
    new = sorted((obj for obj in session.new if isinstance(obj, Evidence)), key=lambda obj: obj.id)
    if new:
        seal_records(session, chain_keyring(current_app), new)
