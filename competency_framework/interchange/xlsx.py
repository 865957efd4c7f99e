"""An Excel workbook of the framework that training centre staff can edit and import back.

Sheets: About (framework details and instructions), Framework (one row per node in tree
order), Scale (details, then one row per level), Roles (role profiles), Role profiles
(node × role matrix of required levels), Links (associations kept from other formats).
Imports read cells by their header names, so columns may be reordered; errors name the
sheet, row and column. Formulas are refused on import, and text cells that a spreadsheet
would run as a formula are prefixed with an apostrophe on export.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile
from typing import Any, Iterator

from competency_framework.interchange.cells import escape_cell, unescape_cell
from competency_framework.interchange.document import (
    DEFAULT_LIMITS,
    FrameworkDocument,
    LevelSpec,
    Limits,
    LinkSpec,
    Location,
    NodeSpec,
    Progress,
    RequirementSpec,
    RoleSpec,
    ScaleSpec,
    fail,
)
from competency_framework.models import NodeKind

ABOUT, FRAMEWORK, SCALE, ROLES, MATRIX, LINKS = "About", "Framework", "Scale", "Roles", "Role profiles", "Links"
FRAMEWORK_COLUMNS = ("Code", "Parent code", "Kind", "Title (EN)", "Title (LT)", "Description (EN)",
                     "Description (LT)", "Retired")
SCALE_COLUMNS = ("Value", "Code", "Title (EN)", "Title (LT)", "Descriptor (EN)", "Descriptor (LT)")
ROLE_COLUMNS = ("Code", "Title (EN)", "Title (LT)", "Description (EN)", "Description (LT)")
MATRIX_FIXED = ("Code", "Kind", "Title (EN)")
LINK_COLUMNS = ("Code", "Link type", "Target code", "Target identifier", "Target URI", "Target title")
ABOUT_FIELDS = (("Framework code", "code"), ("Version", "version"), ("Title (EN)", "title_en"),
                ("Title (LT)", "title_lt"), ("Description (EN)", "description_en"),
                ("Description (LT)", "description_lt"))
SCALE_FIELDS = (("Scale code", "code"), ("Title (EN)", "title_en"), ("Title (LT)", "title_lt"),
                ("Proficient level", "proficient_level"))
SCALE_HEADER_ROW = 6
INSTRUCTIONS = (
    "How to edit this workbook / Kaip redaguoti šį failą",
    "Framework: one row per area, competency or behavioural indicator, parents before or after children. "
    "Kind is area, competency or indicator. Parent code is empty for top-level rows.",
    "Modelis: viena eilutė kiekvienai sričiai, kompetencijai ar elgsenos rodikliui. Rūšis: area, competency "
    "arba indicator. Viršutinio lygio eilutėms tėvinis kodas paliekamas tuščias.",
    "Retired: leave empty for active rows; write a date (or 'yes') to retire a row. Never delete a row "
    "that people have evidence for: retire it.",
    "Nebenaudojama: aktyvioms eilutėms palikite tuščią; įrašykite datą (arba 'yes'), kad eilutė būtų "
    "nebenaudojama. Netrinkite eilučių, kurioms yra įrodymų.",
    "Scale: levels are numbered 1, 2, 3 … from lowest; the proficient level is the first level that "
    "counts as competent. Role profiles: a required level per node and role; empty means not required.",
    "Skalė: lygiai numeruojami 1, 2, 3 … nuo žemiausio. Pareigybių profiliai: reikalaujamas lygis; tuščias "
    "langelis reiškia, kad nereikalaujama.",
    "Import the file back with the framework import; nothing is changed unless the whole file is valid, "
    "and the error names the sheet, row and column to fix.",
    "Importuojant niekas nepakeičiama, kol visas failas nėra teisingas; klaidos pranešime nurodomas lapas, "
    "eilutė ir stulpelis.",
)


# --- writing -----------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    return escape_cell(value) if isinstance(value, str) else value


def write(doc: FrameworkDocument, progress: Progress | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    scale = doc.scale
    assert scale is not None
    book = Workbook()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def table(sheet: Any, header: tuple[str, ...] | list[str], rows: Iterator[list[Any]] | list[list[Any]],
              widths: dict[int, int], start: int = 1) -> int:
        for column, title in enumerate(header, start=1):
            sheet.cell(row=start, column=column, value=title).font = bold
        count = 0
        for count, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                sheet.cell(row=start + count, column=column, value=_cell(value))
        for column, width in widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.freeze_panes = sheet.cell(row=start + 1, column=1)
        if header:
            sheet.auto_filter.ref = f"A{start}:{get_column_letter(len(header))}{start + max(count, 1)}"
        return count

    about = book.active
    about.title = ABOUT
    about["A1"] = "Competency framework workbook / Kompetencijų modelio failas"
    about["A1"].font = Font(bold=True, size=14)
    values = {"code": doc.code, "version": doc.version or 1, "title_en": doc.title_en, "title_lt": doc.title_lt,
              "description_en": doc.description_en, "description_lt": doc.description_lt}
    for offset, (label, key) in enumerate(ABOUT_FIELDS):
        about.cell(row=3 + offset, column=1, value=label).font = bold
        about.cell(row=3 + offset, column=2, value=_cell(values[key])).alignment = wrap
    for offset, line in enumerate(INSTRUCTIONS):
        cell = about.cell(row=11 + offset, column=1, value=line)
        cell.font = bold if offset == 0 else Font()
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 100

    sheet = book.create_sheet(FRAMEWORK)
    total = len(doc.nodes)

    def node_rows() -> Iterator[list[Any]]:
        for i, node in enumerate(doc.nodes, start=1):
            if progress is not None and (i % 500 == 0 or i == total):
                progress(i, total)
            yield [node.code, node.parent_code or "", node.kind.value, node.title_en, node.title_lt,
                   node.description_en, node.description_lt,
                   node.retired_at.isoformat() if node.retired_at else ""]

    count = table(sheet, FRAMEWORK_COLUMNS, node_rows(), {1: 16, 2: 16, 3: 12, 4: 40, 5: 40, 6: 60, 7: 60, 8: 22})
    kinds = DataValidation(type="list", formula1='"area,competency,indicator"', allow_blank=False)
    kinds.add(f"C2:C{count + 1000}")
    sheet.add_data_validation(kinds)

    sheet = book.create_sheet(SCALE)
    scale_values = {"code": scale.code, "title_en": scale.title_en, "title_lt": scale.title_lt,
                    "proficient_level": scale.proficient_level}
    for offset, (label, key) in enumerate(SCALE_FIELDS):
        sheet.cell(row=1 + offset, column=1, value=label).font = bold
        sheet.cell(row=1 + offset, column=2, value=_cell(scale_values[key]))
    table(sheet, SCALE_COLUMNS, [[level.value, level.code, level.title_en, level.title_lt, level.descriptor_en,
                                  level.descriptor_lt] for level in scale.levels],
          {1: 18, 2: 16, 3: 24, 4: 24, 5: 60, 6: 60}, start=SCALE_HEADER_ROW)

    sheet = book.create_sheet(ROLES)
    table(sheet, ROLE_COLUMNS, [[role.code, role.title_en, role.title_lt, role.description_en, role.description_lt]
                                for role in doc.role_profiles], {1: 18, 2: 30, 3: 30, 4: 50, 5: 50})

    sheet = book.create_sheet(MATRIX)
    required = {role.code: {r.code: r.level for r in role.requirements} for role in doc.role_profiles}
    header = [*MATRIX_FIXED, *(role.code for role in doc.role_profiles)]
    count = table(sheet, header, [[node.code, node.kind.value, node.title_en,
                                   *(required[role.code].get(node.code) for role in doc.role_profiles)]
                                  for node in doc.nodes],
                  {1: 16, 2: 12, 3: 40} | {4 + i: 14 for i in range(len(doc.role_profiles))})
    if doc.role_profiles:
        levels = DataValidation(type="whole", operator="between", formula1="1", formula2=str(len(scale.levels)),
                                allow_blank=True)
        levels.add(f"D2:{get_column_letter(3 + len(doc.role_profiles))}{count + 1}")
        sheet.add_data_validation(levels)

    sheet = book.create_sheet(LINKS)
    table(sheet, LINK_COLUMNS, [[link.source_code, link.kind, link.target_code or "", link.target_identifier,
                                 link.target_uri, link.target_title] for link in doc.links],
          {1: 16, 2: 16, 3: 16, 4: 38, 5: 40, 6: 40})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading -----------------------------------------------------------------------------

def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise fail(Location(), "not an xlsx workbook (not a zip archive)") from None
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > limits.max_uncompressed:
            raise fail(Location(), f"the workbook unpacks to more than {limits.max_uncompressed // (1024 * 1024)} MB")
        if "xl/workbook.xml" not in archive.namelist():
            raise fail(Location(), "not an xlsx workbook (no xl/workbook.xml)")
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels", ".vml")):
                _refuse_document_type(archive, info)


def _refuse_document_type(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Office never writes a DTD, and one is how entity expansion and external entities get in.

    A DTD has to come before the root element, so reading each part up to that element is enough;
    defusedxml refuses the DTD as soon as the parser meets it.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    try:
        with archive.open(info) as part:
            for _event, _element in iterparse(part, events=("start",), forbid_dtd=True):
                break
    except DefusedXmlException:
        raise fail(Location(), f"the workbook part {info.filename} declares a DTD or entities, which "
                               "workbooks never need; it is refused") from None
    except (ParseError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
        raise fail(Location(), f"the workbook part {info.filename} is not well-formed XML") from None


class _Sheet:
    """Rows of one sheet as plain values, with header lookup and located errors."""

    def __init__(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        self.name = name
        self.rows = rows

    def at(self, row: int, column: str | None = None) -> Location:
        return Location(sheet=self.name, row=row, column=column)

    def header(self, row: int, wanted: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, int]:
        cells = self.rows[row - 1] if len(self.rows) >= row else ()
        found = {}
        for index, value in enumerate(cells):
            if isinstance(value, str) and value.strip():
                found.setdefault(value.strip().lower(), index)
        columns = {}
        for name in wanted:
            if name.lower() not in found:
                if name in optional:
                    continue
                raise fail(self.at(row, name), f"missing column {name!r}")
            columns[name] = found[name.lower()]
        return columns

    def value(self, row: int, index: int | None) -> Any:
        if index is None:
            return None
        cells = self.rows[row - 1]
        return cells[index] if index < len(cells) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return unescape_cell(str(value))


def _retired(value: Any, location: Location) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    text = str(value).strip()
    if text.lower() in ("yes", "y", "true", "x", "1", "taip"):
        return dt.datetime.now(dt.timezone.utc)
    if text.lower() in ("no", "n", "false", "0", "ne"):
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail(location, f"{text!r} is neither a date nor yes/no") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _load(data: bytes, limits: Limits) -> dict[str, _Sheet]:
    from openpyxl import load_workbook

    _check_zip(data, limits)
    with warnings.catch_warnings():
        # openpyxl warns about workbook features it drops (extensions, defined names); irrelevant here.
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as error:  # openpyxl raises many types for broken files
            raise fail(Location(), f"the workbook cannot be read: {error}") from None
    sheets: dict[str, _Sheet] = {}
    try:
        budget = limits.max_nodes + 100  # a node per row, plus headers and the scale
        for worksheet in book.worksheets:
            rows = []
            for number, row in enumerate(worksheet.iter_rows(), start=1):
                if number > budget:
                    raise fail(Location(sheet=worksheet.title, row=number), "too many rows")
                values = []
                for cell in row[:200]:
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                        column = getattr(cell, "column_letter", "?")
                        raise fail(Location(sheet=worksheet.title, row=number, column=column),
                                   "formulas are not allowed; type the value itself")
                    values.append(value)
                while values and values[-1] in (None, ""):
                    values.pop()
                rows.append(tuple(values))
            sheets[worksheet.title] = _Sheet(worksheet.title, rows)
    finally:
        book.close()
    return sheets


def _key_values(sheet: _Sheet, fields: tuple[tuple[str, str], ...], first: int, last: int) -> tuple[dict, dict]:
    values: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    labels = {label.lower(): key for label, key in fields}
    for row in range(first, min(last, len(sheet.rows)) + 1):
        label = sheet.value(row, 0)
        if isinstance(label, str) and label.strip().lower() in labels:
            key = labels[label.strip().lower()]
            values[key] = sheet.value(row, 1)
            locations[key] = sheet.at(row, "B")
    for label, key in fields:
        locations.setdefault(key, sheet.at(first, label))
    return values, locations


def read(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> FrameworkDocument:
    if len(data) > limits.max_bytes:
        raise fail(Location(), f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB")
    sheets = _load(data, limits)
    for name in (ABOUT, FRAMEWORK, SCALE):
        if name not in sheets:
            raise fail(Location(sheet=name), "missing sheet")
    about = sheets[ABOUT]
    values, locations = _key_values(about, ABOUT_FIELDS, 1, 10)
    version = values.get("version")
    doc = FrameworkDocument(
        code=_text(values.get("code")), title_en=_text(values.get("title_en")), title_lt=_text(values.get("title_lt")),
        description_en=_text(values.get("description_en")), description_lt=_text(values.get("description_lt")),
        version=int(version) if isinstance(version, (int, float)) and float(version).is_integer() else None,
        locs=locations | {"": about.at(3), "scale": Location(sheet=SCALE)})

    sheet = sheets[SCALE]
    values, locations = _key_values(sheet, SCALE_FIELDS, 1, SCALE_HEADER_ROW - 1)
    columns = sheet.header(SCALE_HEADER_ROW, SCALE_COLUMNS, optional=("Title (LT)", "Descriptor (EN)",
                                                                      "Descriptor (LT)"))
    levels = []
    for row in range(SCALE_HEADER_ROW + 1, len(sheet.rows) + 1):
        if not any(value not in (None, "") for value in sheet.rows[row - 1]):
            continue
        get = lambda name, r=row: sheet.value(r, columns.get(name))  # noqa: E731
        at = lambda name, r=row: sheet.at(r, name)  # noqa: E731
        levels.append(LevelSpec(
            value=get("Value"), code=_text(get("Code")), title_en=_text(get("Title (EN)")),
            title_lt=_text(get("Title (LT)")), descriptor_en=_text(get("Descriptor (EN)")),
            descriptor_lt=_text(get("Descriptor (LT)")),
            locs={"": at("Value"), "value": at("Value"), "code": at("Code"), "title_en": at("Title (EN)"),
                  "title_lt": at("Title (LT)"), "descriptor_en": at("Descriptor (EN)"),
                  "descriptor_lt": at("Descriptor (LT)")}))
    level_codes = {level.code: level.value for level in levels}
    doc.scale = ScaleSpec(code=_text(values.get("code")), title_en=_text(values.get("title_en")),
                          title_lt=_text(values.get("title_lt")), proficient_level=values.get("proficient_level"),
                          levels=levels, locs=locations | {"": sheet.at(1), "levels": sheet.at(SCALE_HEADER_ROW)})

    sheet = sheets[FRAMEWORK]
    columns = sheet.header(1, FRAMEWORK_COLUMNS, optional=("Title (LT)", "Description (EN)", "Description (LT)",
                                                           "Retired", "Kind"))
    for row in range(2, len(sheet.rows) + 1):
        if not any(value not in (None, "") for value in sheet.rows[row - 1]):
            continue
        get = lambda name, r=row: sheet.value(r, columns.get(name))  # noqa: E731
        at = lambda name, r=row: sheet.at(r, name)  # noqa: E731
        kind_text = _text(get("Kind")).strip().lower()
        try:
            kind = NodeKind(kind_text) if kind_text else None
        except ValueError:
            raise fail(at("Kind"), f"unknown kind {kind_text!r} (use area, competency or indicator)") from None
        doc.nodes.append(NodeSpec(
            code=_text(get("Code")), parent_code=_text(get("Parent code")).strip() or None, kind=kind,
            title_en=_text(get("Title (EN)")), title_lt=_text(get("Title (LT)")),
            description_en=_text(get("Description (EN)")), description_lt=_text(get("Description (LT)")),
            retired_at=_retired(get("Retired"), at("Retired")),
            locs={"": at("Code"), "code": at("Code"), "parent_code": at("Parent code"), "kind": at("Kind"),
                  "title_en": at("Title (EN)"), "title_lt": at("Title (LT)"),
                  "description_en": at("Description (EN)"), "description_lt": at("Description (LT)")}))

    roles: dict[str, RoleSpec] = {}
    if ROLES in sheets:
        sheet = sheets[ROLES]
        columns = sheet.header(1, ROLE_COLUMNS, optional=("Title (LT)", "Description (EN)", "Description (LT)"))
        for row in range(2, len(sheet.rows) + 1):
            if not any(value not in (None, "") for value in sheet.rows[row - 1]):
                continue
            get = lambda name, r=row: sheet.value(r, columns.get(name))  # noqa: E731
            at = lambda name, r=row: sheet.at(r, name)  # noqa: E731
            role = RoleSpec(code=_text(get("Code")), title_en=_text(get("Title (EN)")),
                            title_lt=_text(get("Title (LT)")), description_en=_text(get("Description (EN)")),
                            description_lt=_text(get("Description (LT)")),
                            locs={"": at("Code"), "code": at("Code"), "title_en": at("Title (EN)"),
                                  "title_lt": at("Title (LT)"), "description_en": at("Description (EN)"),
                                  "description_lt": at("Description (LT)")})
            if role.code.strip() in roles:
                raise fail(at("Code"), f"duplicate role profile {role.code!r}")
            roles[role.code.strip()] = role
            doc.role_profiles.append(role)
    if MATRIX in sheets:
        sheet = sheets[MATRIX]
        header = sheet.rows[0] if sheet.rows else ()
        code_column = sheet.header(1, ("Code",))["Code"]
        role_columns = []
        for index, value in enumerate(header):
            name = _text(value).strip()
            if not name or name in MATRIX_FIXED:
                continue
            if name not in roles:
                raise fail(sheet.at(1, name), f"role {name!r} is not listed on sheet {ROLES!r}")
            role_columns.append((index, roles[name]))
        for row in range(2, len(sheet.rows) + 1):
            code = _text(sheet.value(row, code_column)).strip()
            for index, role in role_columns:
                level = sheet.value(row, index)
                if level in (None, ""):
                    continue
                if isinstance(level, str) and level.strip() in level_codes:
                    level = level_codes[level.strip()]
                if not code:
                    raise fail(sheet.at(row, "Code"), "a required level without a code")
                role.requirements.append(RequirementSpec(code, level, sheet.at(row, role.code)))
    if LINKS in sheets:
        sheet = sheets[LINKS]
        columns = sheet.header(1, LINK_COLUMNS, optional=("Target identifier", "Target URI", "Target title"))
        for row in range(2, len(sheet.rows) + 1):
            if not any(value not in (None, "") for value in sheet.rows[row - 1]):
                continue
            get = lambda name, r=row: sheet.value(r, columns.get(name))  # noqa: E731
            at = lambda name, r=row: sheet.at(r, name)  # noqa: E731
            doc.links.append(LinkSpec(
                source_code=_text(get("Code")).strip(), kind=_text(get("Link type")).strip(),
                target_code=_text(get("Target code")).strip() or None,
                target_identifier=_text(get("Target identifier")), target_uri=_text(get("Target URI")),
                target_title=_text(get("Target title")),
                locs={"": at("Code"), "source_code": at("Code"), "kind": at("Link type"),
                      "target_code": at("Target code"), "target_identifier": at("Target identifier"),
                      "target_uri": at("Target URI"), "target_title": at("Target title")}))
    return doc
