"""Training Centre staff download the cohort progress workbook and it opens as a real workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, expect

from fixtures import read_yaml
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

LITHUANIAN_LETTERS = "ąčęėįšųūž"


def test_admin_downloads_the_progress_workbook(new_context: Callable[..., BrowserContext], tmp_path: Path) -> None:
    page = new_context().new_page()
    sign_in(page, "admin")
    expect(page.get_by_role("heading", name="Cohorts")).to_be_visible()
    link = page.get_by_role("link", name="Download progress workbook (Excel)").first
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.failure() is None
    assert download.suggested_filename.startswith("cohort-") and download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    workbook = load_workbook(saved)
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:4] == ["Cadet", "Username", "Training unit", "Mentor"]
    assert all(isinstance(header, str) and header for header in headers)
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True) if any(value is not None for value in row)]
    assert len(rows) >= 20

    people = read_yaml("people.yaml")
    cadets = {raw["username"]: raw["full_name"] for raw in people["users"] if raw["role"] == "cadet"}
    by_username = {row[1]: row for row in rows}
    assert set(by_username) == set(cadets)
    assert all(by_username[username][0] == name for username, name in cadets.items())
    names = " ".join(str(row[0]) for row in rows).lower()
    missing = [letter for letter in LITHUANIAN_LETTERS if letter not in names]
    assert not missing, f"Lithuanian letters lost from the names: {missing}"
