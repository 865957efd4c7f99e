"""An Open edX XBlock that runs the service's psychometric instrument inside a course.

A thin adapter: the instrument is the shipped definition (``lms_plugin.instruments``)
parsed by :func:`psychometrics.load_instrument`; answers are checked with
:meth:`psychometrics.Instrument.validate_response` and scored with
:func:`psychometrics.score_instrument` -- the same calls the Flask app's
``lms_plugin.testing.operations`` makes, so a scoring rule lives in one place.

The block keeps only the learner's own state (answers, position, submitted, scores).
What reaches the gradebook is completion, never a trait score (see :meth:`submit`).
Bands need a norm group: course authors paste the norm file the app's psychologist
downloads (each subscale's mean and SD, :func:`psychometrics.norms_document`) into the
block's settings; without one, learners see where they fall in the possible range.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from typing import Any, Mapping

import yaml
from web_fragments.fragment import Fragment
from webob import Response
from xblock.core import XBlock
from xblock.fields import Boolean, DateTime, Dict, Integer, Scope, String
from xblock.utils.resources import ResourceLoader
from xblock.utils.studio_editable import StudioEditableXBlockMixin
from xblock.validation import ValidationMessage

from lms_plugin.instruments import INSTRUMENT_NAME, instrument_definition, shipped_instrument_names
from lms_plugin.xblocks.i18n import N_, translation
from psychometrics import (
    Instrument,
    InstrumentDefinitionError,
    InvalidResponse,
    NormSummary,
    band_for_t,
    load_instrument,
    read_norms_document,
    score_instrument,
)
from psychometrics.instrument import localise

log = logging.getLogger(__name__)
loader = ResourceLoader(__name__)

LANGUAGES = ("lt", "en")
DEFAULT_LANGUAGE = "lt"
# The band scale learners see runs over T-scores 20–80 (three SD either side of the mean).
_SCALE_LOW, _SCALE_HIGH = 20.0, 80.0


def _(text: str) -> str:
    """Mark a field label for extraction (like ``gettext_noop``); Studio translates it when shown,
    through the i18n service, from this package's ``text`` catalogue."""
    return text


# ---------------------------------------------------------------------------------------------
# Messages the block shows, in the block's ``language`` setting (see ``lms_plugin.xblocks.i18n``),
# so the whole test is in one language whatever the LMS user's locale. Handlers return the key
# and parameters beside the text.
# ---------------------------------------------------------------------------------------------
MESSAGES: dict[str, str] = {
    "question_of": N_("Question %(number)s of %(total)s"),
    "answered_of": N_("Answered %(answered)s of %(total)s"),
    "instructions": N_("Instructions"),
    "previous": N_("Previous"),
    "next": N_("Next"),
    "to_review": N_("Review and submit"),
    "review_heading": N_("Review and submit your answers"),
    "unanswered": N_("Unanswered questions:"),
    "all_answered": N_("You have answered every question."),
    "final_warning": N_("Once you submit, you cannot change your answers."),
    "back": N_("Back to the questions"),
    "submit": N_("Submit answers"),
    "saved": N_("Answer saved."),
    "submitting": N_("Submitting…"),
    "network_error": N_("Your answer could not be saved. Check your connection and try again."),
    "submitted": N_("Your answers have been submitted."),
    "results_heading": N_("Your results"),
    "bars_note": N_("Each bar shows where your answers fall in the possible range of that part (0–100 %%). "
                    "They are not marks and are not passed or failed."),
    "percent": N_("%(value)s%%"),
    "bands_note": N_("Each part is compared with %(group)s (%(n)s people): your band, and what it means for your "
                     "development. Bands are not marks and are not passed or failed."),
    "band": N_("Band: %(band)s"),
    "not_scored": N_("Not scored: too few answers (%(answered)s of %(total)s)."),
    "results_private": N_("The Training Centre will discuss your results with you."),
    # Errors returned by the handlers.
    "bad_request": N_("The request must be a JSON object."),
    "unknown_item": N_("Item %(item)s is not part of this test."),
    "invalid_value": N_("That answer is not one of the options for item %(item)s."),
    "invalid_position": N_("The position must be a whole number."),
    "already_submitted": N_("This test has already been submitted; answers can no longer change."),
    "unavailable": N_("This test is not available: %(reason)s."),
}


def message_template(key: str, language: str) -> str:
    """Message ``key`` in ``language``, its ``%(name)s`` placeholders still open (for the page's script)."""
    return translation(language).gettext(MESSAGES[key])


def message(key: str, language: str, **params: Any) -> str:
    """The text of message ``key`` in ``language`` (the English text where none), with ``params`` filled in."""
    return message_template(key, language) % params


# ---------------------------------------------------------------------------------------------
# Instruments: the shipped definitions, parsed once per process.
# ---------------------------------------------------------------------------------------------
class InstrumentUnavailable(Exception):
    """The configured instrument cannot be loaded; the text says why, for course staff."""


@functools.lru_cache(maxsize=16)
def load_shipped_instrument(name: str) -> Instrument:
    """The shipped instrument definition ``name`` (file name without ``.yaml``), parsed and validated.

    Cached: a definition only changes with a deployment, which restarts the process. Failures are
    not cached, so a fixed file is picked up on the next request.
    """
    if not isinstance(name, str) or not INSTRUMENT_NAME.fullmatch(name):
        raise InstrumentUnavailable(f"{name!r} is not an instrument name")
    try:
        definition = instrument_definition(name)
    except FileNotFoundError:
        raise InstrumentUnavailable(f"no instrument called {name!r} is installed") from None
    except yaml.YAMLError as exc:
        raise InstrumentUnavailable(f"the definition of {name!r} is not valid YAML") from exc
    try:
        return load_instrument(definition)
    except InstrumentDefinitionError as exc:
        raise InstrumentUnavailable(f"the definition of {name!r} is invalid ({exc})") from exc


def read_norms(text: str, instrument: Instrument) -> dict[str, NormSummary]:
    """Norms pasted into the block, checked against its instrument (ValueError names the field at fault)."""
    return read_norms_document(text, instrument.code, instrument.version, [s.code for s in instrument.subscales])


def _instrument_choices() -> list[dict[str, str]]:
    return [{"display_name": name, "value": name} for name in shipped_instrument_names()]


def _json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", charset="utf-8")


# ---------------------------------------------------------------------------------------------
# The block
# ---------------------------------------------------------------------------------------------
class PsychometricTestXBlock(StudioEditableXBlockMixin, XBlock):
    """Sit one of the service's psychometric instruments: one item at a time, saved as you go."""

    has_score = True
    icon_class = "problem"

    display_name = String(
        display_name=_("Display name"),
        help=_("The name learners see for this test in the course navigation."),
        scope=Scope.settings,
        default=_("Staff competence inventory"),
    )
    instrument = String(
        display_name=_("Instrument"),
        help=_("Which of the Training Centre's installed instruments learners sit here (the definition's "
               "file name without .yaml, e.g. staff_competence). Do not change it once learners have "
               "started: answers to items the new instrument does not have are ignored."),
        scope=Scope.settings,
        default="staff_competence",
        values=_instrument_choices,
    )
    language = String(
        display_name=_("Language"),
        help=_("The language of the questions, answer options and messages: Lithuanian or English."),
        scope=Scope.settings,
        default=DEFAULT_LANGUAGE,
        values=[{"display_name": "Lietuvių", "value": "lt"}, {"display_name": "English", "value": "en"}],
    )
    show_feedback_to_learner = Boolean(
        display_name=_("Show results to the learner"),
        help=_("After submitting, show learners their own result for each part of the test: a band with "
               "feedback against the norms below or, without norms, a bar (share of the possible range, "
               "0–100 %). When off, learners only see that their answers were submitted. Course staff never "
               "see trait scores in the gradebook either way."),
        scope=Scope.settings,
        default=True,
    )

    norms = String(
        display_name=_("Norms"),
        help=_("Optional. The norm file of this instrument that the Training Centre psychologist downloads "
               "from the Norm groups page (JSON: each part's mean and SD in one norm group, no person's "
               "score). With norms, learners see a band and feedback for each part; without, a bar of the "
               "share of the possible range."),
        scope=Scope.settings,
        default="",
        multiline_editor=True,
    )

    answers = Dict(
        display_name=_("Answers"),
        help=_("The learner's answers: item id to the chosen option key, each checked against the instrument."),
        scope=Scope.user_state,
        default={},
    )
    position = Integer(
        display_name=_("Position"),
        help=_("Index of the item the learner is on, so that leaving and coming back resumes there."),
        scope=Scope.user_state,
        default=0,
    )
    submitted = Boolean(
        display_name=_("Submitted"),
        help=_("Whether the learner has submitted; a submitted test is final."),
        scope=Scope.user_state,
        default=False,
    )
    submitted_at = DateTime(
        display_name=_("Submitted at"),
        help=_("When the learner submitted (UTC)."),
        scope=Scope.user_state,
        default=None,
    )
    subscale_scores = Dict(
        display_name=_("Subscale scores"),
        help=_("The learner's raw subscale scores from psychometrics.score_instrument, by subscale code. "
               "Confidential: never published as a grade."),
        scope=Scope.user_state,
        default={},
    )

    editable_fields = ("display_name", "instrument", "language", "show_feedback_to_learner", "norms")

    # --- helpers -------------------------------------------------------------------------------

    @property
    def ui_language(self) -> str:
        return self.language if self.language in LANGUAGES else DEFAULT_LANGUAGE

    def load_instrument(self) -> Instrument:
        """The configured instrument; raises :class:`InstrumentUnavailable` with a reason."""
        return load_shipped_instrument(self.instrument)

    def valid_answers(self, instrument: Instrument) -> dict[str, str]:
        """The stored answers that belong to ``instrument``.

        Every answer was validated when saved, so this only drops answers left over from another
        instrument if an author changed the setting after learners had started.
        """
        valid = {}
        for item_id, key in self.answers.items():
            try:
                valid[item_id] = instrument.validate_response(item_id, key)
            except InvalidResponse:
                log.warning("Ignoring answer to %r: not valid for instrument %s v%s",
                            item_id, instrument.code, instrument.version)
        return valid

    def norm_summaries(self, instrument: Instrument) -> dict[str, NormSummary]:
        """The configured norms by subscale; empty when none are set or they do not fit the instrument.

        Studio refuses norms that do not fit (see :meth:`validate_field_data`), so an error here
        means the instrument changed under them: learners then get the bars, and the log says why.
        """
        if not self.norms.strip():
            return {}
        try:
            return read_norms(self.norms, instrument)
        except ValueError as exc:
            log.warning("Psychometric test %s ignores its norms: %s", self.scope_ids.usage_id, exc)
            return {}

    def _error(self, status: int, key: str, **params: Any) -> Response:
        """A JSON error: ``error`` is the text to show, ``code`` and ``params`` the message key and values."""
        return _json_response({"error": message(key, self.ui_language, **params), "code": key, "params": params},
                              status=status)

    def _element_prefix(self) -> str:
        return "pt-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(self.scope_ids.usage_id))

    # --- views ---------------------------------------------------------------------------------

    def student_view(self, context: Mapping[str, Any] | None = None) -> Fragment:
        """One item at a time, resuming at the saved position; the results once submitted."""
        language = self.ui_language
        fragment = Fragment()
        fragment.add_css(loader.load_unicode("static/css/psychometric_test.css"))
        try:
            instrument = self.load_instrument()
        except InstrumentUnavailable as exc:
            log.error("Psychometric test %s cannot load its instrument: %s", self.scope_ids.usage_id, exc)
            fragment.add_content(loader.render_django_template("static/html/unavailable.html", {
                "title": self.display_name, "lang": language,
                "text": message("unavailable", language, reason=str(exc)),
            }))
            return fragment

        prefix = self._element_prefix()
        total = len(instrument.items)
        position = max(0, min(self.position, total - 1))
        answers = self.valid_answers(instrument)
        items = []
        for index, item in enumerate(instrument.items):
            chosen = answers.get(item.id)
            items.append({
                "index": index,
                "id": item.id,
                "kind": item.kind.value,
                "stem": localise(item.stem, language),
                "label": message("question_of", language, number=index + 1, total=total),
                "legend_id": f"{prefix}-q{index}",
                "input_name": f"{prefix}-{item.id}",
                "hidden": index != position,
                "options": [{"key": option.key, "text": localise(option.text, language),
                             "input_id": f"{prefix}-q{index}-o{number}", "checked": option.key == chosen}
                            for number, option in enumerate(item.options)],
            })
        results_html = self._results_html(instrument) if self.submitted else ""
        fragment.add_content(loader.render_django_template("static/html/student_view.html", {
            "title": self.display_name,
            "lang": language,
            "prefix": prefix,
            "instructions": localise(instrument.instructions, language) if instrument.instructions else "",
            "instructions_open": not answers and position == 0,
            "items": items,
            "total": total,
            "answered": len(answers),
            "answered_label": message("answered_of", language, answered=len(answers), total=total),
            "submitted": self.submitted,
            "results_html": results_html,
            "ui": {key: message(key, language) for key in (
                "instructions", "previous", "next", "to_review", "review_heading", "final_warning",
                "back", "submit")},
        }))
        fragment.add_javascript(loader.load_unicode("static/js/psychometric_test.js"))
        fragment.initialize_js("PsychometricTestXBlock", {
            "position": position,
            "total": total,
            "submitted": self.submitted,
            "messages": {
                "answered_of": message_template("answered_of", language),
                "question_of": message_template("question_of", language),
                **{key: message(key, language) for key in (
                    "saved", "submitting", "network_error", "unanswered", "all_answered")},
            },
        })
        return fragment

    def _results_html(self, instrument: Instrument) -> str:
        """The learner's results: a band with feedback per subscale against the configured norms, or
        percent bars without norms, or only a confirmation when results are hidden."""
        language = self.ui_language
        norms = self.norm_summaries(instrument) if instrument.bands else {}
        rows = []
        if self.show_feedback_to_learner:
            for subscale in instrument.subscales:
                score = self.subscale_scores.get(subscale.code)
                if score is None:
                    continue
                scored = bool(score.get("scored")) and score.get("percent") is not None
                row = {"title": localise(subscale.title, language), "scored": scored,
                       "not_scored": message("not_scored", language, answered=score.get("n_answered", 0),
                                             total=score.get("n_items", 0))}
                norm = norms.get(subscale.code)
                if scored and norm is not None and score.get("score") is not None:
                    row.update(self._band_view(instrument, subscale.feedback, norm.t(float(score["score"]))))
                elif scored:
                    percent = round(score["percent"])
                    row.update(percent=percent, percent_label=message("percent", language, value=percent))
                rows.append(row)
        summary = next(iter(norms.values()), None)
        return loader.render_django_template("static/html/results.html", {
            "show_scores": self.show_feedback_to_learner,
            "rows": rows,
            "banded": bool(norms),
            "note": (message("bands_note", language, group=summary.group, n=max(s.n for s in norms.values()))
                     if summary else message("bars_note", language)),
            "ui": {key: message(key, language) for key in ("submitted", "results_heading", "results_private")},
        })

    def _band_view(self, instrument: Instrument, feedback: Mapping[str, Mapping[str, str]],
                   t_score: float) -> dict[str, Any]:
        """A band, its feedback and the band scale (T 20–80) with the learner's place on it."""
        language = self.ui_language
        band = band_for_t(t_score, instrument.bands)
        segments, low = [], _SCALE_LOW
        for each in instrument.bands:
            high = min(each.max_t if each.max_t is not None else _SCALE_HIGH, _SCALE_HIGH)
            segments.append({"code": each.code, "width": round(100 * (high - max(low, _SCALE_LOW))
                                                               / (_SCALE_HIGH - _SCALE_LOW), 2),
                             "current": each.code == band.code})
            low = high
        marker = round(100 * (min(max(t_score, _SCALE_LOW), _SCALE_HIGH) - _SCALE_LOW) / (_SCALE_HIGH - _SCALE_LOW), 1)
        return {"band_code": band.code, "band_label": message("band", language, band=localise(band.title, language)),
                "feedback": localise(feedback[band.code], language) if band.code in feedback else "",
                "segments": segments, "marker": marker}

    # --- handlers ------------------------------------------------------------------------------

    @XBlock.json_handler
    def save_answer(self, data: Any, suffix: str = "") -> dict[str, Any] | Response:
        """Store one answer, ``{"item": id, "value": option key}``; the latest answer to an item wins."""
        if not isinstance(data, dict):
            return self._error(400, "bad_request")
        if self.submitted:
            return self._error(409, "already_submitted")
        try:
            instrument = self.load_instrument()
        except InstrumentUnavailable as exc:
            return self._error(503, "unavailable", reason=str(exc))
        item_id = data.get("item")
        value = data.get("value")
        if not isinstance(item_id, str):
            return self._error(400, "unknown_item", item=str(item_id)[:64])
        try:
            instrument.item(item_id)
        except InvalidResponse:
            return self._error(400, "unknown_item", item=item_id[:64])
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return self._error(400, "invalid_value", item=item_id)
        try:
            key = instrument.validate_response(item_id, value)
        except InvalidResponse:
            return self._error(400, "invalid_value", item=item_id)
        answers = dict(self.answers)
        answers[item_id] = key
        self.answers = answers
        return {"item": item_id, "value": key, "answered": len(self.valid_answers(instrument)),
                "total": len(instrument.items)}

    @XBlock.json_handler
    def move(self, data: Any, suffix: str = "") -> dict[str, Any] | Response:
        """Remember the item the learner is on, ``{"position": index}`` (clamped to the test)."""
        if not isinstance(data, dict):
            return self._error(400, "bad_request")
        if self.submitted:
            return self._error(409, "already_submitted")
        try:
            instrument = self.load_instrument()
        except InstrumentUnavailable as exc:
            return self._error(503, "unavailable", reason=str(exc))
        position = data.get("position")
        if not isinstance(position, int) or isinstance(position, bool):
            return self._error(400, "invalid_position")
        self.position = max(0, min(position, len(instrument.items) - 1))
        return {"position": self.position}

    @XBlock.json_handler
    def submit(self, data: Any, suffix: str = "") -> dict[str, Any] | Response:
        """Score the saved answers with ``score_instrument``, close the test and publish completion.

        A second submit is refused (409) and changes nothing: no rescoring, no second grade event.
        """
        if self.submitted:
            return self._error(409, "already_submitted")
        try:
            instrument = self.load_instrument()
        except InstrumentUnavailable as exc:
            return self._error(503, "unavailable", reason=str(exc))
        scores = score_instrument(instrument, self.valid_answers(instrument))
        scored = sum(1 for score in scores.values() if score.scored)
        # The grade is completion, not the trait scores. Whatever is published as a grade lands in
        # the course gradebook, grade reports and progress pages that course staff (and anyone they
        # export to) can read, while raw psychometric scores are confidential: only the Training
        # Centre psychologist sees them, mentors see bands, learners see bands and feedback. So the
        # grade says how many subscales could be scored (enough items answered under each
        # subscale's min_answered rule) out of how many there are -- never how the learner scored.
        self.runtime.publish(self, "grade", {"value": scored, "max_value": len(instrument.subscales)})
        self.subscale_scores = {code: score.as_dict() for code, score in scores.items()}
        self.submitted = True
        self.submitted_at = dt.datetime.now(dt.timezone.utc)
        # Two submits racing in different requests could both get here (field storage has no
        # compare-and-set); both publish the same value, which the LMS stores idempotently.
        return {"submitted": True, "scored": scored, "total": len(instrument.subscales),
                "results_html": self._results_html(instrument)}

    def max_score(self) -> int | None:
        """The most the completion grade can be: one point per subscale."""
        try:
            return len(self.load_instrument().subscales)
        except InstrumentUnavailable:
            return None

    # --- Studio --------------------------------------------------------------------------------

    def validate_field_data(self, validation, data) -> None:
        """Studio checks: the instrument must load, the norms (if any) must fit it, and the language must be
        one we have."""
        try:
            instrument = load_shipped_instrument(data.instrument)
        except InstrumentUnavailable as exc:
            validation.add(ValidationMessage(ValidationMessage.ERROR, f"Instrument: {exc}."))
            instrument = None
        if instrument is not None and data.norms.strip():
            try:
                read_norms(data.norms, instrument)
            except ValueError as exc:
                validation.add(ValidationMessage(ValidationMessage.ERROR, f"Norms: {exc}."))
        if data.language not in LANGUAGES:
            validation.add(ValidationMessage(
                ValidationMessage.ERROR, f"Language must be one of {', '.join(LANGUAGES)}, not {data.language!r}."))

    @staticmethod
    def workbench_scenarios() -> list[tuple[str, str]]:
        """Scenarios for the xblock-sdk workbench."""
        return [
            ("Psychometric test: staff competence inventory (Lithuanian)",
             '<psychometric_test display_name="Kompetencijų klausimynas" instrument="staff_competence" '
             'language="lt"/>'),
            ("Psychometric test: staff competence inventory (English, results hidden)",
             '<psychometric_test display_name="Staff competence inventory" instrument="staff_competence" '
             'language="en" show_feedback_to_learner="false"/>'),
        ]
