"""From evidence to a proficiency level, by an explicit rule the admin chooses and can read.

The rule (``Policy``) has two parts:

* how a node's *own* evidence becomes a level:
  ``latest_rating`` — the most recent evidence that carries a level, from a source the
  policy authorises (an override is always authorised); or
  ``highest_source_priority`` — the evidence from the highest-ranking source
  (by default override > assessor rating > practice sign-off > course > psychometric >
  prior learning > self-assessment), the most recent within that source.
  Evidence that only says "achieved" counts as ``achieved_level`` when the policy sets one.
  Superseded (corrected or withdrawn) records never count.
* whether a parent follows its children (``rollup``): ``all_children`` — the lowest level
  all active children reach; ``at_least_n_children`` — the highest level at least *n* of
  them reach. A parent takes the higher of its own and its children's level, except that
  an override on the parent always stands.

One engine (``compute_levels``) serves one person and a cohort: a single query reads
the evidence as plain numbers, ordered by time, and numpy picks the winning record per
person and node. Evidence recorded against other versions of the same framework is
matched by competency code when they share the scale (levels on another scale mean
something else, so they are shown in the history but not counted).

Every level comes with an ``Explanation`` (a message key and parameters, never rendered
text) so the app can say "level 3 because …" in either language.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np
from sqlalchemy import Integer, String, case, func, select, type_coerce
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError
from competency_framework.evidence import evidence_history
from competency_framework.models import (
    AggregationRule,
    Competency,
    Evidence,
    EvidenceSource,
    Framework,
    NodeKind,
    ProficiencyPolicy,
    RollupRule,
)
from competency_framework.roles import requirement_levels, role_profile
from competency_framework.tree import walk
from lms_plugin.core.base import utcnow

ALL_SOURCES: tuple[EvidenceSource, ...] = tuple(EvidenceSource)
DEFAULT_SOURCE_PRIORITY: tuple[EvidenceSource, ...] = (
    EvidenceSource.OVERRIDE, EvidenceSource.RATING, EvidenceSource.PRACTICE_SIGNOFF, EvidenceSource.COURSE,
    EvidenceSource.PSYCHOMETRIC, EvidenceSource.PRIOR_LEARNING, EvidenceSource.SELF_ASSESSMENT)
DEFAULT_AUTHORISED: tuple[EvidenceSource, ...] = tuple(
    source for source in ALL_SOURCES if source is not EvidenceSource.SELF_ASSESSMENT)
PERSON_CHUNK = 5000  # persons per query: keeps the IN list under every backend's parameter limit


class Explanation(NamedTuple):
    """A message key and its parameters; the app translates and renders it."""

    key: str
    params: dict[str, Any]


NO_EVIDENCE = Explanation("rule.no_evidence", {})


class Origin(enum.IntEnum):
    NONE = 0
    EVIDENCE = 1
    OVERRIDE = 2
    ROLLUP = 3


@dataclass(frozen=True)
class Policy:
    """The aggregation rule as a value; ``policy_for`` reads it, ``set_policy`` stores it."""

    rule: AggregationRule = AggregationRule.LATEST_RATING
    authorised_sources: tuple[EvidenceSource, ...] = DEFAULT_AUTHORISED
    source_priority: tuple[EvidenceSource, ...] = DEFAULT_SOURCE_PRIORITY
    achieved_level: int | None = None
    rollup: RollupRule = RollupRule.NONE
    rollup_min_children: int = 1

    def describe(self) -> list[Explanation]:
        """The rule in keys and parameters, for the admin's settings page and the profile legend."""
        if self.rule is AggregationRule.LATEST_RATING:
            parts = [Explanation("policy.latest_rating",
                                 {"sources": [source.value for source in self.authorised_sources]})]
        else:
            parts = [Explanation("policy.highest_source_priority",
                                 {"order": [source.value for source in self.source_priority]})]
        if self.achieved_level is not None:
            parts.append(Explanation("policy.achieved_level", {"level": self.achieved_level}))
        if self.rollup is RollupRule.ALL_CHILDREN:
            parts.append(Explanation("policy.rollup_all", {}))
        elif self.rollup is RollupRule.AT_LEAST_N_CHILDREN:
            parts.append(Explanation("policy.rollup_at_least", {"n": self.rollup_min_children}))
        return parts


def policy_for(framework: Framework) -> Policy:
    row = framework.policy
    if row is None:
        return Policy()
    return Policy(
        rule=row.rule,
        authorised_sources=tuple(EvidenceSource(value) for value in row.authorised_sources or ())
        or DEFAULT_AUTHORISED,
        source_priority=tuple(EvidenceSource(value) for value in row.source_priority or ()) or DEFAULT_SOURCE_PRIORITY,
        achieved_level=row.achieved_level, rollup=row.rollup, rollup_min_children=row.rollup_min_children)


def _sources(values: Iterable[EvidenceSource | str], what: str) -> list[EvidenceSource]:
    result: list[EvidenceSource] = []
    for value in values:
        try:
            source = EvidenceSource(value)
        except ValueError:
            raise FrameworkError(f"{what}: unknown evidence source {value!r}") from None
        if source in result:
            raise FrameworkError(f"{what}: {source.value} is listed twice")
        result.append(source)
    return result


def set_policy(session: Session, framework: Framework, *, rule: AggregationRule | str | None = None,
               authorised_sources: Iterable[EvidenceSource | str] | None = None,
               source_priority: Iterable[EvidenceSource | str] | None = None,
               achieved_level: int | None | Any = ..., rollup: RollupRule | str | None = None,
               rollup_min_children: int | None = None, updated_by_id: int | None = None) -> ProficiencyPolicy:
    """Choose the aggregation rule of a version. Allowed on published versions too: it is policy,
    not content. Arguments left out keep their current value (``achieved_level=None`` clears it)."""
    row = framework.policy
    if row is None:
        current = Policy()
        row = ProficiencyPolicy(rule=current.rule, authorised_sources=[s.value for s in current.authorised_sources],
                                source_priority=[s.value for s in current.source_priority],
                                achieved_level=None, rollup=current.rollup, rollup_min_children=1)
        framework.policy = row
    if rule is not None:
        row.rule = AggregationRule(rule)
    if authorised_sources is not None:
        chosen = _sources(authorised_sources, "authorised sources")
        if not chosen:
            raise FrameworkError("authorised sources: choose at least one")
        row.authorised_sources = [source.value for source in chosen]
    if source_priority is not None:
        order = _sources(source_priority, "source priority")
        if not order:
            raise FrameworkError("source priority: list at least one source")
        row.source_priority = [source.value for source in order]
    if achieved_level is not ...:
        if achieved_level is not None and (isinstance(achieved_level, bool) or not isinstance(achieved_level, int)
                                           or not 1 <= achieved_level <= framework.scale.max_level):
            raise FrameworkError(f"achieved level {achieved_level!r} is not on the scale")
        row.achieved_level = achieved_level
    if rollup is not None:
        row.rollup = RollupRule(rollup)
    if rollup_min_children is not None:
        if isinstance(rollup_min_children, bool) or not isinstance(rollup_min_children, int) or rollup_min_children < 1:
            raise FrameworkError("the number of children must be a whole number of at least 1")
        row.rollup_min_children = rollup_min_children
    row.updated_at = utcnow()
    row.updated_by_id = updated_by_id
    session.flush()
    return row


@dataclass
class LevelMatrix:
    """Levels of P people on the N nodes of one framework version (tree order); 0 means none."""

    framework: Framework
    policy: Policy
    person_ids: np.ndarray
    nodes: list[Competency]
    levels: np.ndarray
    evidence_ids: np.ndarray
    origin: np.ndarray
    counts: np.ndarray
    children: dict[int, list[int]] = field(default_factory=dict)

    def index_of(self, code: str) -> int:
        for position, node in enumerate(self.nodes):
            if node.code == code:
                return position
        raise KeyError(code)

    def row_of(self, person_id: int) -> int:
        hits = np.flatnonzero(self.person_ids == person_id)
        if not len(hits):
            raise KeyError(person_id)
        return int(hits[0])


def _evidence_rows(session: Session, framework: Framework, person_ids: Sequence[int]) -> np.ndarray:
    """Evidence as an int64 array, oldest first: id, person, competency, source, level, achieved, supersedes."""
    source_index = case({source.value: position for position, source in enumerate(ALL_SOURCES)},
                        value=type_coerce(Evidence.source, String), else_=-1)
    achieved = case((Evidence.achieved.is_(None), -1), (Evidence.achieved.is_(True), 1), else_=0)
    chunks = []
    for start in range(0, len(person_ids), PERSON_CHUNK):
        part = [int(value) for value in person_ids[start:start + PERSON_CHUNK]]
        statement = (
            select(Evidence.id, Evidence.person_id, Evidence.competency_id, source_index,
                   func.coalesce(Evidence.level, 0), type_coerce(achieved, Integer),
                   func.coalesce(Evidence.supersedes_id, 0))
            .join(Competency, Competency.id == Evidence.competency_id)
            .join(Framework, Framework.id == Competency.framework_id)
            .where(Framework.code == framework.code, Framework.scale_id == framework.scale_id,
                   Evidence.person_id.in_(part))
            .order_by(Evidence.recorded_at, Evidence.id))
        # Core execution and a flat iterator: no ORM row processing, no per-row numpy probing.
        result = session.connection().execute(statement)
        flat = np.fromiter(itertools.chain.from_iterable(result), dtype=np.int64)
        if len(flat):
            chunks.append(flat.reshape(-1, 7))
    if not chunks:
        return np.zeros((0, 7), dtype=np.int64)
    return np.concatenate(chunks)


def _node_lookup(session: Session, framework: Framework, nodes: list[Competency]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted competency ids of every same-scale version, and the target node index of each (-1: none)."""
    position = {node.code: index for index, node in enumerate(nodes)}
    rows = session.execute(select(Competency.id, Competency.code).join(Framework, Framework.id == Competency.framework_id)
                           .where(Framework.code == framework.code, Framework.scale_id == framework.scale_id)
                           .order_by(Competency.id)).all()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    target = np.array([position.get(row[1], -1) for row in rows], dtype=np.int64)
    return ids, target


def compute_levels(session: Session, framework: Framework, person_ids: Iterable[int], *,
                   policy: Policy | None = None) -> LevelMatrix:
    """Levels for many people at once: one query per 5,000 people, then vectorised selection."""
    policy = policy or policy_for(framework)
    people = np.array(list(dict.fromkeys(int(pid) for pid in person_ids)), dtype=np.int64)
    tree = list(walk(framework))
    nodes = [node for node, _ in tree]
    n_people, n_nodes = len(people), len(nodes)
    levels = np.zeros((n_people, n_nodes), dtype=np.int16)
    evidence_ids = np.zeros((n_people, n_nodes), dtype=np.int64)
    origin = np.zeros((n_people, n_nodes), dtype=np.int8)
    counts = np.zeros((n_people, n_nodes), dtype=np.int32)
    node_index = {id(node): position for position, node in enumerate(nodes)}
    children: dict[int, list[int]] = {}
    for position, node in enumerate(nodes):
        if node.parent is not None and not node.retired:
            children.setdefault(node_index[id(node.parent)], []).append(position)
    matrix = LevelMatrix(framework, policy, people, nodes, levels, evidence_ids, origin, counts, children)
    if n_people == 0 or n_nodes == 0:
        return matrix

    rows = _evidence_rows(session, framework, people)
    if len(rows):
        family_ids, family_target = _node_lookup(session, framework, nodes)
        ids, pids, cids, source, level, achieved, supersedes = rows.T
        person_order = np.argsort(people)
        pidx = person_order[np.searchsorted(people[person_order], pids)]
        nidx = family_target[np.searchsorted(family_ids, cids)]
        mapped = nidx >= 0
        ids, source, level, achieved, supersedes = (ids[mapped], source[mapped], level[mapped], achieved[mapped],
                                                    supersedes[mapped])
        key = pidx[mapped] * n_nodes + nidx[mapped]
        counts.reshape(-1)[:] = np.bincount(key, minlength=n_people * n_nodes)

        effective = level.copy()
        if policy.achieved_level is not None:
            effective[(level == 0) & (achieved == 1)] = policy.achieved_level
        top = len(framework.scale.levels)
        eligible = (effective > 0) & (effective <= top) & ~np.isin(ids, supersedes[supersedes > 0])
        override = ALL_SOURCES.index(EvidenceSource.OVERRIDE)
        position = np.arange(len(ids), dtype=np.int64)
        if policy.rule is AggregationRule.LATEST_RATING:
            authorised = np.zeros(len(ALL_SOURCES) + 1, dtype=bool)
            for item in (*policy.authorised_sources, EvidenceSource.OVERRIDE):
                authorised[ALL_SOURCES.index(item)] = True
            eligible &= authorised[source]
            strength = position
        else:
            rank = np.full(len(ALL_SOURCES) + 1, -1, dtype=np.int64)
            for place, item in enumerate(policy.source_priority):
                rank[ALL_SOURCES.index(item)] = len(policy.source_priority) - place
            eligible &= rank[source] > 0
            strength = rank[source] * (len(ids) + 1) + position
        chosen = np.flatnonzero(eligible)
        if len(chosen):
            order = np.lexsort((strength[chosen], key[chosen]))
            chosen = chosen[order]
            sorted_keys = key[chosen]
            last = np.append(sorted_keys[1:] != sorted_keys[:-1], True)
            winners, cells = chosen[last], sorted_keys[last]
            levels.reshape(-1)[cells] = effective[winners]
            evidence_ids.reshape(-1)[cells] = ids[winners]
            origin.reshape(-1)[cells] = np.where(source[winners] == override, Origin.OVERRIDE, Origin.EVIDENCE)

    if policy.rollup is not RollupRule.NONE:
        depth = {position: d for position, (_node, d) in enumerate(tree)}
        for parent in sorted(children, key=lambda position: -depth[position]):
            if nodes[parent].retired:
                continue
            kids = children[parent]
            block = levels[:, kids]
            if policy.rollup is RollupRule.ALL_CHILDREN:
                rolled = np.where((block > 0).all(axis=1), block.min(axis=1), 0)
            else:
                needed = min(policy.rollup_min_children, len(kids))
                rolled = np.sort(block, axis=1)[:, len(kids) - needed]
            take = (origin[:, parent] != Origin.OVERRIDE) & (rolled > levels[:, parent])
            levels[take, parent] = rolled[take]
            origin[take, parent] = Origin.ROLLUP
            evidence_ids[take, parent] = 0
    return matrix


def explain(matrix: LevelMatrix, row: int, column: int, evidence: dict[int, Evidence]) -> Explanation:
    """Why this person has this level on this node."""
    level = int(matrix.levels[row, column])
    how = Origin(int(matrix.origin[row, column]))
    policy = matrix.policy
    if how is Origin.ROLLUP:
        kids = matrix.children.get(column, [])
        met = int((matrix.levels[row, kids] >= level).sum())
        if policy.rollup is RollupRule.ALL_CHILDREN:
            return Explanation("rule.rollup_all", {"level": level, "children": len(kids), "met": met})
        return Explanation("rule.rollup_at_least", {"level": level, "children": len(kids), "met": met,
                                                    "n": min(policy.rollup_min_children, len(kids))})
    if how in (Origin.EVIDENCE, Origin.OVERRIDE):
        item = evidence[int(matrix.evidence_ids[row, column])]
        params = {"level": level, "source": item.source.value, "date": item.recorded_at, "evidence_id": item.id,
                  "recorded_by_id": item.recorded_by_id, "version": item.competency.framework.version}
        if how is Origin.OVERRIDE:
            return Explanation("rule.override", {**params, "reason": item.note})
        params["from_achieved"] = item.level is None
        key = "rule.latest" if policy.rule is AggregationRule.LATEST_RATING else "rule.source_priority"
        return Explanation(key, params)
    count = int(matrix.counts[row, column])
    if count:
        return Explanation("rule.no_usable_evidence", {"count": count})
    return NO_EVIDENCE


@dataclass(frozen=True)
class ProficiencyRow:
    """One node of a person's profile: level, requirement, gap, why, and the evidence behind it."""

    competency: Competency
    level: int | None
    required: int | None
    evidence_count: int
    explanation: Explanation = NO_EVIDENCE
    evidence: tuple[Evidence, ...] = ()

    @property
    def gap(self) -> int | None:
        if self.required is None:
            return None
        return max(self.required - (self.level or 0), 0)

    @property
    def proficient(self) -> bool:
        return self.level is not None and self.level >= self.competency.framework.scale.proficient_level


def person_profile(session: Session, framework: Framework, person_id: int, role_profile_code: str | None, *,
                   kinds: Sequence[NodeKind] = (NodeKind.COMPETENCY,),
                   policy: Policy | None = None) -> list[ProficiencyRow]:
    """A person's level on each active node of the given kinds (competencies by default), in tree order.

    ``evidence`` lists every record about the node in any version of the framework (oldest
    first), including superseded ones, so the page can show where the level came from.
    """
    matrix = compute_levels(session, framework, [person_id], policy=policy)
    history = evidence_history(session, framework, person_id)
    by_id = {item.id: item for items in history.values() for item in items}
    required = requirement_levels(role_profile(session, framework, role_profile_code)) if role_profile_code else {}
    rows = []
    for column, node in enumerate(matrix.nodes):
        if node.retired or node.kind not in kinds:
            continue
        level = int(matrix.levels[0, column])
        items = tuple(history.get(node.code, ()))
        rows.append(ProficiencyRow(node, level or None, required.get(node.id), len(items),
                                   explain(matrix, 0, column, by_id), items))
    return rows
