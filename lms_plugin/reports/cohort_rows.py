"""Rows for the cohort workbook, gathered in a fixed number of queries whatever the cohort size."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from courses.models import CourseModule, Lesson, LessonProgress, ModuleCompletion
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.people import Cohort, Role, TrainingUnit, User
from lms_plugin.practice.models import Placement, PracticeTask, SignOff, SignOffOutcome
from lms_plugin.reports.cohort_workbook import CohortRow
from lms_plugin.testing.models import Sitting, SittingStatus, SubscaleResult, TestAssignment
from psychometrics import Instrument
from psychometrics.instrument import localise


def cohort_rows(session: Session, cohort: Cohort, instrument_code: str, instrument: Instrument,
                language: str, on: dt.date) -> list[CohortRow]:
    cadets = sorted_lt(session.scalars(select(User).where(User.cohort_id == cohort.id, User.role == Role.CADET)),
                       key=lambda person: person.full_name)
    ids = [cadet.id for cadet in cadets]
    band_titles = {band.code: localise(band.title, language) for band in instrument.bands}

    placements: dict[int, Placement] = {}
    for placement in session.scalars(
            select(Placement).where(Placement.cadet_id.in_(ids)).order_by(Placement.starts_on)
            .options(selectinload(Placement.unit).selectinload(TrainingUnit.institution),
                     selectinload(Placement.mentor))):
        if placement.starts_on <= on or placement.cadet_id not in placements:
            placements[placement.cadet_id] = placement  # the latest that has started, else the first planned

    results: dict[int, dict[str, SubscaleResult]] = defaultdict(dict)
    latest = (select(Sitting.person_id, func.max(Sitting.id).label("sitting_id"))
              .join(TestAssignment).join(TestAssignment.instrument)
              .where(Sitting.person_id.in_(ids), Sitting.status == SittingStatus.SUBMITTED)
              .where(TestAssignment.instrument.has(code=instrument_code))
              .group_by(Sitting.person_id).subquery())
    for person_id, result in session.execute(
            select(latest.c.person_id, SubscaleResult).join(SubscaleResult,
                                                            SubscaleResult.sitting_id == latest.c.sitting_id)):
        results[person_id][result.subscale] = result

    achieved = dict(session.execute(
        select(SignOff.cadet_id, func.count(func.distinct(SignOff.task_id)))
        .where(SignOff.cadet_id.in_(ids), SignOff.outcome == SignOffOutcome.ACHIEVED)
        .group_by(SignOff.cadet_id)).all())
    tasks_total = session.scalar(select(func.count(PracticeTask.id))) or 0
    modules_total = session.scalar(select(func.count(CourseModule.id))) or 0
    lessons_total = session.scalar(select(func.count(Lesson.id))) or 0
    modules_done = dict(session.execute(
        select(ModuleCompletion.person_id, func.count(ModuleCompletion.id))
        .where(ModuleCompletion.person_id.in_(ids)).group_by(ModuleCompletion.person_id)).all())
    lessons_done = dict(session.execute(
        select(LessonProgress.person_id, func.count(LessonProgress.id))
        .where(LessonProgress.person_id.in_(ids), LessonProgress.completed_at.is_not(None))
        .group_by(LessonProgress.person_id)).all())

    rows = []
    for cadet in cadets:
        placement = placements.get(cadet.id)
        person_results = results.get(cadet.id, {})
        rows.append(CohortRow(
            full_name=cadet.full_name,
            username=cadet.username,
            unit=(f"{placement.unit.institution.localised('name', language)} – "
                  f"{placement.unit.localised('name', language)}") if placement else "",
            mentor=placement.mentor.full_name if placement else "",
            bands={code: band_titles.get(r.band, "") if r.band else "" for code, r in person_results.items()},
            t_scores={code: r.t_score for code, r in person_results.items()},
            tasks_achieved=achieved.get(cadet.id, 0),
            tasks_total=tasks_total,
            modules_completed=modules_done.get(cadet.id, 0),
            modules_total=modules_total,
            course_percent=100.0 * lessons_done.get(cadet.id, 0) / lessons_total if lessons_total else 0.0,
        ))
    return rows
