"""Raw subscale scoring with an explicit missing-answer rule.

Rule: a subscale is scored only when at least ``min_answered`` (a fraction) of
its items were answered; unanswered items are then ignored (a mean over the
answered items, i.e. prorating), never counted as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from psychometrics.instrument import Instrument, Scoring


@dataclass(frozen=True)
class SubscaleScore:
    subscale: str
    n_items: int
    n_answered: int
    scored: bool
    raw: float | None         # sum of item scores over answered items
    score: float | None       # the subscale's reported score (mean, proportion correct or prorated sum)
    percent: float | None     # score on a 0–100 scale of the possible range, for charts

    def as_dict(self) -> dict[str, object]:
        return {
            "subscale": self.subscale,
            "n_items": self.n_items,
            "n_answered": self.n_answered,
            "scored": self.scored,
            "raw": self.raw,
            "score": self.score,
            "percent": self.percent,
        }


def score_instrument(instrument: Instrument, responses: Mapping[str, str]) -> dict[str, SubscaleScore]:
    """Score every subscale. ``responses`` maps item id → option key; unknown ids or keys raise."""
    item_scores = {item_id: instrument.item(item_id).score_response(key) for item_id, key in responses.items()}
    results: dict[str, SubscaleScore] = {}
    for subscale in instrument.subscales:
        items = instrument.items_in(subscale.code)
        answered = [item for item in items if item.id in item_scores]
        n_items, n_answered = len(items), len(answered)
        if n_answered == 0 or n_answered < math.ceil(subscale.min_answered * n_items - 1e-9):
            results[subscale.code] = SubscaleScore(subscale.code, n_items, n_answered, False, None, None, None)
            continue
        raw = sum(item_scores[item.id] for item in answered)
        low = sum(item.min_score for item in answered)
        high = sum(item.max_score for item in answered)
        mean = raw / n_answered
        percent = 100.0 * (raw - low) / (high - low) if high > low else 0.0
        if subscale.scoring is Scoring.SUM:
            score = raw * n_items / n_answered
        elif subscale.scoring is Scoring.PROPORTION_CORRECT:
            score = raw / high if high else 0.0
        elif subscale.scoring is Scoring.PERCENT_OF_RANGE:
            score = percent
        else:
            score = mean
        results[subscale.code] = SubscaleScore(
            subscale.code, n_items, n_answered, True, raw, score, percent)
    return results
