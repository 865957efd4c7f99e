"""Sign-in throttling by progressive delays, never by locking.

Two keys count consecutive failures: the account at the address it is tried from, and the address
alone (with four times the free failures, for a prison's shared address). Past the free failures,
each failure doubles the wait before the next attempt under that key is even looked at, up to
``LOGIN_MAX_DELAY_SECONDS``; a key is forgotten ``LOGIN_WINDOW_MINUTES`` after its last failure. So
the right password from a key that is not waiting always works, no-one can be locked out for
good, and a sustained guessing run is held to one guess per capped delay per address.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms_plugin.core import audit
from lms_plugin.core.people import User
from lms_plugin.people.models import LoginThrottle

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Policy:
    free_failures: int
    window: dt.timedelta
    max_delay: dt.timedelta

    @classmethod
    def from_config(cls, config: dict) -> "Policy":
        return cls(free_failures=int(config["LOGIN_MAX_FAILURES"]),
                   window=dt.timedelta(minutes=int(config["LOGIN_WINDOW_MINUTES"])),
                   max_delay=dt.timedelta(seconds=int(config["LOGIN_MAX_DELAY_SECONDS"])))

    def delay(self, failures: int, free: int) -> dt.timedelta | None:
        """The wait after the ``failures``-th consecutive failure: none while free, then 2, 4, 8… s, capped."""
        if failures <= free:
            return None
        excess = min(failures - free, 32)  # 2**32 s is far past any cap
        return min(dt.timedelta(seconds=2 ** excess), self.max_delay)


def _keys(username: str, remote_addr: str) -> dict[str, tuple[str, str]]:
    return {f"account:{username}@{remote_addr}": (username, remote_addr), f"address:{remote_addr}": ("", remote_addr)}


def wait_seconds(session: Session, policy: Policy, username: str, remote_addr: str, now: dt.datetime) -> int:
    """How long this account at this address must wait before an attempt is looked at (0: go ahead)."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(list(_keys(username, remote_addr)))))
    waits = [(row.blocked_until - now).total_seconds() for row in rows
             if row.blocked_until is not None and row.blocked_until > now]
    return math.ceil(max(waits)) if waits else 0


def record_failure(session: Session, policy: Policy, username: str, remote_addr: str, now: dt.datetime,
                   account: User | None) -> None:
    """Count a failed attempt under both keys; the first delay a key gets is audited."""
    for key, (key_username, key_addr) in _keys(username, remote_addr).items():
        row = _locked_row(session, key, key_username, key_addr)
        if row is None:  # created and removed again by a concurrent sign-in in between: nothing to count on
            continue
        if row.failures and now - row.last_failure_at > policy.window:
            row.failures, row.blocked_until = 0, None
        was_delayed = row.blocked_until is not None
        row.failures += 1
        row.last_failure_at = now
        free = policy.free_failures * (ADDRESS_FACTOR if key_username == "" else 1)
        delay = policy.delay(row.failures, free)
        row.blocked_until = now + delay if delay else None
        if delay and not was_delayed:
            session.flush()
            audit.record(session, None, "auth.sign_in_delayed", account if key_username and account else row,
                         key=key, failures=row.failures, remote_addr=remote_addr)
    session.flush()


def _locked_row(session: Session, key: str, username: str, remote_addr: str) -> LoginThrottle | None:
    """The key's row, locked against concurrent failures (PostgreSQL; SQLite already writes one at a
    time), created when missing; a concurrent creation of the same key is taken up, not an error."""
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(key=key, username=username, remote_addr=remote_addr, failures=0)
            session.add(row)
    except IntegrityError:
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    return row


def record_success(session: Session, username: str, remote_addr: str) -> None:
    """A right password clears the account's key at this address (never the shared address's key)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"account:{username}@{remote_addr}"))


def delayed_accounts(session: Session, now: dt.datetime) -> dict[str, dt.datetime]:
    """Usernames whose sign-in is waiting at some address, with the latest moment it waits until."""
    rows = session.execute(select(LoginThrottle.username, LoginThrottle.blocked_until)
                           .where(LoginThrottle.username != "", LoginThrottle.blocked_until > now))
    waiting: dict[str, dt.datetime] = {}
    for username, until in rows:
        waiting[username] = max(until, waiting.get(username, until))
    return waiting


def clear_account(session: Session, username: str) -> int:
    """Forget the account's failures at every address; gives back how many keys there were."""
    return session.execute(delete(LoginThrottle).where(LoginThrottle.username == username)).rowcount or 0
