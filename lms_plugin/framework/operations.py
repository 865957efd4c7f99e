"""Maintaining the competency framework, exchanging it, and rating people against it.

Each operation checks the actor's capability again (so the command line and any other
caller are held to the same rule as the views), calls the framework domain, writes an
audit row for every change, and flushes; the caller commits. ``actor=None`` means the
command line, run by whoever operates the server: there is no signed-in user to check.

Domain errors (``FrameworkError`` and its kinds) become ``OperationError`` with the
form field they are about, so a view can put the message next to that field. Changes
to a published or archived version are refused before the domain is asked, with a
message that says what to do instead.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework import operations as domain
from competency_framework.errors import FrameworkError, ReadOnlyFrameworkError
from competency_framework.interchange import (
    Format,
    ImportReport,
    InterchangeError,
    Location,
    Source,
    export_framework,
    import_framework,
)
from competency_framework.models import (
    AggregationRule,
    Competency,
    Evidence,
    EvidenceSource,
    Framework,
    FrameworkStatus,
    NodeKind,
    ProficiencyPolicy,
    RoleProfile,
    RollupRule,
    Scale,
)
from competency_framework.tree import touch
from lms_plugin.core import audit
from lms_plugin.core.capabilities import Capability, require
from lms_plugin.core.errors import Conflict, OperationError, PermissionDenied
from lms_plugin.core.people import User
from lms_plugin.framework.texts import status_label

Progress = Callable[[int, int], None]


def _check(actor: User | None, capability: Capability) -> None:
    """The actor must hold the capability; ``None`` is the command line (the server's operator)."""
    if actor is not None:
        require(actor, capability)


def _field_of(message: str, default: str | None) -> str | None:
    """Which form field a domain message is about, from how the domain words it."""
    lowered = message.lower()
    if lowered.startswith(("code ", "framework code", "scale code", "role profile code")):
        return "code"
    if "english title" in lowered or lowered.startswith("title"):
        return "title_en"
    if lowered.startswith("description"):
        return "description_en"
    return default


def _domain_error(error: FrameworkError, field: str | None = None) -> OperationError:
    if isinstance(error, ReadOnlyFrameworkError):
        return Conflict(str(error))
    return OperationError(str(error), field=_field_of(str(error), field))


def ensure_draft(framework: Framework) -> None:
    """Published and archived versions are read-only: say so in the user's language."""
    if framework.status is not FrameworkStatus.DRAFT:
        raise Conflict(_l("Version %(version)d of %(code)s is %(status)s and read-only. Create a new draft "
                          "version to change it.", version=framework.version, code=framework.code,
                          status=status_label(framework.status)))


# --- frameworks and versions ---------------------------------------------------------------

def create_framework(session: Session, actor: User | None, *, code: str, title_en: str, title_lt: str,
                     description_en: str, description_lt: str, scale: Scale) -> Framework:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    try:
        framework = domain.create_framework(session, code=code, title_en=title_en, title_lt=title_lt,
                                            description_en=description_en, description_lt=description_lt,
                                            scale=scale)
    except FrameworkError as error:
        raise _domain_error(error, "code") from None
    audit.record(session, actor, "framework.create", framework, code=framework.code, version=framework.version)
    return framework


def edit_framework(session: Session, actor: User | None, framework: Framework, *, title_en: str, title_lt: str,
                   description_en: str, description_lt: str, scale: Scale | None = None) -> Framework:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    try:
        domain.edit_framework(session, framework, title_en=title_en, title_lt=title_lt,
                              description_en=description_en, description_lt=description_lt)
        if scale is not None and scale is not framework.scale:
            domain.set_framework_scale(session, framework, scale)
    except FrameworkError as error:
        raise _domain_error(error, "scale" if "scale" in str(error) else "title_en") from None
    audit.record(session, actor, "framework.edit", framework, code=framework.code, version=framework.version,
                 scale=framework.scale.code)
    return framework


def new_draft(session: Session, actor: User | None, framework: Framework) -> Framework:
    """Copy a published (or archived) version into the next draft version."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    if framework.status is FrameworkStatus.DRAFT:
        raise Conflict(_l("This version is already a draft: edit it directly."))
    existing = session.scalar(select(Framework).where(
        Framework.code == framework.code, Framework.status.in_((FrameworkStatus.DRAFT, FrameworkStatus.PENDING))))
    if existing is not None:
        raise Conflict(_l("%(code)s already has a draft (version %(version)d): edit or publish that one first.",
                          code=framework.code, version=existing.version))
    try:
        draft = domain.new_draft_version(session, framework)
    except FrameworkError as error:
        raise _domain_error(error) from None
    audit.record(session, actor, "framework.new_draft", draft, code=draft.code, version=draft.version,
                 copied_from=framework.version)
    return draft


def publish(session: Session, actor: User | None, draft: Framework) -> Framework:
    """Publish a draft; the previously published version of the code is archived (its evidence stays)."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(draft)
    try:
        domain.publish(session, draft)
    except FrameworkError as error:
        raise _domain_error(error) from None
    audit.record(session, actor, "framework.publish", draft, code=draft.code, version=draft.version)
    return draft


def discard(session: Session, actor: User | None, draft: Framework) -> None:
    """Delete a draft in the caller's transaction (set-based; for small drafts, see ``begin_discard``)."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(draft)
    audit.record(session, actor, "framework.discard", draft, code=draft.code, version=draft.version)
    try:
        domain.discard_draft(session, draft)
    except FrameworkError as error:
        raise _domain_error(error) from None


def node_count(session: Session, framework: Framework) -> int:
    return session.scalar(select(func.count()).select_from(Competency)
                          .where(Competency.framework_id == framework.id)) or 0


def begin_discard(session: Session, actor: User | None, draft: Framework) -> None:
    """First step of a discard on the job runner: check, audit, and hide the draft (``PENDING``).

    The caller commits; ``finish_discard`` then deletes the rows in short batches.
    """
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(draft)
    try:
        domain.check_discardable(session, draft)
    except FrameworkError as error:
        raise _domain_error(error) from None
    audit.record(session, actor, "framework.discard", draft, code=draft.code, version=draft.version,
                 background=True)
    draft.status = FrameworkStatus.PENDING
    session.flush()


def finish_discard(session: Session, framework_id: int, *, after_batch: Callable[[], None],
                   progress: Progress | None = None) -> None:
    """Delete a version that ``begin_discard`` hid, committing after each batch."""
    framework = session.get(Framework, framework_id)
    if framework is None or framework.status is not FrameworkStatus.PENDING:
        raise Conflict(_l("This version is not waiting to be discarded."))
    session.expunge(framework)
    domain.purge_framework(session, framework_id, after_batch=after_batch, progress=progress)


# --- the tree ------------------------------------------------------------------------------

def _node_in(framework: Framework, node_id: int | None) -> Competency | None:
    if node_id is None:
        return None
    node = next((item for item in framework.nodes if item.id == node_id), None)
    if node is None:
        raise OperationError(_l("Choose a node of this version."), field="parent")
    return node


def add_node(session: Session, actor: User | None, framework: Framework, *, kind: NodeKind, code: str,
             title_en: str, title_lt: str, description_en: str, description_lt: str, parent_id: int | None,
             position: int | None = None) -> Competency:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    parent = _node_in(framework, parent_id)
    try:
        node = domain.add_node(session, framework, kind=kind, code=code, title_en=title_en, title_lt=title_lt,
                               description_en=description_en, description_lt=description_lt, parent=parent,
                               position=position)
    except FrameworkError as error:
        raise _domain_error(error, "parent") from None
    audit.record(session, actor, "framework.node_add", node, framework=framework.id, code=node.code,
                 kind=node.kind.value, parent=None if parent is None else parent.code)
    return node


def edit_node(session: Session, actor: User | None, node: Competency, *, kind: NodeKind, code: str, title_en: str,
              title_lt: str, description_en: str, description_lt: str) -> Competency:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(node.framework)
    before = {"code": node.code, "kind": node.kind.value}
    try:
        domain.edit_node(session, node, code=code, kind=kind, title_en=title_en, title_lt=title_lt,
                         description_en=description_en, description_lt=description_lt)
    except FrameworkError as error:
        raise _domain_error(error, "kind" if "placed" in str(error) else "code") from None
    audit.record(session, actor, "framework.node_edit", node, framework=node.framework_id, code=node.code,
                 kind=node.kind.value, code_before=before["code"] if before["code"] != node.code else None,
                 kind_before=before["kind"] if before["kind"] != node.kind.value else None)
    return node


def move_node(session: Session, actor: User | None, node: Competency, *, parent_id: int | None,
              position: int | None) -> Competency:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    framework = node.framework
    ensure_draft(framework)
    parent = _node_in(framework, parent_id)
    before = None if node.parent is None else node.parent.code
    try:
        domain.move_node(session, node, parent, position=position)
    except FrameworkError as error:
        raise _domain_error(error, "parent") from None
    audit.record(session, actor, "framework.node_move", node, framework=framework.id, code=node.code,
                 parent_before=before, parent=None if parent is None else parent.code, position=position)
    return node


def retire_node(session: Session, actor: User | None, node: Competency) -> list[Competency]:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(node.framework)
    try:
        changed = domain.retire_node(session, node)
    except FrameworkError as error:
        raise _domain_error(error) from None
    audit.record(session, actor, "framework.node_retire", node, framework=node.framework_id, code=node.code,
                 retired=[item.code for item in changed])
    return changed


def reinstate_node(session: Session, actor: User | None, node: Competency) -> Competency:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(node.framework)
    try:
        domain.reinstate_node(session, node)
    except FrameworkError as error:
        raise _domain_error(error) from None
    audit.record(session, actor, "framework.node_reinstate", node, framework=node.framework_id, code=node.code)
    return node


# --- scale --------------------------------------------------------------------------------

def update_scale(session: Session, actor: User | None, framework: Framework, *, title_en: str, title_lt: str,
                 proficient_level: int, levels: list[Mapping[str, Any]]) -> Scale:
    """Change the draft's scale, when no published version uses it."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    scale = framework.scale
    if domain.scale_in_use(session, scale):
        raise Conflict(_l("Scale %(code)s is used by a published version, so it cannot change. Make a copy for "
                          "this draft and edit the copy.", code=scale.code))
    others = session.scalar(select(Framework.id).where(Framework.scale_id == scale.id, Framework.id != framework.id)
                            .limit(1))
    if others is not None:
        raise Conflict(_l("Scale %(code)s is shared with another framework version. Make a copy for this draft "
                          "and edit the copy.", code=scale.code))
    try:
        domain.update_scale(session, scale, title_en=title_en, title_lt=title_lt, proficient_level=proficient_level,
                            levels=levels)
    except FrameworkError as error:
        raise _domain_error(error, "levels") from None
    touch(framework)
    session.flush()
    audit.record(session, actor, "framework.scale_edit", framework, scale=scale.code, levels=len(scale.levels),
                 proficient_level=scale.proficient_level)
    return scale


def copy_scale(session: Session, actor: User | None, framework: Framework, *, code: str) -> Scale:
    """A copy of the draft's scale under a new code, used by the draft from now on."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    old = framework.scale
    try:
        scale = domain.create_scale(
            session, code=code, title_en=old.title_en, title_lt=old.title_lt, proficient_level=old.proficient_level,
            levels=[{"value": level.value, "code": level.code, "title_en": level.title_en,
                     "title_lt": level.title_lt, "descriptor_en": level.descriptor_en,
                     "descriptor_lt": level.descriptor_lt} for level in old.levels])
        domain.set_framework_scale(session, framework, scale)
    except FrameworkError as error:
        raise _domain_error(error, "code") from None
    audit.record(session, actor, "framework.scale_copy", framework, scale=scale.code, copied_from=old.code)
    return scale


# --- role profiles --------------------------------------------------------------------------

def add_role_profile(session: Session, actor: User | None, framework: Framework, *, code: str, title_en: str,
                     title_lt: str, description_en: str = "", description_lt: str = "") -> RoleProfile:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    try:
        profile = domain.add_role_profile(session, framework, code=code, title_en=title_en, title_lt=title_lt,
                                          description_en=description_en, description_lt=description_lt)
    except FrameworkError as error:
        raise _domain_error(error, "code") from None
    audit.record(session, actor, "framework.role_add", profile, framework=framework.id, code=profile.code)
    return profile


def delete_role_profile(session: Session, actor: User | None, profile: RoleProfile) -> None:
    _check(actor, Capability.MANAGE_FRAMEWORK)
    framework = profile.framework
    ensure_draft(framework)
    audit.record(session, actor, "framework.role_delete", profile, framework=framework.id, code=profile.code)
    try:
        domain.delete_role_profile(session, profile)
    except FrameworkError as error:
        raise _domain_error(error) from None


def set_requirements(session: Session, actor: User | None, framework: Framework,
                     grid: Mapping[int, Mapping[str, int | None]]) -> int:
    """Required levels for many roles at once: role profile id → competency code → level (None clears).

    All or nothing: every cell is checked by the domain before the request commits; a
    bad cell raises naming the role and the competency. Returns the number of changed cells.
    """
    _check(actor, Capability.MANAGE_FRAMEWORK)
    ensure_draft(framework)
    profiles = {profile.id: profile for profile in framework.role_profiles}
    changed = 0
    details: dict[str, dict[str, int | None]] = {}
    for profile_id, levels in grid.items():
        profile = profiles.get(profile_id)
        if profile is None:
            raise OperationError(_l("Unknown role profile."), field="grid")
        current = {requirement.competency.code: requirement.level for requirement in profile.requirements}
        wanted = {code: level for code, level in levels.items() if current.get(code) != level}
        if not wanted:
            continue
        try:
            domain.set_requirements(session, profile, wanted)
        except FrameworkError as error:
            raise OperationError(_l("%(role)s: %(problem)s", role=profile.code, problem=str(error)),
                                 field="grid") from None
        changed += len(wanted)
        details[profile.code] = wanted
    if changed:
        audit.record(session, actor, "framework.role_requirements", framework, code=framework.code,
                     version=framework.version, changes=details)
    return changed


# --- proficiency rule -------------------------------------------------------------------------

def set_policy(session: Session, actor: User | None, framework: Framework, *, rule: AggregationRule,
               authorised_sources: Iterable[EvidenceSource], source_priority: Iterable[EvidenceSource],
               achieved_level: int | None, rollup: RollupRule, rollup_min_children: int) -> ProficiencyPolicy:
    """Choose how evidence becomes a level. Allowed on published versions: it is policy, not content."""
    _check(actor, Capability.MANAGE_FRAMEWORK)
    authorised = [EvidenceSource(item) for item in authorised_sources]
    priority = [EvidenceSource(item) for item in source_priority]
    try:
        row = domain.set_policy(session, framework, rule=rule, authorised_sources=authorised,
                                source_priority=priority, achieved_level=achieved_level, rollup=rollup,
                                rollup_min_children=rollup_min_children,
                                updated_by_id=None if actor is None else actor.id)
    except FrameworkError as error:
        message = str(error)
        field = ("authorised_sources" if message.startswith("authorised") else
                 "source_priority" if message.startswith("source priority") else
                 "achieved_level" if message.startswith("achieved") else "rollup_min_children")
        raise OperationError(message, field=field) from None
    audit.record(session, actor, "framework.policy", framework, code=framework.code, version=framework.version,
                 rule=row.rule.value, authorised_sources=list(row.authorised_sources),
                 source_priority=list(row.source_priority), achieved_level=row.achieved_level,
                 rollup=row.rollup.value, rollup_min_children=row.rollup_min_children)
    return row


# --- exchange ----------------------------------------------------------------------------------

def import_file(session: Session, actor: User | None, data: Source, *, format: Format | str | None = None,
                scale_code: str | None = None, publish_it: bool = False, filename: str = "",
                progress: Progress | None = None, after_batch: Callable[[], None] | None = None,
                created: Callable[[Framework], None] | None = None) -> ImportReport:
    """Import a file as a new draft version (and publish it, when asked). All or nothing.

    Raises ``InterchangeError`` (its ``problems`` name row, column and problem) for a bad
    file; the session is left without any of the file's rows.

    With ``after_batch`` (the job runner commits there) the rows go in as a hidden
    ``PENDING`` version, which becomes the draft in the caller's last commit; ``created``
    is told the version as soon as it exists, so that a failure later can remove it.
    """
    _check(actor, Capability.MANAGE_FRAMEWORK)
    report = import_framework(session, data, format=format, scale_code=scale_code, progress=progress,
                              after_batch=after_batch, created=created)
    framework = report.framework
    if framework.status is FrameworkStatus.PENDING:
        framework.status = FrameworkStatus.DRAFT
        session.flush()
    if publish_it:
        try:
            domain.publish(session, framework)
        except FrameworkError as error:
            raise InterchangeError([(Location(), str(error))]) from None
    audit.record(session, actor, "framework.import", framework, code=framework.code, version=framework.version,
                 format=report.format.value, nodes=report.nodes, role_profiles=report.role_profiles,
                 links=report.links, filename=filename or None, published=publish_it or None)
    return report


def export_file(session: Session, actor: User | None, framework: Framework, format: Format | str, *,
                progress: Progress | None = None) -> bytes:
    """The version in an exchange format. Reading the framework needs no more than seeing it."""
    data = export_framework(framework, format, progress=progress)
    audit.record(session, actor, "framework.export", framework, code=framework.code, version=framework.version,
                 format=Format(format).value)
    return data


# --- ratings and overrides ------------------------------------------------------------------------

def rate(session: Session, actor: User, person: User, competency: Competency, *, level: int, note: str,
         override: bool) -> Evidence:
    """An assessor's manual rating, or an override (which needs a reason); both are evidence."""
    require(actor, Capability.RATE_COMPETENCIES)
    if actor.id == person.id:
        raise PermissionDenied(_l("You cannot rate your own competencies."))
    framework = competency.framework
    if framework.status is FrameworkStatus.DRAFT:
        raise Conflict(_l("Ratings are recorded against a published version, not a draft."))
    if competency.retired:
        raise Conflict(_l("%(code)s is retired in this version.", code=competency.code))
    note = (note or "").strip()
    if override and not note:
        raise OperationError(_l("An override needs a reason."), field="note")
    top = len(framework.scale.levels)
    if not 1 <= level <= top:
        raise OperationError(_l("Choose a level from 1 to %(top)d.", top=top), field="level")
    try:
        if override:
            evidence = domain.record_override(session, person_id=person.id, competency=competency, level=level,
                                              reason=note, recorded_by_id=actor.id)
        else:
            evidence = domain.record_evidence(session, person_id=person.id, competency=competency,
                                              source=EvidenceSource.RATING, recorded_by_id=actor.id, level=level,
                                              note=note)
    except FrameworkError as error:
        raise OperationError(str(error), field="note" if "reason" in str(error) else "level") from None
    audit.record(session, actor, "framework.override" if override else "framework.rating", evidence,
                 person=person.id, competency=competency.code, framework=framework.code,
                 version=framework.version, level=level, reason=note if override else None)
    return evidence
