"""``flask --app lms_plugin practice verify [--cadet USERNAME] [--files]``"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lms_plugin.extensions import db

practice_cli = AppGroup("practice", help="Practice records: the integrity check of the signed records.")


@practice_cli.command("verify")
@click.option("--cadet", "username", default=None, help="Check one cadet (by username) instead of all.")
@click.option("--files/--no-files", default=False, help="Hash the attached files on disk again too.")
def verify(username: str | None, files: bool) -> None:
    """Recompute every cadet's hash chain of signed records; exit 1 if any chain is broken."""
    from lms_plugin.core.people import User
    from lms_plugin.practice.operations.chain import verify_all

    cadet_ids = None
    names: dict[int, str] = {}
    if username is not None:
        cadet = db.session.scalar(select(User).where(User.username == username.strip().lower()))
        if cadet is None:
            click.echo(f"No user {username!r}.", err=True)
            sys.exit(2)
        cadet_ids = [cadet.id]
    storage = None
    if files:
        configured = current_app.config.get("PRACTICE_FILES_DIR")
        storage = Path(configured) if configured else Path(current_app.instance_path) / "practice_files"
    reports = verify_all(db.session, cadet_ids, storage)
    names = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_([r.cadet_id for r in reports]))).all()) if reports else {}
    broken = [r for r in reports if not r.ok]
    for report in reports:
        state = "ok" if report.ok else "BROKEN"
        click.echo(f"{names.get(report.cadet_id, report.cadet_id)}: {report.records} signed records, "
                   f"head {report.head_hash[:16]}… {state}")
        for problem in report.problems:
            click.echo(f"    {problem}")
    click.echo(f"{len(reports)} chains checked, {len(broken)} broken.")
    db.session.rollback()
    if broken:
        sys.exit(1)
