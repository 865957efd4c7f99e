"""The psychologist's pages (Capability.VIEW_RAW_SCORES): norm groups, a cohort's results in standard
scores, item analysis with its Excel export. Every page shows raw data, so every page is logged
(by the operations it calls)."""

from __future__ import annotations

import io
import re

from flask import Blueprint, abort, g, jsonify, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms_plugin.core.base import utcnow
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.clock import today
from lms_plugin.extensions import db
from lms_plugin.psychology import operations as psychology
from lms_plugin.psychology.item_analysis_workbook import ItemAnalysisLabels, item_analysis_workbook, rows_from_analysis
from lms_plugin.psychology.results_workbook import ResultsWorkbookLabels, results_workbook, rows_from_results
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import InstrumentRecord, TestAssignment
from lms_plugin.web.excel import timestamp, to_bytes
from lms_plugin.web.pages import language, localised
from psychometrics.instrument import localise

bp = Blueprint("psychology", __name__, url_prefix="/psychology", template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _psychologist() -> None:
    require(current_user, Capability.VIEW_RAW_SCORES)
    g.no_store = True  # raw data stays out of shared caches and the browser's history cache


@bp.get("/")
@login_required
def index() -> str:
    _psychologist()
    records = db.session.scalars(select(InstrumentRecord).order_by(InstrumentRecord.code,
                                                                   InstrumentRecord.version.desc())).all()
    assignments = db.session.scalars(select(TestAssignment).order_by(TestAssignment.opens_at.desc())).all()
    return render_template("psychology/index.html", records=records, assignments=assignments)


@bp.get("/assignments/<int:assignment_id>/results")
@login_required
def cohort_results(assignment_id: int) -> str:
    _psychologist()
    assignment = db.get_or_404(TestAssignment, assignment_id)
    results = psychology.cohort_results(db.session, current_user, assignment, request.args.get("norm"), language())
    db.session.commit()  # the audit row
    instrument = assessments.instrument_of(assignment.instrument)
    lang = language()
    return render_template("psychology/results.html", results=results, assignment=assignment, instrument=instrument,
                           band_titles={band.code: localise(band.title, lang) for band in instrument.bands},
                           subscale_titles={s.code: localise(s.title, lang) for s in instrument.subscales},
                           status_labels=assessments.SITTING_STATUS_LABELS)


@bp.get("/assignments/<int:assignment_id>/results.xlsx")
@login_required
def cohort_results_export(assignment_id: int) -> Response:
    """The cohort's results against the chosen norm group (``?norm=<key>``) as a workbook."""
    _psychologist()
    assignment = db.get_or_404(TestAssignment, assignment_id)
    lang = language()
    results = psychology.cohort_results(db.session, current_user, assignment, request.args.get("norm"), lang,
                                        action="psychometrics.cohort_results_exported")
    instrument = assessments.instrument_of(assignment.instrument)
    band_titles = {band.code: localise(band.title, lang) for band in instrument.bands}
    norm_label = next((c.label for c in results.norm_choices if c.key == results.norm_key), results.norm_key)
    rows = rows_from_results(results, [(s.code, localise(s.title, lang)) for s in instrument.subscales],
                             [band.code for band in instrument.bands], band_titles,
                             {key: str(label) for key, label in assessments.SITTING_STATUS_LABELS.items()})
    record = assignment.instrument
    labels = ResultsWorkbookLabels(
        results=_("Results"), bands=_("Bands"), cadet=_("Cadet"), username=_("Username"), status=_("Status"),
        attempts=_("Attempts"), subscale=_("Subscale"), score=_("Score"), raw=_("Raw"), answered=_("Answered"),
        items=_("Items"), z="z", t="T", percentile=_("Percentile"), stanine=_("Stanine"), band=_("Band"),
        band_at_submission=_("Band at submission"), band_titles=list(band_titles.values()),
        not_scored=_("Not scored"), no_result=_("No result"),
        chart_title=_("Bands by subscale against %(group)s", group=norm_label), chart_axis=_("Cadets"),
        about_title=_("About this workbook"), about_sheet=_("About"),
        about=[
            (_("Test"), f"{record.code} v{record.version} – {localised(record, 'title')}"),
            (_("Cohort"), assignment.cohort.code),
            (_("Norm group"), str(norm_label)),
            (_("Method"), _("Each cadet's latest submitted attempt. z = (score − mean) / SD of the norm group, "
                            "T = 50 + 10z; percentile ranks count half of the equal scores; stanines follow the "
                            "4-7-12-17-20-17-12-7-4 percent split; bands by the test's T-score cut-offs. “Band at "
                            "submission” is the band given against the assignment's norm group when the cadet "
                            "submitted.")),
            (_("Confidentiality"), _("Raw psychometric scores: for the Training Centre psychologist only. "
                                     "This export is recorded in the audit log.")),
            (_("Generated"), timestamp(utcnow())),
            (_("Generated by"), current_user.full_name),
        ])
    db.session.commit()  # the audit row
    return _workbook_download(results_workbook(rows, labels),
                              f"test-results-{record.code}-{assignment.cohort.code}-{today().isoformat()}")


@bp.get("/instruments/<int:record_id>/norms")
@login_required
def norms(record_id: int) -> str:
    _psychologist()
    record = db.get_or_404(InstrumentRecord, record_id)
    rows = psychology.norm_overview(db.session, current_user, record, language())
    db.session.commit()
    instrument = assessments.instrument_of(record)
    groups = list(dict.fromkeys((row.group, row.label) for row in rows))
    return render_template("psychology/norms.html", record=record, rows=rows, instrument=instrument, groups=groups,
                           band_titles=[localise(b.title, language()) for b in instrument.bands if b.max_t is not None])


@bp.get("/instruments/<int:record_id>/norms.json")
@login_required
def norms_for_lms(record_id: int) -> Response:
    """A norm group's means and SDs for the Open edX block, as a download (``?group=<key>``)."""
    _psychologist()
    record = db.get_or_404(InstrumentRecord, record_id)
    group = request.args.get("group", "")
    document = psychology.norms_for_lms(db.session, current_user, record, group)
    if document is None:
        abort(404, _("There is no norm group %(group)s for this test.", group=group))
    db.session.commit()  # the audit row
    safe_group = re.sub(r"[^A-Za-z0-9_-]+", "-", group).strip("-")
    response = jsonify(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="norms-{record.code}-v{record.version}-{safe_group}.json"')
    return response


def _analysis(record_id: int, action: str) -> psychology.ItemAnalysis:
    record = db.get_or_404(InstrumentRecord, record_id)
    return psychology.item_analysis(
        db.session, current_user, record, source=request.args.get("source", psychology.ALL),
        dif_reference=request.args.get("reference") or None, dif_focal=request.args.get("focal") or None,
        language=language(), action=action)


@bp.get("/instruments/<int:record_id>/items")
@login_required
def item_analysis(record_id: int) -> str:
    _psychologist()
    analysis = _analysis(record_id, "psychometrics.item_analysis_viewed")
    db.session.commit()
    return render_template("psychology/items.html", analysis=analysis, record=analysis.record,
                           flag_label=psychology.flag_label, severe=psychology.SEVERE_FLAGS,
                           subscale_titles={s.subscale: s.title for s in analysis.scales})


@bp.get("/instruments/<int:record_id>/items.xlsx")
@login_required
def item_analysis_export(record_id: int) -> Response:
    _psychologist()
    analysis = _analysis(record_id, "psychometrics.item_analysis_exported")
    record = analysis.record
    rows = rows_from_analysis(analysis, psychology.flag_label)
    labels = ItemAnalysisLabels(
        reliability=_("Reliability"), items=_("Items"), distractors=_("Distractors"), dif=_("DIF"),
        subscale=_("Subscale"), people=_("People"), n_items=_("Items"), alpha=_("Alpha"),
        alpha_low=_("Alpha 95% CI, lower"), alpha_high=_("Alpha 95% CI, upper"), omega=_("Omega (total)"),
        sem=_("SEM (score units)"), score_mean=_("Mean score"), score_sd=_("SD of scores"), note=_("Note"),
        item=_("Item"), kind=_("Type"), stem=_("Question"), answered=_("Answered"), mean=_("Mean"), sd=_("SD"),
        difficulty=_("Difficulty"), r_drop=_("Corrected item–total r"), alpha_if_deleted=_("Alpha if deleted"),
        flags=_("Flags"), option=_("Option"), option_text=_("Option text"), is_key=_("Key"), count=_("Chosen by"),
        proportion=_("Share"), point_biserial=_("Point-biserial (rest score)"), n_reference=_("People, reference"),
        n_focal=_("People, focal"), odds_ratio=_("MH odds ratio"), delta=_("ETS delta"), p_value=_("p"),
        category=_("ETS category"), favours=_("Favours"), yes=_("yes"), about_title=_("About this workbook"),
        about_sheet=_("About"),
        about=[
            (_("Test"), f"{record.code} v{record.version} – {localised(record, 'title')}"),
            (_("People"), f"{analysis.source_label} ({analysis.n_persons})"),
            (_("DIF screen"), (f"{analysis.dif_reference_label} / {analysis.dif_focal_label}"
                               if analysis.dif else (analysis.dif_note or ""))),
            (_("Method"), _("Classical test theory as in R's psych: alpha with Feldt's 95% CI, omega total "
                            "from a one-factor minres solution, corrected item–total correlations and alpha if "
                            "deleted from pairwise covariances; distractors by option point-biserials with the "
                            "rest score; DIF by Mantel–Haenszel with the ETS A/B/C classification, matched on "
                            "the knowledge items' total.")),
            (_("Confidentiality"), _("Item-level data of identifiable people are not in this workbook, but it is "
                                     "sensitive: share it only with staff who need it.")),
            (_("Generated"), timestamp(utcnow())),
            (_("Generated by"), current_user.full_name),
        ])
    workbook = item_analysis_workbook(rows, labels)
    db.session.commit()
    return _workbook_download(workbook, f"item-analysis-{record.code}-v{record.version}-{today().isoformat()}")


def _workbook_download(workbook: Workbook, name: str) -> Response:
    return send_file(io.BytesIO(to_bytes(workbook)), mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx",
                     max_age=0)
