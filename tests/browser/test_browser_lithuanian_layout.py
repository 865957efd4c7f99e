"""Each role's main pages in Lithuanian, on a 375 px phone and a 1280 px desktop: nothing scrolls
sideways, a table wider than the screen says so, and no English catalogue phrase is left on the page."""

from __future__ import annotations

import re
from typing import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import DEMO_PASSWORD, page_widths
from tests.untranslated import english_on_page

pytestmark = pytest.mark.browser

WIDTHS = (375, 1280)


def sign_in_lithuanian(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("html")).to_have_attribute("lang", "lt")


def first_link(page: Page, path: str, pattern: str) -> str:
    """The first link on ``path`` whose address matches ``pattern`` (so ids come from the demo, not from here)."""
    page.goto(path)
    for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
        if re.fullmatch(pattern, href or ""):
            return str(href)
    raise AssertionError(f"no link matching {pattern} on {path}")


def role_pages(page: Page, username: str) -> list[str]:
    if username == "cadet.01":
        return ["/dashboard", "/practice/", "/courses/modules/DS-101",
                first_link(page, "/dashboard", r"/people/\d+/competencies")]
    if username == "mentor.jonas":
        cadet = first_link(page, "/dashboard", r"/cadets/\d+")
        return ["/dashboard", "/mentoring/queue", cadet, f"{cadet}/timeline"]
    if username == "admin":
        assignment = first_link(page, "/tests/admin/", r"/tests/admin/assignments/\d+")
        version = first_link(page, "/framework/", r"/framework/\d+")
        return ["/dashboard", "/units/", "/units/mentors", "/units/placements", "/units/placements/new",
                "/tests/admin/", assignment, first_link(page, assignment, r"/tests/admin/sittings/\d+/reopen"),
                "/framework/", version, f"{version}/policy", f"{version}/roles",
                first_link(page, "/dashboard", r"/cohorts/\d+")]
    if username == "assessor":
        return ["/dashboard", "/progression/"]
    return ["/dashboard", "/psychology/", first_link(page, "/psychology/", r"/psychology/instruments/\d+/items")]


def hidden_columns_without_a_hint(page: Page) -> list[str]:
    """Tables that scroll inside their box but have no visible note saying so."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.table-wrap'))
        .filter(box => box.scrollWidth > box.clientWidth + 1)
        .filter(box => {
            const note = box.previousElementSibling;
            return !(note && note.classList.contains('scroll-hint') && note.offsetParent !== null);
        })
        .map(box => (box.querySelector('caption') || box).textContent.trim().slice(0, 60))""")


@pytest.mark.parametrize("username", ["cadet.01", "mentor.jonas", "admin", "assessor", "psychologist"])
def test_main_pages_fit_the_screen_and_speak_lithuanian(new_context: Callable[..., BrowserContext],
                                                        username: str) -> None:
    context = new_context(locale="lt-LT", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_lithuanian(page, username)
    paths = role_pages(page, username)
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            scroll, inner = page_widths(page)
            if scroll > inner:
                problems.append(f"{path} at {width} px scrolls sideways ({scroll} > {inner})")
            for table in hidden_columns_without_a_hint(page):
                problems.append(f"{path} at {width} px: table '{table}' hides columns without a hint")
            english = english_on_page(page.locator("body").inner_text())
            if english:
                problems.append(f"{path}: English on a Lithuanian page: {english}")
    assert not problems, "\n".join(problems)
