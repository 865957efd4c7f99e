"""Tree maintenance: add, edit, move (no cycles), retire, delete; scales; read-only versions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError, ReadOnlyFrameworkError, TreeError
from competency_framework.models import Competency, EvidenceSource, Framework, FrameworkStatus, NodeKind
from competency_framework.operations import (
    add_node,
    competencies_by_code,
    create_framework,
    create_scale,
    delete_node,
    edit_framework,
    edit_node,
    move_node,
    new_draft_version,
    record_evidence,
    reinstate_node,
    retire_node,
    set_framework_scale,
    update_scale,
)
from competency_framework.tree import node_by_code

LEVELS = [{"value": 1, "code": "l1", "title_en": "One"}, {"value": 2, "code": "l2", "title_en": "Two"},
          {"value": 3, "code": "l3", "title_en": "Three"}]


@pytest.fixture()
def scale(session: Session):
    return create_scale(session, code="S3", title_en="Three levels", proficient_level=2, levels=LEVELS)


@pytest.fixture()
def draft(session: Session, scale) -> Framework:
    return create_framework(session, code="NEW", title_en="New framework", title_lt="Naujas modelis", scale=scale)


def codes(framework: Framework) -> list[str]:
    return [node.code for node in sorted(framework.nodes, key=lambda n: n.sort_order)]


def test_create_framework_is_a_bilingual_draft_version_one(draft: Framework) -> None:
    assert (draft.status, draft.version, draft.title_lt) == (FrameworkStatus.DRAFT, 1, "Naujas modelis")


def test_a_second_framework_with_the_same_code_needs_the_first_draft_published(session, scale, draft) -> None:
    with pytest.raises(FrameworkError, match="already has a draft"):
        create_framework(session, code="NEW", title_en="Again", scale=scale)


def test_add_nodes_keeps_reading_order_and_cleans_texts(session: Session, draft: Framework) -> None:
    area = add_node(session, draft, kind="area", code="A", title_en="  Area\none ", title_lt="Sritis")
    first = add_node(session, draft, kind=NodeKind.COMPETENCY, code="A.2", title_en="Second", parent=area)
    add_node(session, draft, kind=NodeKind.COMPETENCY, code="A.1", title_en="First", parent=area, position=0)
    add_node(session, draft, kind=NodeKind.INDICATOR, code="A.2.x", title_en="Shows it", parent=first,
             description_en="Line one\r\nLine two\x07")
    add_node(session, draft, kind=NodeKind.AREA, code="B", title_en="Area two")
    assert codes(draft) == ["A", "A.1", "A.2", "A.2.x", "B"]
    assert area.title_en == "Area one" and area.title_lt == "Sritis"
    assert node_by_code(draft, "A.2.x").description_en == "Line one\nLine two"


@pytest.mark.parametrize("kind, parent_kind", [("indicator", None), ("indicator", "area"), ("area", "competency"),
                                               ("competency", "indicator"), ("area", "indicator")])
def test_kinds_must_sit_in_their_place(session, draft, kind, parent_kind) -> None:
    parent = None
    if parent_kind == "area":
        parent = add_node(session, draft, kind="area", code="P", title_en="P")
    elif parent_kind == "competency":
        parent = add_node(session, draft, kind="competency", code="P", title_en="P")
    elif parent_kind == "indicator":
        top = add_node(session, draft, kind="competency", code="T", title_en="T")
        parent = add_node(session, draft, kind="indicator", code="P", title_en="P", parent=top)
    with pytest.raises(TreeError, match="cannot be placed"):
        add_node(session, draft, kind=kind, code="X", title_en="X", parent=parent)


@pytest.mark.parametrize("bad", ["", "has space", "a,b", "=SUM(A1)", "-x", "@x", "x" * 65])
def test_codes_are_safe_identifiers(session, draft, bad) -> None:
    with pytest.raises(FrameworkError):
        add_node(session, draft, kind="area", code=bad, title_en="Title")


def test_duplicate_code_and_empty_title_are_refused(session, draft) -> None:
    add_node(session, draft, kind="area", code="A", title_en="A")
    with pytest.raises(TreeError, match="already used"):
        add_node(session, draft, kind="area", code="A", title_en="Again")
    with pytest.raises(FrameworkError, match="English title is empty"):
        add_node(session, draft, kind="area", code="B", title_en="   ")


def test_edit_node_changes_texts_code_and_kind(session, draft) -> None:
    area = add_node(session, draft, kind="area", code="A", title_en="A")
    node = add_node(session, draft, kind="competency", code="C", title_en="C", parent=area)
    edit_node(session, node, code="C1", title_lt="Kompetencija", description_en="Why it matters")
    assert (node.code, node.title_en, node.title_lt, node.description_en) == ("C1", "C", "Kompetencija",
                                                                            "Why it matters")
    edit_node(session, node, kind="area")
    assert node.kind is NodeKind.AREA
    add_node(session, draft, kind="competency", code="C2", title_en="C2", parent=node)
    with pytest.raises(TreeError):
        edit_node(session, node, kind="indicator")  # an indicator cannot have children, nor sit under an area


def test_move_reorders_and_refuses_cycles(session, draft) -> None:
    a = add_node(session, draft, kind="area", code="A", title_en="A")
    b = add_node(session, draft, kind="area", code="B", title_en="B", parent=a)
    c = add_node(session, draft, kind="competency", code="C", title_en="C", parent=b)
    d = add_node(session, draft, kind="area", code="D", title_en="D")
    with pytest.raises(TreeError, match="cycle"):
        move_node(session, a, b)
    with pytest.raises(TreeError, match="cycle"):
        move_node(session, a, a)
    move_node(session, b, d)
    assert codes(draft) == ["A", "D", "B", "C"]
    assert c.parent is b and b.parent is d
    move_node(session, b, None, position=0)
    assert codes(draft) == ["B", "C", "A", "D"]
    with pytest.raises(TreeError, match="cannot be placed"):
        move_node(session, d, c)  # an area under a competency


def test_retire_keeps_rows_and_covers_the_subtree(session, draft) -> None:
    a = add_node(session, draft, kind="area", code="A", title_en="A")
    c = add_node(session, draft, kind="competency", code="C", title_en="C", parent=a)
    i = add_node(session, draft, kind="indicator", code="I", title_en="I", parent=c)
    retired = retire_node(session, c)
    assert {node.code for node in retired} == {"C", "I"}
    assert c.retired and i.retired and c.retired_at is not None and not a.retired
    with pytest.raises(TreeError, match="reinstate 'C' first"):
        reinstate_node(session, i)
    with pytest.raises(TreeError, match="is retired"):
        add_node(session, draft, kind="competency", code="J", title_en="J", parent=i.parent)
    reinstate_node(session, c)
    assert not c.retired and c.retired_at is None and i.retired


def test_delete_removes_a_subtree_with_its_requirements(session, draft) -> None:
    from competency_framework.operations import add_role_profile, set_requirement

    a = add_node(session, draft, kind="area", code="A", title_en="A")
    c = add_node(session, draft, kind="competency", code="C", title_en="C", parent=a)
    add_node(session, draft, kind="indicator", code="I", title_en="I", parent=c)
    keep = add_node(session, draft, kind="competency", code="K", title_en="K", parent=a)
    profile = add_role_profile(session, draft, code="cadet", title_en="Cadet")
    set_requirement(session, profile, c, 2)
    set_requirement(session, profile, keep, 1)
    delete_node(session, c)
    assert codes(draft) == ["A", "K"]
    assert [r.competency.code for r in profile.requirements] == ["K"]
    assert session.scalar(select(func.count(Competency.id)).where(Competency.framework_id == draft.id)) == 2


def test_nothing_evidence_points_at_can_be_deleted(session, framework, make_person) -> None:
    person = make_person()
    node = competencies_by_code(session, framework, ["CR.1"])[0]
    record_evidence(session, person_id=person.id, competency=node, source=EvidenceSource.RATING,
                    recorded_by_id=None, level=2)
    draft = new_draft_version(session, framework)
    # Even in a draft the rows evidence points at are never deleted (here: force a draft status).
    framework.status = FrameworkStatus.DRAFT
    with pytest.raises(TreeError, match="1 in evidence"):
        delete_node(session, node)
    framework.status = FrameworkStatus.PUBLISHED
    delete_node(session, node_by_code(draft, "CR.1"))  # the draft's copy has no evidence
    assert node_by_code(draft, "CR.1") is None and node_by_code(framework, "CR.1") is node


@pytest.mark.parametrize("operation", [
    lambda s, fw: add_node(s, fw, kind="area", code="Z", title_en="Z"),
    lambda s, fw: edit_node(s, fw.nodes[0], title_en="Changed"),
    lambda s, fw: move_node(s, fw.nodes[1], fw.nodes[-2]),
    lambda s, fw: retire_node(s, fw.nodes[0]),
    lambda s, fw: delete_node(s, fw.nodes[-1]),
    lambda s, fw: edit_framework(s, fw, title_en="Changed"),
])
def test_published_versions_are_read_only(session, framework, operation) -> None:
    title = framework.nodes[0].title_en
    with pytest.raises(ReadOnlyFrameworkError, match="create a new draft version"):
        operation(session, framework)
    assert framework.nodes[0].title_en == title


def test_scale_levels_must_be_ordered_with_a_threshold_among_them(session) -> None:
    with pytest.raises(FrameworkError, match="out of order"):
        create_scale(session, code="B1", title_en="Bad", proficient_level=1,
                     levels=[LEVELS[1], LEVELS[0], LEVELS[2]])
    with pytest.raises(FrameworkError, match="proficient level 4"):
        create_scale(session, code="B2", title_en="Bad", proficient_level=4, levels=LEVELS)
    with pytest.raises(FrameworkError, match="2–20 levels"):
        create_scale(session, code="B3", title_en="Bad", proficient_level=1, levels=LEVELS[:1])
    with pytest.raises(FrameworkError, match="duplicate code"):
        create_scale(session, code="B4", title_en="Bad", proficient_level=1,
                     levels=[LEVELS[0], {**LEVELS[1], "code": "l1"}])


def test_a_scale_used_by_a_published_version_is_frozen(session, framework, scale, draft) -> None:
    with pytest.raises(ReadOnlyFrameworkError):
        update_scale(session, framework.scale, title_en="Renamed")
    update_scale(session, scale, proficient_level=3,
                 levels=[*LEVELS, {"value": 4, "code": "l4", "title_en": "Four", "descriptor_en": "Leads others"}])
    assert [level.code for level in scale.levels] == ["l1", "l2", "l3", "l4"]
    assert scale.proficient_level == 3 and scale.levels[-1].descriptor_en == "Leads others"


def test_changing_a_drafts_scale_checks_role_requirements(session, framework, scale) -> None:
    draft = new_draft_version(session, framework)  # the sample's officer profile requires level 3 of 4
    small = create_scale(session, code="S2", title_en="Two", proficient_level=2, levels=LEVELS[:2])
    with pytest.raises(FrameworkError, match="requires level 3"):
        set_framework_scale(session, draft, small)
    set_framework_scale(session, draft, scale)
    assert draft.scale is scale
