"""Lithuanian alphabetical order for people's names and other words, in one place.

Python's ``sorted`` compares code points, so "Ąžuolas" lands after "Viktorija" and "Šarūnas"
after "Zigmas". The Unicode Collation Algorithm (pyuca, DUCET) puts letters with diacritics
beside their base letters; Lithuanian tailors that (CLDR ``lt``): č, š and ž are letters of
their own right after c, s and z, and y sorts with i. The tailoring is applied by rewriting
those letters before the UCA key is built.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable, TypeVar

from pyuca import Collator

T = TypeVar("T")

# A character with no DUCET weight gets an implicit primary weight above every letter, so
# "c" + AFTER_LETTERS sorts after any "c…" word and before "d": č's own place.
_AFTER_LETTERS = "\U000e0f00"
# y is a secondary variant of i in Lithuanian: i plus a combining mark sorts just after i.
_Y_AS_I = "i\u0335"
_TAILORING = str.maketrans({
    "č": "c" + _AFTER_LETTERS, "Č": "C" + _AFTER_LETTERS,
    "š": "s" + _AFTER_LETTERS, "Š": "S" + _AFTER_LETTERS,
    "ž": "z" + _AFTER_LETTERS, "Ž": "Z" + _AFTER_LETTERS,
    "y": _Y_AS_I, "Y": _Y_AS_I.upper(),
})


@lru_cache(maxsize=1)
def _collator() -> Collator:
    return Collator()


def sort_key(text: str | None) -> tuple[int, ...]:
    """The key that orders ``text`` as a Lithuanian reader expects (case and accents break ties)."""
    return _collator().sort_key((text or "").translate(_TAILORING))


def sorted_lt(items: Iterable[T], key: Callable[[T], str | None] = str) -> list[T]:
    """``items`` in Lithuanian alphabetical order of ``key(item)``."""
    return sorted(items, key=lambda item: sort_key(key(item)))
