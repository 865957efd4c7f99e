"""Proficiency scales: ordered levels with descriptors and a "proficient" threshold.

A scale is shared by framework versions, so it may only change while no published or
archived version uses it: evidence recorded against such a version keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError, ReadOnlyFrameworkError
from competency_framework.models import Framework, FrameworkStatus, RoleProfile, RoleRequirement, Scale, ScaleLevel
from competency_framework.texts import SHORT_TITLE_MAX, TEXT_MAX, check_code, check_length, clean_text, clean_title

MIN_LEVELS = 2
MAX_LEVELS = 20


@dataclass(frozen=True)
class LevelDefinition:
    value: int
    code: str
    title_en: str
    title_lt: str = ""
    descriptor_en: str = ""
    descriptor_lt: str = ""


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise FrameworkError(f"{what} must be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise FrameworkError(f"{what} must be a whole number, not {value!r}")


def validate_levels(levels: Sequence[Mapping[str, Any] | LevelDefinition],
                    proficient_level: Any) -> tuple[list[LevelDefinition], int]:
    """Levels must be numbered 1, 2, 3 … in order with distinct codes; the threshold one of them.

    Consecutive values from 1 keep levels comparable across sources and let Moodle's
    1-based scale items map one to one.
    """
    if not MIN_LEVELS <= len(levels) <= MAX_LEVELS:
        raise FrameworkError(f"a scale needs {MIN_LEVELS}–{MAX_LEVELS} levels, not {len(levels)}")
    result: list[LevelDefinition] = []
    codes: set[str] = set()
    for position, raw in enumerate(levels, start=1):
        item = raw.__dict__ if isinstance(raw, LevelDefinition) else raw
        value = _as_int(item.get("value", position), f"level {position}: value")
        if value != position:
            raise FrameworkError(f"level {position}: value {value} is out of order; levels are numbered 1, 2, 3 …")
        code = check_code(item.get("code"), f"level {position}: code")
        if code in codes:
            raise FrameworkError(f"level {position}: duplicate code {code!r}")
        codes.add(code)
        title_en = check_length(clean_title(item.get("title_en")), SHORT_TITLE_MAX, f"level {position}: title")
        if not title_en:
            raise FrameworkError(f"level {position}: the English title is empty")
        result.append(LevelDefinition(
            value=value, code=code, title_en=title_en,
            title_lt=check_length(clean_title(item.get("title_lt")), SHORT_TITLE_MAX, f"level {position}: title"),
            descriptor_en=check_length(clean_text(item.get("descriptor_en")), TEXT_MAX, f"level {position}: descriptor"),
            descriptor_lt=check_length(clean_text(item.get("descriptor_lt")), TEXT_MAX, f"level {position}: descriptor")))
    proficient = _as_int(proficient_level, "proficient level")
    if not 1 <= proficient <= len(result):
        raise FrameworkError(f"proficient level {proficient} is not one of the levels 1–{len(result)}")
    return result, proficient


def scale_in_use(session: Session, scale: Scale) -> bool:
    """Whether a published or archived version uses the scale (then it is frozen)."""
    return bool(session.scalar(select(func.count(Framework.id)).where(
        Framework.scale_id == scale.id, Framework.status != FrameworkStatus.DRAFT)))


def create_scale(session: Session, *, code: str, title_en: str, proficient_level: int,
                 levels: Sequence[Mapping[str, Any] | LevelDefinition], title_lt: str = "") -> Scale:
    code = check_code(code, "scale code")
    if session.scalar(select(Scale.id).where(Scale.code == code)) is not None:
        raise FrameworkError(f"a scale with code {code!r} already exists")
    definitions, proficient = validate_levels(levels, proficient_level)
    title = check_length(clean_title(title_en), SHORT_TITLE_MAX, "scale title")
    if not title:
        raise FrameworkError("the scale's English title is empty")
    scale = Scale(code=code, title_en=title, title_lt=check_length(clean_title(title_lt), SHORT_TITLE_MAX, "scale title"),
                  proficient_level=proficient)
    scale.levels = [ScaleLevel(**level.__dict__) for level in definitions]
    session.add(scale)
    session.flush()
    return scale


def update_scale(session: Session, scale: Scale, *, title_en: str | None = None, title_lt: str | None = None,
                 proficient_level: int | None = None,
                 levels: Sequence[Mapping[str, Any] | LevelDefinition] | None = None) -> Scale:
    """Change a scale used only by drafts; role requirements must still fit."""
    if scale_in_use(session, scale):
        raise ReadOnlyFrameworkError(
            f"scale {scale.code!r} is used by a published framework; create a new scale for the next draft")
    if title_en is not None:
        scale.title_en = check_length(clean_title(title_en), SHORT_TITLE_MAX, "scale title")
        if not scale.title_en:
            raise FrameworkError("the scale's English title is empty")
    if title_lt is not None:
        scale.title_lt = check_length(clean_title(title_lt), SHORT_TITLE_MAX, "scale title")
    if levels is not None or proficient_level is not None:
        current = levels if levels is not None else [LevelDefinition(
            level.value, level.code, level.title_en, level.title_lt, level.descriptor_en, level.descriptor_lt)
            for level in scale.levels]
        definitions, proficient = validate_levels(
            current, proficient_level if proficient_level is not None else scale.proficient_level)
        highest = session.scalar(select(func.max(RoleRequirement.level)).join(RoleProfile).join(Framework)
                                 .where(Framework.scale_id == scale.id))
        if highest is not None and highest > len(definitions):
            raise FrameworkError(f"a role profile requires level {highest}, above the new top level {len(definitions)}")
        if levels is not None:
            by_value = {level.value: level for level in scale.levels}
            for definition in definitions:
                level = by_value.pop(definition.value, None)
                if level is None:
                    scale.levels.append(ScaleLevel(**definition.__dict__))
                else:
                    for key, value in definition.__dict__.items():
                        setattr(level, key, value)
            for level in by_value.values():
                scale.levels.remove(level)
        scale.proficient_level = proficient
    session.flush()
    return scale


def scale_signature(scale: Scale) -> tuple[Any, ...]:
    """Everything that makes two scales the same, for reusing one on import."""
    return (scale.title_en, scale.title_lt, scale.proficient_level,
            tuple((level.value, level.code, level.title_en, level.title_lt, level.descriptor_en, level.descriptor_lt)
                  for level in sorted(scale.levels, key=lambda level: level.value)))


def definition_signature(title_en: str, title_lt: str, proficient_level: int,
                         levels: Sequence[LevelDefinition]) -> tuple[Any, ...]:
    return (title_en, title_lt, proficient_level,
            tuple((level.value, level.code, level.title_en, level.title_lt, level.descriptor_en, level.descriptor_lt)
                  for level in levels))


def find_or_create_scale(session: Session, *, code: str, title_en: str, title_lt: str, proficient_level: int,
                         levels: Sequence[LevelDefinition]) -> Scale:
    """Reuse an identical scale; if the code is taken by a different one, use ``code-2``, ``code-3`` …

    Imports must not change a scale that published versions rely on, nor fail because a
    file brings an edited copy of one.
    """
    wanted = definition_signature(title_en, title_lt, proficient_level, levels)
    candidate, suffix = code, 1
    while True:
        existing = session.scalar(select(Scale).where(Scale.code == candidate))
        if existing is None:
            return create_scale(session, code=candidate, title_en=title_en, title_lt=title_lt,
                                proficient_level=proficient_level, levels=levels)
        if scale_signature(existing) == wanted:
            return existing
        suffix += 1
        tail = f"-{suffix}"
        candidate = code[:64 - len(tail)] + tail
