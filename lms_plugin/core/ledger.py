"""A keyed chain per person over records of registered kinds (competency evidence today).

The records stay in their own tables, untouched; each gets one ``RecordLink`` here when it
is written: its place ``seq`` in the person's chain, the SHA-256 of its canonical content,
and a MAC (see ``seals``) over the place, that hash and the previous link's MAC.
``RecordChainHead`` holds the chain's length and last MAC, sealed too, so a link removed
from the end is noticed unless an older head is put back (which a checkpoint catches).

A record type joins by ``register_kind``: a name, its model, the attribute naming the
person and a function giving its canonical content. A development-plan agreement, once
the product has them, registers as another kind and shares the person's chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms_plugin.core.base import Base, utcnow
from lms_plugin.core.errors import Conflict
from lms_plugin.core.seals import GENESIS_MAC, Keyring, canonical_bytes, head_content, link_content


class RecordLink(Base):
    """One record's place and seal in its person's chain. Written once, by ``seal_records``."""

    __tablename__ = "record_links"
    __table_args__ = (UniqueConstraint("person_id", "seq"), UniqueConstraint("kind", "record_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RecordChainHead(Base):
    """The end of a person's record chain; moves only from the length its writer read."""

    __tablename__ = "record_chain_heads"

    person_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    length: Mapped[int] = mapped_column(Integer)
    last_mac: Mapped[str] = mapped_column(String(64))
    head_mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class RecordKind:
    name: str
    model: type
    person_attr: str
    content: Callable[[Any], dict[str, Any]]


KINDS: dict[str, RecordKind] = {}


def register_kind(name: str, model: type, person_attr: str, content: Callable[[Any], dict[str, Any]]) -> None:
    KINDS[name] = RecordKind(name, model, person_attr, content)


def kind_of(record: Any) -> RecordKind | None:
    return next((kind for kind in KINDS.values() if isinstance(record, kind.model)), None)


def moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def chain_name(person_id: int) -> str:
    return f"records:{person_id}"


def record_hash(kind: RecordKind, record: Any) -> str:
    return hashlib.sha256(canonical_bytes({"kind": kind.name, **kind.content(record)})).hexdigest()


def seal_records(session: Session, keyring: Keyring, records: Iterable[Any]) -> int:
    """Append each record (of a registered kind, with its id assigned) to its person's chain.

    Runs with Core statements only, so it may run inside a flush. Refuses (``Conflict``) if
    another writer moved the person's chain in between.
    """
    links, heads = RecordLink.__table__, RecordChainHead.__table__
    sealed = 0
    for record in records:
        kind = kind_of(record)
        if kind is None:
            continue
        person_id = getattr(record, kind.person_attr)
        head = session.execute(select(heads.c.length, heads.c.last_mac).where(heads.c.person_id == person_id)
                               .with_for_update()).first()
        length, previous = (head.length, head.last_mac) if head is not None else (0, GENESIS_MAC)
        chain, seq, digest = chain_name(person_id), length + 1, record_hash(kind, record)
        mac = keyring.mac("link", link_content(chain, seq, digest, previous))
        session.execute(insert(links).values(person_id=person_id, seq=seq, kind=kind.name, record_id=record.id,
                                             record_hash=digest, prev_mac=previous, mac=mac, key_id=keyring.current,
                                             sealed_at=utcnow()))
        values = dict(length=seq, last_mac=mac, head_mac=keyring.mac("head", head_content(chain, seq, mac)),
                      key_id=keyring.current, updated_at=utcnow())
        if head is None:
            session.execute(insert(heads).values(person_id=person_id, **values))
        elif session.execute(update(heads).where(heads.c.person_id == person_id, heads.c.length == length)
                             .values(**values)).rowcount != 1:
            raise Conflict("Another record for this person was being written at the same moment; try again.")
        sealed += 1
    return sealed


def unsealed_records(session: Session, person_id: int | None = None) -> list[Any]:
    """Records of every registered kind that have no link, oldest first (by time of recording, then id)."""
    found: list[Any] = []
    for kind in KINDS.values():
        linked = select(RecordLink.record_id).where(RecordLink.kind == kind.name)
        query = select(kind.model).where(kind.model.id.not_in(linked))
        if person_id is not None:
            query = query.where(getattr(kind.model, kind.person_attr) == person_id)
        found += session.scalars(query.execution_options(populate_existing=True)).all()
    return sorted(found, key=lambda r: (moment(getattr(r, "recorded_at", None)) or "", kind_of(r).name, r.id))


# --- verification ------------------------------------------------------------------------------

@dataclass
class LedgerProblem:
    """``code``: unsealed, unknown-key, mismatch, missing-record, changed, order, link, head, extra."""

    record: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class LedgerReport:
    person_id: int
    records: int = 0
    last_mac: str = GENESIS_MAC
    problems: list[LedgerProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def links_of(session: Session, person_id: int) -> list[Any]:
    links = RecordLink.__table__
    return list(session.execute(select(links).where(links.c.person_id == person_id).order_by(links.c.seq)))


def verify_ledger(session: Session, keyring: Keyring, person_id: int) -> LedgerReport:
    """Recompute a person's record chain from the rows as they are now; list every way it does not hold."""
    report = LedgerReport(person_id)
    chain = chain_name(person_id)
    rows = links_of(session, person_id)
    records: dict[tuple[str, int], Any] = {}
    for kind in KINDS.values():
        ids = [row.record_id for row in rows if row.kind == kind.name]
        for record in session.scalars(select(kind.model).where(kind.model.id.in_(ids))
                                      .execution_options(populate_existing=True)):
            records[kind.name, record.id] = record
    previous, position = GENESIS_MAC, 0
    for row in rows:
        position += 1
        name = f"{row.kind} #{row.record_id}"
        if row.seq != position:
            report.problems.append(LedgerProblem(name, "order", {"seq": row.seq, "expected": position}))
        if row.prev_mac != previous:
            report.problems.append(LedgerProblem(name, "link"))
        seal = keyring.check("link", link_content(chain, row.seq, row.record_hash, row.prev_mac), row.key_id, row.mac)
        if seal is not None:
            report.problems.append(LedgerProblem(name, seal, {"key": row.key_id}))
        kind, record = KINDS.get(row.kind), records.get((row.kind, row.record_id))
        if kind is None or record is None:
            report.problems.append(LedgerProblem(name, "missing-record"))
        elif getattr(record, kind.person_attr) != person_id or record_hash(kind, record) != row.record_hash:
            report.problems.append(LedgerProblem(name, "changed"))
        previous = row.mac
    for record in unsealed_records(session, person_id):
        report.problems.append(LedgerProblem(f"{kind_of(record).name} #{record.id}", "extra"))
    head = session.execute(select(RecordChainHead.__table__).where(RecordChainHead.person_id == person_id)).first()
    length, last = (head.length, head.last_mac) if head is not None else (0, GENESIS_MAC)
    if length != position or last != previous:
        report.problems.append(LedgerProblem("chain", "head", {"length": length, "found": position}))
    elif head is not None:
        seal = keyring.check("head", head_content(chain, length, last), head.key_id, head.head_mac)
        if seal is not None:
            report.problems.append(LedgerProblem("chain", seal, {"key": head.key_id}))
    report.records, report.last_mac = position, previous
    return report


def people_with_records(session: Session) -> list[int]:
    ids: set[int] = set(session.scalars(select(RecordChainHead.person_id)))
    ids |= set(session.scalars(select(RecordLink.person_id).distinct()))
    for kind in KINDS.values():
        ids |= set(session.scalars(select(getattr(kind.model, kind.person_attr)).distinct()))
    return sorted(ids)


def link_mac_at(session: Session, person_id: int, seq: int) -> str | None:
    return session.scalar(select(RecordLink.mac).where(RecordLink.person_id == person_id, RecordLink.seq == seq))
