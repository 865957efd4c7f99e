"""Named operations for a learner working through course modules.

Each checks the capability, acts through the ``courses`` domain, turns a module's completion
into evidence for the competencies the module is mapped to, writes the audit rows and flushes;
the caller commits. Scores (knowledge checks, scenario endings) and completions are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from competency_framework.models import EvidenceSource
from competency_framework.operations import record_evidence
from courses import operations as domain
from courses.models import CourseModule, Lesson, ModuleCompletion
from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import User

T = TypeVar("T")

# The learner's input errors the domain names by code, in the person's language.
MESSAGES = {
    "wrong_kind": _l("This lesson is not done that way."),
    "unanswered": _l("Answer question %(number)d."),
    "not_an_option": _l("Question %(number)d: choose one of the options given."),
    "step_taken": _l("That step was already taken; the scenario has moved on."),
    "no_such_choice": _l("That choice does not exist at this step."),
    "no_such_node": _l("This scenario step does not exist."),
}


@dataclass(frozen=True)
class Step:
    """What one action of the learner gave: its own result, and the module's completion if it came now."""

    result: Any
    completed: ModuleCompletion | None


def _domain(action: Callable[[], T]) -> T:
    """Run a domain operation; a learner's input error becomes a refusal in their language."""
    try:
        return action()
    except domain.CourseError as problem:
        message = MESSAGES.get(problem.code)
        raise OperationError(str(message % problem.params) if message else str(problem)) from None


def complete_module_if_due(session: Session, learner: User, module: CourseModule) -> ModuleCompletion | None:
    """Record the module's completion once its rule is met, as evidence for each mapped competency."""
    completion = domain.complete_module_if_due(session, learner.id, module)
    if completion is None:
        return None
    for competency in module.competencies:
        record_evidence(session, person_id=learner.id, competency=competency, source=EvidenceSource.COURSE,
                        recorded_by_id=None, achieved=True, source_ref=f"module:{module.code}", note=module.code)
    audit.record(session, learner, "courses.module_completed", completion, module=module.code,
                 score=completion.score)
    return completion


def read_lesson(session: Session, learner: User, lesson: Lesson) -> Step:
    """Mark a text or video lesson read."""
    require(learner, Capability.TAKE_COURSES)
    progress = _domain(lambda: domain.mark_read(session, learner.id, lesson))
    return Step(progress, complete_module_if_due(session, learner, lesson.module))


def answer_knowledge_check(session: Session, learner: User, lesson: Lesson, answers: Mapping[str, str],
                           language: str) -> Step:
    """Score one attempt at a knowledge check; the best attempt counts towards the pass mark."""
    require(learner, Capability.TAKE_COURSES)
    result = _domain(lambda: domain.answer_knowledge_check(session, learner.id, lesson, answers, language))
    audit.record(session, learner, "courses.knowledge_check", lesson, score=round(result.score, 4))
    return Step(result, complete_module_if_due(session, learner, lesson.module))


def choose_in_scenario(session: Session, learner: User, lesson: Lesson, node_id: str, choice_index: int) -> Step:
    """Take one choice in a branching scenario; reaching an end scores the path taken."""
    require(learner, Capability.TAKE_COURSES)
    choice = _domain(lambda: domain.choose_in_scenario(session, learner.id, lesson, node_id, choice_index))
    progress = domain.lesson_progress(session, learner.id, lesson)
    if progress is not None and not domain.scenario_node(lesson, choice["next"]).get("choices"):
        audit.record(session, learner, "courses.scenario_completed", lesson, score=progress.score,
                     ending=choice["next"])
    return Step(choice, complete_module_if_due(session, learner, lesson.module))


def restart_scenario(session: Session, learner: User, lesson: Lesson) -> None:
    """Start a scenario again from its first step (a completed scenario stays completed)."""
    require(learner, Capability.TAKE_COURSES)
    _domain(lambda: domain.restart_scenario(session, learner.id, lesson))
