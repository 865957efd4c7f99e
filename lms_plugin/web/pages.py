"""Helpers every area's views share: the language, localised fields, local times, role labels,
where to send the person back to, and ``attempt()``, which commits an operation or shows its refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, TypeVar

from flask import request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Role
from lms_plugin.extensions import db

T = TypeVar("T")


def language() -> str:
    return str(get_locale() or "lt")


def localised(obj: Any, stem: str) -> str:
    """``obj.<stem>_<language>`` with English as the fallback, for templates."""
    return obj.localised(stem, language())


ROLE_LABELS = {Role.CADET: _l("cadet"), Role.MENTOR: _l("mentor"), Role.ASSESSOR: _l("assessor"),
               Role.PSYCHOLOGIST: _l("psychologist"), Role.ADMIN: _l("training centre administrator")}


def role_label(value: str) -> str:
    return str(ROLE_LABELS[Role(value)])


def local_time(moment: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC moment as the service's local (Vilnius) time."""
    return moment.astimezone(SERVICE_TIMEZONE).strftime(pattern) if moment else ""


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def safe_back() -> str:
    """The referring page when it is ours, else the dashboard (never an outside address)."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return referrer
    return url_for("main.dashboard")


def attempted(action: Callable[[], T]) -> tuple[T | None, OperationError | None]:
    """Run an operation and commit, giving back its result; on a refusal roll back (nothing
    half-saved) and give back the refusal instead.

    A refusal for lack of permission (403) is raised instead, to the error page.
    """
    try:
        result = action()
        db.session.commit()
        return result, None
    except OperationError as problem:
        db.session.rollback()
        if problem.status_code == 403:
            raise
        return None, problem


def attempt(action: Callable[[], Any]) -> OperationError | None:
    """``attempted`` for operations whose result the view does not need: only the refusal, if any."""
    return attempted(action)[1]
