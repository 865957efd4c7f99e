"""The domain packages build their schema and run without the application: importing them
loads the core, never an app area, Flask or Flask-SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
import sys
import {modules}
from sqlalchemy import create_engine, inspect
from lms_plugin.core.base import Base
engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
tables = sorted(inspect(engine).get_table_names())
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf")
                or (name.startswith("lms_plugin.") and not name.startswith("lms_plugin.core")))
print(json.dumps([tables, loaded]))
"""


@pytest.mark.parametrize("modules, expected_tables", [
    ("competency_framework.models, competency_framework.operations",
     {"users", "frameworks", "competencies", "evidence", "role_profiles"}),
    ("courses.models, courses.operations", {"users", "course_modules", "lessons", "competencies"}),
])
def test_domain_schema_builds_without_the_app(modules: str, expected_tables: set[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE.format(modules=modules)], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    tables, loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert expected_tables <= set(tables)
    assert loaded == [], f"importing {modules} loaded {loaded}"


def test_psychometrics_imports_nothing_of_the_project() -> None:
    code = ("import sys, psychometrics, psychometrics.irt, psychometrics.cat, psychometrics.ctt;"
            "print(sorted(n for n in sys.modules if n.split('.')[0] in "
            "('lms_plugin', 'competency_framework', 'courses', 'fixtures', 'sqlalchemy', 'flask')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
