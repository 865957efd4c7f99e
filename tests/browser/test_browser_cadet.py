"""Cadet: take the staff competence test in a real browser — autosave, keyboard, resume, results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from lms_plugin.instruments import instrument_definition
from psychometrics.instrument import Instrument, Item, load_instrument, localise
from tests.browser.helpers import page_widths, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def instrument() -> Instrument:
    return load_instrument(instrument_definition("staff_competence"))


def _autosave(sitting_id: int) -> Callable[[Response], bool]:
    pattern = re.compile(rf"/api/sittings/{sitting_id}/answers$")
    return lambda response: response.request.method == "POST" and bool(pattern.search(response.url))


def _saved(response: Response, item: Item, key: str) -> dict[str, Any]:
    assert response.status == 200, response.text()
    body = response.json()
    assert body["saved"] is True and body["item_id"] == item.id and body["value"] == key
    return body


def _current_item(page: Page, instrument: Instrument) -> Item:
    return instrument.item(page.locator("input[name=item_id]").input_value())


def _option(page: Page, item: Item, index: int) -> Any:
    return page.get_by_role("radio", name=localise(item.options[index].text, "en"), exact=True)


def _focused(page: Page) -> dict[str, str]:
    return page.evaluate("({tag: document.activeElement.tagName, name: document.activeElement.name || '',"
                         " value: document.activeElement.value || ''})")


def _tab_to(page: Page, wanted: Callable[[dict[str, str]], bool], limit: int = 25) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted(_focused(page)):
            return
    raise AssertionError(f"Tab never reached the wanted control; focus is on {_focused(page)}")


def _start_test(page: Page) -> int:
    tests = page.get_by_role("region", name="Assigned tests")
    tests.get_by_role("link", name="Start", exact=True).click()
    page.get_by_role("button", name="Start the test").click()
    expect(page).to_have_url(re.compile(r"/sittings/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_cadet_takes_the_test_with_autosave_keyboard_resume_and_results(
        new_context: Callable[..., BrowserContext], instrument: Instrument, screenshot_dir: Path) -> None:
    context = new_context()
    page = context.new_page()
    sign_in(page, "cadet.01")
    expect(page.get_by_role("heading", name="Assigned tests")).to_be_visible()
    sitting_id = _start_test(page)
    total = len(instrument.items)
    status = page.locator(".autosave-status")

    # Question 1: a click; the page's script saves the answer at once.
    expect(page.get_by_text(f"Question 1 of {total}")).to_be_visible()
    first = _current_item(page, instrument)
    with page.expect_response(_autosave(sitting_id)) as saved:
        _option(page, first, 0).check()
    _saved(saved.value, first, first.options[0].key)
    expect(status).to_have_text("Answer saved.")
    page.get_by_role("button", name="Save and next").click()

    # Question 2: the keyboard only — Tab into the options, Space to choose, an arrow key to change, Enter.
    expect(page.get_by_text(f"Question 2 of {total}")).to_be_visible()
    second = _current_item(page, instrument)
    _tab_to(page, lambda focus: focus["name"] == "answer")
    with page.expect_response(_autosave(sitting_id)) as saved:
        page.keyboard.press("Space")
    _saved(saved.value, second, second.options[0].key)
    with page.expect_response(_autosave(sitting_id)) as saved:
        page.keyboard.press("ArrowDown")
    _saved(saved.value, second, second.options[1].key)
    expect(_option(page, second, 1)).to_be_checked()
    expect(status).to_have_text("Answer saved.")
    _tab_to(page, lambda focus: focus["tag"] == "BUTTON" and focus["value"] == "next")
    page.keyboard.press("Enter")

    # Question 3: answered (and autosaved), then the tab is closed without pressing anything.
    expect(page.get_by_text(f"Question 3 of {total}")).to_be_visible()
    third = _current_item(page, instrument)
    with page.expect_response(_autosave(sitting_id)) as saved:
        _option(page, third, 2).check()
    body = _saved(saved.value, third, third.options[2].key)
    assert body["answered"] == 3
    page.close()

    # Back in a new tab: the dashboard offers to continue, and the test resumes at question 3.
    page = context.new_page()
    page.goto("/dashboard")
    tests = page.get_by_role("region", name="Assigned tests")
    expect(tests.get_by_text("In progress")).to_be_visible()
    tests.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/sittings/{sitting_id}$"))
    expect(page.get_by_text(f"Question 3 of {total}")).to_be_visible()
    assert _current_item(page, instrument) == third
    expect(_option(page, third, 2)).to_be_checked()
    expect(page.get_by_text("3 answered")).to_be_visible()
    page.get_by_role("button", name="Previous").click()
    expect(page.get_by_text(f"Question 2 of {total}")).to_be_visible()
    expect(_option(page, second, 1)).to_be_checked()  # the keyboard answer was kept
    expect(_option(page, second, 0)).not_to_be_checked()

    # The rest through the JSON API the page's script uses (same session, CSRF token in the header).
    token = page.locator("input[name=csrf_token]").first.input_value()
    for item in instrument.items:
        if item.id in (first.id, second.id, third.id):
            continue
        response = page.request.post(f"/api/sittings/{sitting_id}/answers",
                                     headers={"X-CSRFToken": token, "Content-Type": "application/json"},
                                     data=json.dumps({"item_id": item.id, "value": item.options[-1].key}))
        assert response.ok, response.text()

    page.get_by_role("button", name="Review answers").click()
    expect(page).to_have_url(re.compile(rf"/sittings/{sitting_id}/review$"))
    expect(page.get_by_text(f"You have answered {total} of {total} questions.")).to_be_visible()
    expect(page.get_by_text("Not yet answered:")).to_have_count(0)
    page.get_by_role("button", name="Submit the test").click()

    # Results: the chart really loads, and each of the four subscales has a row with a band.
    expect(page).to_have_url(re.compile(rf"/sittings/{sitting_id}/results$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("results")
    chart = page.get_by_role("img", name=re.compile("Chart of your subscale results"))
    expect(chart).to_be_visible()
    page.wait_for_function("() => { const img = document.querySelector('figure img');"
                           " return img && img.complete && img.naturalWidth > 0; }")
    assert chart.evaluate("img => img.naturalWidth") > 0
    band_titles = {localise(band.title, "en") for band in instrument.bands}
    assert len(instrument.subscales) == 4
    for subscale in instrument.subscales:
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=localise(subscale.title, "en"),
                                                                  exact=True))
        expect(row).to_have_count(1)
        assert row.get_by_role("cell").first.inner_text().strip() in band_titles
    page.screenshot(path=str(screenshot_dir / "cadet-results.png"), full_page=True)

    # The dashboard now shows the test as submitted; a submitted sitting cannot be reopened.
    page.goto("/dashboard")
    tests = page.get_by_role("region", name="Assigned tests")
    expect(tests.get_by_text("Submitted")).to_be_visible()
    expect(tests.get_by_role("link", name="See your results")).to_be_visible()
    page.goto(f"/sittings/{sitting_id}")
    expect(page).to_have_url(re.compile(rf"/sittings/{sitting_id}/results$"))


def test_a_question_fits_a_phone_screen(new_context: Callable[..., BrowserContext], instrument: Instrument,
                                        screenshot_dir: Path) -> None:
    context = new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    sign_in(page, "cadet.04")
    width, inner = page_widths(page)
    assert width <= inner, f"the dashboard scrolls sideways on a phone: {width} > {inner}"
    sitting_id = _start_test(page)
    expect(page.get_by_text(f"Question 1 of {len(instrument.items)}")).to_be_visible()
    width, inner = page_widths(page)
    assert inner == PHONE["width"]
    assert width <= inner, f"the question page scrolls sideways on a phone: {width} > {inner}"
    # Tapping an option's label chooses it and saves it.
    item = _current_item(page, instrument)
    with page.expect_response(_autosave(sitting_id)) as saved:
        page.locator("label.option").nth(1).tap()
    _saved(saved.value, item, item.options[1].key)
    page.screenshot(path=str(screenshot_dir / "cadet-question-phone.png"), full_page=True)
