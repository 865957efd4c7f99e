"""The Training Centre application: a Flask app over the framework, course and psychometrics domains."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> "Flask":
    """The application factory (imported lazily, so the XBlocks do not load the web app)."""
    from lms_plugin.app import create_app as build

    return build(config)


__all__ = ["create_app"]
