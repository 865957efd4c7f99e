"""Staff who manage tests: assign an instrument to a cohort with its rules, move the window,
score sittings whose time is over, see every cadet's attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import utcnow
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.people import Cohort
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import InstrumentRecord, Sitting, SittingStatus, TestAssignment
from tests.conftest import csrf_token

NEW = "/tests/admin/assignments/new"


OPENS = (utcnow() + dt.timedelta(days=7)).astimezone(SERVICE_TIMEZONE).replace(hour=8, minute=0, second=0,
                                                                                 microsecond=0, tzinfo=None)
CLOSES = OPENS + dt.timedelta(days=14, hours=12)


def _local(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _form(database, **changes) -> dict[str, str]:
    record = database.session.scalar(select(InstrumentRecord))
    cohort = database.session.scalar(select(Cohort).where(Cohort.code == "K-2026"))
    data = {"instrument": str(record.id), "cohort": str(cohort.id), "opens_at": _local(OPENS),
            "closes_at": _local(CLOSES), "time_limit_minutes": "60", "randomise_items": "y",
            "attempt_policy": "retake", "retake_after_days": "30", "norm_group": "cadets"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_list_shows_assignments_with_their_rules_and_progress(client, login_as):
    login_as("admin")
    html = client.get("/tests/admin/").get_data(as_text=True)
    assert "Tests assigned to cohorts" in html and "K-2026" in html
    assert "time limit 90 min" in html and "one attempt" in html and "norm group: cadets" in html
    assert "submitted" in html and 'href="/tests/admin/assignments/new"' in html
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/tests/admin/"' in dashboard  # the navigation link
    assert 'href="/psychology/"' not in dashboard  # an admin does not see raw scores


def test_assign_a_test_with_window_time_limit_order_and_retake_policy(client, login_as, database):
    admin = login_as("admin")
    form = client.get(NEW).get_data(as_text=True)
    assert 'type="datetime-local"' in form and "Lithuanian time." in form
    token = csrf_token(client, NEW)
    response = client.post(NEW, data={"csrf_token": token, **_form(database)})
    assert response.status_code == 302, response.get_data(as_text=True)
    assignment = database.session.scalar(select(TestAssignment).order_by(TestAssignment.id.desc()))
    assert response.headers["Location"].endswith(f"/tests/admin/assignments/{assignment.id}")
    # Typed in Vilnius time, stored in UTC.
    assert assignment.opens_at == OPENS.replace(tzinfo=SERVICE_TIMEZONE)
    assert assignment.opens_at.utcoffset() == dt.timedelta(0)
    assert assignment.opens_at.hour == 8 - OPENS.replace(tzinfo=SERVICE_TIMEZONE).utcoffset().seconds // 3600
    assert assignment.closes_at == CLOSES.replace(tzinfo=SERVICE_TIMEZONE)
    assert (assignment.time_limit_minutes, assignment.randomise_items, assignment.retake_after_days,
            assignment.norm_group) == (60, True, 30, "cadets")
    entry = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "psychometrics.assigned",
                                                             AuditEntry.object_id == str(assignment.id)))
    assert entry.actor_id == admin.id and entry.details["retake_after_days"] == 30
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The test is assigned to K-2026." in page
    assert "random order per sitting" in page and "another attempt after 30 days" in page

    # The cadets see it on their dashboard, not open yet.
    token = csrf_token(client, "/dashboard")
    client.post("/logout", data={"csrf_token": token})
    login_as("cadet.01")
    assert "Not open now" in client.get("/dashboard").get_data(as_text=True)


def test_one_attempt_needs_no_days_and_ignores_them(client, login_as, database):
    login_as("psychologist")
    token = csrf_token(client, NEW)
    response = client.post(NEW, data={"csrf_token": token, **_form(database, attempt_policy="once",
                                                                   retake_after_days="", time_limit_minutes="",
                                                                   randomise_items=None)})
    assert response.status_code == 302
    assignment = database.session.scalar(select(TestAssignment).order_by(TestAssignment.id.desc()))
    assert (assignment.retake_after_days, assignment.time_limit_minutes, assignment.randomise_items) == \
        (None, None, False)


def test_a_wrong_form_is_shown_again_with_the_reasons(client, login_as, database):
    login_as("admin")
    before = database.session.query(TestAssignment).count()
    cases = [
        (_form(database, closes_at=_local(OPENS - dt.timedelta(days=1))), "The test must close after it opens."),
        (_form(database, retake_after_days=""), "Enter after how many days another attempt is allowed."),
        (_form(database, time_limit_minutes="0"), "Enter from 1 to 600 minutes."),
        (_form(database, time_limit_minutes="soon"), "Enter a whole number."),
        (_form(database, opens_at="tomorrow"), "Enter a date and time as YYYY-MM-DD HH:MM."),
        (_form(database, norm_group="everyone"), "Choose a norm group."),
        (_form(database, attempt_policy="many"), "Choose how many attempts are allowed."),
        (_form(database, cohort="999999"), "Choose a cohort."),
    ]
    for data, message in cases:
        token = csrf_token(client, NEW)
        response = client.post(NEW, data={"csrf_token": token, **data})
        assert response.status_code == 400, message
        assert message in response.get_data(as_text=True), message
    assert database.session.query(TestAssignment).count() == before


def test_the_assignment_page_lists_every_cadet_and_attempt(client, login_as, database, user):
    cadet = user("cadet.01")
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    database.session.commit()
    login_as("admin")
    html = client.get(f"/tests/admin/assignments/{assignment.id}").get_data(as_text=True)
    members = [u for u in assignment.cohort.members if u.role.value == "cadet"]
    for member in members:
        assert member.full_name in html
    assert "in progress" in html and "not started" in html and "submitted" in html
    submitted = database.session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                               Sitting.status == SittingStatus.SUBMITTED)).all()
    for done in submitted:
        assert f"/tests/admin/sittings/{done.id}/reopen" in html
    assert f"/tests/admin/sittings/{sitting.id}/reopen" not in html  # only a submitted attempt is reopened
    assert "Score them now" not in html


def test_move_the_window_and_open_sittings_follow_it(client, login_as, database, user):
    cadet = user("cadet.01")
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    assignment.time_limit_minutes = None
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    database.session.commit()
    assert sitting.deadline_at == assignment.closes_at
    admin = login_as("admin")
    page = f"/tests/admin/assignments/{assignment.id}"
    token = csrf_token(client, page)
    closes = (utcnow() + dt.timedelta(days=90)).astimezone(SERVICE_TIMEZONE).replace(second=0, microsecond=0)
    opens = assignment.opens_at.astimezone(SERVICE_TIMEZONE)
    response = client.post(f"{page}/window", data={"csrf_token": token, "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
                                                   "closes_at": closes.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    database.session.refresh(assignment)
    database.session.refresh(sitting)
    assert assignment.closes_at == closes and sitting.deadline_at == closes
    entry = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "psychometrics.rescheduled"))
    assert entry.actor_id == admin.id and len(entry.details["previous"]) == 2

    token = csrf_token(client, page)
    backwards = client.post(f"{page}/window", data={"csrf_token": token, "opens_at": "2026-12-10T10:00",
                                                    "closes_at": "2026-12-01T10:00"})
    assert backwards.status_code == 400 and "The test must close after it opens." in backwards.get_data(as_text=True)


def test_sittings_whose_time_is_over_are_scored_from_the_assignment_page(client, login_as, database, user):
    assignment = database.session.scalar(select(TestAssignment).where(
        TestAssignment.cohort_id == user("cadet.01").cohort_id))
    expired = []
    for username in ("cadet.01", "cadet.02"):
        sitting = assessments.start_or_resume(database.session, user(username), assignment)
        sitting.deadline_at = utcnow() - dt.timedelta(minutes=1)
        expired.append(sitting)
    running = assessments.start_or_resume(database.session, user("cadet.03"), assignment)
    database.session.commit()
    login_as("psychologist")
    page = f"/tests/admin/assignments/{assignment.id}"
    html = client.get(page).get_data(as_text=True)
    assert "2 sittings are past their time and not scored yet." in html and "time over, not scored yet" in html
    token = csrf_token(client, page)
    response = client.post(f"{page}/finish-expired", data={"csrf_token": token})
    assert response.status_code == 302
    assert "2 sittings whose time was over are scored." in client.get(page).get_data(as_text=True)
    for sitting in expired:
        database.session.refresh(sitting)
        assert sitting.status is SittingStatus.SUBMITTED and sitting.auto_submitted and sitting.results
    database.session.refresh(running)
    assert running.status is SittingStatus.IN_PROGRESS


def test_the_pages_speak_lithuanian(client, login_as, database):
    login_as("admin")
    token = csrf_token(client, "/tests/admin/")
    client.post("/language", data={"csrf_token": token, "language": "lt", "next": "/tests/admin/"})
    html = client.get(NEW).get_data(as_text=True)
    assert '<html lang="lt">' in html
