"""Framework versions: drafts are edited, published versions are read-only, older ones archived.

Evidence always points at the competency rows of the version it was recorded against;
no operation here changes or removes those rows. Versions of one framework share its
``code`` and competencies are matched across versions by their codes, which is how a
person's profile can be shown against any version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError, TreeError
from competency_framework.models import (
    Competency,
    CompetencyLink,
    Framework,
    FrameworkStatus,
    NodeKind,
    ProficiencyPolicy,
    RoleProfile,
    RoleRequirement,
)
from competency_framework.tree import ALLOWED_PARENTS, ensure_editable, referencing_rows, walk
from lms_plugin.core.base import utcnow

_NODE_FIELDS = ("kind", "code", "title_en", "title_lt", "description_en", "description_lt", "sort_order",
                "retired", "retired_at")
_TEXT_FIELDS = ("title_en", "title_lt", "description_en", "description_lt")


def framework_versions(session: Session, code: str) -> list[Framework]:
    return list(session.scalars(select(Framework).where(Framework.code == code,
                                                        Framework.status != FrameworkStatus.PENDING)
                                .order_by(Framework.version)))


def draft_of(session: Session, code: str) -> Framework | None:
    """The code's draft, or the version a job is still importing (it becomes the draft)."""
    return session.scalar(select(Framework).where(
        Framework.code == code, Framework.status.in_((FrameworkStatus.DRAFT, FrameworkStatus.PENDING))))


def new_draft_version(session: Session, framework: Framework) -> Framework:
    """Copy a version (tree, links, scale reference, role profiles, policy) into draft version+1."""
    if framework.status is FrameworkStatus.DRAFT:
        raise FrameworkError(f"framework {framework.code} version {framework.version} is already a draft")
    existing = draft_of(session, framework.code)
    if existing is not None:
        raise FrameworkError(f"framework {framework.code} already has a draft (version {existing.version})")
    top = session.scalar(select(func.max(Framework.version)).where(Framework.code == framework.code)) or 0
    draft = Framework(code=framework.code, version=top + 1, status=FrameworkStatus.DRAFT, scale=framework.scale,
                      updated_at=utcnow(), **{name: getattr(framework, name) for name in _TEXT_FIELDS})
    session.add(draft)
    copies: dict[int, Competency] = {}
    for node, _depth in walk(framework):
        copy = Competency(**{name: getattr(node, name) for name in _NODE_FIELDS},
                          parent=None if node.parent is None else copies[id(node.parent)])
        copies[id(node)] = copy
        draft.nodes.append(copy)
    for link in framework.links:
        draft.links.append(CompetencyLink(
            source=copies[id(link.source)], kind=link.kind,
            target=None if link.target is None else copies[id(link.target)],
            target_identifier=link.target_identifier, target_uri=link.target_uri, target_title=link.target_title))
    for profile in framework.role_profiles:
        profile_copy = RoleProfile(code=profile.code, **{name: getattr(profile, name) for name in _TEXT_FIELDS})
        profile_copy.requirements = [RoleRequirement(competency=copies[id(r.competency)], level=r.level)
                                     for r in profile.requirements]
        draft.role_profiles.append(profile_copy)
    if framework.policy is not None:
        old = framework.policy
        draft.policy = ProficiencyPolicy(
            rule=old.rule, authorised_sources=list(old.authorised_sources or []),
            source_priority=list(old.source_priority or []), achieved_level=old.achieved_level,
            rollup=old.rollup, rollup_min_children=old.rollup_min_children, updated_by_id=old.updated_by_id)
    session.flush()
    return draft


def validate_for_publication(framework: Framework) -> list[str]:
    """Problems that would make a version unusable once frozen (empty list when none)."""
    problems: list[str] = []
    levels = len(framework.scale.levels)
    if levels < 2:
        problems.append(f"scale {framework.scale.code!r} has fewer than two levels")
    if not 1 <= framework.scale.proficient_level <= levels:
        problems.append(f"scale {framework.scale.code!r}: the proficient level is not one of its levels")
    if not any(node.kind is NodeKind.COMPETENCY and not node.retired for node in framework.nodes):
        problems.append("the framework has no active competency")
    seen = 0
    for node, _depth in walk(framework):
        seen += 1
        parent_kind = None if node.parent is None else node.parent.kind
        if parent_kind not in ALLOWED_PARENTS[node.kind]:
            problems.append(f"{node.kind.value} {node.code!r} is misplaced")
    if seen != len(framework.nodes):
        problems.append("some nodes are not reachable from the top of the tree")
    for profile in framework.role_profiles:
        for requirement in profile.requirements:
            if not 1 <= requirement.level <= levels:
                problems.append(f"role profile {profile.code!r}: level {requirement.level} is not on the scale")
    return problems


def publish(session: Session, draft: Framework) -> Framework:
    """Publish a draft and archive the previously published version of the same code.

    Archiving only changes the old version's status: its competency rows, and the
    evidence pointing at them, stay exactly as they were.
    """
    ensure_editable(draft)
    problems = validate_for_publication(draft)
    if problems:
        raise FrameworkError(f"framework {draft.code} version {draft.version} cannot be published: "
                             + "; ".join(problems))
    for other in session.scalars(select(Framework).where(Framework.code == draft.code, Framework.id != draft.id,
                                                         Framework.status == FrameworkStatus.PUBLISHED)):
        other.status = FrameworkStatus.ARCHIVED
    draft.status = FrameworkStatus.PUBLISHED
    draft.published_at = utcnow()
    session.flush()
    return draft


def check_discardable(session: Session, draft: Framework) -> None:
    """A draft may go only if nothing (evidence above all) points at its nodes."""
    ensure_editable(draft)
    session.flush()
    references = referencing_rows(session, select(Competency.id).where(Competency.framework_id == draft.id))
    if references:
        raise TreeError(f"draft {draft.code} version {draft.version} is referenced ("
                        + ", ".join(f"{n} in {table}" for table, n in sorted(references.items())) + ")")


def discard_draft(session: Session, draft: Framework) -> None:
    """Delete a draft that nothing points at (a draft is never evidence's target), in one transaction."""
    check_discardable(session, draft)
    framework_id = draft.id
    session.expunge(draft)  # with its loaded nodes, links and profiles: the rows go below, set-based
    purge_framework(session, framework_id)


DELETE_BATCH = 900  # ids per DELETE … IN (…): under SQLite's oldest bound-parameter limit


def purge_framework(session: Session, framework_id: int, *, batch: int = DELETE_BATCH,
                    after_batch: Callable[[], None] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> None:
    """Delete a version's rows with a few set-based statements: links, role profiles, the policy,
    then the nodes deepest first (children before parents, so no foreign key is ever dangling
    between statements), then the framework row.

    ``after_batch`` runs after each group of statements (a background job commits there, so
    other writers get the database between batches); the caller has checked that nothing
    outside the version points at its nodes and that nobody sees the version meanwhile.
    """
    no_sync = {"synchronize_session": False}
    session.execute(delete(CompetencyLink).where(CompetencyLink.framework_id == framework_id),
                    execution_options=no_sync)
    profiles = select(RoleProfile.id).where(RoleProfile.framework_id == framework_id).scalar_subquery()
    session.execute(delete(RoleRequirement).where(RoleRequirement.role_profile_id.in_(profiles)),
                    execution_options=no_sync)
    session.execute(delete(RoleProfile).where(RoleProfile.framework_id == framework_id), execution_options=no_sync)
    session.execute(delete(ProficiencyPolicy).where(ProficiencyPolicy.framework_id == framework_id),
                    execution_options=no_sync)
    parents = dict(session.execute(select(Competency.id, Competency.parent_id)
                                   .where(Competency.framework_id == framework_id)).all())
    depth: dict[int, int] = {}
    for node_id in parents:
        chain = []
        current: int | None = node_id
        while current is not None and current not in depth:
            chain.append(current)
            current = parents.get(current)
        known = 0 if current is None else depth[current]
        for offset, item in enumerate(reversed(chain), start=1):
            depth[item] = known + offset
    order = sorted(depth, key=lambda item: -depth[item])
    total = len(order)
    if after_batch is not None:
        after_batch()
    for start in range(0, total, batch):
        chunk = order[start:start + batch]
        session.execute(delete(Competency).where(Competency.id.in_(chunk)), execution_options=no_sync)
        if progress is not None:
            progress(min(start + batch, total), total)
        if after_batch is not None:
            after_batch()
    session.execute(delete(Framework).where(Framework.id == framework_id), execution_options=no_sync)
    if after_batch is not None:
        after_batch()


def map_competencies(source: Framework, target: Framework) -> dict[int, Competency | None]:
    """Source node id → the target version's node with the same code (or None)."""
    if source.code != target.code:
        raise FrameworkError(f"{source.code} and {target.code} are different frameworks")
    by_code = {node.code: node for node in target.nodes}
    return {node.id: by_code.get(node.code) for node in source.nodes}


@dataclass
class VersionDiff:
    """What changed between two versions, by competency code."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    reinstated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.retired or self.reinstated or self.moved or self.changed)


def compare_versions(old: Framework, new: Framework) -> VersionDiff:
    old_nodes = {node.code: node for node in old.nodes}
    new_nodes = {node.code: node for node in new.nodes}
    diff = VersionDiff(added=[code for code in new_nodes if code not in old_nodes],
                       removed=[code for code in old_nodes if code not in new_nodes])
    for code, node in new_nodes.items():
        before = old_nodes.get(code)
        if before is None:
            continue
        if node.retired and not before.retired:
            diff.retired.append(code)
        if before.retired and not node.retired:
            diff.reinstated.append(code)
        if (None if before.parent is None else before.parent.code) != (None if node.parent is None else node.parent.code):
            diff.moved.append(code)
        fields = [name for name in ("kind", *_TEXT_FIELDS) if getattr(before, name) != getattr(node, name)]
        if fields:
            diff.changed[code] = fields
    return diff
