"""Course operations: loading programmes, working through lessons, completion.

Rules: a text or video lesson is complete when the learner marks it read; a
knowledge check when it is answered (its score is kept; the best attempt counts);
a scenario when an end node is reached. A module is complete when every lesson is
complete and the mean knowledge-check score meets the module's pass mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework.models import Framework
from competency_framework.operations import competencies_by_code
from courses.models import CourseModule, Lesson, LessonKind, LessonProgress, ModuleCompletion, Programme
from lms_plugin.core.base import utcnow


class CourseError(ValueError):
    """Invalid course content or learner input; the message says which.

    Learner-input errors also carry a stable ``code`` and its ``params``, so the application can
    show the person a message in their own language.
    """

    def __init__(self, message: str, code: str = "definition", **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


def _texts(raw: Mapping[str, Any], *stems: str) -> dict[str, str]:
    return {f"{stem}_{lang}": str(raw.get(f"{stem}_{lang}") or "") for stem in stems for lang in ("en", "lt")}


def _lesson_content(kind: LessonKind, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if kind in (LessonKind.TEXT, LessonKind.VIDEO):
        content = {key: raw[key] for key in ("body_en", "body_lt", "video_url") if key in raw}
        if not content.get("body_en") and not content.get("video_url"):
            raise CourseError(f"{where}: a {kind.value} lesson needs body_en or video_url")
        return content
    if kind is LessonKind.KNOWLEDGE_CHECK:
        questions = list(raw.get("questions") or ())
        if not questions:
            raise CourseError(f"{where}: a knowledge check needs questions")
        for question in questions:
            keys = {str(option["key"]) for option in question["options"]}
            if str(question["correct"]) not in keys:
                raise CourseError(f"{where}, question {question['id']}: correct answer is not an option")
        return {"questions": questions}
    nodes = {node["id"]: node for node in raw.get("nodes") or ()}
    if raw.get("start") not in nodes:
        raise CourseError(f"{where}: scenario start node is missing")
    for node in nodes.values():
        for choice in node.get("choices") or ():
            if choice["next"] not in nodes:
                raise CourseError(f"{where}, node {node['id']}: choice leads to unknown node {choice['next']!r}")
    return {"start": raw["start"], "nodes": list(nodes.values())}


def load_programme_definition(session: Session, data: Mapping[str, Any], framework: Framework | None) -> Programme:
    """Create a programme with its modules and lessons; idempotent by programme code."""
    raw = data["programme"]
    existing = session.scalar(select(Programme).where(Programme.code == raw["code"]))
    if existing is not None:
        return existing
    programme = Programme(code=raw["code"], **_texts(raw, "title", "description"))
    for module_order, raw_module in enumerate(data["modules"], start=1):
        module = CourseModule(code=raw_module["code"], sort_order=module_order,
                              pass_mark=float(raw_module.get("pass_mark", 0.8)),
                              **_texts(raw_module, "title", "description"))
        if framework is not None:
            module.competencies = competencies_by_code(session, framework, raw_module.get("competencies", ()))
        for lesson_order, raw_lesson in enumerate(raw_module["lessons"], start=1):
            where = f"module {raw_module['code']}, lesson {raw_lesson['code']}"
            try:
                kind = LessonKind(raw_lesson["kind"])
            except ValueError:
                raise CourseError(f"{where}: unknown lesson kind {raw_lesson['kind']!r}") from None
            module.lessons.append(Lesson(code=raw_lesson["code"], kind=kind, sort_order=lesson_order,
                                         content=_lesson_content(kind, raw_lesson, where),
                                         **_texts(raw_lesson, "title")))
        programme.modules.append(module)
    session.add(programme)
    session.flush()
    return programme


def _progress(session: Session, person_id: int, lesson: Lesson) -> LessonProgress:
    progress = session.scalar(select(LessonProgress).where(
        LessonProgress.person_id == person_id, LessonProgress.lesson_id == lesson.id))
    if progress is None:
        progress = LessonProgress(person_id=person_id, lesson=lesson, state={})
        session.add(progress)
    return progress


def lesson_progress(session: Session, person_id: int, lesson: Lesson) -> LessonProgress | None:
    return session.scalar(select(LessonProgress).where(
        LessonProgress.person_id == person_id, LessonProgress.lesson_id == lesson.id))


def mark_read(session: Session, person_id: int, lesson: Lesson) -> LessonProgress:
    if lesson.kind not in (LessonKind.TEXT, LessonKind.VIDEO):
        raise CourseError("only text and video lessons are completed by reading", "wrong_kind")
    progress = _progress(session, person_id, lesson)
    progress.completed_at = progress.completed_at or utcnow()
    session.flush()
    return progress


@dataclass(frozen=True)
class CheckResult:
    score: float
    correct: dict[str, bool]
    feedback: dict[str, str]


def answer_knowledge_check(session: Session, person_id: int, lesson: Lesson,
                           answers: Mapping[str, str], language: str) -> CheckResult:
    """Score a knowledge check. Every question must be answered with one of its options."""
    if lesson.kind is not LessonKind.KNOWLEDGE_CHECK:
        raise CourseError("this lesson is not a knowledge check", "wrong_kind")
    correct: dict[str, bool] = {}
    feedback: dict[str, str] = {}
    for number, question in enumerate(lesson.content["questions"], start=1):
        qid = str(question["id"])
        given = answers.get(qid)
        if given is None or given == "":
            raise CourseError(f"question {qid} is not answered", "unanswered", question=qid, number=number)
        if given not in {str(option["key"]) for option in question["options"]}:
            raise CourseError(f"question {qid}: {given!r} is not one of its options", "not_an_option", question=qid, number=number)
        correct[qid] = given == str(question["correct"])
        feedback[qid] = str(question.get(f"feedback_{language}") or question.get("feedback_en") or "")
    score = sum(correct.values()) / len(correct)
    progress = _progress(session, person_id, lesson)
    progress.score = max(score, progress.score or 0.0)
    progress.state = {"answers": dict(answers)}
    progress.completed_at = progress.completed_at or utcnow()
    session.flush()
    return CheckResult(score, correct, feedback)


def scenario_node(lesson: Lesson, node_id: str) -> dict[str, Any]:
    for node in lesson.content["nodes"]:
        if node["id"] == node_id:
            return node
    raise CourseError(f"scenario node {node_id!r} does not exist", "no_such_node")


def scenario_position(session: Session, person_id: int, lesson: Lesson) -> dict[str, Any]:
    progress = lesson_progress(session, person_id, lesson)
    node_id = (progress.state or {}).get("node") if progress else None
    return scenario_node(lesson, node_id or lesson.content["start"])


def choose_in_scenario(session: Session, person_id: int, lesson: Lesson, node_id: str,
                       choice_index: int) -> dict[str, Any]:
    """Take one choice at the current node; returns the choice (with its feedback)."""
    if lesson.kind is not LessonKind.SCENARIO:
        raise CourseError("this lesson is not a scenario", "wrong_kind")
    current = scenario_position(session, person_id, lesson)
    if current["id"] != node_id:
        raise CourseError("this step was already taken; the scenario has moved on", "step_taken")
    choices = current.get("choices") or []
    if not 0 <= choice_index < len(choices):
        raise CourseError("that choice does not exist at this step", "no_such_choice")
    choice = choices[choice_index]
    progress = _progress(session, person_id, lesson)
    state = dict(progress.state or {})
    path = list(state.get("path", []))
    path.append({"node": node_id, "choice": choice_index, "score": choice.get("score", 0)})
    state.update(node=choice["next"], path=path)
    progress.state = state
    if not scenario_node(lesson, choice["next"]).get("choices"):
        progress.completed_at = progress.completed_at or utcnow()
        progress.score = sum(step["score"] for step in path)
    session.flush()
    return choice


def restart_scenario(session: Session, person_id: int, lesson: Lesson) -> None:
    progress = _progress(session, person_id, lesson)
    progress.state = {}
    session.flush()


@dataclass(frozen=True)
class ModuleProgress:
    module: CourseModule
    lessons_total: int
    lessons_completed: int
    check_score: float | None
    completed: bool

    @property
    def percent(self) -> float:
        return 100.0 * self.lessons_completed / self.lessons_total if self.lessons_total else 0.0


def module_progress(session: Session, person_id: int, module: CourseModule) -> ModuleProgress:
    rows = {p.lesson_id: p for p in session.scalars(select(LessonProgress).join(Lesson).where(
        LessonProgress.person_id == person_id, Lesson.module_id == module.id))}
    done = [lesson for lesson in module.lessons if rows.get(lesson.id) and rows[lesson.id].completed_at]
    checks = [rows[lesson.id].score or 0.0 for lesson in done if lesson.kind is LessonKind.KNOWLEDGE_CHECK]
    check_score = sum(checks) / len(checks) if checks else None
    completed = session.scalar(select(func.count(ModuleCompletion.id)).where(
        ModuleCompletion.person_id == person_id, ModuleCompletion.module_id == module.id)) > 0
    return ModuleProgress(module, len(module.lessons), len(done), check_score, completed)


def complete_module_if_due(session: Session, person_id: int, module: CourseModule) -> ModuleCompletion | None:
    """Record the module's completion once its rule is met (once only); the new completion, else None."""
    progress = module_progress(session, person_id, module)
    if progress.completed or progress.lessons_completed < progress.lessons_total:
        return None
    if progress.check_score is not None and progress.check_score < module.pass_mark:
        return None
    completion = ModuleCompletion(person_id=person_id, module=module, score=progress.check_score)
    session.add(completion)
    session.flush()
    return completion
