"""Helpers shared by the area's logbook, mentoring, units and progression views."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from lms_plugin.core.clock import today
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Role, User
from lms_plugin.extensions import db
from lms_plugin.practice.models import ReviewKind
from lms_plugin.practice.operations.access import can_view_person
from lms_plugin.web.pages import attempt

KIND_TITLES = {ReviewKind.MID: _l("Mid-placement review"), ReviewKind.FINAL: _l("Final review")}


def grace_days() -> int:
    return int(current_app.config["MENTOR_GRACE_DAYS"])


def files_dir() -> Path:
    """Where attached files live: ``PRACTICE_FILES_DIR``, else ``instance/practice_files``."""
    configured = current_app.config.get("PRACTICE_FILES_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "practice_files"


def max_file_bytes() -> int:
    return int(current_app.config.get("PRACTICE_MAX_FILE_BYTES", 5 * 1024 * 1024))


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def visible_cadet(cadet_id: int, on: Any = None) -> User:
    """The cadet, if the current user may see them; otherwise the cadet does not exist (404)."""
    cadet = db.session.get(User, cadet_id)
    if cadet is None or cadet.role is not Role.CADET or not can_view_person(
            db.session, current_user, cadet, on or today(), grace_days()):
        abort(404)
    return cadet


def show_problem(form: FlaskForm, problem: OperationError, fallback: str) -> None:
    """Put an operation's refusal on the form field it is about (or on ``fallback``)."""
    target = getattr(form, problem.field or "", None) or getattr(form, fallback)
    target.errors = [*(target.errors or []), str(problem.message)]
    form.refusal_status = problem.status_code


def written(form: FlaskForm, fallback: str, action: Callable[[], Any]) -> bool:
    """Run the form's operation and commit (:func:`~lms_plugin.views.attempt`); a refusal goes on
    the form (:func:`show_problem`) and nothing is saved. True if it was written."""
    problem = attempt(action)
    if problem is not None:
        show_problem(form, problem, fallback)
    return problem is None


def form_status(form: FlaskForm) -> int:
    """The refusal's status (409 for a conflict…), else 400 for invalid input, else 200."""
    if getattr(form, "refusal_status", None):
        return int(form.refusal_status)
    return 400 if any(field.errors for field in form) else 200
