"""Error pages: every status in the app's layout, in the person's language, with a way back; JSON for the API."""

from __future__ import annotations

import html
import logging
import re

import pytest
from flask import abort
from sqlalchemy import select, text

from lms_plugin.core.people import User
from lms_plugin.extensions import db
from tests.conftest import csrf_token

WORD = re.compile(r"[^\W\d_]{3,}")


def visible_words(page: str) -> set[str]:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return set(WORD.findall(html.unescape(re.sub(r"<[^>]+>", " ", body))))


def _fails_with(status: int):
    def view(*args, **kwargs):
        abort(status)
    return view


def _raises(*args, **kwargs):
    db.session.execute(text("UPDATE users SET full_name = 'Changed' WHERE username = 'cadet.07'"))
    raise RuntimeError("a bug in a view")


def _trigger(case: str, client, app, monkeypatch):
    """Make the request that ends in the case's status, as a signed-in cadet."""
    if case == "400":
        monkeypatch.setitem(app.view_functions, "main.dashboard", _fails_with(400))
        return client.get("/dashboard")
    if case == "400-csrf":
        return client.post("/language", data={"language": "en"})
    if case == "403":
        return client.get("/psychology/")
    if case == "404":
        return client.get("/no-such-page")
    if case == "404-static":
        return client.get("/static/no-such-file.css")
    if case == "405":
        return client.get("/logout")
    if case == "413":
        return client.post("/language", data={"language": "en", "padding": "x" * (9 * 1024 * 1024)})
    if case == "429":
        monkeypatch.setitem(app.view_functions, "main.dashboard", _fails_with(429))
        return client.get("/dashboard")
    if case == "500":
        monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
        monkeypatch.setitem(app.view_functions, "main.dashboard", _raises)
        return client.get("/dashboard")
    if case == "500-before-view":
        monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
        monkeypatch.setitem(app.before_request_funcs, None,
                            [*app.before_request_funcs.get(None, []), lambda: _raises()])
        return client.get("/dashboard")
    raise AssertionError(case)


CASES = {"400": 400, "400-csrf": 400, "403": 403, "404": 404, "404-static": 404, "405": 405, "413": 413,
         "429": 429, "500": 500, "500-before-view": 500}
TITLES = {
    "en": {400: "The request could not be understood", 403: "Not allowed", 404: "Not found",
           405: "This action is not possible here", 413: "Too large", 429: "Too many attempts",
           500: "Something went wrong on our side"},
    "lt": {400: "Užklausa nesuprantama", 403: "Prieiga neleidžiama", 404: "Puslapis nerastas", 405: "Čia to padaryti negalima",
           413: "Per didelė užklausa", 429: "Per daug bandymų", 500: "Mūsų pusėje įvyko klaida"},
}


@pytest.mark.parametrize("case", CASES)
def test_each_error_is_a_page_of_the_app_in_both_languages_with_a_way_back(client, login_as, app, monkeypatch,
                                                                             caplog, user, case):
    cadet = login_as("cadet.01")
    status = CASES[case]
    pages = {}
    for lang in ("en", "lt"):
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        with caplog.at_level(logging.ERROR, logger=app.logger.name):
            response = _trigger(case, client, app, monkeypatch)
        assert response.status_code == status, (case, lang)
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in page and 'href="/static/app.css"' in page  # the app's layout
        assert f"<h1>{TITLES[lang][status]}</h1>" in page
        assert 'href="/dashboard">' in page and cadet.full_name in page  # the way back, the person's header
        assert "Werkzeug" not in page and "The requested URL" not in page
        pages[lang] = page
    if status == 405:
        assert "POST" in response.headers["Allow"]
    if status == 500:
        assert any("a bug in a view" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
        assert user("cadet.07").full_name != "Changed"  # what the failed request wrote was rolled back
    english = visible_words(pages["en"]) - set(cadet.full_name.split())
    leaked = visible_words(pages["lt"]) & english - {"English"}
    assert not leaked, leaked


def test_an_unknown_address_for_a_visitor_is_lithuanian_by_default_and_leads_to_the_sign_in(client, app,
                                                                                           monkeypatch):
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "lt")  # the service's default (tests run in English)
    del client.environ_base["HTTP_ACCEPT_LANGUAGE"]
    response = client.get("/nowhere/at/all")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="lt">' in page and "<h1>Puslapis nerastas</h1>" in page
    assert 'href="/login">' in page


def test_the_way_back_is_the_previous_page_when_it_is_ours(client, login_as):
    login_as("cadet.01")
    ours = client.get("/no-such-page", headers={"Referer": "http://localhost/practice/"})
    assert 'href="http://localhost/practice/">' in ours.get_data(as_text=True)
    outside = client.get("/no-such-page", headers={"Referer": "https://evil.example/"}).get_data(as_text=True)
    assert "evil.example" not in outside and 'href="/dashboard">' in outside


def test_a_message_given_with_the_error_replaces_the_general_one(client, login_as, app, monkeypatch):
    login_as("cadet.01")

    def missing_cohort():
        abort(404, "There is no cohort 7.")
    monkeypatch.setitem(app.view_functions, "main.dashboard", missing_cohort)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "There is no cohort 7." in page and "There is no such page" not in page


def test_the_api_and_json_clients_get_json_errors(client, login_as, app, monkeypatch, database):
    login_as("cadet.01")
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.is_json and unknown.get_json()["error"] == "404"
    asked = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert asked.status_code == 404 and asked.is_json and asked.get_json()["message"]
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "api.save_answer", _raises)
    token = csrf_token(client, "/dashboard")
    failed = client.post("/api/sittings/1/answers", json={}, headers={"X-CSRFToken": token})
    assert failed.status_code == 500 and failed.is_json and failed.get_json()["error"] == "server_error"
    assert database.session.scalar(select(User.full_name).where(User.username == "cadet.07")) != "Changed"
