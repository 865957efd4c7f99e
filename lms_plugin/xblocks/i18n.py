"""The blocks' own message catalogues, in Open edX's layout: ``translations/<lang>/LC_MESSAGES/text.po``
inside this package (``text.mo`` beside it once compiled, which is what Open edX's i18n service
reads for Studio's field labels).

A block speaks its own ``language`` setting, whatever the LMS user's locale, so that a whole test is
in one language; :func:`translation` gives that language's catalogue. Where the compiled ``.mo`` is
missing (an install that skipped compiling), the ``.po`` is read instead, so learners never see a
half-translated block.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "text"
FOLDER = Path(__file__).parent / "translations"


def N_(message: str) -> str:  # noqa: N802  (the conventional name for gettext_noop)
    """Mark a message for extraction; it is translated when shown, in the block's language."""
    return message


class CatalogueTranslations(gettext.NullTranslations):
    """A ``.po`` file's translated, non-fuzzy messages as a gettext translation."""

    def __init__(self, po_path: Path):
        super().__init__()
        with po_path.open("rb") as handle:
            self._messages = {str(message.id): str(message.string) for message in read_po(handle)
                              if message.id and message.string and not message.fuzzy}

    def gettext(self, message: str) -> str:
        return self._messages.get(message, message)


@functools.lru_cache(maxsize=8)
def translation(language: str) -> gettext.NullTranslations:
    """The catalogue for ``language``: the compiled one, else the ``.po``, else the messages as written."""
    try:
        return gettext.translation(DOMAIN, str(FOLDER), [language])
    except FileNotFoundError:
        po_path = FOLDER / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        return CatalogueTranslations(po_path) if po_path.exists() else gettext.NullTranslations()
