"""Institutions, practical training units, cohorts, mentors and placements."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.errors import Conflict, OperationError
from lms_plugin.core.people import Cohort, Institution, Role, TrainingUnit, User
from lms_plugin.practice.models import MentorProfile, Placement, RequestStatus, SignOffRequest

UNIT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
UNIT_FIELDS = ("name_en", "name_lt", "address", "contact_name", "contact_phone", "contact_email")
MAX_CAPACITY = 20
MAX_PLACEMENT_DAYS = 366


def _require_manager(actor: User | None) -> None:
    """``None`` is the system itself (fixtures loaded from the command line)."""
    if actor is not None:
        require(actor, Capability.MANAGE_PLACEMENTS)


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


def _clean_unit_fields(fields: dict[str, str]) -> dict[str, str]:
    cleaned = {name: (fields.get(name) or "").strip() for name in UNIT_FIELDS}
    if not cleaned["name_en"] and not cleaned["name_lt"]:
        raise OperationError(_l("Give the unit a name."), field="name_en")
    email = cleaned["contact_email"]
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise OperationError(_l("Enter an e-mail address such as name@example.lt."), field="contact_email")
    return cleaned


def create_unit(session: Session, actor: User | None, institution: Institution, *, code: str,
                **fields: str) -> TrainingUnit:
    """Staff add a practical training unit to an institution."""
    _require_manager(actor)
    code = code.strip().upper()
    if not UNIT_CODE.match(code):
        raise OperationError(_l("A unit code is 1–32 capital letters, digits, dots or dashes, e.g. VPN-3."),
                             field="code")
    if session.scalar(select(TrainingUnit.id).where(TrainingUnit.code == code)) is not None:
        raise Conflict(_l("The unit code %(code)s is taken.", code=code), field="code")
    unit = TrainingUnit(institution=institution, code=code, **_clean_unit_fields(fields))
    session.add(unit)
    session.flush()
    audit.record(session, actor, "mentoring.unit_created", unit, code=code, institution=institution.code)
    return unit


def update_unit(session: Session, actor: User | None, unit: TrainingUnit, *, institution: Institution,
                **fields: str) -> TrainingUnit:
    """Staff correct a unit's institution, name, address or contact. The code stays."""
    _require_manager(actor)
    cleaned = _clean_unit_fields(fields)
    changed = {name: value for name, value in cleaned.items() if getattr(unit, name) != value}
    if unit.institution_id != institution.id:
        changed["institution"] = institution.code
        unit.institution = institution
    for name, value in cleaned.items():
        setattr(unit, name, value)
    session.flush()
    if changed:
        audit.record(session, actor, "mentoring.unit_updated", unit, fields=sorted(changed))
    return unit


def upsert_cohort(session: Session, *, code: str, name_en: str, name_lt: str, starts_on: dt.date) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        cohort = Cohort(code=code, name_en=name_en, name_lt=name_lt, starts_on=starts_on)
        session.add(cohort)
        session.flush()
    return cohort


def set_mentor_profile(session: Session, mentor: User, *, capacity: int,
                       accreditation_expires_on: dt.date | None, actor: User | None = None,
                       home_unit: TrainingUnit | None = None) -> MentorProfile:
    """A mentor's capacity (cadets at once), accreditation expiry and, if given, home unit."""
    _require_manager(actor)
    if mentor.role is not Role.MENTOR:
        raise OperationError(_l("%(name)s is not a mentor.", name=mentor.full_name))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise OperationError(_l("Capacity must be between 1 and %(n)d cadets.", n=MAX_CAPACITY), field="capacity")
    profile = mentor.mentor_profile or MentorProfile(user=mentor)
    before = (profile.capacity, profile.accreditation_expires_on, mentor.unit_id)
    profile.capacity, profile.accreditation_expires_on = capacity, accreditation_expires_on
    if home_unit is not None:
        mentor.unit = home_unit
    session.add(profile)
    session.flush()
    if actor is not None and before != (capacity, accreditation_expires_on, mentor.unit_id):
        audit.record(session, actor, "mentoring.mentor_updated", mentor, capacity=capacity,
                     accreditation_expires_on=accreditation_expires_on.isoformat() if accreditation_expires_on else None,
                     unit=mentor.unit_id)
    return profile


def _check_placement(session: Session, *, cadet: User, mentor: User, starts_on: dt.date, ends_on: dt.date,
                     ignore: Placement | None = None) -> None:
    """The rules a placement must meet; the first one broken is refused with its reason."""
    if cadet.role is not Role.CADET:
        raise OperationError(_l("%(name)s is not a cadet.", name=cadet.full_name), field="cadet")
    if mentor.role is not Role.MENTOR or mentor.mentor_profile is None:
        raise OperationError(_l("%(name)s is not a mentor.", name=mentor.full_name), field="mentor")
    if not mentor.active:
        raise OperationError(_l("%(name)s's account is inactive.", name=mentor.full_name), field="mentor")
    if ends_on < starts_on:
        raise OperationError(_l("The placement ends before it starts."), field="ends_on")
    if (ends_on - starts_on).days >= MAX_PLACEMENT_DAYS:
        raise OperationError(_l("A placement lasts at most a year."), field="ends_on")
    expires = mentor.mentor_profile.accreditation_expires_on
    if expires is None:
        raise Conflict(_l("%(name)s has no mentor accreditation on record.", name=mentor.full_name), field="mentor")
    if expires < starts_on:
        raise Conflict(_l("%(name)s's mentor accreditation expired on %(date)s.",
                          name=mentor.full_name, date=expires.isoformat()), field="mentor")
    if expires < ends_on:
        raise Conflict(_l("%(name)s's mentor accreditation expires on %(date)s, before the placement ends.",
                          name=mentor.full_name, date=expires.isoformat()), field="mentor")
    query = select(Placement).where(Placement.cadet_id == cadet.id, Placement.starts_on <= ends_on,
                                    Placement.ends_on >= starts_on)
    if ignore is not None:
        query = query.where(Placement.id != ignore.id)
    overlapping = session.scalar(query.order_by(Placement.starts_on).limit(1))
    if overlapping is not None:
        raise Conflict(_l("%(name)s already has a placement from %(start)s to %(end)s.", name=cadet.full_name,
                          start=overlapping.starts_on.isoformat(), end=overlapping.ends_on.isoformat()),
                       field="cadet")
    # Capacity holds on every day: the load only rises on a start date, so count on each start in the period.
    others = [p for p in session.scalars(select(Placement).where(
        Placement.mentor_id == mentor.id, Placement.starts_on <= ends_on, Placement.ends_on >= starts_on)).all()
        if ignore is None or p.id != ignore.id]
    capacity = mentor.mentor_profile.capacity
    for day in sorted({starts_on, *(p.starts_on for p in others if p.starts_on >= starts_on)}):
        load = sum(1 for p in others if p.starts_on <= day <= p.ends_on)
        if load >= capacity:
            raise Conflict(_l("%(name)s already mentors %(n)d cadets on %(date)s (capacity %(capacity)d).",
                              name=mentor.full_name, n=load, date=day.isoformat(), capacity=capacity),
                           field="mentor")


def create_placement(session: Session, actor: User | None, *, cadet: User, mentor: User, unit: TrainingUnit,
                     starts_on: dt.date, ends_on: dt.date) -> Placement:
    """Place a cadet with a mentor, refusing what the rules forbid, with the reason."""
    _require_manager(actor)
    _check_placement(session, cadet=cadet, mentor=mentor, starts_on=starts_on, ends_on=ends_on)
    placement = Placement(cadet=cadet, mentor=mentor, unit=unit, starts_on=starts_on, ends_on=ends_on,
                          change_reason="")
    session.add(placement)
    session.flush()
    audit.record(session, actor, "mentoring.placement_created", placement, cadet=cadet.id, mentor=mentor.id,
                 unit=unit.id, starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat())
    return placement


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise OperationError(_l("Say why: the reason is kept with the placement's history."), field="reason")
    if len(reason) > 2000:
        raise OperationError(_l("Keep the reason under %(n)d characters.", n=2000), field="reason")
    return reason


def reassign_placement(session: Session, actor: User | None, placement: Placement, *, mentor: User,
                       unit: TrainingUnit, from_day: dt.date, reason: str, today: dt.date) -> Placement:
    """Move a cadet to another mentor (and/or unit) from a day on: the old placement ends the day
    before and stays in the history; the new one runs to the old planned end and points back."""
    _require_manager(actor)
    reason = _reason(reason)
    if from_day < today:
        raise OperationError(_l("A reassignment starts today or later; the past stays as it was."), field="from_day")
    if not placement.starts_on < from_day <= placement.ends_on:
        raise OperationError(_l("Choose a day after the placement starts and no later than its end (%(end)s).",
                                end=placement.ends_on.isoformat()), field="from_day")
    if mentor.id == placement.mentor_id and unit.id == placement.unit_id:
        raise OperationError(_l("Choose another mentor or unit."), field="mentor")
    planned_end = placement.ends_on
    _check_placement(session, cadet=placement.cadet, mentor=mentor, starts_on=from_day, ends_on=planned_end,
                     ignore=placement)
    placement.planned_ends_on = placement.planned_ends_on or planned_end
    placement.ends_on = from_day - dt.timedelta(days=1)
    successor = Placement(cadet_id=placement.cadet_id, mentor=mentor, unit=unit, starts_on=from_day,
                          ends_on=planned_end, previous_id=placement.id, change_reason=reason)
    session.add(successor)
    session.flush()
    audit.record(session, actor, "mentoring.placement_reassigned", successor, previous=placement.id,
                 previous_mentor=placement.mentor_id, mentor=mentor.id, unit=unit.id,
                 from_day=from_day.isoformat(), reason=reason)
    return successor


def end_placement_early(session: Session, actor: User | None, placement: Placement, *, last_day: dt.date,
                        reason: str, today: dt.date) -> Placement:
    """End a placement before its planned end (the cadet left, fell ill…). The plan is kept."""
    _require_manager(actor)
    reason = _reason(reason)
    if last_day < today - dt.timedelta(days=1):
        raise OperationError(_l("The last day cannot be in the past."), field="last_day")
    if not placement.starts_on <= last_day < placement.ends_on:
        raise OperationError(_l("Choose a last day within the placement, before its planned end (%(end)s).",
                                end=placement.ends_on.isoformat()), field="last_day")
    placement.planned_ends_on = placement.planned_ends_on or placement.ends_on
    placement.ends_on = last_day
    placement.change_reason = reason
    session.flush()
    audit.record(session, actor, "mentoring.placement_ended_early", placement, last_day=last_day.isoformat(),
                 planned_ends_on=placement.planned_ends_on.isoformat(), reason=reason)
    return placement


def mentor_load(session: Session, mentor: User, on: dt.date) -> int:
    return session.scalar(select(func.count(Placement.id)).where(
        Placement.mentor_id == mentor.id, Placement.starts_on <= on, Placement.ends_on >= on)) or 0


def placement_history(session: Session, cadet: User) -> list[Placement]:
    """Every placement of a cadet, newest first (ended, reassigned and current alike)."""
    return list(session.scalars(select(Placement).where(Placement.cadet_id == cadet.id)
                                .options(joinedload(Placement.mentor), joinedload(Placement.unit))
                                .order_by(Placement.starts_on.desc(), Placement.id.desc())))


# --- the load on every unit ---------------------------------------------------------------------

@dataclass
class MentorLoad:
    mentor: User
    capacity: int
    expires_on: dt.date | None
    on: dt.date
    current: int = 0
    upcoming: int = 0
    pending_requests: int = 0

    @property
    def accredited(self) -> bool:
        return self.expires_on is not None and self.on <= self.expires_on

    @property
    def free(self) -> int:
        return max(self.capacity - self.current, 0) if self.accredited else 0


@dataclass
class UnitLoad:
    unit: TrainingUnit
    mentors: list[MentorLoad] = field(default_factory=list)
    current: int = 0
    upcoming: int = 0

    @property
    def capacity(self) -> int:
        return sum(m.capacity for m in self.mentors if m.accredited)

    @property
    def free(self) -> int:
        return max(self.capacity - self.current, 0)

    @property
    def percent(self) -> int | None:
        return round(100 * self.current / self.capacity) if self.capacity else None


def unit_loads(session: Session, on: dt.date) -> list[UnitLoad]:
    """Every unit with its mentors (by home unit), cadets placed there today and in the future,
    accredited capacity and free places. A fixed handful of queries, however big the service."""
    units = session.scalars(select(TrainingUnit).options(joinedload(TrainingUnit.institution))
                            .order_by(TrainingUnit.code)).all()
    rows = {unit.id: UnitLoad(unit=unit) for unit in units}
    mentors = session.execute(
        select(User, MentorProfile).join(MentorProfile, MentorProfile.user_id == User.id)
        .where(User.role == Role.MENTOR, User.active.is_(True))).all()
    mentors = sorted_lt(mentors, key=lambda row: row[0].full_name)
    loads: dict[int, MentorLoad] = {}
    for user, profile in mentors:
        load = MentorLoad(mentor=user, capacity=profile.capacity, expires_on=profile.accreditation_expires_on, on=on)
        loads[user.id] = load
        if user.unit_id in rows:
            rows[user.unit_id].mentors.append(load)
    current = (Placement.starts_on <= on) & (Placement.ends_on >= on)
    for unit_id, now, later in session.execute(
            select(Placement.unit_id, func.count().filter(current), func.count().filter(Placement.starts_on > on))
            .where(Placement.ends_on >= on).group_by(Placement.unit_id)):
        if unit_id in rows:
            rows[unit_id].current, rows[unit_id].upcoming = now, later
    for mentor_id, now, later in session.execute(
            select(Placement.mentor_id, func.count().filter(current), func.count().filter(Placement.starts_on > on))
            .where(Placement.ends_on >= on).group_by(Placement.mentor_id)):
        if mentor_id in loads:
            loads[mentor_id].current, loads[mentor_id].upcoming = now, later
    for mentor_id, pending in session.execute(
            select(Placement.mentor_id, func.count(SignOffRequest.id))
            .join(Placement, (Placement.cadet_id == SignOffRequest.cadet_id) & current)
            .where(SignOffRequest.status == RequestStatus.PENDING).group_by(Placement.mentor_id)):
        if mentor_id in loads:
            loads[mentor_id].pending_requests = pending
    return list(rows.values())


def mentors_with_profiles(session: Session) -> list[tuple[User, MentorProfile | None]]:
    """Every mentor account with its profile (None if not set up yet), by name."""
    rows = session.execute(
        select(User, MentorProfile).outerjoin(MentorProfile, MentorProfile.user_id == User.id)
        .options(joinedload(User.unit)).where(User.role == Role.MENTOR)).all()
    return [tuple(row) for row in sorted_lt(rows, key=lambda row: row[0].full_name)]  # type: ignore[misc]
