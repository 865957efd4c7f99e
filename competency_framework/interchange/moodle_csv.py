"""Moodle competency framework CSV (``admin/tool/lpimportcsv``): 14 columns, one framework row.

Columns, in Moodle's order: Parent ID number, ID number, Short name, Description,
Description format, Scale values, Scale configuration, Rule type, Rule outcome, Rule
config, Cross-referenced competency ID numbers, Exported ID, Is framework, Taxonomy.
Moodle maps them by position (its header is localised), so this reader does too.

What Moodle cannot hold travels in places Moodle keeps or ignores, so our own exports
round-trip without loss and still import into Moodle:

* Lithuanian texts: Moodle's multi-language spans in Short name and Description
  (``<span lang="lt" class="multilang">``), shown by Moodle's multilang filter.
* The node's kind: the Taxonomy cell of competency rows (Moodle reads taxonomy only
  from the framework row, as one term per depth): ``domain``, ``competency``, ``indicator``.
* The scale's code, Lithuanian titles and descriptors: extra keys inside the Scale
  configuration JSON objects (Moodle keeps unknown keys there).
* Retirement dates: ``{"retired": {code: ISO date}}`` in the framework row's Rule config,
  a cell Moodle does not read for the framework row.

Cross-references become ``isRelatedTo`` links (Moodle's relation is symmetric: each pair
is stored once). Role profiles are not part of a Moodle framework and are not exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from competency_framework.interchange.cells import (
    escape_cell,
    html_to_text,
    join_multilang,
    split_multilang,
    text_to_html,
    unescape_cell,
)
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
from competency_framework.models import NodeKind
from competency_framework.texts import slug

HEADERS = ("Parent ID number", "ID number", "Short name", "Description", "Description format", "Scale values",
           "Scale configuration", "Rule type (optional)", "Rule outcome (optional)", "Rule config (optional)",
           "Cross-referenced competency ID numbers", "Exported ID (optional)", "Is framework", "Taxonomy")
(PARENT, IDNUMBER, SHORTNAME, DESCRIPTION, FORMAT, SCALE_VALUES, SCALE_CONFIG, RULE_TYPE, RULE_OUTCOME,
 RULE_CONFIG, RELATED, EXPORT_ID, IS_FRAMEWORK, TAXONOMY) = range(14)
FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = 0, 1, 2, 4

KIND_TERMS = {NodeKind.AREA: "domain", NodeKind.COMPETENCY: "competency", NodeKind.INDICATOR: "indicator"}
TERM_KINDS = {"domain": NodeKind.AREA, "competency": NodeKind.COMPETENCY, "indicator": NodeKind.INDICATOR,
              "behaviour": NodeKind.INDICATOR}
MOODLE_TERMS = {"behaviour", "competency", "concept", "domain", "indicator", "level", "outcome", "practice",
                "proficiency", "skill", "value"}
_DELIMITERS = (",", ";", "\t", ":")


# --- writing -----------------------------------------------------------------------------

def _bilingual_title(en: str, lt: str) -> str:
    if not lt and "<" not in en and "&" not in en and split_multilang(en) is None:
        return en
    parts = {"en": text_to_html(en)}
    if lt:
        parts["lt"] = text_to_html(lt)
    return join_multilang(parts)


def _bilingual_html(en: str, lt: str) -> str:
    if not lt:
        return text_to_html(en)
    return join_multilang({"en": text_to_html(en), "lt": text_to_html(lt)})


def _quote(value: str) -> str:
    """Quote like PHP's fputcsv (what Moodle writes): when the cell holds a delimiter,
    quote, line break, tab or space."""
    if any(char in value for char in ',"\n\r\t \\'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write(doc: FrameworkDocument, progress: Progress | None = None) -> bytes:
    scale = doc.scale
    assert scale is not None
    config: list[dict[str, Any]] = [{"scaleid": scale.code, "code": scale.code, "title_en": scale.title_en,
                                     "title_lt": scale.title_lt}]
    for level in scale.levels:
        config.append({"id": level.value, "scaledefault": 1 if level.value == 1 else 0,
                       "proficient": 1 if level.value >= scale.proficient_level else 0, "code": level.code,
                       "title_en": level.title_en, "title_lt": level.title_lt,
                       "descriptor_en": level.descriptor_en, "descriptor_lt": level.descriptor_lt})
    depth_terms: list[str] = []
    depth: dict[str, int] = {}
    for node in doc.nodes:
        depth[node.code] = 1 if node.parent_code is None else depth[node.parent_code] + 1
        if len(depth_terms) < depth[node.code]:
            depth_terms.append(KIND_TERMS[node.kind])
    retired = {node.code: node.retired_at.isoformat() for node in doc.nodes if node.retired_at is not None}
    rows = [list(HEADERS), [
        "", doc.code, _bilingual_title(doc.title_en, doc.title_lt), _bilingual_html(doc.description_en,
                                                                                    doc.description_lt),
        str(FORMAT_HTML), ",".join(level.title_en.replace(",", " ") for level in scale.levels),
        json.dumps(config, ensure_ascii=False, separators=(",", ":")), "", "",
        json.dumps({"retired": retired}, ensure_ascii=False, separators=(",", ":")) if retired else "",
        "", "", "1", ",".join(depth_terms)]]
    related: dict[str, list[str]] = {}
    for link in doc.links:
        if link.kind == "isRelatedTo" and link.target_code is not None:
            related.setdefault(link.source_code, []).append(link.target_code)
            related.setdefault(link.target_code, []).append(link.source_code)
    order = {node.code: i for i, node in enumerate(doc.nodes)}
    for i, node in enumerate(doc.nodes, start=1):
        refs = sorted(set(related.get(node.code, [])), key=order.__getitem__)
        rows.append([node.parent_code or "", node.code, _bilingual_title(node.title_en, node.title_lt),
                     _bilingual_html(node.description_en, node.description_lt), str(FORMAT_HTML), "", "", "", "0",
                     "null", ",".join(ref.replace(",", "%2C") for ref in refs), str(i), "",
                     KIND_TERMS[node.kind]])
        if progress is not None and (i % 500 == 0 or i == len(doc.nodes)):
            progress(i, len(doc.nodes))
    return "".join(",".join(_quote(escape_cell(cell)) for cell in row) + "\n" for row in rows).encode("utf-8")


# --- reading -----------------------------------------------------------------------------

def decode(data: bytes, encoding: str = "utf-8") -> str:
    """Decode, naming the row and column of the first byte that is not in ``encoding``."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        before = data[:error.start].decode(encoding, errors="replace")
        records = list(csv.reader(io.StringIO(before)))
        row = max(len(records), 1)
        column = len(records[-1]) if records else 1
        raise fail(Location(row=row, column=HEADERS[min(column, 14) - 1]),
                   f"wrong encoding: byte 0x{data[error.start]:02X} is not {encoding}; save the file as UTF-8") from None
    except LookupError:
        raise fail(Location(), f"unknown encoding {encoding!r}") from None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    for delimiter in _DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        if len(header) == 14:
            return delimiter
    return ","


def _multilang_text(value: str, as_html: bool) -> tuple[str, str]:
    parts = split_multilang(value)
    if parts is not None:
        en = parts.get("en", next(iter(parts.values())))
        return html_to_text(en), html_to_text(parts.get("lt", ""))
    return (html_to_text(value) if as_html else value), ""


def _description(value: str, fmt: int) -> tuple[str, str]:
    if fmt == FORMAT_HTML:
        return _multilang_text(value, True)
    if fmt == FORMAT_MOODLE:  # Moodle auto-format: HTML allowed, line breaks are breaks
        return _multilang_text(value.replace("\r\n", "\n").replace("\n", "<br>"), True)
    return value, ""


def _scale(row: list[str], row_number: int, framework_code: str, framework_title: str) -> ScaleSpec:
    at = lambda column: Location(row=row_number, column=HEADERS[column])  # noqa: E731
    values = [value.strip() for value in row[SCALE_VALUES].split(",")] if row[SCALE_VALUES].strip() else []
    if not values:
        raise fail(at(SCALE_VALUES), "bad scale: the framework row has no scale values")
    try:
        config = json.loads(row[SCALE_CONFIG]) if row[SCALE_CONFIG].strip() else None
    except (ValueError, RecursionError):
        raise fail(at(SCALE_CONFIG), "bad scale: the scale configuration is not valid JSON") from None
    if not isinstance(config, list) or not config or not all(isinstance(item, dict) for item in config):
        raise fail(at(SCALE_CONFIG), "bad scale: the scale configuration must be a list of objects "
                                     '(first {"scaleid": …}, then one per scale item)')
    head, items = config[0], config[1:]
    by_id: dict[int, dict[str, Any]] = {}
    for item in items:
        try:
            item_id = int(item.get("id"))
        except (TypeError, ValueError):
            raise fail(at(SCALE_CONFIG), f"bad scale: scale item id {item.get('id')!r} is not a number") from None
        if not 1 <= item_id <= len(values):
            raise fail(at(SCALE_CONFIG), f"bad scale: scale item {item_id} is not one of the {len(values)} "
                                         "scale values")
        by_id[item_id] = item
    proficient = [item_id for item_id, item in sorted(by_id.items()) if _truthy(item.get("proficient"))]
    if not proficient:
        raise fail(at(SCALE_CONFIG), "bad scale: no scale item is marked proficient")
    levels = []
    for value, title in enumerate(values, start=1):
        item = by_id.get(value, {})
        title_en = item.get("title_en") if isinstance(item.get("title_en"), str) else title
        code = item.get("code") if isinstance(item.get("code"), str) else (slug(title) or f"level-{value}")
        levels.append(LevelSpec(value=value, code=code, title_en=title_en, title_lt=_str(item.get("title_lt")),
                                descriptor_en=_str(item.get("descriptor_en")),
                                descriptor_lt=_str(item.get("descriptor_lt")),
                                locs={"": at(SCALE_CONFIG), "title_en": at(SCALE_VALUES)}))
    code = head.get("code") if isinstance(head.get("code"), str) else (slug(framework_code) or "moodle") + "-scale"
    title_en = head.get("title_en") if isinstance(head.get("title_en"), str) else f"Competency scale: {framework_title}"
    if len({level.code for level in levels}) != len(levels):  # slugs of titles may collide
        for level in levels:
            level.code = f"level-{level.value}"
    return ScaleSpec(code=code, title_en=title_en[:255], title_lt=_str(head.get("title_lt")),
                     proficient_level=proficient[0], levels=levels,
                     locs={"": at(SCALE_CONFIG), "code": at(SCALE_CONFIG), "levels": at(SCALE_VALUES),
                           "proficient_level": at(SCALE_CONFIG)})


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _truthy(value: Any) -> bool:
    return value not in (None, "", 0, "0", False)


def read(data: bytes, *, encoding: str = "utf-8", limits: Limits = DEFAULT_LIMITS) -> FrameworkDocument:
    if len(data) > limits.max_bytes:
        raise fail(Location(), f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB")
    text = decode(data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False)
    doc: FrameworkDocument | None = None
    nodes: list[NodeSpec] = []
    related: list[tuple[int, str, str]] = []
    framework_row: tuple[int, list[str]] | None = None
    warnings: list[str] = []
    try:
        for index, row in enumerate(reader, start=1):
            if index == 1:
                if len(row) != 14:
                    raise fail(Location(row=1), f"expected the 14 columns of a Moodle competency framework, "
                                                f"found {len(row)}")
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > 14:
                raise fail(Location(row=index), f"{len(row)} columns, expected 14 (a quote left open?)")
            if index - 1 > limits.max_nodes + 1:
                raise fail(Location(row=index), f"too many rows (at most {limits.max_nodes})")
            row = [unescape_cell(cell) for cell in row] + [""] * (14 - len(row))
            at = lambda column, i=index: Location(row=i, column=HEADERS[column])  # noqa: E731
            try:
                fmt = int(row[FORMAT].strip() or FORMAT_HTML)
            except ValueError:
                raise fail(at(FORMAT), f"description format {row[FORMAT]!r} is not 0, 1, 2 or 4") from None
            if fmt not in (FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN):
                raise fail(at(FORMAT), f"description format {fmt} is not 0, 1, 2 or 4")
            title_en, title_lt = _multilang_text(row[SHORTNAME], False)
            description_en, description_lt = _description(row[DESCRIPTION], fmt)
            if _truthy(row[IS_FRAMEWORK].strip()):
                if framework_row is not None:
                    raise fail(at(IS_FRAMEWORK), f"a second framework row (the first is row {framework_row[0]})")
                framework_row = (index, row)
                doc = FrameworkDocument(
                    code=row[IDNUMBER], title_en=title_en, title_lt=title_lt, description_en=description_en,
                    description_lt=description_lt,
                    locs={"code": at(IDNUMBER), "title_en": at(SHORTNAME), "title_lt": at(SHORTNAME),
                          "description_en": at(DESCRIPTION), "description_lt": at(DESCRIPTION), "": at(IDNUMBER)})
                continue
            term = row[TAXONOMY].strip().lower()
            if term and term not in TERM_KINDS:
                raise fail(at(TAXONOMY), f"unknown kind {term!r} (use domain, competency or indicator)")
            nodes.append(NodeSpec(
                code=row[IDNUMBER], parent_code=row[PARENT].strip() or None, kind=TERM_KINDS.get(term),
                title_en=title_en, title_lt=title_lt, description_en=description_en, description_lt=description_lt,
                locs={"code": at(IDNUMBER), "parent_code": at(PARENT), "kind": at(TAXONOMY),
                      "title_en": at(SHORTNAME), "title_lt": at(SHORTNAME), "description_en": at(DESCRIPTION),
                      "description_lt": at(DESCRIPTION), "": at(IDNUMBER)}))
            for ref in filter(None, (part.strip() for part in row[RELATED].split(","))):
                related.append((index, row[IDNUMBER].strip(), ref.replace("%2C", ",")))
            if row[SCALE_VALUES].strip():
                warnings.append(f"row {index}: the competency's own scale is ignored; the framework's applies")
            if row[RULE_TYPE].strip():
                warnings.append(f"row {index}: Moodle completion rule {row[RULE_TYPE].strip()!r} is not imported")
    except csv.Error as error:
        raise fail(Location(row=reader.line_num), f"malformed CSV: {error}") from None
    if doc is None or framework_row is None:
        raise fail(Location(column=HEADERS[IS_FRAMEWORK]), 'no framework row (a row with "Is framework" = 1)')
    doc.warnings.extend(warnings)
    row_number, row = framework_row
    at = lambda column: Location(row=row_number, column=HEADERS[column])  # noqa: E731
    doc.scale = _scale(row, row_number, row[IDNUMBER].strip(), doc.title_en)
    terms = [term.strip() for term in row[TAXONOMY].split(",") if term.strip()]
    unknown = [term for term in terms if term not in MOODLE_TERMS]
    if unknown:
        raise fail(at(TAXONOMY), f"unknown taxonomy term {unknown[0]!r}")
    retired: dict[str, str] = {}
    if row[RULE_CONFIG].strip():
        try:
            extra = json.loads(row[RULE_CONFIG])
            retired = extra.get("retired", {}) if isinstance(extra, dict) else {}
        except (ValueError, RecursionError):
            raise fail(at(RULE_CONFIG), "not valid JSON") from None
    doc.nodes = nodes
    for node in nodes:
        when = retired.get(str(node.code).strip())
        if when is not None:
            try:
                node.retired_at = dt.datetime.fromisoformat(str(when))
            except ValueError:
                raise fail(at(RULE_CONFIG), f"retirement date {when!r} of {node.code!r} is not a date") from None
            if node.retired_at.tzinfo is None:
                node.retired_at = node.retired_at.replace(tzinfo=dt.timezone.utc)
    codes = {str(node.code).strip() for node in nodes}
    pairs: set[frozenset[str]] = set()
    for row_index, source, target in related:
        if target not in codes:
            doc.warnings.append(f"row {row_index}: cross-reference to {target!r}, which is not in this file, ignored")
            continue
        pair = frozenset((source, target))
        if pair in pairs or source == target:
            continue
        pairs.add(pair)
        where = Location(row=row_index, column=HEADERS[RELATED])
        doc.links.append(LinkSpec(source_code=source, kind="isRelatedTo", target_code=target,
                                  locs={"": where, "source_code": where, "target_code": where}))
    return doc
