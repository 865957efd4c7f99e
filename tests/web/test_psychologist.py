"""The psychologist's pages: a cohort's results in standard scores against a chosen norm group,
norm groups, item analysis with distractors and a DIF screen, and its Excel export. Every view
of raw data is in the audit log; nobody else gets in."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.errors import PermissionDenied
from lms_plugin.demo_data import NORM_SAMPLE_SIZE
from lms_plugin.psychology import operations as psychology
from lms_plugin.psychology.item_analysis_workbook import ItemAnalysisLabels, ItemAnalysisRows, item_analysis_workbook
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import (
    InstrumentRecord,
    NormObservation,
    NormSampleResponse,
    Sitting,
    SittingStatus,
    SubscaleResult,
    TestAssignment,
)
from psychometrics import NormTable, band_for_t, score_instrument
from psychometrics.ctt import cronbach_alpha, distractor_analysis
from psychometrics.dif import mantel_haenszel
from psychometrics.responses import choice_matrix, scored_matrix


@pytest.fixture(autouse=True)
def english(database):
    """Labels the operations build outside a request are compared in English, as the pages are requested."""
    with force_locale("en"):
        yield


@pytest.fixture()
def demo(database):
    record = database.session.scalar(select(InstrumentRecord))
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.instrument_id == record.id))
    return record, assignment


def _audit(database, action: str) -> list[AuditEntry]:
    return list(database.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _cell_text(html: str, row_label: str) -> list[str]:
    """The cells of the first table row whose header cell starts with ``row_label``."""
    match = re.search(r"<tr[^>]*>\s*<th scope=\"row\">" + re.escape(row_label) + r"(.*?)</tr>", html, re.S)
    assert match, row_label
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def test_the_norm_sample_is_stored_as_anonymised_patterns(database, demo):
    record, _ = demo
    patterns = database.session.scalars(select(NormSampleResponse)).all()
    assert len(patterns) == NORM_SAMPLE_SIZE
    assert {p.intake_year for p in patterns} == {2023, 2024, 2025}
    assert {p.group for p in patterns} == {"cadets"}
    assert not hasattr(NormSampleResponse, "person_id")
    instrument = assessments.instrument_of(record)
    for pattern in patterns[:20]:
        for item_id, key in pattern.responses.items():
            instrument.validate_response(item_id, key)
    # The norm sample's scores (what bands are given against) are the scores of these patterns.
    observed = database.session.scalar(select(func.count(NormObservation.id)).where(
        NormObservation.instrument_code == record.code, NormObservation.group == "cadets"))
    assert observed >= NORM_SAMPLE_SIZE * len(instrument.subscales) * 0.95


def test_cohort_results_show_standard_scores_against_the_chosen_norm_group(client, login_as, database, demo):
    record, assignment = demo
    psychologist = login_as("psychologist")
    instrument = assessments.instrument_of(record)
    sitting = database.session.scalar(select(Sitting).where(Sitting.assignment_id == assignment.id,
                                                            Sitting.status == SittingStatus.SUBMITTED)
                                      .order_by(Sitting.id))
    result = database.session.scalar(select(SubscaleResult).where(SubscaleResult.sitting_id == sitting.id,
                                                                  SubscaleResult.subscale == "SR"))
    url = f"/psychology/assignments/{assignment.id}/results"
    html = client.get(url).get_data(as_text=True)
    assert "Norm sample: cadets (300)" in html and "Stanine" in html and "Percentile" in html

    # The figures are those of a norm table built independently from the stored norm scores.
    scores = database.session.scalars(select(NormObservation.score).where(NormObservation.subscale == "SR")).all()
    table = NormTable.from_scores("cadets", "SR", scores)
    standard = table.standard_scores(result.score)
    section = html[html.index('id="s-SR"'):]
    cells = _cell_text(section, sitting.person.full_name)
    assert cells[0] == f"{result.score:.3f}"
    assert cells[2:6] == [f"{standard.z:.2f}", f"{standard.t:.1f}", f"{standard.percentile:.1f}",
                          str(standard.stanine)]
    band = band_for_t(standard.t, instrument.bands)
    assert cells[6] == band.title["en"]
    assert math.isclose(standard.t, result.t_score, abs_tol=0.051)  # as stored at submission

    # Another norm group: the intake of 2024 in the sample.
    html = client.get(url, query_string={"norm": "sample:cadets:2024"}).get_data(as_text=True)
    year = database.session.scalars(select(NormSampleResponse).where(NormSampleResponse.intake_year == 2024)).all()
    year_scores = [score_instrument(instrument, p.responses)["SR"].score for p in year]
    year_table = NormTable.from_scores("2024", "SR", [s for s in year_scores if s is not None])
    cells = _cell_text(html[html.index('id="s-SR"'):], sitting.person.full_name)
    assert cells[3] == f"{year_table.t(result.score):.1f}"
    assert 'value="sample:cadets:2024" selected' in html

    entries = _audit(database, "psychometrics.cohort_results_viewed")
    assert [e.details["norm_group"] for e in entries] == ["sample:cadets", "sample:cadets:2024"]
    assert all(e.actor_id == psychologist.id for e in entries)


def test_cohorts_become_norm_groups_too(database, demo, user):
    record, assignment = demo
    tables = psychology.norm_tables_by_group(database.session, record)
    cohort_key = f"cohort:{assignment.cohort_id}"
    expected = {"sample:cadets", "sample:cadets:2023", "sample:cadets:2024", "sample:cadets:2025", cohort_key}
    assert expected <= set(tables)
    stored = database.session.scalars(
        select(SubscaleResult.score).join(Sitting).where(Sitting.assignment_id == assignment.id,
                                                         SubscaleResult.subscale == "PK",
                                                         SubscaleResult.scored.is_(True))).all()
    assert tables[cohort_key]["PK"].n == len(stored)
    assert math.isclose(tables[cohort_key]["PK"].mean, float(np.mean(stored)))
    rows = psychology.norm_overview(database.session, user("psychologist"), record, "en")
    pooled = next(r for r in rows if r.group == "sample:cadets" and r.subscale == "SR")
    assert pooled.n == tables["sample:cadets"]["SR"].n
    development = pooled.cutoffs[0][1]
    assert math.isclose(tables["sample:cadets"]["SR"].t(development), 40.0)


def test_the_norms_page_is_logged(client, login_as, database, demo):
    record, _ = demo
    login_as("psychologist")
    html = client.get(f"/psychology/instruments/{record.id}/norms").get_data(as_text=True)
    assert "Norm sample: cadets, intake 2024" in html and "Cohort K-2026" in html
    assert "Highest score: Development need" in html
    assert len(_audit(database, "psychometrics.norms_viewed")) == 1


def test_cohort_results_export_reads_back_against_the_chosen_norm_group(client, login_as, database, demo, user,
                                                                       tmp_path):
    record, assignment = demo
    login_as("psychologist")
    html = client.get(f"/psychology/assignments/{assignment.id}/results",
                      query_string={"norm": "sample:cadets:2024"}).get_data(as_text=True)
    link = f"/psychology/assignments/{assignment.id}/results.xlsx?norm=sample:cadets:2024"
    assert link in html
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Cache-Control"].startswith("no-store")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Results", "Bands", "About"]

    instrument = assessments.instrument_of(record)
    expected = psychology.cohort_results(database.session, user("psychologist"), assignment, "sample:cadets:2024",
                                         "en")
    sheet = workbook["Results"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["Cadet", "Username", "Status", "Attempts", "Subscale", "Score", "Raw", "Answered", "Items",
                      "z", "T", "Percentile", "Stanine", "Band", "Band at submission"]
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == f"A1:O{sheet.max_row}"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    with_results = [row for row in expected.rows if row.sitting is not None]
    assert len(rows) == len(with_results) * len(instrument.subscales)
    titles = {s.code: s.title["en"] for s in instrument.subscales}
    bands = {b.code: b.title["en"] for b in instrument.bands}
    by_key = {(row[1], row[4]): row for row in rows}
    for person_row in with_results:
        for code, cell in person_row.cells.items():
            got = by_key[(person_row.person.username, titles[code])]
            assert got[0] == person_row.person.full_name and got[2] == "submitted"
            assert got[5] == pytest.approx(cell.score) and got[10] == pytest.approx(cell.t)
            assert got[11] == pytest.approx(cell.percentile) and got[12] == cell.stanine
            assert got[13] == bands[cell.band] and got[14] == bands.get(cell.stored_band or "")

    counts = list(workbook["Bands"].iter_rows(values_only=True))
    assert counts[0] == ("Subscale", *bands.values(), "Not scored", "No result")
    for code, line in zip(titles, counts[1:]):
        cells = [row.cells[code] for row in with_results]
        assert line[0] == titles[code]
        assert list(line[1:4]) == [sum(1 for c in cells if c.band == band) for band in bands]
        assert line[5] == len(expected.rows) - len(with_results)
    [chart] = workbook["Bands"]._charts
    assert chart.grouping == "stacked" and chart.type == "bar"
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert about["Norm group"] == "Norm sample: cadets, intake 2024" and about["Cohort"] == assignment.cohort.code

    entries = _audit(database, "psychometrics.cohort_results_exported")
    assert [e.details["norm_group"] for e in entries] == ["sample:cadets:2024"]

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is required in CI (.ci/run installs libreoffice-calc-nogui)")
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "results.xlsx"
    source.write_bytes(response.data)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)
    with open(tmp_path / "results.csv", encoding="utf-8") as handle:
        assert [line[:2] for line in csv.reader(handle)][1:] == [[row[0], row[1]] for row in rows]


def test_norms_for_open_edx_hold_each_subscale_mean_and_sd_and_are_logged(client, login_as, database, demo):
    record, _ = demo
    login_as("psychologist")
    html = client.get(f"/psychology/instruments/{record.id}/norms").get_data(as_text=True)
    link = f"/psychology/instruments/{record.id}/norms.json?group=sample:cadets"
    assert link in html
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="norms-{record.code}-v{record.version}-sample-cadets.json"')
    document = response.get_json()
    assert document["format"] == "officer-competence-norms/1"
    assert (document["instrument"], document["version"]) == (record.code, record.version)
    assert document["group"] == "Norm sample: cadets"
    instrument = assessments.instrument_of(record)
    assert set(document["subscales"]) == {subscale.code for subscale in instrument.subscales}
    reference = assessments.norm_tables(database.session, record.code, "cadets")
    for code, entry in document["subscales"].items():
        assert entry["mean"] == pytest.approx(reference[code].mean, abs=1e-12)
        assert entry["sd"] == pytest.approx(reference[code].sd, abs=1e-12)
        assert entry["n"] == reference[code].n == NORM_SAMPLE_SIZE
        assert set(entry) == {"mean", "sd", "n"}                # no person's score leaves
    [entry] = _audit(database, "psychometrics.norms_exported")
    assert entry.details == {"group": "sample:cadets"}


def test_norms_for_an_unknown_group_are_not_found(client, login_as, database, demo):
    record, _ = demo
    login_as("psychologist")
    response = client.get(f"/psychology/instruments/{record.id}/norms.json?group=sample:nobody")
    assert response.status_code == 404
    assert "There is no norm group sample:nobody for this test." in response.get_data(as_text=True)
    assert not _audit(database, "psychometrics.norms_exported")


def test_item_analysis_matches_the_library_on_the_same_answers(client, login_as, database, demo, user):
    record, _ = demo
    login_as("psychologist")
    html = client.get(f"/psychology/instruments/{record.id}/items",
                      query_string={"source": "sample:cadets"}).get_data(as_text=True)
    instrument = assessments.instrument_of(record)
    patterns = [p.responses for p in database.session.scalars(select(NormSampleResponse).order_by(
        NormSampleResponse.group, NormSampleResponse.intake_year, NormSampleResponse.id))]
    assert f"{len(patterns)} people: Norm sample: cadets." in html
    for subscale in instrument.subscales:
        matrix, names = scored_matrix(instrument, patterns, subscale.code)
        alpha = cronbach_alpha(matrix, names=names)
        cells = _cell_text(html, subscale.title["en"])
        assert cells[1] == f"{alpha.alpha:.3f}"
        assert cells[2] == f"{alpha.lower:.2f}–{alpha.upper:.2f}"
    assert 0.7 < alpha.alpha < 0.99  # the simulated demo data make a reliable scale

    # Distractors of the knowledge items, as the library computes them on the same choices.
    mc = [item for item in instrument.items if item.kind.value == "multiple_choice"]
    choices, ids = choice_matrix(instrument, patterns)
    columns = [ids.index(item.id) for item in mc]
    expected = distractor_analysis(choices[:, columns], [next(o.key for o in i.options if o.score > 0) for i in mc],
                                   options=[[o.key for o in i.options] for i in mc], names=[i.id for i in mc])
    analysis = psychology.item_analysis(database.session, user("psychologist"), record, source="sample:cadets")
    assert [(d.item, d.flags) for d in analysis.distractors] == [(d.item, d.flags) for d in expected]
    key_pb = {d.item: next(o.point_biserial for o in d.options if o.is_key) for d in analysis.distractors}
    assert all(value > 0.1 for value in key_pb.values())
    assert "Distractors of the knowledge items" in html and "(key)" in html

    # Flags are shown and explained.
    flagged = [row for row in analysis.items if row.flags]
    assert flagged, "the simulated data give the item analysis something to flag"
    assert psychology.flag_label(flagged[0].flags[0]) in html
    assert len(_audit(database, "psychometrics.item_analysis_viewed")) == 2


def test_dif_screen_between_two_groups_is_flagged_in_the_item_table(database, demo, user):
    record, _ = demo
    psychologist = user("psychologist")
    analysis = psychology.item_analysis(database.session, psychologist, record,
                                        dif_reference="sample:cadets:2023", dif_focal="sample:cadets:2025")
    assert analysis.dif_note is None and len(analysis.dif) == 16
    instrument = assessments.instrument_of(record)
    mc = [item for item in instrument.items if item.kind.value == "multiple_choice"]
    groups = {year: [p.responses for p in database.session.scalars(
        select(NormSampleResponse).where(NormSampleResponse.intake_year == year).order_by(NormSampleResponse.id))]
        for year in (2023, 2025)}
    both = groups[2023] + groups[2025]
    matrix = np.array([[item.score_response(p[item.id]) if item.id in p else np.nan for item in mc] for p in both])
    expected = mantel_haenszel(matrix, ["r"] * len(groups[2023]) + ["f"] * len(groups[2025]), "r", "f",
                               names=[item.id for item in mc])
    assert [(r.item, r.category) for r in analysis.dif] == [(r.item, r.category) for r in expected]
    for row, reference in zip(analysis.dif, expected):
        if row.delta is not None:
            assert math.isclose(row.delta, reference.delta)
    by_item = {row.item: row for row in analysis.items}
    for row in analysis.dif:
        assert (f"dif_{row.category}" in by_item[row.item].flags) == row.flagged

    # Overlapping groups (a year inside its own pooled sample) are refused, with the reason.
    overlap = psychology.item_analysis(database.session, psychologist, record,
                                       dif_reference="sample:cadets", dif_focal="sample:cadets:2024")
    assert overlap.dif == [] and "overlap" in overlap.dif_note


def test_small_groups_get_a_reason_instead_of_numbers(database, demo, user, monkeypatch):
    record, assignment = demo
    monkeypatch.setattr(psychology, "MIN_PEOPLE", 10_000)
    analysis = psychology.item_analysis(database.session, user("psychologist"), record,
                                        source=f"cohort:{assignment.cohort_id}")
    assert all(scale.alpha is None and "Too few people" in scale.note for scale in analysis.scales)
    assert "Too few people" in analysis.dif_note


def test_item_analysis_export_reads_back(client, login_as, database, demo, user):
    record, _ = demo
    login_as("psychologist")
    response = client.get(f"/psychology/instruments/{record.id}/items.xlsx",
                          query_string={"source": "sample:cadets", "reference": "sample:cadets:2023",
                                        "focal": "sample:cadets:2024"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Reliability", "Items", "Distractors", "DIF", "About"]
    reliability = workbook["Reliability"]
    headers = [cell.value for cell in reliability[1]]
    assert headers[4:7] == ["Alpha", "Alpha 95% CI, lower", "Alpha 95% CI, upper"]
    rows = {row[0]: row for row in reliability.iter_rows(min_row=2, values_only=True)}
    analysis = psychology.item_analysis(database.session, user("psychologist"), record, source="sample:cadets")
    for scale in analysis.scales:
        assert rows[scale.subscale][2] == scale.n_persons == NORM_SAMPLE_SIZE
        assert math.isclose(rows[scale.subscale][4], scale.alpha)
    items = workbook["Items"]
    assert items.max_row == 1 + len(assessments.instrument_of(record).items)
    assert items.freeze_panes == "B2" and items.auto_filter.ref.startswith("A1:")
    dif = list(workbook["DIF"].iter_rows(min_row=2, values_only=True))
    assert len(dif) == 16 and {row[6] for row in dif} <= {"A", "B", "C"}
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=3, values_only=True)}
    assert about["People"] == "Norm sample: cadets (300)"
    assert "Mantel–Haenszel" in about["Method"]
    assert len(_audit(database, "psychometrics.item_analysis_exported")) == 1


def test_workbook_builder_takes_plain_rows_and_keeps_text_as_text():
    labels = ItemAnalysisLabels(**{name: name for name in ItemAnalysisLabels.__dataclass_fields__
                                   if name != "about"}, about=[("Test", "PKT")])
    rows = ItemAnalysisRows(
        reliability=[("PK", "Knowledge", 10, 2, 0.8, 0.7, 0.9, None, 0.1, 0.5, 0.2, "")],
        items=[("PK01", "PK", "multiple_choice", "=HYPERLINK(\"x\")", 10, 0.5, 0.5, 0.5, 0.3, 0.7, "")],
        distractors=[("PK01", "a", "text", True, 5, 0.5, 0.3, "")],
        dif=[("PK01", 5, 5, 1.0, 0.0, 1.0, "A", "")])
    workbook = item_analysis_workbook(rows, labels)
    assert workbook.sheetnames == ["reliability", "items", "distractors", "dif", "about_sheet"]  # the About sheet is named by its label
    assert workbook["items"]["D2"].value == "'=HYPERLINK(\"x\")"  # a question is never a formula
    assert workbook["distractors"]["D2"].value == "yes"
    assert workbook["reliability"]["E2"].number_format == "0.000"


@pytest.mark.parametrize("username", ["admin", "assessor", "mentor.jonas", "cadet.01"])
def test_nobody_else_sees_raw_data_and_nothing_is_logged_for_them(client, login_as, database, demo, username):
    record, assignment = demo
    viewer = login_as(username)
    for url in ("/psychology/", f"/psychology/assignments/{assignment.id}/results",
                f"/psychology/instruments/{record.id}/items", f"/psychology/instruments/{record.id}/items.xlsx",
                f"/psychology/instruments/{record.id}/norms"):
        assert client.get(url).status_code == 403, url
    assert not [e for e in database.session.scalars(select(AuditEntry)) if "viewed" in e.action
                or "exported" in e.action]
    with pytest.raises(PermissionDenied):
        psychology.item_analysis(database.session, viewer, record)


def test_psychologist_sees_the_navigation_links(client, login_as):
    login_as("psychologist")
    html = client.get("/psychology/").get_data(as_text=True)
    assert 'href="/psychology/"' in html and 'href="/tests/admin/"' in html
    assert "Every page you open here is recorded in the audit log." in html
