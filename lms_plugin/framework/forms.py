"""Forms of the competency framework pages and the competency profile. Every form that
posts is a Flask-WTF form (CSRF token included); messages are translatable."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from competency_framework.models import AggregationRule, EvidenceSource, NodeKind, RollupRule
from lms_plugin.framework.texts import KIND_LABELS, ROLLUP_LABELS, RULE_LABELS, SOURCE_LABELS
from lms_plugin.web.forms import REQUIRED, at_most

CODE_PATTERN = r"^[^\s,=+\-@'][^\s,]*$"
CODE_MESSAGE = _l("A code has no spaces or commas and does not start with = + - @ or an apostrophe.")
WHOLE_NUMBER = _l("Enter a whole number.")


def code_field(label: Any = None, description: Any = None) -> StringField:
    return StringField(label or _l("Code"), description=description,
                       validators=[DataRequired(REQUIRED), at_most(64), Regexp(CODE_PATTERN, message=CODE_MESSAGE)],
                       render_kw={"autocapitalize": "none", "spellcheck": "false"})


def title_en_field() -> StringField:
    return StringField(_l("Title (English)"), validators=[DataRequired(REQUIRED), at_most(500)])


def title_lt_field() -> StringField:
    return StringField(_l("Title (Lithuanian)"), validators=[Optional(), at_most(500)])


def description_field(label: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), at_most(20000)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(kind.value, KIND_LABELS[kind]) for kind in NodeKind]


def _source_choices() -> list[SelectChoice]:
    return [SelectChoice(source.value, SOURCE_LABELS[source]) for source in EvidenceSource]


class NewFrameworkForm(FlaskForm):
    code = code_field(description=_l("Short and stable, e.g. LKT-PAR; versions of one framework share it."))
    title_en = title_en_field()
    title_lt = title_lt_field()
    description_en = description_field(_l("Description (English)"))
    description_lt = description_field(_l("Description (Lithuanian)"))
    scale = SelectField(_l("Proficiency scale"), coerce=int, validators=[InputRequired(REQUIRED)],
                        invalid_choice_message=_l("Choose a scale from the list."),
                        invalid_value_message=_l("Choose a scale from the list."))


class FrameworkTextsForm(FlaskForm):
    title_en = title_en_field()
    title_lt = title_lt_field()
    description_en = description_field(_l("Description (English)"))
    description_lt = description_field(_l("Description (Lithuanian)"))
    scale = SelectField(_l("Proficiency scale"), coerce=int, validators=[InputRequired(REQUIRED)],
                        description=_l("Every required level of the role profiles must exist on the scale."),
                        invalid_choice_message=_l("Choose a scale from the list."),
                        invalid_value_message=_l("Choose a scale from the list."))


class NodeForm(FlaskForm):
    """Adding a node: where it goes, what kind it is, and its bilingual texts."""

    kind = SelectField(_l("Kind"), choices=_kind_choices(), validators=[InputRequired(REQUIRED)],
                       description=_l("Areas group competencies; behavioural indicators belong to a competency."),
                       invalid_choice_message=_l("Choose a kind from the list."))
    code = code_field()
    parent = SelectField(_l("Place under"), coerce=int, validators=[InputRequired(REQUIRED)],
                         invalid_choice_message=_l("Choose a place in the tree."),
                         invalid_value_message=_l("Choose a place in the tree."))
    position = IntegerField(_l("Position among its siblings"), validators=[Optional(), NumberRange(min=1, message=_l(
        "Enter a number from 1."))], description=_l("Leave empty to add it at the end."))
    title_en = title_en_field()
    title_lt = title_lt_field()
    description_en = description_field(_l("Description (English)"))
    description_lt = description_field(_l("Description (Lithuanian)"))


class NodeEditForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_kind_choices(), validators=[InputRequired(REQUIRED)],
                       invalid_choice_message=_l("Choose a kind from the list."))
    code = code_field(description=_l("Changing a code breaks the link to earlier versions, which match by code."))
    title_en = title_en_field()
    title_lt = title_lt_field()
    description_en = description_field(_l("Description (English)"))
    description_lt = description_field(_l("Description (Lithuanian)"))


class MoveForm(FlaskForm):
    parent = SelectField(_l("Move under"), coerce=int, validators=[InputRequired(REQUIRED)],
                         invalid_choice_message=_l("Choose a place in the tree."),
                         invalid_value_message=_l("Choose a place in the tree."))
    position = IntegerField(_l("Position among its new siblings"), validators=[Optional(), NumberRange(
        min=1, message=_l("Enter a number from 1."))], description=_l("Leave empty to put it at the end."))


class LevelForm(Form):
    """One level of a scale (a sub-form: the CSRF token travels with the outer form)."""

    code = StringField(_l("Code"), validators=[Optional(), at_most(64), Regexp(CODE_PATTERN, message=CODE_MESSAGE)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), at_most(255)])
    title_lt = StringField(_l("Title (Lithuanian)"), validators=[Optional(), at_most(255)])
    descriptor_en = TextAreaField(_l("Descriptor (English)"), validators=[Optional(), at_most(20000)])
    descriptor_lt = TextAreaField(_l("Descriptor (Lithuanian)"), validators=[Optional(), at_most(20000)])


class ScaleForm(FlaskForm):
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(REQUIRED), at_most(255)])
    title_lt = StringField(_l("Title (Lithuanian)"), validators=[Optional(), at_most(255)])
    proficient_level = IntegerField(_l("Proficient from level"), validators=[InputRequired(WHOLE_NUMBER)],
                                    description=_l("The lowest level that counts as proficient."))
    levels = FieldList(FormField(LevelForm), min_entries=2, max_entries=20)


class ScaleCopyForm(FlaskForm):
    code = code_field(_l("Code of the new scale"))


class RoleProfileForm(FlaskForm):
    code = code_field(description=_l("The code people's accounts refer to, e.g. officer."))
    title_en = StringField(_l("Title (English)"), validators=[DataRequired(REQUIRED), at_most(255)])
    title_lt = StringField(_l("Title (Lithuanian)"), validators=[Optional(), at_most(255)])


def requirements_form(role_profiles: Sequence[Any], competencies: Sequence[Any], top: int,
                      formdata: Any) -> FlaskForm:
    """A competency × role grid: one select per cell, named ``r<role id>-c<competency id>``."""
    class RequirementsForm(FlaskForm):
        pass

    choices = [SelectChoice("", "–"), *(SelectChoice(str(level), str(level)) for level in range(1, top + 1))]
    for profile in role_profiles:
        for node in competencies:
            setattr(RequirementsForm, f"r{profile.id}-c{node.id}", SelectField(
                _l("Required level of %(code)s for %(role)s", code=node.code, role=profile.code),
                choices=choices, validators=[Optional()],
                invalid_choice_message=_l("Choose a level of the scale.")))
    return RequirementsForm(formdata=formdata)


PRIORITY_SLOTS = len(EvidenceSource)


class PolicyForm(FlaskForm):
    rule = RadioField(_l("How a competency's own evidence becomes a level"),
                      choices=[SelectChoice(rule.value, RULE_LABELS[rule]) for rule in AggregationRule],
                      validators=[InputRequired(_l("Choose a rule."))], invalid_choice_message=_l("Choose a rule."))
    authorised_sources = MultiCheckboxField(
        _l("Authorised sources (for the most recent evidence rule)"),
        choices=[choice for choice in _source_choices() if choice.value != EvidenceSource.OVERRIDE.value],
        description=_l("Only evidence from these sources counts; an override always counts."),
        invalid_choice_message=_l("Choose sources from the list."))
    priority = FieldList(SelectField(choices=[SelectChoice("", "–"), *_source_choices()], validators=[Optional()],
                                     invalid_choice_message=_l("Choose sources from the list.")),
                         min_entries=PRIORITY_SLOTS, max_entries=PRIORITY_SLOTS,
                         label=_l("Ranking of sources (for the highest-ranking source rule)"))
    achieved_level = SelectField(_l("An “achieved” without a level counts as"), validators=[Optional()],
                                 description=_l("For evidence such as a course completion that records only "
                                                "achieved / not achieved."),
                                 invalid_choice_message=_l("Choose a level of the scale."))
    rollup = RadioField(_l("Parents and their parts"),
                        choices=[SelectChoice(rule.value, ROLLUP_LABELS[rule]) for rule in RollupRule],
                        validators=[InputRequired(_l("Choose a rule."))], invalid_choice_message=_l("Choose a rule."))
    rollup_min_children = IntegerField(_l("Number of parts that must be met"), default=1,
                                       validators=[InputRequired(WHOLE_NUMBER),
                                                   NumberRange(min=1, message=_l("Enter a number from 1."))])

    def ranked_sources(self) -> list[str]:
        return [entry.data for entry in self.priority if entry.data]


FORMAT_CHOICES = (("", _l("Detect from the file")), ("moodle", _l("Moodle competency framework CSV")),
                  ("case", _l("1EdTech CASE 1.0 JSON")), ("xlsx", _l("Excel workbook (xlsx)")))


class ImportForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to import."))],
                     render_kw={"accept": ".csv,.json,.xlsx,text/csv,application/json,"
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    format = SelectField(_l("Format"), choices=[SelectChoice(value, label) for value, label in FORMAT_CHOICES],
                         validators=[Optional()], invalid_choice_message=_l("Choose a format from the list."))
    scale = SelectField(_l("Scale for files without one"), coerce=str, validators=[Optional()],
                        description=_l("Only needed for CASE files that bring no rubric."),
                        invalid_choice_message=_l("Choose a scale from the list."))


class RatingForm(FlaskForm):
    competency = SelectField(_l("Competency"), coerce=int, validators=[InputRequired(REQUIRED)],
                             invalid_choice_message=_l("Choose a competency from the list."),
                             invalid_value_message=_l("Choose a competency from the list."))
    kind = RadioField(_l("Record as"), default="rating",
                      choices=[SelectChoice("rating", _l("A rating (counts under the framework's rule)")),
                               SelectChoice("override", _l("An override (sets the level outright; needs a reason)"))],
                      validators=[InputRequired(_l("Choose rating or override."))],
                      invalid_choice_message=_l("Choose rating or override."))
    level = SelectField(_l("Level"), coerce=int, validators=[InputRequired(REQUIRED)],
                        invalid_choice_message=_l("Choose a level of the scale."),
                        invalid_value_message=_l("Choose a level of the scale."))
    note = TextAreaField(_l("Note or reason"), validators=[Optional(), at_most(5000)],
                         description=_l("What you observed. Required for an override."))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.kind.data == "override" and not (self.note.data or "").strip():
            self.note.errors = [*self.note.errors, _l("An override needs a reason.")]
            return False
        return valid


def level_choices(levels: Iterable[Any], language: str, blank: Any = None, as_text: bool = False) -> list[SelectChoice]:
    """Choices for a level select: "3 · Independent practice"; values are ints, or strings with ``as_text``."""
    choices = [SelectChoice("", blank)] if blank is not None else []
    choices += [SelectChoice(str(level.value) if as_text else level.value,
                             f"{level.value} · {level.localised('title', language)}") for level in levels]
    return choices
