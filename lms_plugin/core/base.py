"""The declarative base shared by every domain's tables, and column types they share.

It lives here because the framework is the backbone the other domains point at;
Flask-SQLAlchemy in ``lms_plugin`` binds to this same base, so the domain
packages stay free of Flask.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, event
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


class LocalisedMixin:
    """Helpers for ``*_en`` / ``*_lt`` column pairs."""

    def localised(self, stem: str, language: str) -> str:
        value = getattr(self, f"{stem}_{language}", None)
        return value or getattr(self, f"{stem}_en", "") or ""


class ImmutableRecordError(RuntimeError):
    """Raised when code tries to change or delete an append-only record."""


class AppendOnly:
    """Marker for records that may be inserted but never updated or deleted.

    Corrections are new rows pointing at the old one. The guard below refuses any
    flush that would update or delete such a row, whichever code path tries.
    """


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AppendOnly):
            raise ImmutableRecordError(f"{type(obj).__name__} {getattr(obj, 'id', '')} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AppendOnly) and session.is_modified(obj, include_collections=False):
            raise ImmutableRecordError(f"{type(obj).__name__} {getattr(obj, 'id', '')} cannot be changed")


def enum_column(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    """A portable enum column that stores the members' values (readable in SQL and exports)."""
    return Enum(enum_class, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [member.value for member in members])
