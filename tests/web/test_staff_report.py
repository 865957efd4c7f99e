"""Training centre staff download the cohort workbook; it is read back cell by cell."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from lms_plugin.core.people import Cohort, Role, User
from lms_plugin.practice.models import PracticeTask, SignOff, SignOffOutcome
from lms_plugin.testing.models import Sitting, SittingStatus, SubscaleResult


def _download(client, login_as, database, username="admin"):
    login_as(username)
    cohort = database.session.scalar(select(Cohort).where(Cohort.code == "K-2026"))
    response = client.get(f"/reports/cohorts/{cohort.id}.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return cohort, response.data


def test_cohort_workbook_has_one_row_per_cadet_with_real_figures(client, login_as, database):
    cohort, data = _download(client, login_as, database)
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Cohort progress", "About"]
    sheet = workbook["Cohort progress"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:4] == ["Cadet", "Username", "Training unit", "Mentor"]
    assert "Psychological knowledge: band" in headers
    assert not any("T-score" in h for h in headers)  # an admin sees bands, not scores
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(headers)).column_letter}{sheet.max_row}"

    cadets = database.session.scalars(select(User).where(User.cohort_id == cohort.id, User.role == Role.CADET)
                                      .order_by(User.full_name)).all()
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(cadets) >= 20
    by_username = {row[1]: dict(zip(headers, row)) for row in rows}
    tasks_total = database.session.scalar(select(func.count(PracticeTask.id)))
    for cadet in cadets:
        row = by_username[cadet.username]
        assert row["Cadet"] == cadet.full_name  # Lithuanian letters survive
        achieved = database.session.scalar(select(func.count(func.distinct(SignOff.task_id))).where(
            SignOff.cadet_id == cadet.id, SignOff.outcome == SignOffOutcome.ACHIEVED))
        assert row["Practice tasks achieved"] == achieved
        assert row["Practice tasks in catalogue"] == tasks_total
        sitting = database.session.scalar(select(Sitting).where(Sitting.person_id == cadet.id,
                                                                Sitting.status == SittingStatus.SUBMITTED))
        if sitting is None:
            assert row["Psychological knowledge: band"] in (None, "")
        else:
            band = database.session.scalar(select(SubscaleResult.band).where(
                SubscaleResult.sitting_id == sitting.id, SubscaleResult.subscale == "PK"))
            assert row["Psychological knowledge: band"] == {"development": "Development need", "typical": "Typical",
                                                            "strength": "Strength"}[band]
    names = "".join(row[0] for row in rows)
    assert set("ąčęėįšųūž") <= set(names.lower())
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert about["Rows"] == str(len(cadets))
    assert "K-2026" in about["Cohort"]


def test_psychologist_workbook_adds_t_scores(client, login_as, database):
    _, data = _download(client, login_as, database, "psychologist")
    headers = [cell.value for cell in load_workbook(io.BytesIO(data))["Cohort progress"][1]]
    assert "Psychological knowledge: T-score" in headers


def test_workbook_opens_in_libreoffice(client, login_as, database, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice is required in CI (.ci/run installs libreoffice-calc-nogui)")
        pytest.skip("LibreOffice is not installed")
    _, data = _download(client, login_as, database)
    source = tmp_path / "cohort.xlsx"
    source.write_bytes(data)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)
    with open(tmp_path / "cohort.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    original = load_workbook(io.BytesIO(data))["Cohort progress"]
    assert rows[0] == [str(cell.value) for cell in original[1]]
    assert len(rows) == original.max_row
    assert [row[0] for row in rows[1:]] == [row[0] for row in original.iter_rows(min_row=2, values_only=True)]
