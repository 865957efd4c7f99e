"""Shared workbook conventions: header styling, frozen panes, filters, safe cells, an About sheet."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from lms_plugin.core.clock import SERVICE_TIMEZONE

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is stored as plain text instead."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_table(sheet: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Any]],
                widths: Sequence[int] | None = None, freeze: str = "B2") -> int:
    """Header row, data rows, frozen panes and an auto-filter over the whole range. Returns the row count."""
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    count = 0
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
        count += 1
    for index, header in enumerate(headers, start=1):
        width = widths[index - 1] if widths else max(10, min(40, len(str(header)) + 2))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    return count


def add_about_sheet(workbook: Workbook, name: str, title: str, lines: Sequence[tuple[str, Any]]) -> Worksheet:
    """The sheet that says what the workbook holds; ``name`` is its translated sheet name."""
    sheet = workbook.create_sheet(name[:31])
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=14)
    for row, (label, value) in enumerate(lines, start=3):
        sheet.cell(row=row, column=1, value=label).font = Font(bold=True)
        sheet.cell(row=row, column=2, value=safe_cell(value)).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 90
    return sheet


def to_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timestamp(moment: dt.datetime) -> str:
    """A stored UTC moment in the service's local (Vilnius) time, as every page shows it."""
    return moment.astimezone(SERVICE_TIMEZONE).strftime("%Y-%m-%d %H:%M")
