"""Every keyed chain at once: each cadet's signed practice records and each person's record chain
(competency evidence), their one-off sealing after an upgrade, and signed checkpoints.

A checkpoint lists, per chain, its length and last MAC at a moment (UTC), and is itself sealed
with the chain key. Kept outside the system, it shows later that no chain was rewritten or
cut short since: a chain that still verifies and holds, at the checkpoint's length, the same
MAC has kept every link it had then, because each MAC covers the one before it.
"""

from __future__ import annotations

from typing import Any, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_plugin.core import audit
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import utcnow
from lms_plugin.core.errors import OperationError
from lms_plugin.core.ledger import (
    LedgerProblem,
    link_mac_at,
    people_with_records,
    seal_records,
    unsealed_records,
    verify_ledger,
)
from lms_plugin.core.seals import CHECKPOINT_FORMAT, GENESIS_MAC, Keyring
from lms_plugin.practice.models import PracticeChainHead
from lms_plugin.practice.operations.chain import (
    CHAINED_MODELS,
    ChainProblem,
    ChainReport,
    cadets_with_records,
    chained_records,
    head_seal,
    link_seal,
    seal_problem,
    verify_chain,
)

PRACTICE, RECORDS = "practice", "records"
SEAL_CODES = {"unsealed", "unknown-key", "mismatch"}


def _ledger_message(problem: LedgerProblem) -> ChainProblem:
    if problem.code in SEAL_CODES:
        return seal_problem(problem.record, problem.code, problem.params.get("key"))
    messages = {
        "order": _l("it holds place %(seq)d where place %(expected)d was expected (a record is missing or duplicated)",
                    seq=problem.params.get("seq", 0), expected=problem.params.get("expected", 0)),
        "link": _l("it does not point at the previous record's seal"),
        "missing-record": _l("the record it seals is missing (deleted behind the application's back)"),
        "changed": _l("its content no longer matches its hash (it was changed after it was recorded)"),
        "extra": _l("the record is not in the chain"),
        "head": _l("its recorded end (%(length)d records) does not match the records found (%(found)d)",
                   length=problem.params.get("length", 0), found=problem.params.get("found", 0)),
    }
    return ChainProblem(problem.record, str(messages[problem.code]), problem.code)


def verify_records(session: Session, keyring: Keyring, person_id: int) -> ChainReport:
    """A person's record chain (competency evidence), reported like a practice chain."""
    ledger = verify_ledger(session, keyring, person_id)
    return ChainReport(cadet_id=person_id, chain=RECORDS, records=ledger.records, head_hash=ledger.last_mac,
                       last_mac=ledger.last_mac, problems=[_ledger_message(p) for p in ledger.problems])


def verify_everything(session: Session, keyring: Keyring, person_ids: Iterable[int] | None = None,
                      storage_dir: Any = None, checkpoint: dict[str, Any] | None = None) -> list[ChainReport]:
    """Every practice chain and every record chain (or those of ``person_ids``), checked against
    ``checkpoint`` too when one is given (see ``check_checkpoint`` for the file itself)."""
    wanted = None if person_ids is None else set(person_ids)
    practice_ids, record_ids = set(cadets_with_records(session)), set(people_with_records(session))
    if checkpoint is not None:  # a chain deleted outright still has its place in the checkpoint
        for entry in checkpoint["chains"]:
            (practice_ids if entry["chain"] == PRACTICE else record_ids).add(entry["person"])
    if wanted is not None:
        practice_ids, record_ids = practice_ids & wanted, record_ids & wanted
    reports = [verify_chain(session, cadet_id, storage_dir, keyring) for cadet_id in sorted(practice_ids)]
    reports += [verify_records(session, keyring, person_id) for person_id in sorted(record_ids)]
    if checkpoint is not None:
        _compare_with_checkpoint(session, reports, checkpoint)
    return reports


# --- sealing what was written before the key -----------------------------------------------------

def rekey(session: Session, keyring: Keyring, *, again: bool = False) -> dict[str, Any]:
    """Seal, once, the links written before chains had a key: every practice chain whose hashes
    still hold gets its MACs, and every evidence row without a link joins its person's chain.

    A practice chain that does not verify by its hashes is left unsealed and reported, so a
    tampered record is never blessed. Refused once done (``again`` for a deliberate second run,
    e.g. after restoring an older backup); audited either way.
    """
    if not again and session.scalar(select(AuditEntry.id).where(AuditEntry.action == "chain.rekey").limit(1)):
        raise OperationError(_l("The chains were sealed with the key before; run again only on purpose "
                                "(--again), e.g. after restoring an older backup."))
    sealed_chains, refused = 0, []
    for cadet_id in cadets_with_records(session):
        report = verify_chain(session, cadet_id, keyring=keyring)
        if not any(problem.code == "unsealed" for problem in report.problems):
            continue
        if any(problem.code != "unsealed" for problem in report.problems):
            refused.append(cadet_id)
            continue
        previous = GENESIS_MAC
        records = chained_records(session, cadet_id)
        for record in records:
            mac = link_seal(keyring, record, previous)
            table = type(record).__table__
            session.execute(update(table).where(table.c.id == record.id)
                            .values(link_mac=mac, key_id=keyring.current))
            previous = mac
        session.execute(update(PracticeChainHead.__table__).where(PracticeChainHead.cadet_id == cadet_id)
                        .values(updated_at=utcnow(), **head_seal(keyring, cadet_id, len(records), previous)))
        sealed_chains += 1
    evidence = seal_records(session, keyring, unsealed_records(session))
    summary = {"key_id": keyring.current, "practice_chains": sealed_chains, "evidence_rows": evidence,
               "refused_cadets": refused}
    audit.record(session, None, "chain.rekey", keyring, again=again or None, **summary)
    session.expire_all()
    session.flush()
    return summary


# --- checkpoints -------------------------------------------------------------------------------

def make_checkpoint(session: Session, keyring: Keyring) -> tuple[dict[str, Any], list[ChainReport]]:
    """A signed checkpoint of every chain, and the reports of chains that do not verify now
    (the checkpoint is not to be written then: it would vouch for a broken state)."""
    reports = verify_everything(session, keyring)
    body = {
        "format": CHECKPOINT_FORMAT,
        "created_at": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "key_id": keyring.current,
        "chains": [{"chain": r.chain, "person": r.cadet_id, "length": r.records, "last_mac": r.last_mac}
                   for r in reports if r.records],
    }
    audit.record(session, None, "chain.checkpoint", keyring, chains=len(body["chains"]),
                 created_at=body["created_at"])
    session.flush()
    return {**body, "mac": keyring.mac("checkpoint", body, keyring.current)}, [r for r in reports if not r.ok]


def check_checkpoint(keyring: Keyring, checkpoint: Any) -> dict[str, Any]:
    """The checkpoint's body if it is well formed and sealed with a key this installation holds."""
    fields = {"format", "created_at", "key_id", "chains", "mac"}
    if not isinstance(checkpoint, dict) or set(checkpoint) != fields or checkpoint["format"] != CHECKPOINT_FORMAT \
            or not isinstance(checkpoint["chains"], list) or not all(
                isinstance(e, dict) and e.get("chain") in (PRACTICE, RECORDS) and isinstance(e.get("person"), int)
                and isinstance(e.get("length"), int) and isinstance(e.get("last_mac"), str)
                for e in checkpoint["chains"]):
        raise OperationError(_l("This is not a chain checkpoint written by “flask practice checkpoint”."))
    body = {key: value for key, value in checkpoint.items() if key != "mac"}
    problem = keyring.check("checkpoint", body, checkpoint["key_id"], checkpoint["mac"])
    if problem == "unknown-key":
        raise OperationError(_l("The checkpoint was signed with key %(key)s, which this installation does not hold "
                                "(is CHAIN_KEY_FILE the right key file?).", key=checkpoint["key_id"]))
    if problem is not None:
        raise OperationError(_l("The checkpoint's signature does not match: the file was altered."))
    return checkpoint


def _practice_mac_at(session: Session, cadet_id: int, seq: int) -> str | None:
    for model in CHAINED_MODELS:
        found = session.execute(select(model.link_mac).where(model.cadet_id == cadet_id, model.chain_seq == seq)).first()
        if found is not None:
            return found[0]
    return None


def _compare_with_checkpoint(session: Session, reports: list[ChainReport], checkpoint: dict[str, Any]) -> None:
    by_chain = {(r.chain, r.cadet_id): r for r in reports}
    for entry in checkpoint["chains"]:
        report = by_chain.get((entry["chain"], entry["person"]))
        if report is None:
            continue
        length = entry["length"]
        if report.records < length:
            report.problems.append(ChainProblem("chain", str(_l(
                "it holds %(found)d records where the checkpoint of %(at)s counted %(length)d (it was cut short)",
                found=report.records, length=length, at=checkpoint["created_at"])), "truncated"))
            continue
        mac = (_practice_mac_at(session, entry["person"], length) if entry["chain"] == PRACTICE
               else link_mac_at(session, entry["person"], length))
        if mac != entry["last_mac"]:
            report.problems.append(ChainProblem("chain", str(_l(
                "its first %(length)d records are not the ones the checkpoint of %(at)s sealed (it was rewritten)",
                length=length, at=checkpoint["created_at"])), "rewritten"))

