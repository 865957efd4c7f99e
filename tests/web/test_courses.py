"""A learner works through a module in the app: its completion becomes evidence for every competency
the module is mapped to, scores and completions are audited, and bad input is refused in the
person's language with nothing written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from competency_framework.models import Evidence, EvidenceSource
from courses import operations as course_domain
from courses.models import CourseModule, Lesson, LessonKind, LessonProgress, ModuleCompletion
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.people import Role
from lms_plugin.people.operations import create_user
from tests.conftest import DEMO_PASSWORD, csrf_token


def _new_cadet(database: Any, login_as: Any) -> Any:
    """A cadet with no course progress at all (the demo cadets have some)."""
    create_user(database.session, username="cadet.fresh", full_name="Naujas Kursantas", role=Role.CADET,
                password=DEMO_PASSWORD, role_profile_code="cadet")
    database.session.commit()
    return login_as("cadet.fresh")


def _module(database: Any, code: str = "DS-101") -> CourseModule:
    return database.session.scalar(select(CourseModule).where(CourseModule.code == code))


def _post(client: Any, lesson: Lesson, action: str, **data: Any) -> Any:
    token = csrf_token(client, f"/courses/lessons/{lesson.id}")
    return client.post(f"/courses/lessons/{lesson.id}/{action}", data={"csrf_token": token, **data})


def _right_answers(lesson: Lesson) -> dict[str, str]:
    return {f"q-{q['id']}": str(q["correct"]) for q in lesson.content["questions"]}


def _wrong_answers(lesson: Lesson) -> dict[str, str]:
    return {f"q-{q['id']}": next(str(o["key"]) for o in q["options"] if str(o["key"]) != str(q["correct"]))
            for q in lesson.content["questions"]}


def _play_to_an_end(client: Any, database: Any, cadet: Any, lesson: Lesson) -> None:
    node = course_domain.scenario_position(database.session, cadet.id, lesson)
    while node.get("choices"):
        assert _post(client, lesson, "choose", node=node["id"], choice=0).status_code == 302
        database.session.expire_all()
        node = course_domain.scenario_position(database.session, cadet.id, lesson)


def _evidence(database: Any, cadet: Any) -> list[Evidence]:
    return list(database.session.scalars(select(Evidence).where(
        Evidence.person_id == cadet.id, Evidence.source == EvidenceSource.COURSE)))


def test_completing_a_module_records_evidence_for_each_mapped_competency_and_audits_it(client, login_as, database):
    cadet = _new_cadet(database, login_as)
    module = _module(database)
    kinds = {lesson.kind for lesson in module.lessons}
    assert {LessonKind.TEXT, LessonKind.KNOWLEDGE_CHECK, LessonKind.SCENARIO} <= kinds
    last = None
    for lesson in module.lessons:
        assert _evidence(database, cadet) == []  # nothing before the last lesson is done
        if lesson.kind in (LessonKind.TEXT, LessonKind.VIDEO):
            last = _post(client, lesson, "read")
            assert last.status_code == 302
        elif lesson.kind is LessonKind.KNOWLEDGE_CHECK:
            last = _post(client, lesson, "check", **_right_answers(lesson))
            assert last.status_code == 200
        else:
            _play_to_an_end(client, database, cadet, lesson)
            last = None
    # The completion is announced on the first page shown after the last lesson.
    shown = last.get_data(as_text=True) if last is not None and last.status_code == 200 else ""
    shown += client.get(f"/courses/modules/{module.code}").get_data(as_text=True)
    assert shown.count("Module completed. Well done.") == 1
    database.session.expire_all()
    completion = database.session.scalar(select(ModuleCompletion).where(
        ModuleCompletion.person_id == cadet.id, ModuleCompletion.module_id == module.id))
    assert completion is not None
    evidence = _evidence(database, cadet)
    assert sorted(e.competency.code for e in evidence) == sorted(c.code for c in module.competencies)
    assert all(e.achieved and e.source_ref == "module:DS-101" for e in evidence)
    actions = list(database.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == cadet.id)))
    assert actions.count("courses.module_completed") == 1
    assert actions.count("courses.knowledge_check") == sum(
        lesson.kind is LessonKind.KNOWLEDGE_CHECK for lesson in module.lessons)


def test_a_failed_knowledge_check_keeps_the_module_open_and_records_no_evidence(client, login_as, database):
    cadet = _new_cadet(database, login_as)
    module = _module(database)
    for lesson in module.lessons:
        if lesson.kind in (LessonKind.TEXT, LessonKind.VIDEO):
            _post(client, lesson, "read")
        elif lesson.kind is LessonKind.KNOWLEDGE_CHECK:
            html = _post(client, lesson, "check", **_wrong_answers(lesson)).get_data(as_text=True)
            assert "You answered 0 of" in html
        else:
            _play_to_an_end(client, database, cadet, lesson)
    assert database.session.scalar(select(func.count(ModuleCompletion.id)).where(
        ModuleCompletion.person_id == cadet.id)) == 0
    assert _evidence(database, cadet) == []
    check = next(lesson for lesson in module.lessons if lesson.kind is LessonKind.KNOWLEDGE_CHECK)
    assert _post(client, check, "check", **_right_answers(check)).status_code == 200  # a better attempt
    assert len(_evidence(database, cadet)) == len(module.competencies)


def test_an_unanswered_question_is_refused_in_lithuanian_naming_it_and_nothing_is_kept(client, login_as, database):
    cadet = _new_cadet(database, login_as)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "lt"
    check = next(lesson for lesson in _module(database).lessons if lesson.kind is LessonKind.KNOWLEDGE_CHECK)
    answers = _right_answers(check)
    del answers[f"q-{check.content['questions'][1]['id']}"]
    response = _post(client, check, "check", **answers)
    assert response.status_code == 400
    assert "Atsakykite į 2 klausimą." in response.get_data(as_text=True)
    assert database.session.scalar(select(func.count(LessonProgress.id)).where(
        LessonProgress.person_id == cadet.id)) == 0
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.actor_id == cadet.id, AuditEntry.action.like("courses.%"))) == 0


def test_a_choice_from_an_old_page_is_refused_and_the_scenario_stays_where_it_is(client, login_as, database):
    cadet = _new_cadet(database, login_as)
    scenario = next(lesson for lesson in _module(database).lessons if lesson.kind is LessonKind.SCENARIO)
    start = course_domain.scenario_position(database.session, cadet.id, scenario)
    assert _post(client, scenario, "choose", node=start["id"], choice=0).status_code == 302
    database.session.expire_all()
    moved_to = course_domain.scenario_position(database.session, cadet.id, scenario)["id"]
    response = _post(client, scenario, "choose", node=start["id"], choice=1)  # the first step, again
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That step was already taken; the scenario has moved on." in page
    database.session.expire_all()
    assert course_domain.scenario_position(database.session, cadet.id, scenario)["id"] == moved_to
