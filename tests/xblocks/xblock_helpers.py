"""Helpers shared by the XBlock tests (a module of its own: ``conftest`` is not importable by name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from webob import Request
from xblock.fields import ScopeIds
from xblock.runtime import DictKeyValueStore, KvsFieldData
from xblock.test.tools import TestRuntime

from lms_plugin.xblocks.psychometric_test import PsychometricTestXBlock

MINI_DEFINITION: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "mini_instrument.yaml").read_text(encoding="utf-8"))
# Names the fake loader answers with the mini definition: "mini", and the shipped default
# "staff_competence" so the block's own workbench scenarios run against a known instrument.
MINI_NAMES = ("mini", "staff_competence")


# --- TestRuntime --------------------------------------------------------------------------------

class RecordingRuntime(TestRuntime):
    """A TestRuntime whose ``publish`` records events instead of raising NotImplementedError."""

    __test__ = False

    def __init__(self, store: DictKeyValueStore | None = None):
        self.store = store if store is not None else DictKeyValueStore()
        super().__init__(services={"field-data": KvsFieldData(self.store)})
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, block, event_type, event_data):
        self.events.append((event_type, event_data))

    def grades(self) -> list[dict[str, Any]]:
        return [data for event_type, data in self.events if event_type == "grade"]

    def block(self, user_id: str = "learner-1", **settings: Any) -> PsychometricTestXBlock:
        """The block as ``user_id`` sees it; the same user and store give the same saved state."""
        scope_ids = ScopeIds(user_id, "psychometric_test", "def-1", "usage-1")
        block = self.construct_xblock_from_class(PsychometricTestXBlock, scope_ids)
        for name, value in settings.items():
            setattr(block, name, value)
        block.save()
        return block


def call(block: PsychometricTestXBlock, handler: str, data: Any) -> tuple[int, Any]:
    """POST ``data`` as JSON to a handler, as the LMS would; returns (status, decoded body)."""
    request = Request.blank("/", method="POST", body=json.dumps(data).encode("utf-8"),
                            content_type="application/json")
    response = block.handle(handler, request)
    return response.status_code, json.loads(response.body.decode("utf-8"))
