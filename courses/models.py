"""Programme → module → lesson, and each person's progress through them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competency_framework.models import Competency
from lms_plugin.core.base import Base, LocalisedMixin, enum_column, utcnow
from lms_plugin.core.people import User


class LessonKind(str, enum.Enum):
    TEXT = "text"
    VIDEO = "video"
    KNOWLEDGE_CHECK = "knowledge_check"
    SCENARIO = "scenario"


module_competencies = Table(
    "module_competencies", Base.metadata,
    Column("module_id", ForeignKey("course_modules.id"), primary_key=True),
    Column("competency_id", ForeignKey("competencies.id"), primary_key=True, index=True),
)


class Programme(LocalisedMixin, Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    modules: Mapped[list["CourseModule"]] = relationship(
        back_populates="programme", order_by="CourseModule.sort_order", cascade="all, delete-orphan")


class CourseModule(LocalisedMixin, Base):
    __tablename__ = "course_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    pass_mark: Mapped[float] = mapped_column(Float, default=0.8)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    programme: Mapped[Programme] = relationship(back_populates="modules")
    lessons: Mapped[list["Lesson"]] = relationship(
        back_populates="module", order_by="Lesson.sort_order", cascade="all, delete-orphan")
    competencies: Mapped[list[Competency]] = relationship(secondary=module_competencies)


class Lesson(LocalisedMixin, Base):
    """``content`` holds the kind-specific body: paragraphs, questions or scenario nodes."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[LessonKind] = mapped_column(enum_column(LessonKind, 32))
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    module: Mapped[CourseModule] = relationship(back_populates="lessons")


class LessonProgress(Base):
    """A person's state in one lesson. ``completed_at`` is set once and kept."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("person_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(User.id), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    score: Mapped[float | None] = mapped_column(Float)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lesson: Mapped[Lesson] = relationship()


class ModuleCompletion(Base):
    """Recorded once, when every lesson is complete and knowledge checks meet the pass mark."""

    __tablename__ = "module_completions"
    __table_args__ = (UniqueConstraint("person_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(User.id), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("course_modules.id"))
    completed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    score: Mapped[float | None] = mapped_column(Float)
    module: Mapped[CourseModule] = relationship()
