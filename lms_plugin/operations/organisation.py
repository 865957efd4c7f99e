"""Institutions, practical training units, cohorts, mentors and placements."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.errors import Conflict, OperationError
from lms_plugin.models.people import Cohort, Institution, MentorProfile, Role, TrainingUnit, User
from lms_plugin.models.practice import Placement
from lms_plugin.operations import audit


def upsert_institution(session: Session, *, code: str, kind: str, name_en: str, name_lt: str, city: str) -> Institution:
    institution = session.scalar(select(Institution).where(Institution.code == code))
    if institution is None:
        institution = Institution(code=code, kind=kind, name_en=name_en, name_lt=name_lt, city=city)
        session.add(institution)
        session.flush()
    return institution


def upsert_unit(session: Session, institution: Institution, *, code: str, **fields: str) -> TrainingUnit:
    unit = session.scalar(select(TrainingUnit).where(TrainingUnit.code == code))
    if unit is None:
        unit = TrainingUnit(institution=institution, code=code, **fields)
        session.add(unit)
        session.flush()
    return unit


def upsert_cohort(session: Session, *, code: str, name_en: str, name_lt: str, starts_on: dt.date) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        cohort = Cohort(code=code, name_en=name_en, name_lt=name_lt, starts_on=starts_on)
        session.add(cohort)
        session.flush()
    return cohort


def set_mentor_profile(session: Session, mentor: User, *, capacity: int,
                       accreditation_expires_on: dt.date | None) -> MentorProfile:
    if mentor.role is not Role.MENTOR:
        raise OperationError(_l("%(name)s is not a mentor.", name=mentor.full_name))
    if capacity < 1:
        raise OperationError(_l("Capacity must be at least 1."), field="capacity")
    profile = mentor.mentor_profile or MentorProfile(user=mentor)
    profile.capacity, profile.accreditation_expires_on = capacity, accreditation_expires_on
    session.add(profile)
    session.flush()
    return profile


def create_placement(session: Session, actor: User | None, *, cadet: User, mentor: User, unit: TrainingUnit,
                     starts_on: dt.date, ends_on: dt.date) -> Placement:
    """Place a cadet with a mentor, refusing what the rules forbid, with the reason."""
    if cadet.role is not Role.CADET:
        raise OperationError(_l("%(name)s is not a cadet.", name=cadet.full_name), field="cadet")
    if mentor.role is not Role.MENTOR or mentor.mentor_profile is None:
        raise OperationError(_l("%(name)s is not a mentor.", name=mentor.full_name), field="mentor")
    if ends_on < starts_on:
        raise OperationError(_l("The placement ends before it starts."), field="ends_on")
    expires = mentor.mentor_profile.accreditation_expires_on
    if expires is not None and expires < ends_on:
        raise Conflict(_l("%(name)s's mentor accreditation expires on %(date)s, before the placement ends.",
                          name=mentor.full_name, date=expires.isoformat()), field="mentor")
    overlapping = session.scalar(select(Placement).where(
        Placement.cadet_id == cadet.id, Placement.starts_on <= ends_on, Placement.ends_on >= starts_on).limit(1))
    if overlapping is not None:
        raise Conflict(_l("%(name)s already has a placement from %(start)s to %(end)s.", name=cadet.full_name,
                          start=overlapping.starts_on.isoformat(), end=overlapping.ends_on.isoformat()),
                       field="cadet")
    # Capacity holds on every day: count the mentor's cadets on each start date inside the new period.
    others = session.scalars(select(Placement).where(
        Placement.mentor_id == mentor.id, Placement.starts_on <= ends_on, Placement.ends_on >= starts_on)).all()
    for day in {starts_on, *(p.starts_on for p in others if p.starts_on >= starts_on)}:
        load = sum(1 for p in others if p.starts_on <= day <= p.ends_on)
        if load >= mentor.mentor_profile.capacity:
            raise Conflict(_l("%(name)s already mentors %(n)d cadets on %(date)s (capacity %(capacity)d).",
                              name=mentor.full_name, n=load, date=day.isoformat(),
                              capacity=mentor.mentor_profile.capacity), field="mentor")
    placement = Placement(cadet=cadet, mentor=mentor, unit=unit, starts_on=starts_on, ends_on=ends_on)
    session.add(placement)
    session.flush()
    audit.record(session, actor, "mentoring.placement_created", placement, cadet=cadet.id, mentor=mentor.id,
                 starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat())
    return placement


def mentor_load(session: Session, mentor: User, on: dt.date) -> int:
    return session.scalar(select(func.count(Placement.id)).where(
        Placement.mentor_id == mentor.id, Placement.starts_on <= on, Placement.ends_on >= on)) or 0
