"""The cadet's practice logbook."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from lms_plugin.auth.capabilities import Capability
from lms_plugin.auth.permissions import require
from lms_plugin.clock import today
from lms_plugin.errors import OperationError
from lms_plugin.extensions import db
from lms_plugin.forms import LogbookEntryForm
from lms_plugin.models.practice import PracticeTask
from lms_plugin.operations import practice
from lms_plugin.views import localised

bp = Blueprint("practice", __name__, url_prefix="/practice")


@bp.get("/")
@login_required
def logbook() -> str:
    require(current_user, Capability.KEEP_LOGBOOK)
    tasks = db.session.scalars(select(PracticeTask).order_by(PracticeTask.code)).all()
    return render_template("practice_logbook.html", entries=practice.logbook(db.session, current_user),
                           placement=practice.current_placement(db.session, current_user, today()),
                           tasks=tasks, achieved=practice.achieved_task_ids(db.session, current_user))


@bp.route("/entries/new", methods=["GET", "POST"])
@login_required
def new_entry() -> str | Response | tuple[str, int]:
    require(current_user, Capability.KEEP_LOGBOOK)
    placement = practice.current_placement(db.session, current_user, today())
    tasks = db.session.scalars(select(PracticeTask).order_by(PracticeTask.code)).all()
    form = LogbookEntryForm()
    form.task.choices = [SelectChoice(task.id, f"{task.code} · {localised(task, 'title')}") for task in tasks]
    if form.validate_on_submit():
        task = db.session.get(PracticeTask, form.task.data)
        if task is None:
            form.task.errors = [_("Choose a task from the catalogue.")]
        else:
            try:
                practice.add_logbook_entry(db.session, current_user, task=task, performed_on=form.performed_on.data,
                                           location=form.location.data or "", description=form.description.data,
                                           reflection=form.reflection.data or "", today=today())
                db.session.commit()
                flash(_("Entry saved. Your mentor can now sign it off."), "success")
                return redirect(url_for("practice.logbook"))
            except OperationError as problem:
                db.session.rollback()
                target = getattr(form, problem.field or "", None) or form.description
                target.errors = [*target.errors, str(problem.message)]
    status = 400 if form.errors or any(field.errors for field in form) else 200
    return render_template("practice_entry_form.html", form=form, placement=placement), status
