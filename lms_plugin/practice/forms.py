"""Forms for units, mentors, placements, the logbook's files and requests, observations, reviews,
countersignatures, the review panel and corrections. Every message is translatable."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from lms_plugin.web.forms import REQUIRED, at_most

DATE_MESSAGE = _l("Enter a date as YYYY-MM-DD.")
CHOOSE = _l("Choose one of the options.")


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


def _date(label: Any, **kwargs: Any) -> DateField:
    return DateField(label, validators=[DataRequired(REQUIRED)], invalid_value_message=DATE_MESSAGE, **kwargs)


def _select(label: Any) -> SelectField:
    return SelectField(label, coerce=int, validators=[InputRequired(REQUIRED)], invalid_choice_message=CHOOSE,
                       invalid_value_message=CHOOSE)


def _reason(label: Any = None) -> TextAreaField:
    return TextAreaField(label or _l("Reason for the correction"), validators=[DataRequired(REQUIRED), at_most(2000)],
                         description=_l("Kept with the record and shown to everyone who reads it."))


class UnitForm(FlaskForm):
    institution = _select(_l("Institution"))
    code = StringField(_l("Unit code"), validators=[DataRequired(REQUIRED), at_most(32)],
                       description=_l("Capital letters, digits and dashes, e.g. VPN-3."))
    name_en = StringField(_l("Name (English)"), validators=[Optional(), at_most(255)])
    name_lt = StringField(_l("Name (Lithuanian)"), validators=[Optional(), at_most(255)])
    address = StringField(_l("Address"), validators=[Optional(), at_most(255)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), at_most(255)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), at_most(64)])
    contact_email = StringField(_l("Contact e-mail"), validators=[Optional(), at_most(255)])


class MentorForm(FlaskForm):
    unit = _select(_l("Home unit"))
    capacity = IntegerField(_l("Capacity (cadets at once)"),
                            validators=[InputRequired(REQUIRED),
                                        NumberRange(min=1, max=20, message=_l("Between 1 and 20."))],
                            render_kw={"min": 1, "max": 20, "inputmode": "numeric"})
    accreditation_expires_on = _date(_l("Accreditation valid until"))


class PlacementForm(FlaskForm):
    cadet = _select(_l("Cadet"))
    mentor = _select(_l("Mentor"))
    unit = _select(_l("Unit"))
    starts_on = _date(_l("First day"))
    ends_on = _date(_l("Last day"))


class ReassignForm(FlaskForm):
    mentor = _select(_l("New mentor"))
    unit = _select(_l("Unit"))
    from_day = _date(_l("With the new mentor from"))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), at_most(2000)])


class EndPlacementForm(FlaskForm):
    last_day = _date(_l("Last day"))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), at_most(2000)])


class LogbookEntryWithFileForm(LogbookEntryForm):
    attachment = FileField(_l("Attach a file (optional)"),
                           description=_l("PDF, PNG, JPEG, DOCX, ODT or plain text, up to 5 MB."))


class AttachmentForm(FlaskForm):
    attachment = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))],
                           description=_l("PDF, PNG, JPEG, DOCX, ODT or plain text, up to 5 MB."))


class RequestForm(FlaskForm):
    message = TextAreaField(_l("Note to your mentor (optional)"), validators=[Optional(), at_most(5000)])


class ObservationForm(SignOffForm):
    task = _select(_l("Practice task"))
    observed_on = _date(_l("Observed on"))
    location = StringField(_l("Where"), validators=[Optional(), at_most(255)])
    description = TextAreaField(_l("What you observed"), validators=[DataRequired(REQUIRED), at_most(5000)])


class CorrectSignOffForm(SignOffForm):
    reason = _reason()


AREA_CHOICES = [SelectChoice("concern", _l("Cause for concern")),
                SelectChoice("expected", _l("At the expected level")),
                SelectChoice("above", _l("Above the expected level")),
                SelectChoice("not_observed", _l("Not observed yet"))]
RECOMMENDATION_CHOICES = [SelectChoice("progress", _l("Ready to progress")),
                          SelectChoice("not_ready", _l("Not ready to progress"))]


class ReviewFormBase(FlaskForm):
    summary = TextAreaField(_l("Overall summary"), validators=[DataRequired(REQUIRED), at_most(5000)])


def review_form(areas: list[Any], *, final: bool, correction: bool, label: Any, **kwargs: Any) -> FlaskForm:
    """A review form with one judgement and comment per competency area (built for the current framework)."""

    class ReviewForm(ReviewFormBase):
        pass

    for area in areas:
        setattr(ReviewForm, f"area_{area.id}", RadioField(
            label(area), choices=AREA_CHOICES, validators=[InputRequired(_l("Choose a judgement."))],
            invalid_choice_message=_l("Choose a judgement.")))
        setattr(ReviewForm, f"area_{area.id}_comment", TextAreaField(
            _l("Comment on %(area)s", area=area.code), validators=[Optional(), at_most(5000)],
            description=_l("Required when there is cause for concern.")))
    if final:
        ReviewForm.recommendation = RadioField(
            _l("Recommendation"), choices=RECOMMENDATION_CHOICES,
            validators=[InputRequired(_l("Say whether the cadet is ready to progress."))],
            invalid_choice_message=_l("Say whether the cadet is ready to progress."))
    if correction:
        ReviewForm.reason = _reason()
    return ReviewForm(**kwargs)


class CountersignForm(FlaskForm):
    decision = RadioField(_l("Your decision"), choices=[
        SelectChoice("agree", _l("I agree with the mentor's recommendation")),
        SelectChoice("disagree", _l("I disagree: refer to the review panel"))],
        validators=[InputRequired(_l("Choose agree or disagree."))], invalid_choice_message=_l("Choose agree or disagree."))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), at_most(5000)],
                            description=_l("Required when you disagree."))


class CorrectCountersignForm(CountersignForm):
    reason = _reason()


class PanelDecisionForm(FlaskForm):
    decision = RadioField(_l("The panel's decision"), choices=RECOMMENDATION_CHOICES,
                          validators=[InputRequired(_l("Choose the panel's decision."))],
                          invalid_choice_message=_l("Choose the panel's decision."))
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(REQUIRED), at_most(5000)])
    members = StringField(_l("Panel members"), validators=[Optional(), at_most(1000)],
                          description=_l("Names of those who took part, separated by commas."))


class CorrectPanelDecisionForm(PanelDecisionForm):
    reason = _reason()
