"""The production server on a fresh demo database, and Debian's chromium driven by Playwright.

The session builds a new SQLite database in a temporary folder with the same commands an
operator runs (``flask db upgrade``, ``flask demo load``), serves it with ``waitress-serve``
on a free port, and stops the server at the end. Nothing here touches the ``app`` fixture of
the root conftest: these tests talk to the server over HTTP only, as a browser does.

Set ``BROWSER_SCREENSHOTS=/some/dir`` to keep the screenshots the tests take (and the ones
taken when a test fails); otherwise they go to a pytest temporary folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT_MS = 10_000
SERVER_START_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 300



def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _flask(env: dict[str, str], *args: str) -> None:
    command = [str(BIN / "flask"), "--app", "lms_plugin", *args]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        pytest.fail(f"`flask {' '.join(args)}` failed ({done.returncode}):\n{_tail(done.stdout)}\n{_tail(done.stderr)}",
                    pytrace=False)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``waitress-serve`` on a freshly migrated database holding the demo data."""
    folder = tmp_path_factory.mktemp("browser-server")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    env.update({
        "DATABASE_URL": f"sqlite:///{folder / 'browser.sqlite3'}",
        "SECRET_KEY": "browser-tests-secret-key",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("TEST_DATABASE_URL", None)
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "load")

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = folder / "waitress.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(BIN / "waitress-serve"), "--host", "127.0.0.1", "--port", str(port), "--threads", "8",
             "--call", "lms_plugin:create_app"],
            cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while not _healthy(f"{base_url}/healthz"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"waitress did not answer /healthz (exit code {process.poll()}):\n"
                                f"{_tail(log_path.read_text(encoding='utf-8'))}", pytrace=False)
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("BROWSER_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class PageProblems:
    """Uncaught script errors and console errors (CSP violations included) seen in a context."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def console(self, message: Any) -> None:
        # A page we expect to answer 4xx (a form with errors) logs "Failed to load resource": not a problem.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.messages.append(f"console: {message.text} ({message.location.get('url', '')})")

    def web_error(self, error: Any) -> None:
        self.messages.append(f"uncaught: {error.error}")


@pytest.fixture()
def new_context(browser: Browser, server: str, screenshot_dir: Path,
                request: pytest.FixtureRequest) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts that prefer English and talk to the test server; closed after the test."""
    contexts: list[BrowserContext] = []
    problems = PageProblems()
    expect.set_options(timeout=TIMEOUT_MS)

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {"base_url": server, "locale": "en-GB", "accept_downloads": True}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("console", problems.console)
        context.on("weberror", problems.web_error)
        contexts.append(context)
        return context

    yield make

    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for c_index, context in enumerate(contexts):
            for p_index, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(screenshot_dir / f"FAILED-{name}-{c_index}-{p_index}.png"), full_page=True)
                except Exception:  # the page may be gone; the failure itself is what matters
                    pass
    for context in contexts:
        context.close()
    assert not problems.messages, "errors in the browser:\n" + "\n".join(problems.messages)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
