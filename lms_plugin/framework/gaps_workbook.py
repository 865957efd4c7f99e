"""The competency gap workbook: person × competency levels and gaps, and the competencies
with the most people below their requirement. Built from plain rows, never ORM queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from openpyxl import Workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.utils import get_column_letter

from lms_plugin.web.excel import add_about_sheet, write_table


@dataclass(frozen=True)
class GapColumn:
    code: str
    title: str


@dataclass(frozen=True)
class GapRow:
    full_name: str
    username: str
    role: str
    levels: dict[str, int | None] = field(default_factory=dict)     # competency code -> level (None: no level)
    required: dict[str, int | None] = field(default_factory=dict)   # competency code -> required level


@dataclass(frozen=True)
class BelowRow:
    code: str
    title: str
    below: int
    required: int


@dataclass(frozen=True)
class GapLabels:
    """Translated texts, so the builder stays free of the web layer."""

    gaps_sheet: str
    levels_sheet: str
    competencies_sheet: str
    person: str
    username: str
    role: str
    below_total: str
    code: str
    title: str
    people_below: str
    people_required: str
    about_title: str
    about_sheet: str
    about: Sequence[tuple[str, str]]


def _gap(row: GapRow, code: str) -> int | None:
    need = row.required.get(code)
    if need is None:
        return None
    return max(need - (row.levels.get(code) or 0), 0)


def gap_workbook(rows: Sequence[GapRow], columns: Sequence[GapColumn], summary: Sequence[BelowRow],
                 labels: GapLabels) -> Workbook:
    """``summary`` lists the competencies in the order to show them (most people below first)."""
    workbook = Workbook()
    codes = [column.code for column in columns]
    people = [labels.person, labels.username, labels.role]
    widths = [28, 14, 14] + [8] * len(codes)

    gaps = workbook.active
    gaps.title = labels.gaps_sheet[:31]
    write_table(gaps, people + codes + [labels.below_total],
                ([row.full_name, row.username, row.role, *(_gap(row, code) for code in codes),
                  sum(1 for code in codes if (_gap(row, code) or 0) > 0)] for row in rows),
                widths + [12], freeze="D2")
    if rows and codes:
        area = f"D2:{get_column_letter(3 + len(codes))}{len(rows) + 1}"
        gaps.conditional_formatting.add(area, ColorScaleRule(start_type="num", start_value=0, start_color="DFF0E3",
                                                             mid_type="num", mid_value=1, mid_color="FDE2C8",
                                                             end_type="num", end_value=3, end_color="D9622B"))

    levels = workbook.create_sheet(labels.levels_sheet[:31])
    write_table(levels, people + codes,
                ([row.full_name, row.username, row.role, *(row.levels.get(code) for code in codes)] for row in rows),
                widths, freeze="D2")

    competencies = workbook.create_sheet(labels.competencies_sheet[:31])
    write_table(competencies, [labels.code, labels.title, labels.people_below, labels.people_required],
                ([item.code, item.title, item.below, item.required] for item in summary), [12, 60, 16, 16])
    add_about_sheet(workbook, labels.about_sheet, labels.about_title, list(labels.about))
    return workbook
