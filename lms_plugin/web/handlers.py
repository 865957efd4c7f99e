"""What every page gets: the signed-in person, template helpers, security headers, and error
pages (or JSON errors for the API) for refusals, CSRF failures and HTTP errors."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, g, jsonify, redirect, request
from flask_login import current_user
from werkzeug.wrappers import Response

from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.web import errors
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
        # Whatever a signed-in person is shown is about someone: never kept by the browser or a proxy. Only a
        # person this request already loaded counts (every page that shows personal data loads them), so that
        # /healthz and the like never touch the database here.
        loaded = g.get("_login_user")
        signed_in = loaded is not None and loaded.is_authenticated
        if request.endpoint != "static" and (getattr(g, "no_store", False) or signed_in) \
                and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(OperationError)
    def operation_error(error: OperationError) -> Any:
        db.session.rollback()
        if wants_json():
            return jsonify(error="invalid", message=str(error.message), field=error.field), error.status_code
        flash(str(error.message), "error")
        return redirect(safe_back())

    errors.install(app)
