"""``flask --app lms_plugin framework list|import|export``, run as the training centre's IT would:
a fresh database, real files, exit codes, and nothing half-imported."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from competency_framework.interchange import read_document
from competency_framework.interchange.moodle_csv import HEADERS
from tests.web.test_cli import flask

REFERENCE = Path(__file__).resolve().parents[1] / "competency_framework" / "reference" / "moodle-oecd-framework.csv"
SCALE = ('"Not yet competent,Competent"', '"[{""scaleid"":""2""},{""id"":2,""scaledefault"":1,""proficient"":1}]"')


def moodle_file(path: Path, rows: list[str], code: str = "BIG") -> Path:
    header = ",".join(f'"{h}"' for h in HEADERS)
    top = f',{code},"Generated framework","<p>About</p>",1,{SCALE[0]},{SCALE[1]},,,,,,1,"competency,competency"'
    path.write_text("\n".join([header, top, *rows]) + "\n", encoding="utf-8")
    return path


def competency(parent: str, code: str, name: str = "Name") -> str:
    return f'{parent},{code},"{name}","<p>Text for {code}</p>",1,,,,0,null,"",,,'


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("frameworks", "competencies", "scales", "competency_links", "audit_log")}


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("framework-cli") / "framework.sqlite3"
    upgrade = flask(path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    return path


def test_list_on_an_empty_database(tmp_path):
    path = tmp_path / "empty.sqlite3"
    assert flask(path, "db", "upgrade").returncode == 0
    result = flask(path, "framework", "list")
    assert result.returncode == 0 and "No frameworks." in result.stdout


def test_the_moodle_reference_file_imports_as_one_framework(database):
    result = flask(database, "framework", "import", str(REFERENCE), "--publish")
    assert result.returncode == 0, result.stderr
    assert "OECD-CORE version 1 (published): 64 nodes" in result.stdout
    listed = flask(database, "framework", "list")
    assert "OECD-CORE" in listed.stdout and "published" in listed.stdout and "64 nodes" in listed.stdout
    with sqlite3.connect(database) as connection:
        action, details = connection.execute(
            "SELECT action, details FROM audit_log WHERE action = 'framework.import'").fetchone()
        children = connection.execute("SELECT count(*) FROM competencies WHERE parent_id IS NOT NULL").fetchone()[0]
    assert json.loads(details)["format"] == "moodle" and json.loads(details)["nodes"] == 64
    assert 0 < children < 64  # one framework with its hierarchy, not a flat list


@pytest.mark.parametrize("fmt, suffix", [("moodle", ".csv"), ("case", ".json"), ("xlsx", ".xlsx")])
def test_export_then_import_round_trips(database, tmp_path, fmt, suffix):
    """Export the published version, import and publish it as the next version, export that: the same document."""
    first = tmp_path / f"first{suffix}"
    exported = flask(database, "framework", "export", "OECD-CORE", "--format", fmt, "--out", str(first))
    assert exported.returncode == 0, exported.stderr
    assert f"as {fmt} to {first}" in exported.stdout
    before = counts(database)
    imported = flask(database, "framework", "import", str(first), "--format", fmt, "--publish")
    assert imported.returncode == 0, imported.stderr
    version = int(imported.stdout.split("OECD-CORE version ")[1].split()[0])
    second = tmp_path / f"second{suffix}"
    again = flask(database, "framework", "export", "OECD-CORE", "--version", str(version), "--format", fmt,
                  "--out", str(second))
    assert again.returncode == 0, again.stderr
    one, two = read_document(first.read_bytes(), fmt).canonical(), read_document(second.read_bytes(), fmt).canonical()
    assert one == two
    assert counts(database)["competencies"] == before["competencies"] + 64


def test_a_bad_file_exits_non_zero_naming_row_and_column_and_imports_nothing(database, tmp_path):
    before = counts(database)
    bad = moodle_file(tmp_path / "bad.csv", [competency("", "A"), competency("A", "B"), competency("", "A"),
                                             competency("GHOST", "C")])
    result = flask(database, "framework", "import", str(bad))
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    assert "bad.csv: row 5, column 'ID number': duplicate id 'A'" in result.stderr
    assert "row 6, column 'Parent ID number': unknown parent 'GHOST'" in result.stderr
    assert counts(database) == before
    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some notes\n")
    result = flask(database, "framework", "import", str(unknown))
    assert result.returncode == 1 and "unknown file format" in result.stderr
    forced = flask(database, "framework", "import", str(REFERENCE), "--format", "xlsx")
    assert forced.returncode == 1 and "moodle-oecd-framework.csv" in forced.stderr
    assert counts(database) == before


def test_a_second_draft_of_the_same_code_is_refused(database, tmp_path):
    path = moodle_file(tmp_path / "small.csv", [competency("", "X1"), competency("X1", "X2")], code="SMALL")
    assert flask(database, "framework", "import", str(path)).returncode == 0
    before = counts(database)
    again = flask(database, "framework", "import", str(path))
    assert again.returncode == 1 and "already has a draft" in again.stderr
    assert counts(database) == before


def test_export_errors_exit_non_zero(database, tmp_path):
    missing = flask(database, "framework", "export", "NOPE", "--format", "case", "--out", str(tmp_path / "x.json"))
    assert missing.returncode != 0 and "NOPE" in missing.stderr
    wrong_version = flask(database, "framework", "export", "OECD-CORE", "--version", "99", "--format", "case",
                          "--out", str(tmp_path / "x.json"))
    assert wrong_version.returncode != 0 and "no version 99" in wrong_version.stderr
    nowhere = flask(database, "framework", "export", "OECD-CORE", "--format", "case",
                    "--out", str(tmp_path / "missing-dir" / "x.json"))
    assert nowhere.returncode != 0
    assert not (tmp_path / "x.json").exists()


def test_a_large_file_shows_progress_and_imports_whole(database, tmp_path):
    rows = []
    for area in range(20):
        rows.append(competency("", f"A{area}", f"Area {area}"))
        rows += [competency(f"A{area}", f"A{area}.{i}", f"Competency {area}.{i}") for i in range(100)]
    path = moodle_file(tmp_path / "big.csv", rows, code="BIG")
    result = flask(database, "framework", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "Importing big.csv" in result.stderr and "2020 nodes" in result.stdout
    out = tmp_path / "big.xlsx"
    exported = flask(database, "framework", "export", "BIG", "--format", "xlsx", "--out", str(out))
    assert exported.returncode == 0 and "Exporting BIG v1" in exported.stderr
    assert len(read_document(out.read_bytes(), "xlsx").nodes) == 2020
