"""Sign in and out, with throttling; the language switch."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from lms_plugin.core import audit
from lms_plugin.core.base import utcnow
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.people.forms import LanguageForm, LoginForm
from lms_plugin.people.models import LoginAttempt

bp = Blueprint("auth", __name__, template_folder="templates")

# Checked for unknown accounts, so a wrong username costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _recent_failures(username: str, remote_addr: str) -> tuple[int, int]:
    window = utcnow() - dt.timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    failed = select(func.count(LoginAttempt.id)).where(LoginAttempt.at >= window, LoginAttempt.succeeded.is_(False))
    by_account = db.session.scalar(failed.where(LoginAttempt.username == username)) or 0
    by_address = db.session.scalar(failed.where(LoginAttempt.remote_addr == remote_addr)) or 0
    return by_account, by_address


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        remote_addr = request.remote_addr or ""
        by_account, by_address = _recent_failures(username, remote_addr)
        limit = current_app.config["LOGIN_MAX_FAILURES"]
        if by_account >= limit or by_address >= 4 * limit:
            minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
            flash(_("Too many failed sign-ins. Wait %(minutes)d minutes and try again.", minutes=minutes), "error")
            return render_template("people/login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.username == username))
        password_ok = user.check_password(form.password.data) if user else _check_dummy(form.password.data)
        succeeded = bool(user and password_ok and user.active)
        db.session.add(LoginAttempt(username=username, remote_addr=remote_addr, succeeded=succeeded))
        if not succeeded:
            db.session.commit()
            flash(_("Wrong username or password."), "error")
            return render_template("people/login.html", form=form), 401
        language = session.get("language")
        session.clear()  # a fresh session on sign-in; only the chosen language carries over
        if language:
            session["language"] = language
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
