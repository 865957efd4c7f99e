"""Objects of the practice workflow for the tests: cadet.01's entries, a request, a file, a sign-off and
reviews signed by mentor.jonas, and the demo's countersignature and panel cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select

from lms_plugin.core.people import TrainingUnit, User
from lms_plugin.practice.models import (
    AreaJudgement,
    Countersignature,
    CountersignDecision,
    PanelCase,
    PanelDecision,
    PanelStatus,
    PracticeTask,
    Recommendation,
    ReviewKind,
    SignOffOutcome,
)
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations import reviews
from tests.conftest import TEST_TODAY

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
             b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
GRACE = 14


def english(value: Any) -> str:
    """An operation's message (or a refusal) in English, whatever the default language."""
    from flask_babel import force_locale

    with force_locale("en"):
        return str(getattr(value, "message", value))


def all_expected(session: Any, concern: str | None = None) -> dict[int, tuple[AreaJudgement, str]]:
    areas = reviews.practice_areas(session)
    return {a.id: ((AreaJudgement.CONCERN, "Needs work.") if a.code == concern else (AreaJudgement.EXPECTED, ""))
            for a in areas}


def new_entry(session: Any, cadet: User, description: str = "Atlikau užduotį.", task_code: str = "PT-01"):
    task = session.scalar(select(PracticeTask).where(PracticeTask.code == task_code))
    return practice.add_logbook_entry(session, cadet, task=task, performed_on=TEST_TODAY, location="1 sektorius",
                                      description=description, reflection="Gerai.", today=TEST_TODAY)


def build(session: Any, user: Callable[[str], User], files: Path) -> dict[str, Any]:
    cadet, jonas = user("cadet.01"), user("mentor.jonas")
    entry = new_entry(session, cadet, "Neišsiųstas įrašas.")
    asked = new_entry(session, cadet, "Įrašas, kurį prašoma patvirtinti.")
    request = practice.request_signoff(session, cadet, asked, message="Prašau patvirtinti.", today=TEST_TODAY)
    with_file = new_entry(session, cadet, "Įrašas su failu.")
    attachment = practice.attach_file(session, cadet, with_file, filename="ataskaita.pdf", data=PDF_BYTES,
                                      storage_dir=files)
    signed = new_entry(session, cadet, "Pasirašytas įrašas.")
    signoff = practice.sign_off(session, jonas, signed, outcome=SignOffOutcome.ACHIEVED, comment="Gerai.",
                                today=TEST_TODAY)
    mid = reviews.record_review(session, jonas, cadet, kind=ReviewKind.MID, judgements=all_expected(session),
                                summary="Gerai.", recommendation=None, today=TEST_TODAY, grace_days=GRACE)
    final = reviews.record_review(session, jonas, cadet, kind=ReviewKind.FINAL, judgements=all_expected(session),
                                  summary="Pasirengęs.", recommendation=Recommendation.PROGRESS, today=TEST_TODAY,
                                  grace_days=GRACE)
    assessor = user("assessor")
    countersignature = session.scalar(select(Countersignature).where(
        Countersignature.signer_id == assessor.id, Countersignature.decision == CountersignDecision.AGREE))
    open_case = session.scalar(select(PanelCase).where(PanelCase.status == PanelStatus.OPEN))
    decision = session.scalar(select(PanelDecision))
    placement = practice.current_placement(session, cadet, TEST_TODAY)
    session.commit()
    return {
        "cadet": cadet.id, "entry": entry.id, "request": request.id, "attachment": attachment.id,
        "signoff": signoff.id, "mid_review": mid.id, "final_review": final.id,
        "countersignature": countersignature.id, "open_case": open_case.id, "decision": decision.id,
        "decided_case": decision.case_id, "placement": placement.id, "mentor_user": jonas.id,
        "unit": session.scalar(select(TrainingUnit.id).order_by(TrainingUnit.code)),
    }
