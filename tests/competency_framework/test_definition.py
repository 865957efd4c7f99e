"""The fixture format loader: published, idempotent, validated with the failing path named."""

from __future__ import annotations

import pytest

from competency_framework.interchange import InterchangeError
from competency_framework.models import FrameworkStatus, NodeKind
from competency_framework.operations import load_framework_definition

from .interchange_helpers import table_counts


def test_loads_published_tree_scale_and_profiles(session, framework) -> None:
    assert framework.status is FrameworkStatus.PUBLISHED and framework.published_at is not None
    assert [(n.code, n.kind, n.sort_order) for n in framework.nodes[:3]] == [
        ("DS", NodeKind.AREA, 1), ("DS.1", NodeKind.COMPETENCY, 2), ("DS.1.a", NodeKind.INDICATOR, 3)]
    assert framework.scale.proficient_level == 3 and framework.scale.levels[0].descriptor_lt == "Žino idėją."
    officer = next(p for p in framework.role_profiles if p.code == "officer")
    assert sorted((r.competency.code, r.level) for r in officer.requirements) == [("CR.1", 3), ("DS.1", 3), ("DS.2", 3)]


def test_loading_again_changes_nothing(session, framework, definition) -> None:
    before = table_counts(session)
    assert load_framework_definition(session, definition) is framework
    assert table_counts(session) == before


def test_a_new_version_archives_the_old_one_and_shares_the_scale(session, framework, definition) -> None:
    definition["framework"]["version"] = 2
    second = load_framework_definition(session, definition)
    assert (second.version, second.status, framework.status) == (2, FrameworkStatus.PUBLISHED, FrameworkStatus.ARCHIVED)
    assert second.scale is framework.scale


@pytest.mark.parametrize("change, message", [
    (lambda d: d["framework"]["areas"][1]["competencies"][0].update(code="DS.1"),
     "areas[1].competencies[0].code: duplicate id 'DS.1'"),
    (lambda d: d["role_profiles"][0]["requirements"].update({"XX": 1}),
     "role_profiles[0].requirements.XX: role profile 'cadet': unknown competency 'XX'"),
    (lambda d: d["role_profiles"][0]["requirements"].update({"DS.1": 9}),
     "role_profiles[0].requirements.DS.1: bad scale: required level 9"),
    (lambda d: d["framework"]["scale"].update(proficient_level=7), "framework.scale.proficient_level: bad scale"),
    (lambda d: d["framework"]["scale"]["levels"][1].update(value=3), "framework.scale.levels[1].value: bad scale"),
    (lambda d: d["framework"]["areas"][0].update(title_en=""), "areas[0].title_en: title is empty"),
])
def test_invalid_definitions_name_the_path(session, definition, change, message) -> None:
    change(definition)
    with pytest.raises(InterchangeError) as raised:
        load_framework_definition(session, definition)
    assert str(raised.value).startswith(message), str(raised.value)
    assert table_counts(session) == (0, 0, 0, 0, 0)


def test_the_shipped_framework_fixture_loads_and_survives_every_format(session) -> None:
    """The demo framework goes through the same validation, and out and back in each format."""
    from pathlib import Path

    import yaml

    from competency_framework.interchange import Format, document_from_framework, export_framework, import_framework
    from competency_framework.operations import publish

    path = Path(__file__).parents[2] / "fixtures" / "framework.yaml"
    with path.open(encoding="utf-8") as handle:
        framework = load_framework_definition(session, yaml.safe_load(handle))
    assert framework.status is FrameworkStatus.PUBLISHED and len(framework.role_profiles) >= 7
    expected = document_from_framework(framework).canonical()
    for kind in Format:
        imported = import_framework(session, export_framework(framework, kind)).framework
        got = document_from_framework(imported).canonical()
        assert got["nodes"] == expected["nodes"] and got["scale"] == expected["scale"], kind
        if kind is Format.XLSX:
            assert got["role_profiles"] == expected["role_profiles"]
        publish(session, imported)
