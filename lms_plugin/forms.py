"""WTForms forms. Every form carries a CSRF token through Flask-WTF.

WTForms has no Lithuanian catalogue, so every validator and parse error here
carries its own translatable message.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

REQUIRED = _l("This field is required.")


def at_most(characters: int) -> Length:
    return Length(max=characters, message=_l("Keep it under %(max)d characters.", max=characters))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), at_most(64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), at_most(256)],
                             render_kw={"autocomplete": "current-password"})


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired(REQUIRED)])


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token travels."""


class LogbookEntryForm(FlaskForm):
    task = SelectField(_l("Practice task"), coerce=int, validators=[InputRequired(REQUIRED)],
                       invalid_choice_message=_l("Choose a task from the catalogue."),
                       invalid_value_message=_l("Choose a task from the catalogue."))
    performed_on = DateField(_l("Date"), validators=[DataRequired(REQUIRED)],
                             invalid_value_message=_l("Enter a date as YYYY-MM-DD."))
    location = StringField(_l("Where"), validators=[Optional(), at_most(255)])
    description = TextAreaField(_l("What you did"), validators=[DataRequired(REQUIRED), at_most(5000)])
    reflection = TextAreaField(_l("Reflection"), validators=[Optional(), at_most(5000)],
                               description=_l("What went well, what you would do differently, what you learned."))


class SignOffForm(FlaskForm):
    outcome = RadioField(_l("Judgement"), choices=[SelectChoice("achieved", _l("Achieved")),
                                                   SelectChoice("not_yet", _l("Not yet achieved"))],
                         validators=[InputRequired(message=_l("Choose achieved or not yet achieved."))],
                         invalid_choice_message=_l("Choose achieved or not yet achieved."))
    comment = TextAreaField(_l("Feedback to the cadet"), validators=[Optional(), at_most(5000)],
                            description=_l("Required when the task is not yet achieved."))
