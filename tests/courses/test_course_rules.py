"""The course rules: a knowledge check keeps the best attempt, a module completes once every lesson
is done and the checks meet its pass mark, a scenario scores the path taken, and course content
that cannot work is refused at loading, naming where."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses import operations as ops
from courses.models import CourseModule, Lesson, ModuleCompletion
from lms_plugin.core.people import User

from .conftest import PROGRAMME

ALL_RIGHT = {"1": "a", "2": "b", "3": "c", "4": "a"}
THREE_RIGHT = {"1": "a", "2": "b", "3": "c", "4": "b"}
HALF_RIGHT = {"1": "a", "2": "b", "3": "a", "4": "b"}


def _finish_other_lessons(session: Session, learner: User, lessons: dict[str, Lesson]) -> None:
    ops.mark_read(session, learner.id, lessons["text"])
    ops.choose_in_scenario(session, learner.id, lessons["scenario"], "s1", 0)
    ops.choose_in_scenario(session, learner.id, lessons["scenario"], "s2", 0)


def _completions(session: Session, learner: User) -> int:
    return session.scalar(select(func.count(ModuleCompletion.id)).where(ModuleCompletion.person_id == learner.id))


# --- knowledge checks ------------------------------------------------------------------------------------

def test_a_knowledge_check_is_scored_as_the_share_answered_correctly_with_feedback(session, learner, lessons):
    result = ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], THREE_RIGHT, "lt")
    assert result.score == pytest.approx(0.75)
    assert result.correct == {"1": True, "2": True, "3": True, "4": False}
    assert result.feedback["4"] == "Dėl priežasties 4."
    progress = ops.lesson_progress(session, learner.id, lessons["knowledge_check"])
    assert progress is not None and progress.completed_at is not None and progress.score == pytest.approx(0.75)


def test_the_best_attempt_is_kept_when_a_later_one_is_worse(session, learner, lessons):
    check = lessons["knowledge_check"]
    ops.answer_knowledge_check(session, learner.id, check, THREE_RIGHT, "en")
    later = ops.answer_knowledge_check(session, learner.id, check, HALF_RIGHT, "en")
    assert later.score == pytest.approx(0.5)  # the attempt itself is reported as it was
    assert ops.lesson_progress(session, learner.id, check).score == pytest.approx(0.75)
    ops.answer_knowledge_check(session, learner.id, check, ALL_RIGHT, "en")
    assert ops.lesson_progress(session, learner.id, check).score == pytest.approx(1.0)


@pytest.mark.parametrize("answers, code, question", [
    ({"1": "a", "2": "b", "3": "c"}, "unanswered", 4),
    ({"1": "a", "2": "", "3": "c", "4": "a"}, "unanswered", 2),
    ({"1": "a", "2": "b", "3": "z", "4": "a"}, "not_an_option", 3),
])
def test_an_incomplete_or_invalid_answer_is_refused_naming_the_question_and_nothing_is_kept(
        session, learner, lessons, answers, code, question):
    with pytest.raises(ops.CourseError) as refused:
        ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], answers, "en")
    assert (refused.value.code, refused.value.params) == (code, {"question": str(question), "number": question})
    assert ops.lesson_progress(session, learner.id, lessons["knowledge_check"]) is None


def test_only_a_knowledge_check_takes_answers_and_only_reading_lessons_are_marked_read(session, learner, lessons):
    with pytest.raises(ops.CourseError) as refused:
        ops.answer_knowledge_check(session, learner.id, lessons["text"], ALL_RIGHT, "en")
    assert refused.value.code == "wrong_kind"
    with pytest.raises(ops.CourseError) as refused:
        ops.mark_read(session, learner.id, lessons["knowledge_check"])
    assert refused.value.code == "wrong_kind"


# --- module completion -----------------------------------------------------------------------------------

def test_a_module_completes_once_every_lesson_is_done_and_the_checks_meet_the_pass_mark(
        session, learner, module, lessons):
    _finish_other_lessons(session, learner, lessons)
    assert ops.complete_module_if_due(session, learner.id, module) is None  # the check is not done yet
    ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], THREE_RIGHT, "en")
    completion = ops.complete_module_if_due(session, learner.id, module)
    assert completion is not None and completion.score == pytest.approx(0.75)  # exactly the pass mark
    progress = ops.module_progress(session, learner.id, module)
    assert (progress.completed, progress.lessons_completed, progress.percent) == (True, 3, 100.0)


def test_a_module_below_the_pass_mark_does_not_complete_until_a_better_attempt(session, learner, module, lessons):
    _finish_other_lessons(session, learner, lessons)
    ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], HALF_RIGHT, "en")
    assert ops.complete_module_if_due(session, learner.id, module) is None
    progress = ops.module_progress(session, learner.id, module)
    assert (progress.completed, progress.lessons_completed, progress.check_score) == (False, 3, 0.5)
    ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], ALL_RIGHT, "en")
    assert ops.complete_module_if_due(session, learner.id, module) is not None


def test_a_completion_is_recorded_once_however_often_the_rule_is_checked(session, learner, module, lessons):
    _finish_other_lessons(session, learner, lessons)
    ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], ALL_RIGHT, "en")
    assert ops.complete_module_if_due(session, learner.id, module) is not None
    assert ops.complete_module_if_due(session, learner.id, module) is None
    ops.answer_knowledge_check(session, learner.id, lessons["knowledge_check"], ALL_RIGHT, "en")
    assert ops.complete_module_if_due(session, learner.id, module) is None
    assert _completions(session, learner) == 1


def test_one_learners_progress_never_completes_anothers_module(session, make_learner, module, lessons):
    first, second = make_learner(), make_learner()
    _finish_other_lessons(session, first, lessons)
    ops.answer_knowledge_check(session, first.id, lessons["knowledge_check"], ALL_RIGHT, "en")
    assert ops.complete_module_if_due(session, second.id, module) is None
    assert ops.module_progress(session, second.id, module).lessons_completed == 0


def test_a_module_without_knowledge_checks_completes_when_every_lesson_is_done(session, learner, framework):
    definition = copy.deepcopy(PROGRAMME)
    definition["programme"]["code"] = "READING"
    definition["modules"][0].update(code="R-1", lessons=[
        {"code": "R-1-1", "kind": "text", "title_en": "One", "body_en": "Text."},
        {"code": "R-1-2", "kind": "video", "title_en": "Two", "video_url": "https://video.example/2"}])
    module: CourseModule = ops.load_programme_definition(session, definition, framework).modules[0]
    ops.mark_read(session, learner.id, module.lessons[0])
    assert ops.complete_module_if_due(session, learner.id, module) is None
    ops.mark_read(session, learner.id, module.lessons[1])
    completion = ops.complete_module_if_due(session, learner.id, module)
    assert completion is not None and completion.score is None


# --- branching scenarios ---------------------------------------------------------------------------------

@pytest.mark.parametrize("choices, ending, score", [((0, 0), "good", 5), ((0, 1), "ok", 3), ((1,), "bad", 0)])
def test_a_scenario_scores_the_path_taken_and_completes_at_an_ending(session, learner, lessons, choices, ending, score):
    scenario = lessons["scenario"]
    for index in choices:
        node = ops.scenario_position(session, learner.id, scenario)
        assert ops.lesson_progress(session, learner.id, scenario) is None or \
            ops.lesson_progress(session, learner.id, scenario).completed_at is None
        ops.choose_in_scenario(session, learner.id, scenario, node["id"], index)
    assert ops.scenario_position(session, learner.id, scenario)["id"] == ending
    progress = ops.lesson_progress(session, learner.id, scenario)
    assert progress.completed_at is not None and progress.score == score
    assert [step["choice"] for step in progress.state["path"]] == list(choices)


def test_a_choice_from_a_step_already_left_or_out_of_range_is_refused(session, learner, lessons):
    scenario = lessons["scenario"]
    ops.choose_in_scenario(session, learner.id, scenario, "s1", 0)
    with pytest.raises(ops.CourseError) as refused:
        ops.choose_in_scenario(session, learner.id, scenario, "s1", 1)  # a second tab, an old page
    assert refused.value.code == "step_taken"
    for index in (2, -1):
        with pytest.raises(ops.CourseError) as refused:
            ops.choose_in_scenario(session, learner.id, scenario, "s2", index)
        assert refused.value.code == "no_such_choice"
    assert ops.scenario_position(session, learner.id, scenario)["id"] == "s2"


def test_restarting_a_scenario_goes_back_to_the_start_and_keeps_the_completion(session, learner, lessons):
    scenario = lessons["scenario"]
    ops.choose_in_scenario(session, learner.id, scenario, "s1", 1)
    completed = ops.lesson_progress(session, learner.id, scenario).completed_at
    ops.restart_scenario(session, learner.id, scenario)
    assert ops.scenario_position(session, learner.id, scenario)["id"] == "s1"
    assert ops.lesson_progress(session, learner.id, scenario).completed_at == completed
    ops.choose_in_scenario(session, learner.id, scenario, "s1", 0)
    ops.choose_in_scenario(session, learner.id, scenario, "s2", 0)
    assert ops.lesson_progress(session, learner.id, scenario).score == 5  # the new path's score


# --- loading content -------------------------------------------------------------------------------------

def _broken(change: Any) -> dict[str, Any]:
    definition = copy.deepcopy(PROGRAMME)
    definition["programme"]["code"] = "BROKEN"
    definition["modules"][0]["code"] = "B-1"
    for lesson in definition["modules"][0]["lessons"]:
        lesson["code"] = "B-" + lesson["code"]
    change(definition["modules"][0]["lessons"])
    return definition


@pytest.mark.parametrize("change, message", [
    (lambda lessons: lessons[0].update(kind="podcast"), "module B-1, lesson B-DS-T1-1: unknown lesson kind 'podcast'"),
    (lambda lessons: lessons[0].pop("body_en"), "module B-1, lesson B-DS-T1-1: a text lesson needs body_en"),
    (lambda lessons: lessons[1].update(questions=[]), "lesson B-DS-T1-2: a knowledge check needs questions"),
    (lambda lessons: lessons[1]["questions"][2].update(correct="d"),
     "lesson B-DS-T1-2, question 3: correct answer is not an option"),
    (lambda lessons: lessons[2].update(start="nowhere"), "lesson B-DS-T1-3: scenario start node is missing"),
    (lambda lessons: lessons[2]["nodes"][1]["choices"][1].update(next="s9"),
     "lesson B-DS-T1-3, node s2: choice leads to unknown node 's9'"),
])
def test_content_that_cannot_work_is_refused_naming_the_lesson_and_nothing_is_added(
        session, framework, change, message):
    with pytest.raises(ops.CourseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ops.load_programme_definition(session, _broken(change), framework)
    assert session.scalar(select(func.count(CourseModule.id)).where(CourseModule.code == "B-1")) == 0


def test_loading_a_programme_twice_changes_nothing_and_maps_the_modules_competencies(session, framework, programme):
    again = ops.load_programme_definition(session, copy.deepcopy(PROGRAMME), framework)
    assert again.id == programme.id
    assert session.scalar(select(func.count(CourseModule.id))) == 1
    assert sorted(c.code for c in programme.modules[0].competencies) == ["DS.1", "DS.2"]
