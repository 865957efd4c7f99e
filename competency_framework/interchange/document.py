"""The format-neutral framework document every reader produces and every writer consumes.

Readers turn a file into a ``FrameworkDocument`` whose parts remember where in the file
they came from (``Location``). ``validate_document`` then checks everything — codes,
duplicates, parents, cycles, kinds, the scale, role profiles, links — and only a document
without problems reaches ``apply_document``, which inserts it. So an import is all or
nothing without relying on the caller's transaction: nothing is added to the session
until the whole file is known to be good.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError
from competency_framework.models import (
    Competency,
    CompetencyLink,
    Framework,
    FrameworkStatus,
    NodeKind,
    RoleProfile,
    RoleRequirement,
    Scale,
)
from competency_framework.scales import LevelDefinition, find_or_create_scale, validate_levels
from competency_framework.texts import (
    SHORT_TITLE_MAX,
    TEXT_MAX,
    TITLE_MAX,
    check_code,
    clean_text,
    clean_title,
)
from competency_framework.tree import ALLOWED_PARENTS, MAX_DEPTH, walk
from competency_framework.versioning import publish
from lms_plugin.core.base import utcnow

Progress = Callable[[int, int], None]

LINK_TYPES = frozenset({"isChildOf", "isPeerOf", "isPartOf", "exactMatchOf", "precedes", "isRelatedTo",
                        "replacedBy", "exemplar", "hasSkillLevel", "isTranslationOf"})
_EXTENSION_LINK = re.compile(r"^ext:[A-Za-z0-9._-]{1,59}$")
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Location:
    """Where something is in a file: a sheet/row/column for tables, a path for JSON."""

    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts) or "file"


class InterchangeError(FrameworkError):
    """A file cannot be imported. ``problems`` lists (location, problem); the message names the first."""

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        location, problem = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{location}: {problem}{more}")


def fail(location: Location, problem: str) -> InterchangeError:
    return InterchangeError([(location, problem)])


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken file from exhausting the server."""

    max_bytes: int = 25 * 1024 * 1024
    max_nodes: int = 50_000
    max_uncompressed: int = 250 * 1024 * 1024  # xlsx: total size of the unpacked parts
    max_json_depth: int = 64


DEFAULT_LIMITS = Limits()


@dataclass
class LevelSpec:
    value: Any
    code: Any
    title_en: Any
    title_lt: Any = ""
    descriptor_en: Any = ""
    descriptor_lt: Any = ""
    locs: dict[str, Location] = field(default_factory=dict)


@dataclass
class ScaleSpec:
    code: Any
    title_en: Any
    proficient_level: Any
    levels: list[LevelSpec]
    title_lt: Any = ""
    locs: dict[str, Location] = field(default_factory=dict)


@dataclass
class NodeSpec:
    code: Any
    parent_code: Any
    kind: NodeKind | None
    title_en: Any
    title_lt: Any = ""
    description_en: Any = ""
    description_lt: Any = ""
    retired_at: dt.datetime | None = None
    locs: dict[str, Location] = field(default_factory=dict)


@dataclass
class LinkSpec:
    source_code: Any
    kind: str
    target_code: Any = None
    target_identifier: str = ""
    target_uri: str = ""
    target_title: str = ""
    locs: dict[str, Location] = field(default_factory=dict)


@dataclass
class RequirementSpec:
    code: Any
    level: Any
    loc: Location = field(default_factory=Location)


@dataclass
class RoleSpec:
    code: Any
    title_en: Any
    title_lt: Any = ""
    description_en: Any = ""
    description_lt: Any = ""
    requirements: list[RequirementSpec] = field(default_factory=list)
    locs: dict[str, Location] = field(default_factory=dict)


@dataclass
class FrameworkDocument:
    code: Any
    title_en: Any
    title_lt: Any = ""
    description_en: Any = ""
    description_lt: Any = ""
    version: int | None = None
    updated_at: dt.datetime | None = None
    scale: ScaleSpec | None = None
    nodes: list[NodeSpec] = field(default_factory=list)
    role_profiles: list[RoleSpec] = field(default_factory=list)
    links: list[LinkSpec] = field(default_factory=list)
    locs: dict[str, Location] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def canonical(self) -> dict[str, Any]:
        """Everything the document says, without locations: for comparing round trips."""
        scale = None if self.scale is None else {
            "code": self.scale.code, "title_en": self.scale.title_en, "title_lt": self.scale.title_lt,
            "proficient_level": self.scale.proficient_level,
            "levels": [(lv.value, lv.code, lv.title_en, lv.title_lt, lv.descriptor_en, lv.descriptor_lt)
                       for lv in self.scale.levels]}
        return {
            "code": self.code, "title_en": self.title_en, "title_lt": self.title_lt,
            "description_en": self.description_en, "description_lt": self.description_lt, "scale": scale,
            "nodes": [(n.code, n.parent_code, n.kind, n.title_en, n.title_lt, n.description_en, n.description_lt,
                       n.retired_at) for n in self.nodes],
            "role_profiles": [(r.code, r.title_en, r.title_lt, r.description_en, r.description_lt,
                               [(q.code, q.level) for q in r.requirements]) for r in self.role_profiles],
            "links": [(k.source_code, k.kind, k.target_code, k.target_identifier, k.target_uri, k.target_title)
                      for k in self.links],
        }


def _at(locs: dict[str, Location], name: str) -> Location:
    return locs.get(name) or locs.get("") or Location()


class _Checker:
    """Collects problems so a file's author sees many at once, not one per attempt."""

    def __init__(self) -> None:
        self.problems: list[tuple[Location, str]] = []

    def add(self, location: Location, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((location, problem))

    def code(self, value: Any, location: Location, what: str = "code") -> str | None:
        try:
            return check_code(value, what)
        except FrameworkError as error:
            self.add(location, str(error))
            return None

    def text(self, value: Any, limit: int, location: Location, what: str, *, title: bool = False,
             required: bool = False) -> str:
        cleaned = clean_title(value) if title else clean_text(value)
        if required and not cleaned:
            self.add(location, f"{what} is empty")
        if len(cleaned) > limit:
            self.add(location, f"{what} is longer than {limit} characters")
        return cleaned


def validate_document(doc: FrameworkDocument, *, limits: Limits = DEFAULT_LIMITS,
                      scale_levels: int | None = None) -> FrameworkDocument:
    """Clean every text, infer missing kinds, and check the whole document; raises ``InterchangeError``.

    ``scale_levels`` gives the size of the scale to use when the document brings none.
    """
    check = _Checker()
    doc.code = check.code(doc.code, _at(doc.locs, "code"), "framework code") or ""
    doc.title_en = check.text(doc.title_en, SHORT_TITLE_MAX, _at(doc.locs, "title_en"), "framework title",
                              title=True, required=True)
    doc.title_lt = check.text(doc.title_lt, SHORT_TITLE_MAX, _at(doc.locs, "title_lt"), "framework title", title=True)
    doc.description_en = check.text(doc.description_en, TEXT_MAX, _at(doc.locs, "description_en"), "description")
    doc.description_lt = check.text(doc.description_lt, TEXT_MAX, _at(doc.locs, "description_lt"), "description")

    top = scale_levels
    if doc.scale is not None:
        top = _check_scale(doc.scale, check)
    elif scale_levels is None:
        check.add(_at(doc.locs, "scale"), "bad scale: the file defines no proficiency scale")

    if len(doc.nodes) > limits.max_nodes:
        check.add(_at(doc.locs, ""), f"too many nodes ({len(doc.nodes)}; at most {limits.max_nodes})")
        raise InterchangeError(check.problems)
    by_code = _check_nodes(doc, check)
    _check_links(doc, by_code, check)
    _check_roles(doc, by_code, top, check)
    if check.problems:
        raise InterchangeError(check.problems)
    return doc


def _check_scale(scale: ScaleSpec, check: _Checker) -> int | None:
    scale.code = check.code(scale.code, _at(scale.locs, "code"), "scale code") or ""
    scale.title_en = check.text(scale.title_en, SHORT_TITLE_MAX, _at(scale.locs, "title_en"), "scale title",
                                title=True, required=True)
    scale.title_lt = check.text(scale.title_lt, SHORT_TITLE_MAX, _at(scale.locs, "title_lt"), "scale title",
                                title=True)
    before = len(check.problems)
    codes: set[str] = set()
    for position, level in enumerate(scale.levels, start=1):
        where = lambda name: _at(level.locs, name)  # noqa: E731
        value = level.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            check.add(where("value"), f"bad scale: level value {level.value!r} is not a whole number")
        elif value != position:
            check.add(where("value"), f"bad scale: level {value} is out of order; levels are numbered 1, 2, 3 …")
        level.value = value
        level.code = check.code(level.code, where("code"), "level code") or ""
        if level.code in codes:
            check.add(where("code"), f"bad scale: duplicate level code {level.code!r}")
        codes.add(level.code)
        level.title_en = check.text(level.title_en, SHORT_TITLE_MAX, where("title_en"), "level title", title=True,
                                    required=True)
        level.title_lt = check.text(level.title_lt, SHORT_TITLE_MAX, where("title_lt"), "level title", title=True)
        level.descriptor_en = check.text(level.descriptor_en, TEXT_MAX, where("descriptor_en"), "descriptor")
        level.descriptor_lt = check.text(level.descriptor_lt, TEXT_MAX, where("descriptor_lt"), "descriptor")
    if len(check.problems) > before:
        return None
    try:
        _levels, scale.proficient_level = validate_levels(
            [LevelDefinition(lv.value, lv.code, lv.title_en, lv.title_lt, lv.descriptor_en, lv.descriptor_lt)
             for lv in scale.levels], scale.proficient_level)
    except FrameworkError as error:
        check.add(_at(scale.locs, "proficient_level" if "proficient" in str(error) else "levels"),
                  f"bad scale: {error}")
        return None
    return len(scale.levels)


def _check_nodes(doc: FrameworkDocument, check: _Checker) -> dict[str, NodeSpec]:
    by_code: dict[str, NodeSpec] = {}
    for node in doc.nodes:
        code = check.code(node.code, _at(node.locs, "code"))
        node.code = code or ""
        if code is not None:
            if code in by_code:
                check.add(_at(node.locs, "code"), f"duplicate id {code!r}")
            else:
                by_code[code] = node
        if node.parent_code in (None, ""):
            node.parent_code = None
        else:
            node.parent_code = str(node.parent_code).strip()
        node.title_en = check.text(node.title_en, TITLE_MAX, _at(node.locs, "title_en"), "title", title=True,
                                   required=True)
        node.title_lt = check.text(node.title_lt, TITLE_MAX, _at(node.locs, "title_lt"), "title", title=True)
        node.description_en = check.text(node.description_en, TEXT_MAX, _at(node.locs, "description_en"),
                                         "description")
        node.description_lt = check.text(node.description_lt, TEXT_MAX, _at(node.locs, "description_lt"),
                                         "description")
    children: dict[str | None, list[NodeSpec]] = {}
    for node in doc.nodes:
        if node.parent_code is not None and node.parent_code not in by_code:
            check.add(_at(node.locs, "parent_code"), f"unknown parent {node.parent_code!r}")
            continue
        if node.parent_code == node.code:
            check.add(_at(node.locs, "parent_code"), f"{node.code!r} is its own parent (a cycle)")
            continue
        children.setdefault(node.parent_code, []).append(node)
    if check.problems:
        return by_code
    # Walk from the roots; whatever is not reached hangs in a cycle.
    depth: dict[str, int] = {}
    order: list[NodeSpec] = []
    stack = [(node, 1) for node in reversed(children.get(None, []))]
    while stack:
        node, d = stack.pop()
        depth[node.code] = d
        order.append(node)
        if d > MAX_DEPTH:
            check.add(_at(node.locs, "parent_code"), f"the tree is deeper than {MAX_DEPTH} levels")
            return by_code
        stack.extend((child, d + 1) for child in reversed(children.get(node.code, [])))
    for node in doc.nodes:
        if node.code in depth:
            continue
        path, current = [node.code], by_code[node.parent_code]
        while current.code not in path and current.code not in depth:
            path.append(current.code)
            current = by_code[current.parent_code]
        if current.code in path:
            cycle = path[path.index(current.code):] + [current.code]
            check.add(_at(by_code[cycle[0]].locs, "parent_code"), "cycle: " + " → ".join(cycle))
            return by_code
    _infer_kinds(order, by_code, children, check)
    return by_code


def _infer_kinds(order: list[NodeSpec], by_code: dict[str, NodeSpec], children: dict[str | None, list[NodeSpec]],
                 check: _Checker) -> None:
    """Fill in missing kinds from the tree's shape, then check every kind's placement.

    Without a stated kind: a top-level node is an area if anything hangs below it; under an
    area, a node is an area if it has grandchildren, else a competency; under a competency,
    a leaf is an indicator and anything else a sub-competency.
    """
    height: dict[str, int] = {}
    for node in reversed(order):
        kids = children.get(node.code, [])
        height[node.code] = 1 + max((height[kid.code] for kid in kids), default=-1)
    for node in order:
        parent = None if node.parent_code is None else by_code[node.parent_code]
        parent_kind = None if parent is None else parent.kind
        if node.kind is None:
            h = height[node.code]
            if parent_kind is None:
                node.kind = NodeKind.AREA if h >= 1 else NodeKind.COMPETENCY
            elif parent_kind is NodeKind.AREA:
                node.kind = NodeKind.AREA if h >= 2 else NodeKind.COMPETENCY
            else:
                node.kind = NodeKind.INDICATOR if h == 0 else NodeKind.COMPETENCY
        elif parent_kind not in ALLOWED_PARENTS[node.kind]:
            where = "at the top level" if parent_kind is None else f"under a {parent_kind.value}"
            check.add(_at(node.locs, "kind"), f"a {node.kind.value} cannot be placed {where}")


def _check_links(doc: FrameworkDocument, by_code: dict[str, NodeSpec], check: _Checker) -> None:
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for link in doc.links:
        if link.source_code not in by_code:
            check.add(_at(link.locs, "source_code"), f"link from unknown id {link.source_code!r}")
            continue
        if link.kind not in LINK_TYPES and not _EXTENSION_LINK.match(link.kind):
            check.add(_at(link.locs, "kind"), f"unknown link type {link.kind!r}")
            continue
        if link.target_code is not None:
            if link.target_code not in by_code:
                check.add(_at(link.locs, "target_code"), f"link to unknown id {link.target_code!r}")
                continue
            if link.target_code == link.source_code:
                check.add(_at(link.locs, "target_code"), f"{link.source_code!r} is linked to itself")
                continue
        elif not (link.target_identifier or link.target_uri):
            check.add(_at(link.locs, "target_code"), "link without a target")
            continue
        link.target_identifier = check.text(link.target_identifier, 255, _at(link.locs, "target_identifier"),
                                            "target identifier", title=True)
        link.target_uri = check.text(link.target_uri, 1000, _at(link.locs, "target_uri"), "target URI", title=True)
        link.target_title = check.text(link.target_title, TITLE_MAX, _at(link.locs, "target_title"), "target title",
                                       title=True)
        identity = (link.source_code, link.kind, link.target_code, link.target_identifier, link.target_uri)
        if identity in seen:
            doc.warnings.append(f"{_at(link.locs, '')}: duplicate link ignored")
            continue
        seen.add(identity)
        kept.append(link)
    doc.links = kept


def _check_roles(doc: FrameworkDocument, by_code: dict[str, NodeSpec], top: int | None, check: _Checker) -> None:
    codes: set[str] = set()
    for role in doc.role_profiles:
        code = check.code(role.code, _at(role.locs, "code"), "role profile code")
        role.code = code or ""
        if code in codes:
            check.add(_at(role.locs, "code"), f"duplicate role profile {code!r}")
        codes.add(role.code)
        role.title_en = check.text(role.title_en, SHORT_TITLE_MAX, _at(role.locs, "title_en"), "role title",
                                   title=True, required=True)
        role.title_lt = check.text(role.title_lt, SHORT_TITLE_MAX, _at(role.locs, "title_lt"), "role title",
                                   title=True)
        role.description_en = check.text(role.description_en, TEXT_MAX, _at(role.locs, "description_en"),
                                         "description")
        role.description_lt = check.text(role.description_lt, TEXT_MAX, _at(role.locs, "description_lt"),
                                         "description")
        required: set[str] = set()
        for requirement in role.requirements:
            if requirement.code not in by_code:
                check.add(requirement.loc, f"role profile {role.code!r}: unknown competency {requirement.code!r}")
                continue
            if requirement.code in required:
                check.add(requirement.loc, f"role profile {role.code!r}: {requirement.code!r} is required twice")
            required.add(requirement.code)
            level = requirement.level
            if isinstance(level, float) and level.is_integer():
                level = int(level)
            if isinstance(level, str) and level.strip().isdigit():
                level = int(level.strip())
            if not isinstance(level, int) or isinstance(level, bool) or (top is not None and not 1 <= level <= top):
                check.add(requirement.loc, f"bad scale: required level {requirement.level!r} is not on the scale"
                          + (f" (1–{top})" if top else ""))
                continue
            requirement.level = level


# --- database ↔ document ----------------------------------------------------------------

def document_from_framework(framework: Framework) -> FrameworkDocument:
    """The framework as a document (tree order), ready for any writer."""
    scale = framework.scale
    doc = FrameworkDocument(
        code=framework.code, title_en=framework.title_en, title_lt=framework.title_lt,
        description_en=framework.description_en, description_lt=framework.description_lt,
        version=framework.version, updated_at=framework.updated_at,
        scale=ScaleSpec(code=scale.code, title_en=scale.title_en, title_lt=scale.title_lt,
                        proficient_level=scale.proficient_level,
                        levels=[LevelSpec(lv.value, lv.code, lv.title_en, lv.title_lt, lv.descriptor_en,
                                          lv.descriptor_lt) for lv in sorted(scale.levels, key=lambda lv: lv.value)]))
    order = {}
    for node, _depth in walk(framework):
        order[node.id] = len(order)
        doc.nodes.append(NodeSpec(code=node.code, parent_code=None if node.parent is None else node.parent.code,
                                  kind=node.kind, title_en=node.title_en, title_lt=node.title_lt,
                                  description_en=node.description_en, description_lt=node.description_lt,
                                  retired_at=node.retired_at if node.retired else None))
        if node.retired and node.retired_at is None:
            doc.nodes[-1].retired_at = framework.updated_at
    for profile in framework.role_profiles:
        requirements = sorted(profile.requirements, key=lambda r: order.get(r.competency_id, 0))
        doc.role_profiles.append(RoleSpec(
            code=profile.code, title_en=profile.title_en, title_lt=profile.title_lt,
            description_en=profile.description_en, description_lt=profile.description_lt,
            requirements=[RequirementSpec(r.competency.code, r.level) for r in requirements]))
    for link in framework.links:
        doc.links.append(LinkSpec(source_code=link.source.code, kind=link.kind,
                                  target_code=None if link.target is None else link.target.code,
                                  target_identifier=link.target_identifier, target_uri=link.target_uri,
                                  target_title=link.target_title))
    return doc


INSERT_BATCH = 2000  # rows per multi-row INSERT; a background import commits after each


def apply_document(session: Session, doc: FrameworkDocument, *, status: FrameworkStatus = FrameworkStatus.DRAFT,
                   version: int | None = None, scale: Scale | None = None,
                   progress: Progress | None = None, after_batch: Callable[[], None] | None = None,
                   created: Callable[[Framework], None] | None = None, batch: int = INSERT_BATCH) -> Framework:
    """Insert a validated document as a new framework version (a draft unless told otherwise).

    The version is ``version`` if given; otherwise the file's own version for a new code,
    or the next free version when the code exists (imports never overwrite a version).

    Rows go in with multi-row INSERTs, nodes level by level (each level's parents already
    have their ids). ``status=PENDING`` with ``after_batch`` is how a background job imports:
    it commits after each batch, and the version stays invisible until the job makes it a draft.
    """
    versions = session.execute(select(Framework.version, Framework.status).where(Framework.code == doc.code)).all()
    if any(state in (FrameworkStatus.DRAFT, FrameworkStatus.PENDING) for _, state in versions):
        raise fail(_at(doc.locs, "code"), f"framework {doc.code} already has a draft version; "
                                          "publish or discard it before importing another")
    taken = {number for number, _ in versions}
    if version is None:
        version = doc.version if (doc.version and not taken) else max(taken, default=0) + 1
    if version in taken:
        raise fail(_at(doc.locs, "version"), f"framework {doc.code} version {version} already exists")
    if doc.scale is not None:
        spec = doc.scale
        scale = find_or_create_scale(
            session, code=spec.code, title_en=spec.title_en, title_lt=spec.title_lt,
            proficient_level=spec.proficient_level,
            levels=[LevelDefinition(lv.value, lv.code, lv.title_en, lv.title_lt, lv.descriptor_en, lv.descriptor_lt)
                    for lv in spec.levels])
    elif scale is None:
        raise fail(_at(doc.locs, "scale"), "bad scale: the file defines no proficiency scale; choose one")
    pending = status is FrameworkStatus.PENDING
    framework = Framework(code=doc.code, version=version, scale=scale,
                          status=FrameworkStatus.PENDING if pending else FrameworkStatus.DRAFT,
                          updated_at=doc.updated_at or utcnow(), title_en=doc.title_en, title_lt=doc.title_lt,
                          description_en=doc.description_en, description_lt=doc.description_lt)
    session.add(framework)
    session.flush()
    framework_id = framework.id
    if created is not None:
        created(framework)

    children: dict[str | None, list[NodeSpec]] = {}
    for spec_node in doc.nodes:
        children.setdefault(spec_node.parent_code, []).append(spec_node)
    # Reading order (pre-order) gives sort_order; depth groups the inserts.
    levels: list[list[tuple[NodeSpec, int]]] = []
    position = 0
    stack = [(spec_node, 0) for spec_node in reversed(children.get(None, []))]
    while stack:
        spec_node, depth = stack.pop()
        position += 1
        if depth == len(levels):
            levels.append([])
        levels[depth].append((spec_node, position))
        stack.extend((child, depth + 1) for child in reversed(children.get(spec_node.code, [])))

    def committed() -> None:
        if after_batch is not None:
            after_batch()

    ids: dict[str, int] = {}
    total = len(doc.nodes)
    newest = 0
    for level in levels:
        for start in range(0, len(level), batch):
            chunk = level[start:start + batch]
            rows = [{"framework_id": framework_id, "code": spec_node.code, "kind": spec_node.kind,
                     "parent_id": None if spec_node.parent_code is None else ids[spec_node.parent_code],
                     "sort_order": order, "title_en": spec_node.title_en, "title_lt": spec_node.title_lt,
                     "description_en": spec_node.description_en, "description_lt": spec_node.description_lt,
                     "retired": spec_node.retired_at is not None, "retired_at": spec_node.retired_at}
                    for spec_node, order in chunk]
            session.execute(insert(Competency), rows)  # one executemany; ids are read back below
            fresh = session.execute(select(Competency.code, Competency.id).where(
                Competency.framework_id == framework_id, Competency.id > newest)).all()
            ids.update((code, node_id) for code, node_id in fresh)
            newest = max((node_id for _code, node_id in fresh), default=newest)
            if progress is not None:
                progress(len(ids), total)
            committed()
    links = [{"framework_id": framework_id, "source_id": ids[link.source_code], "kind": link.kind,
              "target_id": None if link.target_code is None else ids[link.target_code],
              "target_identifier": link.target_identifier, "target_uri": link.target_uri,
              "target_title": link.target_title} for link in doc.links]
    for start in range(0, len(links), batch):
        session.execute(insert(CompetencyLink), links[start:start + batch])
        committed()
    for role in doc.role_profiles:
        profile = RoleProfile(framework_id=framework_id, code=role.code, title_en=role.title_en,
                              title_lt=role.title_lt, description_en=role.description_en,
                              description_lt=role.description_lt)
        session.add(profile)
        session.flush()
        requirements = [{"role_profile_id": profile.id, "competency_id": ids[r.code], "level": r.level}
                        for r in role.requirements]
        for start in range(0, len(requirements), batch):
            session.execute(insert(RoleRequirement), requirements[start:start + batch])
            committed()
    session.expire(framework, ["nodes", "links", "role_profiles"])
    session.flush()
    if status is FrameworkStatus.PUBLISHED:
        publish(session, framework)
    return framework
