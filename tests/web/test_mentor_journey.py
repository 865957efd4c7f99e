"""A mentor sees only their cadets, opens a practice log and signs off an entry, once and for good."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from competency_framework.models import Evidence, EvidenceSource
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import ImmutableRecordError
from lms_plugin.practice.models import LogbookEntry, Placement, PracticeTask, SignOff, SignOffOutcome
from lms_plugin.practice.operations import logbook as practice
from tests.conftest import TEST_TODAY, csrf_token


@pytest.fixture()
def mentor_and_entry(database, user):
    """mentor.jonas, and a fresh logbook entry of cadet.01 (placed with him) awaiting sign-off."""
    mentor, cadet = user("mentor.jonas"), user("cadet.01")
    task = database.session.scalar(select(PracticeTask).order_by(PracticeTask.code))
    entry = practice.add_logbook_entry(database.session, cadet, task=task, performed_on=TEST_TODAY,
                                       location="Vilnius", description="Atlikau apžiūrą pagal tvarką.",
                                       reflection="", today=TEST_TODAY)
    database.session.commit()
    return mentor, cadet, entry


def test_mentor_dashboard_lists_only_assigned_cadets(client, login_as, database):
    mentor = login_as("mentor.jonas")
    html = client.get("/dashboard").get_data(as_text=True)
    placements = database.session.scalars(select(Placement).where(Placement.mentor_id == mentor.id)).all()
    assigned = {p.cadet.full_name for p in placements if p.starts_on <= TEST_TODAY <= p.ends_on}
    assert assigned and all(name in html for name in assigned)
    others = database.session.scalars(select(Placement).where(Placement.mentor_id != mentor.id)).all()
    for placement in others:
        if placement.cadet.full_name not in assigned:
            assert placement.cadet.full_name not in html


def test_mentor_signs_off_and_the_record_is_final(client, login_as, mentor_and_entry, database):
    mentor, cadet, entry = mentor_and_entry
    login_as("mentor.jonas")
    page = f"/cadets/{cadet.id}"
    html = client.get(page).get_data(as_text=True)
    assert entry.description in html and f"/entries/{entry.id}/signoff" in html
    token = csrf_token(client, page)
    response = client.post(f"/entries/{entry.id}/signoff", data={
        "csrf_token": token, f"e{entry.id}-outcome": "achieved", f"e{entry.id}-comment": "Puikiai, savarankiškai."})
    assert response.status_code == 302

    signoff = database.session.scalar(select(SignOff).where(SignOff.entry_id == entry.id))
    assert signoff.signer_id == mentor.id and signoff.signer_role == "mentor"
    assert signoff.outcome is SignOffOutcome.ACHIEVED and signoff.comment == "Puikiai, savarankiškai."
    assert abs((signoff.signed_at - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "practice.signoff", AuditEntry.object_id == str(signoff.id))) == 1
    assert database.session.scalar(select(func.count(Evidence.id)).where(
        Evidence.person_id == cadet.id, Evidence.source == EvidenceSource.PRACTICE_SIGNOFF,
        Evidence.source_ref == f"signoff:{signoff.id}")) == len(entry.task.competencies)

    after = client.get(page).get_data(as_text=True)
    assert f"/entries/{entry.id}/signoff" not in after  # no form to sign again
    assert "signed by" in after and mentor.full_name in after

    again = client.post(f"/entries/{entry.id}/signoff", data={
        "csrf_token": token, f"e{entry.id}-outcome": "not_yet", f"e{entry.id}-comment": "Pakeisiu."})
    assert again.status_code == 409
    assert database.session.scalar(select(func.count(SignOff.id)).where(SignOff.entry_id == entry.id)) == 1

    database.session.commit()  # keep the sign-off when the failed changes below are rolled back
    signoff.comment = "changed afterwards"
    with pytest.raises(ImmutableRecordError):
        database.session.flush()
    database.session.rollback()
    database.session.delete(database.session.get(SignOff, signoff.id))
    with pytest.raises(ImmutableRecordError):
        database.session.flush()


def test_not_yet_needs_feedback(client, login_as, mentor_and_entry, database):
    _, cadet, entry = mentor_and_entry
    login_as("mentor.jonas")
    token = csrf_token(client, f"/cadets/{cadet.id}")
    response = client.post(f"/entries/{entry.id}/signoff", data={
        "csrf_token": token, f"e{entry.id}-outcome": "not_yet", f"e{entry.id}-comment": "  "})
    assert response.status_code == 400
    assert "feedback is required" in response.get_data(as_text=True)
    assert database.session.scalar(select(func.count(SignOff.id)).where(SignOff.entry_id == entry.id)) == 0


def test_mentor_cannot_see_or_sign_for_a_cadet_not_assigned(client, login_as, mentor_and_entry, database):
    _, cadet, entry = mentor_and_entry
    login_as("mentor.ona")
    assert client.get(f"/cadets/{cadet.id}").status_code == 404
    token = csrf_token(client, "/dashboard")
    response = client.post(f"/entries/{entry.id}/signoff", data={
        "csrf_token": token, f"e{entry.id}-outcome": "achieved", f"e{entry.id}-comment": ""})
    assert response.status_code == 404
    assert database.session.scalar(select(func.count(SignOff.id)).where(SignOff.entry_id == entry.id)) == 0


def test_mentor_cannot_sign_after_the_placement_ended(client, login_as, mentor_and_entry, freeze_today, database):
    _, cadet, entry = mentor_and_entry
    freeze_today(entry.placement.ends_on + dt.timedelta(days=3))  # still visible in the grace period
    login_as("mentor.jonas")
    html = client.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert f"/entries/{entry.id}/signoff" not in html
    token = csrf_token(client, f"/cadets/{cadet.id}")
    response = client.post(f"/entries/{entry.id}/signoff", data={
        "csrf_token": token, f"e{entry.id}-outcome": "achieved", f"e{entry.id}-comment": ""})
    assert response.status_code == 403
    assert database.session.scalar(select(func.count(SignOff.id)).where(SignOff.entry_id == entry.id)) == 0


def test_cadet_records_a_logbook_entry_with_validation(client, login_as, database):
    cadet = login_as("cadet.01")
    task = database.session.scalar(select(PracticeTask).order_by(PracticeTask.code))
    entries = select(func.count(LogbookEntry.id)).where(LogbookEntry.cadet_id == cadet.id)
    before = database.session.scalar(entries)  # the demo's entries waiting for mentor.jonas
    token = csrf_token(client, "/practice/entries/new")
    future = client.post("/practice/entries/new", data={
        "csrf_token": token, "task": task.id, "performed_on": (TEST_TODAY + dt.timedelta(days=2)).isoformat(),
        "description": "Kratos apžiūra", "location": "", "reflection": ""})
    assert future.status_code == 400 and "cannot be in the future" in future.get_data(as_text=True)
    empty = client.post("/practice/entries/new", data={
        "csrf_token": token, "task": task.id, "performed_on": TEST_TODAY.isoformat(), "description": ""})
    assert empty.status_code == 400
    assert database.session.scalar(entries) == before
    ok = client.post("/practice/entries/new", data={
        "csrf_token": token, "task": task.id, "performed_on": TEST_TODAY.isoformat(),
        "description": "Atlikau kratą su mentoriumi – ąčęėįšųūž", "location": "1 sektorius", "reflection": "Gerai."})
    assert ok.status_code == 302
    entry = database.session.scalar(select(LogbookEntry).where(LogbookEntry.cadet_id == cadet.id)
                                    .order_by(LogbookEntry.id.desc()).limit(1))
    assert entry.description.endswith("ąčęėįšųūž")
    assert "ąčęėįšųūž" in client.get("/practice/").get_data(as_text=True)
