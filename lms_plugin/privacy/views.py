"""The "Personal data" pages: a list of people, each person's page with the exports, and erasure."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability
from lms_plugin.core.clock import SERVICE_TIMEZONE
from lms_plugin.core.people import User
from lms_plugin.extensions import db
from lms_plugin.privacy import operations as privacy
from lms_plugin.privacy.forms import EraseForm
from lms_plugin.privacy.workbook import personal_data_workbook
from lms_plugin.testing.models import Answer, Sitting
from lms_plugin.web.excel import to_bytes
from lms_plugin.web.pages import attempted, local_time

bp = Blueprint("privacy", __name__, url_prefix="/personal-data", template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SECTIONS = {
    "account": _l("Account"), "placements": _l("Placements"), "logbook_entries": _l("Logbook entries"),
    "attachments": _l("Attached files"), "signoff_requests": _l("Sign-off requests"), "signoffs": _l("Sign-offs"),
    "reviews": _l("Reviews"), "review_judgements": _l("Review judgements"),
    "countersignatures": _l("Countersignatures"), "panel_cases": _l("Review panel cases"),
    "panel_decisions": _l("Panel decisions"), "evidence": _l("Competency evidence"), "sittings": _l("Test sittings"),
    "results": _l("Test results"), "answers": _l("Raw answers"), "course_progress": _l("Course progress"),
    "course_completions": _l("Completed modules"), "sign_in_attempts": _l("Sign-in attempts"),
    "audit": _l("Audit log"),
}


def _person(person_id: int) -> User:
    privacy.require_view(current_user)
    g.no_store = True  # personal data stays out of shared caches
    return db.get_or_404(User, person_id)


def _file_name(person: User, extension: str) -> str:
    moment = utcnow().astimezone(SERVICE_TIMEZONE).strftime("%Y%m%d-%H%M")
    return f"personal-data-{person.username}-{moment}.{extension}"


@bp.get("/")
@login_required
def index() -> str:
    privacy.require_view(current_user)
    g.no_store = True
    return render_template("privacy/index.html", people=privacy.people(db.session, current_user))


@bp.get("/<int:person_id>")
@login_required
def person(person_id: int) -> str:
    person = _person(person_id)
    return _page(person, EraseForm())


def _page(person: User, form: EraseForm, status: int = 200) -> tuple[str, int]:
    answers = db.session.scalar(select(func.count(Answer.id)).join(Sitting).where(Sitting.person_id == person.id))
    return render_template("privacy/person.html", person=person, form=form, erased=privacy.is_erased(person),
                           answers=answers, retention_days=current_app.config["RAW_ANSWERS_RETENTION_DAYS"],
                           may_erase=has_capability(current_user, Capability.MANAGE_PEOPLE),
                           raw=has_capability(current_user, Capability.VIEW_RAW_SCORES)), status


def _personal_data(person: User, purpose: str) -> tuple[Any, Response | None]:
    """Everything held about the person for an export, or the refusal shown back on their page."""
    data, problem = attempted(lambda: privacy.personal_data(db.session, current_user, person, purpose=purpose))
    if problem is not None:
        flash(str(problem.message), "error")
        return None, redirect(url_for("privacy.person", person_id=person.id))
    return data, None


@bp.get("/<int:person_id>.json")
@login_required
def export_json(person_id: int) -> Response:
    person = _person(person_id)
    data, refused = _personal_data(person, "json")
    if refused is not None:
        return refused
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    return send_file(io.BytesIO(body), mimetype="application/json", as_attachment=True,
                     download_name=_file_name(person, "json"))


@bp.get("/<int:person_id>.xlsx")
@login_required
def export_xlsx(person_id: int) -> Response:
    person = _person(person_id)
    data, refused = _personal_data(person, "xlsx")
    if refused is not None:
        return refused
    about = [(_("Person"), f"{person.full_name} ({person.username})"),
             (_("Exported"), local_time(utcnow()) + " " + _("(Lithuanian time; times in the sheets are UTC)")),
             (_("Exported by"), current_user.username)]
    if "answers_withheld" in data:
        about.append((_("Raw answers"), _("%(n)d raw answers are held; only the psychologist may export them.",
                                          n=data["answers_withheld"])))
    workbook = personal_data_workbook(data, {key: str(title) for key, title in SECTIONS.items()},
                                      _("About this export"), about, _("No records."))
    return send_file(io.BytesIO(to_bytes(workbook)), mimetype=XLSX, as_attachment=True,
                     download_name=_file_name(person, "xlsx"))


@bp.post("/<int:person_id>/erase")
@login_required
def erase(person_id: int) -> Response | tuple[str, int]:
    person = _person(person_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _page(person, form, 400)
    if form.confirm_username.data.strip().lower() != person.username:
        form.confirm_username.errors = [_("This is not the person's username.")]
        return _page(person, form, 400)
    storage = Path(current_app.config.get("PRACTICE_FILES_DIR") or Path(current_app.instance_path) / "practice_files")
    erasure, problem = attempted(lambda: privacy.erase_person(db.session, current_user, person,
                                                              reason=form.reason.data, storage_dir=storage))
    if problem is not None:
        if problem.field == "reason":
            form.reason.errors = [str(problem.message)]
            return _page(person, form, 400)
        flash(str(problem.message), "error")
        return redirect(url_for("privacy.person", person_id=person_id))
    privacy.remove_files(erasure)
    flash(_("The person's data has been erased: the account is anonymised and %(n)d unsigned logbook entries "
            "were cleared. Signed records are kept.", n=erasure.entries_cleared), "info")
    return redirect(url_for("privacy.person", person_id=person_id))
