"""Gaps: one person against a role, and the competency × person matrix of a cohort."""

from __future__ import annotations

import numpy as np
import pytest

from competency_framework.errors import FrameworkError
from competency_framework.models import EvidenceSource
from competency_framework.operations import gap_matrix, person_gaps, person_profile, record_evidence
from competency_framework.tree import node_by_code


@pytest.fixture()
def cohort(session, framework, make_person):
    """Three cadets and an officer with a few ratings each."""
    levels = {0: {"DS.1": 3, "DS.2": 1}, 1: {"DS.1": 1, "CR.1": 2}, 2: {}, 3: {"DS.1": 3, "DS.2": 3, "CR.1": 2}}
    people = [make_person("cadet"), make_person("cadet"), make_person("cadet"), make_person("officer")]
    for i, person in enumerate(people):
        for code, level in levels[i].items():
            record_evidence(session, person_id=person.id, competency=node_by_code(framework, code),
                            source=EvidenceSource.RATING, recorded_by_id=None, level=level)
    return people


def test_person_gaps_largest_first(session, framework, cohort) -> None:
    gaps = person_gaps(session, framework, cohort[1].id, "cadet")
    assert [(r.competency.code, r.level, r.required, r.gap) for r in gaps] == [("DS.1", 1, 2, 1),
                                                                                ("DS.2", None, 1, 1)]
    assert person_gaps(session, framework, cohort[1].id, None) == []


def test_matrix_levels_requirements_and_gaps(session, framework, cohort) -> None:
    matrix = gap_matrix(session, framework, {p.id: p.role_profile_code for p in cohort})
    assert [c.code for c in matrix.competencies] == ["DS.1", "DS.2", "CR.1"]
    assert matrix.levels.tolist() == [[3, 1, 0], [1, 0, 2], [0, 0, 0], [3, 3, 2]]
    assert matrix.required.tolist() == [[2, 1, 2], [2, 1, 2], [2, 1, 2], [3, 3, 3]]
    assert matrix.gaps.tolist() == [[0, 0, 2], [1, 1, 0], [2, 1, 2], [0, 0, 1]]
    assert matrix.below.sum() == 7
    top = matrix.most_below()
    assert [(b.competency.code, b.below, b.required) for b in top] == [("CR.1", 3, 4), ("DS.1", 2, 4),
                                                                       ("DS.2", 2, 4)]
    assert top[0].share == 0.75
    cells = {(c.person_id, c.competency_code): c for c in matrix.cells()}
    assert cells[(cohort[2].id, "DS.2")].level is None and cells[(cohort[2].id, "DS.2")].gap == 1


def test_matrix_agrees_with_each_profile(session, framework, cohort) -> None:
    matrix = gap_matrix(session, framework, [(p.id, p.role_profile_code) for p in cohort])
    for i, person in enumerate(cohort):
        rows = person_profile(session, framework, person.id, person.role_profile_code)
        assert [r.gap for r in rows] == matrix.gaps[i].tolist()


def test_matrix_columns_unknown_roles_and_empty_cohorts(session, framework, cohort) -> None:
    matrix = gap_matrix(session, framework, {cohort[0].id: "governor", cohort[3].id: None}, codes=["CR.1", "DS.1.a"])
    assert [c.code for c in matrix.competencies] == ["CR.1", "DS.1.a"]
    assert matrix.unknown_roles == {"governor"} and not matrix.required.any()
    assert matrix.most_below() == []
    with pytest.raises(FrameworkError, match="NOPE"):
        gap_matrix(session, framework, {cohort[0].id: "cadet"}, codes=["NOPE"])
    empty = gap_matrix(session, framework, {})
    assert empty.levels.shape == (0, 3) and isinstance(empty.person_ids, np.ndarray)
