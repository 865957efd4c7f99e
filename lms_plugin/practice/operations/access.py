"""Object-level access: who may see or sign for whom. Used by views, operations and XBlocks alike."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.errors import PermissionDenied
from lms_plugin.core.people import User
from lms_plugin.practice.models import Placement


def mentor_placement(session: Session, mentor: User, cadet: User, on: dt.date,
                     grace_days: int = 0) -> Placement | None:
    """The mentor's placement of this cadet that covers ``on`` (plus a grace period after its end)."""
    return session.scalar(
        select(Placement).where(Placement.mentor_id == mentor.id, Placement.cadet_id == cadet.id,
                                Placement.starts_on <= on,
                                Placement.ends_on >= on - dt.timedelta(days=grace_days))
        .order_by(Placement.starts_on.desc()).limit(1))


def can_view_person(session: Session, viewer: User, person: User, on: dt.date, grace_days: int) -> bool:
    """Oneself; staff who may see everyone; a mentor while assigned (and for a grace period after)."""
    if viewer.id == person.id or has_capability(viewer, Capability.VIEW_ALL_PEOPLE):
        return True
    if has_capability(viewer, Capability.SIGN_OFF_PRACTICE):
        return mentor_placement(session, viewer, person, on, grace_days) is not None
    return False


def require_view_person(session: Session, viewer: User, person: User, on: dt.date, grace_days: int) -> None:
    if not can_view_person(session, viewer, person, on, grace_days):
        raise PermissionDenied("You may not see this person's records.")


def assigned_cadet_ids(session: Session, mentor: User, on: dt.date, grace_days: int) -> list[int]:
    return list(session.scalars(
        select(Placement.cadet_id).where(Placement.mentor_id == mentor.id, Placement.starts_on <= on,
                                         Placement.ends_on >= on - dt.timedelta(days=grace_days))
        .distinct()))


def has_current_placement(session: Session, cadet: User, on: dt.date) -> bool:
    return bool(session.scalar(select(exists().where(
        Placement.cadet_id == cadet.id, Placement.starts_on <= on, Placement.ends_on >= on))))
