"""Test administration forms: the window, the assignment, reopening a sitting."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, ValidationError

from lms_plugin.web.forms import REQUIRED, at_most

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
