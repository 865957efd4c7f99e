"""The service's calendar day. Placements and windows are dated in Lithuanian time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SERVICE_TIMEZONE = ZoneInfo("Europe/Vilnius")


def today() -> dt.date:
    return dt.datetime.now(SERVICE_TIMEZONE).date()
