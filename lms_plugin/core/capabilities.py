"""Named capabilities and the roles that hold them.

Code asks ``has_capability(user, Capability.X)``, never ``user.role == ...``, so
what a role may do is decided in this one table.
"""

from __future__ import annotations

import enum

from lms_plugin.core.errors import MissingCapability
from lms_plugin.core.people import Role, User


class Capability(str, enum.Enum):
    TAKE_TESTS = "psychometrics.take"
    VIEW_BANDS = "psychometrics.view_bands"
    VIEW_RAW_SCORES = "psychometrics.view_raw"
    KEEP_LOGBOOK = "practice.log"
    SIGN_OFF_PRACTICE = "practice.signoff"
    TAKE_COURSES = "courses.take"
    VIEW_ALL_PEOPLE = "people.view_all"
    EXPORT_REPORTS = "reports.export"
    MANAGE_PEOPLE = "people.manage"
    MANAGE_FRAMEWORK = "framework.manage"
    RATE_COMPETENCIES = "framework.rate"
    MANAGE_TESTS = "psychometrics.manage"
    MANAGE_PLACEMENTS = "mentoring.manage"
    COUNTERSIGN_PRACTICE = "practice.countersign"
    DECIDE_PANEL = "practice.panel"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CADET: frozenset({Capability.TAKE_TESTS, Capability.KEEP_LOGBOOK, Capability.TAKE_COURSES}),
    Role.MENTOR: frozenset({Capability.SIGN_OFF_PRACTICE, Capability.VIEW_BANDS}),
    Role.ASSESSOR: frozenset({Capability.VIEW_ALL_PEOPLE, Capability.VIEW_BANDS, Capability.EXPORT_REPORTS,
                              Capability.RATE_COMPETENCIES, Capability.COUNTERSIGN_PRACTICE,
                              Capability.DECIDE_PANEL}),
    Role.PSYCHOLOGIST: frozenset({Capability.VIEW_ALL_PEOPLE, Capability.VIEW_BANDS, Capability.VIEW_RAW_SCORES,
                                  Capability.EXPORT_REPORTS, Capability.MANAGE_TESTS}),
    Role.ADMIN: frozenset({Capability.VIEW_ALL_PEOPLE, Capability.VIEW_BANDS, Capability.EXPORT_REPORTS,
                           Capability.MANAGE_PEOPLE, Capability.MANAGE_FRAMEWORK, Capability.MANAGE_TESTS,
                           Capability.MANAGE_PLACEMENTS, Capability.DECIDE_PANEL}),
}


def has_capability(user: User | None, capability: Capability) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return capability in ROLE_CAPABILITIES[user.role]


def require(user: User, capability: Capability) -> None:
    """Refuse (403) unless the user holds the capability; operations call this before acting."""
    if not has_capability(user, capability):
        raise MissingCapability(capability.value)
