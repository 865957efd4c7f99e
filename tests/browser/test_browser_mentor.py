"""Mentor: sees only his own cadets and signs off a logbook entry the cadet has just written."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from fixtures import read_yaml
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser


def _people() -> tuple[dict[str, str], list[str]]:
    """Full names by username, and the cadets placed with mentor.ona (who are not mentor.jonas's)."""
    people = read_yaml("people.yaml")
    names = {raw["username"]: raw["full_name"] for raw in people["users"]}
    jonas = {raw["cadet"] for raw in people["placements"] if raw["mentor"] == "mentor.jonas"}
    ona = sorted({raw["cadet"] for raw in people["placements"] if raw["mentor"] == "mentor.ona"} - jonas)
    return names, [names[username] for username in ona]


def test_mentor_signs_off_a_new_logbook_entry(new_context: Callable[..., BrowserContext],
                                              screenshot_dir: Path) -> None:
    names, ona_cadets = _people()
    assert ona_cadets, "the demo data should place some cadets with mentor.ona"
    marker = f"Escorted two inmates to the visits room and explained the rules on the way ({uuid.uuid4().hex[:8]})."
    feedback = "Calm, clear and respectful; next time also check the visitor list beforehand."
    yesterday = dt.datetime.now(ZoneInfo("Europe/Vilnius")).date() - dt.timedelta(days=1)

    # The cadet records a practice task.
    cadet = new_context().new_page()
    sign_in(cadet, "cadet.02")
    cadet.goto("/practice/entries/new")
    expect(cadet.get_by_role("heading", name="Record a practice task")).to_be_visible()
    task = cadet.get_by_label("Practice task", exact=True)
    task_label = task.locator("option").first.inner_text().strip()
    task.select_option(label=task_label)
    cadet.get_by_label("Date", exact=True).fill(yesterday.isoformat())
    cadet.get_by_label("Where", exact=True).fill("Vilniaus pataisos namai, 3 sektorius")
    cadet.get_by_label("What you did", exact=True).fill(marker)
    cadet.get_by_label("Reflection", exact=True).fill("I should have checked the visitor list first.")
    cadet.get_by_role("button", name="Save entry").click()
    expect(cadet).to_have_url(re.compile(r"/practice/$"))
    expect(cadet.get_by_text("Entry saved.")).to_be_visible()
    written = cadet.locator("article.entry", has_text=marker)
    expect(written).to_contain_text("Awaiting sign-off")

    # The mentor sees his cadets, and only his.
    mentor = new_context().new_page()
    sign_in(mentor, "mentor.jonas")
    cadets = mentor.get_by_role("table", name="Cadets placed with you")
    expect(cadets.get_by_role("link", name=names["cadet.01"], exact=True)).to_be_visible()
    expect(cadets.get_by_role("link", name=names["cadet.02"], exact=True)).to_be_visible()
    for other in ona_cadets:
        expect(mentor.get_by_text(other)).to_have_count(0)
    cadets.get_by_role("link", name=names["cadet.02"], exact=True).click()
    expect(mentor.get_by_role("heading", level=1, name=names["cadet.02"])).to_be_visible()

    entry = mentor.locator("article.entry", has_text=marker)
    expect(entry).to_contain_text("Awaiting sign-off")
    entry_id = (entry.get_attribute("id") or "").removeprefix("entry-")
    assert entry_id.isdigit()
    form = mentor.locator(f"form[action$='/entries/{entry_id}/signoff']")

    # "Not yet achieved" without feedback is refused, and nothing is signed.
    form.get_by_label("Not yet achieved", exact=True).check()
    form.get_by_label("Feedback to the cadet").fill("")
    form.get_by_role("button", name="Sign", exact=True).click()
    expect(form.locator(".error")).to_contain_text("feedback is required")
    expect(entry).to_contain_text("Awaiting sign-off")
    expect(entry).not_to_contain_text("signed by")
    mentor.screenshot(path=str(screenshot_dir / "mentor-signoff-refused.png"), full_page=True)

    # "Achieved" with feedback is signed; the form for this entry is gone.
    form.get_by_label("Achieved", exact=True).check()
    form.get_by_label("Feedback to the cadet").fill(feedback)
    form.get_by_role("button", name="Sign", exact=True).click()
    expect(mentor.get_by_text("Signed: ")).to_be_visible()
    expect(entry).to_contain_text(f"signed by {names['mentor.jonas']}")
    expect(entry).to_contain_text(feedback)
    expect(entry.locator(".signoff")).to_contain_text("Achieved")
    expect(form).to_have_count(0)
    mentor.screenshot(path=str(screenshot_dir / "mentor-cadet.png"), full_page=True)

    # The cadet sees the signature in the logbook.
    cadet.reload()
    expect(written).to_contain_text(f"signed by {names['mentor.jonas']}")
    expect(written).not_to_contain_text("Awaiting sign-off")
