"""Course modules and lessons: reading, knowledge checks and branching scenarios."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from competency_framework.models import EvidenceSource
from competency_framework.operations import record_evidence
from courses import operations as course_ops
from courses.models import CourseModule, Lesson, LessonKind, ModuleCompletion
from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.extensions import db
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import language

bp = Blueprint("courses", __name__, url_prefix="/courses")


def _completed(completion: ModuleCompletion) -> None:
    """A completed module is evidence for each competency it is mapped to."""
    for competency in completion.module.competencies:
        record_evidence(db.session, person_id=completion.person_id, competency=competency,
                        source=EvidenceSource.COURSE, recorded_by_id=None, achieved=True,
                        source_ref=f"module:{completion.module.code}", note=completion.module.code)
    audit.record(db.session, current_user, "courses.module_completed", completion, module=completion.module.code)


def _after_progress(lesson: Lesson) -> None:
    if course_ops.complete_module_if_due(db.session, current_user.id, lesson.module, _completed):
        flash(_("Module completed. Well done."), "success")


@bp.get("/modules/<code>")
@login_required
def module(code: str) -> str:
    require(current_user, Capability.TAKE_COURSES)
    found = db.session.scalar(select(CourseModule).where(CourseModule.code == code))
    if found is None:
        abort(404)
    progress = course_ops.module_progress(db.session, current_user.id, found)
    done = {lesson.id for lesson in found.lessons
            if (p := course_ops.lesson_progress(db.session, current_user.id, lesson)) and p.completed_at}
    return render_template("course_module.html", module=found, progress=progress, done=done)


def _lesson(lesson_id: int) -> Lesson:
    require(current_user, Capability.TAKE_COURSES)
    return db.get_or_404(Lesson, lesson_id)


@bp.get("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int) -> str:
    found = _lesson(lesson_id)
    progress = course_ops.lesson_progress(db.session, current_user.id, found)
    node = None
    if found.kind is LessonKind.SCENARIO:
        node = course_ops.scenario_position(db.session, current_user.id, found)
    return render_template("course_lesson.html", lesson=found, progress=progress, node=node,
                           form=ConfirmForm(), lang=language(), result=None)


@bp.post("/lessons/<int:lesson_id>/read")
@login_required
def mark_read(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    course_ops.mark_read(db.session, current_user.id, found)
    _after_progress(found)
    db.session.commit()
    return redirect(url_for("courses.module", code=found.module.code))


@bp.post("/lessons/<int:lesson_id>/check")
@login_required
def check(lesson_id: int) -> str | tuple[str, int]:
    found = _lesson(lesson_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    answers = {str(q["id"]): request.form.get(f"q-{q['id']}", "") for q in found.content.get("questions", [])}
    try:
        result = course_ops.answer_knowledge_check(db.session, current_user.id, found, answers, language())
    except course_ops.CourseError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return render_template("course_lesson.html", lesson=found, progress=None, node=None, form=form,
                               lang=language(), result=None, given=answers), 400
    _after_progress(found)
    db.session.commit()
    progress = course_ops.lesson_progress(db.session, current_user.id, found)
    return render_template("course_lesson.html", lesson=found, progress=progress, node=None, form=form,
                           lang=language(), result=result, given=answers), 200


@bp.post("/lessons/<int:lesson_id>/choose")
@login_required
def choose(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        choice = course_ops.choose_in_scenario(db.session, current_user.id, found, request.form.get("node", ""),
                                               request.form.get("choice", -1, type=int))
    except course_ops.CourseError as problem:
        db.session.rollback()
        flash(str(problem), "error")
        return redirect(url_for("courses.lesson", lesson_id=found.id))
    feedback = choice.get(f"feedback_{language()}") or choice.get("feedback_en")
    if feedback:
        flash(feedback, "feedback")
    _after_progress(found)
    db.session.commit()
    return redirect(url_for("courses.lesson", lesson_id=found.id))


@bp.post("/lessons/<int:lesson_id>/restart")
@login_required
def restart(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    course_ops.restart_scenario(db.session, current_user.id, found)
    db.session.commit()
    return redirect(url_for("courses.lesson", lesson_id=found.id))
