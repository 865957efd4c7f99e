"""Sign in and out, with throttling and server-side sessions; the language switch."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from lms_plugin.core import audit
from lms_plugin.core.base import utcnow
from lms_plugin.core.people import User
from lms_plugin.extensions import db, login_manager
from lms_plugin.people import sessions, throttling
from lms_plugin.people.forms import LanguageForm, LoginForm
from lms_plugin.people.models import LoginAttempt

bp = Blueprint("auth", __name__, template_folder="templates")

# Checked for unknown accounts, so a wrong username costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The person only while the session named in the cookie stands and the account is active."""
    return sessions.signed_in_user(db.session, user_id, session.get(sessions.COOKIE_KEY), session_max_age())


def session_max_age() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]))


def _is_local_path(target: str) -> bool:
    """A path on this site, however a browser reads it. Browsers drop tabs and newlines, take a
    backslash for a slash and may decode the address, so any of those, a scheme or a host, in the
    address as given or once or twice URL-decoded, makes it foreign."""
    if _unsafe_characters(target):
        return False
    candidate = target
    for _round in range(3):
        head = re.split(r"[?#]", candidate, maxsplit=1)[0]
        parts = urlsplit(head)
        if (_unsafe_characters(head) or parts.scheme or parts.netloc or not head.startswith("/")
                or head.startswith("//")):
            return False
        decoded = unquote(candidate)
        if decoded == candidate:
            return True
        candidate = decoded
    return False


def _unsafe_characters(text: str) -> bool:
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in text)


def _safe_next(target: str | None) -> str:
    if target and _is_local_path(target):
        return target
    return url_for("main.dashboard")


def _restart_session(user: User) -> None:
    """A fresh cookie session on sign-in (only the chosen language carries over), tied to a new server-side one."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    session[sessions.COOKIE_KEY] = sessions.start(db.session, user, request.remote_addr or "", session_max_age())


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        remote_addr = request.remote_addr or ""
        policy = throttling.Policy.from_config(current_app.config)
        now = utcnow()
        wait = throttling.wait_seconds(db.session, policy, username, remote_addr, now)
        if wait:
            flash(_("Too many failed sign-ins. Wait %(seconds)d seconds and try again.", seconds=wait), "error")
            return render_template("people/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = db.session.scalar(select(User).where(User.username == username))
        password_ok = user.check_password(form.password.data) if user else _check_dummy(form.password.data)
        succeeded = bool(user and password_ok and user.active)
        db.session.add(LoginAttempt(username=username, remote_addr=remote_addr, succeeded=succeeded))
        if not succeeded:
            throttling.record_failure(db.session, policy, username, remote_addr, now, user)
            db.session.commit()
            flash(_("Wrong username or password."), "error")
            return render_template("people/login.html", form=form), 401
        throttling.record_success(db.session, username, remote_addr)
        _restart_session(user)
        login_user(user)
        audit.record(db.session, user, "auth.login", user)
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("people/login.html", form=form), status


def _check_dummy(password: str) -> bool:
    check_password_hash(_DUMMY_HASH, password)
    return False


@bp.post("/logout")
@login_required
def logout() -> Response:
    person = current_user._get_current_object()
    sessions.revoke(db.session, session.get(sessions.COOKIE_KEY), "signed_out")
    audit.record(db.session, person, "auth.logout", person)
    db.session.commit()
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit() and form.language.data in current_app.config["LANGUAGES"]:
        session["language"] = form.language.data
    next_url = request.form.get("next")
    return redirect(_safe_next(next_url))
