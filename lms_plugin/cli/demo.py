"""``flask --app lms_plugin demo load|logins``: the demonstration data, read from the ``fixtures/``
folder of a project checkout (it is not installed with the package)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from lms_plugin.core.clock import today
from lms_plugin.extensions import db

demo_cli = AppGroup("demo", help="The demonstration data set.")


def _require_fixtures() -> None:
    try:
        import fixtures  # noqa: F401
    except ImportError:
        raise click.ClickException("The demo data is in the fixtures/ folder of the project checkout: "
                                   "run this command from there.") from None


@demo_cli.command("load")
def load() -> None:
    """Load the demo data (idempotent: a second run changes nothing)."""
    _require_fixtures()
    from lms_plugin.demo_data import counts, load_demo

    try:
        report = load_demo(db.session, today(), progress=lambda step: click.echo(f"  · {step}"))
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    created = ", ".join(f"{n} {what}" for what, n in report.created.items()) or "nothing new"
    click.echo(f"Demo data loaded: {created}.")
    click.echo("In the database: " + ", ".join(f"{n} {what}" for what, n in counts(db.session).items()) + ".")


@demo_cli.command("logins")
def logins() -> None:
    """Print the demo accounts to sign in with."""
    _require_fixtures()
    from fixtures import read_yaml
    from lms_plugin.demo_data import demo_logins

    password = read_yaml("people.yaml")["demo_password"]
    click.echo("Demo logins (password for every account: %s)" % password)
    for role, username, full_name in demo_logins(db.session):
        click.echo(f"  {role:<13} {username:<14} {full_name}")
