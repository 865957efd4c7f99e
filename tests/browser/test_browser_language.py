"""The language switch in the page header: Lithuanian and back to English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import BrowserContext, expect

from lms_plugin.instruments import instrument_definition
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

CATALOGUE = Path(__file__).resolve().parents[2] / "lms_plugin" / "translations" / "lt" / "LC_MESSAGES"


def _lithuanian(msgid: str) -> str:
    if not (CATALOGUE / "messages.mo").exists():
        pytest.fail("the Lithuanian catalogue is not compiled: run `make translations`", pytrace=False)
    with (CATALOGUE / "messages.po").open("rb") as handle:
        message = read_po(handle, locale="lt").get(msgid)
    assert message is not None and message.string, f"no Lithuanian translation of {msgid!r}"
    return str(message.string)


def test_switch_to_lithuanian_and_back(new_context: Callable[..., BrowserContext]) -> None:
    title = instrument_definition("staff_competence")
    page = new_context().new_page()
    sign_in(page, "cadet.03")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")  # the browser asks for English (en-GB)
    expect(page.get_by_role("heading", name="Assigned tests")).to_be_visible()
    expect(page.get_by_text(title["title_en"])).to_be_visible()

    page.get_by_role("button", name="Lietuvių").click()
    expect(page).to_have_url(re.compile(r"/dashboard\??$"))
    expect(page.locator("html[lang=lt]")).to_have_count(1)
    expect(page.get_by_role("button", name="English")).to_be_visible()
    expect(page.get_by_role("heading", name=_lithuanian("Assigned tests"))).to_be_visible()
    expect(page.get_by_text(title["title_lt"])).to_be_visible()  # content from the database, too

    page.goto("/practice/")  # the choice is remembered for the session, over the browser's preference
    expect(page.locator("html[lang=lt]")).to_have_count(1)

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/practice/\??$"))
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Lietuvių")).to_be_visible()
