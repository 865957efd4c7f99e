"""The cohort progress workbook: one row per cadet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from openpyxl import Workbook

from lms_plugin.web.excel import add_about_sheet, write_table


@dataclass(frozen=True)
class SubscaleColumn:
    code: str
    title: str


@dataclass(frozen=True)
class CohortRow:
    full_name: str
    username: str
    unit: str
    mentor: str
    bands: dict[str, str] = field(default_factory=dict)          # subscale code -> band title
    t_scores: dict[str, float | None] = field(default_factory=dict)  # only for viewers with raw access
    tasks_achieved: int = 0
    tasks_total: int = 0
    modules_completed: int = 0
    modules_total: int = 0
    course_percent: float = 0.0


@dataclass(frozen=True)
class CohortLabels:
    """Translated header texts, so the builder stays free of the web layer."""

    sheet: str
    cadet: str
    username: str
    unit: str
    mentor: str
    band: str
    t_score: str
    tasks_achieved: str
    tasks_total: str
    modules_completed: str
    course_percent: str
    about_title: str
    about_sheet: str
    about: Sequence[tuple[str, str]]


def cohort_workbook(rows: Sequence[CohortRow], subscales: Sequence[SubscaleColumn], labels: CohortLabels,
                    include_t_scores: bool) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = labels.sheet[:31]
    headers = [labels.cadet, labels.username, labels.unit, labels.mentor]
    for subscale in subscales:
        headers.append(f"{subscale.title}: {labels.band}")
        if include_t_scores:
            headers.append(f"{subscale.title}: {labels.t_score}")
    headers += [labels.tasks_achieved, labels.tasks_total, labels.modules_completed, labels.course_percent]

    def cells(row: CohortRow) -> list[object]:
        values: list[object] = [row.full_name, row.username, row.unit, row.mentor]
        for subscale in subscales:
            values.append(row.bands.get(subscale.code, ""))
            if include_t_scores:
                values.append(row.t_scores.get(subscale.code))
        values += [row.tasks_achieved, row.tasks_total, row.modules_completed, round(row.course_percent, 1)]
        return values

    widths = [28, 14, 30, 26] + [18] * (len(headers) - 8) + [16, 14, 16, 14]
    write_table(sheet, headers, (cells(row) for row in rows), widths)
    percent_column = len(headers)
    for (cell,) in sheet.iter_rows(min_row=2, min_col=percent_column, max_col=percent_column):
        cell.number_format = "0.0"
    add_about_sheet(workbook, labels.about_sheet, labels.about_title, list(labels.about))
    return workbook
