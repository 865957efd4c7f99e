"""Recording to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lms_plugin.models.audit import AuditEntry
from lms_plugin.models.people import User


def record(session: Session, actor: User | None, action: str, obj: Any, **details: Any) -> AuditEntry:
    """Append one audit row. ``action`` is a stable key such as ``practice.signoff``."""
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action,
                       object_type=type(obj).__name__, object_id=str(getattr(obj, "id", "")),
                       details={key: value for key, value in details.items() if value is not None})
    session.add(entry)
    return entry
