"""The rules of a sitting: time limit kept by the server, item order per sitting, attempt policy,
reopening with a reason, and two tabs starting at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import utcnow
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Answer, Sitting, SittingStatus, SubscaleResult, TestAssignment
from psychometrics import score_instrument
from tests.conftest import csrf_token


def _assign(database, cadet, **rules) -> TestAssignment:
    """A fresh assignment of the demo instrument to the cadet's cohort, open now."""
    demo = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    now = utcnow()
    assignment = assessments.assign_instrument(database.session, None, record=demo.instrument,
                                               cohort_id=cadet.cohort_id, opens_at=now - dt.timedelta(hours=1),
                                               closes_at=now + dt.timedelta(days=30), **rules)
    database.session.commit()
    return assignment


def _start(client, assignment):
    token = csrf_token(client, f"/tests/{assignment.id}")
    return client.post(f"/tests/{assignment.id}/start", data={"csrf_token": token})


def _only_sitting(database, cadet, assignment) -> Sitting:
    sittings = database.session.scalars(select(Sitting).where(Sitting.person_id == cadet.id,
                                                              Sitting.assignment_id == assignment.id)).all()
    assert len(sittings) == 1
    return sittings[0]


def _answer(client, sitting, item_id, key, token):
    return client.post(f"/api/sittings/{sitting.id}/answers", json={"item_id": item_id, "value": key},
                       headers={"X-CSRFToken": token})


# --------------------------------------------------------------------------- time limit


def test_item_page_shows_an_accessible_countdown(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=30)
    _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    html = client.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    assert 'role="timer"' in html and "Time left:" in html
    seconds = int(re.search(r'data-deadline-seconds="(\d+)"', html).group(1))
    assert 29 * 60 - 5 <= seconds <= 30 * 60
    assert re.search(r"(29|30) min \d\d s", html)  # readable without JavaScript too
    assert 'aria-live="polite"' in html  # warnings are spoken at 5 and 1 minutes, not every second
    assert sitting.deadline_at is not None
    assert sitting.deadline_at - sitting.started_at == dt.timedelta(minutes=30)


def test_after_the_deadline_the_next_page_submits_what_was_saved(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=20)
    _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    instrument = assessments.instrument_of(assignment.instrument)
    token = csrf_token(client, f"/sittings/{sitting.id}")
    saved = {}
    for item_id in sitting.item_order[:5]:
        key = instrument.item(item_id).options[0].key
        assert _answer(client, sitting, item_id, key, token).status_code == 200
        saved[item_id] = key

    sitting.deadline_at = utcnow() - dt.timedelta(seconds=1)  # the time ran out while the tab was closed
    database.session.commit()

    response = client.get(f"/sittings/{sitting.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sittings/{sitting.id}/results")
    database.session.refresh(sitting)
    assert sitting.status is SittingStatus.SUBMITTED and sitting.auto_submitted
    stored = {r.subscale: r for r in database.session.scalars(
        select(SubscaleResult).where(SubscaleResult.sitting_id == sitting.id))}
    expected = score_instrument(instrument, saved)
    assert {code: (r.n_answered, r.score) for code, r in stored.items()} == \
        {code: (s.n_answered, s.score) for code, s in expected.items()}
    results = client.get(f"/sittings/{sitting.id}/results").get_data(as_text=True)
    assert "The time ran out; the answers saved in time were scored." in results
    assert "The time for this test is over." in results  # the flashed explanation
    audit = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "psychometrics.sitting_submitted",
                                                             AuditEntry.object_id == str(sitting.id)))
    assert audit.actor_id is None and audit.details["auto"] is True


def test_autosave_after_the_deadline_is_refused_and_submits(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=20)
    _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    token = csrf_token(client, f"/sittings/{sitting.id}")
    first = sitting.item_order[0]
    key = assessments.instrument_of(assignment.instrument).item(first).options[0].key
    sitting.deadline_at = utcnow() - dt.timedelta(seconds=1)
    database.session.commit()

    late = _answer(client, sitting, first, key, token)
    assert late.status_code == 409
    body = late.get_json()
    assert body["submitted"] is True and body["results_url"].endswith(f"/sittings/{sitting.id}/results")
    assert database.session.scalar(select(func.count(Answer.id)).where(Answer.sitting_id == sitting.id)) == 0
    database.session.refresh(sitting)
    assert sitting.status is SittingStatus.SUBMITTED


def test_the_server_refuses_answers_after_the_deadline_whatever_the_page_did(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=10)
    start = utcnow()
    sitting = assessments.start_or_resume(database.session, cadet, assignment, now=start)
    item_id = sitting.item_order[0]
    key = assessments.instrument_of(assignment.instrument).item(item_id).options[0].key
    assessments.save_answer(database.session, cadet, sitting, item_id, key, now=start + dt.timedelta(minutes=9))
    with pytest.raises(Conflict):
        assessments.save_answer(database.session, cadet, sitting, item_id, key, now=start + dt.timedelta(minutes=11))
    assert not assessments.finish_if_expired(database.session, sitting, now=start + dt.timedelta(minutes=9))
    assert assessments.finish_if_expired(database.session, sitting, now=start + dt.timedelta(minutes=11))
    assert not assessments.finish_if_expired(database.session, sitting, now=start + dt.timedelta(minutes=12))


def test_without_a_time_limit_the_window_closing_ends_the_sitting(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet)
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    assert sitting.deadline_at == assignment.closes_at
    limited = _assign(database, cadet, time_limit_minutes=600)
    late_start = assignment.closes_at - dt.timedelta(minutes=5)
    other = assessments.start_or_resume(database.session, cadet, limited, now=late_start)
    assert other.deadline_at == limited.closes_at  # a time limit never runs past the window


# --------------------------------------------------------------------------- item order


def test_randomised_order_is_fixed_for_a_sitting_and_differs_between_sittings(client, login_as, database, user):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet, randomise_items=True, retake_after_days=1)
    instrument = assessments.instrument_of(assignment.instrument)
    _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    order = list(sitting.item_order)
    assert sorted(order) == sorted(item.id for item in instrument.items)
    assert order != [item.id for item in instrument.items]

    # Leaving and starting again resumes the same sitting in the same order, at the same item.
    html = client.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    assert f'name="item_id" value="{order[0]}"' in html
    _start(client, assignment)
    database.session.refresh(sitting)
    assert sitting.item_order == order and _only_sitting(database, cadet, assignment).id == sitting.id
    html = client.get(f"/sittings/{sitting.id}?q=7").get_data(as_text=True)
    assert f'name="item_id" value="{order[6]}"' in html

    other = assessments.start_or_resume(database.session, user("cadet.02"), assignment)
    assert sorted(other.item_order) == sorted(order) and other.item_order != order

    assessments.submit(database.session, cadet, sitting)
    second = assessments.start_or_resume(database.session, cadet, assignment,
                                         now=sitting.submitted_at + dt.timedelta(days=1, minutes=1))
    assert second.attempt == 2 and second.item_order != order


# --------------------------------------------------------------------------- attempt policy


def test_one_attempt_policy_refuses_a_second_start(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet)
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    assessments.submit(database.session, cadet, sitting)
    with pytest.raises(Conflict):
        assessments.start_or_resume(database.session, cadet, assignment, now=utcnow() + dt.timedelta(days=20))
    assert assignment.retake_opens_at(sitting) is None


def test_retake_is_allowed_only_after_the_stated_days(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet, retake_after_days=7)
    first = assessments.start_or_resume(database.session, cadet, assignment)
    submitted_at = utcnow()
    assessments.submit(database.session, cadet, first, now=submitted_at)
    retake_at = submitted_at + dt.timedelta(days=7)
    assert assignment.retake_opens_at(first) == retake_at
    with pytest.raises(Conflict) as refused:
        assessments.start_or_resume(database.session, cadet, assignment, now=submitted_at + dt.timedelta(days=3))
    assert retake_at.astimezone(SERVICE_TIMEZONE).strftime("%Y-%m-%d %H:%M") in str(refused.value.message)
    second = assessments.start_or_resume(database.session, cadet, assignment,
                                         now=submitted_at + dt.timedelta(days=7, seconds=1))
    assert (second.attempt, second.status) == (2, SittingStatus.IN_PROGRESS)
    database.session.refresh(first)
    assert first.status is SittingStatus.SUBMITTED and first.results  # the first attempt is kept


def test_retake_through_the_pages(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet, retake_after_days=7)
    _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    token = csrf_token(client, f"/sittings/{sitting.id}/review")
    client.post(f"/sittings/{sitting.id}/submit", data={"csrf_token": token, "confirm_incomplete": "yes"})
    intro = client.get(f"/tests/{assignment.id}").get_data(as_text=True)
    assert "You can take this test again from" in intro and "Take the test again" not in intro
    refused = _start(client, assignment)
    assert refused.status_code == 302  # back, with the reason flashed
    assert "You can take this test again from" in client.get(f"/tests/{assignment.id}").get_data(as_text=True)

    database.session.refresh(sitting)
    sitting.submitted_at = utcnow() - dt.timedelta(days=8)
    database.session.commit()
    assert "Take the test again" in client.get(f"/tests/{assignment.id}").get_data(as_text=True)
    assert "Another attempt" in client.get("/dashboard").get_data(as_text=True)
    response = _start(client, assignment)
    attempts = database.session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id)
                                        .order_by(Sitting.attempt)).all()
    assert [s.attempt for s in attempts] == [1, 2]
    assert response.headers["Location"].endswith(f"/sittings/{attempts[1].id}")


# --------------------------------------------------------------------------- reopening


def test_staff_reopen_an_attempt_with_a_recorded_reason(client, login_as, database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=45)
    first = assessments.start_or_resume(database.session, cadet, assignment)
    assessments.submit(database.session, cadet, first)
    database.session.commit()
    first_results = len(first.results)

    psychologist = login_as("psychologist")
    page = f"/tests/admin/sittings/{first.id}/reopen"
    token = csrf_token(client, page)
    empty = client.post(page, data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 400 and "This field is required." in empty.get_data(as_text=True)
    reason = "Kompiuterio gedimas testo metu (technical failure)."
    response = client.post(page, data={"csrf_token": token, "reason": reason})
    assert response.status_code == 302

    attempts = database.session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id)
                                        .order_by(Sitting.attempt)).all()
    assert [(s.attempt, s.status) for s in attempts] == [(1, SittingStatus.SUBMITTED), (2, SittingStatus.NOT_STARTED)]
    reopened = attempts[1]
    assert reopened.reopened_from_id == first.id and reopened.reopen_reason == reason
    assert reopened.reopened_by_id == psychologist.id and reopened.deadline_at is None
    assert len(first.results) == first_results  # the old attempt and its results are kept
    entry = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "psychometrics.sitting_reopened"))
    assert entry.actor_id == psychologist.id and entry.details["reason"] == reason
    assert entry.details["reopened_from"] == first.id
    admin_page = client.get(f"/tests/admin/assignments/{assignment.id}").get_data(as_text=True)
    assert "reopened, not started yet" in admin_page and "Kompiuterio gedimas" in admin_page

    # The same attempt cannot be reopened twice: only the latest one can.
    token = csrf_token(client, page)
    again = client.post(page, data={"csrf_token": token, "reason": "Dar kartą, kitu pagrindu."},
                        headers={"Accept": "application/json"})
    assert again.status_code == 409

    # The cadet begins the new attempt; its time limit runs from then.
    token = csrf_token(client, "/dashboard")
    client.post("/logout", data={"csrf_token": token})
    login_as("cadet.01")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Reopened for you" in dashboard
    intro = client.get(f"/tests/{assignment.id}").get_data(as_text=True)
    assert "reopened this test for you" in intro
    before = utcnow()
    started = _start(client, assignment)
    assert started.headers["Location"].endswith(f"/sittings/{reopened.id}")
    database.session.refresh(reopened)
    assert reopened.status is SittingStatus.IN_PROGRESS and reopened.started_at >= before - dt.timedelta(seconds=1)
    assert reopened.deadline_at == reopened.started_at + dt.timedelta(minutes=45)


def test_reopening_needs_the_capability_and_a_submitted_attempt(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet)
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    with pytest.raises(Conflict):
        assessments.reopen_sitting(database.session, user("admin"), sitting, "Still in progress, though.")
    assessments.submit(database.session, cadet, sitting)
    for username in ("mentor.jonas", "assessor", "cadet.01"):
        with pytest.raises(PermissionDenied):
            assessments.reopen_sitting(database.session, user(username), sitting, "Technical failure.")
    with pytest.raises(OperationError) as refused:
        assessments.reopen_sitting(database.session, user("admin"), sitting, "ok")
    assert refused.value.field == "reason"
    assert assessments.reopen_sitting(database.session, user("admin"), sitting, "Technical failure.").attempt == 2


def test_a_reopened_attempt_after_the_window_keeps_only_its_time_limit(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet, time_limit_minutes=30)
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    assessments.submit(database.session, cadet, sitting)
    reopened = assessments.reopen_sitting(database.session, user("psychologist"), sitting, "Ill on the test day.")
    after_window = assignment.closes_at + dt.timedelta(days=2)
    begun = assessments.start_or_resume(database.session, cadet, assignment, now=after_window)
    assert begun.id == reopened.id and begun.status is SittingStatus.IN_PROGRESS
    assert begun.deadline_at == after_window + dt.timedelta(minutes=30)


# --------------------------------------------------------------------------- two tabs


def test_starting_in_two_tabs_gives_one_sitting(client, login_as, database):
    cadet = login_as("cadet.01")
    assignment = _assign(database, cadet)
    first, second = _start(client, assignment), _start(client, assignment)
    sitting = _only_sitting(database, cadet, assignment)
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Location"].endswith(f"/sittings/{sitting.id}")


def test_a_start_racing_another_tab_returns_the_sitting_the_other_tab_created(database, user, monkeypatch):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet)
    existing = assessments.start_or_resume(database.session, cadet, assignment)
    real = assessments.latest_sitting
    calls = []

    def not_yet_visible(session, found_assignment, person):
        calls.append(1)
        return None if len(calls) == 1 else real(session, found_assignment, person)

    # The other tab's row is not yet visible when this request looks, so it tries to insert attempt 1 too.
    monkeypatch.setattr(assessments, "latest_sitting", not_yet_visible)
    again = assessments.start_or_resume(database.session, cadet, assignment)
    assert again.id == existing.id and len(calls) == 2
    assert database.session.scalar(select(func.count(Sitting.id)).where(Sitting.assignment_id == assignment.id)) == 1


def test_the_same_answer_from_two_tabs_is_stored_once(database, user):
    cadet = user("cadet.01")
    assignment = _assign(database, cadet)
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    item = assessments.instrument_of(assignment.instrument).item(sitting.item_order[0])
    assessments.save_answer(database.session, cadet, sitting, item.id, item.options[0].key)
    assessments.save_answer(database.session, cadet, sitting, item.id, item.options[1].key)
    rows = database.session.scalars(select(Answer).where(Answer.sitting_id == sitting.id)).all()
    assert [(a.item_id, a.value) for a in rows] == [(item.id, item.options[1].key)]
