"""Property: for any valid framework, export → import → export gives the same file, and the
imported framework says everything the original did (what the format can carry)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Iterator

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from competency_framework.interchange import Format, export_framework, import_framework
from competency_framework.interchange.document import (
    FrameworkDocument,
    LevelSpec,
    LinkSpec,
    NodeSpec,
    RequirementSpec,
    RoleSpec,
    ScaleSpec,
    apply_document,
    document_from_framework,
    validate_document,
)
from competency_framework.models import NodeKind
from competency_framework.texts import clean_text, clean_title
from tests.domain_database import make_engine

CODE = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/-]{0,11}\Z")
CHARS = (st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
         | st.sampled_from(list(" \n\t,;\"'<>&=+-@%ąčęėįšųūžĄČĘĖĮŠŲŪŽ")))
TEXT = st.text(CHARS, max_size=60).map(clean_text)
TITLE = st.text(CHARS, min_size=1, max_size=40).map(clean_title).filter(bool)
WHEN = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1),
                    timezones=st.just(dt.timezone.utc))
CHILD_KINDS = {None: [NodeKind.AREA, NodeKind.COMPETENCY], NodeKind.AREA: [NodeKind.AREA, NodeKind.COMPETENCY],
               NodeKind.COMPETENCY: [NodeKind.COMPETENCY, NodeKind.INDICATOR]}


@st.composite
def documents(draw: Any) -> FrameworkDocument:
    codes = draw(st.lists(CODE, min_size=1, max_size=14, unique=True))
    nodes: list[NodeSpec] = []
    for i, code in enumerate(codes):
        parents = [None] + [node for node in nodes[:i] if node.kind is not NodeKind.INDICATOR]
        parent = draw(st.sampled_from(parents))
        kind = draw(st.sampled_from(CHILD_KINDS[None if parent is None else parent.kind]))
        nodes.append(NodeSpec(code=code, parent_code=None if parent is None else parent.code, kind=kind,
                              title_en=draw(TITLE), title_lt=draw(st.just("") | TITLE), description_en=draw(TEXT),
                              description_lt=draw(TEXT), retired_at=draw(st.none() | WHEN)))
    size = draw(st.integers(2, 6))
    level_codes = draw(st.lists(CODE, min_size=size, max_size=size, unique=True))
    scale = ScaleSpec(code=draw(CODE), title_en=draw(TITLE), title_lt=draw(st.just("") | TITLE),
                      proficient_level=draw(st.integers(1, size)),
                      levels=[LevelSpec(value=v, code=c, title_en=draw(TITLE), title_lt=draw(TEXT.map(clean_title)),
                                        descriptor_en=draw(TEXT), descriptor_lt=draw(TEXT))
                              for v, c in enumerate(level_codes, start=1)])
    roles = []
    for code in draw(st.lists(CODE, max_size=3, unique=True)):
        required = draw(st.lists(st.sampled_from(codes), max_size=len(codes), unique=True))
        roles.append(RoleSpec(code=code, title_en=draw(TITLE), title_lt=draw(st.just("") | TITLE),
                              description_en=draw(TEXT), description_lt=draw(TEXT),
                              requirements=[RequirementSpec(c, draw(st.integers(1, size))) for c in required]))
    links = []
    if len(codes) > 1:
        pairs = draw(st.lists(st.tuples(st.sampled_from(codes), st.sampled_from(codes)).filter(lambda p: p[0] != p[1]),
                              max_size=5, unique_by=lambda p: frozenset(p)))
        links += [LinkSpec(source_code=a, kind="isRelatedTo", target_code=b) for a, b in pairs]
    for n, source in enumerate(draw(st.lists(st.sampled_from(codes), max_size=2))):
        links.append(LinkSpec(source_code=source, kind=draw(st.sampled_from(["exactMatchOf", "ext:alignsTo"])),
                              target_identifier=f"00000000-0000-4000-8000-{n:012d}",
                              target_uri=f"https://standards.example/{n}", target_title=draw(TITLE)))
    return FrameworkDocument(code=draw(CODE), title_en=draw(TITLE), title_lt=draw(st.just("") | TITLE),
                             description_en=draw(TEXT), description_lt=draw(TEXT), version=1, scale=scale,
                             nodes=nodes, role_profiles=roles, links=links,
                             updated_at=draw(WHEN))


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    pair = (make_engine(), make_engine())
    yield pair
    for engine in pair:
        engine.dispose()


class Rollback:
    """A session whose work is undone on exit, so examples share an engine."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.transaction.rollback()
        self.connection.close()


def carried(canonical: dict, kind: Format) -> dict:
    """The part of a framework a format carries (Moodle: no role profiles, only cross-references,
    symmetric; CASE: no role profiles)."""
    if kind is Format.XLSX:
        return canonical
    result = canonical | {"role_profiles": []}
    if kind is Format.MOODLE:
        result["links"] = sorted(tuple(sorted((source, target))) for source, link_kind, target, *_ in canonical["links"]
                                 if link_kind == "isRelatedTo")
    return result


def content(data: bytes, kind: Format) -> Any:
    """Bytes for text formats; cell values for xlsx (the zip carries timestamps)."""
    if kind is not Format.XLSX:
        return data
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}


@pytest.mark.parametrize("kind", list(Format))
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_export_import_export_is_stable_and_lossless(engines, kind: Format, doc: FrameworkDocument) -> None:
    with Rollback(engines[0]) as first:
        original = apply_document(first, validate_document(doc))
        exported = export_framework(original, kind)
        expected = carried(document_from_framework(original).canonical(), kind)
        with Rollback(engines[1]) as second:
            imported = import_framework(second, exported, format=kind).framework
            assert content(export_framework(imported, kind), kind) == content(exported, kind)
            assert carried(document_from_framework(imported).canonical(), kind) == expected
