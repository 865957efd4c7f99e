"""Competency framework, profile and gap routes (issue 3) × every kind of user.

Columns as in ``test_permission_matrix.py``: anonymous, cadet.01 (whose profile it is),
cadet.07 (another cadet), mentor.jonas (cadet.01's mentor), mentor.ona (not cadet.01's
mentor), admin, assessor, psychologist. Training centre staff read the framework; only
the administrator changes it; only the assessor rates; a profile is seen by its owner,
their mentor and staff, and does not exist for anyone else (404).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from competency_framework.interchange.moodle_csv import HEADERS
from competency_framework.operations import current_framework, load_framework_definition
from competency_framework.tree import node_by_code
from lms_plugin.core.people import Cohort, User
from lms_plugin.framework import operations as ops
from tests.web.permissions import LOGIN, Route, expect, matrix_tests

STAFF_READ = expect(LOGIN, 403, 403, 403, 403, 200)
ADMIN_PAGE = expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=403)
ADMIN_POST = expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=403)
SEES_PERSON = expect(LOGIN, 200, 404, 200, 404, 200)
ASSESSOR_POST = expect(LOGIN, 403, 403, 403, 403, 403, assessor=302, psychologist=403)

SCALE = ('"Not yet competent,Competent"', '"[{""scaleid"":""2""},{""id"":2,""scaledefault"":1,""proficient"":1}]"')
SMALL_MOODLE = "\n".join([
    ",".join(f'"{h}"' for h in HEADERS),
    f',PERM,"Permission test","<p>About</p>",1,{SCALE[0]},{SCALE[1]},,,,,,1,"competency,competency"',
    ',P1,"One","<p>Text</p>",1,,,,0,null,"",,,',
]).encode() + b"\n"

TINY = {
    "framework": {
        "code": "TINY", "version": 1, "title_en": "Tiny framework",
        "scale": {"code": "TINY-2", "title_en": "Two levels", "proficient_level": 2,
                  "levels": [{"value": 1, "code": "L1", "title_en": "Starting"},
                             {"value": 2, "code": "L2", "title_en": "Able"}]},
        "areas": [{"code": "T", "title_en": "Area", "competencies": [{"code": "T.1", "title_en": "One"}]}],
    },
    "role_profiles": [{"code": "cadet", "title_en": "Cadet", "requirements": {"T.1": 1}}],
}


def _upload(objects: dict[str, Any]) -> dict[str, Any]:
    return {"format": "moodle", "file": (io.BytesIO(SMALL_MOODLE), "perm.csv")}


def _policy(objects: dict[str, Any]) -> dict[str, Any]:
    return {"rule": "latest_rating", "authorised_sources": ["rating"], "priority-0": "rating", "achieved_level": "",
            "rollup": "none", "rollup_min_children": "1"}


ROUTES = [
    Route("framework.index", "GET", "/framework/", STAFF_READ),
    Route("framework.version", "GET", "/framework/{published}", STAFF_READ),
    Route("framework.compare", "GET", "/framework/{draft}/compare?with={published}", STAFF_READ),
    Route("framework.node", "GET", "/framework/nodes/{published_node}", STAFF_READ),
    Route("framework.roles", "GET", "/framework/{draft}/roles", STAFF_READ),
    Route("framework.policy", "GET", "/framework/{published}/policy", STAFF_READ),
    Route("framework.scale", "GET", "/framework/{draft}/scale", STAFF_READ),
    Route("framework.export", "GET", "/framework/{published}/export/moodle", STAFF_READ),
    Route("framework.new", "GET", "/framework/new", ADMIN_PAGE),
    Route("framework.new", "POST", "/framework/new", ADMIN_POST,
          data=lambda o: {"code": "NEWFW", "title_en": "New framework", "scale": str(o["scale"])}),
    Route("framework.import_", "GET", "/framework/import", ADMIN_PAGE),
    Route("framework.import_", "POST", "/framework/import", ADMIN_POST, data=_upload),
    Route("framework.edit", "GET", "/framework/{draft}/edit", ADMIN_PAGE),
    Route("framework.edit", "POST", "/framework/{draft}/edit", ADMIN_POST,
          data=lambda o: {"title_en": "Renamed draft", "scale": str(o["draft_scale"])}),
    Route("framework.new_draft", "POST", "/framework/{tiny}/draft", ADMIN_POST),
    Route("framework.publish", "POST", "/framework/{draft}/publish", ADMIN_POST, data={"confirm": "yes"}),
    Route("framework.discard", "POST", "/framework/{draft}/discard", ADMIN_POST, data={"confirm": "yes"}),
    Route("framework.add_node", "GET", "/framework/{draft}/nodes/new", ADMIN_PAGE),
    Route("framework.add_node", "POST", "/framework/{draft}/nodes/new", ADMIN_POST,
          data={"parent": "0", "kind": "area", "code": "NEWAREA", "title_en": "New area"}),
    Route("framework.edit_node", "POST", "/framework/nodes/{draft_node}/edit", ADMIN_POST,
          data={"kind": "competency", "code": "DS.6", "title_en": "Renamed"}),
    Route("framework.move_node", "POST", "/framework/nodes/{draft_node}/move", ADMIN_POST, data={"parent": "0"}),
    Route("framework.retire_node", "POST", "/framework/nodes/{draft_node}/retire", ADMIN_POST),
    Route("framework.reinstate_node", "POST", "/framework/nodes/{retired_node}/reinstate", ADMIN_POST),
    Route("framework.roles", "POST", "/framework/{draft}/roles", ADMIN_POST),
    Route("framework.add_role", "POST", "/framework/{draft}/roles/new", ADMIN_POST,
          data={"code": "duty_officer", "title_en": "Duty officer"}),
    Route("framework.delete_role", "POST", "/framework/roles/{draft_role}/delete", ADMIN_POST),
    Route("framework.policy", "POST", "/framework/{published}/policy", ADMIN_POST, data=_policy),
    Route("framework.scale", "POST", "/framework/{draft}/scale", ADMIN_POST, data=lambda o: o["scale_form"]),
    Route("framework.copy_scale", "POST", "/framework/{draft}/scale/copy", ADMIN_POST, data={"code": "LKT-5-COPY"}),
    Route("profiles.profile", "GET", "/people/{cadet}/competencies", SEES_PERSON),
    Route("profiles.profile_chart", "GET", "/people/{cadet}/competencies/chart.png", SEES_PERSON),
    Route("profiles.rate", "POST", "/people/{cadet}/competencies/ratings?version={published}", ASSESSOR_POST,
          data={"competency": "{competency}", "kind": "rating", "level": "2", "note": "Seen on shift."}),
    Route("profiles.cohort_gaps", "GET", "/cohorts/{cohort}/gaps", STAFF_READ),
    Route("profiles.cohort_gaps_chart", "GET", "/cohorts/{cohort}/gaps.png", STAFF_READ),
    Route("profiles.cohort_gaps_workbook", "GET", "/reports/cohorts/{cohort}/gaps.xlsx", STAFF_READ),
    Route("profiles.unit_gaps", "GET", "/units/{unit}/gaps", STAFF_READ),
    Route("profiles.unit_gaps_chart", "GET", "/units/{unit}/gaps.png", STAFF_READ),
]


@pytest.fixture()
def objects(database) -> dict[str, Any]:
    """The published framework, a draft of it with its own scale, a retired node, and a second framework."""
    session = database.session
    published = current_framework(session, "LKT-PAR")
    draft = ops.new_draft(session, None, published)
    ops.copy_scale(session, None, draft, code="LKT-5-DRAFT")
    retired = node_by_code(draft, "WELL.4")
    ops.retire_node(session, None, retired)
    tiny = load_framework_definition(session, TINY)
    scale_form = {"title_en": draft.scale.title_en, "proficient_level": str(draft.scale.proficient_level)}
    for index, level in enumerate(draft.scale.levels):
        scale_form |= {f"levels-{index}-code": level.code, f"levels-{index}-title_en": level.title_en}
    objects = {
        "published": published.id, "draft": draft.id, "tiny": tiny.id, "scale": published.scale_id,
        "draft_scale": draft.scale_id, "published_node": node_by_code(published, "DS.1").id,
        "draft_node": node_by_code(draft, "DS.6").id, "retired_node": retired.id,
        "draft_role": next(profile.id for profile in draft.role_profiles if profile.code == "mentor"),
        "competency": node_by_code(published, "DS.1").id, "scale_form": scale_form,
        "cadet": session.scalar(select(User.id).where(User.username == "cadet.01")),
        "cohort": session.scalar(select(Cohort.id).where(Cohort.code == "K-2026")),
        "unit": session.scalar(select(User.unit_id).where(User.username == "mentor.jonas")),
    }
    session.commit()
    return objects


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)
