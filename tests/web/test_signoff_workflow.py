"""The sign-off workflow: files in the logbook, asking the mentor, the queue, signing (once, even when two
sign at the same moment), observations, reviews, countersignature, the review panel, corrections, the
timeline and the lists of what is overdue or at risk."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from competency_framework.models import Evidence, EvidenceSource
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.base import Base, ImmutableRecordError
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import Institution, Role, TrainingUnit, User
from lms_plugin.core.sqlite import configure_sqlite
from lms_plugin.practice.models import (
    AreaJudgement,
    CountersignDecision,
    LogbookAttachment,
    LogbookEntry,
    MentorProfile,
    PanelCase,
    PanelStatus,
    Placement,
    PracticeReview,
    PracticeTask,
    Recommendation,
    RequestStatus,
    ReviewKind,
    SignOff,
    SignOffOutcome,
    SignOffRequest,
)
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import oversight, reviews
from lms_plugin.practice.operations.chain import verify_chain
from tests.conftest import TEST_TODAY, csrf_token
from tests.web.practice_objects import GRACE, PDF_BYTES, PNG_BYTES, all_expected, english, new_entry


@pytest.fixture()
def files(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "files"
    monkeypatch.setitem(app.config, "PRACTICE_FILES_DIR", str(folder))
    return folder


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- files ---------------------------------------------------------------------------------------------

def test_cadet_attaches_files_checked_by_content_and_stored_under_random_names(app, client, login_as, database,
                                                                               files):
    cadet = login_as("cadet.01")
    entry = new_entry(database.session, cadet)
    database.session.commit()
    token = csrf_token(client, "/practice/")
    url, field = f"/practice/entries/{entry.id}/files", f"f{entry.id}-attachment"

    def upload(data: bytes, name: str):
        return client.post(url, data={"csrf_token": token, field: (io.BytesIO(data), name)})

    assert upload(b"MZ\x90\x00\x03\x00\x00\x00binary", "program.exe").status_code == 400
    disguised = upload(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff", "report.pdf")  # an executable named .pdf
    assert disguised.status_code == 400 and "cannot be attached" in disguised.get_data(as_text=True)
    mismatch = upload(PNG_BYTES, "photo.pdf")  # a real PNG with a PDF's name
    assert mismatch.status_code == 400 and "does not match its content" in mismatch.get_data(as_text=True)
    with pytest.MonkeyPatch.context() as limit:
        limit.setitem(app.config, "PRACTICE_MAX_FILE_BYTES", 2048)
        too_big = upload(b"%PDF-1.4\n" + b"0" * 4096, "big.pdf")
    assert too_big.status_code == 400 and "larger than 2 KB" in too_big.get_data(as_text=True)
    assert _count(database.session, LogbookAttachment) == 0

    assert upload(PDF_BYTES, "../../etc/Ataskaita ąčę.pdf").status_code == 302
    assert upload(PNG_BYTES, "nuotrauka.PNG").status_code == 302
    stored = database.session.scalars(select(LogbookAttachment).order_by(LogbookAttachment.id)).all()
    assert [a.original_name for a in stored] == ["Ataskaita ąčę.pdf", "nuotrauka.PNG"]
    assert [a.content_type for a in stored] == ["application/pdf", "image/png"]
    assert {p.name for p in files.iterdir()} == {a.stored_name for a in stored}
    assert all(len(a.stored_name) == 32 and "." not in a.stored_name for a in stored)
    assert (files / stored[0].stored_name).read_bytes() == PDF_BYTES

    download = client.get(f"/practice/files/{stored[0].id}")
    assert download.status_code == 200 and download.data == PDF_BYTES
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    download.close()
    assert "Ataskaita" in client.get("/practice/").get_data(as_text=True)


def _docx(parts: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_office_files_that_unpack_far_beyond_their_size_are_refused(client, login_as, database, files):
    cadet = login_as("cadet.01")
    entry = new_entry(database.session, cadet)
    database.session.commit()
    token = csrf_token(client, "/practice/")
    url, field = f"/practice/entries/{entry.id}/files", f"f{entry.id}-attachment"

    def upload(data: bytes, name: str):
        return client.post(url, data={"csrf_token": token, field: (io.BytesIO(data), name)})

    bomb = _docx({"word/document.xml": b"<w:document>" + b"\0" * (60 * 1024 * 1024) + b"</w:document>"})
    assert len(bomb) < 200 * 1024
    refused = upload(bomb, "ataskaita.docx")
    assert refused.status_code == 400
    assert "This DOCX file unpacks to more than" in refused.get_data(as_text=True)
    assert "possible zip bomb" in refused.get_data(as_text=True)
    parts = _docx({"word/document.xml": b"<w/>", **{f"word/media/{n}.xml": b"<x/>" for n in range(1000)}})
    crowded = upload(parts, "daug.docx")
    assert crowded.status_code == 400 and "holds more than 1000 parts" in crowded.get_data(as_text=True)
    assert _count(database.session, LogbookAttachment) == 0
    assert not files.exists() or not any(files.iterdir())
    text = "".join(f"<w:p>Pamaina {n}: patikrinta {n * 7919 % 1000} kamerų, pastabos {n * n}.</w:p>" for n in range(3000))
    ordinary = _docx({"word/document.xml": f"<w:document>{text}</w:document>".encode()})
    assert upload(ordinary, "ataskaita.docx").status_code == 302
    assert _count(database.session, LogbookAttachment) == 1


def test_sniffing_recognises_office_documents_and_text():
    import zipfile

    def zipped(entries: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
        return buffer.getvalue()

    assert practice.sniff(zipped({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})) is practice.DOCX
    assert practice.sniff(zipped({"mimetype": b"application/vnd.oasis.opendocument.text"})) is practice.ODT
    assert practice.sniff(zipped({"evil.exe": b"MZ"})) is None
    assert practice.sniff("Pastabos: viskas gerai.\n".encode()) is practice.TEXT
    assert practice.sniff(b"\x00\x01binary") is None
    assert practice.clean_filename("C:\\Users\\x\\..\\a\x07b.txt") == "ab.txt"


def test_files_are_served_only_to_those_who_see_the_cadet(client, login_as, database, user, files):
    cadet = user("cadet.01")
    entry = new_entry(database.session, cadet)
    attachment = practice.attach_file(database.session, cadet, entry, filename="a.pdf", data=PDF_BYTES,
                                      storage_dir=files)
    database.session.commit()
    url = f"/practice/files/{attachment.id}"
    for username, status in [("cadet.07", 404), ("mentor.ona", 404), ("mentor.jonas", 200), ("psychologist", 200),
                             ("cadet.01", 200)]:
        login_as(username)
        response = client.get(url)
        response.close()
        assert response.status_code == status, username
        client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})


def test_a_signed_or_requested_entry_takes_no_more_files(database, user, files):
    session, cadet = database.session, user("cadet.01")
    entry = new_entry(session, cadet)
    practice.request_signoff(session, cadet, entry, message="", today=TEST_TODAY)
    with pytest.raises(Conflict):
        practice.attach_file(session, cadet, entry, filename="a.pdf", data=PDF_BYTES, storage_dir=files)
    practice.sign_off(session, user("mentor.jonas"), entry, outcome=SignOffOutcome.ACHIEVED, comment="",
                      today=TEST_TODAY)
    with pytest.raises(Conflict):
        practice.attach_file(session, cadet, entry, filename="a.pdf", data=PDF_BYTES, storage_dir=files)
    with pytest.raises(PermissionDenied):
        practice.attach_file(session, user("cadet.07"), new_entry(session, cadet), filename="a.pdf",
                             data=PDF_BYTES, storage_dir=files)


# --- requests and the queue ----------------------------------------------------------------------------

def test_cadet_asks_withdraws_and_asks_again(client, login_as, database):
    cadet = login_as("cadet.01")
    entry = new_entry(database.session, cadet)
    database.session.commit()
    token = csrf_token(client, "/practice/")
    ask = client.post(f"/practice/entries/{entry.id}/request", data={"csrf_token": token,
                                                                    f"r{entry.id}-message": "Prašau patvirtinti."})
    assert ask.status_code == 302
    request = database.session.scalar(select(SignOffRequest).where(SignOffRequest.entry_id == entry.id))
    assert request.status is RequestStatus.PENDING and request.message == "Prašau patvirtinti."
    assert "waiting for the mentor" in client.get("/practice/").get_data(as_text=True)
    again = client.post(f"/practice/entries/{entry.id}/request", data={"csrf_token": token})
    assert again.status_code == 409 and "already asked" in again.get_data(as_text=True)
    assert client.post(f"/practice/requests/{request.id}/withdraw", data={"csrf_token": token}).status_code == 302
    database.session.refresh(request)
    assert request.status is RequestStatus.WITHDRAWN and request.closed_at is not None
    assert client.post(f"/practice/entries/{entry.id}/request", data={"csrf_token": token}).status_code == 302
    database.session.refresh(request)
    assert request.status is RequestStatus.PENDING
    actions = database.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "SignOffRequest", AuditEntry.object_id == str(request.id)).order_by(AuditEntry.id)).all()
    assert actions == ["practice.signoff_requested", "practice.signoff_request_withdrawn",
                       "practice.signoff_requested"]


def test_queue_holds_only_current_cadets_and_signing_needs_feedback_for_not_yet(client, login_as, database, user,
                                                                                freeze_today):
    session = database.session
    cadet = user("cadet.01")
    demo = {r.entry_id for r in oversight.mentor_queue(session, user("mentor.jonas"), TEST_TODAY)}
    entry = new_entry(session, cadet)
    request = practice.request_signoff(session, cadet, entry, message="", today=TEST_TODAY)
    session.commit()
    mentor = login_as("mentor.jonas")
    html = client.get("/mentoring/queue").get_data(as_text=True)
    assert f"/mentoring/requests/{request.id}/sign" in html and cadet.full_name in html
    # mentor.ona's queue holds her cadets' requests (the demo's), not cadet.01's.
    assert all(r.cadet_id != cadet.id for r in oversight.mentor_queue(session, user("mentor.ona"), TEST_TODAY))
    token = csrf_token(client, "/mentoring/queue")
    refused = client.post(f"/mentoring/requests/{request.id}/sign", data={
        "csrf_token": token, f"q{request.id}-outcome": "not_yet", f"q{request.id}-comment": ""})
    assert refused.status_code == 400 and "feedback is required" in refused.get_data(as_text=True)
    signed = client.post(f"/mentoring/requests/{request.id}/sign", data={
        "csrf_token": token, f"q{request.id}-outcome": "not_yet", f"q{request.id}-comment": "Pakartokime."})
    assert signed.status_code == 302
    session.refresh(request)
    assert request.status is RequestStatus.SIGNED and request.signoff.outcome is SignOffOutcome.NOT_YET
    assert request.signoff.signer_id == mentor.id and request.signoff.comment == "Pakartokime."
    assert f"/mentoring/requests/{request.id}/sign" not in client.get("/mentoring/queue").get_data(as_text=True)
    # After the placement has ended the cadet is gone from the queue, even in the grace period.
    other = new_entry(session, cadet)
    practice.request_signoff(session, cadet, other, message="", today=TEST_TODAY)
    session.commit()
    assert [r.entry_id for r in oversight.mentor_queue(session, mentor, TEST_TODAY) if r.entry_id not in demo] == \
        [other.id]
    assert oversight.mentor_queue(session, mentor, dt.date(2026, 12, 19)) == []


def test_two_browser_tabs_sign_one_request_only_one_is_recorded(app, client, login_as, database, user):
    session = database.session
    cadet = user("cadet.01")
    entry = new_entry(session, cadet)
    request = practice.request_signoff(session, cadet, entry, message="", today=TEST_TODAY)
    session.commit()
    login_as("mentor.jonas")
    token = csrf_token(client, "/mentoring/queue")  # both tabs loaded the queue before either signed
    first = client.post(f"/mentoring/requests/{request.id}/sign", data={
        "csrf_token": token, f"q{request.id}-outcome": "achieved", f"q{request.id}-comment": ""})
    second = client.post(f"/mentoring/requests/{request.id}/sign", data={
        "csrf_token": token, f"q{request.id}-outcome": "not_yet", f"q{request.id}-comment": "Kitaip."},
        follow_redirects=True)
    assert first.status_code == 302
    html = second.get_data(as_text=True)
    assert "signed a moment ago by Jonas Kazlauskas (mentor)" in html and "not recorded" in html
    assert _count(session, SignOff, SignOff.entry_id == entry.id) == 1
    assert session.scalar(select(SignOff.outcome).where(SignOff.entry_id == entry.id)) is SignOffOutcome.ACHIEVED


# --- two writers at the same moment, each with its own connection ------------------------------------

@pytest.fixture()
def concurrent_engine(tmp_path):
    """A database of its own (a SQLite file, or a fresh PostgreSQL schema when the suite runs there),
    so that two threads write through two real connections and see each other's commits."""
    import os
    import uuid

    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        schema = f"concurrency_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    else:
        schema, admin = None, None
        engine = create_engine(f"sqlite:///{tmp_path / 'concurrency.sqlite3'}")
        configure_sqlite(engine)
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _seed(engine) -> tuple[int, int]:
    with Session(engine) as session:
        institution = Institution(code="X", kind="correction_house", name_en="X", name_lt="X")
        unit = TrainingUnit(institution=institution, code="X-1", name_en="Unit", name_lt="Padalinys")
        cadet = User(username="c", full_name="Cadet", role=Role.CADET, password_hash="x")
        mentor = User(username="m", full_name="Mentor", role=Role.MENTOR, password_hash="x")
        session.add_all([unit, cadet, mentor, MentorProfile(user=mentor, capacity=2,
                                                            accreditation_expires_on=dt.date(2030, 1, 1))])
        session.flush()
        placement = Placement(cadet=cadet, mentor=mentor, unit=unit, starts_on=dt.date(2026, 10, 1),
                              ends_on=dt.date(2026, 12, 31), change_reason="")
        task = PracticeTask(code="T-1", title_en="Task")
        session.add_all([placement, task])
        session.flush()
        entry = practice.add_logbook_entry(session, cadet, task=task, performed_on=TEST_TODAY, location="",
                                           description="Did it.", reflection="", today=TEST_TODAY)
        request = practice.request_signoff(session, cadet, entry, message="", today=TEST_TODAY)
        session.commit()
        return request.id, mentor.id


def test_two_concurrent_signoffs_of_one_request_record_exactly_one(app, concurrent_engine):
    """Two threads, two connections, released together: one signature, one clear refusal."""
    request_id, mentor_id = _seed(concurrent_engine)
    warm = [concurrent_engine.connect() for _ in range(2)]  # both connections open (and set up) before the race
    for connection in warm:
        connection.close()
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def sign(outcome: SignOffOutcome, comment: str) -> None:
        barrier.wait()
        with app.app_context(), Session(concurrent_engine) as session:
            mentor = session.get(User, mentor_id)
            request = session.get(SignOffRequest, request_id)
            try:
                practice.sign_off(session, mentor, request.entry, outcome=outcome, comment=comment, today=TEST_TODAY)
                session.commit()
                outcomes.append("signed")
            except Conflict as conflict:
                session.rollback()
                outcomes.append(f"conflict: {english(conflict)}")

    threads = [threading.Thread(target=sign, args=(SignOffOutcome.ACHIEVED, "")),
               threading.Thread(target=sign, args=(SignOffOutcome.NOT_YET, "Dar ne."))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "signed"], outcomes
    assert any("already been signed" in o or "same moment" in o for o in outcomes), outcomes
    with Session(concurrent_engine) as session:
        assert session.scalar(select(func.count(SignOff.id))) == 1
        request = session.get(SignOffRequest, request_id)
        assert request.status is RequestStatus.SIGNED and request.signoff_id is not None
        with app.app_context():
            assert verify_chain(session, request.cadet_id).ok


def test_a_signoff_decided_on_a_stale_read_is_refused(app, concurrent_engine):
    """The interleaving the threads may or may not hit: B read "pending" before A signed, and signs after."""
    request_id, mentor_id = _seed(concurrent_engine)
    with app.app_context(), Session(concurrent_engine, expire_on_commit=False) as late, \
            Session(concurrent_engine) as first:
        stale_mentor = late.get(User, mentor_id)
        stale = late.get(SignOffRequest, request_id)
        assert stale.status is RequestStatus.PENDING and not stale.entry.signoffs
        late.commit()  # B's read is over (its objects stay as read); A now signs and commits
        practice.sign_off(first, first.get(User, mentor_id), first.get(SignOffRequest, request_id).entry,
                          outcome=SignOffOutcome.ACHIEVED, comment="", today=TEST_TODAY)
        first.commit()
        with pytest.raises(Conflict) as refused:
            practice.sign_off(late, stale_mentor, stale.entry, outcome=SignOffOutcome.NOT_YET, comment="Ne.",
                              today=TEST_TODAY)
        late.rollback()
        assert "already been signed" in english(refused.value)
    with Session(concurrent_engine) as session:
        assert session.scalar(select(func.count(SignOff.id))) == 1


# --- who may sign what, and when ------------------------------------------------------------------------

def test_a_cadet_cannot_sign_anything(database, user):
    session, cadet = database.session, user("cadet.01")
    entry = new_entry(session, cadet)
    with pytest.raises(PermissionDenied):
        practice.sign_off(session, cadet, entry, outcome=SignOffOutcome.ACHIEVED, comment="", today=TEST_TODAY)
    task = session.scalar(select(PracticeTask).order_by(PracticeTask.code))
    with pytest.raises(PermissionDenied):
        practice.record_observation(session, cadet, cadet, task=task, observed_on=TEST_TODAY, location="",
                                    description="x", outcome=SignOffOutcome.ACHIEVED, comment="", today=TEST_TODAY)
    with pytest.raises(PermissionDenied):
        reviews.record_review(session, cadet, cadet, kind=ReviewKind.FINAL, judgements=all_expected(session),
                              summary="x", recommendation=Recommendation.PROGRESS, today=TEST_TODAY, grace_days=GRACE)
    review = session.scalar(select(PracticeReview).where(PracticeReview.kind == ReviewKind.FINAL))
    with pytest.raises(PermissionDenied):
        reviews.countersign(session, cadet, review, decision=CountersignDecision.AGREE, comment="")
    case = session.scalar(select(PanelCase).where(PanelCase.status == PanelStatus.OPEN))
    with pytest.raises(PermissionDenied):
        reviews.decide_panel(session, cadet, case, decision=Recommendation.PROGRESS, reasons="x", members="")
    assert _count(session, SignOff, SignOff.entry_id == entry.id) == 0


def test_signing_windows_current_placement_and_the_final_review_grace_period(database, user):
    session, jonas, cadet = database.session, user("mentor.jonas"), user("cadet.01")
    entry = new_entry(session, cadet)
    ended = dt.date(2026, 12, 18)
    after = ended + dt.timedelta(days=3)
    with pytest.raises(PermissionDenied):  # after the end: no sign-off
        practice.sign_off(session, jonas, entry, outcome=SignOffOutcome.ACHIEVED, comment="", today=after)
    with pytest.raises(PermissionDenied):  # nor a mid-placement review
        reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID, judgements=all_expected(session),
                              summary="x", recommendation=None, today=after, grace_days=GRACE)
    with pytest.raises(PermissionDenied):  # a mentor who does not mentor the cadet
        practice.sign_off(session, user("mentor.ona"), entry, outcome=SignOffOutcome.ACHIEVED, comment="",
                          today=TEST_TODAY)
    # cadet.01's first placement with mentor.darius ended on 2026-10-02: long past the grace period.
    with pytest.raises(PermissionDenied) as refused:
        reviews.record_review(session, user("mentor.darius"), cadet, kind=ReviewKind.FINAL,
                              judgements=all_expected(session), summary="x", recommendation=Recommendation.PROGRESS,
                              today=TEST_TODAY, grace_days=GRACE)
    assert "within 14 days" in english(refused.value)
    late = ended + dt.timedelta(days=GRACE + 1)
    with pytest.raises(PermissionDenied):
        reviews.record_review(session, jonas, cadet, kind=ReviewKind.FINAL, judgements=all_expected(session),
                              summary="x", recommendation=Recommendation.PROGRESS, today=late, grace_days=GRACE)
    final = reviews.record_review(session, jonas, cadet, kind=ReviewKind.FINAL, judgements=all_expected(session),
                                  summary="Pasirengęs.", recommendation=Recommendation.PROGRESS,
                                  today=ended + dt.timedelta(days=GRACE), grace_days=GRACE)
    assert final.placement.ends_on == ended and final.signer_role == "mentor"


def test_web_final_review_in_the_grace_period_but_no_signoff(client, login_as, database, user, freeze_today):
    cadet = user("cadet.01")
    entry = new_entry(database.session, cadet)
    database.session.commit()
    freeze_today(dt.date(2026, 12, 25))
    login_as("mentor.jonas")
    html = client.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert f"/entries/{entry.id}/signoff" not in html and "/observations/new" not in html
    assert "/reviews/new/final" in html and "/reviews/new/mid" not in html
    assert client.get(f"/cadets/{cadet.id}/reviews/new/mid").status_code == 403
    page = client.get(f"/cadets/{cadet.id}/reviews/new/final")
    assert page.status_code == 200
    areas = reviews.practice_areas(database.session)
    token = csrf_token(client, f"/cadets/{cadet.id}/reviews/new/final")
    form = {"csrf_token": token, "summary": "Galutinis įvertinimas.", "recommendation": "progress"}
    form.update({f"area_{a.id}": "expected" for a in areas})
    form[f"area_{areas[0].id}"] = "concern"
    missing = client.post(f"/cadets/{cadet.id}/reviews/new/final", data=form)
    assert missing.status_code == 400 and "causes concern" in missing.get_data(as_text=True)
    form[f"area_{areas[0].id}_comment"] = "Dar netvirtai."
    assert client.post(f"/cadets/{cadet.id}/reviews/new/final", data=form).status_code == 302
    review = database.session.scalar(select(PracticeReview).where(PracticeReview.cadet_id == cadet.id))
    assert review.kind is ReviewKind.FINAL and review.recommendation is Recommendation.PROGRESS
    assert [j.judgement for j in review.judgements][0] is AreaJudgement.CONCERN
    assert len(review.judgements) == len(areas)
    twice = client.post(f"/cadets/{cadet.id}/reviews/new/final", data=form)
    assert twice.status_code == 409 and "correct it instead" in twice.get_data(as_text=True)


def test_observation_is_signed_evidence_without_a_request(client, login_as, database, user):
    cadet = user("cadet.01")
    mentor = login_as("mentor.jonas")
    page = f"/cadets/{cadet.id}/observations/new"
    token = csrf_token(client, page)
    task = database.session.scalar(select(PracticeTask).where(PracticeTask.code == "PT-06"))
    response = client.post(page, data={"csrf_token": token, "task": task.id, "observed_on": "2026-11-20",
                                       "location": "Valgykla", "description": "Ramiai sumažino įtampą.",
                                       "outcome": "achieved", "comment": "Puiku."})
    assert response.status_code == 302
    entry = database.session.scalar(select(LogbookEntry).where(LogbookEntry.cadet_id == cadet.id)
                                    .order_by(LogbookEntry.id.desc()).limit(1))
    assert entry.recorded_by_id == mentor.id and entry.is_observation and entry.request is None
    signoff = entry.signoffs[0]
    assert signoff.outcome is SignOffOutcome.ACHIEVED and signoff.signer_id == mentor.id
    assert _count(database.session, Evidence, Evidence.source == EvidenceSource.PRACTICE_SIGNOFF,
                  Evidence.source_ref == f"signoff:{signoff.id}") == len(task.competencies)
    assert "Observation by Jonas Kazlauskas" in client.get(f"/cadets/{cadet.id}").get_data(as_text=True)


# --- countersignature and the review panel ---------------------------------------------------------------

def _final(session, user, cadet="cadet.01", recommendation=Recommendation.PROGRESS):
    return reviews.record_review(session, user("mentor.jonas"), user(cadet), kind=ReviewKind.FINAL,
                                 judgements=all_expected(session), summary="Pasirengęs.",
                                 recommendation=recommendation, today=TEST_TODAY, grace_days=GRACE)


def test_assessor_countersigns_and_the_decision_stands(client, login_as, database, user):
    review = _final(database.session, user)
    database.session.commit()
    login_as("assessor")
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Awaiting the assessor" in page and f"/progression/reviews/{review.id}/countersign" in page
    assert user("cadet.01").full_name in client.get("/progression/").get_data(as_text=True)
    token = csrf_token(client, f"/reviews/{review.id}")
    url = f"/progression/reviews/{review.id}/countersign"
    assert client.post(url, data={"csrf_token": token, "decision": "disagree", "comment": ""}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "decision": "agree", "comment": "Sutinku."}).status_code == 302
    progression = reviews.progression_of(database.session, review)
    assert progression.state == "countersigned" and progression.outcome is Recommendation.PROGRESS
    assert progression.countersignature.signer.username == "assessor"
    assert progression.countersignature.signer_role == "assessor"
    assert client.post(url, data={"csrf_token": token, "decision": "agree", "comment": ""}).status_code == 409
    assert "Countersigned: Ready to progress" in client.get(f"/reviews/{review.id}").get_data(as_text=True)
    with pytest.raises(Conflict):  # a countersigned final review changes only through the panel
        reviews.record_review(database.session, user("mentor.jonas"), user("cadet.01"), kind=ReviewKind.FINAL,
                              judgements=all_expected(database.session), summary="x",
                              recommendation=Recommendation.NOT_READY, today=TEST_TODAY, grace_days=GRACE,
                              corrects=review, reason="x")


def test_mentor_and_assessor_for_one_cadet_are_different_people(database, user):
    session = database.session
    review = _final(session, user)
    jonas = user("mentor.jonas")
    jonas.role = Role.ASSESSOR  # promoted to the Training Centre: still cadet.01's mentor in this placement
    session.flush()
    with pytest.raises(PermissionDenied) as refused:
        reviews.countersign(session, jonas, review, decision=CountersignDecision.AGREE, comment="")
    assert "must not be the cadet's mentor" in english(refused.value)
    with pytest.raises(PermissionDenied):  # also any earlier mentor of the cadet (mentor.darius)
        darius = user("mentor.darius")
        darius.role = Role.ASSESSOR
        session.flush()
        reviews.countersign(session, darius, review, decision=CountersignDecision.AGREE, comment="")


def test_disagreement_goes_to_the_panel_which_decides_with_reasons(client, login_as, database, user):
    session = database.session
    review = _final(session, user)
    signature = reviews.countersign(session, user("assessor"), review, decision=CountersignDecision.DISAGREE,
                                    comment="Per anksti.")
    case = session.scalar(select(PanelCase).where(PanelCase.review_id == review.id))
    assert case.status is PanelStatus.OPEN and case.countersignature_id == signature.id
    assert reviews.progression_of(session, review).state == "with_panel"
    with pytest.raises(PermissionDenied):  # the assessor who disagreed is not on the panel for this case
        reviews.decide_panel(session, user("assessor"), case, decision=Recommendation.PROGRESS, reasons="x",
                             members="")
    session.commit()
    login_as("admin")
    url = f"/progression/panel/{case.id}/decide"
    token = csrf_token(client, f"/progression/panel/{case.id}")
    assert client.post(url, data={"csrf_token": token, "decision": "not_ready", "reasons": ""}).status_code == 400
    assert client.post(url, data={"csrf_token": token, "decision": "not_ready", "reasons": "Pratęsti praktiką.",
                                  "members": "R. Ž., L. M."}).status_code == 302
    session.refresh(case)
    progression = reviews.progression_of(session, review)
    assert case.status is PanelStatus.DECIDED and progression.state == "panel_decided"
    assert progression.outcome is Recommendation.NOT_READY
    assert progression.decision.reasons == "Pratęsti praktiką." and progression.decision.signer_role == "admin"
    again = client.post(url, data={"csrf_token": token, "decision": "progress", "reasons": "x"})
    assert again.status_code == 409
    html = client.get(f"/progression/panel/{case.id}").get_data(as_text=True)
    assert "Pratęsti praktiką." in html and "Rasa Žukauskienė" in html


# --- corrections -----------------------------------------------------------------------------------------

def test_a_correction_is_a_new_record_with_its_reason_and_evidence_follows(client, login_as, database, user):
    session = database.session
    cadet, jonas = user("cadet.01"), user("mentor.jonas")
    entry = new_entry(session, cadet, task_code="PT-05")
    first = practice.sign_off(session, jonas, entry, outcome=SignOffOutcome.ACHIEVED, comment="Gerai.",
                              today=TEST_TODAY)
    session.commit()
    assert entry.task_id in practice.achieved_task_ids(session, cadet)
    login_as("mentor.jonas")
    page = f"/signoffs/{first.id}/correct"
    token = csrf_token(client, page)
    no_reason = client.post(page, data={"csrf_token": token, "outcome": "not_yet", "comment": "Dar ne.",
                                        "reason": ""})
    assert no_reason.status_code == 400
    assert client.post(page, data={"csrf_token": token, "outcome": "not_yet", "comment": "Dar ne.",
                                   "reason": "Supainiojau su kitu kursantu."}).status_code == 302
    session.expire_all()
    rows = session.scalars(select(SignOff).where(SignOff.entry_id == entry.id).order_by(SignOff.id)).all()
    assert len(rows) == 2 and rows[0].outcome is SignOffOutcome.ACHIEVED and rows[0].comment == "Gerai."
    assert rows[1].corrects_id == rows[0].id and rows[1].correction_reason == "Supainiojau su kitu kursantu."
    assert rows[1].outcome is SignOffOutcome.NOT_YET
    assert entry.task_id not in practice.achieved_task_ids(session, cadet)
    standing = session.scalars(select(Evidence).where(Evidence.person_id == cadet.id, Evidence.supersedes_id.is_(None),
                                                      Evidence.source_ref == f"signoff:{first.id}")).all()
    withdrawn = {e.supersedes_id for e in session.scalars(select(Evidence).where(Evidence.supersedes_id.in_(
        [e.id for e in standing])))}
    assert standing and withdrawn == {e.id for e in standing}
    html = client.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert "Supainiojau su kitu kursantu." in html and "corrected" in html
    assert client.post(page, data={"csrf_token": token, "outcome": "achieved", "comment": "",
                                   "reason": "Dar kartą."}).status_code == 409  # correct the newest instead
    with pytest.raises(PermissionDenied):
        practice.correct_signoff(session, user("mentor.ona"), rows[1], outcome=SignOffOutcome.ACHIEVED, comment="",
                                 reason="x", today=TEST_TODAY)
    with pytest.raises(ImmutableRecordError):
        rows[0].comment = "pakeista"
        session.flush()


def test_review_and_countersignature_corrections(database, user):
    session = database.session
    jonas, cadet = user("mentor.jonas"), user("cadet.01")
    mid = reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID, judgements=all_expected(session),
                                summary="Pirmas.", recommendation=None, today=TEST_TODAY, grace_days=GRACE)
    fixed = reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID,
                                  judgements=all_expected(session, concern="REP"), summary="Antras.",
                                  recommendation=None, today=TEST_TODAY, grace_days=GRACE, corrects=mid,
                                  reason="Praleidau dokumentavimą.")
    assert fixed.corrects_id == mid.id and reviews.latest_version(session, PracticeReview, mid).id == fixed.id
    with pytest.raises(OperationError):  # a reason is required
        reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID, judgements=all_expected(session),
                              summary="x", recommendation=None, today=TEST_TODAY, grace_days=GRACE, corrects=fixed)
    final = _final(session, user)
    assessor = user("assessor")
    disagree = reviews.countersign(session, assessor, final, decision=CountersignDecision.DISAGREE, comment="Ne.")
    agree = reviews.correct_countersignature(session, assessor, disagree, decision=CountersignDecision.AGREE,
                                             comment="", reason="Pažiūrėjau ne to kursanto dienyną.")
    case = session.scalar(select(PanelCase).where(PanelCase.review_id == final.id))
    assert case.status is PanelStatus.WITHDRAWN and agree.corrects_id == disagree.id
    assert reviews.progression_of(session, final).outcome is Recommendation.PROGRESS
    assert verify_chain(session, cadet.id).ok


# --- the timeline and the lists --------------------------------------------------------------------------

def test_timeline_shows_every_record_with_signer_role_and_time(client, login_as, database, user):
    session = database.session
    cadet = user("cadet.18")  # the demo's panel case: reviews, a countersignature and a decision
    login_as("cadet.18")
    html = client.get(f"/cadets/{cadet.id}/timeline").get_data(as_text=True)
    for words in ("Placement", "Final review", "Countersignature", "Referred to the review panel",
                  "Review panel decision", "signed by Mindaugas Vasiliauskas (mentor)",
                  "signed by Vytautas Navickas (assessor)", "signed by Rasa Žukauskienė (training centre administrator)",
                  "Verified:"):
        assert words in html, words
    kinds = [item.kind for item in oversight.timeline(session, cadet)]
    assert kinds.index("panel_decision") < kinds.index("countersignature") < kinds.index("review")  # newest first
    assert client.get(f"/cadets/{user('cadet.17').id}/timeline").status_code == 404  # another cadet's


def test_overdue_at_risk_and_expiring_lists(client, login_as, database, user):
    login_as("assessor")
    html = client.get("/progression/attention").get_data(as_text=True)
    overdue = oversight.overdue_requests(database.session, TEST_TODAY, 7)
    assert [row.request.cadet.username for row in overdue] == ["cadet.07"]  # the demo's 10-day-old request
    assert overdue[0].mentor.username == "mentor.ona" and overdue[0].days >= 10
    at_risk = {row.cadet.username: row for row in oversight.cadets_at_risk(database.session, TEST_TODAY, 0.6, 3)}
    assert "cadet.01" in at_risk and at_risk["cadet.01"].achieved == 0
    assert at_risk["cadet.01"].elapsed_share == pytest.approx(50 / 75)
    assert oversight.cadets_at_risk(database.session, dt.date(2026, 10, 20), 0.6, 3) == []  # too early to tell
    expiring = {row.mentor.username: row for row in oversight.accreditations_expiring(database.session, TEST_TODAY, 60)}
    assert set(expiring) == {"mentor.ruta", "mentor.vida"} and expiring["mentor.ruta"].days_left == 38
    for name in ("Dovydas Žąsinas", "Lukas Rimkus", "Rūta Stankevičienė", "Vida Paulauskienė"):
        assert name in html, name
