"""Loading the shipped demo data, through the same operations a user would trigger.

Running it twice changes nothing: every step looks for what it would create.
Dates in ``people.yaml`` are written around an anchor day; they are moved by
the same number of days so that the demo's placements and test window are
current on the day the data is loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework.operations import competencies_by_code, load_framework_definition
from courses import operations as course_ops
from courses.models import Lesson, LessonKind, Programme
from fixtures import read_yaml
from lms_plugin.core.base import utcnow
from lms_plugin.core.people import Cohort, Role, TrainingUnit, User
from lms_plugin.courses import operations as courses
from lms_plugin.instruments import instrument_definition
from lms_plugin.people.operations import create_user
from lms_plugin.practice.models import LogbookEntry, Placement, PracticeTask, SignOffOutcome
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import placements as organisation
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import InstrumentRecord, NormObservation, Sitting, TestAssignment
from psychometrics.simulation import simulate_instrument_responses

ANCHOR_DAY = dt.date(2026, 11, 23)
NORM_SAMPLE_SIZE = 300
NORM_SEED = 20260901
NORM_INTAKE_YEARS = (2023, 2024, 2025)
# These cadets are left untouched so that the demo journeys start fresh for them.
FRESH_CADETS = {"cadet.01", "cadet.02", "cadet.03", "cadet.04"}


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def load_demo(session: Session, today: dt.date, progress: Callable[[str], None] = lambda _: None) -> LoadReport:
    report = LoadReport()
    shift = today - ANCHOR_DAY

    def moved(value: dt.date) -> dt.date:
        return value + shift

    progress("organisation")
    org = read_yaml("organisation.yaml")
    units: dict[str, TrainingUnit] = {}
    for raw in org["institutions"]:
        institution = organisation.upsert_institution(
            session, code=raw["code"], kind=raw["kind"], name_en=raw["name_en"], name_lt=raw["name_lt"],
            city=raw.get("city", ""))
        for unit in raw.get("units", ()):
            units[unit["code"]] = organisation.upsert_unit(
                session, institution, code=unit["code"], name_en=unit["name_en"], name_lt=unit["name_lt"],
                address=unit.get("address", ""), contact_name=unit.get("contact_name", ""),
                contact_phone=str(unit.get("contact_phone", "")), contact_email=unit.get("contact_email", ""))

    progress("competency framework")
    framework = load_framework_definition(session, read_yaml("framework.yaml"))
    _framework_policy(session, framework)

    progress("practice tasks")
    for raw in read_yaml("practice_tasks.yaml")["tasks"]:
        practice.upsert_task(session, code=raw["code"], title_en=raw["title_en"], title_lt=raw["title_lt"],
                             description_en=raw.get("description_en", ""),
                             description_lt=raw.get("description_lt", ""),
                             competencies=competencies_by_code(session, framework, raw.get("competencies", ())))

    progress("courses")
    programme = read_yaml("courses/dynamic_security.yaml")
    programme["modules"] = [read_yaml(f"courses/{name}") for name in programme.pop("module_files")]
    course_ops.load_programme_definition(session, programme, framework)

    progress("people")
    people = read_yaml("people.yaml")
    password = people["demo_password"]
    cohorts = {raw["code"]: organisation.upsert_cohort(
        session, code=raw["code"], name_en=raw["name_en"], name_lt=raw["name_lt"],
        starts_on=moved(raw["starts_on"])) for raw in people["cohorts"]}
    users: dict[str, User] = {}
    for raw in people["users"]:
        user = session.scalar(select(User).where(User.username == raw["username"]))
        if user is None:
            user = create_user(session, username=raw["username"], full_name=raw["full_name"], role=Role(raw["role"]),
                               password=password, email=raw.get("email", ""),
                               role_profile_code=raw.get("role_profile"), unit=units.get(raw.get("unit") or ""),
                               cohort=cohorts.get(raw.get("cohort") or ""))
            report.count("users")
        users[user.username] = user
    for raw in people["mentors"]:
        mentor = users[raw["username"]]
        if mentor.mentor_profile is None:
            expires = raw.get("accreditation_expires_on")
            organisation.set_mentor_profile(session, mentor, capacity=int(raw["capacity"]),
                                            accreditation_expires_on=moved(expires) if expires else None)
    for raw in people["placements"]:
        cadet = users[raw["cadet"]]
        starts_on, ends_on = moved(raw["starts_on"]), moved(raw["ends_on"])
        if session.scalar(select(Placement.id).where(Placement.cadet_id == cadet.id,
                                                     Placement.starts_on == starts_on)) is None:
            organisation.create_placement(session, None, cadet=cadet, mentor=users[raw["mentor"]],
                                          unit=units[raw["unit"]], starts_on=starts_on, ends_on=ends_on)
            report.count("placements")

    progress("psychometric instrument")
    record = assessments.register_instrument(session, instrument_definition("staff_competence"))
    instrument = assessments.instrument_of(record)
    if session.scalar(select(func.count(NormObservation.id)).where(
            NormObservation.instrument_code == record.code)) == 0:
        sample = simulate_instrument_responses(instrument, NORM_SAMPLE_SIZE, seed=NORM_SEED)
        # Stored as anonymised response patterns too (for item analysis), spread over three past intakes.
        for index, year in enumerate(NORM_INTAKE_YEARS):
            report.count("norm observations", assessments.add_norm_sample(
                session, record, assessments.NORM_GROUP, sample[index::len(NORM_INTAKE_YEARS)], intake_year=year))
    now = utcnow()
    for cohort in cohorts.values():
        if session.scalar(select(TestAssignment.id).where(TestAssignment.cohort_id == cohort.id,
                                                          TestAssignment.instrument_id == record.id)) is None:
            assessments.assign_instrument(session, None, record=record, cohort_id=cohort.id,
                                          opens_at=now - dt.timedelta(days=7), closes_at=now + dt.timedelta(days=60),
                                          time_limit_minutes=90, randomise_items=False)
            report.count("test assignments")

    progress("demo activity")
    _demo_activity(session, users, record, today, report)
    progress("practice workflow")
    _practice_demo(session, users, today, report)
    session.flush()
    return report


def _demo_activity(session: Session, users: dict[str, User], record: InstrumentRecord, today: dt.date,
                   report: LoadReport) -> None:
    """Sittings, logbook entries, sign-offs and lesson progress for the cadets not kept fresh."""
    if session.scalar(select(func.count(Sitting.id))) or session.scalar(select(func.count(LogbookEntry.id))):
        return
    rng = random.Random(2026)
    instrument = assessments.instrument_of(record)
    cadets = sorted((u for u in users.values() if u.role is Role.CADET and u.username not in FRESH_CADETS),
                    key=lambda u: u.username)
    patterns = simulate_instrument_responses(instrument, len(cadets), seed=7)
    tasks = session.scalars(select(PracticeTask).order_by(PracticeTask.code)).all()
    lessons = session.scalars(select(Lesson).join(Lesson.module).order_by(Lesson.module_id, Lesson.sort_order)).all()
    for cadet, pattern in zip(cadets, patterns):
        assignment = session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
        if assignment is not None and rng.random() < 0.85:
            sitting = assessments.start_or_resume(session, cadet, assignment)
            for item_id, value in pattern.items():
                assessments.save_answer(session, cadet, sitting, item_id, value)
            assessments.submit(session, cadet, sitting)
            report.count("submitted tests")
        placement = practice.current_placement(session, cadet, today)
        if placement is None:
            continue
        for task in rng.sample(list(tasks), k=rng.randint(2, 5)):
            performed = min(today, placement.starts_on + dt.timedelta(days=rng.randint(1, 40)))
            entry = practice.add_logbook_entry(
                session, cadet, task=task, performed_on=performed, location=placement.unit.name_lt,
                description=_ENTRY_TEXT.format(task=task.title_lt), reflection=_REFLECTION, today=today)
            report.count("logbook entries")
            if rng.random() < 0.6:
                achieved = rng.random() < 0.8
                practice.sign_off(session, placement.mentor, entry,
                                  outcome=SignOffOutcome.ACHIEVED if achieved else SignOffOutcome.NOT_YET,
                                  comment="" if achieved else _NOT_YET_COMMENT, today=today)
                report.count("sign-offs")
        for lesson in lessons[: rng.randint(0, len(lessons))]:
            if lesson.kind in (LessonKind.TEXT, LessonKind.VIDEO):
                courses.read_lesson(session, cadet, lesson)
            elif lesson.kind is LessonKind.KNOWLEDGE_CHECK:
                answers = {str(q["id"]): str(q["correct"]) if rng.random() < 0.85 else str(q["options"][0]["key"])
                           for q in lesson.content["questions"]}
                courses.answer_knowledge_check(session, cadet, lesson, answers, "lt")
            else:
                node = course_ops.scenario_position(session, cadet.id, lesson)
                while node.get("choices"):
                    courses.choose_in_scenario(session, cadet, lesson, node["id"], 0)
                    node = course_ops.scenario_position(session, cadet.id, lesson)


_ENTRY_TEXT = "Atlikau užduotį „{task}“ prižiūrint mentoriui, laikydamasis(-i) nustatytos tvarkos."
_REFLECTION = "Pavyko ramiai paaiškinti veiksmus; kitą kartą anksčiau pasitarsiu su pamainos vadovu."
_NOT_YET_COMMENT = "Dar reikia savarankiškai atlikti visus procedūros žingsnius; pakartokime kitą savaitę."


def _framework_policy(session: Session, framework: Any) -> None:
    """The demo's proficiency rule: the highest-ranking source counts (an assessor's rating outranks a
    mentor's sign-off, which outranks a screening test), and an "achieved" alone counts as guided practice."""
    if framework.policy is not None:
        return
    from competency_framework.models import AggregationRule, RollupRule
    from competency_framework.proficiency import DEFAULT_AUTHORISED, DEFAULT_SOURCE_PRIORITY
    from lms_plugin.framework import operations as framework_ops

    framework_ops.set_policy(session, None, framework, rule=AggregationRule.HIGHEST_SOURCE_PRIORITY,
                             authorised_sources=DEFAULT_AUTHORISED, source_priority=DEFAULT_SOURCE_PRIORITY,
                             achieved_level=2, rollup=RollupRule.NONE, rollup_min_children=1)


def _practice_demo(session: Session, users: dict[str, User], today: dt.date, report: LoadReport) -> None:
    """Requests, an observation, a correction, reviews, countersignatures and panel cases from
    ``practice_demo.yaml``, through the same operations the mentors and assessors use. Runs once."""
    from lms_plugin.practice.models import (
        AreaJudgement,
        CountersignDecision,
        PanelCase,
        PracticeReview,
        Recommendation,
        ReviewKind,
        SignOffRequest,
    )
    from lms_plugin.practice.operations import reviews

    if session.scalar(select(func.count(PracticeReview.id))) or session.scalar(select(func.count(SignOffRequest.id))):
        return
    demo = read_yaml("practice_demo.yaml")
    tasks = {task.code: task for task in session.scalars(select(PracticeTask))}
    grace = 14

    def entry_for(raw: dict[str, Any]) -> LogbookEntry:
        cadet = users[raw["cadet"]]
        return practice.add_logbook_entry(
            session, cadet, task=tasks[raw["task"]], performed_on=today - dt.timedelta(days=raw["days_ago"]),
            location=raw.get("location", ""), description=raw["description"], reflection=raw.get("reflection", ""),
            today=today)

    for raw in demo["requests"]:
        entry = entry_for(raw)
        practice.request_signoff(session, users[raw["cadet"]], entry, message=raw.get("message", ""), today=today,
                                 at=utcnow() - dt.timedelta(days=raw["asked_days_ago"], hours=2))
        report.count("sign-off requests")
    for raw in demo["observations"]:
        practice.record_observation(
            session, users[raw["mentor"]], users[raw["cadet"]], task=tasks[raw["task"]],
            observed_on=today - dt.timedelta(days=raw["days_ago"]), location=raw.get("location", ""),
            description=raw["description"], outcome=SignOffOutcome(raw["outcome"]), comment=raw.get("comment", ""),
            today=today)
        report.count("observations")
    for raw in demo["corrections"]:
        mentor = users[raw["mentor"]]
        first = practice.sign_off(session, mentor, entry_for(raw), outcome=SignOffOutcome(raw["first"]["outcome"]),
                                  comment=raw["first"]["comment"], today=today)
        practice.correct_signoff(session, mentor, first, outcome=SignOffOutcome(raw["corrected"]["outcome"]),
                                 comment=raw["corrected"]["comment"], reason=raw["corrected"]["reason"], today=today)
        report.count("corrections")
    areas = reviews.practice_areas(session)

    def judgements(raw: dict[str, Any]) -> dict[int, tuple[AreaJudgement, str]]:
        chosen, comments = raw.get("judgements", {}), raw.get("comments", {})
        return {area.id: (AreaJudgement(chosen.get(area.code, raw.get("default", "expected"))),
                          comments.get(area.code, "")) for area in areas}

    for raw in demo["reviews"]:
        mentor, cadet, kind = users[raw["mentor"]], users[raw["cadet"]], ReviewKind(raw["kind"])
        recommendation = Recommendation(raw["recommendation"]) if raw.get("recommendation") else None
        review = reviews.record_review(session, mentor, cadet, kind=kind, judgements=judgements(raw),
                                       summary=raw["summary"], recommendation=recommendation, today=today,
                                       grace_days=grace)
        report.count("reviews")
        if raw.get("correction"):
            fix = {**raw, **raw["correction"]}
            review = reviews.record_review(session, mentor, cadet, kind=kind, judgements=judgements(fix),
                                           summary=fix["summary"], recommendation=recommendation, today=today,
                                           grace_days=grace, corrects=review, reason=fix["reason"])
            report.count("corrections")
        if raw.get("countersign"):
            signed = raw["countersign"]
            reviews.countersign(session, users[signed["by"]], review, decision=CountersignDecision(signed["decision"]),
                                comment=signed.get("comment", ""))
            report.count("countersignatures")
        if raw.get("panel"):
            panel = raw["panel"]
            case = session.scalar(select(PanelCase).where(PanelCase.review_id == review.id))
            reviews.decide_panel(session, users[panel["by"]], case, decision=Recommendation(panel["decision"]),
                                 reasons=panel["reasons"], members=panel.get("members", ""))
            report.count("panel decisions")


def demo_logins(session: Session) -> list[tuple[str, str, str]]:
    """(role, username, full name) of the accounts worth trying first."""
    wanted = ["admin", "assessor", "psychologist", "mentor.jonas", "mentor.ona", "cadet.01", "cadet.02"]
    found = {u.username: u for u in session.scalars(select(User).where(User.username.in_(wanted)))}
    return [(found[name].role.value, name, found[name].full_name) for name in wanted if name in found]


def counts(session: Session) -> dict[str, Any]:
    return {
        "users": session.scalar(select(func.count(User.id))),
        "cohorts": session.scalar(select(func.count(Cohort.id))),
        "practice tasks": session.scalar(select(func.count(PracticeTask.id))),
        "programmes": session.scalar(select(func.count(Programme.id))),
    }
