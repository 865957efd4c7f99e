"""An in-memory database for the framework domain's tests and benchmarks, built from the
shared metadata: the core's person table and the domain's own tables, without the app."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

import competency_framework.models  # noqa: F401  (registers the domain's tables)
from lms_plugin.core.base import Base
from lms_plugin.core.sqlite import configure_sqlite


def make_engine() -> Engine:
    """A fresh in-memory SQLite database with every table registered so far."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    configure_sqlite(engine)  # foreign keys on, and SAVEPOINTs that work
    Base.metadata.create_all(engine)
    return engine
