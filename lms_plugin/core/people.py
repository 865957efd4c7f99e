"""The person table every area and domain points at, with the places a person belongs to:
accounts with roles, institutions, practical training units and cohorts."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from lms_plugin.core.base import Base, LocalisedMixin, enum_column, utcnow


class Role(str, enum.Enum):
    CADET = "cadet"
    MENTOR = "mentor"
    ASSESSOR = "assessor"
    PSYCHOLOGIST = "psychologist"
    ADMIN = "admin"


class Institution(LocalisedMixin, Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(255))
    name_lt: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(128), default="")
    units: Mapped[list["TrainingUnit"]] = relationship(back_populates="institution", order_by="TrainingUnit.code")


class TrainingUnit(LocalisedMixin, Base):
    """A practical training unit inside an institution."""

    __tablename__ = "training_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(255))
    name_lt: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    contact_name: Mapped[str] = mapped_column(String(255), default="")
    contact_phone: Mapped[str] = mapped_column(String(64), default="")
    contact_email: Mapped[str] = mapped_column(String(255), default="")
    institution: Mapped[Institution] = relationship(back_populates="units")


class Cohort(LocalisedMixin, Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(255))
    name_lt: Mapped[str] = mapped_column(String(255), default="")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    members: Mapped[list["User"]] = relationship(back_populates="cohort", order_by="User.full_name")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, 16))
    role_profile_code: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("training_units.id"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[TrainingUnit | None] = relationship()
    cohort: Mapped[Cohort | None] = relationship(back_populates="members")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # The four members Flask-Login asks of a user, written out so the core needs no Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:  # inactive accounts cannot sign in
        return self.active

    def get_id(self) -> str:
        return str(self.id)

