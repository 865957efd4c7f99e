"""From stored answers (item id → option key, one mapping per person) to analysis matrices.

The web app keeps answers as option keys; item analysis, IRT calibration and
distractor analysis want persons × items arrays. These helpers build them for a
whole instrument or one subscale, in the instrument's item order.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from psychometrics._arrays import FloatArray
from psychometrics.instrument import Instrument, Item


def _items(instrument: Instrument, subscale: str | None) -> tuple[Item, ...]:
    if subscale is None:
        return instrument.items
    items = instrument.items_in(subscale)
    if not items:
        raise KeyError(f"{instrument.code} has no subscale {subscale!r}")
    return items


def scored_matrix(instrument: Instrument, answers: Sequence[Mapping[str, str]],
                  subscale: str | None = None) -> tuple[FloatArray, tuple[str, ...]]:
    """Item scores (reverse keying applied), NaN where unanswered, and the item ids.

    Reverse-keyed Likert items are already rescored here, so pass no ``reverse``
    to :func:`psychometrics.ctt.item_analysis`; unknown option keys raise
    :class:`~psychometrics.instrument.InvalidResponse` as scoring does.
    """
    items = _items(instrument, subscale)
    matrix = np.full((len(answers), len(items)), np.nan)
    for row, person in enumerate(answers):
        for col, item in enumerate(items):
            key = person.get(item.id)
            if key is not None and str(key) != "":
                matrix[row, col] = item.score_response(str(key))
    return matrix, tuple(item.id for item in items)


def choice_matrix(instrument: Instrument, answers: Sequence[Mapping[str, str]],
                  subscale: str | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Chosen option keys (object array, None where unanswered) and the item ids, for distractor analysis."""
    items = _items(instrument, subscale)
    matrix = np.full((len(answers), len(items)), None, dtype=object)
    for row, person in enumerate(answers):
        for col, item in enumerate(items):
            key = person.get(item.id)
            if key is not None and str(key) != "":
                item.option(str(key))
                matrix[row, col] = str(key)
    return matrix, tuple(item.id for item in items)
