"""Fixtures for the XBlock suites: a small instrument, a TestRuntime that records events, and
the xblock-sdk workbench running in-process on Django's test client.

Django settings are process-global, so they are configured here, at import time, before any
test module imports the block (its Studio mixin and templates need a configured Django).
The settings overlay puts the workbench's sqlite database in an absolute temporary folder.
"""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
import warnings
from typing import Any

import pytest

_VAR_DIR = tempfile.mkdtemp(prefix="xblock-workbench-")
atexit.register(shutil.rmtree, _VAR_DIR, True)
os.environ["XBLOCK_WORKBENCH_VAR"] = _VAR_DIR
# The overlay sits beside this file; name it relative to however pytest imported this conftest.
_package = __name__.rpartition(".")[0]
os.environ["DJANGO_SETTINGS_MODULE"] = f"{_package}.xblock_workbench_settings" if _package \
    else "xblock_workbench_settings"
# Playwright's sync API runs an event loop in this thread (the browser suites start it);
# Django then refuses ORM calls "from an async context" though every call here is synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

with warnings.catch_warnings():
    # WebOb (XBlock's request/response library) still does ``from cgi import parse_header``;
    # ``cgi`` is deprecated since Python 3.11 and the warning is attributed to webob.compat,
    # which the project's third-party ignores (xblock, django, workbench, ...) do not cover.
    # Ignore exactly that one warning while the stack is first imported.
    warnings.filterwarnings("ignore", message="'cgi' is deprecated", category=DeprecationWarning,
                            module="webob.compat")
    import django  # noqa: E402
    import webob  # noqa: E402,F401

    django.setup()

from lms_plugin.xblocks import psychometric_test  # noqa: E402
from psychometrics import Instrument, load_instrument  # noqa: E402
from tests.xblocks.xblock_helpers import MINI_DEFINITION, MINI_NAMES, RecordingRuntime  # noqa: E402


@pytest.fixture
def mini_instrument(monkeypatch: pytest.MonkeyPatch) -> Instrument:
    """Make the block load the mini definition for MINI_NAMES; other names load as shipped."""
    shipped = psychometric_test.instrument_definition

    def definition(name: str) -> dict[str, Any]:
        return copy.deepcopy(MINI_DEFINITION) if name in MINI_NAMES else shipped(name)

    monkeypatch.setattr(psychometric_test, "instrument_definition", definition)
    psychometric_test.load_shipped_instrument.cache_clear()
    yield load_instrument(copy.deepcopy(MINI_DEFINITION))
    psychometric_test.load_shipped_instrument.cache_clear()


# --- TestRuntime ------------------------------------------------------------------------------

@pytest.fixture
def runtime() -> RecordingRuntime:
    return RecordingRuntime()


# --- workbench ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def workbench_db():
    """Create the workbench tables (the wheel ships no migrations, hence --run-syncdb)."""
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    yield _VAR_DIR
    teardown_test_environment()
    connections.close_all()  # the folder itself goes at exit (atexit above)


@pytest.fixture
def workbench_client(workbench_db, mini_instrument):
    from django.test import Client

    return Client(enforce_csrf_checks=True)
