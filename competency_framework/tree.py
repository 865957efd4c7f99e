"""Maintaining the competency tree of a draft framework: add, edit, move, retire, delete.

Kinds are placed by one rule (``ALLOWED_PARENTS``): areas group areas or competencies,
competencies may be refined into sub-competencies, and behavioural indicators hang off
a competency and have no children. ``sort_order`` is the node's position in a pre-order
walk of the whole tree, so ``framework.nodes`` is always in reading order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Iterator

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError, ReadOnlyFrameworkError, TreeError
from competency_framework.models import (
    Competency,
    CompetencyLink,
    Framework,
    FrameworkStatus,
    NodeKind,
    RoleRequirement,
    Scale,
)
from competency_framework.texts import (
    SHORT_TITLE_MAX,
    TEXT_MAX,
    TITLE_MAX,
    check_code,
    check_length,
    clean_text,
    clean_title,
)
from lms_plugin.core.base import Base, utcnow

ALLOWED_PARENTS: dict[NodeKind, frozenset[NodeKind | None]] = {
    NodeKind.AREA: frozenset({None, NodeKind.AREA}),
    NodeKind.COMPETENCY: frozenset({None, NodeKind.AREA, NodeKind.COMPETENCY}),
    NodeKind.INDICATOR: frozenset({NodeKind.COMPETENCY}),
}
MAX_DEPTH = 12

def ensure_editable(framework: Framework) -> None:
    """Published and archived versions are read-only; evidence and reports rely on them."""
    if framework.status is not FrameworkStatus.DRAFT:
        raise ReadOnlyFrameworkError(
            f"framework {framework.code} version {framework.version} is {framework.status.value}; "
            "create a new draft version to change it")


def touch(framework: Framework) -> None:
    framework.updated_at = utcnow()


def texts(*, title_en: str, title_lt: str = "", description_en: str = "", description_lt: str = "",
          title_limit: int = TITLE_MAX, what: str = "title") -> dict[str, str]:
    """Cleaned bilingual texts; the English title is required (it is the fallback language)."""
    result = {
        "title_en": check_length(clean_title(title_en), title_limit, what),
        "title_lt": check_length(clean_title(title_lt), title_limit, what),
        "description_en": check_length(clean_text(description_en), TEXT_MAX, "description"),
        "description_lt": check_length(clean_text(description_lt), TEXT_MAX, "description"),
    }
    if not result["title_en"]:
        raise FrameworkError(f"the English {what} is empty")
    return result


def check_placement(kind: NodeKind, parent_kind: NodeKind | None, code: str = "") -> None:
    if parent_kind not in ALLOWED_PARENTS[kind]:
        where = "at the top level" if parent_kind is None else f"under a {parent_kind.value}"
        name = f"{kind.value} {code!r}" if code else f"a {kind.value}"
        raise TreeError(f"{name} cannot be placed {where}")


# --- reading the tree -------------------------------------------------------------------

def children_map(framework: Framework) -> dict[int | None, list[Competency]]:
    """Children of each node (by Python identity, so unflushed nodes count), in sibling order."""
    result: dict[int | None, list[Competency]] = {}
    for node in sorted(framework.nodes, key=lambda item: item.sort_order or 0):
        parent = node.parent
        result.setdefault(None if parent is None else id(parent), []).append(node)
    return result


def walk(framework: Framework) -> Iterator[tuple[Competency, int]]:
    """Every node with its depth (1 for top-level nodes), parents before children."""
    children = children_map(framework)
    stack = [(node, 1) for node in reversed(children.get(None, []))]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in reversed(children.get(id(node), [])))


def descendants(node: Competency) -> list[Competency]:
    result: list[Competency] = []
    children = children_map(node.framework)
    stack = list(children.get(id(node), []))
    while stack:
        item = stack.pop()
        result.append(item)
        stack.extend(children.get(id(item), []))
    return result


def depth_of(node: Competency | None) -> int:
    depth = 0
    while node is not None:
        depth += 1
        node = node.parent
    return depth


def node_by_code(framework: Framework, code: str) -> Competency | None:
    return next((node for node in framework.nodes if node.code == code), None)


def renumber(framework: Framework, order: dict[int | None, list[Competency]] | None = None) -> None:
    """Give every node its pre-order position; ``order`` overrides some sibling lists."""
    children = children_map(framework)
    if order:
        children.update(order)
    position = 0
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        position += 1
        node.sort_order = position
        stack.extend(reversed(children.get(id(node), [])))


# --- frameworks ---------------------------------------------------------------------------

def create_framework(session: Session, *, code: str, title_en: str, scale: Scale, title_lt: str = "",
                     description_en: str = "", description_lt: str = "") -> Framework:
    """A new, empty draft: version 1, or the next version if the code is already used."""
    code = check_code(code, "framework code")
    versions = session.execute(select(Framework.version, Framework.status).where(Framework.code == code)).all()
    if any(status in (FrameworkStatus.DRAFT, FrameworkStatus.PENDING) for _, status in versions):
        raise FrameworkError(f"framework {code} already has a draft version; edit or publish that one")
    framework = Framework(code=code, version=max((v for v, _ in versions), default=0) + 1, scale=scale,
                          status=FrameworkStatus.DRAFT, updated_at=utcnow(),
                          **texts(title_en=title_en, title_lt=title_lt, description_en=description_en,
                                  description_lt=description_lt, title_limit=SHORT_TITLE_MAX))
    session.add(framework)
    session.flush()
    return framework


def edit_framework(session: Session, framework: Framework, *, title_en: str | None = None,
                   title_lt: str | None = None, description_en: str | None = None,
                   description_lt: str | None = None) -> Framework:
    ensure_editable(framework)
    merged = texts(
        title_en=framework.title_en if title_en is None else title_en,
        title_lt=framework.title_lt if title_lt is None else title_lt,
        description_en=framework.description_en if description_en is None else description_en,
        description_lt=framework.description_lt if description_lt is None else description_lt,
        title_limit=SHORT_TITLE_MAX)
    for key, value in merged.items():
        setattr(framework, key, value)
    touch(framework)
    session.flush()
    return framework


def set_framework_scale(session: Session, framework: Framework, scale: Scale) -> Framework:
    """Change a draft's scale; every role requirement must still be a level of the new one."""
    ensure_editable(framework)
    top = len(scale.levels)
    for profile in framework.role_profiles:
        for requirement in profile.requirements:
            if requirement.level > top:
                raise FrameworkError(f"role profile {profile.code!r} requires level {requirement.level} of "
                                     f"{requirement.competency.code!r}; scale {scale.code!r} stops at {top}")
    framework.scale = scale
    touch(framework)
    session.flush()
    return framework


# --- nodes ----------------------------------------------------------------------------------

def add_node(session: Session, framework: Framework, *, kind: NodeKind | str, code: str, title_en: str,
             title_lt: str = "", description_en: str = "", description_lt: str = "",
             parent: Competency | None = None, position: int | None = None) -> Competency:
    """Add a node under ``parent`` (or at the top), at ``position`` among its siblings (default last)."""
    ensure_editable(framework)
    kind = NodeKind(kind)
    code = check_code(code)
    if node_by_code(framework, code) is not None:
        raise TreeError(f"code {code!r} is already used in framework {framework.code}")
    if parent is not None and parent.framework is not framework:
        raise TreeError(f"parent {parent.code!r} belongs to another framework")
    check_placement(kind, None if parent is None else parent.kind, code)
    if depth_of(parent) + 1 > MAX_DEPTH:
        raise TreeError(f"the tree may be at most {MAX_DEPTH} levels deep")
    if parent is not None and parent.retired:
        raise TreeError(f"parent {parent.code!r} is retired")
    node = Competency(kind=kind, code=code, parent=parent,
                      **texts(title_en=title_en, title_lt=title_lt, description_en=description_en,
                              description_lt=description_lt))
    siblings = [item for item in children_map(framework).get(None if parent is None else id(parent), [])]
    framework.nodes.append(node)
    siblings.insert(len(siblings) if position is None else max(0, position), node)
    renumber(framework, {None if parent is None else id(parent): siblings})
    touch(framework)
    session.flush()
    return node


def edit_node(session: Session, node: Competency, *, code: str | None = None, kind: NodeKind | str | None = None,
              title_en: str | None = None, title_lt: str | None = None, description_en: str | None = None,
              description_lt: str | None = None) -> Competency:
    """Change texts, code or kind. A new code breaks the mapping to earlier versions by code."""
    framework = node.framework
    ensure_editable(framework)
    if code is not None:
        code = check_code(code)
        other = node_by_code(framework, code)
        if other is not None and other is not node:
            raise TreeError(f"code {code!r} is already used in framework {framework.code}")
        node.code = code
    if kind is not None:
        kind = NodeKind(kind)
        check_placement(kind, None if node.parent is None else node.parent.kind, node.code)
        for child in children_map(framework).get(id(node), []):
            check_placement(child.kind, kind, child.code)
        node.kind = kind
    merged = texts(title_en=node.title_en if title_en is None else title_en,
                   title_lt=node.title_lt if title_lt is None else title_lt,
                   description_en=node.description_en if description_en is None else description_en,
                   description_lt=node.description_lt if description_lt is None else description_lt)
    for key, value in merged.items():
        setattr(node, key, value)
    touch(framework)
    session.flush()
    return node


def move_node(session: Session, node: Competency, new_parent: Competency | None, *,
              position: int | None = None) -> Competency:
    """Move a node (with its subtree) under ``new_parent``; refuses cycles and misplaced kinds."""
    framework = node.framework
    ensure_editable(framework)
    if new_parent is not None:
        if new_parent.framework is not framework:
            raise TreeError(f"{new_parent.code!r} belongs to another framework")
        ancestor: Competency | None = new_parent
        while ancestor is not None:
            if ancestor is node:
                raise TreeError(f"cannot move {node.code!r} under {new_parent.code!r}: that is inside it (a cycle)")
            ancestor = ancestor.parent
        if new_parent.retired and not node.retired:
            raise TreeError(f"{new_parent.code!r} is retired")
    check_placement(node.kind, None if new_parent is None else new_parent.kind, node.code)
    subtree_height = max((depth_of(item) for item in descendants(node)), default=depth_of(node)) - depth_of(node)
    if depth_of(new_parent) + 1 + subtree_height > MAX_DEPTH:
        raise TreeError(f"the tree may be at most {MAX_DEPTH} levels deep")
    children = children_map(framework)
    key = None if new_parent is None else id(new_parent)
    siblings = [item for item in children.get(key, []) if item is not node]
    node.parent = new_parent
    siblings.insert(len(siblings) if position is None else max(0, position), node)
    renumber(framework, {key: siblings})
    touch(framework)
    session.flush()
    return node


def retire_node(session: Session, node: Competency, *, at: dt.datetime | None = None) -> list[Competency]:
    """Retire a node and everything under it. Rows stay: evidence may point at them."""
    ensure_editable(node.framework)
    when = at or utcnow()
    changed = []
    for item in [node, *descendants(node)]:
        if not item.retired:
            item.retired, item.retired_at = True, when
            changed.append(item)
    touch(node.framework)
    session.flush()
    return changed


def reinstate_node(session: Session, node: Competency) -> Competency:
    """Undo a retirement of this node (not its subtree: reinstate children one by one)."""
    ensure_editable(node.framework)
    if node.parent is not None and node.parent.retired:
        raise TreeError(f"reinstate {node.parent.code!r} first")
    node.retired, node.retired_at = False, None
    touch(node.framework)
    session.flush()
    return node


def referencing_rows(session: Session, node_ids: Iterable[int] | Select[Any]) -> dict[str, int]:
    """Rows in any table (evidence, course mappings, practice tasks …) that point at these nodes.

    ``node_ids`` is a list of ids or a SELECT of them (a whole version, without loading it).
    Found through the shared metadata, so this package need not import the others.
    """
    if isinstance(node_ids, Select):
        groups: list[Any] = [node_ids.scalar_subquery()]
    else:
        ids = [node_id for node_id in node_ids if node_id is not None]
        groups = [ids[start:start + _ID_CHUNK] for start in range(0, len(ids), _ID_CHUNK)]
    found: dict[str, int] = {}
    own = {("competencies", "parent_id"), ("role_requirements", "competency_id"),
           ("competency_links", "source_id"), ("competency_links", "target_id")}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name != "competencies" or (table.name, fk.parent.name) in own:
                continue
            for group in groups:
                count = session.scalar(select(func.count()).select_from(table).where(fk.parent.in_(group)))
                if count:
                    found[table.name] = found.get(table.name, 0) + count
    return found


_ID_CHUNK = 900  # ids per IN (…): under SQLite's oldest bound-parameter limit


def delete_node(session: Session, node: Competency) -> None:
    """Delete a draft's node and its subtree, only if nothing (evidence above all) points at them.

    Set-based: the subtree's requirements and links go in one statement each, the nodes in
    as few as possible, deepest first so that no statement leaves a child without its parent.
    """
    framework = node.framework
    ensure_editable(framework)
    doomed = [node, *descendants(node)]
    session.flush()
    references = referencing_rows(session, [item.id for item in doomed])
    if references:
        detail = ", ".join(f"{count} in {table}" for table, count in sorted(references.items()))
        raise TreeError(f"{node.code!r} cannot be deleted ({detail} point at it); retire it instead")
    no_sync = {"synchronize_session": False}
    ordered = [item.id for item in sorted(doomed, key=depth_of, reverse=True)]
    for start in range(0, len(ordered), _ID_CHUNK):
        chunk = ordered[start:start + _ID_CHUNK]
        session.execute(delete(RoleRequirement).where(RoleRequirement.competency_id.in_(chunk)),
                        execution_options=no_sync)
        session.execute(delete(CompetencyLink).where(CompetencyLink.framework_id == framework.id,
                                                     or_(CompetencyLink.source_id.in_(chunk),
                                                         CompetencyLink.target_id.in_(chunk))),
                        execution_options=no_sync)
    for start in range(0, len(ordered), _ID_CHUNK):
        session.execute(delete(Competency).where(Competency.id.in_(ordered[start:start + _ID_CHUNK])),
                        execution_options=no_sync)
    for item in doomed:
        session.expunge(item)
    session.expire(framework, ["nodes", "links"])
    for profile in framework.role_profiles:
        session.expire(profile, ["requirements"])
    renumber(framework)
    touch(framework)
    session.flush()


def active_competencies(framework: Framework) -> list[Competency]:
    """Competencies that are not retired, in reading order."""
    return [node for node, _depth in walk(framework) if node.kind is NodeKind.COMPETENCY and not node.retired]


__all__ = [
    "ALLOWED_PARENTS", "MAX_DEPTH", "active_competencies", "add_node", "check_placement", "children_map",
    "create_framework", "delete_node", "depth_of", "descendants", "edit_framework", "edit_node",
    "ensure_editable", "move_node", "node_by_code", "referencing_rows", "reinstate_node", "renumber",
    "retire_node", "set_framework_scale", "texts", "touch", "walk",
]
