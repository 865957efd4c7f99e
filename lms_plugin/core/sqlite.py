"""SQLite settings for a real multi-user server: foreign keys, WAL, a busy timeout, and
transaction handling that lets SAVEPOINTs work (pysqlite's own is too lazy for them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine, busy_timeout_ms: int = 10_000) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock when the transaction starts, waiting for it up to busy_timeout.
        # A deferred transaction that reads and then writes fails at once with "database is locked"
        # whenever another connection committed in between (WAL cannot upgrade a stale snapshot) --
        # under a whole intake autosaving at once that is most requests (tests/benchmarks).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
