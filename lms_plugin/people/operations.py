"""Accounts."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.core import audit
from lms_plugin.core.errors import Conflict, OperationError
from lms_plugin.core.people import Cohort, Role, TrainingUnit, User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


def create_user(session: Session, *, username: str, full_name: str, role: Role, password: str,
                email: str = "", role_profile_code: str | None = None, unit: TrainingUnit | None = None,
                cohort: Cohort | None = None, created_by: User | None = None) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise OperationError(_l("A username is 2–64 characters: lowercase letters, digits, dot, dash, underscore."),
                             field="username")
    if not full_name.strip():
        raise OperationError(_l("A full name is required."), field="full_name")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperationError(_l("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
                             field="password")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_l("The username %(name)s is taken.", name=username), field="username")
    user = User(username=username, full_name=full_name.strip(), email=email.strip(), role=role,
                role_profile_code=role_profile_code, unit=unit, cohort=cohort)
    user.set_password(password)
    session.add(user)
    session.flush()
    audit.record(session, created_by, "people.user_created", user, role=role.value)
    return user
