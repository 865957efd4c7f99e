"""An in-memory database with every table of the project, for tests and benchmarks."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

import lms_plugin.models  # noqa: F401  (registers every table, users included)
from competency_framework.base import Base
from lms_plugin.sqlite import configure_sqlite


def make_engine() -> Engine:
    """A fresh in-memory SQLite database built from the shared metadata.

    The app's models are imported so that ``users`` (which evidence points at) and every
    other domain's tables exist, exactly as the app creates them.
    """
    engine = create_engine("sqlite://", poolclass=StaticPool)
    configure_sqlite(engine)  # foreign keys on, and SAVEPOINTs that work
    Base.metadata.create_all(engine)
    return engine
