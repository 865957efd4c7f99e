"""PsychometricTestXBlock in the real xblock-sdk workbench, driven over HTTP with Django's test client.

Handlers live at ``/handler/<usage_id>/<handler>/?student=<id>`` and, like every POST in the
workbench, need the CSRF cookie (set when a scenario page is rendered) and the X-CSRFToken header.
Workbench state is one sqlite database for the whole session, so each test uses its own student.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import uuid

import pytest
from workbench import scenarios
from workbench.runtime import WorkbenchRuntime

from psychometrics import score_instrument

pytestmark = pytest.mark.usefixtures("workbench_client")

SCENARIO_LT = "psychometric_test.0"
SCENARIO_EN_PRIVATE = "psychometric_test.1"
ALL_ANSWERS = {"k1": "b", "k2": "a", "t1": "5", "t2": "1", "t3": "4", "s1": "a", "s2": "b"}


@pytest.fixture
def student() -> str:
    return f"cadet-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def published(monkeypatch):
    """Events the workbench runtime publishes (it only logs them)."""
    events = []
    monkeypatch.setattr(WorkbenchRuntime, "publish",
                        lambda self, block, event_type, data: events.append((block.scope_ids.user_id,
                                                                             event_type, data)))
    return events


class Learner:
    """One student in the workbench: renders scenarios and calls handlers as the browser would."""

    def __init__(self, client, student: str, scenario: str = SCENARIO_LT):
        self.client, self.student, self.scenario = client, student, scenario
        self.usage_id = scenarios.get_scenarios()[scenario].usage_id

    def page(self) -> str:
        response = self.client.get(f"/scenario/{self.scenario}/", {"student": self.student})
        assert response.status_code == 200
        body = response.content.decode("utf-8")
        assert re.search(r"data-usage='([^']+)'", body).group(1) == self.usage_id
        return body

    def post(self, handler: str, data, csrf: bool = True):
        headers = {"HTTP_X_CSRFTOKEN": self.client.cookies["csrftoken"].value} if csrf else {}
        return self.client.post(f"/handler/{self.usage_id}/{handler}/?student={self.student}",
                                data=json.dumps(data), content_type="application/json", **headers)


def test_the_block_and_its_scenarios_are_registered_in_the_workbench():
    registered = scenarios.get_scenarios()
    assert {SCENARIO_LT, SCENARIO_EN_PRIVATE} <= set(registered)
    assert "<psychometric_test" in registered[SCENARIO_LT].xml


def test_the_index_lists_the_scenarios(workbench_client):
    response = workbench_client.get("/")
    assert response.status_code == 200
    assert "Psychometric test: staff competence inventory (Lithuanian)" in response.content.decode("utf-8")


def test_the_scenario_renders_the_first_item_with_its_assets(workbench_client, student):
    body = Learner(workbench_client, student).page()
    assert 'data-block-type=\'psychometric_test\'' in body
    assert "data-init='PsychometricTestXBlock'" in body
    assert "Klausimas 1 iš 7" in body and "<fieldset" in body and "<legend" in body
    assert html_lib.escape("Kokia reakcija dažniausiai nuramina piktą nuteistąjį?", quote=False) in body
    assert "function PsychometricTestXBlock(runtime, element, init)" in body  # inline JS
    assert ".pt-bar-fill" in body  # inline CSS
    assert "csrftoken" in workbench_client.cookies


def test_a_handler_post_without_the_csrf_token_is_forbidden(workbench_client, student):
    learner = Learner(workbench_client, student)
    learner.page()
    response = learner.post("save_answer", {"item": "k1", "value": "b"}, csrf=False)
    assert response.status_code == 403
    learner.page()
    assert learner.post("move", {"position": 0}).json() == {"position": 0}


def test_answering_over_http_resumes_on_the_next_visit(workbench_client, student):
    learner = Learner(workbench_client, student)
    learner.page()
    response = learner.post("save_answer", {"item": "k1", "value": "b"})
    assert response.status_code == 200
    assert response.json() == {"item": "k1", "value": "b", "answered": 1, "total": 7}
    assert learner.post("move", {"position": 2}).json() == {"position": 2}

    body = learner.page()
    visible = [tag for tag in re.findall(r'<section class="pt-item[^>]*>', body) if " hidden" not in tag]
    assert len(visible) == 1 and 'data-item="t1"' in visible[0]
    assert re.search(r'value="b" checked', body)
    assert "Atsakyta 1 iš 7" in body
    # Another student's page is untouched.
    assert "Atsakyta 0 iš 7" in Learner(workbench_client, student + "-other").page()


@pytest.mark.parametrize("payload, code", [
    ({"item": "nope", "value": "a"}, "unknown_item"),
    ({"item": "t1", "value": "7"}, "invalid_value"),
])
def test_tampered_answers_are_refused_over_http(workbench_client, student, payload, code):
    learner = Learner(workbench_client, student)
    learner.page()
    response = learner.post("save_answer", payload)
    assert response.status_code == 400
    assert response.json()["code"] == code and payload["item"] in response.json()["error"]
    assert "Atsakyta 0 iš 7" in learner.page()


def test_submit_over_http_scores_publishes_once_and_shows_results(workbench_client, student, published,
                                                                   mini_instrument):
    learner = Learner(workbench_client, student)
    learner.page()
    for item_id, value in ALL_ANSWERS.items():
        assert learner.post("save_answer", {"item": item_id, "value": value}).status_code == 200

    response = learner.post("submit", {})
    assert response.status_code == 200
    body = response.json()
    assert (body["scored"], body["total"]) == (3, 3)
    expected = score_instrument(mini_instrument, ALL_ANSWERS)
    for score in expected.values():
        assert f'style="width: {round(score.percent)}%"' in body["results_html"]

    second = learner.post("submit", {})
    assert second.status_code == 409 and second.json()["code"] == "already_submitted"
    assert learner.post("save_answer", {"item": "k1", "value": "a"}).status_code == 409
    assert published == [(student, "grade", {"value": 3, "max_value": 3})]

    page = learner.page()
    assert "Jūsų atsakymai pateikti." in page and "<section class=\"pt-item" not in page
    assert page.count('class="pt-bar-fill"') == 3


def test_the_private_results_scenario_shows_no_scores(workbench_client, student, published):
    learner = Learner(workbench_client, student, SCENARIO_EN_PRIVATE)
    body = learner.page()
    assert "Question 1 of 7" in body
    assert learner.post("save_answer", {"item": "k1", "value": "b"}).status_code == 200
    response = learner.post("submit", {})
    assert response.status_code == 200
    assert "pt-bar" not in response.json()["results_html"]
    page = learner.page()
    assert "The Training Centre will discuss your results with you." in page
    assert "class=\"pt-bar-fill\"" not in page
    # k1 alone scores the knowledge subscale (min_answered 0.5 of 2 items): completion 1 of 3.
    assert published == [(student, "grade", {"value": 1, "max_value": 3})]


def test_an_unknown_usage_is_not_found(workbench_client, student):
    learner = Learner(workbench_client, student)
    learner.page()
    learner.usage_id = "no-such-usage"
    assert learner.post("save_answer", {"item": "k1", "value": "b"}).status_code == 404


def test_the_studio_view_renders_in_the_workbench(workbench_client, student):
    response = workbench_client.get(f"/scenario/{SCENARIO_LT}/studio_view/", {"student": student})
    assert response.status_code == 200
    body = response.content.decode("utf-8")
    assert 'data-field-name="instrument"' in body and 'data-field-name="language"' in body
