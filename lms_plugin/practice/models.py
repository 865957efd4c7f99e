"""Placements, the practice task catalogue, the cadet's logbook and mentor sign-offs."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from competency_framework.models import Competency
from lms_plugin.core.base import AppendOnly, Base, LocalisedMixin, enum_column, utcnow
from lms_plugin.core.people import TrainingUnit, User

task_competencies = Table(
    "practice_task_competencies", Base.metadata,
    Column("task_id", ForeignKey("practice_tasks.id"), primary_key=True),
    Column("competency_id", ForeignKey("competencies.id"), primary_key=True, index=True),
)


class MentorProfile(Base):
    """A mentor's capacity and accreditation; the person row itself lives in the core."""

    __tablename__ = "mentor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey(User.id), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    accreditation_expires_on: Mapped[dt.date | None] = mapped_column(Date)
    user: Mapped[User] = relationship(backref=backref("mentor_profile", uselist=False))


class Placement(Base):
    """A cadet at a unit under a mentor for a period (inclusive dates)."""

    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("training_units.id"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Reassigning ends this placement early and starts a new one that points back here.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("placements.id"))
    # Why the placement began (a reassignment's reason) or was ended early; empty otherwise.
    change_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The end date as first planned, kept when the placement is ended early.
    planned_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    cadet: Mapped[User] = relationship(foreign_keys=[cadet_id])
    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    unit: Mapped[TrainingUnit] = relationship()
    previous: Mapped["Placement | None"] = relationship(remote_side=[id])

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
    # Who wrote the entry: the cadet (NULL) or a mentor recording an observation.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cadet: Mapped[User] = relationship(foreign_keys=[cadet_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    placement: Mapped[Placement] = relationship()
    task: Mapped[PracticeTask] = relationship()
    signoffs: Mapped[list["SignOff"]] = relationship(back_populates="entry", order_by="SignOff.id")
    attachments: Mapped[list["LogbookAttachment"]] = relationship(back_populates="entry",
                                                                  order_by="LogbookAttachment.id")
    request: Mapped["SignOffRequest | None"] = relationship(back_populates="entry", uselist=False)

    @property
    def is_observation(self) -> bool:
        return self.recorded_by_id is not None

    @property
    def current_signoff(self) -> "SignOff | None":
        """The sign-off in force: the last of the correction chain."""
        corrected = {s.corrects_id for s in self.signoffs if s.corrects_id is not None}
        current = [s for s in self.signoffs if s.id not in corrected]
        return current[-1] if current else None


class SignOffOutcome(str, enum.Enum):
    ACHIEVED = "achieved"
    NOT_YET = "not_yet"


class ChainedRecord:
    """Columns of a signed record that takes part in its cadet's hash chain.

    ``chain_seq`` numbers the cadet's signed records of every kind 1, 2, 3…; ``prev_hash`` is
    the previous record's ``record_hash`` (64 zeros for the first); ``record_hash`` is the
    SHA-256 of the record's canonical content, ``prev_hash`` included (see
    ``lms_plugin.operations.practice_chain``). Who signed, in which role and when, and a
    correction's pointer and reason, are common to every kind. ``link_mac`` seals the link
    under the chain key named by ``key_id`` (see ``lms_plugin.core.seals``); rows signed
    before the key existed hold none until ``flask practice rekey``.
    """

    signer_role: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    correction_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    record_hash: Mapped[str | None] = mapped_column(String(64))
    link_mac: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))


class SignOff(ChainedRecord, AppendOnly, Base):
    """A signed judgement on a logbook entry. Append-only: a correction is a new row."""

    __tablename__ = "signoffs"
    __table_args__ = (
        # One original sign-off per entry; corrections are further rows that point back.
        Index("uq_signoffs_entry_original", "entry_id", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
        # A record is corrected at most once: a later correction corrects the correction.
        UniqueConstraint("corrects_id"),
        UniqueConstraint("cadet_id", "chain_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("logbook_entries.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("practice_tasks.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[SignOffOutcome] = mapped_column(enum_column(SignOffOutcome, 16))
    comment: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("signoffs.id"))
    entry: Mapped[LogbookEntry] = relationship(back_populates="signoffs")
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])
    task: Mapped[PracticeTask] = relationship()


class LogbookAttachment(Base):
    """A file a cadet attached to a logbook entry, stored under the instance folder by a random name.

    ``sha256`` is of the stored bytes; a sign-off's hash covers it, so a file swapped on disk
    after signing is caught by the integrity check.
    """

    __tablename__ = "logbook_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("logbook_entries.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    entry: Mapped[LogbookEntry] = relationship(back_populates="attachments")


class RequestStatus(str, enum.Enum):
    PENDING = "pending"
    SIGNED = "signed"
    WITHDRAWN = "withdrawn"


class SignOffRequest(Base):
    """A cadet asks the mentor to sign an entry. Pending → signed (by a sign-off) or withdrawn
    (and asked again: withdrawn → pending). One request per entry."""

    __tablename__ = "signoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("logbook_entries.id"), unique=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, 16), default=RequestStatus.PENDING,
                                                  index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    signoff_id: Mapped[int | None] = mapped_column(ForeignKey("signoffs.id"))
    entry: Mapped[LogbookEntry] = relationship(back_populates="request")
    cadet: Mapped[User] = relationship()
    placement: Mapped[Placement] = relationship()
    signoff: Mapped[SignOff | None] = relationship()


class ReviewKind(str, enum.Enum):
    MID = "mid"
    FINAL = "final"


class AreaJudgement(str, enum.Enum):
    """The mentor's judgement on one competency area, against what is expected at this stage."""

    CONCERN = "concern"
    EXPECTED = "expected"
    ABOVE = "above"
    NOT_OBSERVED = "not_observed"


class Recommendation(str, enum.Enum):
    """A final review's (and a panel's) progression decision."""

    PROGRESS = "progress"
    NOT_READY = "not_ready"


class PracticeReview(ChainedRecord, AppendOnly, Base):
    """A mentor's mid-placement or final review: a judgement per competency area and an overall
    comment; a final review also recommends whether the cadet progresses."""

    __tablename__ = "practice_reviews"
    __table_args__ = (
        Index("uq_practice_reviews_original", "placement_id", "kind", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
        UniqueConstraint("corrects_id"),
        UniqueConstraint("cadet_id", "chain_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[ReviewKind] = mapped_column(enum_column(ReviewKind, 16))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation, 16))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("practice_reviews.id"))
    placement: Mapped[Placement] = relationship()
    cadet: Mapped[User] = relationship(foreign_keys=[cadet_id])
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])
    judgements: Mapped[list["ReviewJudgement"]] = relationship(back_populates="review",
                                                                order_by="ReviewJudgement.sort_order")
    countersignatures: Mapped[list["Countersignature"]] = relationship(back_populates="review",
                                                                        order_by="Countersignature.id")


class ReviewJudgement(AppendOnly, Base):
    """One competency area's judgement inside a review (sealed with the review)."""

    __tablename__ = "practice_review_judgements"
    __table_args__ = (UniqueConstraint("review_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("practice_reviews.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("competencies.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    judgement: Mapped[AreaJudgement] = mapped_column(enum_column(AreaJudgement, 16))
    comment: Mapped[str] = mapped_column(Text, default="")
    review: Mapped[PracticeReview] = relationship(back_populates="judgements")
    area: Mapped[Competency] = relationship()


class CountersignDecision(str, enum.Enum):
    AGREE = "agree"
    DISAGREE = "disagree"


class Countersignature(ChainedRecord, AppendOnly, Base):
    """A Training Centre assessor's countersignature of a final review's progression decision."""

    __tablename__ = "countersignatures"
    __table_args__ = (
        Index("uq_countersignatures_review_original", "review_id", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
        UniqueConstraint("corrects_id"),
        UniqueConstraint("cadet_id", "chain_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("practice_reviews.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[CountersignDecision] = mapped_column(enum_column(CountersignDecision, 16))
    comment: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("countersignatures.id"))
    review: Mapped[PracticeReview] = relationship(back_populates="countersignatures")
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])


class PanelStatus(str, enum.Enum):
    OPEN = "open"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"  # the assessor corrected the countersignature to agree before a decision


class PanelCase(Base):
    """Mentor and assessor disagree on a final review: the case goes to a review panel.
    Open → decided (by a panel decision) or withdrawn (the countersignature was corrected to agree)."""

    __tablename__ = "panel_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("practice_reviews.id"), unique=True)
    countersignature_id: Mapped[int] = mapped_column(ForeignKey("countersignatures.id"))
    status: Mapped[PanelStatus] = mapped_column(enum_column(PanelStatus, 16), default=PanelStatus.OPEN, index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    cadet: Mapped[User] = relationship()
    review: Mapped[PracticeReview] = relationship()
    countersignature: Mapped[Countersignature] = relationship()
    decisions: Mapped[list["PanelDecision"]] = relationship(back_populates="case", order_by="PanelDecision.id")


class PanelDecision(ChainedRecord, AppendOnly, Base):
    """The review panel's decision on a case, with its reasons."""

    __tablename__ = "panel_decisions"
    __table_args__ = (
        Index("uq_panel_decisions_case_original", "case_id", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
        UniqueConstraint("corrects_id"),
        UniqueConstraint("cadet_id", "chain_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("panel_cases.id"), index=True)
    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[Recommendation] = mapped_column(enum_column(Recommendation, 16))
    reasons: Mapped[str] = mapped_column(Text)
    members: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("panel_decisions.id"))
    case: Mapped[PanelCase] = relationship(back_populates="decisions")
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])


class PracticeChainHead(Base):
    """The end of a cadet's hash chain: how many signed records it holds and the last one's hash.

    Appending updates it only where ``length`` is still what the appender read, so two
    records signed for one cadet at the same moment cannot both take the same place.
    """

    __tablename__ = "practice_chain_heads"

    cadet_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    # The last link's MAC, and the head's own seal over the length and that MAC.
    last_mac: Mapped[str | None] = mapped_column(String(64))
    head_mac: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
