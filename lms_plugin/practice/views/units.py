"""Training Centre staff manage practical training units, mentors and placements, and see every
unit's load on one page."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.clock import today
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.errors import OperationError
from lms_plugin.core.people import Institution, Role, TrainingUnit, User
from lms_plugin.extensions import db
from lms_plugin.practice.forms import EndPlacementForm, MentorForm, PlacementForm, ReassignForm, UnitForm
from lms_plugin.practice.models import Placement
from lms_plugin.practice.operations import placements as organisation
from lms_plugin.practice.views.helpers import form_status, show_problem, written
from lms_plugin.web.pages import localised

bp = Blueprint("units", __name__, url_prefix="/units", template_folder="../templates")


def _manager() -> None:
    require(current_user, Capability.MANAGE_PLACEMENTS)


def _unit_choices() -> list[SelectChoice]:
    units = db.session.scalars(select(TrainingUnit).options(joinedload(TrainingUnit.institution))
                               .order_by(TrainingUnit.code)).all()
    return [SelectChoice(u.id, f"{u.code} · {localised(u.institution, 'name')}, {localised(u, 'name')}")
            for u in units]


def _mentor_choices() -> list[SelectChoice]:
    rows = organisation.mentors_with_profiles(db.session)
    return [SelectChoice(user.id, _("%(name)s (%(unit)s, capacity %(n)d)", name=user.full_name,
                                    unit=user.unit.code if user.unit else "—", n=profile.capacity))
            for user, profile in rows if profile is not None and user.active]


@bp.get("/")
@login_required
def index() -> str:
    """Every unit's load today: mentors based there, accredited places, cadets placed, free places."""
    _manager()
    on = today()
    return render_template("practice/units_load.html", loads=organisation.unit_loads(db.session, on), today=on)


def _unit_form(unit: TrainingUnit | None) -> UnitForm:
    form = UnitForm(obj=unit if request.method == "GET" else None)
    if unit is not None and request.method == "GET":
        form.institution.data = unit.institution_id
    form.institution.choices = [SelectChoice(i.id, localised(i, "name")) for i in
                                db.session.scalars(select(Institution).order_by(Institution.code))]
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_unit() -> Response | tuple[str, int]:
    _manager()
    form = _unit_form(None)
    if form.validate_on_submit():
        try:
            unit = organisation.create_unit(
                db.session, current_user, db.session.get(Institution, form.institution.data) or abort(400),
                code=form.code.data, **{name: getattr(form, name).data or "" for name in organisation.UNIT_FIELDS})
            db.session.commit()
            flash(_("Unit %(code)s added.", code=unit.code), "success")
            return redirect(url_for("units.index"))
        except OperationError as problem:
            db.session.rollback()
            show_problem(form, problem, "code")
    return render_template("practice/unit_form.html", form=form, unit=None), form_status(form)


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit_unit(unit_id: int) -> Response | tuple[str, int]:
    _manager()
    unit = db.get_or_404(TrainingUnit, unit_id)
    form = _unit_form(unit)
    del form.code  # a unit's code does not change
    if form.validate_on_submit() and written(form, "name_en", lambda: organisation.update_unit(
            db.session, current_user, unit,
            institution=db.session.get(Institution, form.institution.data) or abort(400),
            **{name: getattr(form, name).data or "" for name in organisation.UNIT_FIELDS})):
        flash(_("Unit %(code)s saved.", code=unit.code), "success")
        return redirect(url_for("units.index"))
    return render_template("practice/unit_form.html", form=form, unit=unit), form_status(form)


@bp.get("/mentors")
@login_required
def mentors() -> str:
    _manager()
    on = today()
    loads = {load.mentor.id: load for unit in organisation.unit_loads(db.session, on) for load in unit.mentors}
    return render_template("practice/mentors.html", rows=organisation.mentors_with_profiles(db.session), loads=loads,
                           today=on, soon=on + dt.timedelta(days=60))


@bp.route("/mentors/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_mentor(user_id: int) -> Response | tuple[str, int]:
    _manager()
    mentor = db.get_or_404(User, user_id)
    if mentor.role is not Role.MENTOR:
        abort(404)
    profile = mentor.mentor_profile
    form = MentorForm()
    form.unit.choices = _unit_choices()
    if request.method == "GET":
        form.unit.data = mentor.unit_id
        if profile is not None:
            form.capacity.data, form.accreditation_expires_on.data = profile.capacity, profile.accreditation_expires_on
    if form.validate_on_submit() and written(form, "capacity", lambda: organisation.set_mentor_profile(
            db.session, mentor, capacity=form.capacity.data, actor=current_user,
            accreditation_expires_on=form.accreditation_expires_on.data,
            home_unit=db.session.get(TrainingUnit, form.unit.data) or abort(400))):
        flash(_("Mentor %(name)s saved.", name=mentor.full_name), "success")
        return redirect(url_for("units.mentors"))
    return render_template("practice/mentor_form.html", form=form, mentor=mentor), form_status(form)


@bp.get("/placements")
@login_required
def placements() -> str:
    _manager()
    on = today()
    show = request.args.get("show", "current")
    query = select(Placement).options(joinedload(Placement.cadet), joinedload(Placement.mentor),
                                      joinedload(Placement.unit), joinedload(Placement.previous))
    if show == "past":
        query = query.where(Placement.ends_on < on).order_by(Placement.ends_on.desc()).limit(500)
    else:
        show = "current"
        query = query.where(Placement.ends_on >= on).order_by(Placement.starts_on, Placement.id)
    unplaced = sorted_lt(db.session.scalars(select(User).where(
        User.role == Role.CADET, User.active.is_(True),
        ~select(Placement.id).where(Placement.cadet_id == User.id, Placement.ends_on >= on).exists())),
        key=lambda person: person.full_name)
    return render_template("practice/placements.html", placements=db.session.scalars(query).unique().all(), show=show,
                           today=on, unplaced=unplaced)


def _placement_form() -> PlacementForm:
    form = PlacementForm()
    cadets = sorted_lt(db.session.scalars(select(User).where(User.role == Role.CADET, User.active.is_(True))),
                       key=lambda person: person.full_name)
    form.cadet.choices = [SelectChoice(c.id, f"{c.full_name} ({c.username})") for c in cadets]
    form.mentor.choices = _mentor_choices()
    form.unit.choices = _unit_choices()
    return form


@bp.route("/placements/new", methods=["GET", "POST"])
@login_required
def new_placement() -> Response | tuple[str, int]:
    _manager()
    form = _placement_form()
    if request.method == "GET":
        if request.args.get("cadet", "").isdigit():
            form.cadet.data = int(request.args["cadet"])
        form.starts_on.data = form.starts_on.data or today()
    if form.validate_on_submit():
        cadet, mentor = db.session.get(User, form.cadet.data), db.session.get(User, form.mentor.data)
        unit = db.session.get(TrainingUnit, form.unit.data)
        if cadet is None or mentor is None or unit is None:
            abort(400)
        if written(form, "mentor", lambda: organisation.create_placement(
                db.session, current_user, cadet=cadet, mentor=mentor, unit=unit,
                starts_on=form.starts_on.data, ends_on=form.ends_on.data)):
            flash(_("%(cadet)s placed with %(mentor)s.", cadet=cadet.full_name, mentor=mentor.full_name), "success")
            return redirect(url_for("units.placements"))
    return render_template("practice/placement_form.html", form=form), form_status(form)


def _placement(placement_id: int) -> Placement:
    return db.get_or_404(Placement, placement_id)


def _render_change(placement: Placement, reassign: ReassignForm, end: EndPlacementForm,
                   status: int = 200) -> tuple[str, int]:
    history = organisation.placement_history(db.session, placement.cadet)
    return render_template("practice/placement_change.html", placement=placement, reassign=reassign, end=end,
                           history=history, today=today()), status


def _reassign_form() -> ReassignForm:
    form = ReassignForm(prefix="r")
    form.mentor.choices = _mentor_choices()
    form.unit.choices = _unit_choices()
    return form


@bp.route("/placements/<int:placement_id>/reassign", methods=["GET", "POST"])
@login_required
def reassign_placement(placement_id: int) -> Response | tuple[str, int]:
    _manager()
    placement = _placement(placement_id)
    form = _reassign_form()
    end = EndPlacementForm(prefix="e", formdata=None)
    if request.method == "GET":
        form.unit.data, form.from_day.data = placement.unit_id, max(today(), placement.starts_on + dt.timedelta(days=1))
        end.last_day.data = today()
        return _render_change(placement, form, end)
    if form.validate_on_submit():
        mentor, unit = db.session.get(User, form.mentor.data), db.session.get(TrainingUnit, form.unit.data)
        if mentor is None or unit is None:
            abort(400)
        try:
            successor = organisation.reassign_placement(db.session, current_user, placement, mentor=mentor, unit=unit,
                                                        from_day=form.from_day.data, reason=form.reason.data,
                                                        today=today())
            db.session.commit()
            flash(_("%(cadet)s continues with %(mentor)s from %(day)s. The earlier placement stays in the history.",
                    cadet=successor.cadet.full_name, mentor=mentor.full_name, day=successor.starts_on.isoformat()),
                  "success")
            return redirect(url_for("units.placements"))
        except OperationError as problem:
            db.session.rollback()
            show_problem(form, problem, "mentor")
            return _render_change(placement, form, end, problem.status_code)
    return _render_change(placement, form, end, 400)


@bp.post("/placements/<int:placement_id>/end")
@login_required
def end_placement(placement_id: int) -> Response | tuple[str, int]:
    _manager()
    placement = _placement(placement_id)
    form = EndPlacementForm(prefix="e")
    reassign = _reassign_form()
    reassign.process(formdata=None)
    reassign.mentor.choices, reassign.unit.choices = _mentor_choices(), _unit_choices()
    if form.validate_on_submit():
        if written(form, "last_day", lambda: organisation.end_placement_early(
                db.session, current_user, placement, last_day=form.last_day.data, reason=form.reason.data,
                today=today())):
            flash(_("The placement now ends on %(day)s.", day=placement.ends_on.isoformat()), "success")
            return redirect(url_for("units.placements"))
        return _render_change(placement, reassign, form, form_status(form))
    return _render_change(placement, reassign, form, 400)
