"""Every route × every kind of user: who may do what, and what the others get instead.

Rows are routes; columns are: anonymous, the cadet the object belongs to, another
cadet of the same cohort, the cadet's mentor, a mentor not assigned to the cadet,
and training centre staff (admin, assessor, psychologist).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from courses.models import Lesson, LessonKind
from lms_plugin.core.people import Cohort
from lms_plugin.jobs.models import Job
from lms_plugin.practice.models import PracticeTask
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import TestAssignment
from tests.conftest import TEST_TODAY
from tests.web.permissions import LOGIN, Route, expect, matrix_tests

ROUTES = [
    Route("healthz", "GET", "/healthz", expect(200, 200, 200, 200, 200, 200)),
    Route("readyz", "GET", "/readyz", expect(200, 200, 200, 200, 200, 200)),
    Route("jobs.page", "GET", "/jobs/{job}", expect(LOGIN, 200, 404, 404, 404, 404)),
    Route("jobs.status", "GET", "/jobs/{job}/status", expect(LOGIN, 200, 404, 404, 404, 404)),
    Route("static", "GET", "/static/app.css", expect(200, 200, 200, 200, 200, 200)),
    Route("main.index", "GET", "/", expect(302, 302, 302, 302, 302, 302)),
    Route("auth.login", "GET", "/login", expect(200, 302, 302, 302, 302, 302)),
    Route("auth.logout", "POST", "/logout", expect(LOGIN, 302, 302, 302, 302, 302)),
    Route("auth.set_language", "POST", "/language", expect(302, 302, 302, 302, 302, 302), data={"language": "en"}),
    Route("main.dashboard", "GET", "/dashboard", expect(LOGIN, 200, 200, 200, 200, 200)),
    Route("main.cohort", "GET", "/cohorts/{cohort}", expect(LOGIN, 403, 403, 403, 403, 200)),
    Route("testing.introduction", "GET", "/tests/{assignment}", expect(LOGIN, 200, 200, 404, 404, 404)),
    Route("testing.start", "POST", "/tests/{assignment}/start", expect(LOGIN, 302, 302, 403, 403, 403)),
    Route("testing.item", "GET", "/sittings/{sitting}", expect(LOGIN, 302, 404, 404, 404, 404)),
    Route("testing.review", "GET", "/sittings/{sitting}/review", expect(LOGIN, 302, 404, 404, 404, 404)),
    Route("testing.submit", "POST", "/sittings/{open_sitting}/submit", expect(LOGIN, 302, 404, 404, 404, 404),
          data={"confirm_incomplete": "yes"}),
    # Those who may not see the cadet get 404, as for a sitting that does not exist; 403 is only for those
    # who see the results but not the chart.
    Route("testing.results", "GET", "/sittings/{sitting}/results", expect(LOGIN, 200, 404, 200, 404, 200)),
    Route("testing.chart", "GET", "/sittings/{sitting}/chart.png",
          expect(LOGIN, 200, 404, 403, 404, 403, assessor=403, psychologist=200)),
    Route("api.save_answer", "POST", "/api/sittings/{open_sitting}/answers", expect(401, 200, 404, 404, 404, 404),
          json={"item_id": "{first_item}", "value": "{first_key}"}),
    Route("practice.logbook", "GET", "/practice/", expect(LOGIN, 200, 200, 403, 403, 403)),
    Route("practice.new_entry", "GET", "/practice/entries/new", expect(LOGIN, 200, 200, 403, 403, 403)),
    Route("mentoring.cadet", "GET", "/cadets/{cadet}", expect(LOGIN, 200, 404, 200, 404, 200)),
    Route("mentoring.sign", "POST", "/entries/{entry}/signoff", expect(LOGIN, 403, 403, 302, 404, 403),
          data={"e{entry}-outcome": "achieved", "e{entry}-comment": "Gerai."}),
    Route("courses.module", "GET", "/courses/modules/DS-101", expect(LOGIN, 200, 200, 403, 403, 403)),
    Route("courses.lesson", "GET", "/courses/lessons/{text_lesson}", expect(LOGIN, 200, 200, 403, 403, 403)),
    Route("courses.mark_read", "POST", "/courses/lessons/{text_lesson}/read", expect(LOGIN, 302, 302, 403, 403, 403)),
    Route("courses.check", "POST", "/courses/lessons/{check_lesson}/check", expect(LOGIN, 200, 200, 403, 403, 403),
          data=lambda objects: objects["check_answers"]),
    Route("courses.choose", "POST", "/courses/lessons/{scenario_lesson}/choose",
          expect(LOGIN, 302, 302, 403, 403, 403), data={"node": "{start_node}", "choice": "0"}),
    Route("courses.restart", "POST", "/courses/lessons/{scenario_lesson}/restart",
          expect(LOGIN, 302, 302, 403, 403, 403)),
    Route("reports.cohort_progress", "GET", "/reports/cohorts/{cohort}.xlsx", expect(LOGIN, 403, 403, 403, 403, 200)),
]


@pytest.fixture()
def objects(database, user) -> dict[str, Any]:
    """cadet.01's submitted sitting, a second open sitting, an unsigned logbook entry; course lessons."""
    session = database.session
    cadet = user("cadet.01")
    assignment = session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    sitting = assessments.start_or_resume(session, cadet, assignment)
    assessments.submit(session, cadet, sitting)
    second = assessments.assign_instrument(session, None, record=assignment.instrument, cohort_id=cadet.cohort_id,
                                           opens_at=assignment.opens_at, closes_at=assignment.closes_at)
    open_sitting = assessments.start_or_resume(session, cadet, second)
    task = session.scalar(select(PracticeTask).order_by(PracticeTask.code))
    entry = practice.add_logbook_entry(session, cadet, task=task, performed_on=TEST_TODAY, location="",
                                       description="Atlikau užduotį.", reflection="", today=TEST_TODAY)
    lessons = {kind: session.scalar(select(Lesson).where(Lesson.kind == kind).order_by(Lesson.id))
               for kind in LessonKind if kind is not LessonKind.VIDEO}
    questions = lessons[LessonKind.KNOWLEDGE_CHECK].content["questions"]
    first_item = assessments.instrument_of(assignment.instrument).item(open_sitting.item_order[0])
    job = Job(kind="framework.import", created_by_id=cadet.id, result={}, problems=[])
    session.add(job)
    session.commit()
    return {
        "assignment": assignment.id, "sitting": sitting.id, "open_sitting": open_sitting.id, "entry": entry.id,
        "cadet": cadet.id, "cohort": session.scalar(select(Cohort.id).where(Cohort.code == "K-2026")),
        "text_lesson": lessons[LessonKind.TEXT].id, "check_lesson": lessons[LessonKind.KNOWLEDGE_CHECK].id,
        "scenario_lesson": lessons[LessonKind.SCENARIO].id,
        "start_node": lessons[LessonKind.SCENARIO].content["start"],
        "check_answers": {f"q-{q['id']}": str(q["options"][0]["key"]) for q in questions},
        "first_item": first_item.id, "first_key": first_item.options[0].key, "job": job.id,
    }


test_route_permission, test_every_form_post_without_csrf_token_is_rejected = matrix_tests(ROUTES)


def test_every_route_is_in_the_matrix(app):
    """The routes of every area's matrix module together cover the whole app."""
    covered = set()
    for module in Path(__file__).parent.glob("test_permission_matrix*.py"):
        covered |= {route.endpoint for route in importlib.import_module(f"tests.web.{module.stem}").ROUTES}
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == covered
