"""Placements, the practice task catalogue, the cadet's logbook and mentor sign-offs."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency_framework.base import AppendOnly, Base, LocalisedMixin, enum_column, utcnow
from competency_framework.models import Competency
from lms_plugin.models.people import TrainingUnit, User

task_competencies = Table(
    "practice_task_competencies", Base.metadata,
    Column("task_id", ForeignKey("practice_tasks.id"), primary_key=True),
    Column("competency_id", ForeignKey("competencies.id"), primary_key=True),
)


class Placement(Base):
    """A cadet at a unit under a mentor for a period (inclusive dates)."""

    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("training_units.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cadet: Mapped[User] = relationship(foreign_keys=[cadet_id])
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    unit: Mapped[TrainingUnit] = relationship()

    def is_current(self, on: dt.date) -> bool:
        return self.starts_on <= on <= self.ends_on


class PracticeTask(LocalisedMixin, Base):
    __tablename__ = "practice_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    competencies: Mapped[list[Competency]] = relationship(secondary=task_competencies)


class LogbookEntry(Base):
    """What a cadet did for a task, written by the cadet."""

    __tablename__ = "logbook_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practice_tasks.id"))
    performed_on: Mapped[dt.date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text)
    reflection: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cadet: Mapped[User] = relationship()
    placement: Mapped[Placement] = relationship()
    task: Mapped[PracticeTask] = relationship()
    signoffs: Mapped[list["SignOff"]] = relationship(back_populates="entry", order_by="SignOff.signed_at")


class SignOffOutcome(str, enum.Enum):
    ACHIEVED = "achieved"
    NOT_YET = "not_yet"


class SignOff(AppendOnly, Base):
    """A signed judgement on a logbook entry. Append-only: a correction is a new row."""

    __tablename__ = "signoffs"
    __table_args__ = (
        # One original sign-off per entry; corrections are further rows that point back.
        Index("uq_signoffs_entry_original", "entry_id", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("logbook_entries.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practice_tasks.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_role: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[SignOffOutcome] = mapped_column(enum_column(SignOffOutcome, 16))
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("signoffs.id"))
    entry: Mapped[LogbookEntry] = relationship(back_populates="signoffs")
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])
    task: Mapped[PracticeTask] = relationship()
