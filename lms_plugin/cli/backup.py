"""``flask backup --out DIR`` and ``flask restore FROM``: the database and the attached files.

A backup is a folder named after its moment in Vilnius time (``backup-20261123-143005``) holding
the database (SQLite: a copy taken through SQLite's online backup API, consistent while the app
runs; PostgreSQL: a ``pg_dump`` custom-format archive), the practice files under ``files/``, and
``manifest.json`` with every file's SHA-256 and size and the schema revision.

A restore checks the manifest and every checksum, and refuses a backup made by newer code (a schema
revision this code does not know). It restores into a new database (a new file, or a new
PostgreSQL database) and a new files folder first, checks them, and only then puts them in place,
so a failure leaves the current data as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from lms_plugin.core.audit import record
from lms_plugin.core.base import utcnow
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.extensions import db

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


class BackupError(click.ClickException):
    """A refusal with a message; nothing was changed."""


@dataclass
class BackupSet:
    """The audit log's object for a backup: its folder name."""

    id: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def files_dir(app: Any) -> Path:
    configured = app.config.get("PRACTICE_FILES_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "practice_files"


def known_revisions() -> set[str]:
    scripts = ScriptDirectory(str(Path(__file__).resolve().parent.parent / "migrations"))
    return {revision.revision for revision in scripts.walk_revisions()}


def _revision(url: str | URL) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the PostgreSQL tools, the password passed in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian's postgresql-client provides it).")
    return found


# --- backup ----------------------------------------------------------------------------------------

def make_backup(database_url: str, storage: Path, out: Path, *, now: dt.datetime | None = None) -> Path:
    """Write a backup folder under ``out`` and give back its path."""
    moment = now or utcnow()
    name = "backup-" + moment.astimezone(SERVICE_TIMEZONE).strftime("%Y%m%d-%H%M%S")
    target = out / name
    if target.exists():
        raise BackupError(f"{target} already exists.")
    partial = out / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "files").mkdir(parents=True)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database_file = SQLITE_FILE
        source = sqlite3.connect(str(url.database), timeout=30)
        copy = sqlite3.connect(partial / SQLITE_FILE)
        try:
            with copy:
                source.backup(copy)  # one step: a consistent snapshot even while the app writes
        finally:
            copy.close()
            source.close()
        revision = _revision(f"sqlite:///{partial / SQLITE_FILE}")
    elif url.get_backend_name() == "postgresql":
        database_file = PG_FILE
        connection, env = _libpq(url)
        revision = _revision(url)
        # pg_dump reads from one snapshot, so the dump is consistent while the app writes.
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={partial / PG_FILE}", f"--dbname={connection}"], env)
    else:
        raise BackupError(f"No backup method for {url.get_backend_name()} databases.")
    # Files after the database: every file a backed-up row names is already on disk (files are never rewritten).
    if storage.is_dir():
        for path in sorted(storage.iterdir()):
            if path.is_file():
                shutil.copy2(path, partial / "files" / path.name)
    entries = {}
    for path in sorted(p for p in partial.rglob("*") if p.is_file()):
        relative = path.relative_to(partial).as_posix()
        entries[relative] = {"sha256": sha256_of(path), "size": path.stat().st_size}
    manifest = {
        "format": FORMAT, "created_at": moment.astimezone(dt.timezone.utc).isoformat(),
        "backend": url.get_backend_name(), "database": database_file, "schema_revision": revision,
        "files": entries,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.rename(target)
    return target


# --- restore ---------------------------------------------------------------------------------------

def check_backup(source: Path) -> dict[str, Any]:
    """The manifest of a complete, unaltered backup made by this code or older; else a refusal."""
    manifest_path = source / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["files"]
        database_file, revision = manifest["database"], manifest["schema_revision"]
        if manifest["format"] != FORMAT or not isinstance(entries, dict):
            raise ValueError("format")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{manifest_path}: no readable backup manifest ({error}).") from error
    if database_file not in entries:
        raise BackupError(f"{manifest_path}: the manifest does not list the database file {database_file}.")
    listed = set(entries)
    for name in sorted(listed):
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupError(f"{name}: not a path inside the backup.")
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {MANIFEST}
    for name in sorted(listed - present):
        raise BackupError(f"{name}: listed in the manifest but missing from the backup.")
    for name in sorted(present - listed):
        raise BackupError(f"{name}: in the backup but not in its manifest.")
    for name in sorted(listed):
        path = source / name
        if path.stat().st_size != entries[name]["size"] or sha256_of(path) != entries[name]["sha256"]:
            raise BackupError(f"{name}: its checksum does not match the manifest (the backup was altered or damaged).")
    if revision not in known_revisions():
        raise BackupError(f"The backup's schema revision {revision!r} is newer than this code (or unknown to it); "
                          "restore it with the version of the application that made it.")
    return manifest


def restore_backup(source: Path, database_url: str, storage: Path) -> dict[str, Any]:
    """Put a backup's database and files in place of the current ones; give back the manifest."""
    manifest = check_backup(source)
    url = make_url(database_url)
    if manifest["backend"] != url.get_backend_name():
        raise BackupError(f"The backup is of a {manifest['backend']} database; DATABASE_URL is "
                          f"{url.get_backend_name()}.")
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    new_files = storage.parent / f".{storage.name}.restoring-{stamp}"
    shutil.rmtree(new_files, ignore_errors=True)
    new_files.mkdir(parents=True)
    for path in sorted((source / "files").iterdir()) if (source / "files").is_dir() else []:
        shutil.copy2(path, new_files / path.name)
    try:
        if url.get_backend_name() == "sqlite":
            _restore_sqlite(source / manifest["database"], url, manifest["schema_revision"], stamp)
        else:
            _restore_postgresql(source / manifest["database"], url, manifest["schema_revision"], stamp)
    except BaseException:
        shutil.rmtree(new_files, ignore_errors=True)
        raise
    # The database is in place; now the files: the old folder is kept aside, not deleted.
    if storage.exists():
        storage.rename(storage.parent / f"{storage.name}.before-restore-{stamp}")
    new_files.rename(storage)
    return manifest


def _restore_sqlite(dump: Path, url: URL, revision: str, stamp: str) -> None:
    live = Path(str(url.database))
    staged = live.parent / f".{live.name}.restoring-{stamp}"
    shutil.copyfile(dump, staged)
    try:
        check = sqlite3.connect(staged)
        try:
            integrity = check.execute("PRAGMA integrity_check").fetchone()[0]
            found = check.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        finally:
            check.close()
        if integrity != "ok" or found != revision:
            raise BackupError(f"The restored database does not check out (integrity {integrity}, revision {found}).")
        live.parent.mkdir(parents=True, exist_ok=True)
        source, target = sqlite3.connect(staged), sqlite3.connect(live, timeout=30)
        try:
            # One step of the backup API is one write transaction on the live file: readers and the
            # running app see either the old database or the restored one, never a mixture.
            source.backup(target)
        finally:
            target.close()
            source.close()
    finally:
        staged.unlink(missing_ok=True)


def _restore_postgresql(dump: Path, url: URL, revision: str, stamp: str) -> None:
    name = str(url.database)
    staged = f"{name[:30]}_restoring_{stamp}"
    aside = f"{name[:30]}_before_restore_{stamp}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{staged}"'))
        try:
            connection_string, env = _libpq(url.set(database=staged))
            _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  f"--dbname={connection_string}", str(dump)], env)
            found = _revision(url.set(database=staged))
            if found != revision:
                raise BackupError(f"The restored database holds revision {found}, the manifest says {revision}.")
            with admin.connect() as connection:
                exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
                if exists:
                    # The running app's connections to the old database are ended; its pool reconnects.
                    connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
                    connection.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{aside}"'))
                connection.execute(text(f'ALTER DATABASE "{staged}" RENAME TO "{name}"'))
        except BaseException:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{staged}" WITH (FORCE)'))
            raise
    finally:
        admin.dispose()


# --- commands --------------------------------------------------------------------------------------

@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the backup folder into.")
@with_appcontext
def backup_command(out: Path) -> None:
    """Back up the database and the attached practice files into a new folder under OUT."""
    out.mkdir(parents=True, exist_ok=True)
    target = make_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], files_dir(current_app), out)
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    record(db.session, None, "backup.create", BackupSet(target.name), path=str(target),
           revision=manifest["schema_revision"], files=len(manifest["files"]),
           manifest_sha256=sha256_of(target / MANIFEST))
    db.session.commit()
    click.echo(f"Backup written to {target} ({len(manifest['files'])} files, revision "
               f"{manifest['schema_revision']}).")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database and the practice files with those of the backup folder SOURCE."""
    check_backup(source)
    if not yes:
        click.confirm(f"Replace the current database and practice files with {source.name}?", abort=True)
    db.session.remove()
    manifest = restore_backup(source, current_app.config["SQLALCHEMY_DATABASE_URI"], files_dir(current_app))
    db.engine.dispose()  # connections opened before the swap may still point at the old database
    record(db.session, None, "backup.restore", BackupSet(source.name), path=str(source.resolve()),
           revision=manifest["schema_revision"], backup_created_at=manifest["created_at"])
    db.session.commit()
    click.echo(f"Restored {source.name} (revision {manifest['schema_revision']}). If the code is newer, "
               "run `flask db upgrade`.")
