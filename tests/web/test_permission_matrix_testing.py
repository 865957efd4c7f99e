"""Test administration and the psychologist's pages (issue 4) × every kind of user.

Columns as in ``test_permission_matrix.py``: anonymous, cadet.01 (whose attempt is reopened),
cadet.07, mentor.jonas (cadet.01's mentor), mentor.ona, admin, assessor, psychologist.
Managing tests is for the administrator and the psychologist (``psychometrics.manage``);
raw scores, norms and item analysis only for the psychologist (``psychometrics.view_raw``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from lms_plugin.core.base import utcnow
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import TestAssignment
from tests.web.permissions import LOGIN, Route, expect, matrix_tests

MANAGE_PAGE = expect(LOGIN, 403, 403, 403, 403, 200, assessor=403, psychologist=200)
MANAGE_POST = expect(LOGIN, 403, 403, 403, 403, 302, assessor=403, psychologist=302)
RAW_PAGE = expect(LOGIN, 403, 403, 403, 403, 403, assessor=403, psychologist=200)


def _local(days: int) -> str:
    return (utcnow() + dt.timedelta(days=days)).astimezone(SERVICE_TIMEZONE).strftime("%Y-%m-%dT%H:%M")


def _new_assignment(objects: dict[str, Any]) -> dict[str, str]:
    return {"instrument": str(objects["record"]), "cohort": str(objects["cohort"]), "opens_at": _local(1),
            "closes_at": _local(15), "time_limit_minutes": "45", "attempt_policy": "once", "norm_group": "cadets"}


ROUTES = [
    Route("testing_admin.index", "GET", "/tests/admin/", MANAGE_PAGE),
    Route("testing_admin.new_assignment", "GET", "/tests/admin/assignments/new", MANAGE_PAGE),
    Route("testing_admin.new_assignment", "POST", "/tests/admin/assignments/new", MANAGE_POST, data=_new_assignment),
    Route("testing_admin.assignment", "GET", "/tests/admin/assignments/{assignment}", MANAGE_PAGE),
    Route("testing_admin.reschedule", "POST", "/tests/admin/assignments/{assignment}/window", MANAGE_POST,
          data=lambda objects: {"opens_at": _local(-10), "closes_at": _local(90)}),
    Route("testing_admin.finish_expired", "POST", "/tests/admin/assignments/{assignment}/finish-expired",
          MANAGE_POST),
    Route("testing_admin.reopen", "GET", "/tests/admin/sittings/{sitting}/reopen", MANAGE_PAGE),
    Route("testing_admin.reopen", "POST", "/tests/admin/sittings/{sitting}/reopen", MANAGE_POST,
          data={"reason": "Technical failure during the test."}),
    Route("psychology.index", "GET", "/psychology/", RAW_PAGE),
    Route("psychology.cohort_results", "GET", "/psychology/assignments/{assignment}/results", RAW_PAGE),
    Route("psychology.cohort_results_export", "GET", "/psychology/assignments/{assignment}/results.xlsx",
          RAW_PAGE),
    Route("psychology.norms", "GET", "/psychology/instruments/{record}/norms", RAW_PAGE),
    Route("psychology.norms_for_lms", "GET", "/psychology/instruments/{record}/norms.json?group=sample:cadets",
          RAW_PAGE),
    Route("psychology.item_analysis", "GET", "/psychology/instruments/{record}/items", RAW_PAGE),
    Route("psychology.item_analysis_export", "GET", "/psychology/instruments/{record}/items.xlsx", RAW_PAGE),
]


@pytest.fixture()
def objects(database, user) -> dict[str, Any]:
    """cadet.01's submitted sitting of the demo assignment."""
    session = database.session
    cadet = user("cadet.01")
    assignment = session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    sitting = assessments.start_or_resume(session, cadet, assignment)
    assessments.submit(session, cadet, sitting)
    session.commit()
    return {"assignment": assignment.id, "sitting": sitting.id, "record": assignment.instrument_id,
            "cohort": cadet.cohort_id}


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)
