"""Accounts: every signed-in person changes their own password; training centre administrators
list accounts, disable and enable them, set a new password and lift a sign-in delay."""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.people import operations, sessions, throttling
from lms_plugin.people.forms import ChangePasswordForm, ResetPasswordForm
from lms_plugin.people.views import session_max_age
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import attempt, attempted

bp = Blueprint("accounts", __name__, template_folder="templates")


def _me() -> User:
    """The signed-in person itself, not the proxy, so audit rows name the right kind of object."""
    return current_user._get_current_object()


def _show_on_form(form: ChangePasswordForm | ResetPasswordForm, problem: OperationError) -> None:
    target = getattr(form, problem.field or "", None) or form.new_password
    target.errors = [*(target.errors or []), str(problem.message)]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | tuple[str, int]:
    g.no_store = True
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # The current password is guessed here as on the sign-in page, so the same delays apply.
        me, remote_addr, now = _me(), request.remote_addr or "", utcnow()
        policy = throttling.Policy.from_config(current_app.config)
        wait = throttling.wait_seconds(db.session, policy, me.username, remote_addr, now)
        if wait:
            form.current_password.errors = [_("Too many failed sign-ins. Wait %(seconds)d seconds and try again.",
                                              seconds=wait)]
            return render_template("people/change_password.html", form=form), 429

        def change() -> None:
            operations.change_password(db.session, me, current_password=form.current_password.data,
                                       new_password=form.new_password.data)
            # Every session ended, this one too; the person carries on in a fresh one.
            session[sessions.COOKIE_KEY] = sessions.start(db.session, me, remote_addr, session_max_age())

        problem = attempt(change)
        if problem is None:
            flash(_("Your password is changed. You were signed out everywhere else."), "success")
            return redirect(url_for("main.dashboard"))
        if problem.field == "current_password":
            throttling.record_failure(db.session, policy, me.username, remote_addr, now, me)
            db.session.commit()
        _show_on_form(form, problem)
    return render_template("people/change_password.html", form=form), 400 if form.errors else 200


@bp.get("/accounts/")
@login_required
def index() -> str:
    g.no_store = True
    accounts = operations.accounts(db.session, _me())
    return render_template("people/accounts.html", accounts=accounts, form=ConfirmForm(),
                           delayed=throttling.delayed_accounts(db.session, utcnow()))


def _account(user_id: int) -> User:
    require(current_user, Capability.MANAGE_PEOPLE)
    return db.get_or_404(User, user_id)


def _confirmed(action: Callable[[], object], done: str) -> Response:
    if ConfirmForm().validate_on_submit():
        problem = attempt(action)
        flash(str(problem.message) if problem else done, "error" if problem else "success")
    return redirect(url_for("accounts.index"))


@bp.post("/accounts/<int:user_id>/disable")
@login_required
def disable(user_id: int) -> Response:
    account = _account(user_id)
    return _confirmed(lambda: operations.set_active(db.session, _me(), account, active=False),
                      _("The account %(name)s is disabled and its sessions ended.", name=account.username))


@bp.post("/accounts/<int:user_id>/enable")
@login_required
def enable(user_id: int) -> Response:
    account = _account(user_id)
    return _confirmed(lambda: operations.set_active(db.session, _me(), account, active=True),
                      _("The account %(name)s is enabled.", name=account.username))


@bp.post("/accounts/<int:user_id>/unlock")
@login_required
def unlock(user_id: int) -> Response:
    account = _account(user_id)
    return _confirmed(lambda: operations.lift_sign_in_delay(db.session, _me(), account),
                      _("The sign-in delay of %(name)s is lifted.", name=account.username))


@bp.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@login_required
def reset_password(user_id: int) -> Response | tuple[str, int]:
    g.no_store = True
    account = _account(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        _ended, problem = attempted(lambda: operations.reset_password(db.session, _me(), account,
                                                                      new_password=form.new_password.data))
        if problem is None:
            flash(_("A new password is set for %(name)s; their sessions ended.", name=account.username), "success")
            return redirect(url_for("accounts.index"))
        _show_on_form(form, problem)
    return render_template("people/reset_password.html", form=form, account=account), 400 if form.errors else 200
