"""Accounts: creating them, passwords, disabling and enabling, and lifting a sign-in delay.

Anything that changes a password or an account's standing ends the account's sessions and is audited.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import Conflict, OperationError
from lms_plugin.core.people import Cohort, Role, TrainingUnit, User
from lms_plugin.people import sessions, throttling
from lms_plugin.people.passwords import password_problem

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _check_password(password: str, *, username: str, full_name: str, field: str = "password") -> None:
    problem = password_problem(password, username=username, full_name=full_name)
    if problem is not None:
        raise OperationError(problem, field=field)


def create_user(session: Session, *, username: str, full_name: str, role: Role, password: str,
                email: str = "", role_profile_code: str | None = None, unit: TrainingUnit | None = None,
                cohort: Cohort | None = None, created_by: User | None = None) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise OperationError(_l("A username is 2–64 characters: lowercase letters, digits, dot, dash, underscore."),
                             field="username")
    if not full_name.strip():
        raise OperationError(_l("A full name is required."), field="full_name")
    _check_password(password, username=username, full_name=full_name)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_l("The username %(name)s is taken.", name=username), field="username")
    user = User(username=username, full_name=full_name.strip(), email=email.strip(), role=role,
                role_profile_code=role_profile_code, unit=unit, cohort=cohort)
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, created_by, "people.user_created", user, role=role.value)
    return user


def end_sessions(session: Session, person: User, reason: str) -> int:
    """End every session of the person now (for areas that close an account, e.g. an erasure)."""
    return sessions.revoke_all(session, person, reason)


def change_password(session: Session, user: User, *, current_password: str, new_password: str) -> int:
    """The person changes their own password. Every session of theirs ends (the caller starts a
    fresh one for the page they are on); gives back how many ended."""
    if not user.check_password(current_password):
        raise OperationError(_l("The current password is wrong."), field="current_password")
    if new_password == current_password:
        raise OperationError(_l("The new password must differ from the current one."), field="new_password")
    return _replace_password(session, user, user, new_password, "password_changed")


def reset_password(session: Session, actor: User, account: User, *, new_password: str) -> int:
    """A training centre administrator sets a new password for an account; its sessions end."""
    require(actor, Capability.MANAGE_PEOPLE)
    return _replace_password(session, actor, account, new_password, "password_reset")


def _replace_password(session: Session, actor: User, account: User, new_password: str, reason: str) -> int:
    """Check and set the new password, end every session of the account, audit; how many sessions ended."""
    _check_password(new_password, username=account.username, full_name=account.full_name, field="new_password")
    account.set_password(new_password)
    ended = sessions.revoke_all(session, account, reason)
    audit.record(session, actor, f"people.{reason}", account, sessions_ended=ended)
    session.flush()
    return ended


def set_active(session: Session, actor: User, account: User, *, active: bool) -> None:
    """Disable (every session ends, no sign-in) or enable an account."""
    require(actor, Capability.MANAGE_PEOPLE)
    if account.id == actor.id and not active:
        raise OperationError(_l("You cannot disable your own account."))
    if account.active == active:
        return
    account.active = active
    if active:
        audit.record(session, actor, "people.account_enabled", account)
    else:
        ended = sessions.revoke_all(session, account, "account_disabled")
        audit.record(session, actor, "people.account_disabled", account, sessions_ended=ended)
    session.flush()


def lift_sign_in_delay(session: Session, actor: User, account: User) -> int:
    """Forget the account's failed sign-ins at every address, so its next attempt is looked at at once."""
    require(actor, Capability.MANAGE_PEOPLE)
    cleared = throttling.clear_account(session, account.username)
    audit.record(session, actor, "people.sign_in_delay_lifted", account, keys=cleared)
    session.flush()
    return cleared


def accounts(session: Session, actor: User) -> list[User]:
    require(actor, Capability.MANAGE_PEOPLE)
    return list(session.scalars(select(User).order_by(User.role, User.username)))
