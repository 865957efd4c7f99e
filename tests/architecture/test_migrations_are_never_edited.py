"""A landed migration is never edited: every revision file's SHA-256 is recorded in
``lms_plugin/migrations/landed.sha256`` when it lands, and a schema change is a new revision.
(That the revisions describe exactly what the models declare is checked by ``flask db check``
in tests/web/test_cli.py.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "lms_plugin" / "migrations"


def _landed() -> dict[str, str]:
    lines = (MIGRATIONS / "landed.sha256").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def test_every_landed_revision_is_unchanged():
    landed = _landed()
    assert landed, "landed.sha256 lists no revision"
    changed = [name for name, digest in landed.items()
               if hashlib.sha256((MIGRATIONS / name).read_bytes()).hexdigest() != digest]
    assert changed == [], f"landed revisions were edited: {changed}; add a new revision instead"


def test_every_revision_is_recorded_when_it_lands():
    revisions = sorted(str(path.relative_to(MIGRATIONS)) for path in (MIGRATIONS / "versions").glob("*.py"))
    missing = sorted(set(revisions) - set(_landed()))
    assert missing == [], f"record new revisions: cd lms_plugin/migrations && sha256sum {' '.join(missing)} >> landed.sha256"
