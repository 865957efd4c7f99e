"""A cadet takes the assigned test: answers saved as they go, resume, submit, results with a chart."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from competency_framework.models import Evidence, EvidenceSource
from lms_plugin.testing.models import Answer, Sitting, SittingStatus, SubscaleResult, TestAssignment
from lms_plugin.testing.operations import instrument_of
from psychometrics import score_instrument
from tests.conftest import csrf_token


def _assignment(database, cadet) -> TestAssignment:
    return database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))


def _start(client, assignment) -> str:
    token = csrf_token(client, f"/tests/{assignment.id}")
    response = client.post(f"/tests/{assignment.id}/start", data={"csrf_token": token})
    assert response.status_code == 302
    return response.headers["Location"]


def _shown_item(html: str) -> str:
    return re.search(r'name="item_id" value="([^"]+)"', html).group(1)


def test_dashboard_lists_tests_practice_and_modules(client, login_as):
    login_as("cadet.01")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Assigned tests" in html and "Start" in html
    assert "practice tasks achieved" in html
    assert "/courses/modules/DS-101" in html


def test_take_the_test_resume_submit_and_see_results(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assignment(database, cadet)
    instrument = instrument_of(assignment.instrument)
    sitting_url = _start(client, assignment)
    sitting = database.session.scalar(select(Sitting).where(Sitting.person_id == cadet.id))
    assert sitting_url.endswith(f"/sittings/{sitting.id}")

    # Answer the first three items through the form, always the first option.
    given = {}
    for _ in range(3):
        html = client.get(sitting_url).get_data(as_text=True)
        item_id = _shown_item(html)
        key = instrument.item(item_id).options[0].key
        token = csrf_token(client, sitting_url)
        response = client.post(sitting_url, data={"csrf_token": token, "item_id": item_id, "answer": key,
                                                  "action": "next"})
        assert response.status_code == 302
        given[item_id] = key

    # Leave, sign in again: the test resumes at the fourth item with three answers kept.
    token = csrf_token(client, "/dashboard")
    client.post("/logout", data={"csrf_token": token})
    login_as("cadet.01")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"/sittings/{sitting.id}" in dashboard
    html = client.get(sitting_url).get_data(as_text=True)
    assert _shown_item(html) == sitting.item_order[3]
    assert "3 answered" in html

    # The rest through the JSON autosave, as the page's script does.
    token = csrf_token(client, sitting_url)
    for position, item_id in enumerate(sitting.item_order[3:], start=3):
        key = instrument.item(item_id).options[-1].key
        response = client.post(f"/api/sittings/{sitting.id}/answers", json={
            "item_id": item_id, "value": key, "position": position}, headers={"X-CSRFToken": token})
        assert response.status_code == 200, response.get_json()
        given[item_id] = key
    assert response.get_json()["answered"] == len(instrument.items)

    review = client.get(f"/sittings/{sitting.id}/review").get_data(as_text=True)
    assert f"answered {len(instrument.items)} of {len(instrument.items)}" in review
    response = client.post(f"/sittings/{sitting.id}/submit", data={"csrf_token": token})
    assert response.headers["Location"].endswith(f"/sittings/{sitting.id}/results")

    database.session.refresh(sitting)
    assert sitting.status is SittingStatus.SUBMITTED
    stored = {r.subscale: r for r in database.session.scalars(
        select(SubscaleResult).where(SubscaleResult.sitting_id == sitting.id))}
    expected = score_instrument(instrument, given)
    assert set(stored) == {s.code for s in instrument.subscales}
    for code, score in expected.items():
        assert stored[code].score == score.score
        assert stored[code].band in {"development", "typical", "strength"}

    results = client.get(f"/sittings/{sitting.id}/results").get_data(as_text=True)
    assert f"/sittings/{sitting.id}/chart.png" in results
    for subscale in instrument.subscales:
        assert subscale.title["en"] in results
    chart = client.get(f"/sittings/{sitting.id}/chart.png")
    assert chart.status_code == 200 and chart.data[:8] == b"\x89PNG\r\n\x1a\n"

    # Results became evidence for the competencies the subscales point at.
    evidence = database.session.scalar(select(func.count(Evidence.id)).where(
        Evidence.person_id == cadet.id, Evidence.source == EvidenceSource.PSYCHOMETRIC))
    assert evidence > 0


def test_tampered_answers_are_refused_and_change_nothing(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assignment(database, cadet)
    sitting_url = _start(client, assignment)
    sitting = database.session.scalar(select(Sitting).where(Sitting.person_id == cadet.id))
    first = sitting.item_order[0]
    token = csrf_token(client, sitting_url)

    unknown_item = client.post(f"/api/sittings/{sitting.id}/answers", json={"item_id": "XX99", "value": "1"},
                               headers={"X-CSRFToken": token})
    assert unknown_item.status_code == 400 and unknown_item.get_json()["field"] == "XX99"
    out_of_range = client.post(f"/api/sittings/{sitting.id}/answers", json={"item_id": first, "value": "77"},
                               headers={"X-CSRFToken": token})
    assert out_of_range.status_code == 400 and first in out_of_range.get_json()["message"]
    no_body = client.post(f"/api/sittings/{sitting.id}/answers", data="not json",
                          headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert no_body.status_code == 400
    form_post = client.post(sitting_url, data={"csrf_token": token, "item_id": first, "answer": "77",
                                               "action": "next"})
    assert form_post.status_code == 400
    no_csrf = client.post(f"/api/sittings/{sitting.id}/answers", json={"item_id": first, "value": "1"})
    assert no_csrf.status_code == 400 and no_csrf.get_json()["error"] == "csrf"
    depth = 100_000
    deeply_nested = client.post(f"/api/sittings/{sitting.id}/answers", data="[" * depth + "]" * depth,
                                headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert deeply_nested.status_code == 400 and deeply_nested.is_json
    assert "nested too deeply" in deeply_nested.get_json()["message"]
    assert database.session.scalar(select(func.count(Answer.id)).where(Answer.sitting_id == sitting.id)) == 0


def test_double_submit_is_refused_and_scores_once(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assignment(database, cadet)
    _start(client, assignment)
    sitting = database.session.scalar(select(Sitting).where(Sitting.person_id == cadet.id))
    token = csrf_token(client, f"/sittings/{sitting.id}/review")
    unconfirmed = client.post(f"/sittings/{sitting.id}/submit", data={"csrf_token": token})
    assert unconfirmed.headers["Location"].endswith(f"/sittings/{sitting.id}/review")
    database.session.refresh(sitting)
    assert sitting.status is SittingStatus.IN_PROGRESS  # an incomplete test needs the confirmation
    confirmed = client.post(f"/sittings/{sitting.id}/submit", data={"csrf_token": token, "confirm_incomplete": "yes"})
    assert confirmed.headers["Location"].endswith(f"/sittings/{sitting.id}/results")
    again = client.post(f"/sittings/{sitting.id}/submit", data={"csrf_token": token, "confirm_incomplete": "yes"},
                        headers={"Accept": "application/json"})
    assert again.status_code == 409
    assert "already been submitted" in again.get_json()["message"]
    assert database.session.scalar(select(func.count(SubscaleResult.id)).where(
        SubscaleResult.sitting_id == sitting.id)) == len(instrument_of(assignment.instrument).subscales)
    late_answer = client.post(f"/api/sittings/{sitting.id}/answers",
                              json={"item_id": sitting.item_order[0], "value": "a"}, headers={"X-CSRFToken": token})
    assert late_answer.status_code == 409
    # With no answers every subscale is "not scored", stated, rather than scored as zero.
    results = client.get(f"/sittings/{sitting.id}/results").get_data(as_text=True)
    assert "not scored: too few answers" in results
