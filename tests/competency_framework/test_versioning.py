"""Versions: drafts copy everything, publishing archives the old version without touching
its rows, evidence stays on the rows it was recorded against, profiles map by code."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from competency_framework.errors import EvidenceError, FrameworkError, ReadOnlyFrameworkError
from competency_framework.models import Evidence, EvidenceSource, Framework, FrameworkStatus
from competency_framework.operations import (
    add_node,
    compare_versions,
    competencies_by_code,
    current_framework,
    delete_node,
    discard_draft,
    edit_node,
    framework_versions,
    map_competencies,
    move_node,
    new_draft_version,
    person_profile,
    publish,
    record_evidence,
    retire_node,
    set_policy,
)
from competency_framework.tree import node_by_code


def snapshot(framework: Framework) -> list[tuple]:
    return [(n.code, n.kind, None if n.parent is None else n.parent.code, n.title_en, n.title_lt, n.sort_order,
             n.retired) for n in framework.nodes]


def test_new_draft_copies_tree_scale_profiles_links_and_policy(session: Session, framework: Framework) -> None:
    set_policy(session, framework, rule="highest_source_priority", rollup="all_children")
    draft = new_draft_version(session, framework)
    assert (draft.code, draft.version, draft.status) == ("CO", 2, FrameworkStatus.DRAFT)
    assert draft.scale is framework.scale
    assert snapshot(draft) == snapshot(framework)
    assert {n.id for n in draft.nodes}.isdisjoint({n.id for n in framework.nodes})
    assert [(p.code, sorted((r.competency.code, r.level) for r in p.requirements)) for p in draft.role_profiles] == \
        [(p.code, sorted((r.competency.code, r.level) for r in p.requirements)) for p in framework.role_profiles]
    assert all(r.competency.framework is draft for p in draft.role_profiles for r in p.requirements)
    assert draft.policy.rule.value == "highest_source_priority" and draft.policy.rollup.value == "all_children"


def test_only_one_draft_per_framework(session, framework) -> None:
    draft = new_draft_version(session, framework)
    with pytest.raises(FrameworkError, match="already has a draft"):
        new_draft_version(session, framework)
    with pytest.raises(FrameworkError, match="already a draft"):
        new_draft_version(session, draft)


def test_publish_archives_the_old_version_and_leaves_its_rows_and_evidence(session, framework, make_person) -> None:
    person = make_person()
    old_node = competencies_by_code(session, framework, ["DS.1"])[0]
    evidence = record_evidence(session, person_id=person.id, competency=old_node, source=EvidenceSource.RATING,
                               recorded_by_id=None, level=3)
    before = snapshot(framework)
    draft = new_draft_version(session, framework)
    edit_node(session, node_by_code(draft, "DS.1"), title_en="Knows the inmates well")
    retire_node(session, node_by_code(draft, "DS.2"))
    publish(session, draft)
    assert framework.status is FrameworkStatus.ARCHIVED and draft.status is FrameworkStatus.PUBLISHED
    assert current_framework(session) is draft and current_framework(session, "CO") is draft
    assert snapshot(framework) == before
    session.expire_all()
    stored = session.get(Evidence, evidence.id)
    assert stored.competency_id == old_node.id and stored.competency.framework.version == 1
    assert [f.version for f in framework_versions(session, "CO")] == [1, 2]


def test_profile_against_either_version_maps_evidence_by_code(session, framework, make_person) -> None:
    person = make_person()
    record_evidence(session, person_id=person.id, competency=competencies_by_code(session, framework, ["DS.1"])[0],
                    source=EvidenceSource.RATING, recorded_by_id=None, level=2)
    draft = new_draft_version(session, framework)
    add_node(session, draft, kind="competency", code="DS.3", title_en="Reads the wing", parent=node_by_code(draft, "DS"))
    publish(session, draft)
    record_evidence(session, person_id=person.id, competency=node_by_code(draft, "DS.3"),
                    source=EvidenceSource.RATING, recorded_by_id=None, level=4)
    new = {row.competency.code: row for row in person_profile(session, draft, person.id, "cadet")}
    old = {row.competency.code: row for row in person_profile(session, framework, person.id, "cadet")}
    assert new["DS.1"].level == 2 and new["DS.1"].competency.framework is draft
    assert new["DS.3"].level == 4 and "DS.3" not in old
    assert old["DS.1"].level == 2 and old["DS.1"].competency.framework is framework
    assert new["DS.1"].evidence[0].competency.framework is framework  # history shows where it was recorded
    assert new["DS.1"].explanation.params["version"] == 1 and new["DS.3"].explanation.params["version"] == 2


def test_evidence_on_another_scale_is_shown_but_not_counted(session, framework, make_person) -> None:
    from competency_framework.operations import create_scale, set_framework_scale

    person = make_person()
    record_evidence(session, person_id=person.id, competency=competencies_by_code(session, framework, ["CR.1"])[0],
                    source=EvidenceSource.RATING, recorded_by_id=None, level=4)
    draft = new_draft_version(session, framework)
    scale = create_scale(session, code="S5", title_en="Five", proficient_level=3,
                         levels=[{"value": v, "code": f"s{v}", "title_en": f"L{v}"} for v in range(1, 6)])
    set_framework_scale(session, draft, scale)
    publish(session, draft)
    row = next(r for r in person_profile(session, draft, person.id, None) if r.competency.code == "CR.1")
    assert row.level is None and row.evidence_count == 1
    assert row.explanation.key == "rule.no_evidence"


def test_drafts_take_no_evidence(session, framework, make_person) -> None:
    draft = new_draft_version(session, framework)
    with pytest.raises(EvidenceError, match="draft"):
        record_evidence(session, person_id=make_person().id, competency=node_by_code(draft, "DS.1"),
                        source=EvidenceSource.RATING, recorded_by_id=None, level=1)


def test_publishing_checks_the_draft(session, framework) -> None:
    draft = new_draft_version(session, framework)
    for node in [n for n in draft.nodes if n.parent is None]:
        retire_node(session, node)
    with pytest.raises(FrameworkError, match="no active competency"):
        publish(session, draft)
    with pytest.raises(ReadOnlyFrameworkError):
        publish(session, framework)


def test_map_and_compare_versions(session, framework) -> None:
    draft = new_draft_version(session, framework)
    edit_node(session, node_by_code(draft, "DS.1"), title_lt="Pažįsta")
    move_node(session, node_by_code(draft, "DS.2"), node_by_code(draft, "CR"))
    retire_node(session, node_by_code(draft, "CR.1"))
    delete_node(session, node_by_code(draft, "DS.1.b"))
    add_node(session, draft, kind="area", code="NEW", title_en="New area")
    mapping = map_competencies(framework, draft)
    assert mapping[node_by_code(framework, "DS.1").id] is node_by_code(draft, "DS.1")
    assert mapping[node_by_code(framework, "DS.1.b").id] is None
    diff = compare_versions(framework, draft)
    assert diff.added == ["NEW"] and diff.removed == ["DS.1.b"] and diff.retired == ["CR.1"]
    assert diff.moved == ["DS.2"] and diff.changed == {"DS.1": ["title_lt"]}
    assert compare_versions(framework, framework).is_empty


def test_discard_draft_removes_it_entirely(session, framework) -> None:
    draft = new_draft_version(session, framework)
    draft_id = draft.id
    discard_draft(session, draft)
    assert session.get(Framework, draft_id) is None
    assert session.scalars(select(Framework)).all() == [framework]
    with pytest.raises(ReadOnlyFrameworkError):
        discard_draft(session, framework)
