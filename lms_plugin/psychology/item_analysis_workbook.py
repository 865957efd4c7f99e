"""The item analysis workbook: reliability per subscale, item statistics, distractors, DIF.

The builder takes plain rows (tuples of cells) and translated labels; :func:`rows_from_analysis`
turns the psychologist's :class:`~lms_plugin.psychology.operations.ItemAnalysis` into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from lms_plugin.web.excel import add_about_sheet, write_table

Row = Sequence[Any]


@dataclass(frozen=True)
class ItemAnalysisRows:
    # subscale, title, people, items, alpha, CI low, CI high, omega, SEM, mean score, SD, note
    reliability: list[Row] = field(default_factory=list)
    # item, subscale, type, question, answered, mean, SD, difficulty, r_drop, alpha if deleted, flags
    items: list[Row] = field(default_factory=list)
    # item, option, option text, key?, chosen by, share, point-biserial, flags of the item
    distractors: list[Row] = field(default_factory=list)
    # item, n reference, n focal, odds ratio, delta, p, category, favours
    dif: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class ItemAnalysisLabels:
    """Translated sheet names and headers, so the builder stays free of the web layer."""

    reliability: str
    items: str
    distractors: str
    dif: str
    subscale: str
    people: str
    n_items: str
    alpha: str
    alpha_low: str
    alpha_high: str
    omega: str
    sem: str
    score_mean: str
    score_sd: str
    note: str
    item: str
    kind: str
    stem: str
    answered: str
    mean: str
    sd: str
    difficulty: str
    r_drop: str
    alpha_if_deleted: str
    flags: str
    option: str
    option_text: str
    is_key: str
    count: str
    proportion: str
    point_biserial: str
    n_reference: str
    n_focal: str
    odds_ratio: str
    delta: str
    p_value: str
    category: str
    favours: str
    yes: str
    about_title: str
    about_sheet: str
    about: Sequence[tuple[str, str]]


def _number_format(sheet: Worksheet, columns: Sequence[int], pattern: str = "0.000") -> None:
    for column in columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = pattern


def item_analysis_workbook(rows: ItemAnalysisRows, labels: ItemAnalysisLabels) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = labels.reliability[:31]
    write_table(sheet, [labels.subscale, labels.subscale, labels.people, labels.n_items, labels.alpha,
                        labels.alpha_low, labels.alpha_high, labels.omega, labels.sem, labels.score_mean,
                        labels.score_sd, labels.note],
                rows.reliability, [10, 28, 10, 8, 10, 12, 12, 12, 12, 12, 12, 40])
    _number_format(sheet, range(5, 12))

    sheet = workbook.create_sheet(labels.items[:31])
    write_table(sheet, [labels.item, labels.subscale, labels.kind, labels.stem, labels.answered, labels.mean,
                        labels.sd, labels.difficulty, labels.r_drop, labels.alpha_if_deleted, labels.flags],
                rows.items, [10, 10, 18, 60, 10, 10, 10, 12, 14, 14, 50])
    _number_format(sheet, range(6, 11))

    sheet = workbook.create_sheet(labels.distractors[:31])
    write_table(sheet, [labels.item, labels.option, labels.option_text, labels.is_key, labels.count,
                        labels.proportion, labels.point_biserial, labels.flags],
                ([*row[:3], labels.yes if row[3] else "", *row[4:]] for row in rows.distractors),
                [10, 8, 60, 8, 10, 10, 16, 50])
    _number_format(sheet, [6, 7])

    sheet = workbook.create_sheet(labels.dif[:31])
    write_table(sheet, [labels.item, labels.n_reference, labels.n_focal, labels.odds_ratio, labels.delta,
                        labels.p_value, labels.category, labels.favours],
                rows.dif, [10, 14, 14, 14, 12, 10, 12, 16])
    _number_format(sheet, [4, 5, 6])

    add_about_sheet(workbook, labels.about_sheet, labels.about_title, list(labels.about))
    return workbook


def rows_from_analysis(analysis: Any, flag_label: Callable[[str], str]) -> ItemAnalysisRows:
    """Plain rows from an :class:`~lms_plugin.psychology.operations.ItemAnalysis`."""
    def flags(codes: Sequence[str]) -> str:
        return "; ".join(flag_label(code) for code in codes)

    favoured = {"reference": analysis.dif_reference_label or "", "focal": analysis.dif_focal_label or ""}
    return ItemAnalysisRows(
        reliability=[(s.subscale, s.title, s.n_persons, s.n_items, s.alpha, s.alpha_low, s.alpha_high, s.omega,
                      s.sem, s.score_mean, s.score_sd, s.note or "") for s in analysis.scales],
        items=[(i.item, i.subscale, i.kind, i.stem, i.n, i.mean, i.sd, i.difficulty, i.r_drop, i.alpha_if_deleted,
                flags(i.flags)) for i in analysis.items],
        distractors=[(d.item, o.option, o.text, o.is_key, o.count, o.proportion, o.point_biserial, flags(d.flags))
                     for d in analysis.distractors for o in d.options],
        dif=[(r.item, r.n_reference, r.n_focal, r.odds_ratio, r.delta, r.p_value, r.category,
              favoured.get(r.favours or "", "")) for r in analysis.dif],
    )
