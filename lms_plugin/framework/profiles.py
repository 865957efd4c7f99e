"""Competency profiles and gaps: one person against their role profile, a cohort's matrix,
and the gap workbook.

A person's profile is visible to the person, their assigned mentor and training centre
staff (``can_view_person``); anyone else gets 404, as for the cadet page. Ratings and
overrides need ``RATE_COMPETENCIES``. Cohort gaps need ``VIEW_ALL_PEOPLE``; the workbook
``EXPORT_REPORTS``.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from competency_framework.gaps import GapMatrix, gap_matrix
from competency_framework.models import Competency, Framework, FrameworkStatus
from competency_framework.proficiency import ProficiencyRow, person_profile, policy_for
from lms_plugin.core import audit, clock
from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, has_capability, require
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.people import Cohort, TrainingUnit, User
from lms_plugin.extensions import db
from lms_plugin.framework import charts as charts_competency
from lms_plugin.framework import operations as ops
from lms_plugin.framework.forms import RatingForm, level_choices
from lms_plugin.framework.gaps_workbook import BelowRow, GapColumn, GapLabels, GapRow, gap_workbook
from lms_plugin.framework.texts import describe_policy, explain, person_names, template_helpers
from lms_plugin.practice.models import Placement
from lms_plugin.practice.operations.access import can_view_person
from lms_plugin.web import charts
from lms_plugin.web.excel import timestamp, to_bytes
from lms_plugin.web.pages import attempt, language, local_time, localised

bp = Blueprint("profiles", __name__, template_folder="templates")
bp.context_processor(template_helpers)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- which version to show ---------------------------------------------------------------------

def _shown_versions() -> list[Framework]:
    """Versions a profile can be shown against: published first (newest), then archived ones."""
    return list(db.session.scalars(
        select(Framework).where(Framework.status.in_((FrameworkStatus.PUBLISHED, FrameworkStatus.ARCHIVED)))
        .order_by((Framework.status == FrameworkStatus.PUBLISHED).desc(), Framework.code,
                  Framework.version.desc())))


def _default_version(versions: list[Framework], role_codes: Iterable[str | None]) -> Framework | None:
    """The newest published version that defines the most common role profile, else the newest published."""
    published = sorted((item for item in versions if item.status is FrameworkStatus.PUBLISHED),
                       key=lambda item: (item.published_at or utcnow(), item.id), reverse=True)
    for role, _count in Counter(code for code in role_codes if code).most_common():
        for framework in published:
            if any(profile.code == role for profile in framework.role_profiles):
                return framework
    return published[0] if published else (versions[0] if versions else None)


def _chosen_version(role_codes: Iterable[str | None]) -> tuple[Framework | None, list[Framework]]:
    versions = _shown_versions()
    wanted = request.args.get("version", type=int)
    if wanted is not None:
        chosen = next((item for item in versions if item.id == wanted), None)
        if chosen is None:
            abort(404)
        return chosen, versions
    return _default_version(versions, role_codes), versions


# --- a person's profile ------------------------------------------------------------------------

def _visible_person(person_id: int) -> User:
    person = db.session.get(User, person_id)
    if person is None or not can_view_person(db.session, current_user, person, clock.today(),
                                             current_app.config["MENTOR_GRACE_DAYS"]):
        abort(404)  # someone outside one's reach does not exist for this viewer
    return person


@dataclass(frozen=True)
class EvidenceView:
    source: str
    level: int | None
    achieved: bool | None
    who: str
    when: str
    note: str
    version: int
    superseded: bool
    corrects: bool


@dataclass(frozen=True)
class ProfileRow:
    row: ProficiencyRow
    explanation: str
    evidence: list[EvidenceView]


def _profile_rows(framework: Framework, person: User) -> list[ProfileRow]:
    rows = person_profile(db.session, framework, person.id, person.role_profile_code)
    people_ids = {item.recorded_by_id for row in rows for item in row.evidence if item.recorded_by_id}
    users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(people_ids)))}
    who = person_names(users)
    superseded = {item.supersedes_id for row in rows for item in row.evidence if item.supersedes_id}
    result = []
    for row in rows:
        evidence = [EvidenceView(
            source=item.source.value, level=item.level, achieved=item.achieved, who=who(item.recorded_by_id),
            when=local_time(item.recorded_at), note=item.note, version=item.competency.framework.version,
            superseded=item.id in superseded, corrects=item.supersedes_id is not None)
            for item in reversed(row.evidence)]  # newest first
        result.append(ProfileRow(row, explain(row.explanation, who=who, when=lambda moment: local_time(moment),
                                              shown_version=framework.version), evidence))
    return result


def _render_profile(person: User, form: RatingForm | None = None, status: int = 200) -> tuple[str, int]:
    framework, versions = _chosen_version([person.role_profile_code])
    g.no_store = True
    if framework is None:
        return render_template("framework/profile.html", person=person, framework=None, versions=versions, rows=[],
                               form=None), status
    rows = _profile_rows(framework, person)
    role = next((profile for profile in framework.role_profiles if profile.code == person.role_profile_code), None)
    can_rate = (has_capability(current_user, Capability.RATE_COMPETENCIES) and current_user.id != person.id
                and framework.status is not FrameworkStatus.DRAFT)
    if can_rate and form is None:
        form = RatingForm(formdata=None)
    if can_rate:
        _rating_choices(form, framework, rows)
    summary = {"required": sum(1 for item in rows if item.row.required),
               "met": sum(1 for item in rows if item.row.required and not item.row.gap),
               "below": sum(1 for item in rows if item.row.gap)}
    return render_template("framework/profile.html", person=person, framework=framework, versions=versions, rows=rows,
                           role=role, form=form if can_rate else None, summary=summary,
                           policy=describe_policy(policy_for(framework).describe()),
                           chart_size=charts_competency.profile_pixels(len(rows))), status


def _rating_choices(form: RatingForm, framework: Framework, rows: list[ProfileRow]) -> None:
    form.competency.choices = [SelectChoice(item.row.competency.id,
                                            f"{item.row.competency.code} · {localised(item.row.competency, 'title')}")
                               for item in rows]
    form.level.choices = level_choices(framework.scale.levels, language())


@bp.get("/people/<int:person_id>/competencies")
@login_required
def profile(person_id: int) -> tuple[str, int]:
    return _render_profile(_visible_person(person_id))


@bp.get("/people/<int:person_id>/competencies/chart.png")
@login_required
def profile_chart(person_id: int) -> Response:
    person = _visible_person(person_id)
    framework, _versions = _chosen_version([person.role_profile_code])
    if framework is None:
        abort(404)
    rows = person_profile(db.session, framework, person.id, person.role_profile_code)
    figure, axes = charts.new_figure(charts_competency.PROFILE_WIDTH, charts_competency.profile_height(len(rows)))
    charts_competency.profile_bars(
        axes, [row.competency.code for row in rows], [row.level for row in rows], [row.required for row in rows],
        len(framework.scale.levels), framework.scale.proficient_level, xlabel=_("Level"),
        level_label=_("Level reached"), below_label=_("Below the requirement"), required_label=_("Required level"),
        proficient_label=_("Proficient"))
    response = Response(charts.png_bytes(figure, dpi=charts_competency.PROFILE_DPI), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/people/<int:person_id>/competencies/ratings")
@login_required
def rate(person_id: int) -> Response | tuple[str, int]:
    require(current_user, Capability.RATE_COMPETENCIES)
    person = _visible_person(person_id)
    framework, _versions = _chosen_version([person.role_profile_code])
    if framework is None:
        abort(404)
    form = RatingForm()
    rows = _profile_rows(framework, person)
    _rating_choices(form, framework, rows)
    if form.validate_on_submit():
        competency = db.session.get(Competency, form.competency.data)
        override = form.kind.data == "override"
        problem = attempt(lambda: ops.rate(db.session, current_user, person, competency, level=form.level.data,
                                           note=form.note.data or "", override=override))
        if problem is not None:
            target = getattr(form, problem.field or "", None) or form.level
            target.errors = [*target.errors, str(problem.message)]
            return _render_profile(_visible_person(person_id), form, problem.status_code)
        flash(_("Override of %(code)s recorded.", code=competency.code) if override else
              _("Rating of %(code)s recorded.", code=competency.code), "success")
        return redirect(url_for("profiles.profile", person_id=person.id, version=request.args.get("version"),
                                _anchor=f"c-{competency.id}"))
    return _render_profile(person, form, 400)


# --- cohort and unit gaps -------------------------------------------------------------------------

@dataclass
class GroupGaps:
    framework: Framework
    people: list[User]
    matrix: GapMatrix


def _group_gaps(people: list[User]) -> tuple[GroupGaps | None, list[Framework]]:
    framework, versions = _chosen_version([person.role_profile_code for person in people])
    if framework is None:
        return None, versions
    matrix = gap_matrix(db.session, framework, [(person.id, person.role_profile_code) for person in people])
    by_id = {person.id: person for person in people}
    ordered = [by_id[int(person_id)] for person_id in matrix.person_ids.tolist()]
    return GroupGaps(framework, ordered, matrix), versions


def _cohort_people(cohort: Cohort) -> list[User]:
    return sorted_lt(db.session.scalars(select(User).where(User.cohort_id == cohort.id, User.active.is_(True))),
                     key=lambda person: person.full_name)


def _unit_people(unit: TrainingUnit) -> list[User]:
    """Staff whose home unit it is, and the cadets placed there now."""
    on = clock.today()
    placed = select(Placement.cadet_id).where(Placement.unit_id == unit.id, Placement.starts_on <= on,
                                              Placement.ends_on >= on)
    return sorted_lt(db.session.scalars(select(User).where(User.active.is_(True),
                                                           or_(User.unit_id == unit.id, User.id.in_(placed)))),
                     key=lambda person: person.full_name)


def _gaps_page(gaps: GroupGaps | None, versions: list[Framework], *, title: str, back: tuple[str, str],
               chart_url: str, workbook_url: str | None, units: Iterable[TrainingUnit] = ()) -> str:
    g.no_store = True
    rows = []
    most_below = []
    if gaps is not None:
        matrix = gaps.matrix
        for i, person in enumerate(gaps.people):
            cells = []
            for j in range(len(matrix.competencies)):
                level, need = int(matrix.levels[i, j]), int(matrix.required[i, j])
                cells.append((level or None, need or None, max(need - level, 0) if need else None))
            rows.append((person, cells, int(matrix.below[i].sum())))
        most_below = matrix.most_below(10)
    return render_template(
        "framework/cohort_gaps.html", title=title, back=back, gaps=gaps, versions=versions, rows=rows,
        most_below=most_below, chart_url=chart_url, workbook_url=workbook_url, units=units,
        chart_size=None if gaps is None else charts_competency.heatmap_size(len(gaps.people),
                                                                             len(gaps.matrix.competencies)))


def _heatmap(gaps: GroupGaps | None) -> Response:
    if gaps is None:
        abort(404)
    matrix = gaps.matrix
    figure, axes = charts.new_figure(*charts_competency.heatmap_size(len(gaps.people), len(matrix.competencies)))
    charts_competency.gap_heatmap(
        axes, [person.full_name for person in gaps.people], [node.code for node in matrix.competencies],
        matrix.gaps, matrix.required, colorbar_label=_("Levels below the requirement"),
        not_required_label=_("Grey: not required for the person's role"))
    response = Response(charts.png_bytes(figure, dpi=charts_competency.HEATMAP_DPI), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cohorts/<int:cohort_id>/gaps")
@login_required
def cohort_gaps(cohort_id: int) -> str:
    require(current_user, Capability.VIEW_ALL_PEOPLE)
    cohort = db.get_or_404(Cohort, cohort_id)
    people = _cohort_people(cohort)
    gaps, versions = _group_gaps(people)
    on = clock.today()
    units = list(db.session.scalars(
        select(TrainingUnit).join(Placement, Placement.unit_id == TrainingUnit.id)
        .where(Placement.cadet_id.in_([person.id for person in people]), Placement.starts_on <= on,
               Placement.ends_on >= on).distinct().order_by(TrainingUnit.code)))
    version = request.args.get("version")
    return _gaps_page(
        gaps, versions, title=_("Competency gaps: %(cohort)s", cohort=cohort.code),
        back=(url_for("main.cohort", cohort_id=cohort.id), f"{cohort.code} · {localised(cohort, 'name')}"),
        chart_url=url_for("profiles.cohort_gaps_chart", cohort_id=cohort.id, version=version),
        workbook_url=url_for("profiles.cohort_gaps_workbook", cohort_id=cohort.id, version=version)
        if has_capability(current_user, Capability.EXPORT_REPORTS) else None, units=units)


@bp.get("/cohorts/<int:cohort_id>/gaps.png")
@login_required
def cohort_gaps_chart(cohort_id: int) -> Response:
    require(current_user, Capability.VIEW_ALL_PEOPLE)
    cohort = db.get_or_404(Cohort, cohort_id)
    return _heatmap(_group_gaps(_cohort_people(cohort))[0])


@bp.get("/units/<int:unit_id>/gaps")
@login_required
def unit_gaps(unit_id: int) -> str:
    require(current_user, Capability.VIEW_ALL_PEOPLE)
    unit = db.get_or_404(TrainingUnit, unit_id)
    gaps, versions = _group_gaps(_unit_people(unit))
    name = f"{localised(unit.institution, 'name')} – {localised(unit, 'name')}"
    return _gaps_page(gaps, versions, title=_("Competency gaps: %(unit)s", unit=unit.code), back=("", name),
                      chart_url=url_for("profiles.unit_gaps_chart", unit_id=unit.id,
                                        version=request.args.get("version")), workbook_url=None)


@bp.get("/units/<int:unit_id>/gaps.png")
@login_required
def unit_gaps_chart(unit_id: int) -> Response:
    require(current_user, Capability.VIEW_ALL_PEOPLE)
    unit = db.get_or_404(TrainingUnit, unit_id)
    return _heatmap(_group_gaps(_unit_people(unit))[0])


@bp.get("/reports/cohorts/<int:cohort_id>/gaps.xlsx")
@login_required
def cohort_gaps_workbook(cohort_id: int) -> Response:
    require(current_user, Capability.EXPORT_REPORTS)
    cohort = db.get_or_404(Cohort, cohort_id)
    gaps, _versions = _group_gaps(_cohort_people(cohort))
    if gaps is None:
        abort(404, _("There is no published competency framework yet."))
    matrix, framework = gaps.matrix, gaps.framework
    codes = [node.code for node in matrix.competencies]
    role_titles = {profile.code: localised(profile, "title") for profile in framework.role_profiles}
    rows = [GapRow(full_name=person.full_name, username=person.username,
                   role=role_titles.get(person.role_profile_code or "", person.role_profile_code or ""),
                   levels={code: int(matrix.levels[i, j]) or None for j, code in enumerate(codes)},
                   required={code: int(matrix.required[i, j]) or None for j, code in enumerate(codes)})
            for i, person in enumerate(gaps.people)]
    below = matrix.below.sum(axis=0)
    required = (matrix.required > 0).sum(axis=0)
    order = sorted(range(len(codes)), key=lambda j: (-int(below[j]), j))
    summary = [BelowRow(codes[j], localised(matrix.competencies[j], "title"), int(below[j]), int(required[j]))
               for j in order]
    labels = GapLabels(
        gaps_sheet=_("Gaps"), levels_sheet=_("Levels"), competencies_sheet=_("Competencies"), person=_("Person"),
        username=_("Username"), role=_("Role profile"), below_total=_("Competencies below"), code=_("Code"),
        title=_("Competency"), people_below=_("People below the requirement"),
        people_required=_("People it is required of"), about_title=_("About this workbook"), about_sheet=_("About"),
        about=[
            (_("Cohort"), f"{cohort.code} – {localised(cohort, 'name')}"),
            (_("Framework"), f"{framework.code} v{framework.version} – {localised(framework, 'title')}"),
            (_("Gaps"), _("Each cell of the sheet “%(sheet)s” is the required level minus the level reached "
                          "(0 = met); an empty cell means the person's role does not require the competency.",
                          sheet=_("Gaps"))),
            (_("Proficiency rule"), " ".join(describe_policy(policy_for(framework).describe()))),
            (_("Generated"), timestamp(utcnow())),
            (_("Generated by"), current_user.full_name),
            (_("Rows"), str(len(rows))),
        ])
    workbook = gap_workbook(rows, [GapColumn(code, localised(node, "title"))
                                   for code, node in zip(codes, matrix.competencies)], summary, labels)
    audit.record(db.session, current_user, "reports.cohort_gaps_export", cohort, rows=len(rows),
                 framework=framework.code, version=framework.version)
    db.session.commit()
    filename = f"gaps-{cohort.code}-{clock.today().isoformat()}.xlsx"
    return send_file(io.BytesIO(to_bytes(workbook)), mimetype=XLSX, as_attachment=True, download_name=filename,
                     max_age=0)

