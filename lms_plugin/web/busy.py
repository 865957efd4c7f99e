"""When the database is busy (another transaction holds the write lock past the wait), answer
503 with ``Retry-After`` -- JSON for the API, the styled error page otherwise -- instead of a 500,
and note the interval so that sittings' time limits are credited for it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Flask, g, jsonify, render_template
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError

from lms_plugin.core import base, outages
from lms_plugin.extensions import db, login_manager
from lms_plugin.web import errors
from lms_plugin.web.pages import wants_json

RETRY_AFTER_SECONDS = 5
_BUSY_MESSAGES = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock",
                  "canceling statement due to lock timeout", "deadlock detected")


def is_busy(error: BaseException) -> bool:
    """A lock that could not be had in time (SQLite's busy timeout, PostgreSQL's lock_timeout)."""
    text = str(getattr(error, "orig", error)).lower()
    return any(message in text for message in _BUSY_MESSAGES)


def install(app: Flask) -> None:
    @app.before_request
    def note_arrival() -> None:
        g.arrived_at = base.utcnow()
        g.arrived_tick = time.monotonic()

    @app.errorhandler(OperationalError)
    def database_error(error: OperationalError) -> Any:
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone; the response matters more
            pass
        if not is_busy(error):
            raise error
        # The request waited this long for the lock: the span the server could not serve.
        arrived = getattr(g, "arrived_at", None) or base.utcnow()
        waited = time.monotonic() - getattr(g, "arrived_tick", time.monotonic())
        outages.record(arrived, arrived + dt.timedelta(seconds=waited))
        message = _("The service is busy. Your work is safe: try again in a few seconds.")
        if "_login_user" not in g:  # neither the page nor its headers may ask the busy database who this is
            g._login_user = login_manager.anonymous_user()
        if wants_json():
            response = jsonify(error="busy", message=message, retry_after=RETRY_AFTER_SECONDS)
        else:
            response = app.make_response((render_template(
                "error.html", status=503, title=errors.TITLES[503], message=message, back=errors.way_back()), 503))
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
