"""Fixtures for the courses domain: an in-memory SQLite database with the core's person table,
the framework's tables and the course tables (no app), one transaction per test rolled back,
a small published framework, a learner, and a programme with one module of each lesson kind."""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import courses.models  # noqa: F401  (registers the course tables)
from competency_framework.models import Framework
from competency_framework.operations import load_framework_definition
from courses.models import CourseModule, Lesson, Programme
from courses.operations import load_programme_definition
from lms_plugin.core.people import Role, User
from tests.domain_database import make_engine, rolled_back_session

FRAMEWORK = {
    "framework": {
        "code": "CO", "version": 1, "title_en": "Correctional officer", "title_lt": "Pareigūnas",
        "scale": {"code": "P3", "title_en": "Proficiency", "title_lt": "Lygis", "proficient_level": 2,
                  "levels": [{"value": 1, "code": "aware", "title_en": "Aware", "title_lt": "Žino"},
                             {"value": 2, "code": "able", "title_en": "Able", "title_lt": "Geba"},
                             {"value": 3, "code": "expert", "title_en": "Expert", "title_lt": "Ekspertas"}]},
        "areas": [{"code": "DS", "title_en": "Dynamic security", "title_lt": "Dinaminė sauga", "competencies": [
            {"code": "DS.1", "title_en": "Knows the inmates", "title_lt": "Pažįsta nuteistuosius"},
            {"code": "DS.2", "title_en": "Contact officer role", "title_lt": "Kontaktinio pareigūno vaidmuo"}]}],
    },
    "role_profiles": [],
}


def _question(qid: int, correct: str) -> dict[str, Any]:
    return {"id": qid, "stem_en": f"Question {qid}", "correct": correct,
            "feedback_en": f"Because of reason {qid}.", "feedback_lt": f"Dėl priežasties {qid}.",
            "options": [{"key": key, "text_en": key.upper()} for key in ("a", "b", "c")]}


PROGRAMME = {
    "programme": {"code": "DS-PROG", "title_en": "Dynamic security", "title_lt": "Dinaminė sauga"},
    "modules": [{
        "code": "DS-T1", "title_en": "Test module", "pass_mark": 0.75, "competencies": ["DS.1", "DS.2"],
        "lessons": [
            {"code": "DS-T1-1", "kind": "text", "title_en": "Reading", "body_en": "Three dimensions."},
            {"code": "DS-T1-2", "kind": "knowledge_check", "title_en": "Check",
             "questions": [_question(1, "a"), _question(2, "b"), _question(3, "c"), _question(4, "a")]},
            {"code": "DS-T1-3", "kind": "scenario", "title_en": "Scenario", "start": "s1", "nodes": [
                {"id": "s1", "text_en": "An inmate refuses to return to the cell.", "choices": [
                    {"text_en": "Talk calmly and ask why", "next": "s2", "score": 2, "feedback_en": "Good start."},
                    {"text_en": "Call for restraint at once", "next": "bad", "score": 0}]},
                {"id": "s2", "text_en": "He says his mother is ill.", "choices": [
                    {"text_en": "Arrange a call with the social worker", "next": "good", "score": 3},
                    {"text_en": "Tell him rules are rules", "next": "ok", "score": 1}]},
                {"id": "good", "text_en": "He returns to the cell.", "outcome": "good"},
                {"id": "ok", "text_en": "He returns, resentful.", "outcome": "acceptable"},
                {"id": "bad", "text_en": "The unit is in uproar.", "outcome": "poor"}]},
        ],
    }],
}


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    built = make_engine()
    yield built
    built.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    with rolled_back_session(engine) as db:
        yield db


@pytest.fixture()
def framework(session: Session) -> Framework:
    return load_framework_definition(session, copy.deepcopy(FRAMEWORK))


@pytest.fixture()
def programme(session: Session, framework: Framework) -> Programme:
    return load_programme_definition(session, copy.deepcopy(PROGRAMME), framework)


@pytest.fixture()
def module(programme: Programme) -> CourseModule:
    return programme.modules[0]


@pytest.fixture()
def lessons(module: CourseModule) -> dict[str, Lesson]:
    """The module's lessons by kind: ``text``, ``knowledge_check`` and ``scenario``."""
    return {lesson.kind.value: lesson for lesson in module.lessons}


_usernames = itertools.count(1)


@pytest.fixture()
def make_learner(session: Session) -> Callable[[], User]:
    def make() -> User:
        n = next(_usernames)
        learner = User(username=f"learner{n}", full_name=f"Learner {n}", password_hash="x", role=Role.CADET)
        session.add(learner)
        session.flush()
        return learner
    return make


@pytest.fixture()
def learner(make_learner: Callable[[], User]) -> User:
    return make_learner()
