"""Exceptions of the framework domain.

All subclass ``ValueError`` (through ``FrameworkError``) because callers in the app
already treat a bad framework change as a validation problem to show the user.
"""

from __future__ import annotations


class FrameworkError(ValueError):
    """A framework definition or change is invalid; the message names where."""


class ReadOnlyFrameworkError(FrameworkError):
    """A published or archived version was asked to change: edit a new draft instead."""


class TreeError(FrameworkError):
    """A change would break the tree: a cycle, a kind in the wrong place, a missing node."""


class EvidenceError(FrameworkError):
    """Evidence that cannot be recorded as asked (retired node, draft version, no reason)."""
