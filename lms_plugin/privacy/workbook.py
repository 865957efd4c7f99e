"""A person's data as a workbook: one sheet per kind of record, the columns as stored."""

from __future__ import annotations

import json
from typing import Any, Mapping

from openpyxl import Workbook

from lms_plugin.web.excel import write_table


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def personal_data_workbook(data: Mapping[str, Any], titles: Mapping[str, str], about_title: str,
                           about_lines: list[tuple[str, Any]], empty: str) -> Workbook:
    """``data`` as ``personal_data`` gives it; ``titles`` names each section's sheet (at most 31 characters)."""
    workbook = Workbook()
    about = workbook.active
    about.title = about_title[:31]
    for label, value in about_lines:
        about.append([label, _cell(value)])
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 32, 60
    account = workbook.create_sheet(titles["account"][:31])
    write_table(account, ["", ""], ([key, _cell(value)] for key, value in data["account"].items()), widths=[24, 60])
    for key, title in titles.items():
        if key == "account" or key not in data or not isinstance(data[key], list):
            continue
        sheet = workbook.create_sheet(title[:31])
        rows = data[key]
        if not rows:
            sheet.append([empty])
            continue
        headers = list(rows[0])
        write_table(sheet, headers, ([_cell(row.get(h)) for h in headers] for row in rows))
    return workbook
