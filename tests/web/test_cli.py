"""The command line, run as an administrator would: a fresh database, migrations, demo data, accounts."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TABLES_WITH_DEMO_ROWS = ("users", "placements", "competencies", "practice_tasks", "lessons", "sittings",
                         "logbook_entries", "signoffs", "norm_observations", "evidence", "audit_log")


def flask(database: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "cli-test", "DEFAULT_LANGUAGE": "en"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "lms_plugin", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=600)


def row_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in TABLES_WITH_DEMO_ROWS}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("cli") / "fresh.sqlite3"
    upgrade = flask(database, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    first = flask(database, "demo", "load")
    assert first.returncode == 0, first.stderr
    assert "Demo data loaded" in first.stdout
    return database


def test_upgrade_builds_the_schema_from_zero_and_downgrades_cleanly(tmp_path):
    database = tmp_path / "empty.sqlite3"
    assert flask(database, "db", "upgrade").returncode == 0
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "sittings", "signoffs", "evidence", "alembic_version"} <= tables
    check = flask(database, "db", "check")  # the migrations describe exactly what the models declare
    assert check.returncode == 0, check.stdout + check.stderr
    assert flask(database, "db", "downgrade", "base").returncode == 0
    with sqlite3.connect(database) as connection:
        left = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert left == {"alembic_version"}


def test_demo_load_fills_every_part_and_is_idempotent(loaded):
    before = row_counts(loaded)
    assert all(count > 0 for count in before.values()), before
    assert before["users"] >= 30
    second = flask(loaded, "demo", "load")
    assert second.returncode == 0, second.stderr
    assert "nothing new" in second.stdout
    assert row_counts(loaded) == before


def test_demo_logins_are_printed(loaded):
    result = flask(loaded, "demo", "logins")
    assert result.returncode == 0
    for username in ("admin", "mentor.jonas", "cadet.01"):
        assert username in result.stdout
    assert "Mokymai-2026" in result.stdout


def test_users_create_validates_and_creates(loaded):
    created = flask(loaded, "users", "create", "inspektorius.ona", "--name", "Ona Šimkūnienė", "--role", "assessor",
                    "--password", "labai-slaptas-1")
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(loaded) as connection:
        name, role, password_hash = connection.execute(
            "SELECT full_name, role, password_hash FROM users WHERE username='inspektorius.ona'").fetchone()
    assert (name, role) == ("Ona Šimkūnienė", "assessor")
    assert password_hash.startswith("scrypt:") and "labai-slaptas-1" not in password_hash
    duplicate = flask(loaded, "users", "create", "inspektorius.ona", "--name", "X", "--role", "cadet",
                      "--password", "labai-slaptas-2")
    assert duplicate.returncode != 0 and "taken" in duplicate.stderr
    short = flask(loaded, "users", "create", "kitas", "--name", "Y", "--role", "cadet", "--password", "trumpas")
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    bad_unit = flask(loaded, "users", "create", "trecias", "--name", "Z", "--role", "mentor", "--unit", "NOPE",
                     "--password", "labai-slaptas-3")
    assert bad_unit.returncode != 0 and "NOPE" in bad_unit.stderr
