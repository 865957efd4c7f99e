"""The student view's JavaScript in a real browser: the workbench served by a live WSGI server
in this process, driven by Playwright on Debian's chromium, at a phone-sized viewport.
"""

from __future__ import annotations

import threading
import uuid

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("workbench_client")]



@pytest.fixture(scope="module")
def live_server(workbench_db):
    """The workbench (with its static files) on a free local port, for the module."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):  # keep request lines out of the test output
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def page(live_server, browser):
    # Not is_mobile: the workbench page has no <meta name="viewport">, so mobile emulation
    # would lay it out 980 px wide. A 360 px desktop viewport lays it out at phone width.
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
    assert errors == [], errors


def test_a_learner_answers_resumes_and_submits_on_a_phone(page, live_server):
    student = f"phone-{uuid.uuid4().hex[:8]}"
    url = f"{live_server}/scenario/psychometric_test.0/?student={student}"
    page.goto(url)
    block = page.locator(".pt-block")
    item = block.locator(".pt-item:visible")
    assert item.count() == 1
    assert "Klausimas 1 iš 7" in item.locator("legend").inner_text()

    # The block fits the phone: nothing in it is wider than the viewport or than itself.
    width, scroll_width = page.evaluate(
        "[document.querySelector('.pt-block').getBoundingClientRect().width,"
        " document.querySelector('.pt-block').scrollWidth]")
    assert width <= 360 and scroll_width <= width + 1

    # Choose by label (a tap), see it saved and counted.
    page.get_by_label("Ramus ir dėmesingas klausymasis").check()
    page.get_by_text("Atsakymas išsaugotas.").wait_for()
    assert block.locator(".pt-progress-label").inner_text() == "Atsakyta 1 iš 7"

    # Next moves one item on and puts focus on it; Previous is then enabled.
    page.get_by_role("button", name="Kitas").click()
    assert "Klausimas 2 iš 7" in item.locator("legend").inner_text()
    assert page.evaluate("document.activeElement.dataset.item") == "k2"
    assert block.locator(".pt-previous").is_enabled()

    # Keyboard only: Tab into the radio group, arrow to the second option (arrows select radios).
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.get_by_text("Atsakymas išsaugotas.").wait_for()
    assert page.get_by_label("Sienomis ir spynomis").is_checked()
    page.wait_for_function("document.querySelector('.pt-progress-bar').value === 2")

    # Leave and come back: the same item, the same answers.
    page.reload()
    assert "Klausimas 2 iš 7" in block.locator(".pt-item:visible legend").inner_text()
    assert page.get_by_label("Sienomis ir spynomis").is_checked()
    assert block.locator(".pt-progress-label").inner_text() == "Atsakyta 2 iš 7"

    # To the last item, then review: the unanswered ones are listed as links back.
    for _ in range(5):
        page.get_by_role("button", name="Kitas").click()
    assert "Klausimas 7 iš 7" in block.locator(".pt-item:visible legend").inner_text()
    page.get_by_role("button", name="Peržiūrėti ir pateikti").click()
    review = block.locator(".pt-review")
    assert review.is_visible()
    assert review.locator(".pt-unanswered button").all_inner_texts() == ["3", "4", "5", "6", "7"]
    review.get_by_role("button", name="Klausimas 3 iš 7").click()
    assert "Klausimas 3 iš 7" in block.locator(".pt-item:visible legend").inner_text()
    block.locator(".pt-item:visible").get_by_label("Visiškai sutinku").check()
    page.get_by_text("Atsakymas išsaugotas.").wait_for()

    # Submit: the questions give way to the results with percent bars.
    for _ in range(4):
        page.get_by_role("button", name="Kitas").click()
    page.get_by_role("button", name="Peržiūrėti ir pateikti").click()
    page.get_by_role("button", name="Pateikti atsakymus").click()
    page.get_by_text("Jūsų atsakymai pateikti.").wait_for()
    assert block.locator(".pt-item").count() == 0
    bars = block.locator(".pt-bar-row")
    assert bars.count() == 3
    assert "Žinios" in bars.nth(0).inner_text() and "50 %" in bars.nth(0).inner_text()
    assert "Neįvertinta" in bars.nth(1).inner_text() or "Neįvertinta" in bars.nth(2).inner_text()
    assert page.evaluate("document.activeElement.classList.contains('pt-results')")

    page.reload()
    assert block.locator(".pt-results").is_visible() and block.locator(".pt-item").count() == 0


def test_a_refused_answer_is_reported_and_the_choice_rolled_back(page, live_server):
    """If the server refuses a choice (here: the test was submitted in another tab), the learner
    sees why and the radios show what is really stored."""
    student = f"tabs-{uuid.uuid4().hex[:8]}"
    page.goto(f"{live_server}/scenario/psychometric_test.1/?student={student}")
    page.get_by_label("Calm, specific listening").check()
    page.get_by_text("Answer saved.").wait_for()

    second = page.context.new_page()
    second.goto(page.url)
    second.get_by_role("button", name="Next").click()
    for _ in range(5):
        second.get_by_role("button", name="Next").click()
    second.get_by_role("button", name="Review and submit").click()
    second.get_by_role("button", name="Submit answers").click()
    second.get_by_text("The Training Centre will discuss your results with you.").wait_for()

    page.get_by_label("Raising your voice").check()
    page.get_by_text("This test has already been submitted; answers can no longer change.").wait_for()
    assert page.get_by_label("Calm, specific listening").is_checked()
    assert not page.get_by_label("Raising your voice").is_checked()
