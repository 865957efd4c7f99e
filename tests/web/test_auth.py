"""Signing in and out, throttling, CSRF and the language switch."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.people.models import LoginAttempt, UserSession
from tests.conftest import DEMO_PASSWORD, csrf_token


def test_sign_in_with_the_right_password_opens_the_dashboard(client):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "cadet.01", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200


def test_wrong_password_is_refused_with_a_clear_message_and_recorded(client, database):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "cadet.01", "password": "wrong-password",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    attempts = database.session.scalars(select(LoginAttempt).where(LoginAttempt.username == "cadet.01")).all()
    assert [a.succeeded for a in attempts] == [False]


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    token = csrf_token(client, "/login")
    unknown = client.post("/login", data={"username": "nobody", "password": "x" * 12, "csrf_token": token})
    wrong = client.post("/login", data={"username": "cadet.01", "password": "x" * 12, "csrf_token": token})
    assert unknown.status_code == wrong.status_code == 401


def test_sign_in_without_csrf_token_is_rejected(client, database):
    before = database.session.scalar(select(func.count(LoginAttempt.id)))
    response = client.post("/login", data={"username": "cadet.01", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302
    assert database.session.scalar(select(func.count(LoginAttempt.id))) == before


FOREIGN_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "/%09/evil.example",  # a tab browsers drop: //evil.example
    "/%0a/x",  # a newline: once a 500 after signing the person in
    "/%0d%0a/evil.example",
    "/%5Cevil.example",  # a backslash browsers read as a slash
    "/%5C%5Cevil.example",
    "/%252F/evil.example",  # //evil.example once decoded again
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "%20//evil.example",
    "javascript:alert(1)",
    "/%E2%80%A8/evil.example",  # a Unicode line separator
    "evil.example",
]


@pytest.mark.parametrize("target", FOREIGN_NEXT)
def test_a_foreign_next_after_sign_in_goes_to_the_dashboard(client, target):
    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={target}", data={
        "username": "cadet.01", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize("target", ["/practice/", "/courses/modules/DS-101?tab=lessons#top", "/dashboard?q=a%20b"])
def test_a_local_next_after_sign_in_is_honoured(client, target):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target}, data={
        "username": "cadet.01", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_the_language_switch_sends_nobody_away_either(client):
    token = csrf_token(client, "/login")
    response = client.post("/language", data={"language": "en", "csrf_token": token, "next": "/\t/evil.example"})
    assert response.headers["Location"] == "/dashboard"


def test_sign_in_is_audited_and_sign_out_needs_a_post(client, login_as, database):
    cadet = login_as("cadet.01")
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "auth.login", AuditEntry.actor_id == cadet.id)) == 1
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/dashboard")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard").status_code == 302
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "auth.logout", AuditEntry.actor_id == cadet.id)) == 1


def _signed_in_client(app, username: str, password: str = DEMO_PASSWORD):
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(other, "/login")
    assert other.post("/login", data={"username": username, "password": password,
                                      "csrf_token": token}).status_code == 302
    return other


def test_a_cookie_captured_before_sign_out_no_longer_works(app, client, login_as, database):
    cadet = login_as("cadet.01")
    token = csrf_token(client, "/account/password")
    captured = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", captured)
    reading = replay.get("/dashboard")
    assert reading.status_code == 302 and "/login" in reading.headers["Location"]
    writing = replay.post("/account/password", data={
        "csrf_token": token, "current_password": DEMO_PASSWORD,
        "new_password": "Saulėta-Pieva-4812", "new_password_again": "Saulėta-Pieva-4812"})
    assert writing.status_code == 302 and "/login" in writing.headers["Location"]
    database.session.expire_all()
    assert cadet.check_password(DEMO_PASSWORD)
    assert replay.post("/api/sittings/1/answers", json={"item_id": "x", "value": "1"},
                       headers={"X-CSRFToken": token}).status_code == 401
    assert database.session.scalar(select(UserSession.revoked_reason).where(
        UserSession.user_id == cadet.id).order_by(UserSession.id.desc())) == "signed_out"


def test_signing_out_ends_only_that_session(app, client, login_as):
    login_as("cadet.01")
    elsewhere = _signed_in_client(app, "cadet.01")
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")}).status_code == 302
    assert elsewhere.get("/dashboard").status_code == 200


def test_the_session_cookie_carries_no_reusable_user_id_alone(app, client, login_as):
    """A cookie forged from another with the session id removed (Flask-Login's user id only) is refused."""
    login_as("cadet.01")
    with client.session_transaction() as cookie_session:
        cookie_session.pop("sid")
    assert client.get("/dashboard").status_code == 302


def test_language_switch_changes_the_page_language(client, login_as):
    login_as("cadet.01")
    token = csrf_token(client, "/dashboard")
    client.post("/language", data={"language": "en", "csrf_token": token, "next": "/dashboard"})
    english = client.get("/dashboard").get_data(as_text=True)
    assert 'lang="en"' in english and "Assigned tests" in english
    client.post("/language", data={"language": "lt", "csrf_token": token, "next": "/dashboard"})
    lithuanian = client.get("/dashboard").get_data(as_text=True)
    assert 'lang="lt"' in lithuanian and "Priskirti testai" in lithuanian


def test_a_session_ends_after_its_maximum_age_whatever_the_cookie_says(app, client, login_as, monkeypatch):
    import datetime as dt

    from lms_plugin.core.base import utcnow

    login_as("cadet.01")
    assert client.get("/dashboard").status_code == 200
    later = utcnow() + dt.timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    monkeypatch.setattr("lms_plugin.people.sessions.utcnow", lambda: later)
    assert client.get("/dashboard").status_code == 302
