"""Course modules and lessons for the learner: reading, knowledge checks and branching scenarios.
Views load the lesson and call the area's operations; completions become evidence there."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from courses import operations as course_domain
from courses.models import CourseModule, Lesson, LessonKind
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.courses import operations
from lms_plugin.extensions import db
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import attempted, language

bp = Blueprint("courses", __name__, url_prefix="/courses", template_folder="templates")


def _announce(step: operations.Step | None) -> None:
    if step is not None and step.completed is not None:
        flash(_("Module completed. Well done."), "success")


@bp.get("/modules/<code>")
@login_required
def module(code: str) -> str:
    require(current_user, Capability.TAKE_COURSES)
    found = db.session.scalar(select(CourseModule).where(CourseModule.code == code))
    if found is None:
        abort(404)
    progress = course_domain.module_progress(db.session, current_user.id, found)
    done = {lesson.id for lesson in found.lessons
            if (p := course_domain.lesson_progress(db.session, current_user.id, lesson)) and p.completed_at}
    return render_template("courses/module.html", module=found, progress=progress, done=done)


def _lesson(lesson_id: int) -> Lesson:
    require(current_user, Capability.TAKE_COURSES)
    return db.get_or_404(Lesson, lesson_id)


def _confirmed() -> ConfirmForm:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.get("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int) -> str:
    found = _lesson(lesson_id)
    progress = course_domain.lesson_progress(db.session, current_user.id, found)
    node = None
    if found.kind is LessonKind.SCENARIO:
        node = course_domain.scenario_position(db.session, current_user.id, found)
    return render_template("courses/lesson.html", lesson=found, progress=progress, node=node,
                           form=ConfirmForm(), lang=language(), result=None)


@bp.post("/lessons/<int:lesson_id>/read")
@login_required
def mark_read(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    _confirmed()
    step, problem = attempted(lambda: operations.read_lesson(db.session, current_user, found))
    if problem is not None:
        flash(str(problem.message), "error")
        return redirect(url_for("courses.lesson", lesson_id=found.id))
    _announce(step)
    return redirect(url_for("courses.module", code=found.module.code))


@bp.post("/lessons/<int:lesson_id>/check")
@login_required
def check(lesson_id: int) -> tuple[str, int]:
    found = _lesson(lesson_id)
    form = _confirmed()
    answers = {str(q["id"]): request.form.get(f"q-{q['id']}", "") for q in found.content.get("questions", [])}
    step, problem = attempted(lambda: operations.answer_knowledge_check(
        db.session, current_user, found, answers, language()))
    if problem is not None:
        flash(str(problem.message), "error")
        return render_template("courses/lesson.html", lesson=found, progress=None, node=None, form=form,
                               lang=language(), result=None, given=answers), 400
    _announce(step)
    progress = course_domain.lesson_progress(db.session, current_user.id, found)
    return render_template("courses/lesson.html", lesson=found, progress=progress, node=None, form=form,
                           lang=language(), result=step.result if step else None, given=answers), 200


@bp.post("/lessons/<int:lesson_id>/choose")
@login_required
def choose(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    _confirmed()
    step, problem = attempted(lambda: operations.choose_in_scenario(
        db.session, current_user, found, request.form.get("node", ""), request.form.get("choice", -1, type=int)))
    if problem is not None:
        flash(str(problem.message), "error")
    elif step is not None:
        feedback = step.result.get(f"feedback_{language()}") or step.result.get("feedback_en")
        if feedback:
            flash(feedback, "feedback")
        _announce(step)
    return redirect(url_for("courses.lesson", lesson_id=found.id))


@bp.post("/lessons/<int:lesson_id>/restart")
@login_required
def restart(lesson_id: int) -> Response:
    found = _lesson(lesson_id)
    _confirmed()
    _step, problem = attempted(lambda: operations.restart_scenario(db.session, current_user, found))
    if problem is not None:
        flash(str(problem.message), "error")
    return redirect(url_for("courses.lesson", lesson_id=found.id))
