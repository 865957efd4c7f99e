"""1EdTech CASE v1.0 JSON: a ``CFPackage`` with CFDocument, CFItems, CFAssociations, CFRubrics.

Mapping:

* CFDocument ← framework (``version``, ``adoptionStatus`` from the status); CFItems ← nodes
  (``humanCodingScheme`` = code, ``fullStatement`` = English title, ``notes`` = English
  description, ``CFItemType`` = Area/Competency/Indicator, ``statusEndDate`` = retirement).
* The tree is ``isChildOf`` associations (child → parent, or → the document for top-level
  nodes) with ``sequenceNumber`` giving the sibling order; every other association type is
  kept as a link, including ones pointing outside the document.
* The proficiency scale is one CFRubric whose single criterion has one level per scale
  level (``score`` = value, ``quality`` = title, ``description`` = descriptor).
* Lithuanian texts and what CASE has no field for (framework code, level codes, the
  proficient threshold) travel in ``extensions`` objects, which CASE consumers ignore.

Identifiers are UUIDs derived from the framework and node codes, so exporting the same
framework twice gives the same file; a node whose code is itself a UUID (an item imported
without ``humanCodingScheme``) keeps it as its identifier.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from typing import Any

from competency_framework.interchange.document import (
    DEFAULT_LIMITS,
    FrameworkDocument,
    LevelSpec,
    Limits,
    LinkSpec,
    Location,
    NodeSpec,
    Progress,
    ScaleSpec,
    fail,
)
from competency_framework.models import FrameworkStatus, NodeKind
from competency_framework.texts import slug

NAMESPACE = uuid.UUID("5b0f6f0e-0c1e-4a53-9d7a-6b1f1c0a2c11")
ITEM_TYPES = {NodeKind.AREA: "Area", NodeKind.COMPETENCY: "Competency", NodeKind.INDICATOR: "Indicator"}
TYPE_KINDS = {"area": NodeKind.AREA, "domain": NodeKind.AREA, "cluster": NodeKind.AREA, "strand": NodeKind.AREA,
              "competency": NodeKind.COMPETENCY, "skill": NodeKind.COMPETENCY, "standard": NodeKind.COMPETENCY,
              "indicator": NodeKind.INDICATOR, "behavioural indicator": NodeKind.INDICATOR,
              "behavioral indicator": NodeKind.INDICATOR, "behaviour": NodeKind.INDICATOR}
ADOPTION = {FrameworkStatus.DRAFT: "Draft", FrameworkStatus.PUBLISHED: "Adopted",
            FrameworkStatus.ARCHIVED: "Deprecated"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _timestamp(value: dt.datetime | None) -> str:
    value = value or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any, location: Location, what: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise fail(location, f"{what} is not a date")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise fail(location, f"{what} {value!r} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _link(identifier: str, title: str) -> dict[str, str]:
    return {"title": title, "identifier": identifier, "uri": f"urn:uuid:{identifier}"}


def write(doc: FrameworkDocument, *, status: FrameworkStatus = FrameworkStatus.DRAFT, creator: str = "Training Centre",
          progress: Progress | None = None) -> bytes:
    scale = doc.scale
    assert scale is not None
    changed = _timestamp(doc.updated_at)
    doc_id = _uuid("document", str(doc.code), str(doc.version or ""))
    doc_ref = _link(doc_id, doc.title_en)
    ids = {node.code: node.code.lower() if _is_uuid(node.code) else _uuid("item", doc.code, node.code)
           for node in doc.nodes}
    document: dict[str, Any] = {
        "identifier": doc_id, "uri": f"urn:uuid:{doc_id}", "creator": creator, "title": doc.title_en,
        "lastChangeDateTime": changed, "description": doc.description_en, "language": "en",
        "version": str(doc.version or 1), "adoptionStatus": ADOPTION[status],
        "extensions": {"code": doc.code, "translations": {"lt": {"title": doc.title_lt,
                                                                  "description": doc.description_lt}}}}
    items, associations = [], []
    sequence: dict[str | None, int] = {}
    for count, node in enumerate(doc.nodes, start=1):
        item: dict[str, Any] = {
            "identifier": ids[node.code], "uri": f"urn:uuid:{ids[node.code]}", "CFDocumentURI": doc_ref,
            "fullStatement": node.title_en, "humanCodingScheme": node.code, "CFItemType": ITEM_TYPES[node.kind],
            "language": "en", "lastChangeDateTime": changed,
            "extensions": {"translations": {"lt": {"fullStatement": node.title_lt, "notes": node.description_lt}}}}
        if node.description_en:
            item["notes"] = node.description_en
        if node.retired_at is not None:
            item["statusEndDate"] = _timestamp(node.retired_at)
        items.append(item)
        sequence[node.parent_code] = sequence.get(node.parent_code, 0) + 1
        parent = doc_ref if node.parent_code is None else _link(ids[node.parent_code], node.parent_code)
        associations.append(_association("isChildOf", node.code, ids[node.code], parent, doc, doc_ref, changed,
                                         sequence[node.parent_code]))
        if progress is not None and (count % 500 == 0 or count == len(doc.nodes)):
            progress(count, len(doc.nodes))
    for link in doc.links:
        if link.target_code is not None:
            target = _link(ids[link.target_code], link.target_code)
        else:
            identifier = link.target_identifier or _uuid("external", link.target_uri)
            target = {"title": link.target_title, "identifier": identifier, "uri": link.target_uri or f"urn:uuid:{identifier}"}
        associations.append(_association(link.kind, link.source_code, ids[link.source_code], target, doc, doc_ref,
                                         changed, None))
    rubric_id = _uuid("rubric", doc.code, scale.code)
    criterion_id = _uuid("criterion", doc.code, scale.code)
    rubric = {
        "identifier": rubric_id, "uri": f"urn:uuid:{rubric_id}", "title": scale.title_en, "lastChangeDateTime": changed,
        "extensions": {"code": scale.code, "translations": {"lt": {"title": scale.title_lt}}},
        "CFRubricCriteria": [{
            "identifier": criterion_id, "uri": f"urn:uuid:{criterion_id}", "category": scale.title_en,
            "position": 1, "rubricId": rubric_id, "lastChangeDateTime": changed,
            "extensions": {"proficientScore": scale.proficient_level},
            "CFRubricCriterionLevels": [{
                "identifier": _uuid("level", doc.code, scale.code, level.code),
                "uri": f"urn:uuid:{_uuid('level', doc.code, scale.code, level.code)}",
                "quality": level.title_en, "description": level.descriptor_en, "score": level.value,
                "position": level.value, "rubricCriterionId": criterion_id, "lastChangeDateTime": changed,
                "extensions": {"code": level.code, "translations": {"lt": {"quality": level.title_lt,
                                                                           "description": level.descriptor_lt}}}}
                for level in scale.levels]}]}
    types = [{"identifier": _uuid("type", name), "uri": f"urn:uuid:{_uuid('type', name)}", "title": name,
              "description": f"{name} of the competency framework", "hierarchyCode": str(rank), "typeCode": name,
              "lastChangeDateTime": changed} for rank, name in enumerate(ITEM_TYPES.values(), start=1)]
    package = {"CFDocument": document, "CFItems": items, "CFAssociations": associations,
               "CFDefinitions": {"CFConcepts": [], "CFSubjects": [], "CFLicenses": [], "CFItemTypes": types,
                                 "CFAssociationGroupings": []},
               "CFRubrics": [rubric]}
    return json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")


def _association(kind: str, code: str, identifier: str, destination: dict[str, str], doc: FrameworkDocument,
                 doc_ref: dict[str, str], changed: str, sequence: int | None) -> dict[str, Any]:
    association_id = _uuid("association", doc.code, kind, code, destination["identifier"])
    result: dict[str, Any] = {
        "identifier": association_id, "uri": f"urn:uuid:{association_id}", "associationType": kind,
        "CFDocumentURI": doc_ref, "originNodeURI": _link(identifier, code),
        "destinationNodeURI": destination, "lastChangeDateTime": changed}
    if sequence is not None:
        result["sequenceNumber"] = sequence
    return result


# --- reading -----------------------------------------------------------------------------

def _depth(value: Any, limit: int) -> int:
    """Nesting depth without recursion (a hostile file may nest deeply)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first number that is not finite (``NaN``, ``Infinity``, or one like ``1e999`` that
    overflows to infinity), without recursion."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            stack.extend((child, f"{where}.{key}") for key, child in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(Location(path=path), "expected a JSON object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(Location(path=path), "expected a JSON array")
    return value


def _text(obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise fail(Location(path=f"{path}.{key}"), "missing")
        return ""
    if not isinstance(value, str):
        raise fail(Location(path=f"{path}.{key}"), f"expected text (a JSON string), not {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


def _translation(obj: dict[str, Any], key: str) -> str:
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict):
        return ""
    lt = (extensions.get("translations") or {}).get("lt") if isinstance(extensions.get("translations"), dict) else None
    value = lt.get(key) if isinstance(lt, dict) else None
    return value if isinstance(value, str) else ""


def _extension(obj: dict[str, Any], key: str) -> Any:
    extensions = obj.get("extensions")
    return extensions.get(key) if isinstance(extensions, dict) else None


def _node_id(obj: Any, path: str) -> str:
    node = _object(obj, path)
    identifier = node.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        raise fail(Location(path=f"{path}.identifier"), "missing")
    return identifier


def read(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> FrameworkDocument:
    if len(data) > limits.max_bytes:
        raise fail(Location(), f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise fail(Location(row=line), f"wrong encoding: byte 0x{data[error.start]:02X} is not UTF-8 "
                                       "(CASE JSON must be UTF-8)") from None
    try:
        package = json.loads(text)
    except RecursionError:
        raise fail(Location(), "the JSON is nested too deeply") from None
    except ValueError as error:
        line = getattr(error, "lineno", None)
        raise fail(Location(row=line), f"not valid JSON: {getattr(error, 'msg', error)}") from None
    if _depth(package, limits.max_json_depth) > limits.max_json_depth:
        raise fail(Location(), f"the JSON is nested deeper than {limits.max_json_depth} levels")
    not_finite = _non_finite(package, "CFPackage")
    if not_finite is not None:
        raise fail(Location(path=not_finite.removeprefix("CFPackage.")),
                   "not a finite number (NaN, Infinity or too large)")
    package = _object(package, "CFPackage")
    document = _object(package.get("CFDocument"), "CFDocument")
    doc_id = _node_id(document, "CFDocument")
    title = _text(document, "title", "CFDocument", required=True)
    code = _extension(document, "code")
    if not isinstance(code, str):
        code = slug(title) or doc_id
    version_text = _text(document, "version", "CFDocument")
    doc = FrameworkDocument(
        code=code, title_en=title, title_lt=_translation(document, "title"),
        description_en=_text(document, "description", "CFDocument"), description_lt=_translation(document, "description"),
        version=int(version_text) if version_text.isdigit() else None,
        updated_at=_parse_time(document.get("lastChangeDateTime"), Location(path="CFDocument.lastChangeDateTime"),
                               "lastChangeDateTime"),
        locs={"": Location(path="CFDocument"), "code": Location(path="CFDocument.extensions.code"),
              "title_en": Location(path="CFDocument.title"), "title_lt": Location(path="CFDocument.extensions"),
              "description_en": Location(path="CFDocument.description"), "scale": Location(path="CFRubrics")})
    items = _list(package.get("CFItems"), "CFItems")
    if len(items) > limits.max_nodes:
        raise fail(Location(path="CFItems"), f"too many items ({len(items)}; at most {limits.max_nodes})")
    nodes: dict[str, NodeSpec] = {}
    item_path: dict[str, str] = {}
    for i, raw in enumerate(items):
        path = f"CFItems[{i}]"
        item = _object(raw, path)
        identifier = _node_id(item, path)
        if identifier in nodes:
            raise fail(Location(path=f"{path}.identifier"), f"duplicate id {identifier!r}")
        statement = _text(item, "fullStatement", path, required=True)
        notes = _text(item, "notes", path)
        if len(statement) > 500:  # CASE statements may be long; our titles are not
            short = _text(item, "abbreviatedStatement", path)
            doc.warnings.append(f"{path}: the full statement is kept as the description")
            notes = statement + (f"\n\n{notes}" if notes else "")
            statement = short or statement[:497].rstrip() + "…"
        type_name = _text(item, "CFItemType", path).strip().lower()
        at = lambda field, p=path: Location(path=f"{p}.{field}")  # noqa: E731
        nodes[identifier] = NodeSpec(
            code=_text(item, "humanCodingScheme", path).strip() or identifier, parent_code=None,
            kind=TYPE_KINDS.get(type_name), title_en=statement, title_lt=_translation(item, "fullStatement"),
            description_en=notes, description_lt=_translation(item, "notes"),
            retired_at=_parse_time(item.get("statusEndDate"), at("statusEndDate"), "statusEndDate"),
            locs={"": Location(path=path), "code": at("humanCodingScheme"), "kind": at("CFItemType"),
                  "title_en": at("fullStatement"), "title_lt": at("extensions"), "description_en": at("notes"),
                  "description_lt": at("extensions"), "parent_code": at("identifier")})
        item_path[identifier] = path
    parents: dict[str, tuple[str | None, float, int]] = {}
    for i, raw in enumerate(_list(package.get("CFAssociations"), "CFAssociations")):
        path = f"CFAssociations[{i}]"
        association = _object(raw, path)
        kind = _text(association, "associationType", path, required=True)
        origin_ref = _object(association.get("originNodeURI"), f"{path}.originNodeURI")
        origin = _node_id(origin_ref, f"{path}.originNodeURI")
        target_ref = _object(association.get("destinationNodeURI"), f"{path}.destinationNodeURI")
        target = _node_id(target_ref, f"{path}.destinationNodeURI")
        sequence = association.get("sequenceNumber")
        order = float(sequence) if isinstance(sequence, (int, float)) and not isinstance(sequence, bool) else 1e18
        if kind == "isChildOf":
            if origin not in nodes:
                raise fail(Location(path=f"{path}.originNodeURI"), f"unknown item {origin!r}")
            if target != doc_id and target not in nodes:
                raise fail(Location(path=f"{path}.destinationNodeURI"), f"unknown parent {target!r}")
            if origin in parents:
                doc.warnings.append(f"{path}: {nodes[origin].code!r} has a second parent; kept as a link")
            else:
                nodes[origin].locs["parent_code"] = Location(path=f"{path}.destinationNodeURI")
                parents[origin] = (None if target == doc_id else target, order, i)
                continue
        if origin not in nodes:
            doc.warnings.append(f"{path}: association from outside the document ignored")
            continue
        where = Location(path=path)
        if target in nodes:
            doc.links.append(LinkSpec(source_code=origin, kind=kind, target_code=target,
                                      locs={"": where, "kind": Location(path=f"{path}.associationType")}))
        else:
            doc.links.append(LinkSpec(
                source_code=origin, kind=kind, target_identifier=target,
                target_uri=_text(target_ref, "uri", f"{path}.destinationNodeURI"),
                target_title=_text(target_ref, "title", f"{path}.destinationNodeURI"),
                locs={"": where, "kind": Location(path=f"{path}.associationType")}))
    for identifier, node in nodes.items():
        if identifier not in parents:
            doc.warnings.append(f"{item_path[identifier]}: not attached to the tree; placed at the top")
            parents[identifier] = (None, 1e18, 10**9)
    siblings = sorted(nodes, key=lambda identifier: (parents[identifier][1], parents[identifier][2]))
    for identifier in siblings:
        parent = parents[identifier][0]
        nodes[identifier].parent_code = None if parent is None else nodes[parent].code
        doc.nodes.append(nodes[identifier])
    for link in doc.links:  # identifiers → codes
        link.source_code = nodes[link.source_code].code
        if link.target_code is not None:
            link.target_code = nodes[link.target_code].code
    doc.scale = _scale(package, code)
    return doc


def _scale(package: dict[str, Any], code: str) -> ScaleSpec | None:
    for r, raw in enumerate(_list(package.get("CFRubrics"), "CFRubrics")):
        rubric = _object(raw, f"CFRubrics[{r}]")
        for c, criterion_raw in enumerate(_list(rubric.get("CFRubricCriteria"), f"CFRubrics[{r}].CFRubricCriteria")):
            path = f"CFRubrics[{r}].CFRubricCriteria[{c}]"
            criterion = _object(criterion_raw, path)
            raw_levels = _list(criterion.get("CFRubricCriterionLevels"), f"{path}.CFRubricCriterionLevels")
            if not raw_levels:
                continue
            entries = []
            for i, raw_level in enumerate(raw_levels):
                level_path = f"{path}.CFRubricCriterionLevels[{i}]"
                level = _object(raw_level, level_path)
                score = level.get("score", level.get("position"))
                if not isinstance(score, (int, float)) or isinstance(score, bool):
                    raise fail(Location(path=f"{level_path}.score"), "bad scale: the level has no numeric score")
                entries.append((score, i, level, level_path))
            entries.sort(key=lambda entry: (entry[0], entry[1]))
            levels = []
            for value, (score, _i, level, level_path) in enumerate(entries, start=1):
                quality = _text(level, "quality", level_path) or f"Level {value}"
                level_code = _extension(level, "code")
                levels.append(LevelSpec(
                    value=value, code=level_code if isinstance(level_code, str) else (slug(quality) or f"level-{value}"),
                    title_en=quality, title_lt=_translation(level, "quality"),
                    descriptor_en=_text(level, "description", level_path),
                    descriptor_lt=_translation(level, "description"),
                    locs={"": Location(path=level_path), "code": Location(path=f"{level_path}.extensions.code"),
                          "title_en": Location(path=f"{level_path}.quality")}))
            if len({level.code for level in levels}) != len(levels):
                for level in levels:
                    level.code = f"level-{level.value}"
            proficient = _extension(criterion, "proficientScore")
            if not isinstance(proficient, int) or isinstance(proficient, bool):
                proficient = len(levels) // 2 + 1
            scale_code = _extension(rubric, "code")
            title = _text(rubric, "title", f"CFRubrics[{r}]") or f"Competency scale: {code}"
            return ScaleSpec(code=scale_code if isinstance(scale_code, str) else (slug(title) or f"{code}-scale"),
                             title_en=title, title_lt=_translation(rubric, "title"), proficient_level=proficient,
                             levels=levels,
                             locs={"": Location(path=path), "code": Location(path=f"CFRubrics[{r}].extensions.code"),
                                   "proficient_level": Location(path=f"{path}.extensions.proficientScore"),
                                   "levels": Location(path=f"{path}.CFRubricCriterionLevels")})
    return None
