"""Logs: one line per request and per application log record, as JSON (``LOG_FORMAT=json``, the
default) or as plain text, each carrying the request's id.

The id comes from a trusted ``X-Request-ID`` header (``TRUST_REQUEST_ID_HEADER``, set when a proxy
in front of the app assigns ids) or is generated, and goes back in the response's ``X-Request-ID``
so a person reporting a problem can quote it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

LOGGER_NAME = "lms_plugin"
REQUEST_LOGGER = "lms_plugin.requests"
HEADER = "X-Request-ID"
# Anything else in the header is replaced by a generated id: it ends up in logs and in a response header.
ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_FIELDS = ("method", "path", "status", "duration_ms")


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestContextFilter(logging.Filter):
    """Adds the request id, and the signed-in person's id, to every record made during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            user = g.get("_login_user")  # set by Flask-Login once the person is loaded; never loads it here
            record.user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("request_id", "-")
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a server's, or a test's capture)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(app: Flask) -> None:
    """One handler on the app's logger family; creating another app replaces it rather than doubling lines.

    Records still propagate to the root logger: it has no handler in a server process (so nothing is
    written twice), and test tools that capture logs listen there.
    """
    log_format = app.config["LOG_FORMAT"]
    if log_format not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if isinstance(h, StderrHandler)]:
        logger.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    logger.addHandler(handler)
    logger.setLevel(app.config["LOG_LEVEL"])

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get(HEADER, "")
        trusted = app.config["TRUST_REQUEST_ID_HEADER"] and ACCEPTABLE_ID.match(given)
        g.request_id = given if trusted else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[HEADER] = request_id
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        logging.getLogger(REQUEST_LOGGER).info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"method": request.method, "path": request.path, "status": response.status_code,
                   "duration_ms": duration})
        return response
