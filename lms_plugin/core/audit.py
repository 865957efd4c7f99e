"""The audit log: who did what to which object. Rows are append-only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from lms_plugin.core.base import AppendOnly, Base, utcnow
from lms_plugin.core.people import User


class AuditEntry(AppendOnly, Base):
    """Who did what to which object. ``action`` is a stable key, e.g. ``practice.signoff``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey(User.id))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[User | None] = relationship()


def record(session: Session, actor: User | None, action: str, obj: Any, **details: Any) -> AuditEntry:
    """Append one audit row. ``action`` is a stable key such as ``practice.signoff``."""
    entry = AuditEntry(actor_id=actor.id if actor else None, action=action,
                       object_type=type(obj).__name__, object_id=str(getattr(obj, "id", "")),
                       details={key: value for key, value in details.items() if value is not None})
    session.add(entry)
    return entry
