"""A cohort's test results workbook: each cadet's scores against a norm group, and the bands in a chart.

The builder takes plain rows and translated labels; :func:`rows_from_results` turns the
psychologist's :class:`~lms_plugin.psychology.operations.CohortResults` into them. The results
sheet has one row per cadet and subscale, so that filters and pivot tables work on it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference

from lms_plugin.web.excel import add_about_sheet, write_table

Row = Sequence[Any]


@dataclass(frozen=True)
class ResultsWorkbookRows:
    # cadet, username, status, attempts, subscale, score, raw, answered, items, z, T, percentile, stanine,
    # band (chosen norm group), band at submission
    results: list[Row] = field(default_factory=list)
    # subscale, one count per band, not scored, no result
    band_counts: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class ResultsWorkbookLabels:
    """Translated sheet names and headers, so the builder stays free of the web layer."""

    results: str
    bands: str
    cadet: str
    username: str
    status: str
    attempts: str
    subscale: str
    score: str
    raw: str
    answered: str
    items: str
    z: str
    t: str
    percentile: str
    stanine: str
    band: str
    band_at_submission: str
    band_titles: Sequence[str]
    not_scored: str
    no_result: str
    chart_title: str
    chart_axis: str
    about_title: str
    about_sheet: str
    about: Sequence[tuple[str, str]]


def results_workbook(rows: ResultsWorkbookRows, labels: ResultsWorkbookLabels) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = labels.results[:31]
    write_table(sheet, [labels.cadet, labels.username, labels.status, labels.attempts, labels.subscale, labels.score,
                        labels.raw, labels.answered, labels.items, labels.z, labels.t, labels.percentile,
                        labels.stanine, labels.band, labels.band_at_submission],
                rows.results, [28, 14, 16, 10, 28, 10, 10, 10, 8, 8, 8, 11, 9, 20, 20])
    for column, pattern in ((6, "0.000"), (7, "0.0"), (10, "0.00"), (11, "0.0"), (12, "0.0")):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = pattern

    sheet = workbook.create_sheet(labels.bands[:31])
    headers = [labels.subscale, *labels.band_titles, labels.not_scored, labels.no_result]
    count = write_table(sheet, headers, rows.band_counts, [28] + [16] * (len(headers) - 1))
    if count and labels.band_titles:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title, chart.y_axis.title = labels.chart_title, labels.chart_axis
        chart.add_data(Reference(sheet, min_col=2, max_col=1 + len(labels.band_titles), min_row=1, max_row=count + 1),
                       titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=count + 1))
        chart.width, chart.height = 18, 3 + 1.5 * count
        sheet.add_chart(chart, f"A{count + 3}")

    add_about_sheet(workbook, labels.about_sheet, labels.about_title, list(labels.about))
    return workbook


def rows_from_results(results: Any, subscales: Sequence[tuple[str, str]], band_codes: Sequence[str],
                      band_titles: Mapping[str, str], status_labels: Mapping[str, str]) -> ResultsWorkbookRows:
    """Plain rows from :class:`~lms_plugin.psychology.operations.CohortResults`.

    ``subscales`` is (code, title) in the instrument's order; ``band_codes`` the bands in order.
    """
    table: list[Row] = []
    counts = {code: dict.fromkeys([*band_codes, "not_scored", "no_result"], 0) for code, _ in subscales}
    for row in results.rows:
        for code, title in subscales:
            cell = row.cells.get(code)
            if row.sitting is None or cell is None:
                counts[code]["no_result"] += 1
                continue
            scored = cell.score is not None
            if not scored:
                counts[code]["not_scored"] += 1
            elif cell.band in counts[code]:
                counts[code][cell.band] += 1
            table.append((row.person.full_name, row.person.username, status_labels.get(row.status, row.status),
                          row.attempts, title, cell.score, cell.raw, cell.n_answered, cell.n_items, cell.z, cell.t,
                          cell.percentile, cell.stanine, band_titles.get(cell.band or "", ""),
                          band_titles.get(cell.stored_band or "", "")))
    band_counts = [(title, *counts[code].values()) for code, title in subscales]
    return ResultsWorkbookRows(results=table, band_counts=band_counts)
