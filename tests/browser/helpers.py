"""Small steps shared by the browser journeys."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

DEMO_PASSWORD = "Mokymai-2026"


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, as a person would, and land on the dashboard."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def page_widths(page: Page) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the page, for an assertion that nothing overflows sideways.

    Measured after the load event: before the stylesheet applies, a busy machine can lay
    tables out unstyled and wider than the screen.
    """
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    for _ in range(10):  # a persistent overflow still fails; a layout still settling gets 2 s
        width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        if width <= inner:
            break
        page.wait_for_timeout(200)
    return int(width), int(inner)
