"""``flask --app lms_plugin users ...``"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Cohort, Role, TrainingUnit
from lms_plugin.extensions import db
from lms_plugin.people.operations import create_user

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name, as it should appear on records.")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--email", default="")
@click.option("--role-profile", default=None, help="Role profile code, e.g. cadet or officer.")
@click.option("--unit", "unit_code", default=None, help="Home training unit code (mentors).")
@click.option("--cohort", "cohort_code", default=None, help="Cohort code (cadets).")
@click.password_option(help="Asked for when not given.")
def create(username: str, full_name: str, role: str, email: str, role_profile: str | None,
           unit_code: str | None, cohort_code: str | None, password: str) -> None:
    """Create an account."""
    unit = cohort = None
    if unit_code:
        unit = db.session.scalar(select(TrainingUnit).where(TrainingUnit.code == unit_code))
        if unit is None:
            raise click.BadParameter(f"no training unit {unit_code!r}", param_hint="--unit")
    if cohort_code:
        cohort = db.session.scalar(select(Cohort).where(Cohort.code == cohort_code))
        if cohort is None:
            raise click.BadParameter(f"no cohort {cohort_code!r}", param_hint="--cohort")
    try:
        user = create_user(db.session, username=username, full_name=full_name, role=Role(role), password=password,
                           email=email, role_profile_code=role_profile, unit=unit, cohort=cohort)
    except OperationError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem.message)) from None
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role.value}).")
