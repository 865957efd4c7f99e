"""Gaps between what people show and what their role requires: one person, a cohort, a unit.

The cohort matrix reuses the proficiency engine (one evidence query, numpy selection), so
the matrix and the profile page always agree. Builders downstream (reports, charts) take
the plain rows this module hands out, not ORM queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError
from competency_framework.models import Competency, Framework
from competency_framework.proficiency import Policy, ProficiencyRow, compute_levels, person_profile
from competency_framework.tree import active_competencies


@dataclass(frozen=True)
class GapCell:
    person_id: int
    competency_code: str
    level: int | None
    required: int | None
    gap: int | None


@dataclass(frozen=True)
class BelowCount:
    competency: Competency
    below: int
    required: int

    @property
    def share(self) -> float:
        return self.below / self.required if self.required else 0.0


@dataclass
class GapMatrix:
    """Competency × person: levels and required levels (0 = none / not required)."""

    framework: Framework
    person_ids: np.ndarray
    role_codes: list[str | None]
    competencies: list[Competency]
    levels: np.ndarray
    required: np.ndarray
    unknown_roles: frozenset[str] = frozenset()

    @property
    def below(self) -> np.ndarray:
        return (self.required > 0) & (self.levels < self.required)

    @property
    def gaps(self) -> np.ndarray:
        return np.where(self.required > 0, np.maximum(self.required - self.levels, 0), 0).astype(np.int16)

    def most_below(self, limit: int | None = 10) -> list[BelowCount]:
        """Competencies with the most people below their requirement (ties: tree order)."""
        below = self.below.sum(axis=0)
        required = (self.required > 0).sum(axis=0)
        order = sorted(range(len(self.competencies)), key=lambda j: (-int(below[j]), j))
        result = [BelowCount(self.competencies[j], int(below[j]), int(required[j])) for j in order if below[j]]
        return result if limit is None else result[:limit]

    def cells(self) -> Iterator[GapCell]:
        gaps = self.gaps
        for i, person in enumerate(self.person_ids.tolist()):
            for j, node in enumerate(self.competencies):
                level, required = int(self.levels[i, j]), int(self.required[i, j])
                yield GapCell(person, node.code, level or None, required or None,
                              int(gaps[i, j]) if required else None)


def _people(people: Mapping[int, str | None] | Iterable[tuple[int, str | None]]) -> list[tuple[int, str | None]]:
    items = people.items() if isinstance(people, Mapping) else people
    return [(int(person), role) for person, role in items]


def gap_matrix(session: Session, framework: Framework,
               people: Mapping[int, str | None] | Iterable[tuple[int, str | None]], *,
               codes: Sequence[str] | None = None, policy: Policy | None = None) -> GapMatrix:
    """Levels and requirements for each person (id → role profile code) on each competency.

    Columns are ``codes`` in that order, or every active competency in tree order.
    A role code this version does not define contributes no requirements (listed in
    ``unknown_roles`` so the page can say so).
    """
    pairs = _people(people)
    matrix = compute_levels(session, framework, [person for person, _ in pairs], policy=policy)
    position = {node.code: j for j, node in enumerate(matrix.nodes)}
    if codes is None:
        columns = [position[node.code] for node in active_competencies(framework)]
    else:
        missing = [code for code in codes if code not in position]
        if missing:
            raise FrameworkError(f"unknown competency code(s) in {framework.code}: {', '.join(missing)}")
        columns = [position[code] for code in codes]
    competencies = [matrix.nodes[j] for j in columns]
    column_of = {node.id: c for c, node in enumerate(competencies)}
    profiles = {profile.code: profile for profile in framework.role_profiles}
    vectors: dict[str | None, np.ndarray] = {None: np.zeros(len(columns), dtype=np.int16)}
    unknown: set[str] = set()
    for _, role in pairs:
        if role in vectors:
            continue
        vector = np.zeros(len(columns), dtype=np.int16)
        profile = profiles.get(role)
        if profile is None:
            unknown.add(role)
        else:
            for requirement in profile.requirements:
                c = column_of.get(requirement.competency_id)
                if c is not None:
                    vector[c] = requirement.level
        vectors[role] = vector
    # compute_levels dropped duplicate ids keeping the first; take roles in the same order.
    role_of = {}
    for person, role in pairs:
        role_of.setdefault(person, role)
    roles = [role_of[int(person)] for person in matrix.person_ids.tolist()]
    required = (np.stack([vectors[role] for role in roles]) if roles
                else np.zeros((0, len(columns)), dtype=np.int16))
    levels = matrix.levels[:, columns] if len(columns) else np.zeros((len(roles), 0), dtype=np.int16)
    return GapMatrix(framework, matrix.person_ids, roles, competencies, levels, required, frozenset(unknown))


def competencies_most_below(matrix: GapMatrix, limit: int | None = 10) -> list[BelowCount]:
    return matrix.most_below(limit)


def person_gaps(session: Session, framework: Framework, person_id: int,
                role_profile_code: str | None) -> list[ProficiencyRow]:
    """The person's competencies below the role's requirement, largest gap first."""
    rows = [row for row in person_profile(session, framework, person_id, role_profile_code) if row.gap]
    return sorted(rows, key=lambda row: -(row.gap or 0))
