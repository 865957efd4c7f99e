"""``flask --app lms_plugin retention apply [--dry-run]``"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from lms_plugin.core.base import utcnow
from lms_plugin.extensions import db

retention_cli = AppGroup("retention", help="Retention of raw psychometric data.")


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def apply(dry_run: bool) -> None:
    """Delete the raw answers of sittings submitted longer ago than RAW_ANSWERS_RETENTION_DAYS
    (scores and bands stay)."""
    from lms_plugin.privacy.operations import apply_retention

    days = current_app.config["RAW_ANSWERS_RETENTION_DAYS"]
    sittings, answers = apply_retention(db.session, None, now=utcnow(), days=days, dry_run=dry_run)
    db.session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {answers} raw answers of {sittings} sittings submitted more than {days} days ago.")
