"""Training centre staff: units, mentors, placements (refused with a reason), reassignment with history,
and every unit's load on one page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import Institution, TrainingUnit
from lms_plugin.practice.models import Placement, RequestStatus
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import oversight
from lms_plugin.practice.operations import placements as organisation
from tests.conftest import TEST_TODAY, csrf_token
from tests.web.practice_objects import english, new_entry

D = dt.date


def _unit(session, code):
    return session.scalar(select(TrainingUnit).where(TrainingUnit.code == code))


def _place(database, user, cadet, mentor, unit, start, end, actor="admin"):
    return organisation.create_placement(database.session, user(actor), cadet=user(cadet), mentor=user(mentor),
                                         unit=_unit(database.session, unit), starts_on=start, ends_on=end)


def test_capacity_holds_on_every_day_of_the_new_placement(database, user):
    # mentor.jonas: capacity 3, cadet.01 and cadet.02 until 2026-12-18.
    _place(database, user, "cadet.23", "mentor.jonas", "VPN-1", D(2026, 12, 10), D(2026, 12, 31))
    with pytest.raises(Conflict) as refused:
        _place(database, user, "cadet.24", "mentor.jonas", "VPN-1", D(2026, 12, 1), D(2026, 12, 20))
    # Fine on its first day (2 cadets), full from 10 December, when cadet.23 starts.
    assert "already mentors 3 cadets on 2026-12-10 (capacity 3)" in english(refused.value)
    assert refused.value.field == "mentor"
    # After cadet.01 and cadet.02 leave there is room again.
    _place(database, user, "cadet.24", "mentor.jonas", "VPN-1", D(2026, 12, 19), D(2027, 1, 31))


def test_expired_or_expiring_accreditation_and_overlap_are_refused(database, user):
    cases = [(("cadet.23", "mentor.vida", "KPUS-1", D(2026, 12, 1), D(2026, 12, 20)), Conflict,
              "accreditation expired on 2026-10-15"),
             (("cadet.23", "mentor.ruta", "APN-1", D(2026, 12, 20), D(2027, 1, 20)), Conflict,
              "expires on 2026-12-31, before the placement ends"),
             (("cadet.01", "mentor.tomas", "MPN-1", D(2026, 12, 1), D(2027, 1, 20)), Conflict,
              "already has a placement from 2026-10-05 to 2026-12-18"),
             (("cadet.23", "mentor.tomas", "MPN-1", D(2026, 12, 20), D(2026, 12, 1)), OperationError,
              "ends before it starts")]
    for args, error, reason in cases:
        with pytest.raises(error) as refused:
            _place(database, user, *args)
        assert reason in english(refused.value)
    with pytest.raises(PermissionDenied):
        _place(database, user, "cadet.23", "mentor.tomas", "MPN-1", D(2026, 12, 1), D(2026, 12, 20), actor="assessor")


def test_staff_place_a_cadet_through_the_form_and_see_the_reason_of_a_refusal(client, login_as, database, user):
    login_as("admin")
    token = csrf_token(client, "/units/placements/new")
    form = {"csrf_token": token, "cadet": user("cadet.23").id, "unit": _unit(database.session, "KPUS-1").id,
            "mentor": user("mentor.vida").id, "starts_on": "2026-12-01", "ends_on": "2026-12-20"}
    refused = client.post("/units/placements/new", data=form)
    assert refused.status_code == 409
    assert "accreditation expired on 2026-10-15" in refused.get_data(as_text=True)
    ok = client.post("/units/placements/new", data={**form, "mentor": user("mentor.tomas").id,
                                                   "unit": _unit(database.session, "MPN-1").id})
    assert ok.status_code == 302
    placed = database.session.scalar(select(Placement).where(Placement.cadet_id == user("cadet.23").id))
    assert placed.mentor.username == "mentor.tomas" and placed.starts_on == D(2026, 12, 1)
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "mentoring.placement_created", AuditEntry.object_id == str(placed.id),
        AuditEntry.actor_id == user("admin").id)) == 1
    assert "Erikas Kavaliauskas" in client.get("/units/placements").get_data(as_text=True)


def test_reassigning_keeps_history_and_moves_pending_requests(client, login_as, database, user, freeze_today):
    session = database.session
    cadet, jonas, tomas = user("cadet.02"), user("mentor.jonas"), user("mentor.tomas")
    entry = new_entry(session, cadet)
    practice.request_signoff(session, cadet, entry, message="", today=TEST_TODAY)
    old = practice.current_placement(session, cadet, TEST_TODAY)
    session.commit()
    login_as("admin")
    page = f"/units/placements/{old.id}/reassign"
    token = csrf_token(client, page)
    form = {"csrf_token": token, "r-mentor": tomas.id, "r-unit": _unit(session, "MPN-1").id,
            "r-from_day": "2026-11-30", "r-reason": ""}
    assert client.post(page, data=form).status_code == 400  # the reason is required
    response = client.post(page, data={**form, "r-reason": "Mentorius išvyksta į komandiruotę."})
    assert response.status_code == 302
    session.expire_all()
    history = organisation.placement_history(session, cadet)
    new, before = history[0], history[1]
    assert before.id == old.id and before.ends_on == D(2026, 11, 29) and before.planned_ends_on == D(2026, 12, 18)
    assert new.previous_id == old.id and new.mentor_id == tomas.id and new.starts_on == D(2026, 11, 30)
    assert new.ends_on == D(2026, 12, 18) and new.change_reason == "Mentorius išvyksta į komandiruotę."
    assert session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "mentoring.placement_reassigned", AuditEntry.object_id == str(new.id))) == 1
    # Until the switch the request is Jonas's; from then on it is Tomas's.
    # (Jonas's queue also holds the demo's requests of cadet.01.)
    assert [r.entry_id for r in oversight.mentor_queue(session, jonas, D(2026, 11, 29))
            if r.cadet_id == cadet.id] == [entry.id]
    assert oversight.mentor_queue(session, tomas, D(2026, 11, 29)) == []
    assert [r for r in oversight.mentor_queue(session, jonas, D(2026, 11, 30)) if r.cadet_id == cadet.id] == []
    assert [r.entry_id for r in oversight.mentor_queue(session, tomas, D(2026, 11, 30))] == [entry.id]
    assert entry.request.status is RequestStatus.PENDING
    html = client.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert "Mentorius išvyksta į komandiruotę." in html and "planned until 2026-12-18" in html


def test_reassignment_rules(database, user):
    session = database.session
    placement = practice.current_placement(session, user("cadet.02"), TEST_TODAY)
    admin = user("admin")
    with pytest.raises(OperationError) as refused:
        organisation.reassign_placement(session, admin, placement, mentor=user("mentor.tomas"),
                                        unit=_unit(session, "MPN-1"), from_day=D(2026, 11, 1), reason="x",
                                        today=TEST_TODAY)
    assert "starts today or later" in english(refused.value)
    with pytest.raises(Conflict) as refused:  # mentor.darius has 4 cadets already
        organisation.reassign_placement(session, admin, placement, mentor=user("mentor.darius"),
                                        unit=_unit(session, "VPN-2"), from_day=D(2026, 12, 1), reason="x",
                                        today=TEST_TODAY)
    assert "(capacity 4)" in english(refused.value)
    ended = organisation.end_placement_early(session, admin, placement, last_day=D(2026, 12, 4), reason="Liga.",
                                             today=TEST_TODAY)
    assert ended.ends_on == D(2026, 12, 4) and ended.planned_ends_on == D(2026, 12, 18)


def test_units_and_mentors_are_managed_by_staff(client, login_as, database, user):
    login_as("admin")
    institution = database.session.scalar(select(Institution).where(Institution.code == "VPN"))
    token = csrf_token(client, "/units/new")
    bad = client.post("/units/new", data={"csrf_token": token, "institution": institution.id, "code": "vpn 3!",
                                          "name_en": "Unit 3", "contact_email": "nope"})
    assert bad.status_code == 400 and "capital letters" in bad.get_data(as_text=True)
    taken = client.post("/units/new", data={"csrf_token": token, "institution": institution.id, "code": "VPN-1",
                                            "name_en": "Duplicate"})
    assert taken.status_code == 409 and "is taken" in taken.get_data(as_text=True)
    ok = client.post("/units/new", data={"csrf_token": token, "institution": institution.id, "code": "VPN-3",
                                         "name_en": "Practical training unit, sector 3", "name_lt": "3 sektorius",
                                         "address": "Rasų g. 8, Vilnius", "contact_name": "Petras Petraitis",
                                         "contact_phone": "+370 5 000 0000", "contact_email": "vpn3@example.lt"})
    assert ok.status_code == 302
    unit = _unit(database.session, "VPN-3")
    assert unit.institution_id == institution.id and unit.contact_email == "vpn3@example.lt"
    edit = client.post(f"/units/{unit.id}/edit", data={"csrf_token": token, "institution": institution.id,
                                                        "name_en": "Sector 3", "address": "Rasų g. 10, Vilnius"})
    assert edit.status_code == 302
    database.session.expire_all()
    assert _unit(database.session, "VPN-3").address == "Rasų g. 10, Vilnius"

    mentor = user("mentor.ona")
    response = client.post(f"/units/mentors/{mentor.id}", data={
        "csrf_token": token, "unit": unit.id, "capacity": "0", "accreditation_expires_on": "2028-01-31"})
    assert response.status_code == 400 and "Between 1 and 20" in response.get_data(as_text=True)
    response = client.post(f"/units/mentors/{mentor.id}", data={
        "csrf_token": token, "unit": unit.id, "capacity": "5", "accreditation_expires_on": "2028-01-31"})
    assert response.status_code == 302
    database.session.expire_all()
    mentor = user("mentor.ona")
    assert (mentor.unit_id, mentor.mentor_profile.capacity) == (unit.id, 5)
    assert mentor.mentor_profile.accreditation_expires_on == D(2028, 1, 31)
    assert "Ona Petrauskienė" in client.get("/units/mentors").get_data(as_text=True)


def test_one_page_shows_every_units_load(client, login_as, database):
    login_as("admin")
    html = client.get("/units/").get_data(as_text=True)
    units = database.session.scalars(select(TrainingUnit)).all()
    assert all(unit.code in html for unit in units)
    loads = {row.unit.code: row for row in organisation.unit_loads(database.session, TEST_TODAY)}
    assert loads["VPN-1"].current == 2 and loads["VPN-1"].capacity == 3 and loads["VPN-1"].free == 1
    assert loads["VPN-2"].current == 4 and loads["VPN-2"].free == 0
    assert loads["KPUS-1"].capacity == 0  # mentor.vida's accreditation has expired
    assert sum(row.current for row in loads.values()) == 22
    assert "accreditation expired" in html and "Vida Paulauskienė" in html
