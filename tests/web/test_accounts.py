"""Accounts: the password rule, changing one's own password, and what an administrator does to an
account (disable, enable, a new password); each ends the sessions it should."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Role
from lms_plugin.people.operations import create_user
from lms_plugin.people.passwords import password_problem
from tests.conftest import DEMO_PASSWORD, csrf_token

STRONG = "Saulėta-Pieva-4812"
# The four passwords once accepted by a length rule alone, with the username (mentor.jonas) among them.
WEAK = ["aaaaaaaaaaaa", "password1234", "mentor.jonas", " " * 12]


def _client_signed_in(app, username: str, password: str = DEMO_PASSWORD):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(browser, "/login")
    response = browser.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def _audited(database, action: str) -> int:
    return database.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


@pytest.mark.parametrize("password", WEAK)
def test_the_reported_weak_passwords_are_refused_with_a_reason(password):
    problem = password_problem(password, username="mentor.jonas", full_name="Jonas Kazlauskas")
    assert problem is not None and str(problem)


@pytest.mark.parametrize(("password", "reason"), [
    ("aaaaaaaaaaaa", "repeated characters"), ("password1234", "common or leaked"),
    ("mentor.jonas", "your name or username"), ("Kazlauskas-Jonas-1", "your name or username"),
    (" " * 12, "only spaces"), ("Password-2024!", "common or leaked"), ("short-1", "at least 10"),
    ("a" * 256, "repeated characters")])
def test_the_reason_names_what_is_wrong(password, reason):
    assert reason in str(password_problem(password, username="mentor.jonas", full_name="Jonas Kazlauskas"))


@pytest.mark.parametrize("password", [STRONG, DEMO_PASSWORD, "correct horse battery staple",
                                      "Saulėta pieva prie Neries, kur ganosi trys baltos ožkos " * 4])
def test_strong_passwords_pass(password):
    assert password_problem(password, username="mentor.jonas", full_name="Jonas Kazlauskas") is None


@pytest.mark.parametrize("password", WEAK)
def test_create_user_refuses_weak_passwords(database, password):
    with pytest.raises(OperationError) as refused:
        create_user(database.session, username="mentor.jonas2", full_name="Jonas Kazlauskas", role=Role.MENTOR,
                    password=password.replace("mentor.jonas", "mentor.jonas2"))
    assert refused.value.field == "password"


def test_flask_users_create_refuses_a_common_password_and_takes_a_strong_one(app, database):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["users", "create", "new.cadet", "--name", "Naujas Kursantas", "--role", "cadet",
                                  "--password", "password1234"])
    assert refused.exit_code != 0 and "common or leaked" in refused.output
    created = runner.invoke(args=["users", "create", "new.cadet", "--name", "Naujas Kursantas", "--role", "cadet",
                                  "--password", STRONG])
    assert created.exit_code == 0, created.output


def test_changing_my_password_ends_my_other_sessions_and_keeps_this_one(app, client, login_as, database):
    cadet = login_as("cadet.07")
    elsewhere = _client_signed_in(app, "cadet.07")
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={
        "csrf_token": token, "current_password": DEMO_PASSWORD,
        "new_password": STRONG, "new_password_again": STRONG})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this session goes on, under a new id
    assert elsewhere.get("/dashboard").status_code == 302
    database.session.expire_all()
    assert cadet.check_password(STRONG)
    changed = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "people.password_changed"))
    assert (changed.actor_id, changed.object_type, changed.object_id) == (cadet.id, "User", str(cadet.id))
    assert changed.details["sessions_ended"] == 2
    _client_signed_in(app, "cadet.07", STRONG)


@pytest.mark.parametrize(("fields", "message"), [
    ({"current_password": "not-my-password", "new_password": STRONG, "new_password_again": STRONG},
     "current password is wrong"),
    ({"current_password": DEMO_PASSWORD, "new_password": STRONG, "new_password_again": STRONG + "x"},
     "two new passwords differ"),
    ({"current_password": DEMO_PASSWORD, "new_password": "password1234", "new_password_again": "password1234"},
     "common or leaked"),
    ({"current_password": DEMO_PASSWORD, "new_password": "cadet.07cadet.07", "new_password_again": "cadet.07cadet.07"},
     "your name or username"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(app, client, login_as, database, fields, message):
    cadet = login_as("cadet.07")
    elsewhere = _client_signed_in(app, "cadet.07")
    token = csrf_token(client, "/account/password")
    response = client.post("/account/password", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    database.session.expire_all()
    assert cadet.check_password(DEMO_PASSWORD)
    assert elsewhere.get("/dashboard").status_code == 200


def test_an_admin_disabling_an_account_ends_its_sessions_and_sign_in(app, client, login_as, user, database):
    cadet = user("cadet.07")
    cadets_browser = _client_signed_in(app, "cadet.07")
    login_as("admin")
    token = csrf_token(client, "/accounts/")
    assert client.post(f"/accounts/{cadet.id}/disable", data={"csrf_token": token}).status_code == 302
    assert cadets_browser.get("/dashboard").status_code == 302
    again = cadets_browser.post("/login", data={"username": "cadet.07", "password": DEMO_PASSWORD,
                                                "csrf_token": csrf_token(cadets_browser, "/login")})
    assert again.status_code == 401
    assert _audited(database, "people.account_disabled") == 1

    assert client.post(f"/accounts/{cadet.id}/enable", data={"csrf_token": token}).status_code == 302
    assert _audited(database, "people.account_enabled") == 1
    _client_signed_in(app, "cadet.07")


def test_an_admin_cannot_disable_their_own_account(client, login_as, database):
    admin = login_as("admin")
    token = csrf_token(client, "/accounts/")
    client.post(f"/accounts/{admin.id}/disable", data={"csrf_token": token})
    assert "cannot disable your own account" in client.get("/accounts/").get_data(as_text=True)
    database.session.expire_all()
    assert admin.active


def test_an_admin_sets_a_new_password_which_ends_the_persons_sessions(app, client, login_as, user, database):
    cadet = user("cadet.07")
    cadets_browser = _client_signed_in(app, "cadet.07")
    login_as("admin")
    token = csrf_token(client, f"/accounts/{cadet.id}/password")
    weak = client.post(f"/accounts/{cadet.id}/password", data={
        "csrf_token": token, "new_password": "aaaaaaaaaaaa", "new_password_again": "aaaaaaaaaaaa"})
    assert weak.status_code == 400 and "repeated characters" in weak.get_data(as_text=True)
    assert cadets_browser.get("/dashboard").status_code == 200
    done = client.post(f"/accounts/{cadet.id}/password", data={
        "csrf_token": token, "new_password": STRONG, "new_password_again": STRONG})
    assert done.status_code == 302
    assert cadets_browser.get("/dashboard").status_code == 302
    assert _audited(database, "people.password_reset") == 1
    _client_signed_in(app, "cadet.07", STRONG)


def test_the_accounts_page_lists_accounts_in_lithuanian(client, login_as):
    login_as("admin")
    token = csrf_token(client, "/dashboard")
    client.post("/language", data={"language": "lt", "csrf_token": token, "next": "/accounts/"})
    page = client.get("/accounts/").get_data(as_text=True)
    assert "Paskyros" in page and "cadet.07" in page and "Išjungti" in page
