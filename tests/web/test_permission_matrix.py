"""Every route × every kind of user: who may do what, and what the others get instead.

Rows are routes; columns are: anonymous, the cadet the object belongs to, another
cadet of the same cohort, the cadet's mentor, a mentor not assigned to the cadet,
and training centre staff (admin, assessor, psychologist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from sqlalchemy import select

from courses.models import Lesson, LessonKind
from lms_plugin.models.assessments import TestAssignment
from lms_plugin.models.people import Cohort
from lms_plugin.models.practice import PracticeTask
from lms_plugin.operations import assessments, practice
from tests.conftest import DEMO_PASSWORD, TEST_TODAY

ROLES = ("anonymous", "cadet", "other_cadet", "mentor", "unassigned_mentor", "admin", "assessor", "psychologist")
USERNAMES = {"cadet": "cadet.01", "other_cadet": "cadet.07", "mentor": "mentor.jonas",
             "unassigned_mentor": "mentor.ona", "admin": "admin", "assessor": "assessor",
             "psychologist": "psychologist"}
LOGIN = 302  # anonymous users are sent to the sign-in page


def expect(anonymous: int, cadet: int, other_cadet: int, mentor: int, unassigned_mentor: int, admin: int,
           assessor: int | None = None, psychologist: int | None = None) -> dict[str, int]:
    return dict(anonymous=anonymous, cadet=cadet, other_cadet=other_cadet, mentor=mentor,
                unassigned_mentor=unassigned_mentor, admin=admin,
                assessor=admin if assessor is None else assessor,
                psychologist=admin if psychologist is None else psychologist)


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str
    expected: dict[str, int]
    data: dict[str, str] | Callable[[dict[str, Any]], dict[str, str]] | None = None
    json: dict[str, Any] | None = None


ROUTES = [
    Route("healthz", "GET", "/healthz", expect(200, 200, 200, 200, 200, 200)),
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
    Route("testing.results", "GET", "/sittings/{sitting}/results", expect(LOGIN, 200, 403, 200, 403, 200)),
    Route("testing.chart", "GET", "/sittings/{sitting}/chart.png",
          expect(LOGIN, 200, 403, 403, 403, 403, assessor=403, psychologist=200)),
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
    session.commit()
    return {
        "assignment": assignment.id, "sitting": sitting.id, "open_sitting": open_sitting.id, "entry": entry.id,
        "cadet": cadet.id, "cohort": session.scalar(select(Cohort.id).where(Cohort.code == "K-2026")),
        "text_lesson": lessons[LessonKind.TEXT].id, "check_lesson": lessons[LessonKind.KNOWLEDGE_CHECK].id,
        "scenario_lesson": lessons[LessonKind.SCENARIO].id,
        "start_node": lessons[LessonKind.SCENARIO].content["start"],
        "check_answers": {f"q-{q['id']}": str(q["options"][0]["key"]) for q in questions},
        "first_item": first_item.id, "first_key": first_item.options[0].key,
    }


def _fill(value: Any, objects: dict[str, Any]) -> Any:
    if callable(value):
        return value(objects)
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, dict):
        return {_fill(k, objects): _fill(v, objects) for k, v in value.items()}
    return value


def _sign_in(client, username: str) -> str:
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return csrf_token(client, "/dashboard")  # signing in starts a new session, with a new token


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.endpoint)
def test_route_permission(client, objects, route: Route, role: str):
    token = _sign_in(client, USERNAMES[role]) if role != "anonymous" else _anonymous_token(client)
    path = _fill(route.path, objects)
    if route.method == "GET":
        response = client.get(path)
    elif route.json is not None:
        response = client.post(path, json=_fill(route.json, objects), headers={"X-CSRFToken": token})
    else:
        response = client.post(path, data={"csrf_token": token, **_fill(route.data or {}, objects)})
    response.close()
    assert response.status_code == route.expected[role], (role, route.method, path)


def _anonymous_token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/login")


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == {route.endpoint for route in ROUTES}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "POST"], ids=lambda r: r.endpoint)
def test_every_form_post_without_csrf_token_is_rejected(client, objects, route: Route):
    _sign_in(client, USERNAMES["cadet"])
    path = _fill(route.path, objects)
    if route.json is not None:
        response = client.post(path, json=_fill(route.json, objects))
    else:
        response = client.post(path, data=_fill(route.data or {}, objects))
    assert response.status_code == 400
