"""The framework's operations in one namespace, for the app, the CLI and XBlocks.

Each operation takes an explicit session and flushes; the caller owns the transaction
(one commit per request). Nothing here imports Flask. Permission checks belong to the
caller's capability layer: these functions assume the caller has checked them.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from competency_framework.definition import document_from_definition, load_framework_definition
from competency_framework.errors import EvidenceError, FrameworkError, ReadOnlyFrameworkError, TreeError
from competency_framework.evidence import (
    correct_evidence,
    evidence_history,
    record_evidence,
    record_override,
    withdraw_evidence,
)
from competency_framework.gaps import (
    BelowCount,
    GapCell,
    GapMatrix,
    competencies_most_below,
    gap_matrix,
    person_gaps,
)
from competency_framework.models import Competency, Framework, FrameworkStatus
from competency_framework.proficiency import (
    Explanation,
    LevelMatrix,
    Policy,
    ProficiencyRow,
    compute_levels,
    person_profile,
    policy_for,
    set_policy,
)
from competency_framework.roles import (
    add_role_profile,
    clear_requirement,
    delete_role_profile,
    edit_role_profile,
    role_profile,
    set_requirement,
    set_requirements,
)
from competency_framework.scales import create_scale, scale_in_use, update_scale
from competency_framework.tree import (
    add_node,
    create_framework,
    delete_node,
    edit_framework,
    edit_node,
    ensure_editable,
    move_node,
    reinstate_node,
    retire_node,
    set_framework_scale,
)
from competency_framework.versioning import (
    VersionDiff,
    check_discardable,
    compare_versions,
    discard_draft,
    framework_versions,
    map_competencies,
    new_draft_version,
    publish,
    purge_framework,
)


def current_framework(session: Session, code: str | None = None) -> Framework | None:
    """The newest published framework (of ``code``, if given)."""
    query = select(Framework).where(Framework.status == FrameworkStatus.PUBLISHED)
    if code is not None:
        query = query.where(Framework.code == code)
    return session.scalar(query.order_by(Framework.published_at.desc(), Framework.id.desc()).limit(1))


def competencies_by_code(session: Session, framework: Framework, codes: Iterable[str]) -> list[Competency]:
    """The nodes with these codes in this version; raises ``FrameworkError`` naming any unknown code."""
    codes = list(codes)
    if not codes:
        return []
    found = session.scalars(select(Competency).where(
        Competency.framework_id == framework.id, Competency.code.in_(codes))).all()
    missing = set(codes) - {c.code for c in found}
    if missing:
        raise FrameworkError(f"unknown competency code(s) in {framework.code}: {', '.join(sorted(missing))}")
    return list(found)


__all__ = [
    "BelowCount", "check_discardable", "purge_framework", "EvidenceError", "Explanation", "FrameworkError", "GapCell", "GapMatrix", "LevelMatrix", "Policy",
    "ProficiencyRow", "ReadOnlyFrameworkError", "TreeError", "VersionDiff", "add_node", "add_role_profile",
    "clear_requirement", "compare_versions", "competencies_by_code", "competencies_most_below", "compute_levels",
    "correct_evidence", "create_framework", "create_scale", "current_framework", "delete_node",
    "delete_role_profile", "discard_draft", "document_from_definition", "edit_framework", "edit_node",
    "edit_role_profile", "ensure_editable", "evidence_history", "framework_versions", "gap_matrix",
    "load_framework_definition", "map_competencies", "move_node", "new_draft_version", "person_gaps",
    "person_profile", "policy_for", "publish", "record_evidence", "record_override", "reinstate_node",
    "retire_node", "role_profile", "scale_in_use", "set_framework_scale", "set_policy", "set_requirement",
    "set_requirements", "update_scale", "withdraw_evidence",
]
