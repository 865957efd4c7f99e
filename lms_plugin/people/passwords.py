"""The password rule: long enough, not on the common/breached list shipped with zxcvbn, not built
from the person's own name or username, and hard to guess by zxcvbn's estimate.

Everything runs offline: zxcvbn carries its frequency lists (30,000 passwords from breaches, names,
English words) inside the package.
"""

from __future__ import annotations

import re

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.matching import RANKED_DICTIONARIES

MIN_PASSWORD_LENGTH = 10
# zxcvbn's scale is 0–4; 3 means "safely unguessable" (about 10^8 guesses), which an offline
# attack on a stolen hash would still need days for and an online attack never reaches.
MIN_SCORE = 3
# zxcvbn refuses more than 72 characters (its cost grows fast with length); the first 72 of a longer
# password are what it estimates, the rest only adds strength.
_CHECKED_LENGTH = 72

_COMMON = RANKED_DICTIONARIES["passwords"]


def _context(username: str, full_name: str) -> list[str]:
    words = [username, full_name, *re.split(r"[\s._@-]+", f"{username} {full_name}")]
    return [word.lower() for word in words if len(word) >= 3]


def password_problem(password: str, *, username: str = "", full_name: str = "") -> LazyString | None:
    """Why ``password`` is refused (a translatable message), or None when it is good enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if not password.strip():
        return _l("A password cannot be only spaces.")
    context = _context(username, full_name)
    folded = password.lower()
    stripped = re.sub(r"[\W\d_]+", "", folded)
    # A listed password with a few digits or signs around it ("Password-2024!") is as weak as the listed one.
    if folded.strip() in _COMMON or (len(stripped) >= 4 and stripped in _COMMON and len(folded) - len(stripped) <= 6):
        return _l("This password is on the list of common or leaked passwords. Choose another one.")
    names = sorted({re.sub(r"[\W\d_]+", "", word) for word in context} - {""}, key=len, reverse=True)
    built_from_names = bool(names) and re.fullmatch(f"(?:{'|'.join(map(re.escape, names))})+", stripped)
    if (username and username.lower() in folded) or built_from_names:
        return _l("A password must not contain your name or username.")
    result = zxcvbn(password[:_CHECKED_LENGTH], user_inputs=context)
    if result["score"] >= MIN_SCORE:
        return None
    patterns = {match["pattern"] for match in result["sequence"]}
    if patterns & {"repeat", "sequence", "spatial"}:
        return _l("This password is built from repeated characters, sequences or keyboard rows and is easy to "
                  "guess. Use a few unrelated words instead.")
    if any(match.get("dictionary_name") == "passwords" for match in result["sequence"]):
        return _l("This password is on the list of common or leaked passwords. Choose another one.")
    return _l("This password is too easy to guess. Use a few unrelated words, e.g. with dashes between them.")
