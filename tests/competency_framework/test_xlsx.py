"""The editable workbook: what staff see, editing and importing back, validation, hostile files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest
from sqlalchemy.orm import Session

from competency_framework.interchange import (
    Format,
    InterchangeError,
    Limits,
    document_from_framework,
    export_framework,
    import_framework,
)
from competency_framework.models import NodeKind
from competency_framework.operations import add_node, new_draft_version, retire_node
from competency_framework.tree import node_by_code
from tests.domain_database import make_engine

from .interchange_helpers import table_counts

REFERENCE = Path(__file__).parent / "reference" / "moodle-oecd-framework.csv"


def book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def save(workbook: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def values(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture()
def fresh() -> Session:
    engine = make_engine()
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture()
def exported(framework) -> bytes:
    return export_framework(framework, "xlsx")


def test_workbook_layout(exported: bytes) -> None:
    workbook = book(exported)
    assert workbook.sheetnames == ["About", "Framework", "Scale", "Roles", "Role profiles", "Links"]
    about = values(workbook["About"])
    assert about[2][:2] == ["Framework code", "CO"] and about[5][:2] == ["Title (LT)", "Pareigūnas"]
    assert any("How to edit" in str(row[0]) for row in about)
    framework = values(workbook["Framework"])
    assert framework[0] == ["Code", "Parent code", "Kind", "Title (EN)", "Title (LT)", "Description (EN)",
                            "Description (LT)", "Retired"]
    assert framework[2][:5] == ["DS.1", "DS", "competency", "Knows the inmates", "Pažįsta nuteistuosius"]
    assert workbook["Framework"].freeze_panes == "A2"
    assert workbook["Framework"].data_validations.dataValidation[0].formula1 == '"area,competency,indicator"'
    scale = values(workbook["Scale"])
    assert scale[3][:2] == ["Proficient level", 3]
    assert scale[5][:4] == ["Value", "Code", "Title (EN)", "Title (LT)"] and scale[6][:4] == [1, "aware", "Aware", "Žino"]
    matrix = values(workbook["Role profiles"])
    assert matrix[0] == ["Code", "Kind", "Title (EN)", "cadet", "officer"]
    assert matrix[2] == ["DS.1", "competency", "Knows the inmates", 2, 3]
    assert matrix[1] == ["DS", "area", "Dynamic security", None, None]
    assert values(workbook["Roles"])[1][:3] == ["cadet", "Cadet", "Kursantas"]


def test_round_trip_without_loss(session, framework, fresh) -> None:
    draft = new_draft_version(session, framework)
    retire_node(session, node_by_code(draft, "CR.1"))
    data = export_framework(draft, Format.XLSX)
    imported = import_framework(fresh, data).framework
    assert document_from_framework(imported).canonical() == document_from_framework(draft).canonical()
    again = book(export_framework(imported, Format.XLSX))
    assert all(values(again[name]) == values(book(data)[name]) for name in again.sheetnames)


def test_reference_framework_with_links_round_trips(session, fresh) -> None:
    framework = import_framework(session, REFERENCE).framework
    imported = import_framework(fresh, export_framework(framework, "xlsx")).framework
    assert document_from_framework(imported).canonical() == document_from_framework(framework).canonical()


def test_staff_edits_are_imported(session, exported) -> None:
    workbook = book(exported)
    sheet = workbook["Framework"]
    sheet["D3"] = "Knows the inmates by name"
    sheet["H4"] = "yes"
    sheet.append(["CR.2", "CR", "competency", "Calls for help early", "Laiku kviečia pagalbą", None, None, None])
    sheet.move_range("A1:H20", cols=1)  # columns are found by their headers
    roles = workbook["Roles"]
    roles.append(["mentor", "Mentor", "Mentorius"])
    matrix = workbook["Role profiles"]
    matrix["F1"] = "mentor"
    matrix["F3"] = "guided"  # a level code works as well as its number
    matrix["D3"] = 3
    about = workbook["About"]
    about["B4"] = 7  # the file's version is used only for a code the database does not have yet
    report = import_framework(session, save(workbook))
    framework = report.framework
    assert node_by_code(framework, "DS.1").title_en == "Knows the inmates by name"
    assert node_by_code(framework, "DS.1.a").retired and node_by_code(framework, "DS.1.a").retired_at is not None
    assert node_by_code(framework, "CR.2").parent.code == "CR" and node_by_code(framework, "CR.2").kind is NodeKind.COMPETENCY
    levels = {p.code: {r.competency.code: r.level for r in p.requirements} for p in framework.role_profiles}
    assert levels["mentor"] == {"DS.1": 2} and levels["cadet"]["DS.1"] == 3
    assert report.framework.version == 2


def test_formula_injection_is_neutralised_and_reversed(session, framework, fresh) -> None:
    draft = new_draft_version(session, framework)
    add_node(session, draft, kind="competency", code="X", title_en="=cmd|' /C calc'!A0",
             description_en="@SUM(1+1)*cmd|' /C calc'!A0", parent=node_by_code(draft, "CR"))
    data = export_framework(draft, "xlsx")
    sheet = book(data)["Framework"]
    row = next(r for r in sheet.iter_rows() if r[0].value == "X")
    assert row[3].value == "'=cmd|' /C calc'!A0" and row[3].data_type == "s"
    assert row[5].value.startswith("'@")
    copy = node_by_code(import_framework(fresh, data).framework, "X")
    assert copy.title_en == "=cmd|' /C calc'!A0" and copy.description_en.startswith("@SUM")


def _edit(exported: bytes, change) -> bytes:
    workbook = book(exported)
    change(workbook)
    return save(workbook)


@pytest.mark.parametrize("change, where, problem", [
    (lambda wb: wb["Framework"].__setitem__("B4", "NOPE"), "sheet 'Framework', row 4, column 'Parent code'",
     "unknown parent 'NOPE'"),
    (lambda wb: wb["Framework"].__setitem__("A5", "DS.1"), "sheet 'Framework', row 5, column 'Code'",
     "duplicate id 'DS.1'"),
    (lambda wb: (wb["Framework"].__setitem__("B2", "DS.1")), "sheet 'Framework', row 2, column 'Parent code'",
     "cycle: DS → DS.1 → DS"),
    (lambda wb: wb["Framework"].__setitem__("C3", "unit"), "sheet 'Framework', row 3, column 'Kind'",
     "unknown kind 'unit'"),
    (lambda wb: wb["Framework"].__setitem__("C2", "indicator"), "sheet 'Framework', row 2, column 'Kind'",
     "cannot be placed at the top level"),
    (lambda wb: wb["Framework"].__setitem__("D6", "=1+1"), "sheet 'Framework', row 6, column 'D'",
     "formulas are not allowed"),
    (lambda wb: wb["Framework"].__setitem__("H3", "someday"), "sheet 'Framework', row 3, column 'Retired'",
     "neither a date nor yes/no"),
    (lambda wb: wb["Framework"].__setitem__("D1", "Name"), "sheet 'Framework', row 1, column 'Title (EN)'",
     "missing column"),
    (lambda wb: wb["Scale"].__setitem__("A8", 5), "sheet 'Scale', row 8, column 'Value'", "out of order"),
    (lambda wb: wb["Scale"].__setitem__("B4", 9), "sheet 'Scale', row 4, column 'B'",
     "bad scale: proficient level 9"),
    (lambda wb: wb["Role profiles"].__setitem__("D3", 7), "sheet 'Role profiles', row 3, column 'cadet'",
     "not on the scale (1–4)"),
    (lambda wb: wb["Role profiles"].__setitem__("F1", "warden"), "sheet 'Role profiles', row 1, column 'warden'",
     "not listed on sheet 'Roles'"),
    (lambda wb: wb["Role profiles"].__setitem__("A3", "GONE"), "sheet 'Role profiles', row 3, column 'cadet'",
     "unknown competency 'GONE'"),
    (lambda wb: wb["Links"].append(["DS.1", "isFriendOf", "CR.1"]), "sheet 'Links', row 2, column 'Link type'",
     "unknown link type"),
    (lambda wb: wb.remove(wb["Scale"]), "sheet 'Scale'", "missing sheet"),
    (lambda wb: wb["About"].__setitem__("B3", "has space"), "sheet 'About', row 3, column 'B'", "contains spaces"),
])
def test_bad_workbooks_name_sheet_row_column_and_write_nothing(session, framework, exported, change, where,
                                                                problem) -> None:
    data = _edit(exported, change)
    before = table_counts(session)
    with pytest.raises(InterchangeError) as raised:
        import_framework(session, data)
    assert str(raised.value).startswith(where) and problem in str(raised.value), str(raised.value)
    assert table_counts(session) == before


def test_hostile_archives_are_refused(session, exported) -> None:
    with pytest.raises(InterchangeError, match="unpacks to more than"):
        import_framework(session, exported, limits=Limits(max_uncompressed=1000))
    with pytest.raises(InterchangeError, match="not a zip archive"):
        import_framework(session, b"PK\x03\x04 definitely not a zip", format="xlsx")
    padded = _edit(exported, lambda wb: [wb["Links"].append(["DS.1", "isRelatedTo", "CR.1"]) for _ in range(150)])
    with pytest.raises(InterchangeError, match="sheet 'Links', row 111: too many rows"):
        import_framework(session, padded, limits=Limits(max_nodes=10))


BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>')
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _with_dtd(exported: bytes, part: str, dtd: str) -> bytes:
    """The workbook with a DTD put before the root element of one of its parts."""
    source = zipfile.ZipFile(io.BytesIO(exported))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == part:
                text = data.decode("utf-8")
                declaration, _, rest = text.partition("?>") if text.startswith("<?xml") else ("", "", text)
                data = (declaration + ("?>" if declaration else "") + dtd + rest).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def test_openpyxl_reads_workbook_xml_through_defusedxml() -> None:
    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet2.xml", "xl/styles.xml",
                                  "[Content_Types].xml", "xl/_rels/workbook.xml.rels", "docProps/core.xml"])
@pytest.mark.parametrize("dtd", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_workbooks_with_a_dtd_are_refused_and_import_nothing(session, exported, part, dtd) -> None:
    assert part in zipfile.ZipFile(io.BytesIO(exported)).namelist()
    hostile = _with_dtd(exported, part, dtd)
    before = table_counts(session)
    with pytest.raises(InterchangeError, match=f"the workbook part {re.escape(part)} declares a DTD or entities"):
        import_framework(session, hostile, format="xlsx")
    assert table_counts(session) == before
