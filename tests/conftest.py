"""Shared fixtures: the app on a migrated database holding the demo data, a database
rolled back after every test, a client, and ``login_as``.

The database is SQLite in a temporary folder by default; set ``TEST_DATABASE_URL``
to run the same suites on PostgreSQL (``make test`` does so with a throw-away
cluster it starts itself).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import select

from lms_plugin import create_app
from lms_plugin.core.people import User
from lms_plugin.extensions import db

# The demo data is loaded as if today were this day, so every date in it is fixed for tests.
TEST_TODAY = dt.date(2026, 11, 23)
DEMO_PASSWORD = "Mokymai-2026"


def _test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the session, its schema built by the migrations, the demo data loaded."""
    from flask_migrate import downgrade, upgrade

    from lms_plugin.demo_data import load_demo

    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _test_database_url(tmp_path_factory),
        "SECRET_KEY": "test-secret-key",
        "LOGIN_MAX_FAILURES": 5,
        # Messages built outside a request (operations, CLI) speak the default language: English in tests.
        "BABEL_DEFAULT_LOCALE": "en",
        # Jobs run inside the request that starts them (huey's immediate mode): no worker process.
        "JOBS_IMMEDIATE": True,
    })
    with application.app_context():
        downgrade(revision="base")  # a reused PostgreSQL database starts empty too
        upgrade()
        load_demo(db.session, TEST_TODAY)
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


class _ConnectionBoundSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session picks an engine per table; in tests every table uses the test's connection."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        return bind if bind is not None else self.bind


@pytest.fixture()
def database(app: Flask) -> Iterator[Any]:
    """Each test runs inside a transaction that is rolled back; commits become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session({"bind": connection, "join_transaction_mode": "create_savepoint",
                                              "class_": _ConnectionBoundSession})
        try:
            yield db
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class _FreshContextClient(FlaskClient):
    """Each request gets its own app context, ``g`` and session, as in production.

    The test itself holds an app context (for ``database.session``); without this,
    Flask would reuse it for every request and ``g`` would leak between requests.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        token = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture()
def client(app: Flask, database: Any) -> FlaskClient:
    """A browser that prefers English (the language switch test covers Lithuanian)."""
    app.test_client_class = _FreshContextClient
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture()
def user(database: Any) -> Callable[[str], User]:
    def find(username: str) -> User:
        found = database.session.scalar(select(User).where(User.username == username))
        assert found is not None, f"no demo user {username}"
        return found
    return find


@pytest.fixture()
def login_as(client: FlaskClient, user: Callable[[str], User]) -> Callable[[str], User]:
    """Sign in through the real form (CSRF token and all) as a demo user."""
    def sign_in(username: str) -> User:
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user(username)
    return sign_in


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from a form on ``path``."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_INPUT.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def freeze_service_day(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """Make the service's calendar day ``day``, in the clock and wherever ``today`` was imported by name."""
    import lms_plugin.core.clock as clock

    original, frozen = clock.today, lambda: day  # one function, so that a second freeze finds the first
    for name, module in list(sys.modules.items()):
        if name.startswith("lms_plugin.") and getattr(module, "today", None) is original:
            monkeypatch.setattr(module, "today", frozen)
    monkeypatch.setattr(clock, "today", frozen)


@pytest.fixture()
def freeze_today(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.date], None]:
    """Make the service's calendar day a given date, wherever it is read."""
    return lambda day: freeze_service_day(monkeypatch, day)


@pytest.fixture(autouse=True)
def _today_is_test_day(request: pytest.FixtureRequest) -> None:
    if "app" in request.fixturenames:
        request.getfixturevalue("freeze_today")(TEST_TODAY)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for every browser suite (Playwright's sync API allows one driver per thread)."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium fonts-dejavu-core",
                    pytrace=False)
    driver = sync_playwright().start()
    try:
        launched = driver.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        driver.stop()
