"""``flask --app lms_plugin framework list|import|export`` — the framework for the training centre's IT.

Imports are all or nothing: a bad file exits non-zero with every problem the domain
found (row, column and what is wrong) and leaves the database as it was. Large files
show a progress bar on stderr, so stdout carries only the result.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from competency_framework.errors import FrameworkError
from competency_framework.interchange import Format, InterchangeError
from competency_framework.models import Competency, Framework, FrameworkStatus
from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.framework import operations as ops

framework_cli = AppGroup("framework", help="The competency framework: list, import and export versions.")

FORMATS = [item.value for item in Format]


class _ProgressBar:
    """The domain's progress hook as a click progress bar, opened when the first report arrives."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _problems(error: InterchangeError, name: str) -> str:
    lines = [f"{name}: {location}: {problem}" for location, problem in error.problems]
    return "the file was not imported, nothing was changed:\n  " + "\n  ".join(lines)


@framework_cli.command("list")
def list_() -> None:
    """Every framework version with its status and size."""
    counts = dict(db.session.execute(select(Competency.framework_id, func.count(Competency.id))
                                     .group_by(Competency.framework_id)).all())
    versions = db.session.scalars(select(Framework).where(Framework.status != FrameworkStatus.PENDING)
                                  .order_by(Framework.code, Framework.version)).all()
    if not versions:
        click.echo("No frameworks.")
        return
    for framework in versions:
        click.echo(f"{framework.code:<20} v{framework.version:<4} {framework.status.value:<10} "
                   f"{counts.get(framework.id, 0):>6} nodes  {framework.title_en}")


@framework_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--format", "format_", type=click.Choice(FORMATS), default=None,
              help="The file's format; detected from its content when left out.")
@click.option("--publish", is_flag=True, help="Publish the imported version (archiving the published one).")
@click.option("--scale", "scale_code", default=None, help="Code of an existing scale, for files that bring none.")
def import_(file: Path, format_: str | None, publish: bool, scale_code: str | None) -> None:
    """Import FILE (Moodle CSV, CASE JSON or xlsx) as a new draft version, or publish it with --publish."""
    progress = _ProgressBar(f"Importing {file.name}")
    try:
        report = ops.import_file(db.session, None, file, format=format_, scale_code=scale_code, publish_it=publish,
                                 filename=file.name, progress=progress)
        progress.close()
        db.session.commit()
    except InterchangeError as error:
        progress.close()
        db.session.rollback()
        raise click.ClickException(_problems(error, file.name)) from None
    except (FrameworkError, OperationError) as error:
        progress.close()
        db.session.rollback()
        raise click.ClickException(f"{file.name}: {getattr(error, 'message', error)}") from None
    framework = report.framework
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Imported {file.name} ({report.format.value}) as {framework.code} version {framework.version} "
               f"({framework.status.value}): {report.nodes} nodes, {report.role_profiles} role profiles, "
               f"{report.links} links.")


def _version(code: str, number: int | None) -> Framework:
    query = select(Framework).where(Framework.code == code)
    if number is not None:
        found = db.session.scalar(query.where(Framework.version == number))
        if found is None:
            raise click.BadParameter(f"{code} has no version {number}", param_hint="--version")
        return found
    found = db.session.scalar(query.where(Framework.status == FrameworkStatus.PUBLISHED)
                              .order_by(Framework.version.desc()).limit(1))
    found = found or db.session.scalar(query.order_by(Framework.version.desc()).limit(1))
    if found is None:
        raise click.BadParameter(f"no framework with code {code!r} (see `framework list`)", param_hint="CODE")
    return found


def _write_atomically(path: Path, data: bytes) -> None:
    """The whole file or none of it: write next to the target, then rename over it."""
    directory = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@framework_cli.command("export")
@click.argument("code")
@click.option("--version", "number", type=int, default=None,
              help="Version number; the published version (else the newest) when left out.")
@click.option("--format", "format_", type=click.Choice(FORMATS), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
              required=True, help="File to write, or - for standard output.")
def export(code: str, number: int | None, format_: str, out: Path) -> None:
    """Export framework CODE in a format: moodle (CSV), case (JSON) or xlsx."""
    framework = _version(code, number)
    progress = _ProgressBar(f"Exporting {framework.code} v{framework.version}")
    try:
        data = ops.export_file(db.session, None, framework, format_, progress=progress)
    except FrameworkError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    finally:
        progress.close()
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            _write_atomically(out, data)
        except OSError as error:
            db.session.rollback()
            raise click.ClickException(f"cannot write {out}: {error.strerror or error}") from None
    db.session.commit()
    if str(out) != "-":
        click.echo(f"Exported {framework.code} version {framework.version} ({framework.status.value}) as "
                   f"{format_} to {out} ({len(data):,} bytes).")

