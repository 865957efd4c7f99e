"""Django settings for running the xblock-sdk workbench inside the test session.

The stock ``workbench.settings`` keep their database and log file under ``var/`` relative to
the working directory; this overlay moves everything into one absolute temporary folder
(``XBLOCK_WORKBENCH_VAR``, created by ``conftest.py``) so a test run writes nothing into the
checkout and two runs never share a database.
"""

import os
import tempfile

from workbench.settings import *  # noqa: F401,F403  (the overlay's whole point)

VAR_DIR = os.environ.get("XBLOCK_WORKBENCH_VAR") or tempfile.mkdtemp(prefix="xblock-workbench-")

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(VAR_DIR, "workbench.db"),
    }
}

# xblock.reference.plugins.FSService (the workbench's "fs" service) writes here.
DJFS = {"type": "osfs", "directory_root": os.path.join(VAR_DIR, "djpyfs"), "url_root": "/static/djpyfs"}

# The stock logging config opens var/workbench.log at start-up; log to nowhere instead
# (pytest's own capture still sees records that propagate to the root logger).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django.request": {"handlers": ["null"], "level": "ERROR", "propagate": True}},
}
