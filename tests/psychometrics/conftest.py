"""Fixtures for the psychometrics tests: the reference data sets and small instruments.

The reference files and where each comes from are listed in ``reference/SOURCES.md``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from psychometrics.instrument import Instrument, load_instrument

REFERENCE = Path(__file__).parent / "reference"
PROJECT = Path(__file__).resolve().parents[2]


def read_numeric_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    data = np.array([[float(x) if x != "" else np.nan for x in row] for row in rows[1:]])
    return header, data


@pytest.fixture(scope="session")
def lsat7() -> tuple[np.ndarray, np.ndarray]:
    """32 response patterns of LSAT section 7 and their frequencies (N = 1000)."""
    _, data = read_numeric_csv(REFERENCE / "lsat7.csv")
    return data[:, :5], data[:, 5]


@pytest.fixture(scope="session")
def lsat6() -> tuple[np.ndarray, np.ndarray]:
    """32 response patterns of LSAT section 6 and their frequencies (N = 1000)."""
    _, data = read_numeric_csv(REFERENCE / "lsat6.csv")
    return data[:, :5], data[:, 5]


@pytest.fixture(scope="session")
def bfi() -> tuple[list[str], np.ndarray]:
    """The 2,800 × 28 bfi data (25 items, gender, education, age), NaN = missing."""
    return read_numeric_csv(REFERENCE / "bfi.csv")


@pytest.fixture(scope="session")
def psych_reference() -> dict[str, Any]:
    with (REFERENCE / "psych_reference.json").open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def mh_reference() -> dict[str, Any]:
    with (REFERENCE / "mh_reference.json").open(encoding="utf-8") as handle:
        return json.load(handle)


MINI_DEFINITION: dict[str, Any] = {
    "code": "MINI",
    "version": 1,
    "title_en": "Mini inventory",
    "response_scales": {"agree5": [{"value": v, "label_en": str(v)} for v in range(1, 6)]},
    "bands": [
        {"code": "development", "max_t": 40, "title_en": "Development need"},
        {"code": "typical", "max_t": 60, "title_en": "Typical"},
        {"code": "strength", "max_t": None, "title_en": "Strength"},
    ],
    "subscales": [
        {"code": "PK", "title_en": "Knowledge", "scoring": "proportion_correct"},
        {"code": "TW", "title_en": "Teamwork", "scoring": "mean"},
        {"code": "SR", "title_en": "Resilience", "scoring": "mean"},
    ],
    "items": (
        [{"id": f"PK{i:02d}", "subscale": "PK", "type": "multiple_choice", "stem_en": f"Question {i}",
          "correct": "b", "options": [{"key": k, "text_en": k} for k in "abcd"]} for i in range(1, 9)]
        + [{"id": f"TW{i:02d}", "subscale": "TW", "type": "situational_judgement", "stem_en": f"Situation {i}",
            "options": [{"key": "a", "score": 3, "text_en": "a"}, {"key": "b", "score": 0, "text_en": "b"},
                        {"key": "c", "score": 1, "text_en": "c"}, {"key": "d", "score": 2, "text_en": "d"},
                        {"key": "e", "score": 1, "text_en": "e"}]} for i in range(1, 9)]
        + [{"id": f"SR{i:02d}", "subscale": "SR", "type": "likert", "stem_en": f"Statement {i}",
            "scale": "agree5", "reverse": i % 3 == 0} for i in range(1, 10)]
    ),
}


@pytest.fixture(scope="session")
def mini_instrument() -> Instrument:
    """Three subscales, every item kind, three reverse-keyed Likert items, a shared SJT score."""
    return load_instrument(MINI_DEFINITION)


@pytest.fixture(scope="session")
def staff_instrument() -> Instrument:
    """The instrument the app and the Open edX block ship (read as a file: this suite needs no app)."""
    import yaml

    path = PROJECT / "lms_plugin" / "instruments" / "staff_competence.yaml"
    with path.open(encoding="utf-8") as handle:
        return load_instrument(yaml.safe_load(handle))
