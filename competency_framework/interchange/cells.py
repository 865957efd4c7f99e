"""Spreadsheet-safe cells and the plain-text ↔ HTML codec used by the Moodle format.

Formula injection: a CSV or xlsx cell starting with ``= + - @`` (or tab/CR) may be run as
a formula by a spreadsheet. Exports prefix such cells with an apostrophe; the prefix is
also added to cells that already start with apostrophes before such a character, so that
the escaping is reversible and imports restore the exact text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_DANGEROUS = re.compile(r"^'*[=+\-@\t\r]")


def escape_cell(value: str) -> str:
    return "'" + value if _DANGEROUS.match(value) else value


def unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and _DANGEROUS.match(value[1:]) else value


# --- plain text ↔ HTML ---------------------------------------------------------------------
#
# Stored texts are plain. Moodle descriptions are HTML and Moodle titles may carry its
# multi-language spans (``<span lang="lt" class="multilang">``). Reading HTML follows how a
# browser shows it — literal whitespace collapses, <br> and block ends break lines — while
# whitespace written as a character reference is kept. Writing uses exactly that, so
# text → HTML → text is the identity for every cleaned text.

_HTML_SPACE = " \t\n\r\f"
_BLOCKS = frozenset({"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
                     "blockquote", "pre", "section", "article", "dd", "dt", "dl"})
_SKIP = frozenset({"script", "style", "head", "title"})


def text_to_html(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        out = []
        for i, char in enumerate(line):
            if char == " ":
                literal = 0 < i < len(line) - 1 and line[i - 1] not in _HTML_SPACE and line[i + 1] not in _HTML_SPACE
                out.append(" " if literal else "&#32;")
            elif char in "\t\f\r":
                out.append(f"&#{ord(char)};")
            else:
                out.append(html.escape(char, quote=False))
        lines.append("".join(out))
    return "<br>".join(lines)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.pending_space = False
        self.pending_break = 0
        self.line_has_text = False
        self.skipping = 0

    def _emit(self, text: str) -> None:
        if self.pending_break and self.parts:
            existing = len("".join(self.parts[-3:])) - len("".join(self.parts[-3:]).rstrip("\n"))
            self.parts.append("\n" * max(self.pending_break - existing, 0))
        elif self.pending_space and self.line_has_text:
            self.parts.append(" ")
        self.pending_break = 0
        self.pending_space = False
        self.parts.append(text)
        self.line_has_text = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
            self.pending_space = False
            self.line_has_text = False
        elif tag in _BLOCKS:
            self._block()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCKS:
            self._block()

    def _block(self) -> None:
        if self.parts:
            self.pending_break = 2
        self.pending_space = False
        self.line_has_text = False

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        for chunk in re.split(r"([ \t\n\r\f]+)", data):
            if not chunk:
                continue
            if chunk[0] in _HTML_SPACE:
                self.pending_space = True
            else:
                self._emit(chunk)

    def handle_charref(self, name: str) -> None:
        if not self.skipping:
            self._emit(html.unescape(f"&#{name};"))

    def handle_entityref(self, name: str) -> None:
        if not self.skipping:
            self._emit(html.unescape(f"&{name};"))


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts).strip()


_SPAN = re.compile(r'<span(?=[^>]*\sclass="multilang")[^>]*\slang="([A-Za-z0-9_-]+)"[^>]*>(.*?)</span>',
                   re.DOTALL | re.IGNORECASE)
_ONLY_SPANS = re.compile(r'^\s*(?:<span(?=[^>]*\sclass="multilang")[^>]*\slang="[A-Za-z0-9_-]+"[^>]*>.*?</span>\s*)+$',
                         re.DOTALL | re.IGNORECASE)


def split_multilang(value: str) -> dict[str, str] | None:
    """The language → HTML parts of a field written as Moodle multi-language spans, else None."""
    if "multilang" not in value or not _ONLY_SPANS.match(value):
        return None
    return {lang.lower(): body for lang, body in _SPAN.findall(value)}


def join_multilang(parts: dict[str, str]) -> str:
    return "".join(f'<span lang="{lang}" class="multilang">{body}</span>' for lang, body in parts.items())
