"""What every area's forms share: required and length messages, and the confirm button.
Every form carries a CSRF token through Flask-WTF.

WTForms has no Lithuanian catalogue, so every validator and parse error here
carries its own translatable message.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import Length

REQUIRED = _l("This field is required.")


def at_most(characters: int) -> Length:
    return Length(max=characters, message=_l("Keep it under %(max)d characters.", max=characters))


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token travels."""
