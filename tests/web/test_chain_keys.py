"""Keyed chains: a seal under a key held outside the database on every signed practice record and every
piece of competency evidence, signed checkpoints, and the one-off sealing of rows written before the key.
The attacker here can write the database and call the application's own functions, but has no key."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select, text

from competency_framework.models import Evidence
from lms_plugin.config import chain_keyring
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.errors import OperationError
from lms_plugin.core.ledger import RecordLink, verify_ledger
from lms_plugin.core.seals import Keyring, load_keyring
from lms_plugin.practice.models import PracticeChainHead, SignOff, SignOffOutcome
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations.chain import chained_records, compute_hash, verify_chain
from lms_plugin.practice.operations.integrity import (
    check_checkpoint,
    make_checkpoint,
    rekey,
    verify_everything,
    verify_records,
)
from tests.conftest import TEST_TODAY
from tests.web.practice_objects import new_entry

SEALS = {"unsealed", "unknown-key", "mismatch"}


@pytest.fixture()
def keyring(app):
    return chain_keyring(app)


@pytest.fixture()
def signed(database, user):
    """cadet.01 with two fresh sign-offs by mentor.jonas (each achieved one adds evidence)."""
    session = database.session
    cadet, jonas = user("cadet.01"), user("mentor.jonas")
    first = practice.sign_off(session, jonas, new_entry(session, cadet, "Pirmas."), outcome=SignOffOutcome.ACHIEVED,
                              comment="Gerai.", today=TEST_TODAY)
    second = practice.sign_off(session, jonas, new_entry(session, cadet, "Antras."), outcome=SignOffOutcome.ACHIEVED,
                               comment="Gerai.", today=TEST_TODAY)
    session.commit()
    return cadet, first, second


def _codes(report) -> set[str]:
    return {problem.code for problem in report.problems}


def _latest_evidence(session, person_id) -> Evidence:
    return session.scalar(select(Evidence).where(Evidence.person_id == person_id).order_by(Evidence.id.desc()))


def test_the_key_file_is_made_once_private_and_names_its_key(tmp_path):
    path = tmp_path / "instance" / "chain_key"
    first = load_keyring(path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert load_keyring(path) == first and len(first.current) == 16
    rotated = Keyring.of(os.urandom(32), *first.keys.values())
    path.write_text("\n".join(key.hex() for key in [rotated.keys[rotated.current], *first.keys.values()]) + "\n")
    again = load_keyring(path)
    assert again.current == rotated.current and first.current in again.keys
    path.write_text("abc\n")
    with pytest.raises(ValueError, match="line 1"):
        load_keyring(path)


def test_intact_demo_and_new_records_verify_with_their_seals(database, signed, keyring):
    cadet, first, second = signed
    assert first.link_mac and first.key_id == keyring.current
    evidence = _latest_evidence(database.session, cadet.id)
    link = database.session.scalar(select(RecordLink).where(RecordLink.kind == "evidence",
                                                            RecordLink.record_id == evidence.id))
    assert link is not None and link.key_id == keyring.current and link.person_id == cadet.id
    reports = verify_everything(database.session, keyring)
    assert {r.chain for r in reports} == {"practice", "records"}
    assert all(r.ok for r in reports), [(r.cadet_id, r.chain, r.problems) for r in reports if not r.ok]
    evidence_rows = database.session.scalar(select(func.count(Evidence.id)))
    assert sum(r.records for r in reports if r.chain == "records") == evidence_rows > 0


def test_a_sign_off_rewritten_and_rehashed_with_the_apps_own_functions_breaks_the_seal(database, signed, keyring):
    """The attack of the issue: change a sign-off by SQL, then recompute every hash after it and the head."""
    cadet, first, second = signed
    session = database.session
    session.execute(text("UPDATE signoffs SET comment = 'Puikiai, be pastabų.' WHERE id = :id"), {"id": first.id})
    previous = None
    for record in chained_records(session, cadet.id):
        if record.chain_seq < first.chain_seq:
            continue
        table = type(record).__tablename__
        if record.chain_seq > first.chain_seq:
            session.execute(text(f"UPDATE {table} SET prev_hash = :prev WHERE id = :id"),
                            {"prev": previous, "id": record.id})
        session.expire_all()
        record = session.get(type(record), record.id)
        previous = compute_hash(record)
        session.execute(text(f"UPDATE {table} SET record_hash = :hash WHERE id = :id"),
                        {"hash": previous, "id": record.id})
    session.execute(text("UPDATE practice_chain_heads SET head_hash = :hash WHERE cadet_id = :id"),
                    {"hash": previous, "id": cadet.id})
    report = verify_chain(session, cadet.id, keyring=keyring)
    hash_problems = [p for p in report.problems if p.code not in SEALS]
    assert hash_problems == []  # every hash and link agrees again: what the unkeyed chain accepted
    assert not report.ok and _codes(report) == {"mismatch"}
    assert any(f"signoff #{first.id}" in str(p) and "without the chain key" in str(p) for p in report.problems)


def test_an_evidence_level_edited_by_sql_breaks_the_persons_chain(database, signed, keyring):
    cadet, first, second = signed
    evidence = _latest_evidence(database.session, cadet.id)
    assert verify_records(database.session, keyring, cadet.id).ok
    database.session.execute(text("UPDATE evidence SET level = :level WHERE id = :id"),
                             {"level": (evidence.level or 1) % 4 + 1, "id": evidence.id})
    report = verify_records(database.session, keyring, cadet.id)
    assert not report.ok and any(f"evidence #{evidence.id}" in str(p) and "changed after" in str(p)
                                 for p in report.problems), report.problems


def test_an_evidence_row_deleted_by_sql_breaks_the_persons_chain(database, signed, keyring):
    cadet, first, second = signed
    evidence = _latest_evidence(database.session, cadet.id)
    database.session.execute(text("DELETE FROM evidence WHERE id = :id"), {"id": evidence.id})
    report = verify_records(database.session, keyring, cadet.id)
    assert not report.ok and any(f"evidence #{evidence.id}" in str(p) and "missing" in str(p)
                                 for p in report.problems), report.problems
    # Deleting its link too, and moving the head back, leaves a head no one without the key can seal.
    database.session.execute(text("DELETE FROM record_links WHERE kind = 'evidence' AND record_id = :id"),
                             {"id": evidence.id})
    previous = database.session.scalar(select(RecordLink).where(RecordLink.person_id == cadet.id)
                                       .order_by(RecordLink.seq.desc()))
    database.session.execute(text("UPDATE record_chain_heads SET length = :n, last_mac = :mac WHERE person_id = :id"),
                             {"n": previous.seq, "mac": previous.mac, "id": cadet.id})
    assert _codes(verify_records(database.session, keyring, cadet.id)) == {"mismatch"}


def test_evidence_inserted_by_sql_is_not_in_the_chain(database, signed, keyring):
    cadet, first, second = signed
    evidence = _latest_evidence(database.session, cadet.id)
    database.session.execute(text(
        "INSERT INTO evidence (person_id, competency_id, source, level, note, source_ref, recorded_at) "
        "VALUES (:person, :competency, 'rating', 4, '', '', '2026-11-23 10:00:00')"),
        {"person": cadet.id, "competency": evidence.competency_id})
    assert "extra" in _codes(verify_records(database.session, keyring, cadet.id))


def test_a_checkpoint_catches_a_chain_put_back_to_an_older_state(database, signed, user, keyring, tmp_path):
    """Truncation no seal can catch alone: the newest record removed and the head restored to its earlier,
    validly sealed values. Only the checkpoint kept outside shows the chain was cut short."""
    cadet, first, second = signed
    session = database.session
    before = dict(session.execute(select(PracticeChainHead.__table__).where(
        PracticeChainHead.cadet_id == cadet.id)).mappings().one())
    third = practice.sign_off(session, user("mentor.jonas"), new_entry(session, cadet, "Trečias."),
                              outcome=SignOffOutcome.NOT_YET, comment="Dar ne.", today=TEST_TODAY)
    document, broken = make_checkpoint(session, keyring)
    assert broken == []
    assert check_checkpoint(keyring, json.loads(json.dumps(document))) == document
    session.execute(text("UPDATE signoff_requests SET signoff_id = NULL WHERE signoff_id = :id"), {"id": third.id})
    session.execute(text("DELETE FROM signoffs WHERE id = :id"), {"id": third.id})
    session.execute(PracticeChainHead.__table__.update().where(PracticeChainHead.cadet_id == cadet.id)
                    .values(**{k: v for k, v in before.items() if k != "cadet_id"}))
    assert verify_chain(session, cadet.id, keyring=keyring).ok  # the rollback itself is consistent
    reports = verify_everything(session, keyring, [cadet.id], checkpoint=document)
    practice_report = next(r for r in reports if r.chain == "practice")
    assert not practice_report.ok and "truncated" in _codes(practice_report), practice_report.problems
    assert all(r.ok for r in verify_everything(session, keyring, [user("cadet.07").id], checkpoint=document))


def test_a_checkpoint_from_another_key_or_edited_is_refused(database, signed, keyring):
    document, _ = make_checkpoint(database.session, keyring)
    other = Keyring.of(os.urandom(32))
    with pytest.raises(OperationError, match="does not hold"):
        check_checkpoint(other, document)
    edited = {**document, "chains": [{**entry, "length": entry["length"] - 1} for entry in document["chains"]]}
    with pytest.raises(OperationError, match="signature does not match"):
        check_checkpoint(keyring, edited)
    with pytest.raises(OperationError, match="not a chain checkpoint"):
        check_checkpoint(keyring, {"chains": []})


def test_a_wrong_key_is_reported_as_such(database, signed, keyring):
    cadet, first, second = signed
    other = Keyring.of(os.urandom(32))
    report = verify_chain(database.session, cadet.id, keyring=other)
    assert _codes(report) == {"unknown-key"}
    assert all(keyring.current in str(p) and "does not hold" in str(p) for p in report.problems)
    assert _codes(verify_records(database.session, other, cadet.id)) == {"unknown-key"}


def _make_legacy(session, cadet_id):
    """The rows as an installation before keyed chains holds them: no seals, no evidence links."""
    for table in ("signoffs", "practice_reviews", "countersignatures", "panel_decisions"):
        session.execute(text(f"UPDATE {table} SET link_mac = NULL, key_id = NULL WHERE cadet_id = :id"),
                        {"id": cadet_id})
    session.execute(text("UPDATE practice_chain_heads SET last_mac = NULL, head_mac = NULL, key_id = NULL "
                         "WHERE cadet_id = :id"), {"id": cadet_id})
    session.execute(text("DELETE FROM record_links WHERE person_id = :id"), {"id": cadet_id})
    session.execute(text("DELETE FROM record_chain_heads WHERE person_id = :id"), {"id": cadet_id})


def test_rekey_seals_legacy_rows_once_and_is_audited(database, signed, user, keyring):
    cadet, first, second = signed
    session = database.session
    tampered = user("cadet.07")
    _make_legacy(session, cadet.id)
    _make_legacy(session, tampered.id)
    session.execute(text("UPDATE signoffs SET comment = 'Pakeista.' WHERE id = (SELECT MIN(id) FROM signoffs "
                         "WHERE cadet_id = :id)"), {"id": tampered.id})
    legacy = verify_chain(session, cadet.id, keyring=keyring)
    assert _codes(legacy) == {"unsealed"} and "flask practice rekey" in str(legacy.problems[0])
    assert _codes(verify_records(session, keyring, cadet.id)) == {"extra"}
    summary = rekey(session, keyring)
    assert summary["refused_cadets"] == [tampered.id] and summary["practice_chains"] >= 1
    assert summary["evidence_rows"] >= 2
    assert verify_chain(session, cadet.id, keyring=keyring).ok
    assert verify_records(session, keyring, cadet.id).ok
    assert verify_ledger(session, keyring, tampered.id).ok  # its evidence was intact
    assert not verify_chain(session, tampered.id, keyring=keyring).ok  # a tampered chain is never blessed
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "chain.rekey"))
    assert entry.details["key_id"] == keyring.current and entry.details["refused_cadets"] == [tampered.id]
    with pytest.raises(OperationError, match="before"):
        rekey(session, keyring)
    assert rekey(session, keyring, again=True)["practice_chains"] == 0


def test_cli_checkpoint_then_verify_says_what_it_proves(app, database, signed, tmp_path):
    cadet, first, second = signed
    runner = app.test_cli_runner()
    out = tmp_path / "checkpoint.json"
    written = runner.invoke(args=["practice", "checkpoint", "--out", str(out)])
    assert written.exit_code == 0, written.output
    chains = json.loads(out.read_text())["chains"]
    assert {"chain": "practice", "person": cadet.id, "length": first.chain_seq + 1,
            "last_mac": second.link_mac} in chains
    ok = runner.invoke(args=["practice", "verify", "--cadet", "cadet.01", "--checkpoint", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "signature valid" in ok.output and "evidence records" in ok.output and "0 broken" in ok.output
    assert "Proves:" in ok.output and "Cannot prove:" in ok.output and "since the checkpoint" in ok.output
    database.session.execute(text("UPDATE evidence SET level = 1 WHERE id = :id"),
                             {"id": _latest_evidence(database.session, cadet.id).id})
    broken = runner.invoke(args=["practice", "verify", "--cadet", "cadet.01", "--checkpoint", str(out)])
    assert broken.exit_code == 1 and "BROKEN" in broken.output
    out.write_text(out.read_text().replace('"length": 1', '"length": 0', 1))
    edited = runner.invoke(args=["practice", "verify", "--checkpoint", str(out)])
    assert edited.exit_code == 2 and "signature does not match" in edited.output
    assert database.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "chain.checkpoint"))


def test_cli_verify_names_a_wrong_key_file(app, database, signed, tmp_path, monkeypatch):
    other = tmp_path / "other_key"
    other.write_text(os.urandom(32).hex() + "\n")
    monkeypatch.setitem(app.config, "CHAIN_KEY_FILE", str(other))
    result = app.test_cli_runner().invoke(args=["practice", "verify", "--cadet", "cadet.01"])
    assert result.exit_code == 1 and "does not hold" in result.output and "wrong key file" in result.output


def test_cli_rekey_reports_and_refuses_a_second_run(app, database, signed, user):
    _make_legacy(database.session, user("cadet.01").id)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["practice", "rekey"])
    assert first.exit_code == 0 and "practice chains" in first.output, first.output
    second = runner.invoke(args=["practice", "rekey"])
    assert second.exit_code == 2 and "--again" in second.output
    assert runner.invoke(args=["practice", "verify", "--cadet", "cadet.01"]).exit_code == 0


def test_a_new_sign_off_on_a_legacy_chain_is_sealed_after_the_old_links(database, signed, user, keyring):
    cadet, first, second = signed
    _make_legacy(database.session, cadet.id)
    added = practice.sign_off(database.session, user("mentor.jonas"), new_entry(database.session, cadet, "Naujas."),
                              outcome=SignOffOutcome.NOT_YET, comment="Dar ne.", today=TEST_TODAY)
    assert added.link_mac and _codes(verify_chain(database.session, cadet.id, keyring=keyring)) == {"unsealed"}
    rekey(database.session, keyring)
    assert verify_chain(database.session, cadet.id, keyring=keyring).ok
    assert database.session.get(SignOff, added.id).link_mac
