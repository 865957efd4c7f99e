"""Practice routes (issue 5) × every kind of user.

Columns as in ``test_permission_matrix.py``: anonymous, cadet.01 (the owner), cadet.07 (another
cadet), mentor.jonas (cadet.01's mentor), mentor.ona (not cadet.01's mentor), admin, assessor,
psychologist. Units and placements are the administrator's; countersigning is the assessor's;
the review panel is an administrator's or an assessor's who signed nothing in the case; a
cadet signs nothing.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.web.permissions import LOGIN, Route, expect, matrix_tests
from tests.web.practice_objects import PDF_BYTES, build

ADMIN_ONLY = expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=403)
ADMIN_POST = expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=403)
MENTOR_ONLY_OWN = expect(LOGIN, 403, 403, 200, 404, 403)
CADET_OWN_POST = expect(LOGIN, 302, 404, 403, 403, 403)
SEES_CADET = expect(LOGIN, 200, 404, 200, 404, 200)
STAFF_PANEL = expect(LOGIN, 403, 403, 403, 403, 200, assessor=200, psychologist=403)


def _file(objects: dict[str, Any]) -> dict[str, Any]:
    return {f"f{objects['entry']}-attachment": (io.BytesIO(PDF_BYTES), "vysk.pdf")}


ROUTES = [
    # Units, mentors, placements: training centre administrators.
    Route("units.index", "GET", "/units/", ADMIN_ONLY),
    Route("units.new_unit", "GET", "/units/new", ADMIN_ONLY),
    Route("units.new_unit", "POST", "/units/new", ADMIN_POST,
          data=lambda o: {"institution": "1", "code": "TST-9", "name_en": "Test unit", "name_lt": "Bandomasis"}),
    Route("units.edit_unit", "GET", "/units/{unit}/edit", ADMIN_ONLY),
    Route("units.mentors", "GET", "/units/mentors", ADMIN_ONLY),
    Route("units.edit_mentor", "GET", "/units/mentors/{mentor_user}", ADMIN_ONLY),
    Route("units.placements", "GET", "/units/placements", ADMIN_ONLY),
    Route("units.new_placement", "GET", "/units/placements/new", ADMIN_ONLY),
    Route("units.reassign_placement", "GET", "/units/placements/{placement}/reassign", ADMIN_ONLY),
    Route("units.end_placement", "POST", "/units/placements/{placement}/end", ADMIN_POST,
          data={"e-last_day": "2026-12-01", "e-reason": "Liga."}),
    # The cadet's logbook: files and requests, the owner only.
    Route("practice.attach_file", "POST", "/practice/entries/{entry}/files", CADET_OWN_POST, data=_file),
    Route("practice.file", "GET", "/practice/files/{attachment}", SEES_CADET),
    Route("practice.request_signoff", "POST", "/practice/entries/{entry}/request", CADET_OWN_POST,
          data={"r{entry}-message": "Prašau."}),
    Route("practice.withdraw_request", "POST", "/practice/requests/{request}/withdraw", CADET_OWN_POST),
    # Mentors: only the cadet's current mentor signs.
    Route("mentoring.queue", "GET", "/mentoring/queue", expect(LOGIN, 403, 403, 200, 200, 403)),
    Route("mentoring.sign_request", "POST", "/mentoring/requests/{request}/sign",
          expect(LOGIN, 403, 403, 302, 404, 403), data={"q{request}-outcome": "achieved", "q{request}-comment": ""}),
    Route("mentoring.new_observation", "GET", "/cadets/{cadet}/observations/new", MENTOR_ONLY_OWN),
    Route("mentoring.new_observation", "POST", "/cadets/{cadet}/observations/new",
          expect(LOGIN, 403, 403, 302, 404, 403),
          data={"task": "1", "observed_on": "2026-11-20", "description": "Stebėjau.", "outcome": "achieved"}),
    Route("mentoring.new_review", "GET", "/cadets/{cadet}/reviews/new/final", MENTOR_ONLY_OWN),
    Route("mentoring.review", "GET", "/reviews/{mid_review}", SEES_CADET),
    Route("mentoring.correct_review", "GET", "/reviews/{mid_review}/correct", MENTOR_ONLY_OWN),
    Route("mentoring.correct_signoff", "GET", "/signoffs/{signoff}/correct", MENTOR_ONLY_OWN),
    Route("mentoring.timeline", "GET", "/cadets/{cadet}/timeline", SEES_CADET),
    # The training centre: countersignature, review panel, lists.
    Route("progression.index", "GET", "/progression/", STAFF_PANEL),
    Route("progression.countersign", "POST", "/progression/reviews/{final_review}/countersign",
          expect(LOGIN, 403, 403, 403, 403, 403, assessor=302, psychologist=403),
          data={"decision": "agree", "comment": ""}),
    Route("progression.correct_countersignature", "GET", "/progression/countersignatures/{countersignature}/correct",
          expect(LOGIN, 403, 403, 403, 403, 403, assessor=200, psychologist=403)),
    Route("progression.panel_case", "GET", "/progression/panel/{open_case}", STAFF_PANEL),
    # The assessor countersigned (and disagreed) in the demo's open case: not a panel member for it.
    Route("progression.decide", "POST", "/progression/panel/{open_case}/decide",
          expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=403),
          data={"decision": "not_ready", "reasons": "Komisijos motyvai.", "members": "A, B"}),
    Route("progression.correct_decision", "GET", "/progression/decisions/{decision}/correct",
          expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=403)),
    Route("progression.attention", "GET", "/progression/attention",
          expect(LOGIN, 403, 403, 403, 403, 200, assessor=200, psychologist=403)),
]


@pytest.fixture()
def objects(app, database, user, tmp_path, monkeypatch) -> dict[str, Any]:
    monkeypatch.setitem(app.config, "PRACTICE_FILES_DIR", str(tmp_path))
    return build(database.session, user, tmp_path)


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)
