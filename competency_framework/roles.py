"""Role profiles: the level each rank or position requires, per competency.

Profiles are part of a framework version (a new draft copies them), so they change only
in drafts; levels are checked against the version's scale.
"""

from __future__ import annotations

from typing import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from competency_framework.errors import FrameworkError, TreeError
from competency_framework.models import Competency, Framework, RoleProfile, RoleRequirement
from competency_framework.scales import _as_int
from competency_framework.texts import SHORT_TITLE_MAX, check_code
from competency_framework.tree import ensure_editable, node_by_code, texts, touch


def role_profile(session: Session, framework: Framework, code: str) -> RoleProfile | None:
    return session.scalar(select(RoleProfile).where(RoleProfile.framework_id == framework.id,
                                                    RoleProfile.code == code))


def add_role_profile(session: Session, framework: Framework, *, code: str, title_en: str, title_lt: str = "",
                     description_en: str = "", description_lt: str = "") -> RoleProfile:
    ensure_editable(framework)
    code = check_code(code, "role profile code")
    if any(profile.code == code for profile in framework.role_profiles):
        raise FrameworkError(f"role profile {code!r} already exists in framework {framework.code}")
    profile = RoleProfile(code=code, **texts(title_en=title_en, title_lt=title_lt, description_en=description_en,
                                             description_lt=description_lt, title_limit=SHORT_TITLE_MAX))
    framework.role_profiles.append(profile)
    touch(framework)
    session.flush()
    return profile


def edit_role_profile(session: Session, profile: RoleProfile, *, title_en: str | None = None,
                      title_lt: str | None = None, description_en: str | None = None,
                      description_lt: str | None = None) -> RoleProfile:
    ensure_editable(profile.framework)
    merged = texts(title_en=profile.title_en if title_en is None else title_en,
                   title_lt=profile.title_lt if title_lt is None else title_lt,
                   description_en=profile.description_en if description_en is None else description_en,
                   description_lt=profile.description_lt if description_lt is None else description_lt,
                   title_limit=SHORT_TITLE_MAX)
    for key, value in merged.items():
        setattr(profile, key, value)
    touch(profile.framework)
    session.flush()
    return profile


def delete_role_profile(session: Session, profile: RoleProfile) -> None:
    framework = profile.framework
    ensure_editable(framework)
    framework.role_profiles.remove(profile)
    touch(framework)
    session.flush()


def check_level(framework: Framework, level: object, what: str = "level") -> int:
    value = _as_int(level, what)
    top = len(framework.scale.levels)
    if not 1 <= value <= top:
        raise FrameworkError(f"{what} {value} is not on scale {framework.scale.code!r} (1–{top})")
    return value


def set_requirement(session: Session, profile: RoleProfile, competency: Competency, level: int) -> RoleRequirement:
    """Require ``level`` of ``competency`` for this role (replacing any earlier requirement)."""
    framework = profile.framework
    ensure_editable(framework)
    if competency.framework is not framework:
        raise TreeError(f"{competency.code!r} belongs to another framework")
    if competency.retired:
        raise TreeError(f"{competency.code!r} is retired")
    value = check_level(framework, level, f"required level for {competency.code!r}")
    for requirement in profile.requirements:
        if requirement.competency is competency:
            requirement.level = value
            break
    else:
        requirement = RoleRequirement(competency=competency, level=value)
        profile.requirements.append(requirement)
    touch(framework)
    session.flush()
    return requirement


def clear_requirement(session: Session, profile: RoleProfile, competency: Competency) -> bool:
    """Drop the requirement; returns whether there was one."""
    ensure_editable(profile.framework)
    before = len(profile.requirements)
    profile.requirements = [r for r in profile.requirements if r.competency is not competency]
    touch(profile.framework)
    session.flush()
    return len(profile.requirements) != before


def set_requirements(session: Session, profile: RoleProfile, levels: Mapping[str, int | None]) -> RoleProfile:
    """Set many requirements by competency code; ``None`` clears one. All checked before any change."""
    framework = profile.framework
    ensure_editable(framework)
    resolved: list[tuple[Competency, int | None]] = []
    for code, level in levels.items():
        node = node_by_code(framework, code)
        if node is None:
            raise TreeError(f"role profile {profile.code!r}: unknown competency {code!r}")
        if level is not None:
            level = check_level(framework, level, f"required level for {code!r}")
            if node.retired:
                raise TreeError(f"{code!r} is retired")
        resolved.append((node, level))
    for node, level in resolved:
        if level is None:
            clear_requirement(session, profile, node)
        else:
            set_requirement(session, profile, node, level)
    return profile


def requirement_levels(profile: RoleProfile | None) -> dict[int, int]:
    """Competency id → required level."""
    if profile is None:
        return {}
    return {requirement.competency_id: requirement.level for requirement in profile.requirements}
