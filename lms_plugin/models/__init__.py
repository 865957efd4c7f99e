"""The application's tables. Importing this package registers every table of every domain."""

from competency_framework import models as _framework_models  # noqa: F401  (registers tables)
from courses import models as _course_models  # noqa: F401
from lms_plugin.core.audit import AuditEntry
from lms_plugin.core.people import Cohort, Institution, Role, TrainingUnit, User
from lms_plugin.people.models import LoginAttempt
from lms_plugin.practice.models import (
    LogbookEntry,
    MentorProfile,
    Placement,
    PracticeTask,
    SignOff,
    SignOffOutcome,
)
from lms_plugin.testing.models import (
    Answer,
    InstrumentRecord,
    NormObservation,
    Sitting,
    SittingStatus,
    SubscaleResult,
    TestAssignment,
)

__all__ = [
    "Answer", "AuditEntry", "Cohort", "Institution", "InstrumentRecord", "LogbookEntry", "LoginAttempt",
    "MentorProfile", "NormObservation", "Placement", "PracticeTask", "Role", "SignOff", "SignOffOutcome",
    "Sitting", "SittingStatus", "SubscaleResult", "TestAssignment", "TrainingUnit", "User",
]
