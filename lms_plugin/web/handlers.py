"""What every page gets: the signed-in person, template helpers, security headers, and error
pages (or JSON errors for the API) for refusals, CSRF failures and HTTP errors."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, g, jsonify, redirect, render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.errors import OperationError, PermissionDenied
from lms_plugin.extensions import db
from lms_plugin.web.pages import language, local_time, localised, role_label, safe_back, wants_json


def install(app: Flask) -> None:
    """Attach the shared handlers to the application."""

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
