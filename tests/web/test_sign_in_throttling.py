"""Sign-in throttling: progressive delays per account at an address and per address, never a lock-out;
an administrator lifts a delay; a sustained guessing run is held to a bounded rate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import utcnow
from lms_plugin.people import throttling
from tests.conftest import DEMO_PASSWORD, csrf_token

ATTACKER = "203.0.113.9"
NAT = "198.51.100.20"


def _attempt(client, username: str, password: str, address: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _later(monkeypatch, seconds: float) -> None:
    moment = utcnow() + dt.timedelta(seconds=seconds)
    monkeypatch.setattr("lms_plugin.people.views.utcnow", lambda: moment)


def test_past_the_free_failures_the_account_at_that_address_waits_but_is_not_locked(app, client, monkeypatch):
    free = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(free):
        assert _attempt(client, "cadet.02", "nope-nope-nope", ATTACKER).status_code == 401
    assert _attempt(client, "cadet.02", "nope-nope-nope", ATTACKER).status_code == 401  # the first that costs a wait
    waiting = _attempt(client, "cadet.02", DEMO_PASSWORD, ATTACKER)
    assert waiting.status_code == 429
    assert 0 < int(waiting.headers["Retry-After"]) <= app.config["LOGIN_MAX_DELAY_SECONDS"]
    assert "Wait" in waiting.get_data(as_text=True)

    # The same person from anywhere else, and anyone else from the same address, sign in at once.
    assert _attempt(app.test_client(), "cadet.02", DEMO_PASSWORD, NAT).status_code == 302
    assert _attempt(app.test_client(), "cadet.03", DEMO_PASSWORD, ATTACKER).status_code == 302

    # After the wait, the right password from the attacker's address works too: nothing stays locked.
    _later(monkeypatch, int(waiting.headers["Retry-After"]) + 1)
    assert _attempt(client, "cadet.02", DEMO_PASSWORD, ATTACKER).status_code == 302


def test_failures_from_a_shared_address_delay_it_only_for_a_bounded_time(app, client, monkeypatch):
    free = app.config["LOGIN_MAX_FAILURES"] * throttling.ADDRESS_FACTOR
    usernames = [f"cadet.{n:02d}" for n in range(2, 12)]
    for attempt in range(free + 1):  # spread over accounts, so no account key waits first
        assert _attempt(client, usernames[attempt % len(usernames)], "nope-nope-nope", NAT).status_code == 401
    waiting = _attempt(app.test_client(), "cadet.01", DEMO_PASSWORD, NAT)
    assert waiting.status_code == 429
    assert int(waiting.headers["Retry-After"]) <= app.config["LOGIN_MAX_DELAY_SECONDS"]
    _later(monkeypatch, app.config["LOGIN_MAX_DELAY_SECONDS"] + 1)
    assert _attempt(app.test_client(), "cadet.01", DEMO_PASSWORD, NAT).status_code == 302


def test_an_administrator_lifts_a_delay_and_both_are_audited(app, client, login_as, user, database):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        _attempt(client, "cadet.02", "nope-nope-nope", ATTACKER)
    assert _attempt(client, "cadet.02", DEMO_PASSWORD, ATTACKER).status_code == 429
    delayed = database.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.sign_in_delayed",
                                                                AuditEntry.object_type == "User"))
    assert delayed is not None and delayed.object_id == str(user("cadet.02").id)
    assert delayed.details["remote_addr"] == ATTACKER

    admin = app.test_client()
    token = csrf_token(admin, "/login")
    admin.post("/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token})
    page = admin.get("/accounts/").get_data(as_text=True)
    assert "sign-in delayed until" in page
    token = csrf_token(admin, "/accounts/")
    assert admin.post(f"/accounts/{user('cadet.02').id}/unlock", data={"csrf_token": token}).status_code == 302
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "people.sign_in_delay_lifted")) == 1
    assert _attempt(client, "cadet.02", DEMO_PASSWORD, ATTACKER).status_code == 302


def test_a_sustained_guessing_run_is_held_to_a_bounded_rate(app, database):
    """An attacker guessing from one address as fast as the throttle lets them, for an hour, against
    one account and then spread over many accounts: the guesses that are looked at stay near one per
    capped delay (120 s by default), against 3,600 for a guess a second unthrottled."""
    policy = throttling.Policy.from_config(app.config)
    cap = policy.max_delay.total_seconds()
    hour = 3600
    for spread in (False, True):
        start = utcnow() + dt.timedelta(days=1 if spread else 0)
        now, end, looked_at = start, start + dt.timedelta(seconds=hour), 0
        while now < end:
            username = f"target.{looked_at % 500}" if spread else "target.only"
            wait = throttling.wait_seconds(database.session, policy, username, ATTACKER, now)
            if wait:
                now += dt.timedelta(seconds=wait)
                continue
            throttling.record_failure(database.session, policy, username, ATTACKER, now, None)
            looked_at += 1
            now += dt.timedelta(seconds=1)  # one guess a second when nothing holds the attacker back
        free = policy.free_failures * (throttling.ADDRESS_FACTOR if spread else 1)
        ramp = 7  # doublings from 2 s to the cap
        bound = free + ramp + hour / cap + 1
        assert looked_at <= bound, (spread, looked_at, bound)
        assert looked_at >= hour / cap - 1  # and the wait never grows past the cap: no lock-out
        print(f"spread={spread}: {looked_at} guesses looked at in an hour (bound {bound:.0f})")


def test_guessing_the_current_password_on_the_change_page_is_delayed_as_well(app, client, login_as, database):
    cadet = login_as("cadet.07")
    wrong = {"current_password": "not-my-password", "new_password": "Saulėta-Pieva-4812",
             "new_password_again": "Saulėta-Pieva-4812"}
    token = csrf_token(client, "/account/password")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        assert client.post("/account/password", data={"csrf_token": token, **wrong}).status_code == 400
    right = {**wrong, "current_password": DEMO_PASSWORD}
    waiting = client.post("/account/password", data={"csrf_token": token, **right})
    assert waiting.status_code == 429 and "Wait" in waiting.get_data(as_text=True)
    database.session.expire_all()
    assert cadet.check_password(DEMO_PASSWORD)
