"""The cadet's practice logbook: entries, attached files, asking the mentor for sign-off."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.clock import today
from lms_plugin.core.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.practice.forms import AttachmentForm, LogbookEntryWithFileForm, RequestForm
from lms_plugin.practice.models import LogbookAttachment, LogbookEntry, PracticeTask, SignOffRequest
from lms_plugin.practice.operations import logbook as practice
from lms_plugin.practice.operations.logbook import INLINE_TYPES
from lms_plugin.practice.views.helpers import files_dir, form_status, max_file_bytes, show_problem, visible_cadet
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import localised

bp = Blueprint("practice", __name__, url_prefix="/practice", template_folder="../templates")


def _tasks() -> list[PracticeTask]:
    return list(db.session.scalars(select(PracticeTask).order_by(PracticeTask.code)))


def _own_entry(entry_id: int) -> LogbookEntry:
    entry = db.session.get(LogbookEntry, entry_id)
    if entry is None or entry.cadet_id != current_user.id:
        abort(404)  # another cadet's entry does not exist for this cadet
    return entry


def _render_logbook(forms: dict[str, object] | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("practice/logbook.html", entries=practice.logbook(db.session, current_user),
                           placement=practice.current_placement(db.session, current_user, today()),
                           tasks=_tasks(), achieved=practice.achieved_task_ids(db.session, current_user),
                           forms=forms or {}, request_form=RequestForm(formdata=None),
                           attachment_form=AttachmentForm(formdata=None), confirm=ConfirmForm(formdata=None)), status


@bp.get("/")
@login_required
def logbook() -> tuple[str, int]:
    require(current_user, Capability.KEEP_LOGBOOK)
    return _render_logbook()


@bp.route("/entries/new", methods=["GET", "POST"])
@login_required
def new_entry() -> str | Response | tuple[str, int]:
    require(current_user, Capability.KEEP_LOGBOOK)
    placement = practice.current_placement(db.session, current_user, today())
    form = LogbookEntryWithFileForm()
    form.task.choices = [SelectChoice(task.id, f"{task.code} · {localised(task, 'title')}") for task in _tasks()]
    if form.validate_on_submit():
        task = db.session.get(PracticeTask, form.task.data)
        if task is None:
            form.task.errors = [_("Choose a task from the catalogue.")]
        else:
            try:
                entry = practice.add_logbook_entry(
                    db.session, current_user, task=task, performed_on=form.performed_on.data,
                    location=form.location.data or "", description=form.description.data,
                    reflection=form.reflection.data or "", today=today())
                upload = form.attachment.data
                if upload and getattr(upload, "filename", ""):
                    practice.attach_file(db.session, current_user, entry, filename=upload.filename,
                                         data=upload.read(max_file_bytes() + 1), storage_dir=files_dir(),
                                         max_bytes=max_file_bytes())
                db.session.commit()
                flash(_("Entry saved. Your mentor can now sign it off."), "success")
                return redirect(url_for("practice.logbook"))
            except OperationError as problem:
                db.session.rollback()
                show_problem(form, problem, "description")
    return render_template("practice/entry_form.html", form=form, placement=placement), form_status(form)


@bp.post("/entries/<int:entry_id>/files")
@login_required
def attach_file(entry_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.KEEP_LOGBOOK)
    entry = _own_entry(entry_id)
    form = AttachmentForm(prefix=f"f{entry.id}")
    if form.validate_on_submit():
        upload = form.attachment.data
        try:
            practice.attach_file(db.session, current_user, entry, filename=upload.filename or "",
                                 data=upload.read(max_file_bytes() + 1), storage_dir=files_dir(),
                                 max_bytes=max_file_bytes())
            db.session.commit()
            flash(_("File attached."), "success")
            return redirect(url_for("practice.logbook", _anchor=f"entry-{entry.id}"))
        except OperationError as problem:
            db.session.rollback()
            if problem.field != "attachment":
                flash(str(problem.message), "error")
            show_problem(form, problem, "attachment")
            return _render_logbook({f"file-{entry.id}": form}, problem.status_code)
    return _render_logbook({f"file-{entry.id}": form}, 400)


@bp.get("/files/<int:attachment_id>")
@login_required
def file(attachment_id: int) -> Response:
    """A file, to those who may see the cadet it belongs to; to everyone else it does not exist."""
    attachment = db.session.get(LogbookAttachment, attachment_id)
    if attachment is None:
        abort(404)
    visible_cadet(attachment.cadet_id)
    path = files_dir() / attachment.stored_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type,
                         as_attachment=attachment.content_type not in INLINE_TYPES,
                         download_name=attachment.original_name, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/entries/<int:entry_id>/request")
@login_required
def request_signoff(entry_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.KEEP_LOGBOOK)
    entry = _own_entry(entry_id)
    form = RequestForm(prefix=f"r{entry.id}")
    if not form.validate_on_submit():
        return _render_logbook({f"request-{entry.id}": form}, 400)
    try:
        practice.request_signoff(db.session, current_user, entry, message=form.message.data or "", today=today())
        db.session.commit()
    except OperationError as problem:
        db.session.rollback()
        if problem.field == "message":
            show_problem(form, problem, "message")
            return _render_logbook({f"request-{entry.id}": form}, problem.status_code)
        flash(str(problem.message), "error")
        return _render_logbook(status=problem.status_code)
    flash(_("Your mentor has been asked to sign off %(task)s.", task=entry.task.code), "success")
    return redirect(url_for("practice.logbook", _anchor=f"entry-{entry.id}"))


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw_request(request_id: int) -> Response:
    require(current_user, Capability.KEEP_LOGBOOK)
    request = db.session.get(SignOffRequest, request_id)
    if request is None or request.cadet_id != current_user.id:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    practice.withdraw_request(db.session, current_user, request)  # a refusal becomes a flash and a redirect
    db.session.commit()
    flash(_("Request withdrawn."), "success")
    return redirect(url_for("practice.logbook", _anchor=f"entry-{request.entry_id}"))
