"""PsychometricTestXBlock under xblock.test.tools.TestRuntime with a dict key-value store."""

from __future__ import annotations

import json
import re

import pytest
from xblock.fields import Field, Scope

from lms_plugin.instruments import instrument_definition
from lms_plugin.xblocks import psychometric_test
from lms_plugin.xblocks.psychometric_test import PsychometricTestXBlock
from psychometrics import band_for_t, load_instrument, score_instrument
from tests.xblocks.xblock_helpers import RecordingRuntime, call

pytestmark = pytest.mark.usefixtures("mini_instrument")

# A full set of answers to the mini instrument, and what each subscale then needs.
ALL_ANSWERS = {"k1": "b", "k2": "b", "t1": "4", "t2": "2", "t3": "5", "s1": "a", "s2": "b"}


def visible_items(html: str) -> list[str]:
    """The data-item ids of item sections not marked hidden."""
    sections = re.findall(r'<section class="pt-item[^>]*>', html)
    return [re.search(r'data-item="([^"]+)"', tag).group(1) for tag in sections if " hidden" not in tag]


def answer_all(block, answers=ALL_ANSWERS):
    for item_id, value in answers.items():
        status, body = call(block, "save_answer", {"item": item_id, "value": value})
        assert status == 200, body


# --- fields -----------------------------------------------------------------------------------

EXPECTED_SCOPES = {
    "display_name": Scope.settings,
    "instrument": Scope.settings,
    "language": Scope.settings,
    "show_feedback_to_learner": Scope.settings,
    "norms": Scope.settings,
    "answers": Scope.user_state,
    "position": Scope.user_state,
    "submitted": Scope.user_state,
    "submitted_at": Scope.user_state,
    "subscale_scores": Scope.user_state,
}


def test_every_field_of_the_block_has_display_name_help_and_its_scope():
    declared = {name: value for name, value in vars(PsychometricTestXBlock).items() if isinstance(value, Field)}
    assert set(declared) == set(EXPECTED_SCOPES)
    for name, field in declared.items():
        assert field.display_name and field.display_name != name, name
        assert field.help, name
        assert field.scope == EXPECTED_SCOPES[name], name


def test_grades_are_declared_and_max_score_is_the_number_of_subscales(runtime):
    block = runtime.block()
    assert PsychometricTestXBlock.has_score is True
    assert block.max_score() == 3


# --- student view -----------------------------------------------------------------------------

def test_student_view_shows_one_accessible_item_with_progress(runtime):
    html = runtime.block(language="en").student_view({}).content
    assert visible_items(html) == ["k1"]
    assert html.count('<section class="pt-item') == 7
    assert '<html lang' not in html and 'lang="en"' in html
    first = html.split('<section class="pt-item', 2)[1]
    # fieldset + legend naming the question; every radio has its own label.
    assert "<fieldset" in first and '<legend class="pt-legend"' in first
    assert "Question 1 of 7" in first and "Which reaction most often de-escalates an angry inmate?" in first
    radios = re.findall(r'<input type="radio" id="([^"]+)"', first)
    assert len(radios) == 3
    for input_id in radios:
        assert f'<label class="pt-option" for="{input_id}">' in first
    assert '<progress class="pt-progress-bar" max="7" value="0"' in html
    assert "Answered 0 of 7" in html
    assert 'role="alert"' in html and 'aria-live="polite"' in html


def test_student_view_is_in_the_block_language(runtime):
    html = runtime.block(language="lt").student_view({}).content
    assert 'lang="lt"' in html
    assert "Klausimas 1 iš 7" in html and "Kokia reakcija dažniausiai nuramina piktą nuteistąjį?" in html
    assert "Atsakyta 0 iš 7" in html


def test_student_view_escapes_what_it_shows(runtime):
    block = runtime.block(display_name="<script>alert(1)</script>")
    html = block.student_view({}).content
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_student_view_passes_its_state_to_the_javascript(runtime):
    block = runtime.block(language="en")
    call(block, "move", {"position": 4})
    fragment = block.student_view({})
    assert fragment.js_init_fn == "PsychometricTestXBlock"
    assert fragment.json_init_args["position"] == 4
    assert fragment.json_init_args["messages"]["saved"] == "Answer saved."
    assert any("PsychometricTestXBlock" in resource.data for resource in fragment.resources
               if resource.mimetype == "application/javascript")
    assert any(".pt-bar-fill" in resource.data for resource in fragment.resources if resource.mimetype == "text/css")


# --- answering and resuming -------------------------------------------------------------------

def test_an_answer_is_validated_normalised_and_saved(runtime):
    block = runtime.block()
    status, body = call(block, "save_answer", {"item": "t1", "value": 4})
    assert status == 200
    assert body == {"item": "t1", "value": "4", "answered": 1, "total": 7}
    assert block.answers == {"t1": "4"}
    status, body = call(block, "save_answer", {"item": "t1", "value": " 2 "})
    assert (status, body["value"], body["answered"]) == (200, "2", 1)
    assert runtime.block().answers == {"t1": "2"}  # the latest answer wins


def test_leaving_and_coming_back_resumes_at_the_saved_position_and_answers(runtime):
    block = runtime.block(language="en")
    call(block, "save_answer", {"item": "k1", "value": "b"})
    status, body = call(block, "move", {"position": 3})
    assert (status, body) == (200, {"position": 3})

    again = runtime.block()  # a new instance over the same store: a new page load
    assert again.position == 3 and again.answers == {"k1": "b"}
    html = again.student_view({}).content
    assert visible_items(html) == ["t2"]
    k1 = html.split('data-item="k1"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'value="b" checked', k1)
    assert "Answered 1 of 7" in html

    other = runtime.block(user_id="learner-2")  # state is per learner
    assert other.answers == {} and other.position == 0


def test_move_clamps_to_the_test_and_refuses_non_numbers(runtime):
    block = runtime.block()
    assert call(block, "move", {"position": 99}) == (200, {"position": 6})
    assert call(block, "move", {"position": -5}) == (200, {"position": 0})
    for bad in ("3", 2.5, True, None):
        status, body = call(block, "move", {"position": bad})
        assert status == 400 and body["code"] == "invalid_position"
    assert runtime.block().position == 0


@pytest.mark.parametrize("payload, code, named", [
    ({"item": "zz9", "value": "a"}, "unknown_item", "zz9"),
    ({"item": "t1", "value": "6"}, "invalid_value", "t1"),
    ({"item": "t1", "value": "0"}, "invalid_value", "t1"),
    ({"item": "t1", "value": 4.0}, "invalid_value", "t1"),
    ({"item": "k1", "value": "d"}, "invalid_value", "k1"),
    ({"item": "k1", "value": ["a"]}, "invalid_value", "k1"),
    ({"item": "k1", "value": {"key": "a"}}, "invalid_value", "k1"),
    ({"item": "k1", "value": None}, "invalid_value", "k1"),
    ({"item": "k1", "value": True}, "invalid_value", "k1"),
    ({"item": "k1"}, "invalid_value", "k1"),
    ({"item": ["k1"], "value": "a"}, "unknown_item", "['k1']"),
    ({"value": "a"}, "unknown_item", "None"),
])
def test_tampered_answers_are_refused_with_the_item_named_and_nothing_stored(runtime, payload, code, named):
    block = runtime.block(language="en")
    status, body = call(block, "save_answer", payload)
    assert status == 400
    assert body["code"] == code
    assert named in body["error"]
    assert body["params"] == {"item": named}
    assert block.answers == {}
    assert not any(key.field_name == "answers" for key in runtime.store.db_dict)
    assert runtime.block().answers == {}


def test_error_messages_follow_the_block_language(runtime):
    status, body = call(runtime.block(language="lt"), "save_answer", {"item": "t1", "value": "9"})
    assert status == 400
    assert body["error"] == "Toks atsakymas nėra klausimo t1 pasirinkimas."


@pytest.mark.parametrize("payload", [[], "k1", 3, None])
def test_a_request_that_is_not_a_json_object_is_refused(runtime, payload):
    block = runtime.block()
    for handler in ("save_answer", "move"):
        status, body = call(block, handler, payload)
        assert (status, body["code"]) == (400, "bad_request")
    assert block.answers == {} and block.position == 0


def test_handlers_only_accept_post(runtime):
    from webob import Request

    response = runtime.block().handle("save_answer", Request.blank("/", method="GET"))
    assert response.status_code == 405


# --- submitting -------------------------------------------------------------------------------

def test_submit_scores_with_score_instrument_and_publishes_completion_once(runtime, mini_instrument):
    block = runtime.block(language="en")
    answer_all(block)
    status, body = call(block, "submit", {})
    assert status == 200
    assert body["submitted"] is True and (body["scored"], body["total"]) == (3, 3)

    expected = {code: score.as_dict() for code, score in score_instrument(mini_instrument, ALL_ANSWERS).items()}
    saved = runtime.block()
    assert saved.subscale_scores == expected
    assert saved.submitted is True and saved.submitted_at is not None
    assert runtime.grades() == [{"value": 3, "max_value": 3}]
    # What the gradebook gets carries no trait score.
    assert set(runtime.grades()[0]) == {"value", "max_value"}


def test_the_grade_counts_scored_subscales_not_performance(runtime, mini_instrument):
    # KN: 1 of 2 answered (min 0.5) -> scored; TW: 2 of 3 (min 0.8) -> not; SJ: 2 of 2 -> scored.
    answers = {"k1": "a", "t1": "1", "t2": "5", "s1": "c", "s2": "a"}
    block = runtime.block()
    answer_all(block, answers)
    status, body = call(block, "submit", {})
    assert status == 200
    expected = score_instrument(mini_instrument, answers)
    assert [code for code, score in expected.items() if score.scored] == ["KN", "SJ"]
    assert expected["KN"].score == 0.0  # the worst possible answers still count as completed
    assert runtime.grades() == [{"value": 2, "max_value": 3}]
    assert runtime.block().subscale_scores == {code: score.as_dict() for code, score in expected.items()}


def test_submitting_with_no_answers_publishes_zero_completion(runtime):
    status, body = call(runtime.block(), "submit", {})
    assert status == 200 and body["scored"] == 0
    assert runtime.grades() == [{"value": 0, "max_value": 3}]


def test_a_double_submit_is_refused_and_changes_nothing(runtime):
    block = runtime.block(language="en")
    answer_all(block)
    assert call(block, "submit", {})[0] == 200
    before = (dict(block.subscale_scores), block.submitted_at)

    for fresh in (block, runtime.block()):
        status, body = call(fresh, "submit", {})
        assert status == 409
        assert body["code"] == "already_submitted"
        assert "already been submitted" in body["error"]
    after = runtime.block()
    assert (after.subscale_scores, after.submitted_at) == before
    assert len(runtime.grades()) == 1


def test_answers_and_position_are_frozen_after_submit(runtime):
    block = runtime.block()
    answer_all(block)
    call(block, "submit", {})
    assert call(block, "save_answer", {"item": "k1", "value": "a"})[0] == 409
    assert call(block, "move", {"position": 2})[0] == 409
    saved = runtime.block()
    assert saved.answers == ALL_ANSWERS and saved.position == 0


def test_results_view_shows_percent_bars_per_subscale(runtime, mini_instrument):
    answers = {"k1": "b", "k2": "b", "t1": "4", "t2": "2", "t3": "5"}  # SJ left out: not scored
    block = runtime.block(language="en")
    answer_all(block, answers)
    status, body = call(block, "submit", {})
    expected = score_instrument(mini_instrument, answers)

    for html in (body["results_html"], runtime.block().student_view({}).content):
        assert "pt-item" not in html and "<fieldset" not in html
        assert "Your answers have been submitted." in html
        assert f'style="width: {round(expected["KN"].percent)}%"' in html
        assert f'style="width: {round(expected["TW"].percent)}%"' in html
        assert f'{round(expected["TW"].percent)}%</span>' in html
        assert "Not scored: too few answers (0 of 2)." in html
        assert html.count('class="pt-bar-fill"') == 2
        assert "http" not in html  # no external assets


def mini_norms(**changes) -> str:
    """Norms for the mini instrument in the file format the app's Norm groups page gives."""
    document = {"format": "officer-competence-norms/1", "instrument": "MINI", "version": 1,
                "group": "Norm sample: cadets",
                "subscales": {"KN": {"mean": 0.5, "sd": 0.25, "n": 300}, "TW": {"mean": 3.0, "sd": 0.5, "n": 300}}}
    document.update(changes)
    return json.dumps(document)


def test_with_norms_the_results_show_a_band_and_its_feedback_per_subscale(runtime, mini_instrument):
    answers = {"k1": "b", "k2": "b", "t1": "4", "t2": "2", "t3": "5"}  # SJ left out: not scored
    block = runtime.block(language="en", norms=mini_norms())
    answer_all(block, answers)
    status, body = call(block, "submit", {})
    expected = score_instrument(mini_instrument, answers)
    t_knowledge = 50 + 10 * (expected["KN"].score - 0.5) / 0.25        # half correct → T 50: typical
    t_teamwork = 50 + 10 * (expected["TW"].score - 3.0) / 0.5          # mean 4.33 → T 76.7: strength
    assert band_for_t(t_knowledge, mini_instrument.bands).code == "typical"
    assert band_for_t(t_teamwork, mini_instrument.bands).code == "strength"

    for html in (body["results_html"], runtime.block().student_view({}).content):
        assert "Each part is compared with Norm sample: cadets (300 people)" in html
        assert html.count("Band: Strength") == 1 and html.count("Band: Typical") == 1
        assert "Colleagues can rely on you in a team." in html            # the subscale's own feedback
        assert f'style="left: {round(100 * (t_knowledge - 20) / 60, 1)}%"' in html
        assert f'style="left: {round(100 * (t_teamwork - 20) / 60, 1)}%"' in html
        assert html.count("pt-band-current") == 2
        assert "Not scored: too few answers (0 of 2)." in html
        assert "pt-bar-fill" not in html and "%</span>" not in html      # no percent bars beside bands
        assert 'class="pt-band-scale" aria-hidden="true"' in html         # the text says it all


def test_a_subscale_without_norms_keeps_its_bar_and_lithuanian_says_bands(runtime, mini_instrument):
    document = json.loads(mini_norms())
    del document["subscales"]["KN"]
    block = runtime.block(language="lt", norms=json.dumps(document))
    answer_all(block)
    call(block, "submit", {})
    html = runtime.block().student_view({}).content
    assert "Kiekviena dalis lyginama su grupe „Norm sample: cadets“ (300 asm.)" in html
    assert "Lygis: Stiprioji pusė" in html and "Komandoje kolegos gali jumis pasikliauti." in html
    assert html.count('class="pt-bar-fill"') == 2                         # KN and SJ: no norm, a bar


def test_norms_that_no_longer_fit_fall_back_to_bars_and_are_logged(runtime, mini_instrument, caplog):
    block = runtime.block(language="en", norms=mini_norms(version=7))
    answer_all(block)
    with caplog.at_level("WARNING"):
        status, body = call(block, "submit", {})
    assert status == 200
    assert "Band:" not in body["results_html"] and body["results_html"].count('class="pt-bar-fill"') == 3
    assert "these norms are for version 7 of 'MINI', not version 1" in caplog.text


@pytest.mark.parametrize("norms,named", [
    ("{not json", "not valid JSON"),
    (mini_norms(instrument="OTHER"), "these norms are for instrument 'OTHER', not 'MINI'"),
    (mini_norms(subscales={"XX": {"mean": 1, "sd": 1, "n": 9}}), "subscales.XX: 'MINI' has no subscale 'XX'"),
    (mini_norms(subscales={"TW": {"mean": 3, "sd": -1, "n": 9}}), "subscales.TW.sd must be a positive number"),
])
def test_studio_refuses_norms_that_do_not_fit_naming_the_field(runtime, mini_instrument, norms, named):
    block = runtime.block(instrument="mini")
    status, body = call(block, "submit_studio_edits", {"values": {"norms": norms}, "defaults": []})
    assert status == 400
    texts = " ".join(message["text"] for message in body["error"]["messages"])
    assert f"Norms: {named}" in texts
    assert block.norms == ""


def test_studio_accepts_norms_that_fit(runtime, mini_instrument):
    block = runtime.block(instrument="mini")
    status, body = call(block, "submit_studio_edits", {"values": {"norms": mini_norms()}, "defaults": []})
    assert (status, body) == (200, {"result": "success"})
    assert json.loads(block.norms)["group"] == "Norm sample: cadets"


def test_results_can_be_withheld_from_the_learner(runtime):
    block = runtime.block(language="en", show_feedback_to_learner=False)
    answer_all(block)
    status, body = call(block, "submit", {})
    assert status == 200
    for html in (body["results_html"], runtime.block().student_view({}).content):
        assert "Your answers have been submitted." in html
        assert "pt-bar" not in html and "%" not in html
    assert "subscale_scores" not in body and set(body) == {"submitted", "scored", "total", "results_html"}
    assert runtime.block().subscale_scores  # still kept for the Training Centre


def test_results_view_in_lithuanian(runtime):
    block = runtime.block(language="lt")
    answer_all(block)
    call(block, "submit", {})
    html = runtime.block().student_view({}).content
    assert "Jūsų atsakymai pateikti." in html and "Komandinis darbas" in html
    assert re.search(r"\d+ %</span>", html)


def test_answers_to_items_of_another_instrument_are_ignored_at_submit(runtime, mini_instrument):
    """If an author switches instruments after learners started, their old answers cannot break scoring."""
    block = runtime.block()
    answer_all(block, {"k1": "b"})
    block.answers = {**block.answers, "old-item": "3"}
    block.save()
    status, body = call(block, "submit", {})
    assert status == 200
    assert runtime.block().subscale_scores == {
        code: score.as_dict() for code, score in score_instrument(mini_instrument, {"k1": "b"}).items()}


# --- an instrument that cannot load -----------------------------------------------------------

@pytest.mark.parametrize("name", ["no_such_instrument", "../../pyproject", "Staff Competence"])
def test_an_unavailable_instrument_is_explained_not_crashed(runtime, name):
    block = runtime.block(language="en", instrument=name)
    html = block.student_view({}).content
    assert "This test is not available" in html and 'role="alert"' in html
    for handler, payload in (("save_answer", {"item": "k1", "value": "a"}), ("move", {"position": 1}),
                             ("submit", {})):
        status, body = call(block, handler, payload)
        assert (status, body["code"]) == (503, "unavailable")
    assert runtime.grades() == []
    assert block.max_score() is None
    assert not block.validate()


# --- Studio -----------------------------------------------------------------------------------

def test_studio_view_edits_the_settings_fields(runtime):
    block = runtime.block()
    html = block.studio_view({}).content
    for name in ("display_name", "instrument", "language", "show_feedback_to_learner", "norms"):
        assert f'data-field-name="{name}"' in html
    assert re.search(r'<textarea[^>]*data-field-name="norms"', html)     # a JSON file is pasted, not typed
    for name in ("answers", "position", "submitted", "subscale_scores"):
        assert f'data-field-name="{name}"' not in html
    assert "Lietuvių" in html and "English" in html

    status, body = call(block, "submit_studio_edits",
                        {"values": {"language": "en", "show_feedback_to_learner": False}, "defaults": []})
    assert (status, body) == (200, {"result": "success"})
    assert block.language == "en" and block.show_feedback_to_learner is False


def test_studio_refuses_an_instrument_that_does_not_load(runtime):
    block = runtime.block()
    status, body = call(block, "submit_studio_edits",
                        {"values": {"instrument": "no_such_instrument", "language": "de"}, "defaults": []})
    assert status == 400
    texts = " ".join(message["text"] for message in body["error"]["messages"])
    assert "no_such_instrument" in texts and "'de'" in texts
    assert block.instrument == "staff_competence" and block.language == "lt"


def test_the_instrument_names_offered_in_studio_are_the_shipped_files():
    names = psychometric_test.shipped_instrument_names()
    assert "staff_competence" in names
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) for name in names)


# --- the real shipped instrument --------------------------------------------------------------

def test_the_shipped_staff_competence_instrument_runs_in_the_block(monkeypatch):
    """Not the mini one: the definition the Training Centre ships, loaded and scored end to end."""
    instrument = load_instrument(instrument_definition("staff_competence"))
    monkeypatch.setattr(psychometric_test, "instrument_definition", instrument_definition)
    psychometric_test.load_shipped_instrument.cache_clear()

    runtime = RecordingRuntime()
    block = runtime.block(language="lt")
    html = block.student_view({}).content
    assert visible_items(html) == [instrument.items[0].id]
    answers = {item.id: item.options[0].key for item in instrument.items}
    answer_all(block, answers)
    assert call(block, "submit", {})[0] == 200
    assert runtime.block().subscale_scores == {
        code: score.as_dict() for code, score in score_instrument(instrument, answers).items()}
    assert runtime.grades() == [{"value": len(instrument.subscales), "max_value": len(instrument.subscales)}]
    psychometric_test.load_shipped_instrument.cache_clear()
