"""Server-side sessions: each sign-in gets a row, the cookie carries only a random id, and the
user loader recognises a person only while that row stands. Revoking the row ends the session
even for someone holding a copy of the cookie."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from lms_plugin.core.base import utcnow
from lms_plugin.core.people import User
from lms_plugin.people.models import UserSession

COOKIE_KEY = "sid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, remote_addr: str, max_age: dt.timedelta) -> str:
    """A new session for ``user``; gives back the token for the cookie (only its hash is kept).
    The person's ended and expired sessions are dropped here, so the table stays small."""
    session.execute(delete(UserSession).where(
        UserSession.user_id == user.id,
        or_(UserSession.revoked_at < utcnow() - max_age, UserSession.created_at < utcnow() - 2 * max_age)))
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_digest(token), user_id=user.id, remote_addr=remote_addr[:64]))
    session.flush()
    return token


def signed_in_user(session: Session, user_id: str, token: str | None, max_age: dt.timedelta) -> User | None:
    """The active person whose standing session, younger than ``max_age``, carries ``token``, else None
    (one query). The age limit bounds what a copied cookie is worth even without a sign-out."""
    if not token or not user_id.isdigit():
        return None
    return session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _digest(token), UserSession.revoked_at.is_(None),
               UserSession.created_at > utcnow() - max_age, User.id == int(user_id), User.active.is_(True)))


def revoke(session: Session, token: str | None, reason: str) -> None:
    """End one session (sign-out)."""
    if token:
        session.execute(update(UserSession).where(UserSession.token_hash == _digest(token),
                                                  UserSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow(), revoked_reason=reason))


def revoke_all(session: Session, user: User, reason: str) -> int:
    """End every standing session of ``user``; gives back how many there were."""
    result = session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                       UserSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), revoked_reason=reason))
    return result.rowcount or 0
