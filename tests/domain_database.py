"""In-memory databases for the domain packages' tests and benchmarks, built from the shared
metadata without the app: the core's person table and whichever domain tables are registered."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

import competency_framework.models  # noqa: F401  (registers the framework's tables)
from lms_plugin.core.base import Base
from lms_plugin.core.sqlite import configure_sqlite


def make_engine() -> Engine:
    """A fresh in-memory SQLite database with every table registered so far."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    configure_sqlite(engine)  # foreign keys on, and SAVEPOINTs that work
    Base.metadata.create_all(engine)
    return engine


@contextmanager
def rolled_back_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end; commits become savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", autoflush=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
