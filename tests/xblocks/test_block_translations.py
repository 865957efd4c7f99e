"""The block's own catalogue (Open edX's layout, domain "text") covers every message and field label
it shows, in Lithuanian with the same placeholders; the block reads it with or without compiling."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from lms_plugin.xblocks import i18n
from lms_plugin.xblocks.psychometric_test import MESSAGES, message

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "lms_plugin" / "xblocks" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def _extracted(tmp_path: Path) -> set[str]:
    template = tmp_path / "text.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-k", "N_", "-o", str(template),
                    str(ROOT / "lms_plugin" / "xblocks")], check=True, capture_output=True, cwd=ROOT)
    with template.open("rb") as handle:
        return {str(entry.id) for entry in read_po(handle) if entry.id}


def test_the_lithuanian_catalogue_covers_every_message_and_field_label(tmp_path):
    extracted = _extracted(tmp_path)
    assert set(MESSAGES.values()) <= extracted  # the message table is marked for extraction
    assert {"Display name", "Norms", "Subscale scores"} <= extracted  # and so are the fields' labels
    with (CATALOGUES / "lt" / "LC_MESSAGES" / "text.po").open("rb") as handle:
        catalogue = {str(entry.id): entry for entry in read_po(handle) if entry.id}
    assert sorted(extracted - set(catalogue)) == [], "extract with -k N_ and update text.po"
    assert sorted(msgid for msgid in extracted if not catalogue[msgid].string or catalogue[msgid].fuzzy) == []
    for msgid in extracted:
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(str(catalogue[msgid].string))), msgid


def test_messages_come_in_the_blocks_language_with_their_values():
    assert message("question_of", "lt", number=3, total=64) == "Klausimas 3 iš 64"
    assert message("question_of", "en", number=3, total=64) == "Question 3 of 64"
    assert message("percent", "lt", value=40) == "40 %"
    assert message("bars_note", "en").count("(0–100 %)") == 1
    assert message("unknown_item", "de", item="Q1") == "Item Q1 is not part of this test."  # no catalogue: English


@pytest.mark.parametrize("language", ["lt", "en"])
def test_the_po_file_alone_gives_the_same_texts_as_the_compiled_catalogue(language):
    """An install that did not compile the catalogue still shows the block translated."""
    compiled = i18n.translation(language)
    assert (CATALOGUES / language / "LC_MESSAGES" / "text.mo").exists(), "make translations compiles it"
    from_po = i18n.CatalogueTranslations(CATALOGUES / language / "LC_MESSAGES" / "text.po")
    for msgid in MESSAGES.values():
        assert from_po.gettext(msgid) == compiled.gettext(msgid)
    if language == "lt":
        assert from_po.gettext(MESSAGES["saved"]) == "Atsakymas išsaugotas."
