"""When another connection holds SQLite's write lock past the wait: JSON 503 with Retry-After for the
API, the styled page with 503 for pages, /healthz alive and /readyz not ready; and the time the server
could not serve is given back to a running sitting.

These tests run on a database of their own (real commits, real connections), not the rolled-back one.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from lms_plugin import create_app
from lms_plugin.core import outages
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, TestAssignment
from tests.conftest import DEMO_PASSWORD, TEST_TODAY, csrf_token


@pytest.fixture(scope="module")
def busy_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    from flask_migrate import upgrade

    from lms_plugin.demo_data import load_demo

    path = str(tmp_path_factory.mktemp("busy") / "busy.sqlite3")
    application = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                              "SECRET_KEY": "test-secret-key", "BABEL_DEFAULT_LOCALE": "en",
                              "JOBS_IMMEDIATE": True, "SQLITE_BUSY_TIMEOUT_MS": 300})
    with application.app_context():
        upgrade()
        load_demo(db.session, TEST_TODAY)
        db.session.commit()
    yield application, path
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def write_lock_held(path: str) -> Iterator[None]:
    """Another connection takes the write lock and keeps it until the block ends."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture()
def cadet_in_a_sitting(busy_app) -> dict[str, Any]:
    """cadet.01 signed in, with a sitting started and ten minutes left."""
    application, path = busy_app
    outages.clear()
    client = application.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": "cadet.01", "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    with application.app_context():
        cadet = db.session.scalar(select(User).where(User.username == "cadet.01"))
        assignment = db.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
        second = assessments.assign_instrument(db.session, None, record=assignment.instrument,
                                               cohort_id=cadet.cohort_id, opens_at=assignment.opens_at,
                                               closes_at=assignment.closes_at)
        sitting = assessments.start_or_resume(db.session, cadet, second)
        sitting.deadline_at = sitting.started_at + dt.timedelta(minutes=10)
        db.session.commit()
        found = {"id": sitting.id, "item": sitting.item_order[0],
                 "key": assessments.instrument_of(second.instrument).item(sitting.item_order[0]).options[0].key}
        db.session.remove()
    found.update(client=client, app=application, path=path, token=csrf_token(client, f"/sittings/{found['id']}"))
    yield found
    outages.clear()


def test_a_busy_database_answers_the_api_with_json_503_and_retry_after(cadet_in_a_sitting):
    c = cadet_in_a_sitting
    url = f"/api/sittings/{c['id']}/answers"
    with write_lock_held(c["path"]):
        response = c["client"].post(url, json={"item_id": c["item"], "value": c["key"]},
                                    headers={"X-CSRFToken": c["token"]})
    assert response.status_code == 503
    assert response.is_json and response.get_json()["error"] == "busy"
    assert int(response.headers["Retry-After"]) > 0
    after = c["client"].post(url, json={"item_id": c["item"], "value": c["key"]}, headers={"X-CSRFToken": c["token"]})
    assert after.status_code == 200 and after.get_json()["saved"] is True


def test_a_busy_database_gives_pages_the_styled_503_page(cadet_in_a_sitting):
    c = cadet_in_a_sitting
    with write_lock_held(c["path"]):
        response = c["client"].get("/dashboard")
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.mimetype == "text/html" and "The service is busy" in page and 'class="card narrow"' in page


def test_healthz_stays_alive_and_readyz_reports_the_database(cadet_in_a_sitting):
    c = cadet_in_a_sitting
    assert c["client"].get("/readyz").get_json() == {"status": "ok", "database": "ok", "jobs": "ok"}
    with write_lock_held(c["path"]):
        alive = c["client"].get("/healthz")
        ready = c["client"].get("/readyz")
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    assert ready.get_json()["database"] == "OperationalError"


class FrozenClock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


def test_time_the_server_could_not_serve_is_given_back_to_the_sitting(cadet_in_a_sitting, monkeypatch):
    """Frozen clock: a save refused for a busy database moves the deadline on by the wait it cost."""
    from lms_plugin.core import base

    c = cadet_in_a_sitting
    with c["app"].app_context():
        sitting = db.session.get(Sitting, c["id"])
        started, deadline = sitting.started_at, sitting.deadline_at
        db.session.remove()
    clock = FrozenClock(started + dt.timedelta(minutes=9))
    monkeypatch.setattr(base, "utcnow", clock)
    monkeypatch.setattr(assessments, "utcnow", clock)
    url = f"/api/sittings/{c['id']}/answers"
    body = {"item_id": c["item"], "value": c["key"]}
    with write_lock_held(c["path"]):
        refused = c["client"].post(url, json=body, headers={"X-CSRFToken": c["token"]})
    assert refused.status_code == 503
    lost = outages.within(started, clock.moment + dt.timedelta(minutes=1))
    assert lost >= dt.timedelta(milliseconds=300)  # at least the lock wait
    clock.moment = deadline + lost / 2  # past the original deadline, within the credited one
    saved = c["client"].post(url, json=body, headers={"X-CSRFToken": c["token"]})
    assert saved.status_code == 200, saved.get_json()
    with c["app"].app_context():
        sitting = db.session.get(Sitting, c["id"])
        assert sitting.deadline_at == deadline + lost
        db.session.remove()
    clock.moment = deadline + lost + dt.timedelta(seconds=1)  # the credit is given once
    late = c["client"].post(url, json=body, headers={"X-CSRFToken": c["token"]})
    assert late.status_code == 409 and late.get_json()["error"] == "time_over"


def test_outage_credit_rule(app, database, user):
    """Only outage time inside the (credited) time limit counts, and each outage once."""
    outages.clear()
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)
    minute = dt.timedelta(minutes=1)
    sitting = Sitting(status=assessments.SittingStatus.IN_PROGRESS, started_at=start, deadline_at=start + 10 * minute)
    outages.record(start + 2 * minute, start + 5 * minute)
    outages.record(start + 12 * minute, start + 14 * minute)  # inside the time the first credit gave back
    outages.record(start + 40 * minute, start + 41 * minute)  # long after the (credited) deadline
    assert assessments.credit_outages(sitting, start + 30 * minute) == 3 * minute + 2 * minute
    assert sitting.deadline_at == start + 15 * minute
    assert assessments.credit_outages(sitting, start + 31 * minute) == dt.timedelta()
    outages.clear()
