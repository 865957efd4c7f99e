"""Loading a framework from the nested fixture format (``fixtures/framework.yaml``).

It goes through the same document validation as the file imports, so a fixture with a
duplicate code or an unknown competency in a role profile fails with its path named.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from competency_framework.interchange.document import (
    FrameworkDocument,
    LevelSpec,
    Location,
    NodeSpec,
    RequirementSpec,
    RoleSpec,
    ScaleSpec,
    apply_document,
    validate_document,
)
from competency_framework.models import Framework, FrameworkStatus, NodeKind

_TEXT_KEYS = ("title_en", "title_lt", "description_en", "description_lt")


def _texts(raw: Mapping[str, Any], path: str, keys: tuple[str, ...] = _TEXT_KEYS) -> tuple[dict[str, Any], dict]:
    values = {key: raw.get(key) or "" for key in keys}
    return values, {key: Location(path=f"{path}.{key}") for key in keys} | {"": Location(path=path)}


def document_from_definition(data: Mapping[str, Any]) -> FrameworkDocument:
    raw = data["framework"]
    texts, locs = _texts(raw, "framework")
    raw_scale = raw.get("scale") or {}
    levels = []
    for i, level in enumerate(raw_scale.get("levels") or ()):
        level_texts, level_locs = _texts(level, f"framework.scale.levels[{i}]",
                                         ("title_en", "title_lt", "descriptor_en", "descriptor_lt"))
        levels.append(LevelSpec(value=level.get("value"), code=level.get("code"), **level_texts,
                                locs=level_locs | {"value": Location(path=f"framework.scale.levels[{i}].value"),
                                                   "code": Location(path=f"framework.scale.levels[{i}].code")}))
    scale_texts, scale_locs = _texts(raw_scale, "framework.scale", ("title_en", "title_lt"))
    scale = ScaleSpec(code=raw_scale.get("code"), proficient_level=raw_scale.get("proficient_level"),
                      levels=levels, **scale_texts,
                      locs=scale_locs | {"code": Location(path="framework.scale.code"),
                                         "proficient_level": Location(path="framework.scale.proficient_level")})
    doc = FrameworkDocument(code=raw.get("code"), version=int(raw.get("version", 1)), scale=scale, **texts,
                            locs=locs | {"code": Location(path="framework.code")})

    def add(node: Mapping[str, Any], kind: NodeKind, parent: Any, path: str) -> None:
        node_texts, node_locs = _texts(node, path)
        doc.nodes.append(NodeSpec(code=node.get("code"), parent_code=parent, kind=kind, **node_texts,
                                  locs=node_locs | {"code": Location(path=f"{path}.code")}))

    for a, area in enumerate(raw.get("areas") or ()):
        add(area, NodeKind.AREA, None, f"areas[{a}]")
        for c, competency in enumerate(area.get("competencies") or ()):
            add(competency, NodeKind.COMPETENCY, area.get("code"), f"areas[{a}].competencies[{c}]")
            for i, indicator in enumerate(competency.get("indicators") or ()):
                add(indicator, NodeKind.INDICATOR, competency.get("code"),
                    f"areas[{a}].competencies[{c}].indicators[{i}]")
    for r, profile in enumerate(data.get("role_profiles") or ()):
        profile_texts, profile_locs = _texts(profile, f"role_profiles[{r}]")
        doc.role_profiles.append(RoleSpec(
            code=profile.get("code"), **profile_texts, locs=profile_locs,
            requirements=[RequirementSpec(code, level, Location(path=f"role_profiles[{r}].requirements.{code}"))
                          for code, level in (profile.get("requirements") or {}).items()]))
    return doc


def load_framework_definition(session: Session, data: Mapping[str, Any]) -> Framework:
    """Create and publish a framework from a nested definition (the fixture format).

    Idempotent: if the same code and version exist, returns the existing one unchanged.
    """
    raw = data["framework"]
    existing = session.scalar(
        select(Framework).where(Framework.code == raw["code"], Framework.version == int(raw.get("version", 1))))
    if existing is not None:
        return existing
    doc = validate_document(document_from_definition(data))
    return apply_document(session, doc, status=FrameworkStatus.PUBLISHED, version=doc.version)
