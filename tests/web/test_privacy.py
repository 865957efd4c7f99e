"""A person's data: the export holds every kind of record; erasure leaves no personal text of the
person anywhere, touches nobody else's data and keeps the hash chains verifiable; the retention rule
deletes only expired raw answers."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import JSON, String, Text, func, select, update

from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import Base, utcnow
from lms_plugin.core.people import User
from lms_plugin.people.models import UserSession
from lms_plugin.practice.models import LogbookAttachment, Placement, PracticeTask, SignOff
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations.chain import verify_chain
from lms_plugin.privacy import operations as privacy
from lms_plugin.testing.models import Answer, Sitting, SubscaleResult
from tests.conftest import DEMO_PASSWORD, csrf_token

SUBJECT = "cadet.19"  # a panel case, a countersigned review, sign-offs, a sitting, evidence, course progress
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PRIVATE_TEXT = ("Naktinė pamaina su Petru Petraičiu", "Jaučiausi neužtikrintai", "Prašau pasirašyti, Jonai",
                "asmeninis-failas.pdf")


@pytest.fixture()
def subject(database: Any, user: Any, app: Any, tmp_path: Path) -> User:
    """cadet.19 with, besides the demo records, an unsigned entry with a file and a pending sign-off request."""
    app.config["PRACTICE_FILES_DIR"] = str(tmp_path)
    session = database.session
    cadet = user(SUBJECT)
    cadet.email = "cadet19@example.lt"
    placement = max(session.scalars(select(Placement).where(Placement.cadet_id == cadet.id)), key=lambda p: p.ends_on)
    day = min(placement.ends_on, dt.date(2026, 11, 23))
    task = session.scalar(select(PracticeTask).order_by(PracticeTask.code))
    entry = practice.add_logbook_entry(session, cadet, task=task, performed_on=day, location=PRIVATE_TEXT[0],
                                       description=PRIVATE_TEXT[0] + ".", reflection=PRIVATE_TEXT[1], today=day)
    practice.attach_file(session, cadet, entry, filename=PRIVATE_TEXT[3], data=PDF, storage_dir=tmp_path)
    practice.request_signoff(session, cadet, entry, message=PRIVATE_TEXT[2], today=day)
    session.commit()
    yield cadet
    app.config.pop("PRACTICE_FILES_DIR")


def text_columns() -> list[tuple[Any, Any]]:
    return [(table, column) for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, (String, Text, JSON))]


def holding(session: Any, secret: str) -> list[str]:
    """Every text column (String, Text, JSON) of every table that holds ``secret``."""
    found = []
    for table, column in text_columns():
        for value in session.scalars(select(column).where(column.is_not(None))):
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            if secret in text:
                found.append(f"{table.name}.{column.name}")
    return found


def all_rows(session: Any) -> dict[str, set[tuple[Any, ...]]]:
    return {table.name: {tuple(json.dumps(v, sort_keys=True, default=str) for v in row)
                         for row in session.execute(table.select())} for table in Base.metadata.sorted_tables}


def test_the_export_holds_every_kind_of_record(client: Any, login_as: Any, subject: User, database: Any) -> None:
    login_as("admin")
    response = client.get(f"/personal-data/{subject.id}.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith(f"attachment; filename=personal-data-{SUBJECT}-")
    data = json.loads(response.data)
    assert data["account"]["username"] == SUBJECT and "password_hash" not in data["account"]
    for kind in ("placements", "logbook_entries", "attachments", "signoff_requests", "signoffs", "reviews",
                 "review_judgements", "countersignatures", "panel_cases", "evidence", "sittings", "results",
                 "course_progress", "audit"):
        assert data[kind], kind
    assert data["attachments"][0]["original_name"] == PRIVATE_TEXT[3]
    # The administrator does not see raw answers; the psychologist does.
    assert "answers" not in data and data["answers_withheld"] > 0
    audit = database.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.exported")).all()
    assert [(row.object_id, row.details["format"]) for row in audit] == [(str(subject.id), "json")]

    workbook = load_workbook(io.BytesIO(client.get(f"/personal-data/{subject.id}.xlsx").data), read_only=True)
    assert {"Account", "Sign-offs", "Review panel cases", "Test results", "Audit log"} <= set(workbook.sheetnames)
    names = [row[0] for row in workbook["Attached files"].iter_rows(values_only=True)]
    assert names[0] == "id" and len(names) == 2

    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login_as("psychologist")
    raw = json.loads(client.get(f"/personal-data/{subject.id}.json").data)
    assert len(raw["answers"]) == data["answers_withheld"] and {"item_id", "value"} <= set(raw["answers"][0])


def test_erasure_leaves_no_personal_text_and_touches_no_one_else(client: Any, login_as: Any, subject: User,
                                                                  database: Any, tmp_path: Path) -> None:
    session = database.session
    personal = [subject.full_name, subject.username, subject.email, *PRIVATE_TEXT]
    stored_file = tmp_path / session.scalar(select(LogbookAttachment.stored_name)
                                            .where(LogbookAttachment.cadet_id == subject.id))
    signed_before = {s.id: s.record_hash for s in session.scalars(select(SignOff).where(SignOff.cadet_id == subject.id))}
    assert signed_before and verify_chain(session, subject.id).ok
    assert all(holding(session, secret) for secret in personal)  # the search finds each one before
    own = client.application.test_client()  # the subject's own browser, whose session the erasure must end
    own.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    signed_in = own.post("/login", data={"username": SUBJECT, "password": DEMO_PASSWORD,
                                         "csrf_token": csrf_token(own, "/login")})
    assert signed_in.status_code == 302 and own.get("/dashboard").status_code == 200
    assert session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == subject.id, UserSession.revoked_at.is_(None))) == 1
    before = all_rows(session)
    login_as("admin")
    page = f"/personal-data/{subject.id}"
    response = client.post(f"{page}/erase", data={"csrf_token": csrf_token(client, page),
                                                  "reason": "Request 2026/117 of 20 November",
                                                  "confirm_username": SUBJECT})
    assert response.status_code == 302
    session.expire_all()

    assert {secret: holding(session, secret) for secret in personal} == {secret: [] for secret in personal}
    assert not stored_file.exists()

    account = session.get(User, subject.id)
    assert (account.username, account.active, account.email) == (f"erased-{subject.id}", False, "")
    assert not account.check_password("Mokymai-2026")
    # Signed records stay as they were, and the chain still verifies.
    signed_after = {s.id: s.record_hash for s in session.scalars(select(SignOff).where(SignOff.cadet_id == subject.id))}
    assert signed_after == signed_before and verify_chain(session, subject.id).ok
    erased = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erased")).one()
    assert erased.details["reason"] == "Request 2026/117 of 20 November" and erased.details["files_removed"] == 1

    # Every changed row is the subject's own; elsewhere the audit log only grew.
    after = all_rows(session)
    subject_columns = {"cadet_id", "person_id"}
    for table in Base.metadata.sorted_tables:
        changed = before[table.name] ^ after[table.name]
        if table.name == "audit_log":
            assert before[table.name] <= after[table.name]
            continue
        if table.name in ("login_attempts", "user_sessions", "login_throttles"):
            continue  # the admin's own sign-in; the subject's attempts are renamed, sessions checked below
        keys = [c.name for c in table.columns]
        for row in changed:
            values = dict(zip(keys, row))
            owner = values.get("id") if table.name == "users" else next(
                (values[c] for c in subject_columns if c in values), None)
            assert owner == json.dumps(subject.id), (table.name, values)

    assert session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == subject.id, UserSession.revoked_at.is_(None))) == 0
    assert own.get("/dashboard").status_code == 302  # sent to sign in

    # An erased person cannot be erased twice; the page says what happened.
    assert "has been erased" in client.get(page).get_data(as_text=True)


def test_erasure_needs_a_reason_and_the_typed_username(client: Any, login_as: Any, subject: User,
                                                       database: Any) -> None:
    login_as("admin")
    page = f"/personal-data/{subject.id}"
    no_reason = client.post(f"{page}/erase", data={"csrf_token": csrf_token(client, page), "reason": " ",
                                                   "confirm_username": SUBJECT})
    wrong_name = client.post(f"{page}/erase", data={"csrf_token": csrf_token(client, page), "reason": "Request 1",
                                                    "confirm_username": "cadet.18"})
    assert (no_reason.status_code, wrong_name.status_code) == (400, 400)
    assert "This is not the person&#39;s username." in wrong_name.get_data(as_text=True)
    database.session.expire_all()
    assert database.session.get(User, subject.id).username == SUBJECT


def test_only_the_administrator_erases(database: Any, user: Any, subject: User, tmp_path: Path) -> None:
    from lms_plugin.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        privacy.erase_person(database.session, user("psychologist"), subject, reason="x", storage_dir=tmp_path)


def test_retention_deletes_only_expired_raw_answers(app: Any, database: Any, client: Any, login_as: Any) -> None:
    session = database.session
    sittings = session.scalars(select(Sitting).where(Sitting.submitted_at.is_not(None),
                                                     Sitting.id.in_(select(Answer.sitting_id))).order_by(Sitting.id)).all()
    assert len(sittings) >= 2
    now = utcnow()
    old, recent = sittings[0], sittings[1:]
    days = app.config["RAW_ANSWERS_RETENTION_DAYS"]
    session.execute(update(Sitting).where(Sitting.id == old.id).values(submitted_at=now - dt.timedelta(days=days + 1)))
    session.execute(update(Sitting).where(Sitting.id.in_([s.id for s in recent]))
                    .values(submitted_at=now - dt.timedelta(days=days - 1)))
    results_before = session.scalar(select(SubscaleResult.id).where(SubscaleResult.sitting_id == old.id).limit(1))
    kept = {s.id: len(s.answers) for s in recent}
    session.commit()

    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalars(select(Answer).where(Answer.sitting_id == old.id)).all() == []
    assert session.scalar(select(SubscaleResult.id).where(SubscaleResult.sitting_id == old.id).limit(1)) == results_before
    assert {s.id: len(session.get(Sitting, s.id).answers) for s in recent} == kept
    run = session.scalars(select(AuditEntry).where(AuditEntry.action == "psychometrics.raw_answers_deleted")).one()
    assert run.details["sittings"] == 1 and "Deleted" in result.output
    # The psychologist still sees the scores of the sitting whose raw answers are gone.
    login_as("psychologist")
    assert client.get(f"/sittings/{old.id}/results").status_code == 200
    # Nothing is left to delete: a second run changes nothing.
    assert privacy.apply_retention(session, None, now=now, days=days) == (0, 0)


def test_the_pages_speak_lithuanian(client: Any, login_as: Any, user: Any) -> None:
    login_as("admin")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "lt"
    listing = client.get("/personal-data/").get_data(as_text=True)
    page = client.get(f"/personal-data/{user('cadet.01').id}").get_data(as_text=True)
    assert "Asmens duomenys" in listing and "Personal data" not in listing
    for english in ("Export", "Erase", "Raw test answers", "Reason", "Type the username"):
        assert english not in page, english
    assert "Ištrinti asmens duomenis" in page and "Eksportuoti (Excel)" in page
