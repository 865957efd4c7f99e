"""Configuration from the environment, with safe defaults for a single-server install."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from lms_plugin.core.seals import Keyring, load_keyring


def _secret_key(instance_path: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated once into ``instance/``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def chain_key_file(instance_path: Path) -> str:
    return os.environ.get("CHAIN_KEY_FILE") or str(instance_path / "chain_key")


def chain_keyring(app: Any) -> Keyring:
    """The keys that seal the record chains, read from ``CHAIN_KEY_FILE`` (generated there once)."""
    path = Path(app.config["CHAIN_KEY_FILE"])
    cache = app.extensions.setdefault("chain_keyrings", {})
    if path not in cache:
        cache[path] = load_keyring(path)
    return cache[path]


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'training.sqlite3'}"
    # Hosting platforms still hand out the pre-SQLAlchemy-1.4 scheme.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _engine_options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # Wait for a lock as long as SQLite does, then fail (a 503 "busy"), rather than for ever.
        timeout = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "10000"))
        options["connect_args"] = {"options": f"-c lock_timeout={timeout}"}
    return options


def load_config(instance_path: Path) -> dict[str, Any]:
    url = _database_url(instance_path)
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        # The key that seals the hash chains; kept outside the database (see lms_plugin.core.seals).
        "CHAIN_KEY_FILE": chain_key_file(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(url),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LANGUAGE", "lt"),
        "LANGUAGES": ("lt", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session: long tests must not expire
        # Sign-in throttling (people/throttling.py): past this many consecutive failures of an account at an
        # address (4x for the address alone) each failure doubles the wait, up to the cap; a key is forgotten
        # a window after its last failure. Nothing is ever locked.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW_MINUTES": int(os.environ.get("LOGIN_WINDOW_MINUTES", "15")),
        "LOGIN_MAX_DELAY_SECONDS": int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", "120")),
        # A signed-in session ends this long after sign-in, whatever the cookie says (a full service day).
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", "12")),
        "MENTOR_GRACE_DAYS": 14,
        # Practice (issue 5): attached files, and the thresholds of the overdue and at-risk lists.
        "PRACTICE_FILES_DIR": os.environ.get("PRACTICE_FILES_DIR") or str(instance_path / "practice_files"),
        "PRACTICE_MAX_FILE_BYTES": 5 * 1024 * 1024,
        "SIGNOFF_OVERDUE_DAYS": 7,
        "AT_RISK_ELAPSED_SHARE": 0.6,
        "AT_RISK_MIN_ACHIEVED": 3,
        "ACCREDITATION_WARNING_DAYS": 60,
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        # Raw psychometric answers are deleted this long after submission (`flask retention apply`).
        "RAW_ANSWERS_RETENTION_DAYS": int(os.environ.get("RAW_ANSWERS_RETENTION_DAYS", str(5 * 365 + 1))),
        # Logs: one JSON object a line (or "text"); take X-Request-ID from the proxy only when it sets it.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "TRUST_REQUEST_ID_HEADER": os.environ.get("TRUST_REQUEST_ID_HEADER", "") == "1",
        # The job runner (lms_plugin/jobs/runner.py): huey on instance/jobs.sqlite3 unless a broker is named.
        # How long a request waits for SQLite's write lock before it answers 503 "busy".
        "SQLITE_BUSY_TIMEOUT_MS": int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "10000")),
        "JOB_BROKER_URL": os.environ.get("JOB_BROKER_URL", ""),
        # "thread": the app runs jobs in a thread of its own; "separate": `flask jobs worker` runs them.
        "JOB_WORKER": os.environ.get("JOB_WORKER", "thread"),
        "JOB_SQLITE_PATH": os.environ.get("JOB_SQLITE_PATH", ""),  # empty: instance/jobs.sqlite3
        "JOBS_IMMEDIATE": False,
        # Bigger framework imports (file size) and discards (nodes) run on the job runner.
        "JOBS_INLINE_MAX_BYTES": int(os.environ.get("JOBS_INLINE_MAX_BYTES", str(256 * 1024))),
        "JOBS_INLINE_MAX_NODES": int(os.environ.get("JOBS_INLINE_MAX_NODES", "1000")),
    }
