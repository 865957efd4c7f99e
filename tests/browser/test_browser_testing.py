"""Time left on a phone, spoken at five minutes; staff reopen an attempt with the keyboard; wide
psychologist tables scroll inside their box instead of widening the page."""

from __future__ import annotations

import re
from typing import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.helpers import page_widths, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


def test_the_time_left_counts_down_and_is_announced_on_a_phone(new_context: Callable[..., BrowserContext]) -> None:
    context = new_context(viewport=PHONE)
    page = context.new_page()
    page.clock.install()
    sign_in(page, "cadet.02")
    page.get_by_role("region", name="Assigned tests").get_by_role("link", name="Start", exact=True).click()
    page.get_by_role("button", name="Start the test").click()
    expect(page).to_have_url(re.compile(r"/sittings/\d+$"))

    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^1 h (29|30) min$"))  # the demo's 90-minute limit
    assert page.locator(".timer-box").get_attribute("data-deadline-seconds")
    width, inner = page_widths(page)
    assert width <= inner, "the item page must not scroll sideways on a phone"

    page.clock.run_for("30:00")
    expect(timer).to_have_text(re.compile(r"^(59|60) min \d\d s$"))
    announce = page.locator(".timer-announce")
    expect(announce).to_have_attribute("aria-live", "polite")
    expect(announce).to_have_text("")  # nothing is spoken every second
    page.clock.run_for("55:30")
    expect(announce).to_have_text("Five minutes left. Your answers are saved as you go.")
    expect(page.locator(".timer-box")).to_have_class(re.compile(r"\blow\b"))


def test_staff_reopen_an_attempt_with_the_keyboard(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, "psychologist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tests").click()
    page.get_by_role("link", name=re.compile(r"^PKT v\d+$")).first.click()
    expect(page.get_by_role("heading", name="Cadets and their attempts")).to_be_visible()
    width, inner = page_widths(page)
    assert width <= inner, "the attempts table scrolls inside its box, the page does not"

    reopen = page.get_by_role("link", name=re.compile(r"^Reopen ")).first
    name = reopen.inner_text().removeprefix("Reopen").strip()
    reopen.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^Reopen the test for "))).to_be_visible()
    page.get_by_label("Reason for reopening").focus()
    page.keyboard.type("Interneto ryšio sutrikimas testo metu.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Attempt 2 is open for "))).to_be_visible()
    expect(page.get_by_text("reopened, not started yet")).to_be_visible()
    expect(page.get_by_text("Interneto ryšio sutrikimas testo metu.")).to_be_visible()
    assert name


def test_psychologist_tables_scroll_inside_their_box(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, "psychologist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Psychology").click()
    page.get_by_role("link", name="Item analysis", exact=True).first.click()
    expect(page.get_by_role("heading", name="Reliability by subscale")).to_be_visible()
    expect(page.get_by_role("heading", name="Differential item functioning (DIF) screen")).to_be_visible()
    width, inner = page_widths(page)
    assert width <= inner
    page.get_by_label("People analysed").select_option("sample:cadets:2024")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile(r"^100 people: Norm sample: cadets, intake 2024\."))).to_be_visible()


def test_psychologist_downloads_norms_that_the_open_edx_block_accepts(
        new_context: Callable[..., BrowserContext], tmp_path) -> None:
    from lms_plugin.xblocks.psychometric_test import load_shipped_instrument, read_norms

    page = new_context(viewport=PHONE).new_page()
    sign_in(page, "psychologist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Psychology").click()
    page.get_by_role("link", name="Norm groups").first.click()
    expect(page.get_by_role("heading", name="Norms for the test in Open edX")).to_be_visible()
    width, inner = page_widths(page)
    assert width <= inner
    with page.expect_download() as started:
        page.get_by_role("link", name="Norm sample: cadets (JSON)", exact=True).click()
    download = started.value
    assert download.failure() is None and download.suggested_filename.endswith("-sample-cadets.json")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    load_shipped_instrument.cache_clear()
    instrument = load_shipped_instrument("staff_competence")
    norms = read_norms(saved.read_text(encoding="utf-8"), instrument)
    assert set(norms) == {subscale.code for subscale in instrument.subscales}
    assert all(summary.group == "Norm sample: cadets" and summary.n >= 100 for summary in norms.values())


def test_psychologist_downloads_a_cohort_results_workbook_for_the_chosen_norm_group(
        new_context: Callable[..., BrowserContext], tmp_path) -> None:
    from openpyxl import load_workbook

    page = new_context().new_page()
    sign_in(page, "psychologist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Psychology").click()
    page.get_by_role("region", name="Results by cohort").get_by_role("link").first.click()
    page.get_by_label("Compare with norm group").select_option("sample:cadets:2024")
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as started:
        page.get_by_role("link", name="Download as Excel").click()
    download = started.value
    assert download.failure() is None and download.suggested_filename.startswith("test-results-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    workbook = load_workbook(saved)
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert about["Norm group"] == "Norm sample: cadets, intake 2024"
    assert workbook["Results"].max_row > 1
