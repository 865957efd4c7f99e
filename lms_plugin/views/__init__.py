"""Blueprints, error pages and template helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask import Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.errors import OperationError, PermissionDenied
from lms_plugin.core.people import Role, User
from lms_plugin.extensions import db, login_manager


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


def attempt(action: Callable[[], Any]) -> OperationError | None:
    """Run an operation and commit; on a refusal roll back (nothing half-saved) and return it.

    A refusal for lack of permission (403) is raised instead, to the error page.
    """
    try:
        action()
        db.session.commit()
        return None
    except OperationError as problem:
        db.session.rollback()
        if problem.status_code == 403:
            raise
        return problem


def register_views(app: Flask) -> None:
    from lms_plugin.views import (
        api,
        auth,
        courses,
        framework,
        main,
        mentoring,
        practice,
        profiles,
        progression,
        psychology,
        reports,
        testing,
        testing_admin,
        units,
    )

    for module in (auth, main, testing, testing_admin, psychology,
                   practice, mentoring, courses, reports, framework, profiles, units,
                   progression, api):
        app.register_blueprint(module.bp)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        return {
            "Capability": Capability,
            "can": lambda capability: has_capability(current_user, capability),
            "localised": localised,
            "language": language,
            "role_label": role_label,
        }

    app.add_template_filter(local_time, "local_time")

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
        if getattr(g, "no_store", False):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Any, int]:
        db.session.rollback()
        if wants_json():
            return jsonify(error="csrf", message=error.description), 400
        return render_template("error.html", status=400, message=error.description), 400

    @app.errorhandler(PermissionDenied)
    def permission_denied(error: PermissionDenied) -> tuple[Any, int]:
        db.session.rollback()
        if wants_json():
            return jsonify(error="forbidden", message=str(error.message)), 403
        return render_template("error.html", status=403, message=error.message), 403

    @app.errorhandler(OperationError)
    def operation_error(error: OperationError) -> Any:
        db.session.rollback()
        if wants_json():
            return jsonify(error="invalid", message=str(error.message), field=error.field), error.status_code
        flash(str(error.message), "error")
        return redirect(safe_back())

    for status in (403, 404, 405, 413):
        app.register_error_handler(
            status, lambda error, status=status: _http_error(error, status))


def _http_error(error: Any, status: int) -> tuple[Any, int]:
    if wants_json():
        return jsonify(error=str(status), message=getattr(error, "description", "")), status
    return render_template("error.html", status=status, message=getattr(error, "description", "")), status
