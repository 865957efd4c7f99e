"""``flask backup`` / ``flask restore``: a backup of the demo database with attached files, restored into a
fresh location, holds every row and every byte; altered or too-new backups are refused and change nothing.

Runs on SQLite, and on PostgreSQL (pg_dump/pg_restore) when ``TEST_DATABASE_URL`` points at a server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from lms_plugin import create_app
from lms_plugin.cli.backup import MANIFEST, BackupError, check_backup, make_backup, restore_backup, sha256_of
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.practice.models import LogbookAttachment, PracticeTask
from lms_plugin.practice.operations.logbook import add_logbook_entry, attach_file
from tests.conftest import TEST_TODAY

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def database_url(tmp: Path, name: str, *, create: bool = False) -> str:
    """A fresh location: a SQLite file, or a database on the test PostgreSQL server (made empty with ``create``,
    else left for the restore to make)."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    url = make_url(server)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def all_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = {}
            for table in sorted(inspect(connection).get_table_names()):
                # Sorted here: PostgreSQL cannot order by a JSON column.
                rows[table] = sorted((tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))),
                                     key=repr)
            return rows
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A database migrated from zero with the demo data and two attached files, committed."""
    from flask_migrate import upgrade

    from lms_plugin.demo_data import load_demo

    tmp = tmp_path_factory.mktemp("backup-source")
    application = create_app({"TESTING": True, "SECRET_KEY": "backup-test", "BABEL_DEFAULT_LOCALE": "en",
                              "SQLALCHEMY_DATABASE_URI": database_url(tmp, "training_backup_src", create=True),
                              "PRACTICE_FILES_DIR": str(tmp / "files")})
    with application.app_context():
        upgrade()
        load_demo(db.session, TEST_TODAY)
        cadet = db.session.scalar(select(User).where(User.username == "cadet.01"))
        task = db.session.scalars(select(PracticeTask)).first()
        entry = add_logbook_entry(db.session, cadet, task=task, performed_on=TEST_TODAY, location="Pravieniškės",
                                  description="Apžiūra su pamainos vadovu", reflection="", today=TEST_TODAY)
        for name, data in (("report.pdf", PDF), ("photo.png", PNG)):
            attach_file(db.session, cadet, entry, filename=name, data=data, storage_dir=tmp / "files")
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(LogbookAttachment)) >= 2
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_restored_backup_holds_every_row_and_every_file_byte(source: Flask, tmp_path: Path) -> None:
    url, files = source.config["SQLALCHEMY_DATABASE_URI"], Path(source.config["PRACTICE_FILES_DIR"])
    backup = make_backup(url, files, tmp_path / "backups")
    fresh_url, fresh_files = database_url(tmp_path, "training_backup_dst"), tmp_path / "restored" / "files"

    manifest = restore_backup(backup, fresh_url, fresh_files)

    before, after = all_rows(url), all_rows(fresh_url)
    assert set(before) == set(after) and "alembic_version" in after
    assert {table: len(rows) for table, rows in after.items()}["logbook_attachments"] >= 2
    for table in before:
        assert after[table] == before[table], table
    originals = sorted(p.name for p in files.iterdir())
    assert sorted(p.name for p in fresh_files.iterdir()) == originals and len(originals) >= 2
    for name in originals:
        assert (fresh_files / name).read_bytes() == (files / name).read_bytes()
    assert manifest["schema_revision"] == after["alembic_version"][0][0]

    # Restoring over a database and files that exist (the usual case) replaces them and keeps the old ones aside.
    engine = create_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM login_attempts"))
        connection.execute(text("UPDATE users SET full_name = 'changed since the backup'"))
    engine.dispose()
    (fresh_files / "stray.bin").write_bytes(b"written after the backup")
    restore_backup(backup, fresh_url, fresh_files)
    assert all_rows(fresh_url) == before
    assert sorted(p.name for p in fresh_files.iterdir()) == originals
    assert [p.name for p in fresh_files.parent.iterdir() if ".before-restore-" in p.name]


def test_the_backup_is_named_in_vilnius_time_and_lists_checksums(source: Flask, tmp_path: Path) -> None:
    url, files = source.config["SQLALCHEMY_DATABASE_URI"], Path(source.config["PRACTICE_FILES_DIR"])
    # 22:30 UTC on 23 November is already the 24th in Vilnius (UTC+2).
    backup = make_backup(url, files, tmp_path, now=dt.datetime(2026, 11, 23, 22, 30, 5, tzinfo=dt.timezone.utc))
    assert backup.name == "backup-20261124-003005"
    manifest = json.loads((backup / MANIFEST).read_text())
    database = manifest["database"]
    assert manifest["files"][database]["sha256"] == sha256_of(backup / database)
    assert {f"files/{p.name}" for p in files.iterdir()} <= set(manifest["files"])


def test_an_altered_or_newer_backup_is_refused_and_nothing_changes(source: Flask, tmp_path: Path) -> None:
    url, files = source.config["SQLALCHEMY_DATABASE_URI"], Path(source.config["PRACTICE_FILES_DIR"])
    target_url, target_files = database_url(tmp_path, "training_backup_dst"), tmp_path / "live" / "files"
    restore_backup(make_backup(url, files, tmp_path / "first"), target_url, target_files)
    rows_before = all_rows(target_url)

    altered = make_backup(url, files, tmp_path / "altered")
    attachment = next((altered / "files").iterdir())
    attachment.write_bytes(attachment.read_bytes() + b"x")
    with pytest.raises(BackupError, match="checksum does not match"):
        restore_backup(altered, target_url, target_files)

    newer = make_backup(url, files, tmp_path / "newer")
    manifest = json.loads((newer / MANIFEST).read_text())
    manifest["schema_revision"] = "9999"
    (newer / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="newer than this code"):
        check_backup(newer)

    missing = make_backup(url, files, tmp_path / "missing")
    (missing / manifest["database"]).unlink()
    with pytest.raises(BackupError, match="missing from the backup"):
        restore_backup(missing, target_url, target_files)

    assert all_rows(target_url) == rows_before
    assert sorted(p.name for p in target_files.iterdir()) == sorted(p.name for p in files.iterdir())
    assert not [p for p in target_files.parent.iterdir() if "restoring" in p.name]


def test_the_commands_back_up_and_restore_with_audit_rows(source: Flask, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    result = source.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    backup = next(out.iterdir())
    with source.app_context():
        created = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.create")).all()
        assert created[-1].object_id == backup.name and created[-1].details["files"] >= 3

    target = create_app({"TESTING": True, "SECRET_KEY": "backup-test",
                         "SQLALCHEMY_DATABASE_URI": database_url(tmp_path, "training_backup_dst"),
                         "PRACTICE_FILES_DIR": str(tmp_path / "target-files")})
    result = target.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    with target.app_context():
        restored = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.restore")).all()
        assert [row.object_id for row in restored] == [backup.name]
        assert db.session.scalar(select(User).where(User.username == "cadet.01")) is not None
        db.session.remove()
        db.engine.dispose()
