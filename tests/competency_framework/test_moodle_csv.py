"""Moodle competency framework CSV: the real OECD export, round trips, errors, hostile input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from competency_framework.interchange import (
    Format,
    InterchangeError,
    Limits,
    detect_format,
    document_from_framework,
    export_framework,
    import_framework,
)
from competency_framework.interchange.moodle_csv import HEADERS
from competency_framework.models import FrameworkStatus, NodeKind
from competency_framework.operations import add_node, edit_node, new_draft_version, publish, retire_node
from competency_framework.tree import node_by_code
from tests.domain_database import make_engine

from .interchange_helpers import table_counts

REFERENCE = Path(__file__).parent / "reference" / "moodle-oecd-framework.csv"
SCALE = ('"Not yet competent,Competent"', '"[{""scaleid"":""2""},{""id"":2,""scaledefault"":1,""proficient"":1}]"')
HEADER = ",".join(f'"{h}"' for h in HEADERS)


def moodle(*rows: str, framework: str | None = None) -> bytes:
    """A small Moodle file: header, framework row, then competency rows (13-comma CSV lines)."""
    top = framework or f',FW,Framework,"<p>About</p>",1,{SCALE[0]},{SCALE[1]},,,,,,1,"competency,competency"'
    return "\n".join([HEADER, top, *rows]).encode("utf-8") + b"\n"


def competency(parent: str, code: str, name: str = "Name", *, taxonomy: str = "", related: str = "") -> str:
    return f'{parent},{code},"{name}","<p>Text</p>",1,,,,0,null,"{related}",,,{taxonomy}'


def symmetric(canonical: dict) -> dict:
    """Moodle's cross-references are symmetric: compare links as unordered pairs."""
    return canonical | {"links": sorted(tuple(sorted((source, target))) for source, _k, target, *_ in canonical["links"])}


@pytest.fixture()
def fresh() -> Session:
    engine = make_engine()
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_reference_file_imports_as_one_framework_with_its_hierarchy(session: Session) -> None:
    report = import_framework(session, REFERENCE)
    framework = report.framework
    assert report.format is Format.MOODLE and report.warnings == []
    assert (framework.code, framework.title_en, framework.version, framework.status) == (
        "OECD-CORE", "OECD", 1, FrameworkStatus.DRAFT)
    assert framework.description_en.startswith("The Core Competencies summarise the capabilities that are "
                                               "important across all jobs and that we believe collectively")
    assert framework.description_en.endswith("clusters.\n\n• The delivery-related competencies\n"
                                             "• The interpersonal competencies\n• The strategic competencies")
    assert (report.nodes, report.links, len(framework.nodes)) == (64, 39, 64)
    kinds = [node.kind for node in framework.nodes]
    assert (kinds.count(NodeKind.AREA), kinds.count(NodeKind.COMPETENCY), kinds.count(NodeKind.INDICATOR)) == (5, 20, 39)
    parent = {node.code: None if node.parent is None else node.parent.code for node in framework.nodes}
    assert parent["levels"] is None and parent["competencies"] is None
    assert parent["level-3"] == "levels"
    assert parent["strategic"] == "competencies" and parent["strategic-thinking"] == "strategic"
    assert parent["DR-AT1"] == "analytical-thinking" and parent["S-ST-1"] == "strategic-thinking"
    assert [n.code for n in framework.nodes[:3]] == ["levels", "level-1", "level-2"]
    analytical = node_by_code(framework, "analytical-thinking")
    assert analytical.title_en == "Analytical Thinking" and analytical.kind is NodeKind.COMPETENCY
    assert analytical.description_en == ("Analytical Thinking is the ability to identify patterns across situations "
                                         "that are not obviously related, and to identify key or underlying issues "
                                         "in complex situations.")
    assert node_by_code(framework, "DR-MR-2").title_en == ("Plans, coordinates and manages internal and external "
                                                           "resources to accomplish assignments within the")
    assert node_by_code(framework, "delivery").kind is NodeKind.AREA
    assert node_by_code(framework, "DR-AT1").kind is NodeKind.INDICATOR
    related = {(link.source.code, link.target.code) for link in framework.links}
    assert ("level-1", "DR-AT1") in related and ("level-1", "S-ST-1") in related
    assert all(link.kind == "isRelatedTo" for link in framework.links)
    scale = framework.scale
    assert [level.title_en for level in scale.levels] == ["Not yet competent", "Competent"]
    assert scale.proficient_level == 2 and scale.code == "oecd-core-scale"


def test_reference_file_round_trips(session: Session, fresh: Session) -> None:
    first = import_framework(session, REFERENCE).framework
    exported = export_framework(first, "moodle")
    second = import_framework(fresh, exported).framework
    assert export_framework(second, "moodle") == exported
    assert symmetric(document_from_framework(second).canonical()) == symmetric(
        document_from_framework(first).canonical())


def test_own_framework_round_trips_without_loss(session, framework, fresh) -> None:
    draft = new_draft_version(session, framework)
    retire_node(session, node_by_code(draft, "DS.2"))
    edit_node(session, node_by_code(draft, "DS.1"), description_en="Line one\n\n  indented, \"quoted\" & <b>",
              description_lt="Eilutė\tsu tabuliacija")
    add_node(session, draft, kind="competency", code="CR.1.1", title_en="Sub-competency <with> & signs",
             parent=node_by_code(draft, "CR.1"))
    exported = export_framework(draft, Format.MOODLE)
    imported = import_framework(fresh, exported).framework
    before, after = document_from_framework(draft).canonical(), document_from_framework(imported).canonical()
    assert after["role_profiles"] == []  # role profiles are not part of a Moodle framework
    before["role_profiles"] = []
    assert symmetric(after) == symmetric(before)
    assert export_framework(imported, Format.MOODLE) == exported


def test_export_looks_like_moodles(framework) -> None:
    rows = list(csv.reader(io.StringIO(export_framework(framework, "moodle").decode("utf-8"))))
    assert rows[0] == list(HEADERS)
    assert all(len(row) == 14 for row in rows)
    top = rows[1]
    assert (top[1], top[4], top[5], top[12], top[13]) == ("CO", "1", "Aware,Guided,Independent,Expert", "1",
                                                         "domain,competency,indicator")
    assert top[2] == ('<span lang="en" class="multilang">Correctional officer</span>'
                      '<span lang="lt" class="multilang">Pareigūnas</span>')
    ds11 = next(row for row in rows if row[1] == "DS.1.a")
    assert (ds11[0], ds11[8], ds11[9], ds11[12], ds11[13]) == ("DS.1", "0", "null", "", "indicator")


def test_formula_injection_is_neutralised_and_reversed(session, framework, fresh) -> None:
    draft = new_draft_version(session, framework)
    node = add_node(session, draft, kind="competency", code="X", title_en='=HYPERLINK("http://x","click")',
                    description_en="+1 and @SUM(A1)", parent=node_by_code(draft, "CR"))
    data = export_framework(draft, "moodle")
    cells = [cell for row in csv.reader(io.StringIO(data.decode())) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK(\"http://x\",\"click\")" in cells
    copy = node_by_code(import_framework(fresh, data).framework, "X")
    assert (copy.title_en, copy.description_en) == (node.title_en, node.description_en)


def test_importing_a_code_again_makes_the_next_draft(session, framework) -> None:
    data = export_framework(framework, "moodle")
    report = import_framework(session, data)
    assert (report.framework.version, report.framework.status) == (2, FrameworkStatus.DRAFT)
    assert report.framework.scale is framework.scale  # an identical scale is reused
    with pytest.raises(InterchangeError, match="already has a draft"):
        import_framework(session, data)
    publish(session, report.framework)
    assert import_framework(session, data).framework.version == 3


@pytest.mark.parametrize("data, where, problem", [
    (moodle(competency("", "A"), competency("A", "B"), competency("", "A")),
     "row 5, column 'ID number'", "duplicate id 'A'"),
    (moodle(competency("", "A"), competency("NOPE", "B")), "row 4, column 'Parent ID number'", "unknown parent 'NOPE'"),
    (moodle(competency("", "R"), competency("B", "A"), competency("A", "B")), "row 4, column 'Parent ID number'",
     "cycle: A → B → A"),
    (moodle(competency("", "A"), framework=',FW,F,,1,"One,Two","[{""scaleid"":""2""},{""id"":1,""scaledefault"":1}]",'
                                            ',,,,,1,'),
     "row 2, column 'Scale configuration'", "bad scale: no scale item is marked proficient"),
    (moodle(competency("", "A"), framework=",FW,F,,1,,,,,,,,1,"), "row 2, column 'Scale values'", "bad scale"),
    (moodle(competency("", "A"), framework=',FW,F,,1,"One,Two","not json",,,,,,1,'),
     "row 2, column 'Scale configuration'", "not valid JSON"),
    (moodle(competency("", "A", "Fine"), competency("A", "B", "LATIN1")).replace(b"LATIN1", b"Caf\xe9"),
     "row 4, column 'Short name'", "wrong encoding"),
    (moodle(competency("", "A") + ",extra"), "row 3", "15 columns"),
    (HEADER.encode() + b"\n" + competency("", "A").encode(), "column 'Is framework'", "no framework row"),
    (moodle(competency("", "A", taxonomy="unit")), "row 3, column 'Taxonomy'", "unknown kind 'unit'"),
    (moodle(competency("", "A", taxonomy="indicator")), "row 3, column 'Taxonomy'",
     "a indicator cannot be placed at the top level"),
    (moodle(competency("", "A").replace(",1,,,,0,", ",7,,,,0,")), "row 3, column 'Description format'", "not 0, 1, 2 or 4"),
    (moodle(competency("", "bad code")), "row 3, column 'ID number'", "contains spaces"),
    (moodle(competency("", "A", "")), "row 3, column 'Short name'", "title is empty"),
    (b"a,b,c\n1,2,3\n", "row 1", "expected the 14 columns"),
])
def test_bad_files_name_row_column_and_problem_and_write_nothing(session, framework, data, where, problem) -> None:
    before = table_counts(session)
    with pytest.raises(InterchangeError) as raised:
        import_framework(session, data, format="moodle")
    assert where in str(raised.value) and problem in str(raised.value)
    assert table_counts(session) == before


def test_many_problems_are_reported_together(session) -> None:
    data = moodle(competency("", "A"), competency("X", "B"), competency("Y", "C"), competency("", "A"))
    with pytest.raises(InterchangeError) as raised:
        import_framework(session, data)
    assert len(raised.value.problems) == 3 and "(and 2 more problems)" in str(raised.value)


def test_hostile_sizes_are_refused(session) -> None:
    data = moodle(*(competency("", f"C{i}") for i in range(50)))
    with pytest.raises(InterchangeError, match="larger than"):
        import_framework(session, data, limits=Limits(max_bytes=1000))
    with pytest.raises(InterchangeError, match="too many"):
        import_framework(session, data, limits=Limits(max_nodes=10))
    huge = moodle(competency("", "A", "x" * 200_000))
    with pytest.raises(InterchangeError, match="row 3"):
        import_framework(session, huge)


def test_semicolons_bom_and_unknown_cross_references(session) -> None:
    text = moodle(competency("", "A", related="B,ELSEWHERE"), competency("A", "B")).decode()
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    report = import_framework(session, b"\xef\xbb\xbf" + out.getvalue().encode())
    assert [n.code for n in report.framework.nodes] == ["A", "B"]
    assert report.links == 1 and "ELSEWHERE" in report.warnings[0]


def test_plain_text_descriptions_are_kept_as_written(session) -> None:
    row = ',P,Plain,"<b>not html</b>\nsecond line",2,,,,0,null,,,,'
    report = import_framework(session, moodle(row))
    assert report.framework.nodes[0].description_en == "<b>not html</b>\nsecond line"


def test_detect_format(framework, tmp_path) -> None:
    for kind in Format:
        data = export_framework(framework, kind)
        assert detect_format(data) is kind
        path = tmp_path / f"file.{kind.value}"
        path.write_bytes(data)
        assert detect_format(path) is kind
        with path.open("rb") as handle:
            assert detect_format(handle) is kind and handle.tell() == 0
    assert detect_format(REFERENCE) is Format.MOODLE
    for junk in (b"", b"hello,world\n", b'{"a": 1}', b"\x00\x01"):
        with pytest.raises(InterchangeError, match="unknown file format"):
            detect_format(junk)


def test_progress_is_reported_while_importing_and_exporting(session) -> None:
    calls: list[tuple[int, int]] = []
    report = import_framework(session, REFERENCE, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (64, 64)
    calls.clear()
    export_framework(report.framework, "xlsx", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (64, 64)
