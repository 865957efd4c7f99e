"""Normalising the texts and codes every operation and import stores.

One place decides what a stored text may contain, so that exports are safe in every
format (xlsx refuses control characters, XML refuses lone surrogates) and an
export → import round trip reproduces exactly what was stored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from competency_framework.errors import FrameworkError

CODE_MAX = 64
TITLE_MAX = 500
SHORT_TITLE_MAX = 255
TEXT_MAX = 20_000

# C0/C1 controls except tab and newline, lone surrogates and the XML non-characters.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = "=+-@"
_CODE_FORBIDDEN = re.compile(r"[\s,]")


def clean_text(value: Any) -> str:
    """Multi-line text: unified newlines, no control characters, no outer whitespace."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return _FORBIDDEN.sub("", text).strip()


def clean_title(value: Any) -> str:
    """A one-line text: like ``clean_text`` with line breaks and tabs turned into spaces."""
    return clean_text(value).replace("\n", " ").replace("\t", " ").strip()


def check_code(value: Any, what: str = "code") -> str:
    """A code is an identifier used in cross-references and spreadsheets.

    No whitespace or commas (Moodle joins cross-references with commas) and no leading
    formula character, so that a code never needs escaping anywhere.
    """
    code = "" if value is None else str(value).strip()
    if isinstance(value, float) and value.is_integer():
        code = str(int(value))
    if not code:
        raise FrameworkError(f"{what} is empty")
    if len(code) > CODE_MAX:
        raise FrameworkError(f"{what} {code[:20]!r}… is longer than {CODE_MAX} characters")
    if _FORBIDDEN.search(code) or _CODE_FORBIDDEN.search(code):
        raise FrameworkError(f"{what} {code!r} contains spaces, commas or control characters")
    if code[0] in _FORMULA_START or code[0] == "'":
        raise FrameworkError(f"{what} {code!r} starts with {code[0]!r}")
    return code


def check_length(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise FrameworkError(f"{what} is longer than {limit} characters")
    return value


def slug(value: str, limit: int = CODE_MAX) -> str:
    """A code made from a title, for imports whose source has no codes."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    result = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    return result[:limit].rstrip("-")
