"""Error pages: every refusal and failure answered in the app's layout, in the person's language, with a
way back; JSON instead for the API and for clients that ask for JSON.

Werkzeug's own descriptions are English, so a status gets our translated text unless the code that raised
it gave its own message (``abort(404, _("..."))``, a refusal from an operation).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from lms_plugin.core.errors import MissingCapability, PermissionDenied
from lms_plugin.extensions import db
from lms_plugin.web.pages import wants_json

TITLES = {
    400: _l("The request could not be understood"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("This action is not possible here"),
    413: _l("Too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is busy"),
}
MESSAGES = {
    400: _l("The page received something it cannot use. Go back and try again."),
    403: _l("You do not have permission to open this page."),
    404: _l("There is no such page. The address may be mistyped, or what it showed is no longer here."),
    405: _l("This address cannot be used this way. Go back and use the page's own buttons and links."),
    413: _l("What you sent is larger than the service accepts."),
    429: _l("Too many attempts in a short time. Wait a while and try again."),
    500: _l("The service could not complete the request. Nothing was saved. Try again later; if it happens "
            "again, tell the Training Centre."),
}
CSRF_MESSAGE = _l("The form has expired or did not come from this service's page. Go back, reload the page "
                  "and send it again.")
DEFAULT_TITLE = _l("Something is not right")


def install(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(PermissionDenied, _permission_denied)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)


def way_back() -> str:
    """The page the person came from when it is ours (and not this one), else their dashboard or the sign-in."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url) and referrer != request.url:
        return referrer
    return url_for("main.dashboard") if current_user.is_authenticated else url_for("auth.login")


def _message(error: HTTPException, status: int) -> str:
    description = error.description
    if description and description != type(error).description:
        return str(description)
    return str(MESSAGES.get(status, ""))


def error_response(status: int, message: str, code: str) -> tuple[Any, int]:
    if wants_json():
        return jsonify(error=code, message=message), status
    return render_template("error.html", status=status, title=TITLES.get(status, DEFAULT_TITLE),
                           message=message, back=way_back()), status


def _csrf_error(error: CSRFError) -> tuple[Any, int]:
    db.session.rollback()
    return error_response(400, str(CSRF_MESSAGE), "csrf")


def _permission_denied(error: PermissionDenied) -> tuple[Any, int]:
    db.session.rollback()
    message = MESSAGES[403] if isinstance(error, MissingCapability) else error.message
    return error_response(403, str(message), "forbidden")


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status < 400:  # redirects raised as exceptions pass through unchanged
        return error
    db.session.rollback()
    response, status = error_response(status, _message(error, status), str(status))
    # keep what the status carries (Allow on a 405, Retry-After on a 429), not Werkzeug's content type
    headers = [(key, value) for key, value in error.get_headers() if key.lower() != "content-type"]
    return response, status, headers


def _server_error(error: InternalServerError) -> tuple[Any, int]:
    """An unhandled exception (Flask has logged it with its traceback): undo the transaction, answer calmly."""
    try:
        db.session.rollback()
    except Exception:  # the database itself may be what failed; the page is still owed
        current_app.logger.exception("rolling back after an unhandled error failed")
    try:
        return error_response(500, str(MESSAGES[500]), "server_error")
    except Exception:  # the layout needs the database (the signed-in person); fall back to plain text
        current_app.logger.exception("the error page could not be rendered")
        return str(MESSAGES[500]), 500
