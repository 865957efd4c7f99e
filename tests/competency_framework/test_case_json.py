"""1EdTech CASE v1.0 JSON: export structure, round trips, foreign packages, errors."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.orm import Session

from competency_framework.interchange import (
    Format,
    InterchangeError,
    document_from_framework,
    export_framework,
    import_framework,
)
from competency_framework.models import NodeKind
from competency_framework.operations import new_draft_version, retire_node
from competency_framework.tree import node_by_code
from tests.domain_database import make_engine

from .interchange_helpers import table_counts

DOC_ID = "c0ffee00-0000-4000-8000-000000000000"


def item(identifier: str, statement: str, **extra) -> dict:
    return {"identifier": identifier, "uri": f"https://example.org/{identifier}", "fullStatement": statement,
            "lastChangeDateTime": "2024-01-01T00:00:00Z", **extra}


def child(n: int, origin: str, destination: str, kind: str = "isChildOf", **extra) -> dict:
    return {"identifier": f"a{n}", "uri": f"https://example.org/a{n}", "associationType": kind,
            "originNodeURI": {"identifier": origin, "uri": "", "title": ""},
            "destinationNodeURI": {"identifier": destination, "uri": f"https://example.org/{destination}",
                                   "title": destination.upper()},
            "lastChangeDateTime": "2024-01-01T00:00:00Z", **extra}


RUBRIC = [{"identifier": "r", "uri": "u", "title": "Mastery", "lastChangeDateTime": "2024-01-01T00:00:00Z",
           "CFRubricCriteria": [{"identifier": "c", "uri": "u", "lastChangeDateTime": "2024-01-01T00:00:00Z",
                                 "CFRubricCriterionLevels": [
                                     {"identifier": "l3", "uri": "u", "quality": "Mastered", "score": 3},
                                     {"identifier": "l1", "uri": "u", "quality": "Beginning", "score": 1},
                                     {"identifier": "l2", "uri": "u", "quality": "Developing", "score": 2,
                                      "description": "Can do it with help"}]}]}]


def package(items: list, associations: list, rubrics: list | None = None) -> bytes:
    return json.dumps({"CFDocument": {"identifier": DOC_ID, "uri": "u", "creator": "Someone",
                                      "title": "Foreign framework", "lastChangeDateTime": "2024-01-01T00:00:00Z",
                                      "version": "3"},
                       "CFItems": items, "CFAssociations": associations,
                       "CFRubrics": RUBRIC if rubrics is None else rubrics}).encode()


@pytest.fixture()
def fresh() -> Session:
    engine = make_engine()
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_export_is_a_cfpackage(framework) -> None:
    data = json.loads(export_framework(framework, "case"))
    assert set(data) == {"CFDocument", "CFItems", "CFAssociations", "CFDefinitions", "CFRubrics"}
    document = data["CFDocument"]
    assert (document["title"], document["version"], document["adoptionStatus"], document["language"]) == (
        "Correctional officer", "1", "Adopted", "en")
    assert document["extensions"]["translations"]["lt"]["title"] == "Pareigūnas"
    assert uuid.UUID(document["identifier"])
    items = {i["humanCodingScheme"]: i for i in data["CFItems"]}
    assert len(items) == 8 and items["DS.1.a"]["CFItemType"] == "Indicator"
    assert items["DS"]["fullStatement"] == "Dynamic security"
    assert items["DS.1"]["extensions"]["translations"]["lt"]["fullStatement"] == "Pažįsta nuteistuosius"
    tree = [a for a in data["CFAssociations"] if a["associationType"] == "isChildOf"]
    assert len(tree) == 8
    by_origin = {a["originNodeURI"]["identifier"]: a for a in tree}
    assert by_origin[items["DS"]["identifier"]]["destinationNodeURI"]["identifier"] == document["identifier"]
    assert by_origin[items["DS.1.b"]["identifier"]]["destinationNodeURI"]["identifier"] == items["DS.1"]["identifier"]
    assert by_origin[items["DS.1.b"]["identifier"]]["sequenceNumber"] == 2
    criterion = data["CFRubrics"][0]["CFRubricCriteria"][0]
    assert [(lv["score"], lv["quality"]) for lv in criterion["CFRubricCriterionLevels"]] == [
        (1, "Aware"), (2, "Guided"), (3, "Independent"), (4, "Expert")]
    assert criterion["extensions"]["proficientScore"] == 3
    assert export_framework(framework, "case") == export_framework(framework, "case")  # stable identifiers


def test_round_trip_without_loss(session, framework, fresh) -> None:
    draft = new_draft_version(session, framework)
    retire_node(session, node_by_code(draft, "DS.2"))
    exported = export_framework(draft, Format.CASE)
    imported = import_framework(fresh, exported).framework
    assert export_framework(imported, Format.CASE) == exported
    before, after = document_from_framework(draft).canonical(), document_from_framework(imported).canonical()
    assert after["role_profiles"] == []  # role profiles have no place in CASE
    assert after == before | {"role_profiles": []}
    assert node_by_code(imported, "DS.2").retired_at == node_by_code(draft, "DS.2").retired_at


def test_foreign_package_with_polyhierarchy_outside_links_and_orphans(session) -> None:
    items = [item("i-a", "Domain A", CFItemType="Domain", humanCodingScheme="A"),
             item("i-b", "Standard B", CFItemType="Standard", humanCodingScheme="A.1", notes="Notes of B"),
             item("i-c", "Leaf C", humanCodingScheme="A.1.a"),
             item("i-d", "Second B", humanCodingScheme="A.2"),
             item("9b2e7b52-35a1-4c68-8b1f-0d7e8f6c1d11", "No code here"),
             item("i-o", "Orphan", humanCodingScheme="O")]
    associations = [child(1, "i-a", DOC_ID), child(3, "i-d", "i-a", sequenceNumber=2),
                    child(2, "i-b", "i-a", sequenceNumber=1), child(4, "i-c", "i-b"), child(5, "i-c", "i-d"),
                    child(6, "9b2e7b52-35a1-4c68-8b1f-0d7e8f6c1d11", DOC_ID),
                    child(7, "i-b", "ext-1", "exactMatchOf"), child(8, "i-b", "i-d", "isPeerOf"),
                    child(9, "i-elsewhere", "i-b", "isRelatedTo")]
    report = import_framework(session, package(items, associations))
    framework = report.framework
    assert (framework.code, framework.version) == ("foreign-framework", 3)
    assert [n.code for n in framework.nodes] == ["A", "A.1", "A.1.a", "A.2", "9b2e7b52-35a1-4c68-8b1f-0d7e8f6c1d11",
                                                 "O"]
    assert [n.kind for n in framework.nodes[:4]] == [NodeKind.AREA, NodeKind.COMPETENCY, NodeKind.INDICATOR,
                                                     NodeKind.COMPETENCY]
    assert node_by_code(framework, "A.1").description_en == "Notes of B"
    links = {(link.source.code, link.kind, link.target.code if link.target else link.target_uri)
             for link in framework.links}
    assert links == {("A.1.a", "isChildOf", "A.2"), ("A.1", "exactMatchOf", "https://example.org/ext-1"),
                     ("A.1", "isPeerOf", "A.2")}
    assert any("second parent" in w for w in report.warnings)
    assert any("not attached" in w for w in report.warnings)
    assert any("outside the document" in w for w in report.warnings)
    scale = framework.scale
    assert [lv.title_en for lv in scale.levels] == ["Beginning", "Developing", "Mastered"]
    assert scale.levels[1].descriptor_en == "Can do it with help" and scale.proficient_level == 2
    exported = json.loads(export_framework(framework, "case"))
    by_code = {i["humanCodingScheme"]: i["identifier"] for i in exported["CFItems"]}
    assert by_code["9b2e7b52-35a1-4c68-8b1f-0d7e8f6c1d11"] == "9b2e7b52-35a1-4c68-8b1f-0d7e8f6c1d11"


def test_a_package_without_rubric_needs_a_scale(session, framework) -> None:
    data = package([item("i-a", "Only", humanCodingScheme="A")], [child(1, "i-a", DOC_ID)], rubrics=[])
    with pytest.raises(InterchangeError, match="CFRubrics: bad scale"):
        import_framework(session, data)
    report = import_framework(session, data, scale_code=framework.scale.code)
    assert report.framework.scale is framework.scale


def test_long_statements_become_descriptions(session) -> None:
    long = "Word " * 200
    report = import_framework(session, package([item("i-a", long, abbreviatedStatement="Short label")],
                                               [child(1, "i-a", DOC_ID)]))
    node = report.framework.nodes[0]
    assert node.title_en == "Short label" and node.description_en == long.strip()


@pytest.mark.parametrize("data, where, problem", [
    (package([item("i-a", "A"), item("i-b", "")], []), "CFItems[1]", "title is empty"),
    (package([item("i-a", "A"), {"identifier": "i-b", "uri": "u"}], []), "CFItems[1].fullStatement", "missing"),
    (package([item("i-a", "A"), item("i-a", "B")], []), "CFItems[1].identifier", "duplicate id"),
    (package([item("i-a", "A", humanCodingScheme="X"), item("i-b", "B", humanCodingScheme="X")],
             [child(1, "i-a", DOC_ID), child(2, "i-b", DOC_ID)]), "CFItems[1].humanCodingScheme", "duplicate id 'X'"),
    (package([item("i-a", "A")], [child(1, "i-a", "i-zz")]), "CFAssociations[0].destinationNodeURI",
     "unknown parent 'i-zz'"),
    (package([item("i-a", "A", humanCodingScheme="A"), item("i-b", "B", humanCodingScheme="B")],
             [child(1, "i-a", "i-b"), child(2, "i-b", "i-a")]), "CFAssociations[0].destinationNodeURI",
     "cycle: A → B → A"),
    (package([item("i-a", "A", CFItemType="Indicator")], [child(1, "i-a", DOC_ID)]), "CFItems[0].CFItemType",
     "cannot be placed at the top level"),
    (package([item("i-a", "A", statusEndDate="yesterday")], []), "CFItems[0].statusEndDate", "not an ISO 8601"),
    (package([item("i-a", "A")], [], rubrics=[{"CFRubricCriteria": [{"CFRubricCriterionLevels": [
        {"quality": "x"}]}]}]), "CFRubrics[0].CFRubricCriteria[0].CFRubricCriterionLevels[0].score", "bad scale"),
    (package([item("i-a", "A")], [], rubrics=[{"CFRubricCriteria": [{"CFRubricCriterionLevels": [
        {"quality": "only", "score": 1}]}]}]), "CFRubrics[0].CFRubricCriteria[0]", "bad scale: a scale needs"),
    (b'{"CFDocument": {"identifier": "x", "title": "T"},\n "CFItems": [}', "row 2", "not valid JSON"),
    (b'{"CFDocument": {"title": "Caf\xe9"}}', "row 1", "wrong encoding"),
    (b'{"CFDocument": []}', "CFDocument", "expected a JSON object"),
    (b'{"CFDocument": {"identifier": "x"}}', "CFDocument.title", "missing"),
    (b'{"CFDocument": {"identifier": "x", "title": "T"}, "CFItems": {}}', "CFItems", "expected a JSON array"),
    (b'{"CFDocument": {"identifier": "x", "title": "T", "deep": ' + b"[" * 100 + b"]" * 100 + b"}}", "file",
     "nested deeper"),
    (package([item("i-a", "A"), item("i-b", 12)], []), "CFItems[1].fullStatement",
     "expected text (a JSON string), not the number 12"),
    (package([item("i-a", "A", notes=["x"])], []), "CFItems[0].notes", "expected text (a JSON string), not an array"),
    (package([item("i-a", "A", humanCodingScheme=True)], []), "CFItems[0].humanCodingScheme",
     "not true or false"),
    (package([item("i-a", "A")], [child(1, "i-a", DOC_ID, sequenceNumber=float("nan"))]),
     "CFAssociations[0].sequenceNumber", "not a finite number"),
    (package([item("i-a", "A")], [child(1, "i-a", DOC_ID, sequenceNumber=float("inf"))]),
     "CFAssociations[0].sequenceNumber", "not a finite number"),
    (package([item("i-a", "A")], [child(1, "i-a", DOC_ID)]).replace(b'"i-a", "uri"', b'"i-a", "n": 1e999, "uri"', 1),
     "CFItems[0].n", "not a finite number"),
    (package([item("i-a", "A")], [], rubrics=[{"CFRubricCriteria": [{"CFRubricCriterionLevels": [
        {"quality": "low", "score": 1}, {"quality": "high", "score": float("-inf")}]}]}]),
     "CFRubrics[0].CFRubricCriteria[0].CFRubricCriterionLevels[1].score", "not a finite number"),
])
def test_bad_packages_name_the_path_and_write_nothing(session, framework, data, where, problem) -> None:
    before = table_counts(session)
    with pytest.raises(InterchangeError) as raised:
        import_framework(session, data, format="case")
    assert str(raised.value).startswith(where) and problem in str(raised.value)
    assert table_counts(session) == before
