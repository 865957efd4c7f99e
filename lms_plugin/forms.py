"""WTForms forms. Every form carries a CSRF token through Flask-WTF."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A button that changes state: only the CSRF token travels."""


class LogbookEntryForm(FlaskForm):
    task = SelectField(_l("Practice task"), coerce=int, validators=[InputRequired()])
    performed_on = DateField(_l("Date"), validators=[DataRequired()])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=255)])
    description = TextAreaField(_l("What you did"), validators=[DataRequired(), Length(max=5000)])
    reflection = TextAreaField(_l("Reflection"), validators=[Optional(), Length(max=5000)],
                               description=_l("What went well, what you would do differently, what you learned."))


class SignOffForm(FlaskForm):
    outcome = RadioField(_l("Judgement"), choices=[SelectChoice("achieved", _l("Achieved")),
                                                   SelectChoice("not_yet", _l("Not yet achieved"))],
                         validators=[InputRequired(message=_l("Choose achieved or not yet achieved."))])
    comment = TextAreaField(_l("Feedback to the cadet"), validators=[Optional(), Length(max=5000)],
                            description=_l("Required when the task is not yet achieved."))
