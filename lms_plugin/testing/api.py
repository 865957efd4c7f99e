"""The JSON API. Same operations as the pages; CSRF token in the ``X-CSRFToken`` header."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, TestAssignment

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def require_login() -> tuple[Response, int] | None:
    if not current_user.is_authenticated:
        return jsonify(error="unauthenticated", message=_("Sign in first.")), 401
    return None


def _json_body() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the JSON decoder gives up on deep nesting with this, not a ValueError
        raise OperationError(_("The JSON is nested too deeply; send one flat JSON object.")) from None
    if not isinstance(body, dict):
        raise OperationError(_("Send a JSON object."))
    return body


@bp.post("/sittings/<int:sitting_id>/answers")
def save_answer(sitting_id: int) -> Response | tuple[Response, int]:
    """Save one answer as it is given: ``{"item_id": "SR01", "value": "4", "position": 3}``."""
    sitting = db.session.get(Sitting, sitting_id,
                             options=[joinedload(Sitting.assignment).joinedload(TestAssignment.instrument)])
    if sitting is None or sitting.person_id != current_user.id:
        abort(404)
    if assessments.finish_if_expired(db.session, sitting):
        db.session.commit()
        return jsonify(error="time_over", submitted=True,
                       message=_("The time for this test is over. The answers you saved in time have been submitted."),
                       results_url=url_for("testing.results", sitting_id=sitting.id)), 409
    body = _json_body()
    item_id = body.get("item_id")
    if not isinstance(item_id, str):
        raise OperationError(_("item_id is required."), field="item_id")
    answer = assessments.save_answer(db.session, current_user, sitting, item_id, body.get("value"))
    position = body.get("position")
    if isinstance(position, int):
        assessments.move_to(db.session, current_user, sitting, position)
    answered = assessments.count_answers(db.session, sitting)
    db.session.commit()
    return jsonify(saved=True, item_id=answer.item_id, value=answer.value, answered=answered)
