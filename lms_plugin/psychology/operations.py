"""What a psychologist sees: norm groups, a cohort's results in standard scores, item analysis.

Everything is computed with :mod:`psychometrics` from what is stored: the anonymised response
patterns of the norm sample (:class:`NormSampleResponse`), its subscale scores
(:class:`NormObservation`, the reference bands are given against) and the answers and results of
submitted sittings. Each function here returns raw data, so each checks
``Capability.VIEW_RAW_SCORES`` again and writes an audit row; the caller commits.

Groups of people are named by keys that also travel in URLs:

* ``sample:<group>`` — a norm group of the reference sample (e.g. ``sample:cadets``);
* ``sample:<group>:<year>`` — the part of it from one intake year;
* ``cohort:<id>`` — a cohort's latest submitted sittings of the instrument;
* ``all`` — everybody above (item analysis only).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.collation import sorted_lt
from lms_plugin.core.people import Cohort, Role, User
from lms_plugin.testing.models import (
    Answer,
    InstrumentRecord,
    NormObservation,
    NormSampleResponse,
    Sitting,
    SittingStatus,
    SubscaleResult,
    TestAssignment,
)
from lms_plugin.testing.operations import instrument_of, is_expired, norm_group_label
from psychometrics import (
    Instrument,
    ItemKind,
    NormTable,
    band_for_t,
    build_norm_tables,
    norms_document,
    score_instrument,
)
from psychometrics.instrument import localise

ALL = "all"

# Thresholds of the item flags (classical rules of thumb, e.g. Ebel & Frisbie 1991 for r_drop).
LOW_DISCRIMINATION = 0.20
EASY_MC, HARD_MC = 0.90, 0.20
MIN_PEOPLE = 5  # fewer people than this in a group: no reliability, no DIF

FLAG_LABELS: dict[str, Any] = {
    "negative_discrimination": _l("negative item–total correlation"),
    "low_discrimination": _l("low item–total correlation (< 0.20)"),
    "alpha_rises": _l("alpha rises without this item"),
    "very_easy": _l("very easy (p > 0.90)"),
    "very_hard": _l("very hard (p < 0.20)"),
    "no_variance": _l("no variance: left out"),
    "dif_B": _l("DIF: moderate (B)"),
    "dif_C": _l("DIF: large (C)"),
    "key_low_discrimination": _l("key discriminates poorly"),
    "distractor_positive": _l("a distractor attracts stronger candidates"),
    "distractor_rarely_chosen": _l("a distractor is chosen by under 5 %"),
}
SEVERE_FLAGS = frozenset({"negative_discrimination", "dif_C", "distractor_positive"})


# --------------------------------------------------------------------------- groups of people


@dataclass(frozen=True)
class ResponseGroup:
    key: str
    label: str
    n: int


@dataclass
class _Data:
    """Stored response patterns of one instrument version, by group key."""

    patterns: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def _sample_label(group: str, year: int | None) -> str:
    if year is None:
        return str(_l("Norm sample: %(group)s", group=norm_group_label(group)))
    return str(_l("Norm sample: %(group)s, intake %(year)s", group=norm_group_label(group), year=year))


def _cohort_label(cohort: Cohort) -> str:
    return str(_l("Cohort %(code)s", code=cohort.code))


def latest_submitted(session: Session, record: InstrumentRecord) -> dict[int, tuple[int, int]]:
    """person id → (sitting id, cohort id) of each person's latest submitted sitting of this instrument version."""
    latest = (select(func.max(Sitting.id)).join(TestAssignment, Sitting.assignment_id == TestAssignment.id)
              .where(TestAssignment.instrument_id == record.id, Sitting.status == SittingStatus.SUBMITTED)
              .group_by(Sitting.person_id))
    rows = session.execute(select(Sitting.person_id, Sitting.id, TestAssignment.cohort_id)
                           .join(TestAssignment, Sitting.assignment_id == TestAssignment.id)
                           .where(Sitting.id.in_(latest))).all()
    return {person_id: (sitting_id, cohort_id) for person_id, sitting_id, cohort_id in rows}


def _load(session: Session, record: InstrumentRecord) -> _Data:
    data = _Data()
    for group, year, responses in session.execute(
            select(NormSampleResponse.group, NormSampleResponse.intake_year, NormSampleResponse.responses)
            .where(NormSampleResponse.instrument_code == record.code,
                   NormSampleResponse.instrument_version == record.version)
            .order_by(NormSampleResponse.group, NormSampleResponse.intake_year, NormSampleResponse.id)):
        pooled = f"sample:{group}"
        if pooled not in data.labels:
            data.labels[pooled] = _sample_label(group, None)
        data.patterns.setdefault(pooled, []).append(dict(responses))
        if year is not None:
            key = f"{pooled}:{year}"
            if key not in data.labels:
                data.labels[key] = _sample_label(group, year)
            data.patterns.setdefault(key, []).append(dict(responses))
    latest = latest_submitted(session, record)
    by_sitting: dict[int, dict[str, str]] = defaultdict(dict)
    ids = [sitting_id for sitting_id, _ in latest.values()]
    for chunk in range(0, len(ids), 500):
        for sitting_id, item_id, value in session.execute(
                select(Answer.sitting_id, Answer.item_id, Answer.value)
                .where(Answer.sitting_id.in_(ids[chunk:chunk + 500]))):
            by_sitting[sitting_id][item_id] = value
    cohorts = {c.id: c for c in session.scalars(select(Cohort).where(
        Cohort.id.in_({cohort_id for _, cohort_id in latest.values()})).order_by(Cohort.starts_on.desc()))}
    for cohort in cohorts.values():
        key = f"cohort:{cohort.id}"
        data.patterns[key] = []
        data.labels[key] = _cohort_label(cohort)
    for sitting_id, cohort_id in sorted(latest.values()):
        data.patterns[f"cohort:{cohort_id}"].append(by_sitting.get(sitting_id, {}))
    return data


def _union(data: _Data) -> list[dict[str, str]]:
    """Everybody once: the pooled sample groups and every cohort (year parts are inside the pooled groups)."""
    people: list[dict[str, str]] = []
    for key, patterns in data.patterns.items():
        if key.startswith("cohort:") or (key.startswith("sample:") and key.count(":") == 1):
            people.extend(patterns)
    return people


def response_groups(session: Session, record: InstrumentRecord) -> list[ResponseGroup]:
    """Everybody, then the norm sample's groups and intake years, then cohorts — with their sizes."""
    data = _load(session, record)
    groups = [ResponseGroup(ALL, str(_l("Everybody: norm sample and cohorts")), len(_union(data)))]
    groups += [ResponseGroup(key, data.labels[key], len(patterns)) for key, patterns in data.patterns.items()]
    return groups


def _overlap(first: str, second: str) -> bool:
    if ALL in (first, second) or first == second:
        return True
    return first.startswith(second + ":") or second.startswith(first + ":")


# --------------------------------------------------------------------------- norm groups


def norm_tables_by_group(session: Session, record: InstrumentRecord) -> dict[str, dict[str, NormTable]]:
    """Norm tables per group key and subscale, built with :func:`psychometrics.build_norm_tables`.

    Pooled sample groups come from the stored reference scores (what bands are given against);
    intake years from scoring the stored patterns; cohorts from the stored results of their
    latest submitted sittings.
    """
    instrument = instrument_of(record)
    rows: list[dict[str, Any]] = [
        {"group": f"sample:{group}", "subscale": subscale, "score": score}
        for group, subscale, score in session.execute(
            select(NormObservation.group, NormObservation.subscale, NormObservation.score)
            .where(NormObservation.instrument_code == record.code))]
    for group, year, responses in session.execute(
            select(NormSampleResponse.group, NormSampleResponse.intake_year, NormSampleResponse.responses)
            .where(NormSampleResponse.instrument_code == record.code,
                   NormSampleResponse.instrument_version == record.version,
                   NormSampleResponse.intake_year.is_not(None))):
        for code, score in score_instrument(instrument, responses).items():
            rows.append({"group": f"sample:{group}:{year}", "subscale": code, "score": score.score})
    latest = latest_submitted(session, record)
    cohort_of = {sitting_id: cohort_id for sitting_id, cohort_id in latest.values()}
    for sitting_id, subscale, score in session.execute(
            select(SubscaleResult.sitting_id, SubscaleResult.subscale, SubscaleResult.score)
            .where(SubscaleResult.sitting_id.in_(list(cohort_of)), SubscaleResult.scored.is_(True))):
        rows.append({"group": f"cohort:{cohort_of[sitting_id]}", "subscale": subscale, "score": score})
    tables: dict[str, dict[str, NormTable]] = defaultdict(dict)
    for (group, subscale), table in build_norm_tables(rows, group_by="group").items():
        tables[group][subscale] = table
    return dict(tables)


def norm_group_choices(session: Session, record: InstrumentRecord,
                       tables: Mapping[str, Mapping[str, NormTable]] | None = None) -> list[ResponseGroup]:
    """The norm groups a psychologist can compare with, labelled, with their size (people)."""
    tables = norm_tables_by_group(session, record) if tables is None else tables
    cohorts = {f"cohort:{c.id}": c for c in session.scalars(select(Cohort))}
    choices = []
    for key in sorted(tables, key=lambda k: (not k.startswith("sample:"), k.count(":"), k)):
        if key.startswith("cohort:"):
            label = _cohort_label(cohorts[key]) if key in cohorts else key
        else:
            parts = key.split(":")
            label = _sample_label(parts[1], int(parts[2]) if len(parts) > 2 else None)
        choices.append(ResponseGroup(key, label, max(table.n for table in tables[key].values())))
    return choices


@dataclass(frozen=True)
class NormRow:
    group: str
    label: str
    subscale: str
    subscale_title: str
    n: int
    mean: float
    sd: float
    cutoffs: tuple[tuple[str, float], ...]  # (band title, highest score in that band) for each closed band


def norm_overview(session: Session, viewer: User, record: InstrumentRecord, language: str) -> list[NormRow]:
    """Every norm group × subscale: size, mean, SD and the instrument's band cut-offs in score units."""
    require(viewer, Capability.VIEW_RAW_SCORES)
    instrument = instrument_of(record)
    tables = norm_tables_by_group(session, record)
    rows = []
    for choice in norm_group_choices(session, record, tables):
        for subscale in instrument.subscales:
            table = tables[choice.key].get(subscale.code)
            if table is None:
                continue
            cutoffs = tuple((localise(band.title, language), table.mean + (band.max_t - 50.0) / 10.0 * table.sd)
                            for band in instrument.bands if band.max_t is not None)
            rows.append(NormRow(choice.key, choice.label, subscale.code, localise(subscale.title, language),
                                table.n, table.mean, table.sd, cutoffs))
    audit.record(session, viewer, "psychometrics.norms_viewed", record, groups=len(tables))
    return rows


def norms_for_lms(session: Session, viewer: User, record: InstrumentRecord, group: str) -> dict[str, Any] | None:
    """One norm group as the JSON the Open edX block reads: each subscale's mean, SD and size.

    Course authors paste it into the block's settings so that learners there get bands
    against the same group; no person's score leaves. None for an unknown group.
    """
    require(viewer, Capability.VIEW_RAW_SCORES)
    tables = norm_tables_by_group(session, record)
    if group not in tables:
        return None
    label = next(choice.label for choice in norm_group_choices(session, record, tables) if choice.key == group)
    audit.record(session, viewer, "psychometrics.norms_exported", record, group=group)
    return norms_document(record.code, record.version, str(label), tables[group])


# --------------------------------------------------------------------------- a cohort's results


@dataclass(frozen=True)
class ScoreCell:
    score: float | None
    raw: float | None
    n_answered: int
    n_items: int
    z: float | None = None
    t: float | None = None
    percentile: float | None = None
    stanine: int | None = None
    band: str | None = None          # under the chosen norm group
    stored_band: str | None = None   # the band given at submission (against the assignment's norm group)


@dataclass(frozen=True)
class PersonRow:
    person: User
    status: str                      # "not_started", "in_progress", "time_over", "submitted", "none"
    attempts: int
    sitting: Sitting | None          # the latest submitted sitting, if any
    cells: dict[str, ScoreCell]


@dataclass(frozen=True)
class SubscaleSummary:
    subscale: str
    title: str
    n: int
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class CohortResults:
    assignment: TestAssignment
    norm_key: str
    norm_choices: list[ResponseGroup]
    rows: list[PersonRow]
    summaries: list[SubscaleSummary]
    missing_norms: tuple[str, ...]   # subscales the chosen group has no table for


def cohort_results(session: Session, viewer: User, assignment: TestAssignment, norm_key: str | None,
                   language: str, action: str = "psychometrics.cohort_results_viewed") -> CohortResults:
    """Each cadet of the cohort: status, attempts and, for the latest submitted attempt, raw and standard scores.

    ``action`` names the audit entry (a page view, or an export)."""
    require(viewer, Capability.VIEW_RAW_SCORES)
    record = assignment.instrument
    instrument = instrument_of(record)
    tables = norm_tables_by_group(session, record)
    choices = norm_group_choices(session, record, tables)
    default = f"sample:{assignment.norm_group}"
    if norm_key not in tables:
        norm_key = default if default in tables else (choices[0].key if choices else default)
    chosen = tables.get(norm_key, {})
    members = sorted_lt(session.scalars(select(User).where(User.cohort_id == assignment.cohort_id,
                                                           User.role == Role.CADET)),
                        key=lambda person: person.full_name)
    sittings: dict[int, list[Sitting]] = defaultdict(list)
    for sitting in session.scalars(select(Sitting).where(Sitting.assignment_id == assignment.id)
                                   .order_by(Sitting.attempt)):
        sittings[sitting.person_id].append(sitting)
    rows = []
    per_subscale: dict[str, list[float]] = defaultdict(list)
    for person in members:
        attempts = sittings.get(person.id, [])
        latest = attempts[-1] if attempts else None
        submitted = next((s for s in reversed(attempts) if s.status is SittingStatus.SUBMITTED), None)
        if latest is None:
            status = "none"
        elif latest.status is SittingStatus.IN_PROGRESS and is_expired(latest):
            status = "time_over"
        else:
            status = latest.status.value
        cells: dict[str, ScoreCell] = {}
        if submitted is not None:
            for result in submitted.results:
                cells[result.subscale] = _cell(result, chosen.get(result.subscale), instrument)
                if result.scored and result.score is not None:
                    per_subscale[result.subscale].append(result.score)
        rows.append(PersonRow(person, status, len(attempts), submitted, cells))
    summaries = []
    for subscale in instrument.subscales:
        values = per_subscale.get(subscale.code, [])
        summaries.append(SubscaleSummary(
            subscale.code, localise(subscale.title, language), len(values),
            float(np.mean(values)) if values else None,
            float(np.std(values, ddof=1)) if len(values) > 1 else None))
    missing = tuple(s.code for s in instrument.subscales if s.code not in chosen)
    audit.record(session, viewer, action, assignment, norm_group=norm_key,
                 people=len(rows), with_results=sum(1 for row in rows if row.sitting is not None))
    return CohortResults(assignment, norm_key, choices, rows, summaries, missing)


def _cell(result: SubscaleResult, table: NormTable | None, instrument: Instrument) -> ScoreCell:
    base = dict(score=result.score, raw=result.raw, n_answered=result.n_answered, n_items=result.n_items,
                stored_band=result.band)
    if not result.scored or result.score is None or table is None:
        return ScoreCell(**base)
    standard = table.standard_scores(result.score)
    band = band_for_t(standard.t, instrument.bands).code if instrument.bands else None
    return ScoreCell(**base, z=standard.z, t=standard.t, percentile=standard.percentile,
                     stanine=standard.stanine, band=band)


# --------------------------------------------------------------------------- item analysis


@dataclass(frozen=True)
class ScaleRow:
    subscale: str
    title: str
    n_persons: int
    n_items: int
    alpha: float | None = None
    alpha_low: float | None = None
    alpha_high: float | None = None
    omega: float | None = None
    sem: float | None = None          # in the units of the reported subscale score
    score_mean: float | None = None
    score_sd: float | None = None
    note: str | None = None           # why no reliability could be given


@dataclass(frozen=True)
class ItemRow:
    item: str
    subscale: str
    kind: str
    stem: str
    n: int
    mean: float | None
    sd: float | None
    difficulty: float | None          # mean as a share of the item's score range: p-value for MC items
    r_drop: float | None              # corrected item–total correlation
    alpha_if_deleted: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OptionRow:
    option: str
    text: str
    is_key: bool
    count: int
    proportion: float | None
    point_biserial: float | None


@dataclass(frozen=True)
class DistractorRow:
    item: str
    key: str
    n: int
    difficulty: float | None
    flags: tuple[str, ...]
    options: tuple[OptionRow, ...]


@dataclass(frozen=True)
class DifRow:
    item: str
    n_reference: int
    n_focal: int
    odds_ratio: float | None
    delta: float | None
    p_value: float | None
    category: str
    favours: str | None               # "reference", "focal" or None

    @property
    def flagged(self) -> bool:
        return self.category in ("B", "C")


@dataclass(frozen=True)
class ItemAnalysis:
    record: InstrumentRecord
    source: str
    source_label: str
    n_persons: int
    scales: list[ScaleRow]
    items: list[ItemRow]
    distractors: list[DistractorRow]
    dif_reference: str | None
    dif_focal: str | None
    dif_reference_label: str | None
    dif_focal_label: str | None
    dif: list[DifRow]
    dif_note: str | None
    groups: list[ResponseGroup]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def item_analysis(session: Session, viewer: User, record: InstrumentRecord, *, source: str = ALL,
                  dif_reference: str | None = None, dif_focal: str | None = None, language: str = "en",
                  action: str = "psychometrics.item_analysis_viewed") -> ItemAnalysis:
    """CTT per subscale and item, distractor analysis of the MC items, and a Mantel–Haenszel DIF screen."""
    from psychometrics import ctt  # heavier modules: imported on use
    from psychometrics import dif as dif_module
    from psychometrics.responses import choice_matrix, scored_matrix

    require(viewer, Capability.VIEW_RAW_SCORES)
    instrument = instrument_of(record)
    data = _load(session, record)
    groups = [ResponseGroup(ALL, str(_l("Everybody: norm sample and cohorts")), len(_union(data)))]
    groups += [ResponseGroup(key, data.labels[key], len(p)) for key, p in data.patterns.items()]
    labels = {group.key: group.label for group in groups}
    if source not in labels:
        source = ALL
    patterns = _union(data) if source == ALL else data.patterns[source]

    scales: list[ScaleRow] = []
    item_rows: dict[str, ItemRow] = {}
    all_scores = [score_instrument(instrument, pattern) for pattern in patterns]
    for subscale in instrument.subscales:
        title = localise(subscale.title, language)
        values = [s[subscale.code].score for s in all_scores if s[subscale.code].scored]
        score_mean = float(np.mean(values)) if values else None
        score_sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
        matrix, ids = scored_matrix(instrument, patterns, subscale.code)
        counts = (~np.isnan(matrix)).sum(axis=0)
        with np.errstate(invalid="ignore"):
            variances = np.array([np.nanvar(matrix[:, j]) if counts[j] > 1 else 0.0 for j in range(len(ids))])
        keep = [j for j in range(len(ids)) if counts[j] >= 3 and variances[j] > 0]
        stats_by_id: dict[str, Any] = {}
        report = None
        note = None
        if len(patterns) < MIN_PEOPLE:
            note = str(_l("Too few people (%(n)d) for reliability.", n=len(patterns)))
        elif len(keep) < 2:
            note = str(_l("Too few items with variance for reliability."))
        else:
            try:
                report = ctt.item_analysis(matrix[:, keep], names=[ids[j] for j in keep], omega=len(keep) >= 3)
                stats_by_id = {row.item: row for row in report.items}
            except ValueError as problem:
                note = str(problem)
        alpha = report.alpha.alpha if report else None
        sem = None
        if alpha is not None and score_sd is not None:
            sem = _finite(score_sd * math.sqrt(max(0.0, 1.0 - alpha)))
        scales.append(ScaleRow(
            subscale.code, title, len(patterns), len(ids),
            alpha=_finite(alpha), alpha_low=_finite(report.alpha.lower) if report else None,
            alpha_high=_finite(report.alpha.upper) if report else None,
            omega=_finite(report.omega.omega) if report and report.omega else None,
            sem=sem,
            score_mean=score_mean, score_sd=score_sd, note=note))
        for j, item_id in enumerate(ids):
            item = instrument.item(item_id)
            column = matrix[:, j]
            answered = column[~np.isnan(column)]
            mean = float(answered.mean()) if answered.size else None
            span = item.max_score - item.min_score
            difficulty = (mean - item.min_score) / span if mean is not None and span > 0 else None
            row = stats_by_id.get(item_id)
            flags: list[str] = []
            if row is None:
                if j not in keep:
                    flags.append("no_variance")
            else:
                if row.r_drop < 0:
                    flags.append("negative_discrimination")
                elif row.r_drop < LOW_DISCRIMINATION:
                    flags.append("low_discrimination")
                if (alpha is not None and math.isfinite(row.alpha_if_deleted)
                        and row.alpha_if_deleted > alpha + 0.001):
                    flags.append("alpha_rises")
            if item.kind is ItemKind.MULTIPLE_CHOICE and difficulty is not None and answered.size >= MIN_PEOPLE:
                if difficulty > EASY_MC:
                    flags.append("very_easy")
                elif difficulty < HARD_MC:
                    flags.append("very_hard")
            item_rows[item_id] = ItemRow(
                item_id, subscale.code, item.kind.value, localise(item.stem, language), int(answered.size), mean,
                float(answered.std(ddof=1)) if answered.size > 1 else None, difficulty,
                _finite(row.r_drop) if row else None, _finite(row.alpha_if_deleted) if row else None, tuple(flags))

    mc_items = [item for item in instrument.items if item.kind is ItemKind.MULTIPLE_CHOICE]
    distractors: list[DistractorRow] = []
    if mc_items and patterns:
        choices, ids = choice_matrix(instrument, patterns)
        columns = [ids.index(item.id) for item in mc_items]
        keys = [next(o.key for o in item.options if o.score > 0) for item in mc_items]
        analysed = ctt.distractor_analysis(choices[:, columns], keys,
                                           options=[[o.key for o in item.options] for item in mc_items],
                                           names=[item.id for item in mc_items])
        for item, result in zip(mc_items, analysed):
            texts = {o.key: localise(o.text, language) for o in item.options}
            distractors.append(DistractorRow(
                result.item, result.key, result.n, _finite(result.difficulty), result.flags,
                tuple(OptionRow(o.option, texts.get(o.option, ""), o.is_key, o.count, _finite(o.proportion),
                                _finite(o.point_biserial)) for o in result.options)))
            if result.flags:
                existing = item_rows[item.id]
                item_rows[item.id] = _with_flags(existing, result.flags)

    dif_rows: list[DifRow] = []
    dif_note = None
    if dif_reference is None:
        dif_reference = next((g.key for g in groups if g.key.startswith("sample:") and g.key.count(":") == 1), None)
    if dif_focal is None:
        dif_focal = next((g.key for g in groups if g.key.startswith("cohort:") and g.n), None)
    if dif_reference not in labels or dif_focal not in labels:
        dif_note = str(_l("Choose two groups to compare."))
    elif _overlap(dif_reference, dif_focal):
        dif_note = str(_l("The two groups overlap; choose two separate groups."))
    elif not mc_items:
        dif_note = str(_l("This test has no multiple-choice items to screen."))
    else:
        reference = data.patterns[dif_reference] if dif_reference != ALL else []
        focal = data.patterns[dif_focal] if dif_focal != ALL else []
        mc_ids = [item.id for item in mc_items]
        both = reference + focal
        matrix = np.full((len(both), len(mc_items)), np.nan)
        for col, item in enumerate(mc_items):
            for row, pattern in enumerate(both):
                key = pattern.get(item.id)
                if key:
                    matrix[row, col] = item.score_response(key)
        complete = ~np.isnan(matrix).any(axis=1)
        n_ref = int(complete[:len(reference)].sum())
        n_focal = int(complete[len(reference):].sum())
        if min(n_ref, n_focal) < MIN_PEOPLE:
            dif_note = str(_l("Too few people who answered every knowledge item (%(reference)d and %(focal)d) "
                              "for a DIF screen.", reference=n_ref, focal=n_focal))
        else:
            labels_per_row = ["reference"] * len(reference) + ["focal"] * len(focal)
            for result in dif_module.mantel_haenszel(matrix, labels_per_row, "reference", "focal", names=mc_ids):
                row = DifRow(result.item, result.n_reference, result.n_focal, _finite(result.odds_ratio),
                             _finite(result.delta), _finite(result.p_value), result.category, result.favours)
                dif_rows.append(row)
                if row.flagged:
                    item_rows[result.item] = _with_flags(item_rows[result.item], (f"dif_{result.category}",))

    ordered = [item_rows[item.id] for subscale in instrument.subscales for item in instrument.items_in(subscale.code)]
    audit.record(session, viewer, action, record, source=source, people=len(patterns),
                 dif_reference=dif_reference, dif_focal=dif_focal)
    return ItemAnalysis(record, source, labels[source], len(patterns), scales, ordered, distractors,
                        dif_reference, dif_focal, labels.get(dif_reference or ""), labels.get(dif_focal or ""),
                        dif_rows, dif_note, groups)


def _with_flags(row: ItemRow, extra: Sequence[str]) -> ItemRow:
    flags = tuple(dict.fromkeys((*row.flags, *extra)))
    return ItemRow(row.item, row.subscale, row.kind, row.stem, row.n, row.mean, row.sd, row.difficulty, row.r_drop,
                   row.alpha_if_deleted, flags)


def flag_label(code: str) -> str:
    return str(FLAG_LABELS.get(code, code))
