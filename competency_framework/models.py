"""Frameworks, scales, the competency tree, role profiles and evidence."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms_plugin.core.base import AppendOnly, Base, LocalisedMixin, enum_column, utcnow
from lms_plugin.core.people import User


class FrameworkStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    # Being written or removed by a background job in short batches: invisible and untouchable
    # until the job finishes (an import then makes it a draft; a discard deletes it).
    PENDING = "pending"


class NodeKind(str, enum.Enum):
    AREA = "area"
    COMPETENCY = "competency"
    INDICATOR = "indicator"


class EvidenceSource(str, enum.Enum):
    PSYCHOMETRIC = "psychometric"
    PRACTICE_SIGNOFF = "practice_signoff"
    COURSE = "course"
    RATING = "rating"
    PRIOR_LEARNING = "prior_learning"
    SELF_ASSESSMENT = "self_assessment"
    OVERRIDE = "override"


class AggregationRule(str, enum.Enum):
    """How a competency's own evidence becomes one level (see ``proficiency``)."""

    LATEST_RATING = "latest_rating"
    HIGHEST_SOURCE_PRIORITY = "highest_source_priority"


class RollupRule(str, enum.Enum):
    """Whether and how a parent's level follows from its children's."""

    NONE = "none"
    ALL_CHILDREN = "all_children"
    AT_LEAST_N_CHILDREN = "at_least_n_children"


class Scale(LocalisedMixin, Base):
    __tablename__ = "scales"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    proficient_level: Mapped[int] = mapped_column(Integer)
    levels: Mapped[list["ScaleLevel"]] = relationship(
        back_populates="scale", order_by="ScaleLevel.value", cascade="all, delete-orphan")

    @property
    def max_level(self) -> int:
        return max(level.value for level in self.levels)


class ScaleLevel(LocalisedMixin, Base):
    __tablename__ = "scale_levels"
    __table_args__ = (UniqueConstraint("scale_id", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id"))
    value: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    descriptor_en: Mapped[str] = mapped_column(Text, default="")
    descriptor_lt: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[Scale] = relationship(back_populates="levels")


class Framework(LocalisedMixin, Base):
    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FrameworkStatus] = mapped_column(
        enum_column(FrameworkStatus, 16), default=FrameworkStatus.DRAFT)
    published_at: Mapped[dt.datetime | None]
    # When the content last changed; exchange formats carry it (CASE lastChangeDateTime).
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id"))
    scale: Mapped[Scale] = relationship()
    nodes: Mapped[list["Competency"]] = relationship(
        back_populates="framework", order_by="Competency.sort_order", cascade="all, delete-orphan")
    role_profiles: Mapped[list["RoleProfile"]] = relationship(
        back_populates="framework", order_by="RoleProfile.id", cascade="all, delete-orphan")
    links: Mapped[list["CompetencyLink"]] = relationship(
        back_populates="framework", order_by="CompetencyLink.id", cascade="all, delete-orphan")
    policy: Mapped["ProficiencyPolicy | None"] = relationship(
        back_populates="framework", cascade="all, delete-orphan", uselist=False)

    @property
    def is_editable(self) -> bool:
        return self.status is FrameworkStatus.DRAFT


class Competency(LocalisedMixin, Base):
    """A node of the tree: an area, a competency or a behavioural indicator."""

    __tablename__ = "competencies"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("competencies.id"), index=True)
    kind: Mapped[NodeKind] = mapped_column(enum_column(NodeKind, 16))
    code: Mapped[str] = mapped_column(String(64))
    title_en: Mapped[str] = mapped_column(String(500))
    title_lt: Mapped[str] = mapped_column(String(500), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(default=False)
    retired_at: Mapped[dt.datetime | None]

    framework: Mapped[Framework] = relationship(back_populates="nodes")
    parent: Mapped["Competency | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Competency"]] = relationship(
        back_populates="parent", order_by="Competency.sort_order")


class CompetencyLink(Base):
    """A non-hierarchical association kept from exchange formats: Moodle's cross-referenced
    competencies (``isRelatedTo``) and CASE associations other than ``isChildOf``.

    The target is a node of the same framework, or something outside it named by
    identifier/URI/title, so an import never drops what it cannot resolve locally.
    """

    __tablename__ = "competency_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("competencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("competencies.id"), index=True)
    target_identifier: Mapped[str] = mapped_column(String(255), default="")
    target_uri: Mapped[str] = mapped_column(String(1000), default="")
    target_title: Mapped[str] = mapped_column(String(500), default="")

    framework: Mapped[Framework] = relationship(back_populates="links")
    source: Mapped[Competency] = relationship(foreign_keys=[source_id])
    target: Mapped[Competency | None] = relationship(foreign_keys=[target_id])


class ProficiencyPolicy(Base):
    """The aggregation rule an admin chose for one framework version.

    Kept apart from the framework's content: it can change while the version is
    published (it is policy, not the competency definitions), and a new draft copies it.
    Lists hold ``EvidenceSource`` values.
    """

    __tablename__ = "proficiency_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), unique=True)
    rule: Mapped[AggregationRule] = mapped_column(
        enum_column(AggregationRule, 32), default=AggregationRule.LATEST_RATING)
    authorised_sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_priority: Mapped[list[str]] = mapped_column(JSON, default=list)
    achieved_level: Mapped[int | None] = mapped_column(Integer)
    rollup: Mapped[RollupRule] = mapped_column(enum_column(RollupRule, 32), default=RollupRule.NONE)
    rollup_min_children: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey(User.id))

    framework: Mapped[Framework] = relationship(back_populates="policy")


class RoleProfile(LocalisedMixin, Base):
    __tablename__ = "role_profiles"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    code: Mapped[str] = mapped_column(String(64))
    title_en: Mapped[str] = mapped_column(String(255))
    title_lt: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_lt: Mapped[str] = mapped_column(Text, default="")
    framework: Mapped[Framework] = relationship(back_populates="role_profiles")
    requirements: Mapped[list["RoleRequirement"]] = relationship(
        back_populates="role_profile", order_by="RoleRequirement.id", cascade="all, delete-orphan")


class RoleRequirement(Base):
    __tablename__ = "role_requirements"
    __table_args__ = (UniqueConstraint("role_profile_id", "competency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_profile_id: Mapped[int] = mapped_column(ForeignKey("role_profiles.id"))
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    role_profile: Mapped[RoleProfile] = relationship(back_populates="requirements")
    competency: Mapped[Competency] = relationship()


class Evidence(AppendOnly, Base):
    """Append-only: one piece of evidence about one person and one competency.

    ``person_id`` refers to the application's ``users`` table by name, so this
    package never imports the application.
    """

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey(User.id), index=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competencies.id"), index=True)
    source: Mapped[EvidenceSource] = mapped_column(enum_column(EvidenceSource, 32))
    level: Mapped[int | None] = mapped_column(Integer)
    achieved: Mapped[bool | None]
    note: Mapped[str] = mapped_column(Text, default="")
    source_ref: Mapped[str] = mapped_column(String(128), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey(User.id))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"), index=True)
    competency: Mapped[Competency] = relationship()
