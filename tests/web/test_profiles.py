"""A person's competency profile (levels, requirement, gap, why, evidence, chart, ratings and
overrides) and a cohort's gaps (matrix, most below, heatmap, workbook)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from competency_framework.models import Evidence, EvidenceSource
from competency_framework.operations import current_framework, record_evidence
from competency_framework.tree import node_by_code
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.people import Cohort
from lms_plugin.framework import operations as ops
from tests.conftest import TEST_TODAY, csrf_token


@pytest.fixture()
def framework(database):
    return current_framework(database.session, "LKT-PAR")


def evidence_count(database, person_id: int) -> int:
    return database.session.scalar(select(func.count(Evidence.id)).where(Evidence.person_id == person_id))


def row_of(page: str, code: str) -> str:
    """The table row of one competency on the profile page."""
    match = re.search(rf'<tr id="c-\d+"[^>]*>\s*<th scope="row"><span class="code">{re.escape(code)}</span>.*?</tr>',
                      page, re.S)
    assert match, code
    return match.group(0)


def test_a_cadet_sees_their_own_profile_from_the_dashboard(client, login_as, user, framework):
    cadet = login_as("cadet.01")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/people/{cadet.id}/competencies"' in dashboard and "My competency profile" in dashboard
    response = client.get(f"/people/{cadet.id}/competencies")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Competency profile: " + cadet.full_name in page
    assert "Against the role profile Cadet" in page and "No evidence yet." in page
    assert "Record a rating" not in page  # cadets do not rate
    ds1 = row_of(page, "DS.1")
    assert '<td class="num">2</td>' in ds1 and "−2" in ds1  # required 2, gap 2
    assert client.get(f"/people/{user('cadet.07').id}/competencies").status_code == 404


def test_the_mentor_reaches_the_profile_from_the_cadet_page(client, login_as, user):
    cadet = user("cadet.01")
    login_as("mentor.jonas")
    assert f'href="/people/{cadet.id}/competencies"' in client.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert client.get(f"/people/{cadet.id}/competencies").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login_as("mentor.ona")
    assert client.get(f"/people/{cadet.id}/competencies").status_code == 404


def test_every_piece_of_evidence_is_shown_with_source_who_when_and_note(client, login_as, database, user, framework):
    cadet, mentor = user("cadet.01"), user("mentor.jonas")
    node = node_by_code(framework, "COM.2")
    record_evidence(database.session, person_id=cadet.id, competency=node, source=EvidenceSource.PRACTICE_SIGNOFF,
                    recorded_by_id=mentor.id, level=None, achieved=True, note="Listened well during the round.")
    record_evidence(database.session, person_id=cadet.id, competency=node, source=EvidenceSource.PSYCHOMETRIC,
                    recorded_by_id=None, level=1, note="STAFF-COMP COMM: development")
    database.session.commit()
    login_as("assessor")
    row = row_of(client.get(f"/people/{cadet.id}/competencies").get_data(as_text=True), "COM.2")
    # Demo rule: the highest-ranking source counts; "achieved" alone counts as level 2.
    assert "Level 2 because it comes from the highest-ranking source with evidence (mentor sign-off)" in row
    assert f"made by {mentor.full_name}" in row and "counts as level 2" in row
    assert "Evidence (2)" in row and "psychometric test" in row and "STAFF-COMP COMM: development" in row
    assert "Listened well during the round." in row and "achieved" in row and "recorded automatically" in row


def test_an_assessor_records_a_rating_and_the_profile_explains_it(client, login_as, database, user, framework):
    cadet = user("cadet.01")
    assessor = login_as("assessor")
    path = f"/people/{cadet.id}/competencies"
    token = csrf_token(client, path)
    node = node_by_code(framework, "ETH.1")
    response = client.post(f"{path}/ratings", data={"csrf_token": token, "competency": str(node.id),
                                                    "kind": "rating", "level": "3", "note": "Observed on shift."})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#c-{node.id}")
    evidence = database.session.scalar(select(Evidence).where(Evidence.person_id == cadet.id))
    assert (evidence.source, evidence.level, evidence.recorded_by_id) == (EvidenceSource.RATING, 3, assessor.id)
    row = row_of(client.get(path).get_data(as_text=True), "ETH.1")
    assert "Level 3 because" in row and "assessor rating" in row and assessor.full_name in row
    assert "met" in row
    entry = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "framework.rating"))
    assert entry.actor_id == assessor.id and entry.details["competency"] == "ETH.1"


def test_an_override_needs_a_reason_and_then_stands(client, login_as, database, user, framework):
    cadet = user("cadet.01")
    login_as("assessor")
    path = f"/people/{cadet.id}/competencies"
    token = csrf_token(client, path)
    node = node_by_code(framework, "SEC.1")
    before = evidence_count(database, cadet.id)
    refused = client.post(f"{path}/ratings", data={"csrf_token": token, "competency": str(node.id),
                                                   "kind": "override", "level": "4", "note": "   "})
    assert refused.status_code == 400 and "An override needs a reason." in refused.get_data(as_text=True)
    assert evidence_count(database, cadet.id) == before
    record_evidence(database.session, person_id=cadet.id, competency=node, source=EvidenceSource.RATING,
                    recorded_by_id=user("admin").id, level=1)
    database.session.commit()
    accepted = client.post(f"{path}/ratings", data={"csrf_token": token, "competency": str(node.id),
                                                    "kind": "override", "level": "4",
                                                    "note": "Recognised prior service as a police officer."})
    assert accepted.status_code == 302
    row = row_of(client.get(path).get_data(as_text=True), "SEC.1")
    assert "Level 4 because" in row and "overrode it" in row and "Recognised prior service" in row
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "framework.override")) == 1


def test_ratings_are_refused_to_others_and_for_oneself(client, login_as, database, user, framework):
    cadet = user("cadet.01")
    node = node_by_code(framework, "DS.1")
    data = {"competency": str(node.id), "kind": "rating", "level": "2", "note": ""}
    login_as("cadet.01")
    token = csrf_token(client, f"/people/{cadet.id}/competencies")
    refused = client.post(f"/people/{cadet.id}/competencies/ratings", data={"csrf_token": token, **data})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    assessor = login_as("assessor")
    page = client.get(f"/people/{assessor.id}/competencies").get_data(as_text=True)
    assert "Record a rating" not in page
    token = csrf_token(client, f"/people/{cadet.id}/competencies")
    own = client.post(f"/people/{assessor.id}/competencies/ratings", data={"csrf_token": token, **data})
    assert own.status_code == 403
    bad_level = client.post(f"/people/{cadet.id}/competencies/ratings",
                            data={"csrf_token": token, **data, "level": "7"})
    assert bad_level.status_code == 400 and "Choose a level of the scale." in bad_level.get_data(as_text=True)
    assert evidence_count(database, cadet.id) == 0


def test_the_profile_can_be_shown_against_another_version(client, login_as, database, user, framework):
    cadet = user("cadet.01")
    node = node_by_code(framework, "TEAM.2")
    record_evidence(database.session, person_id=cadet.id, competency=node, source=EvidenceSource.RATING,
                    recorded_by_id=user("assessor").id, level=3, note="Version one rating")
    draft = ops.new_draft(database.session, None, framework)
    ops.publish(database.session, None, draft)
    database.session.commit()
    login_as("admin")
    path = f"/people/{cadet.id}/competencies"
    current = client.get(path).get_data(as_text=True)
    assert "version 2" in current and "recorded against version 1 of the framework" in row_of(current, "TEAM.2")
    older = client.get(f"{path}?version={framework.id}").get_data(as_text=True)
    assert "Correctional officer competency framework, version 1" in older
    assert "Level 3 because" in row_of(older, "TEAM.2") and "recorded against version" not in row_of(older, "TEAM.2")
    assert client.get(f"{path}?version=99999").status_code == 404


def test_the_profile_chart_is_a_private_png(client, login_as, user):
    cadet = login_as("cadet.01")
    response = client.get(f"/people/{cadet.id}/competencies/chart.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.get_data().startswith(b"\x89PNG")
    assert client.get(f"/people/{user('cadet.07').id}/competencies/chart.png").status_code == 404


@pytest.fixture()
def cohort(database) -> Cohort:
    return database.session.scalar(select(Cohort).where(Cohort.code == "K-2026"))


def test_cohort_gaps_matrix_and_most_below(client, login_as, database, user, framework, cohort):
    login_as("assessor")
    assert f'href="/cohorts/{cohort.id}/gaps"' in client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    response = client.get(f"/cohorts/{cohort.id}/gaps")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Competencies with the most people below the requirement" in page
    assert "Person × competency matrix" in page and user("cadet.01").full_name in page
    assert f'/cohorts/{cohort.id}/gaps.png' in page and "Download the gap matrix (Excel)" in page
    # Raise cadet.01 to the requirement on DS.1: their cell shows level/required without the marker.
    cadet = user("cadet.01")
    record_evidence(database.session, person_id=cadet.id, competency=node_by_code(framework, "DS.1"),
                    source=EvidenceSource.RATING, recorded_by_id=user("assessor").id, level=2)
    database.session.commit()
    page = client.get(f"/cohorts/{cohort.id}/gaps").get_data(as_text=True)
    row = re.search(rf'<a href="/people/{cadet.id}/competencies">.*?</tr>', page, re.S).group(0)
    first_cell = re.findall(r'<td class="num[^"]*">(.*?)</td>', row, re.S)[1]
    assert first_cell.startswith("2/2") and "▼" not in first_cell
    chart = client.get(f"/cohorts/{cohort.id}/gaps.png")
    assert chart.mimetype == "image/png" and chart.headers["Cache-Control"] == "private, no-store"


def test_unit_gaps_show_the_units_staff_and_the_cadets_placed_there(client, login_as, database, user, cohort):
    mentor = user("mentor.jonas")
    login_as("admin")
    cohort_page = client.get(f"/cohorts/{cohort.id}/gaps").get_data(as_text=True)
    assert f'href="/units/{mentor.unit_id}/gaps"' in cohort_page
    response = client.get(f"/units/{mentor.unit_id}/gaps")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and mentor.unit.code in page
    assert mentor.full_name in page and user("cadet.01").full_name in page  # cadet.01 is placed with Jonas
    assert user("cadet.07").full_name not in page and user("mentor.ona").full_name not in page  # another unit
    assert "Download the gap matrix" not in page
    chart = client.get(f"/units/{mentor.unit_id}/gaps.png")
    assert chart.status_code == 200 and chart.mimetype == "image/png"


def test_cohort_gaps_are_for_staff_only(client, login_as, cohort):
    login_as("mentor.jonas")
    assert client.get(f"/cohorts/{cohort.id}/gaps").status_code == 403
    assert client.get(f"/reports/cohorts/{cohort.id}/gaps.xlsx").status_code == 403


def test_the_gap_workbook_reads_back(client, login_as, database, user, framework, cohort):
    cadet = user("cadet.01")
    record_evidence(database.session, person_id=cadet.id, competency=node_by_code(framework, "DS.1"),
                    source=EvidenceSource.RATING, recorded_by_id=user("assessor").id, level=1)
    database.session.commit()
    login_as("psychologist")
    response = client.get(f"/reports/cohorts/{cohort.id}/gaps.xlsx")
    assert response.status_code == 200
    assert f"gaps-K-2026-{TEST_TODAY.isoformat()}.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["Gaps", "Levels", "Competencies", "About"]
    gaps = workbook["Gaps"]
    header = [cell.value for cell in gaps[1]]
    assert header[:3] == ["Person", "Username", "Role profile"] and "DS.1" in header and "LEAD.1" in header
    rows = {row[1]: row for row in gaps.iter_rows(min_row=2, values_only=True)}
    mine = rows["cadet.01"]
    assert mine[header.index("DS.1")] == 1  # required 2, level 1
    assert mine[header.index("LEAD.1")] is None  # not required of cadets
    levels = {row[1]: row for row in workbook["Levels"].iter_rows(min_row=2, values_only=True)}
    assert levels["cadet.01"][header.index("DS.1")] == 1
    summary = list(workbook["Competencies"].iter_rows(min_row=2, values_only=True))
    assert summary[0][2] >= summary[-1][2]  # most people below first
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=3, values_only=True)}
    assert about["Framework"].startswith("LKT-PAR v1") and "highest-ranking source" in about["Proficiency rule"]
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "reports.cohort_gaps_export")) == 1
