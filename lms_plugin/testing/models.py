"""Psychometric instruments as stored, their assignment to cohorts, sittings, answers and results."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms_plugin.core.base import Base, LocalisedMixin, enum_column, utcnow
from lms_plugin.core.people import Cohort, User


class InstrumentRecord(LocalisedMixin, Base):
    """A stored instrument definition; scoring always reads this exact version."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    # Loaded only when read: the parsed instrument is cached per process (lms_plugin.testing.operations.instrument_of),
    # so the hot autosave path never decodes the whole definition again.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)


class TestAssignment(Base):
    """An instrument assigned to a cohort for an opening window."""

    __test__ = False  # not a pytest test class, despite the name
    __tablename__ = "test_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    randomise_items: Mapped[bool] = mapped_column(default=False)
    # Attempt policy: None = one attempt; N = another attempt N days after the last submission.
    retake_after_days: Mapped[int | None] = mapped_column(Integer)
    # The reference norm group that bands are given against (a group of the norm sample).
    norm_group: Mapped[str] = mapped_column(String(64), default="cadets", server_default="cadets")
    instrument: Mapped[InstrumentRecord] = relationship()
    cohort: Mapped[Cohort] = relationship()

    def is_open(self, now: dt.datetime) -> bool:
        return self.opens_at <= now <= self.closes_at

    def retake_opens_at(self, sitting: "Sitting | None") -> dt.datetime | None:
        """When the person may start another attempt after ``sitting``; None when they may not."""
        if (sitting is None or sitting.status is not SittingStatus.SUBMITTED or self.retake_after_days is None
                or sitting.submitted_at is None):
            return None
        return sitting.submitted_at + dt.timedelta(days=self.retake_after_days)


class SittingStatus(str, enum.Enum):
    """not_started (a reopened attempt waiting for its person) → in_progress → submitted."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class Sitting(Base):
    """One person's attempt at an assigned instrument."""

    __tablename__ = "sittings"
    __table_args__ = (UniqueConstraint("assignment_id", "person_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("test_assignments.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[SittingStatus] = mapped_column(
        enum_column(SittingStatus, 16), default=SittingStatus.IN_PROGRESS)
    item_order: Mapped[list[str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[dt.datetime | None]
    # Outages before this moment have been added to the deadline (see ``credit_outages``).
    credited_through: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    # True when the time limit ran out and the answers saved in time were submitted for the person.
    auto_submitted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A reopened attempt points at the attempt it replaces, with who reopened it and why.
    reopened_from_id: Mapped[int | None] = mapped_column(ForeignKey("sittings.id"))
    reopened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    assignment: Mapped[TestAssignment] = relationship()
    person: Mapped[User] = relationship(foreign_keys=[person_id])
    reopened_by: Mapped[User | None] = relationship(foreign_keys=[reopened_by_id])
    reopened_from: Mapped["Sitting | None"] = relationship(remote_side="Sitting.id")
    answers: Mapped[list["Answer"]] = relationship(back_populates="sitting")
    results: Mapped[list["SubscaleResult"]] = relationship(back_populates="sitting")


class Answer(Base):
    """The latest answer to one item in one sitting (saved as it is given)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("sitting_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(32))
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sitting: Mapped[Sitting] = relationship(back_populates="answers")


class SubscaleResult(Base):
    __tablename__ = "subscale_results"
    __table_args__ = (UniqueConstraint("sitting_id", "subscale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    subscale: Mapped[str] = mapped_column(String(32))
    n_items: Mapped[int] = mapped_column(Integer)
    n_answered: Mapped[int] = mapped_column(Integer)
    scored: Mapped[bool]
    raw: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)
    t_score: Mapped[float | None] = mapped_column(Float)
    percentile: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(32))
    norm_group: Mapped[str | None] = mapped_column(String(64))
    sitting: Mapped[Sitting] = relationship(back_populates="results")


class NormObservation(Base):
    """One anonymised subscale score in a norm group's reference sample."""

    __tablename__ = "norm_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_code: Mapped[str] = mapped_column(String(32), index=True)
    group: Mapped[str] = mapped_column(String(64))
    subscale: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)


class NormSampleResponse(Base):
    """One anonymised response pattern of a norm sample (item id → option key), kept for item analysis.

    No person is linked: a pattern carries only its norm group and, where known, the intake year.
    """

    __tablename__ = "norm_sample_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_code: Mapped[str] = mapped_column(String(32), index=True)
    instrument_version: Mapped[int] = mapped_column(Integer)
    group: Mapped[str] = mapped_column(String(64))
    intake_year: Mapped[int | None] = mapped_column(Integer)
    responses: Mapped[dict[str, str]] = mapped_column(JSON)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
