"""Signing in and out, throttling, CSRF and the language switch."""

from __future__ import annotations

from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.people.models import LoginAttempt
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


def test_sign_in_is_throttled_after_repeated_failures_even_with_the_right_password(client, app):
    token = csrf_token(client, "/login")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/login", data={"username": "cadet.02", "password": "nope-nope-nope",
                                           "csrf_token": token}).status_code == 401
    locked = client.post("/login", data={"username": "cadet.02", "password": DEMO_PASSWORD, "csrf_token": token})
    assert locked.status_code == 429
    assert client.get("/dashboard").status_code == 302


def test_sign_in_without_csrf_token_is_rejected(client, database):
    before = database.session.scalar(select(func.count(LoginAttempt.id)))
    response = client.post("/login", data={"username": "cadet.01", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302
    assert database.session.scalar(select(func.count(LoginAttempt.id))) == before


def test_open_redirect_after_sign_in_is_refused(client):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=https://evil.example/", data={
        "username": "cadet.01", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/dashboard")


def test_sign_in_is_audited_and_sign_out_needs_a_post(client, login_as, database):
    cadet = login_as("cadet.01")
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "auth.login", AuditEntry.actor_id == cadet.id)) == 1
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/dashboard")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
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

