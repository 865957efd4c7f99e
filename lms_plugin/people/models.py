"""Sign-in attempts, the throttle they feed, and the server-side record of each signed-in session."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lms_plugin.core.base import Base, utcnow
from lms_plugin.core.people import User


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    succeeded: Mapped[bool]


class LoginThrottle(Base):
    """Consecutive failed sign-ins under one key: an account at an address, or an address alone.

    Each failure past the free ones doubles the wait before the next attempt under the key is
    looked at (up to a cap); nothing is ever locked for good.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), default="", index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[dt.datetime | None]


class UserSession(Base):
    """One sign-in. The cookie holds a random id; only its SHA-256 is stored, and a session whose
    row is revoked (sign-out, password change, account disabled) is no longer recognised."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
