"""Role profiles: required levels set and cleared, checked against the scale."""

from __future__ import annotations

import pytest

from competency_framework.errors import FrameworkError, ReadOnlyFrameworkError, TreeError
from competency_framework.operations import (
    add_role_profile,
    clear_requirement,
    delete_role_profile,
    edit_role_profile,
    new_draft_version,
    retire_node,
    role_profile,
    set_requirement,
    set_requirements,
)
from competency_framework.roles import requirement_levels
from competency_framework.tree import node_by_code


@pytest.fixture()
def draft(session, framework):
    return new_draft_version(session, framework)


def levels(profile) -> dict[str, int]:
    return {r.competency.code: r.level for r in profile.requirements}


def test_add_profile_and_set_levels(session, draft) -> None:
    profile = add_role_profile(session, draft, code="contact_officer", title_en="Contact officer",
                               title_lt="Kontaktinis pareigūnas")
    set_requirement(session, profile, node_by_code(draft, "DS.1"), 3)
    set_requirement(session, profile, node_by_code(draft, "DS.1"), 4)
    set_requirements(session, profile, {"DS.2": 2, "CR.1": 3})
    assert levels(profile) == {"DS.1": 4, "DS.2": 2, "CR.1": 3}
    assert clear_requirement(session, profile, node_by_code(draft, "DS.2"))
    assert not clear_requirement(session, profile, node_by_code(draft, "DS.2"))
    set_requirements(session, profile, {"CR.1": None})
    assert levels(profile) == {"DS.1": 4}
    assert role_profile(session, draft, "contact_officer") is profile
    assert requirement_levels(profile) == {node_by_code(draft, "DS.1").id: 4}


@pytest.mark.parametrize("level", [0, 5, -1, "three", 2.5, True])
def test_levels_must_be_on_the_scale(session, draft, level) -> None:
    profile = role_profile(session, draft, "cadet")
    with pytest.raises(FrameworkError):
        set_requirement(session, profile, node_by_code(draft, "DS.1"), level)
    assert levels(profile)["DS.1"] == 2


def test_bulk_set_is_all_or_nothing(session, draft) -> None:
    profile = role_profile(session, draft, "cadet")
    with pytest.raises(TreeError, match="unknown competency 'NOPE'"):
        set_requirements(session, profile, {"DS.1": 4, "NOPE": 1})
    with pytest.raises(FrameworkError, match="not on scale"):
        set_requirements(session, profile, {"DS.1": 4, "CR.1": 9})
    assert levels(profile)["DS.1"] == 2


def test_retired_nodes_and_duplicate_codes_are_refused(session, draft) -> None:
    retire_node(session, node_by_code(draft, "CR.1"))
    with pytest.raises(TreeError, match="retired"):
        set_requirement(session, role_profile(session, draft, "cadet"), node_by_code(draft, "CR.1"), 2)
    with pytest.raises(FrameworkError, match="already exists"):
        add_role_profile(session, draft, code="cadet", title_en="Again")


def test_edit_and_delete_profile(session, draft) -> None:
    profile = role_profile(session, draft, "officer")
    edit_role_profile(session, profile, description_en="Serving officer", title_lt="Pareigūnas (LT)")
    assert profile.description_en == "Serving officer" and profile.title_en == "Officer"
    delete_role_profile(session, profile)
    assert [p.code for p in draft.role_profiles] == ["cadet"]


def test_published_profiles_are_read_only(session, framework) -> None:
    profile = role_profile(session, framework, "cadet")
    with pytest.raises(ReadOnlyFrameworkError):
        set_requirement(session, profile, node_by_code(framework, "DS.1"), 3)
    with pytest.raises(ReadOnlyFrameworkError):
        add_role_profile(session, framework, code="mentor", title_en="Mentor")
