"""Errors that operations raise and views turn into clear responses."""

from __future__ import annotations


class OperationError(ValueError):
    """The request cannot be carried out as asked; ``message`` tells the user why.

    ``field`` names the form field or item the problem is about, when there is one.
    """

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(OperationError):
    """The object is not in a state that allows this (e.g. already submitted or signed)."""

    status_code = 409


class PermissionDenied(OperationError):
    status_code = 403


class MissingCapability(PermissionDenied):
    """The person's role lacks a capability; the message is for logs, the person sees a general refusal."""

    def __init__(self, capability: str):
        super().__init__(f"Missing capability {capability}.")
        self.capability = capability
