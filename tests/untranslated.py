"""English catalogue words left on a Lithuanian page.

Loads the Lithuanian catalogue and flags every English msgid of two or more words (or the
literal stretches of two or more words between its placeholders) that a page shows verbatim
while its translation says something else. Shared by the web and the browser suites.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[1] / "lms_plugin/translations/lt/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def english_phrases() -> tuple[str, ...]:
    """Stretches of two or more words from msgids whose Lithuanian text differs."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    phrases: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        translated = " ".join(str(s) for s in strings if s)
        for msgid in ids:
            for piece in PLACEHOLDER.split(str(msgid)):
                piece = SPACES.sub(" ", piece).strip(" .,:;()·–-")
                if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 2 and piece not in translated:
                    phrases.add(piece)
    return tuple(sorted(phrases, key=len, reverse=True))


class _VisibleText(HTMLParser):
    HIDDEN = {"script", "style", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        values = dict(attrs)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a person reads on a page (and the titles and labels a screen reader reads)."""
    parser = _VisibleText()
    parser.feed(html)
    return SPACES.sub(" ", "\n".join(parser.parts))


def english_on_page(text: str) -> list[str]:
    """Catalogue phrases found verbatim (case-sensitive, on word boundaries) in ``text``."""
    text = SPACES.sub(" ", text)
    found: list[str] = []
    for phrase in english_phrases():  # longest first: a phrase inside one already found is not listed again
        if phrase in text and not any(phrase in longer for longer in found) \
                and re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text):
            found.append(phrase)
    return found
