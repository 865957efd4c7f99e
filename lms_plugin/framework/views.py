"""Maintaining the competency framework: versions, the tree, scale, role profiles, the
proficiency rule, comparison, import and export.

Training centre staff who see everyone (``VIEW_ALL_PEOPLE``) may read every version and
download it; changes need ``MANAGE_FRAMEWORK``. Published and archived versions are
read-only: no edit forms are shown, and a change posted anyway is refused with 409 and
a message that says to create a new draft. The proficiency rule is policy, not content,
so it may be chosen on a published version too.
"""

from __future__ import annotations

import io
from typing import Any, Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from competency_framework import operations as domain
from competency_framework.errors import FrameworkError
from competency_framework.interchange import EXTENSIONS, MEDIA_TYPES, Format, InterchangeError
from competency_framework.models import (
    AggregationRule,
    Competency,
    Framework,
    FrameworkStatus,
    NodeKind,
    RoleProfile,
    RollupRule,
    Scale,
)
from competency_framework.proficiency import policy_for
from competency_framework.tree import descendants, walk
from lms_plugin.core.capabilities import Capability, has_capability, require
from lms_plugin.core.errors import OperationError, PermissionDenied
from lms_plugin.extensions import db
from lms_plugin.framework import jobs as framework_jobs
from lms_plugin.framework import operations as ops
from lms_plugin.framework.forms import (
    PRIORITY_SLOTS,
    FrameworkTextsForm,
    ImportForm,
    MoveForm,
    NewFrameworkForm,
    NodeEditForm,
    NodeForm,
    PolicyForm,
    RoleProfileForm,
    ScaleCopyForm,
    ScaleForm,
    level_choices,
    requirements_form,
)
from lms_plugin.framework.texts import describe_policy, status_label, template_helpers
from lms_plugin.jobs import runner as jobs
from lms_plugin.web.forms import ConfirmForm
from lms_plugin.web.pages import attempt, language, localised

bp = Blueprint("framework", __name__, url_prefix="/framework", template_folder="templates")
bp.context_processor(template_helpers)

TOP = 0  # the "top level" choice of a parent select


# --- access and loading ---------------------------------------------------------------------

def _require_read() -> None:
    """Reading the framework: training centre staff (and whoever maintains it)."""
    if not (has_capability(current_user, Capability.VIEW_ALL_PEOPLE)
            or has_capability(current_user, Capability.MANAGE_FRAMEWORK)):
        raise PermissionDenied(_("Only training centre staff may open the framework pages."))


def _version(framework_id: int) -> Framework:
    framework = db.get_or_404(Framework, framework_id)
    if framework.status is FrameworkStatus.PENDING:  # a job is still writing or removing it
        abort(404)
    return framework


def _node(node_id: int) -> Competency:
    node = db.get_or_404(Competency, node_id)
    if node.framework.status is FrameworkStatus.PENDING:
        abort(404)
    return node


def _can_manage() -> bool:
    return has_capability(current_user, Capability.MANAGE_FRAMEWORK)


def _read_only_message(framework: Framework) -> str:
    return _("Version %(version)d of %(code)s is %(status)s and read-only. Create a new draft version to change "
             "it.", version=framework.version, code=framework.code, status=status_label(framework.status))


def _refuse_read_only(framework: Framework) -> None:
    """A change posted to a published or archived version: 409 with the version page and why."""
    if not framework.is_editable:
        abort(make_response(*_version_page(framework, error=_read_only_message(framework), status=409)))


def _draft_to_change(framework_id: int) -> Framework:
    """The version a change is posted to, for a framework manager; read-only versions refuse it."""
    require(current_user, Capability.MANAGE_FRAMEWORK)
    framework = _version(framework_id)
    _refuse_read_only(framework)
    return framework


def _draft_to_edit(framework_id: int) -> Framework | Response:
    """For an edit form: a POST to a read-only version is refused; a GET is sent back to the version page."""
    require(current_user, Capability.MANAGE_FRAMEWORK)
    framework = _version(framework_id)
    if request.method == "POST":
        _refuse_read_only(framework)
    elif not framework.is_editable:
        return redirect(url_for("framework.version", framework_id=framework.id))
    return framework


def _attach(form: Any, problem: OperationError, default: str | None = None) -> str | None:
    """Put a refusal next to its field; return it as a page-level message when no field fits."""
    target = getattr(form, problem.field or "", None) or (getattr(form, default, None) if default else None)
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(problem.message)]
        return None
    return str(problem.message)


def _status(form: Any, page_error: str | None, problem: OperationError | None = None) -> int:
    if problem is not None:
        return problem.status_code
    return 400 if (page_error or any(field.errors for field in form)) else 200


# --- pages ---------------------------------------------------------------------------------

def _versions_by_code() -> list[tuple[str, list[Framework]]]:
    grouped: dict[str, list[Framework]] = {}
    for framework in db.session.scalars(select(Framework).where(Framework.status != FrameworkStatus.PENDING)
                                        .order_by(Framework.code, Framework.version.desc())):
        grouped.setdefault(framework.code, []).append(framework)
    return list(grouped.items())


@bp.get("/")
@login_required
def index() -> str:
    _require_read()
    return render_template("framework/index.html", groups=_versions_by_code(), can_manage=_can_manage())


def _scale_choices() -> list[SelectChoice]:
    return [SelectChoice(scale.id, f"{scale.code} · {localised(scale, 'title')} ({len(scale.levels)})")
            for scale in db.session.scalars(select(Scale).order_by(Scale.code))]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    form = NewFrameworkForm()
    form.scale.choices = _scale_choices()
    page_error = problem = None
    if form.validate_on_submit():
        created: list[Framework] = []
        problem = attempt(lambda: created.append(ops.create_framework(
            db.session, current_user, code=form.code.data, title_en=form.title_en.data,
            title_lt=form.title_lt.data or "", description_en=form.description_en.data or "",
            description_lt=form.description_lt.data or "", scale=db.session.get(Scale, form.scale.data))))
        if problem is None:
            flash(_("Draft %(code)s version %(version)d created. Add its areas and competencies.",
                    code=created[0].code, version=created[0].version), "success")
            return redirect(url_for("framework.version", framework_id=created[0].id))
        page_error = _attach(form, problem, "code")
    return render_template("framework/new.html", form=form, page_error=page_error), _status(form, page_error, problem)


def _version_page(framework: Framework, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    children: dict[int, list[Competency]] = {}
    for node, _depth in walk(framework):
        children.setdefault(node.parent_id or TOP, []).append(node)
    versions = domain.framework_versions(db.session, framework.code)
    draft = next((item for item in versions if item.status is FrameworkStatus.DRAFT), None)
    requirement_counts = {profile.id: len(profile.requirements) for profile in framework.role_profiles}
    return render_template(
        "framework/version.html", framework=framework, children=children, versions=versions, draft=draft,
        policy=describe_policy(policy_for(framework).describe()), requirement_counts=requirement_counts,
        can_manage=_can_manage(), confirm=ConfirmForm(), error=error, formats=list(Format)), status


@bp.get("/<int:framework_id>")
@login_required
def version(framework_id: int) -> tuple[str, int]:
    _require_read()
    return _version_page(_version(framework_id))


@bp.route("/<int:framework_id>/edit", methods=["GET", "POST"])
@login_required
def edit(framework_id: int) -> str | Response | tuple[str, int]:
    framework = _draft_to_edit(framework_id)
    if isinstance(framework, Response):
        return framework
    form = FrameworkTextsForm(obj=framework if request.method == "GET" else None)
    form.scale.choices = _scale_choices()
    if request.method == "GET":
        form.scale.data = framework.scale_id
    page_error = problem = None
    if form.validate_on_submit():
        problem = attempt(lambda: ops.edit_framework(
            db.session, current_user, framework, title_en=form.title_en.data, title_lt=form.title_lt.data or "",
            description_en=form.description_en.data or "", description_lt=form.description_lt.data or "",
            scale=db.session.get(Scale, form.scale.data)))
        if problem is None:
            flash(_("Saved."), "success")
            return redirect(url_for("framework.version", framework_id=framework.id))
        page_error = _attach(form, problem, "title_en")
    return render_template("framework/edit.html", framework=framework, form=form, page_error=page_error), \
        _status(form, page_error, problem)


def _action(framework: Framework, action: Callable[[], Any], success: Callable[[], str],
            target: Callable[[], str]) -> Response | tuple[str, int]:
    """A button that changes a version (new draft, publish, discard)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    problem = attempt(action)
    if problem is not None:
        return _version_page(_version(framework.id), error=str(problem.message), status=problem.status_code)
    flash(success(), "success")
    return redirect(target())


@bp.post("/<int:framework_id>/draft")
@login_required
def new_draft(framework_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    framework = _version(framework_id)
    created: list[Framework] = []
    return _action(framework, lambda: created.append(ops.new_draft(db.session, current_user, framework)),
                   lambda: _("Draft version %(version)d created from version %(old)d. Published versions stay as "
                             "they are until you publish the draft.", version=created[0].version,
                             old=framework.version),
                   lambda: url_for("framework.version", framework_id=created[0].id))


@bp.post("/<int:framework_id>/publish")
@login_required
def publish(framework_id: int) -> Response | tuple[str, int]:
    framework = _draft_to_change(framework_id)
    if request.form.get("confirm") != "yes":  # publishing archives the version in use: confirmed like discarding
        return _version_page(framework, error=_("Tick the box to confirm that this version is to be published and "
                                                "the version published before it archived."), status=400)
    return _action(framework, lambda: ops.publish(db.session, current_user, framework),
                   lambda: _("Version %(version)d published. Earlier evidence keeps pointing at the version it was "
                             "recorded against.", version=framework.version),
                   lambda: url_for("framework.version", framework_id=framework_id))


@bp.post("/<int:framework_id>/discard")
@login_required
def discard(framework_id: int) -> Response | tuple[str, int]:
    framework = _draft_to_change(framework_id)
    if request.form.get("confirm") != "yes":
        return _version_page(framework, error=_("Tick the box to confirm that the draft and its changes are to be "
                                                "deleted."), status=400)
    code, number = framework.code, framework.version
    if ops.node_count(db.session, framework) > current_app.config["JOBS_INLINE_MAX_NODES"]:
        # A big draft goes in short batches on the job runner, hidden meanwhile.
        if not ConfirmForm().validate_on_submit():
            abort(400)
        problem = attempt(lambda: ops.begin_discard(db.session, current_user, framework))
        if problem is not None:
            return _version_page(_version(framework.id), error=str(problem.message), status=problem.status_code)
        job = jobs.create(framework_jobs.DISCARD, current_user.id)
        jobs.start(job, framework_jobs.DISCARD, framework_id=framework.id, code=code, version=number)
        return redirect(url_for("jobs.page", job_id=job.id))
    return _action(framework, lambda: ops.discard(db.session, current_user, framework),
                   lambda: _("Draft version %(version)d of %(code)s discarded.", version=number, code=code),
                   lambda: url_for("framework.index"))


@bp.get("/<int:framework_id>/compare")
@login_required
def compare(framework_id: int) -> str:
    _require_read()
    framework = _version(framework_id)
    versions = [item for item in domain.framework_versions(db.session, framework.code) if item.id != framework.id]
    other_id = request.args.get("with", type=int)
    other = next((item for item in versions if item.id == other_id), None)
    if other is None and versions:
        other = next((item for item in versions if item.version < framework.version), versions[0])
    diff = old = new_ = None
    requirements: list[RoleChanges] = []
    if other is not None:
        old, new_ = (other, framework) if other.version < framework.version else (framework, other)
        diff = domain.compare_versions(old, new_)
        requirements = _requirement_changes(old, new_)
    return render_template("framework/compare.html", framework=framework, versions=versions, other=other,
                           old=old, new=new_, diff=diff, requirements=requirements)


RoleChanges = tuple[str, list[tuple[str, int | None, int | None]]]


def _requirement_changes(old: Framework, new: Framework) -> list[RoleChanges]:
    """Per role profile code: (competency code, level before, level after) where they differ."""
    def levels(framework: Framework) -> dict[str, dict[str, int]]:
        return {profile.code: {requirement.competency.code: requirement.level for requirement in profile.requirements}
                for profile in framework.role_profiles}

    before, after = levels(old), levels(new)
    changes = []
    for role in [*after, *(code for code in before if code not in after)]:
        was, now = before.get(role, {}), after.get(role, {})
        rows = [(code, was.get(code), now.get(code)) for code in sorted(set(was) | set(now))
                if was.get(code) != now.get(code)]
        if rows:
            changes.append((role, rows))
    return changes


@bp.get("/<int:framework_id>/export/<fmt>")
@login_required
def export(framework_id: int, fmt: str) -> Response:
    _require_read()
    framework = _version(framework_id)
    try:
        kind = Format(fmt)
    except ValueError:
        abort(404)
    data = ops.export_file(db.session, current_user, framework, kind)
    db.session.commit()
    suffix = {Format.MOODLE: "-moodle", Format.CASE: "-case", Format.XLSX: ""}[kind]
    name = f"{framework.code}-v{framework.version}{suffix}{EXTENSIONS[kind]}"
    response = send_file(io.BytesIO(data), mimetype=MEDIA_TYPES[kind], as_attachment=True, download_name=name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_() -> str | Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    form = ImportForm()
    form.scale.choices = [SelectChoice("", _("None: the file brings its scale")),
                          *(SelectChoice(scale.code, f"{scale.code} · {localised(scale, 'title')}")
                            for scale in db.session.scalars(select(Scale).order_by(Scale.code)))]
    problems: list[Any] = []
    page_error = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        if len(data) > current_app.config["JOBS_INLINE_MAX_BYTES"]:
            # A big file is read, checked and written on the job runner, in short batches.
            job = jobs.create(framework_jobs.IMPORT, current_user.id)
            jobs.start(job, framework_jobs.IMPORT, data=data, actor_id=current_user.id,
                       format=form.format.data or None, scale_code=form.scale.data or None,
                       filename=upload.filename or "")
            return redirect(url_for("jobs.page", job_id=job.id))
        try:
            report = ops.import_file(db.session, current_user, data, format=form.format.data or None,
                                     scale_code=form.scale.data or None, filename=upload.filename or "")
            db.session.commit()
        except InterchangeError as error:
            db.session.rollback()
            problems = error.problems
        except FrameworkError as error:
            db.session.rollback()
            page_error = str(error)
        else:
            flash(_("Imported %(nodes)d nodes and %(roles)d role profiles as draft version %(version)d of %(code)s. "
                    "Check it, then publish it.", nodes=report.nodes, roles=report.role_profiles,
                    version=report.framework.version, code=report.framework.code), "success")
            for warning in report.warnings:
                flash(warning, "warn")
            return redirect(url_for("framework.version", framework_id=report.framework.id))
    status = 400 if (problems or page_error or any(field.errors for field in form)) else 200
    shown = {"sheet": any(location.sheet for location, _problem in problems),
             "row": any(location.row is not None for location, _problem in problems),
             "column": any(location.column for location, _problem in problems),
             "path": any(location.path for location, _problem in problems)}
    return render_template("framework/import.html", form=form, problems=problems, shown=shown,
                           page_error=page_error), status


# --- the tree ---------------------------------------------------------------------------------

def _label(node: Competency, depth: int) -> str:
    return f"{'— ' * (depth - 1)}{node.code} · {localised(node, 'title')}"


def _parent_choices(framework: Framework, exclude: set[int] = frozenset()) -> list[SelectChoice]:
    """The top level and every active node that can have children, indented by depth."""
    choices = [SelectChoice(TOP, _("(top level)"))]
    for node, depth in walk(framework):
        if node.kind is not NodeKind.INDICATOR and not node.retired and node.id not in exclude:
            choices.append(SelectChoice(node.id, _label(node, depth)))
    return choices


@bp.route("/<int:framework_id>/nodes/new", methods=["GET", "POST"])
@login_required
def add_node(framework_id: int) -> str | Response | tuple[str, int]:
    framework = _draft_to_edit(framework_id)
    if isinstance(framework, Response):
        return framework
    form = NodeForm()
    form.parent.choices = _parent_choices(framework)
    if request.method == "GET":
        form.parent.data = request.args.get("parent", type=int) or TOP
        form.kind.data = request.args.get("kind") or NodeKind.COMPETENCY.value
    page_error = problem = None
    if form.validate_on_submit():
        added: list[Competency] = []
        problem = attempt(lambda: added.append(ops.add_node(
            db.session, current_user, framework, kind=NodeKind(form.kind.data), code=form.code.data,
            title_en=form.title_en.data, title_lt=form.title_lt.data or "",
            description_en=form.description_en.data or "", description_lt=form.description_lt.data or "",
            parent_id=form.parent.data or None,
            position=None if form.position.data is None else form.position.data - 1)))
        if problem is None:
            flash(_("%(code)s added.", code=added[0].code), "success")
            return redirect(url_for("framework.version", framework_id=framework.id, _anchor=f"node-{added[0].id}"))
        page_error = _attach(form, problem, "parent")
    return render_template("framework/node_new.html", framework=framework, form=form, page_error=page_error), \
        _status(form, page_error, problem)


def _node_page(node: Competency, *, edit_form: NodeEditForm | None = None, move_form: MoveForm | None = None,
               page_error: str | None = None, status: int = 200) -> tuple[str, int]:
    framework = node.framework
    forms: dict[str, Any] = {}
    if framework.is_editable and _can_manage():
        forms["edit"] = edit_form or NodeEditForm(obj=node, formdata=None)
        if edit_form is None:
            forms["edit"].kind.data = node.kind.value
        forms["move"] = move_form or MoveForm(formdata=None)
        forms["move"].parent.choices = _parent_choices(framework, {node.id, *(item.id for item in descendants(node))})
        if move_form is None:
            forms["move"].parent.data = node.parent_id or TOP
        forms["confirm"] = ConfirmForm()
    path = []
    ancestor = node.parent
    while ancestor is not None:
        path.insert(0, ancestor)
        ancestor = ancestor.parent
    requirements = [(profile, requirement.level) for profile in framework.role_profiles
                    for requirement in profile.requirements if requirement.competency_id == node.id]
    return render_template("framework/node.html", framework=framework, node=node, path=path, forms=forms,
                           requirements=requirements, page_error=page_error), status


@bp.get("/nodes/<int:node_id>")
@login_required
def node(node_id: int) -> tuple[str, int]:
    _require_read()
    return _node_page(_node(node_id))


@bp.post("/nodes/<int:node_id>/edit")
@login_required
def edit_node(node_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    item = _node(node_id)
    _refuse_read_only(item.framework)
    form = NodeEditForm()
    page_error = problem = None
    if form.validate_on_submit():
        problem = attempt(lambda: ops.edit_node(
            db.session, current_user, item, kind=NodeKind(form.kind.data), code=form.code.data,
            title_en=form.title_en.data, title_lt=form.title_lt.data or "",
            description_en=form.description_en.data or "", description_lt=form.description_lt.data or ""))
        if problem is None:
            flash(_("%(code)s saved.", code=item.code), "success")
            return redirect(url_for("framework.node", node_id=item.id))
        page_error = _attach(form, problem, "code")
    return _node_page(_node(node_id), edit_form=form, page_error=page_error,
                      status=_status(form, page_error, problem))


@bp.post("/nodes/<int:node_id>/move")
@login_required
def move_node(node_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    item = _node(node_id)
    _refuse_read_only(item.framework)
    form = MoveForm()
    form.parent.choices = _parent_choices(item.framework, {item.id, *(other.id for other in descendants(item))})
    page_error = problem = None
    if form.validate_on_submit():
        problem = attempt(lambda: ops.move_node(
            db.session, current_user, item, parent_id=form.parent.data or None,
            position=None if form.position.data is None else form.position.data - 1))
        if problem is None:
            flash(_("%(code)s moved.", code=item.code), "success")
            return redirect(url_for("framework.node", node_id=item.id))
        page_error = _attach(form, problem, "parent")
    return _node_page(_node(node_id), move_form=form, page_error=page_error,
                      status=_status(form, page_error, problem))


def _node_action(node_id: int, action: Callable[[Competency], Any], message: Callable[[Competency], str]) \
        -> Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    item = _node(node_id)
    _refuse_read_only(item.framework)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    problem = attempt(lambda: action(item))
    if problem is not None:
        return _node_page(_node(node_id), page_error=str(problem.message), status=problem.status_code)
    flash(message(item), "success")
    return redirect(url_for("framework.node", node_id=node_id))


@bp.post("/nodes/<int:node_id>/retire")
@login_required
def retire_node(node_id: int) -> Response | tuple[str, int]:
    return _node_action(node_id, lambda item: ops.retire_node(db.session, current_user, item),
                        lambda item: _("%(code)s and everything under it retired. Evidence recorded against it "
                                       "stays.", code=item.code))


@bp.post("/nodes/<int:node_id>/reinstate")
@login_required
def reinstate_node(node_id: int) -> Response | tuple[str, int]:
    return _node_action(node_id, lambda item: ops.reinstate_node(db.session, current_user, item),
                        lambda item: _("%(code)s reinstated.", code=item.code))


# --- role profiles ----------------------------------------------------------------------------

def _grid_competencies(framework: Framework) -> list[Competency]:
    return [node for node, _depth in walk(framework) if node.kind is NodeKind.COMPETENCY and not node.retired]


def _roles_page(framework: Framework, *, grid: Any = None, role_form: RoleProfileForm | None = None,
                page_error: str | None = None, status: int = 200) -> tuple[str, int]:
    competencies = _grid_competencies(framework)
    profiles = list(framework.role_profiles)
    editable = framework.is_editable and _can_manage()
    current = {(requirement.role_profile_id, requirement.competency_id): requirement.level
               for profile in profiles for requirement in profile.requirements}
    if editable and grid is None:
        grid = requirements_form(profiles, competencies, len(framework.scale.levels), formdata=None)
        for (profile_id, competency_id), level in current.items():
            field = getattr(grid, f"r{profile_id}-c{competency_id}", None)
            if field is not None:
                field.data = str(level)
    areas = {node.id: node.parent for node in competencies}
    return render_template("framework/roles.html", framework=framework, competencies=competencies,
                           profiles=profiles, current=current, grid=grid if editable else None,
                           role_form=(role_form or RoleProfileForm(formdata=None)) if editable else None,
                           confirm=ConfirmForm(), areas=areas, page_error=page_error), status


@bp.route("/<int:framework_id>/roles", methods=["GET", "POST"])
@login_required
def roles(framework_id: int) -> Response | tuple[str, int]:
    framework = _version(framework_id)
    if request.method == "GET":
        _require_read()
        return _roles_page(framework)
    require(current_user, Capability.MANAGE_FRAMEWORK)
    _refuse_read_only(framework)
    competencies = _grid_competencies(framework)
    profiles = list(framework.role_profiles)
    grid = requirements_form(profiles, competencies, len(framework.scale.levels), formdata=request.form)
    if not grid.validate_on_submit():
        return _roles_page(framework, grid=grid, page_error=_("Some levels are not on the scale; see the marked "
                                                             "cells."), status=400)
    cells = {profile.id: {node.code: (int(value) if (value := getattr(grid, f"r{profile.id}-c{node.id}").data)
                                      else None) for node in competencies} for profile in profiles}
    changed: list[int] = []
    problem = attempt(lambda: changed.append(ops.set_requirements(db.session, current_user, framework, cells)))
    if problem is not None:
        return _roles_page(_version(framework_id), grid=grid, page_error=str(problem.message),
                           status=problem.status_code)
    flash(_("Role profiles saved: %(n)d required levels changed.", n=changed[0]), "success")
    return redirect(url_for("framework.roles", framework_id=framework_id))


@bp.post("/<int:framework_id>/roles/new")
@login_required
def add_role(framework_id: int) -> Response | tuple[str, int]:
    framework = _draft_to_change(framework_id)
    form = RoleProfileForm()
    page_error = problem = None
    if form.validate_on_submit():
        problem = attempt(lambda: ops.add_role_profile(db.session, current_user, framework, code=form.code.data,
                                                        title_en=form.title_en.data,
                                                        title_lt=form.title_lt.data or ""))
        if problem is None:
            flash(_("Role profile %(code)s added.", code=form.code.data), "success")
            return redirect(url_for("framework.roles", framework_id=framework_id))
        page_error = _attach(form, problem, "code")
    return _roles_page(_version(framework_id), role_form=form, page_error=page_error,
                       status=_status(form, page_error, problem))


@bp.post("/roles/<int:role_id>/delete")
@login_required
def delete_role(role_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.MANAGE_FRAMEWORK)
    profile = db.get_or_404(RoleProfile, role_id)
    framework = profile.framework
    _refuse_read_only(framework)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    code = profile.code
    problem = attempt(lambda: ops.delete_role_profile(db.session, current_user, profile))
    if problem is not None:
        return _roles_page(_version(framework.id), page_error=str(problem.message), status=problem.status_code)
    flash(_("Role profile %(code)s deleted from this draft.", code=code), "success")
    return redirect(url_for("framework.roles", framework_id=framework.id))


# --- the proficiency rule ----------------------------------------------------------------------

@bp.route("/<int:framework_id>/policy", methods=["GET", "POST"])
@login_required
def policy(framework_id: int) -> tuple[str, int] | Response:
    framework = _version(framework_id)
    if request.method == "GET":
        _require_read()
    else:
        require(current_user, Capability.MANAGE_FRAMEWORK)
    current = policy_for(framework)
    form = PolicyForm(formdata=request.form if request.method == "POST" else None)
    form.achieved_level.choices = level_choices(framework.scale.levels, language(), blank=_("no level (ignored)"),
                                                as_text=True)
    if request.method == "GET":
        form.rule.data = current.rule.value
        form.authorised_sources.data = [source.value for source in current.authorised_sources]
        for entry, source in zip(form.priority, [*current.source_priority, *[None] * PRIORITY_SLOTS]):
            entry.data = "" if source is None else source.value
        form.achieved_level.data = "" if current.achieved_level is None else str(current.achieved_level)
        form.rollup.data = current.rollup.value
        form.rollup_min_children.data = current.rollup_min_children
    page_error = problem = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            ranked = form.ranked_sources()
            if len(set(ranked)) != len(ranked):
                form.priority.errors = [_("Each source may appear only once in the ranking.")]
            else:
                problem = attempt(lambda: ops.set_policy(
                    db.session, current_user, framework, rule=AggregationRule(form.rule.data),
                    authorised_sources=form.authorised_sources.data or [], source_priority=ranked,
                    achieved_level=int(form.achieved_level.data) if form.achieved_level.data else None,
                    rollup=RollupRule(form.rollup.data), rollup_min_children=form.rollup_min_children.data))
                if problem is None:
                    flash(_("Proficiency rule saved. Profiles and gap reports now follow it."), "success")
                    return redirect(url_for("framework.policy", framework_id=framework_id))
                page_error = _attach(form, problem)
                status = problem.status_code
    return render_template("framework/policy.html", framework=framework, form=form, page_error=page_error,
                           description=describe_policy(current.describe()),
                           editable=_can_manage()), status


# --- the scale -----------------------------------------------------------------------------------

def _scale_page(framework: Framework, *, form: ScaleForm | None = None, copy_form: ScaleCopyForm | None = None,
                page_error: str | None = None, status: int = 200) -> tuple[str, int]:
    scale = framework.scale
    shared = db.session.scalar(select(Framework.id).where(Framework.scale_id == scale.id,
                                                          Framework.id != framework.id).limit(1)) is not None
    editable = framework.is_editable and _can_manage()
    frozen = domain.scale_in_use(db.session, scale) or shared
    if editable and not frozen and form is None:
        form = ScaleForm(formdata=None, obj=scale)
        while len(form.levels) < len(scale.levels) + 1:
            form.levels.append_entry()  # one empty row adds a level
    if editable and frozen and copy_form is None:
        copy_form = ScaleCopyForm(formdata=None, data={"code": f"{scale.code}-v{framework.version}"})
    return render_template("framework/scale.html", framework=framework, scale=scale, form=form if editable else None,
                           copy_form=copy_form if editable and frozen else None, frozen=frozen,
                           page_error=page_error), status


@bp.route("/<int:framework_id>/scale", methods=["GET", "POST"])
@login_required
def scale(framework_id: int) -> Response | tuple[str, int]:
    framework = _version(framework_id)
    if request.method == "GET":
        _require_read()
        return _scale_page(framework)
    require(current_user, Capability.MANAGE_FRAMEWORK)
    _refuse_read_only(framework)
    form = ScaleForm()
    page_error = problem = None
    if form.validate_on_submit():
        levels = [{"value": position, "code": entry.form.code.data, "title_en": entry.form.title_en.data or "",
                   "title_lt": entry.form.title_lt.data or "", "descriptor_en": entry.form.descriptor_en.data or "",
                   "descriptor_lt": entry.form.descriptor_lt.data or ""}
                  for position, entry in enumerate(
                      (entry for entry in form.levels if entry.form.code.data or entry.form.title_en.data), start=1)]
        problem = attempt(lambda: ops.update_scale(db.session, current_user, framework, title_en=form.title_en.data,
                                                    title_lt=form.title_lt.data or "",
                                                    proficient_level=form.proficient_level.data, levels=levels))
        if problem is None:
            flash(_("Scale saved."), "success")
            return redirect(url_for("framework.scale", framework_id=framework_id))
        page_error = str(problem.message)
    return _scale_page(_version(framework_id), form=form, page_error=page_error,
                       status=_status(form, page_error, problem))


@bp.post("/<int:framework_id>/scale/copy")
@login_required
def copy_scale(framework_id: int) -> Response | tuple[str, int]:
    framework = _draft_to_change(framework_id)
    form = ScaleCopyForm()
    page_error = problem = None
    if form.validate_on_submit():
        problem = attempt(lambda: ops.copy_scale(db.session, current_user, framework, code=form.code.data))
        if problem is None:
            flash(_("This draft now uses its own copy of the scale, %(code)s, which you can edit.",
                    code=form.code.data), "success")
            return redirect(url_for("framework.scale", framework_id=framework_id))
        page_error = _attach(form, problem, "code")
    return _scale_page(_version(framework_id), copy_form=form, page_error=page_error,
                       status=_status(form, page_error, problem))

