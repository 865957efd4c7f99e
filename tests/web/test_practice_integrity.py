"""Tamper evidence: every signed practice record sits in its cadet's hash chain; the check finds any
change made behind the application's back (raw SQL), on the page, in code and on the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from lms_plugin.core.base import ImmutableRecordError
from lms_plugin.practice.models import (
    Countersignature,
    PanelDecision,
    PracticeChainHead,
    PracticeReview,
    ReviewJudgement,
    ReviewKind,
    SignOff,
    SignOffOutcome,
)
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import reviews
from lms_plugin.practice.operations.chain import GENESIS, chained_records, compute_hash, verify_all, verify_chain
from tests.conftest import TEST_TODAY
from tests.web.practice_objects import GRACE, PDF_BYTES, all_expected, new_entry


@pytest.fixture()
def signed(database, user):
    """cadet.01 with two sign-offs and a mid-placement review by mentor.jonas (a chain of three)."""
    session = database.session
    cadet, jonas = user("cadet.01"), user("mentor.jonas")
    first = practice.sign_off(session, jonas, new_entry(session, cadet, "Pirmas."), outcome=SignOffOutcome.ACHIEVED,
                              comment="Gerai.", today=TEST_TODAY)
    second = practice.sign_off(session, jonas, new_entry(session, cadet, "Antras."), outcome=SignOffOutcome.NOT_YET,
                               comment="Dar ne.", today=TEST_TODAY)
    review = reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID, judgements=all_expected(session),
                                   summary="Gerai.", recommendation=None, today=TEST_TODAY, grace_days=GRACE)
    session.commit()
    return cadet, first, second, review


def _problems(session, cadet_id) -> list[str]:
    return [str(problem) for problem in verify_chain(session, cadet_id).problems]


def test_each_record_stores_the_previous_hash_and_its_own(database, signed):
    cadet, first, second, review = signed
    records = chained_records(database.session, cadet.id)
    assert [r.chain_seq for r in records] == [1, 2, 3] and records == [first, second, review]
    assert first.prev_hash == GENESIS and second.prev_hash == first.record_hash
    assert review.prev_hash == second.record_hash
    assert all(len(r.record_hash) == 64 and compute_hash(r) == r.record_hash for r in records)
    head = database.session.get(PracticeChainHead, cadet.id)
    assert (head.length, head.head_hash) == (3, review.record_hash)
    assert verify_chain(database.session, cadet.id).ok


def test_the_whole_demo_verifies(database):
    reports = verify_all(database.session)
    assert len(reports) >= 15 and all(report.ok for report in reports), [r for r in reports if not r.ok]
    kinds = {type(r) for report in reports for r in chained_records(database.session, report.cadet_id)}
    assert kinds == {SignOff, PracticeReview, Countersignature, PanelDecision}


@pytest.mark.parametrize("statement, expected", [
    ("UPDATE signoffs SET comment = 'Puikiai.' WHERE id = :second", "changed after signing"),
    ("UPDATE signoffs SET outcome = 'achieved' WHERE id = :second", "changed after signing"),
    ("UPDATE logbook_entries SET description = 'Kitas tekstas.' WHERE id = :second_entry", "changed after signing"),
    ("UPDATE practice_review_judgements SET judgement = 'above' WHERE review_id = :review", "changed after signing"),
    ("UPDATE signoffs SET signed_at = '2026-01-01 00:00:00' WHERE id = :first", "changed after signing"),
    ("DELETE FROM signoffs WHERE id = :second", "missing or duplicated"),
    ("DELETE FROM practice_review_judgements WHERE review_id = :review", "changed after signing"),
])
def test_a_row_altered_with_raw_sql_breaks_the_chain(database, signed, statement, expected):
    cadet, first, second, review = signed
    assert _problems(database.session, cadet.id) == []
    ids = {"first": first.id, "second": second.id, "second_entry": second.entry_id, "review": review.id}
    if statement.startswith("DELETE FROM signoffs"):
        database.session.execute(text("UPDATE signoff_requests SET signoff_id = NULL WHERE signoff_id = :second"), ids)
    database.session.execute(text(statement), ids)
    problems = _problems(database.session, cadet.id)
    assert any(expected in problem for problem in problems), problems


def test_rewriting_a_record_with_a_fresh_hash_breaks_the_link_to_the_next(database, signed):
    cadet, first, second, review = signed
    database.session.execute(text("UPDATE signoffs SET comment = 'Puikiai.' WHERE id = :id"), {"id": first.id})
    database.session.expire_all()
    forged = database.session.get(SignOff, first.id)
    database.session.execute(text("UPDATE signoffs SET record_hash = :hash WHERE id = :id"),
                             {"hash": compute_hash(forged), "id": first.id})
    problems = _problems(database.session, cadet.id)
    assert any("signoff #%d" % second.id in p and "previous record" in p for p in problems), problems


def test_removing_the_last_record_is_noticed_by_the_head(database, signed):
    cadet, first, second, review = signed
    database.session.execute(text("DELETE FROM practice_review_judgements WHERE review_id = :id"), {"id": review.id})
    database.session.execute(text("DELETE FROM practice_reviews WHERE id = :id"), {"id": review.id})
    problems = _problems(database.session, cadet.id)
    assert any("recorded end (3 records)" in p and "(2)" in p for p in problems), problems


def test_a_record_inserted_outside_the_application_is_not_in_the_chain(database, signed, user):
    cadet, first, second, review = signed
    database.session.execute(text(
        "INSERT INTO signoffs (entry_id, cadet_id, task_id, signer_id, signer_role, outcome, comment, signed_at, "
        "correction_reason) VALUES (:entry, :cadet, :task, :signer, 'mentor', 'achieved', '', :at, '')"),
        {"entry": new_entry(database.session, cadet).id, "cadet": cadet.id, "task": second.task_id,
         "signer": user("mentor.jonas").id, "at": "2026-11-23 10:00:00"})
    problems = _problems(database.session, cadet.id)
    assert any("not in the chain" in p for p in problems), problems


def test_a_swapped_file_is_noticed(database, signed, user, tmp_path):
    cadet = user("cadet.01")
    entry = new_entry(database.session, cadet)
    attachment = practice.attach_file(database.session, cadet, entry, filename="a.pdf", data=PDF_BYTES,
                                      storage_dir=tmp_path)
    practice.sign_off(database.session, user("mentor.jonas"), entry, outcome=SignOffOutcome.ACHIEVED, comment="",
                      today=TEST_TODAY)
    assert verify_chain(database.session, cadet.id, tmp_path).ok
    (tmp_path / attachment.stored_name).write_bytes(PDF_BYTES + b"% appended\n")
    report = verify_chain(database.session, cadet.id, tmp_path)
    assert not report.ok and "differs from the one that was signed" in str(report.problems[0])


def test_signed_records_of_every_kind_refuse_changes_and_deletion(database):
    session = database.session
    for model in (PracticeReview, ReviewJudgement, Countersignature, PanelDecision):
        record = session.scalar(select(model).limit(1))
        field = {"PracticeReview": "summary", "ReviewJudgement": "comment", "Countersignature": "comment",
                 "PanelDecision": "reasons"}[model.__name__]
        setattr(record, field, "pakeista")
        with pytest.raises(ImmutableRecordError):
            session.flush()
        session.rollback()
        session.delete(session.scalar(select(model).limit(1)))
        with pytest.raises(ImmutableRecordError):
            session.flush()
        session.rollback()


def test_the_timeline_page_says_whether_the_records_verify(client, login_as, database, signed):
    cadet, first, second, review = signed
    login_as("mentor.jonas")
    html = client.get(f"/cadets/{cadet.id}/timeline").get_data(as_text=True)
    assert "Verified: 3 signed records form an unbroken chain" in html
    database.session.execute(text("UPDATE signoffs SET comment = 'Puikiai.' WHERE id = :id"), {"id": second.id})
    database.session.commit()
    html = client.get(f"/cadets/{cadet.id}/timeline").get_data(as_text=True)
    assert "does not verify" in html and f"signoff #{second.id}" in html


def test_cli_verify_exits_non_zero_on_a_broken_chain(app, database, signed):
    cadet, first, second, review = signed
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["practice", "verify", "--cadet", "cadet.01"])
    assert ok.exit_code == 0, ok.output
    assert "cadet.01: 3 signed records" in ok.output and "ok" in ok.output
    everyone = runner.invoke(args=["practice", "verify"])
    assert everyone.exit_code == 0 and "0 broken" in everyone.output
    database.session.execute(text("UPDATE signoffs SET comment = 'Puikiai.' WHERE id = :id"), {"id": second.id})
    broken = runner.invoke(args=["practice", "verify", "--cadet", "cadet.01"])
    assert broken.exit_code == 1, broken.output
    assert "BROKEN" in broken.output and f"signoff #{second.id}" in broken.output
    assert runner.invoke(args=["practice", "verify", "--cadet", "nobody"]).exit_code == 2


def test_cli_verify_reports_a_value_outside_its_enum_as_a_broken_chain(app, database, signed, user):
    cadet, first, second, review = signed
    database.session.execute(text("UPDATE signoffs SET outcome = 'bogus' WHERE id = :id"), {"id": second.id})
    report = verify_chain(database.session, cadet.id)
    assert not report.ok and "'bogus'" in str(report.problems[0]), report.problems
    runner = app.test_cli_runner()
    broken = runner.invoke(args=["practice", "verify", "--cadet", "cadet.01"])
    assert broken.exit_code == 1, broken.output
    assert "cadet.01: 0 signed records" in broken.output and "BROKEN" in broken.output
    assert "a signed record holds a value the application never writes" in broken.output and "'bogus'" in broken.output
    # the command rolls its session back when done, so the change is made again for the next run
    database.session.execute(text("UPDATE signoffs SET outcome = 'bogus' WHERE id = :id"), {"id": second.id})
    everyone = runner.invoke(args=["practice", "verify"])
    assert everyone.exit_code == 1 and "1 broken" in everyone.output, everyone.output
    assert verify_chain(database.session, user("cadet.07").id).ok
