"""When this server could not serve because the database was busy (its write lock held too long).

Every refused request adds the interval from its arrival to its refusal; overlapping ones merge.
A sitting's time limit is extended by the outage time that fell inside it (``credit_outages`` in
the testing operations), so a cadet does not lose the minutes the server could not serve them.
Kept in the process: each server process credits the outages it saw itself.
"""

from __future__ import annotations

import datetime as dt
import threading

from lms_plugin.core import base

KEEP = dt.timedelta(days=2)  # longer than any sitting's time limit

_lock = threading.Lock()
_intervals: list[tuple[dt.datetime, dt.datetime]] = []


def record(started: dt.datetime, ended: dt.datetime | None = None) -> None:
    ended = ended or base.utcnow()
    if ended <= started:
        return
    with _lock:
        merged = [(started, ended)]
        for start, end in _intervals:
            if end < merged[0][0] or start > merged[0][1]:
                merged.append((start, end))
            else:
                merged[0] = (min(start, merged[0][0]), max(end, merged[0][1]))
        horizon = ended - KEEP
        _intervals[:] = sorted(interval for interval in merged if interval[1] > horizon)


def within(since: dt.datetime, until: dt.datetime) -> dt.timedelta:
    """How much outage time fell between ``since`` and ``until``."""
    total = dt.timedelta()
    with _lock:
        for start, end in _intervals:
            overlap = min(end, until) - max(start, since)
            if overlap > dt.timedelta():
                total += overlap
    return total


def clear() -> None:
    with _lock:
        _intervals.clear()
