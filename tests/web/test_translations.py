"""Every user-facing string is in the Lithuanian catalogue, translated, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def test_lithuanian_catalogue_covers_every_string_in_the_code(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-o", str(template), str(ROOT / "lms_plugin")],
                   check=True, capture_output=True, cwd=ROOT)
    with template.open("rb") as handle:
        messages = [message for message in read_po(handle) if message.id]
    extracted = {message.id for message in messages}
    # Every template that translates something was read: area templates live in their own folders.
    scanned = {str((ROOT / filename).resolve().relative_to(ROOT / "lms_plugin"))
               for message in messages for filename, _line in message.locations}
    translating = {str(path.relative_to(ROOT / "lms_plugin")) for path in (ROOT / "lms_plugin").rglob("*.html")
                   if "_(" in path.read_text(encoding="utf-8")}
    assert translating and translating <= scanned, sorted(translating - scanned)
    with (ROOT / "lms_plugin/translations/lt/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = {message.id: message for message in read_po(handle) if message.id}
    missing = sorted(str(m) for m in extracted - set(catalogue))
    assert not missing, f"run pybabel extract/update and translate: {missing}"
    untranslated = sorted(str(m) for m in extracted if not catalogue[m].string)
    assert not untranslated, untranslated
    for msgid in extracted:
        assert sorted(PLACEHOLDER.findall(str(msgid))) == sorted(PLACEHOLDER.findall(str(catalogue[msgid].string))), \
            msgid


def test_the_english_catalogue_holds_no_lithuanian_text():
    """English pages fall back to the msgids; a Lithuanian msgstr here would show on them."""
    lithuanian = re.compile("[ąčęėįšųūžĄČĘĖĮŠŲŪŽ]")
    with (ROOT / "lms_plugin/translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        leaked = [message.id for message in read_po(handle)
                  if message.id and lithuanian.search(str(message.string or ""))]
    assert leaked == []
