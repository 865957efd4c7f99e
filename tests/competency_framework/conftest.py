"""Fixtures for the framework domain: an in-memory SQLite database with the core's person
table and the domain's own tables (no app), one transaction per test rolled back afterwards,
and factories for people and frameworks."""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from competency_framework.models import Framework
from competency_framework.operations import load_framework_definition
from lms_plugin.core.people import Role, User
from tests.domain_database import make_engine, rolled_back_session

SAMPLE_DEFINITION: dict[str, Any] = {
    "framework": {
        "code": "CO", "version": 1, "title_en": "Correctional officer", "title_lt": "Pareigūnas",
        "description_en": "Sample framework for tests.", "description_lt": "Bandomasis modelis.",
        "scale": {
            "code": "P4", "title_en": "Proficiency", "title_lt": "Lygis", "proficient_level": 3,
            "levels": [
                {"value": 1, "code": "aware", "title_en": "Aware", "title_lt": "Žino",
                 "descriptor_en": "Knows the idea.", "descriptor_lt": "Žino idėją."},
                {"value": 2, "code": "guided", "title_en": "Guided", "title_lt": "Su pagalba"},
                {"value": 3, "code": "independent", "title_en": "Independent", "title_lt": "Savarankiškai"},
                {"value": 4, "code": "expert", "title_en": "Expert", "title_lt": "Ekspertas"},
            ],
        },
        "areas": [
            {"code": "DS", "title_en": "Dynamic security", "title_lt": "Dinaminė sauga", "competencies": [
                {"code": "DS.1", "title_en": "Knows the inmates", "title_lt": "Pažįsta nuteistuosius",
                 "indicators": [{"code": "DS.1.a", "title_en": "Talks daily", "title_lt": "Kalbasi kasdien"},
                                {"code": "DS.1.b", "title_en": "Notices change", "title_lt": "Pastebi pokyčius"}]},
                {"code": "DS.2", "title_en": "Contact officer role", "title_lt": "Kontaktinio pareigūno vaidmuo",
                 "indicators": [{"code": "DS.2.a", "title_en": "Keeps notes", "title_lt": "Rašo pastabas"}]},
            ]},
            {"code": "CR", "title_en": "Conflict reduction", "title_lt": "Konfliktų mažinimas", "competencies": [
                {"code": "CR.1", "title_en": "De-escalates", "title_lt": "Mažina įtampą", "indicators": []},
            ]},
        ],
    },
    "role_profiles": [
        {"code": "cadet", "title_en": "Cadet", "title_lt": "Kursantas",
         "requirements": {"DS.1": 2, "DS.2": 1, "CR.1": 2}},
        {"code": "officer", "title_en": "Officer", "title_lt": "Pareigūnas",
         "requirements": {"DS.1": 3, "DS.2": 3, "CR.1": 3}},
    ],
}


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    built = make_engine()
    yield built
    built.dispose()


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with rolled_back_session(engine) as db:
        yield db


@pytest.fixture()
def definition() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE_DEFINITION)


@pytest.fixture()
def framework(session: Session, definition: dict[str, Any]) -> Framework:
    """The sample framework, published (as the fixtures load it)."""
    return load_framework_definition(session, definition)


_usernames = itertools.count(1)


@pytest.fixture()
def make_person(session: Session) -> Callable[..., User]:
    def make(role_profile_code: str | None = "cadet", role: Role = Role.CADET) -> User:
        n = next(_usernames)
        person = User(username=f"person{n}", full_name=f"Person {n}", password_hash="x", role=role,
                      role_profile_code=role_profile_code)
        session.add(person)
        session.flush()
        return person
    return make
