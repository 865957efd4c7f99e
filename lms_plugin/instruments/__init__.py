"""The psychometric instruments installed with the package, as package data: the app registers
them and the Open edX block runs them, so both read the same definition files from here."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml

INSTRUMENT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def instrument_definition(name: str = "staff_competence") -> dict[str, Any]:
    """The definition ``name`` (file name without ``.yaml``), parsed but not validated.

    Raises ``FileNotFoundError`` for a name that is not installed (or not a valid name) and
    ``yaml.YAMLError`` for a file that is not YAML.
    """
    if not INSTRUMENT_NAME.fullmatch(name):
        raise FileNotFoundError(f"{name!r} is not an instrument name")
    with resources.files(__package__).joinpath(f"{name}.yaml").open("r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def shipped_instrument_names() -> list[str]:
    """Names of the instrument definitions installed with the package."""
    folder = resources.files(__package__)
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))
