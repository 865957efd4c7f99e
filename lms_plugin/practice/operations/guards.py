"""Writes that must happen once: a losing concurrent writer gets a ``Conflict`` with a clear message.

Uniqueness in the database decides who was first (a unique index, a conditional UPDATE);
the loser's error surfaces here as an ``IntegrityError`` or, on SQLite, as "database is
locked" when its snapshot went stale while it waited; on PostgreSQL as a serialisation
failure or deadlock. Each becomes the same ``Conflict``, and the request rolls back.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from lms_plugin.core.errors import Conflict

_POSTGRES_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_write_conflict(error: OperationalError) -> bool:
    original = error.orig
    if getattr(original, "sqlite_errorname", "").startswith("SQLITE_BUSY") or "database is locked" in str(original):
        return True
    return getattr(original, "sqlstate", None) in _POSTGRES_RETRYABLE


@contextmanager
def write_once(session: Session, message: str) -> Iterator[None]:
    """Run the writes in a savepoint; a uniqueness or lock conflict becomes ``Conflict(message)``."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise Conflict(message) from None
    except OperationalError as error:
        if is_write_conflict(error):
            raise Conflict(message) from None
        raise
