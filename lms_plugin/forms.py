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


# --------------------------------------------------------------------------- test administration (issue 4)

from typing import Any  # noqa: E402

from wtforms import BooleanField, DateTimeLocalField, IntegerField  # noqa: E402
from wtforms.validators import NumberRange, ValidationError  # noqa: E402

LOCAL_DATETIME = "%Y-%m-%dT%H:%M"
DATETIME_INVALID = _l("Enter a date and time as YYYY-MM-DD HH:MM.")
WHOLE_NUMBER = _l("Enter a whole number.")


class WindowForm(FlaskForm):
    """When an assignment opens and closes, in Lithuanian time."""

    opens_at = DateTimeLocalField(_l("Opens"), format=LOCAL_DATETIME, validators=[InputRequired(REQUIRED)],
                                  invalid_value_message=DATETIME_INVALID, description=_l("Lithuanian time."))
    closes_at = DateTimeLocalField(_l("Closes"), format=LOCAL_DATETIME, validators=[InputRequired(REQUIRED)],
                                   invalid_value_message=DATETIME_INVALID, description=_l("Lithuanian time."))

    def validate_closes_at(self, field: DateTimeLocalField) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The test must close after it opens."))


class AssignmentForm(WindowForm):
    instrument = SelectField(_l("Test"), coerce=int, validators=[InputRequired(REQUIRED)],
                             invalid_choice_message=_l("Choose a test."), invalid_value_message=_l("Choose a test."))
    cohort = SelectField(_l("Cohort"), coerce=int, validators=[InputRequired(REQUIRED)],
                         invalid_choice_message=_l("Choose a cohort."), invalid_value_message=_l("Choose a cohort."))
    time_limit_minutes = IntegerField(
        _l("Time limit (minutes)"), invalid_value_message=WHOLE_NUMBER,
        validators=[Optional(), NumberRange(min=1, max=600, message=_l("Enter from 1 to 600 minutes."))],
        description=_l("Leave empty for no time limit. The limit is kept by the server, not the browser."))
    randomise_items = BooleanField(_l("Show the questions in a random order, different for each sitting"))
    attempt_policy = RadioField(_l("Attempts"), default="once",
                                choices=[SelectChoice("once", _l("One attempt")),
                                         SelectChoice("retake", _l("Another attempt after a number of days"))],
                                validators=[InputRequired(message=_l("Choose how many attempts are allowed."))],
                                invalid_choice_message=_l("Choose how many attempts are allowed."))
    retake_after_days = IntegerField(
        _l("Days before another attempt"), invalid_value_message=WHOLE_NUMBER,
        validators=[Optional(), NumberRange(min=1, max=365, message=_l("Enter from 1 to 365 days."))],
        description=_l("Counted from the submission of the previous attempt."))
    norm_group = SelectField(_l("Norm group for bands"), validators=[InputRequired(REQUIRED)],
                             invalid_choice_message=_l("Choose a norm group."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        days = self.retake_after_days
        if self.attempt_policy.data == "retake" and days.data is None and not days.errors:
            days.errors = [_l("Enter after how many days another attempt is allowed.")]
            return False
        return valid


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Reason for reopening"), validators=[DataRequired(REQUIRED), at_most(1000)],
                           description=_l("For example a technical failure or an illness during the test. "
                                          "The reason is kept with the new attempt and in the audit log."))
