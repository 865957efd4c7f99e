"""Seeded simulation of responses: from IRT item parameters, or for a whole instrument.

Everything takes a seed and draws from numpy's PCG64 generator, so the same seed
gives the same data on every machine — demo data and parameter-recovery tests
depend on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from psychometrics._arrays import FloatArray, IntArray
from psychometrics.instrument import Instrument, Item, ItemKind
from psychometrics.irt import ItemParameters


def rng_for(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_responses(items: ItemParameters, theta: ArrayLike,
                       seed: int | np.random.Generator | None = None) -> IntArray:
    """Category codes (persons × items) drawn from the graded model at the given θ.

    One uniform per answer is compared with the cumulative probabilities
    P(X ≥ k | θ); the count of thresholds passed is the category (inverse CDF).
    """
    rng = rng_for(seed)
    t = np.asarray(theta, dtype=float).reshape(-1)
    upper, _ = items.cumulative(t)                      # J × (K+1) × N
    u = rng.random((t.size, items.n_items))
    return (u.T[:, None, :] < upper[:, 1:-1, :]).sum(axis=1).T.astype(np.int64)


def random_items(n_items: int, n_categories: int = 2, seed: int | np.random.Generator | None = None, *,
                 slope_range: tuple[float, float] = (0.8, 2.2), difficulty_sd: float = 1.0) -> ItemParameters:
    """Plausible item parameters: log-uniform-ish slopes, normal thresholds, sorted per item."""
    rng = rng_for(seed)
    a = rng.uniform(*slope_range, size=n_items)
    if n_categories == 2:
        b = rng.normal(0.0, difficulty_sd, size=(n_items, 1))
    else:
        centre = rng.normal(0.0, 0.5 * difficulty_sd, size=(n_items, 1))
        spread = np.sort(rng.normal(0.0, difficulty_sd, size=(n_items, n_categories - 1)), axis=1)
        b = centre + spread - spread.mean(axis=1, keepdims=True)
        b = np.maximum.accumulate(b + np.arange(n_categories - 1) * 1e-3, axis=1)
    return ItemParameters.from_irt(a, b)


def simulate_irt(items: ItemParameters, n_persons: int, seed: int | np.random.Generator | None = None, *,
                 theta_mean: float = 0.0, theta_sd: float = 1.0) -> tuple[IntArray, FloatArray]:
    """Draw θ ~ N(mean, sd²) and responses; returns (codes, θ)."""
    rng = rng_for(seed)
    theta = rng.normal(theta_mean, theta_sd, size=n_persons)
    return simulate_responses(items, theta, rng), theta


# --------------------------------------------------------------------------- a whole instrument


@dataclass(frozen=True)
class SimulatedSample:
    """Simulated answers with the latent traits and per-item generating parameters."""

    responses: list[dict[str, str]]
    traits: FloatArray                       # persons × subscales, in instrument.subscales order
    subscales: tuple[str, ...]
    parameters: Mapping[str, dict[str, object]]


def _levels(item: Item) -> list[float]:
    return sorted({option.score for option in item.options})


def simulate_instrument(instrument: Instrument, n: int, seed: int | np.random.Generator | None = 0, *,
                        correlation: float = 0.35, missing_rate: float = 0.01) -> SimulatedSample:
    """Plausible option keys for every item of ``instrument`` for ``n`` people.

    * One latent trait per subscale, N(0, 1), pairwise correlation ``correlation``
      (moderate by default: related competences, not one general factor).
    * Likert and situational-judgement items: graded response model over the
      item's distinct option scores (slopes 0.9–1.9 for Likert, 0.7–1.6 for SJT,
      which are noisier; thresholds spread around a slightly easy centre, as real
      self-reports are). A reverse-keyed Likert item answers on the reversed
      scale, so its *scored* value rises with the trait; options sharing a score
      are chosen between uniformly.
    * Multiple-choice items: a 3PL — slope 0.8–1.8, difficulty N(−0.4, 0.8),
      guessing 0.6/number of options — decides right or wrong; a wrong answer
      picks a distractor with item-specific attractiveness, so distractor analysis
      has something to show.
    * Each answer is missing with probability ``missing_rate`` (at random).
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    if not -1.0 / max(len(instrument.subscales) - 1, 1) < correlation < 1.0:
        raise ValueError("correlation must keep the trait correlation matrix positive definite")
    rng = rng_for(seed)
    codes = [s.code for s in instrument.subscales]
    k = len(codes)
    corr = np.full((k, k), correlation)
    np.fill_diagonal(corr, 1.0)
    traits = rng.standard_normal((n, k)) @ np.linalg.cholesky(corr).T
    trait_index = {code: i for i, code in enumerate(codes)}
    chosen = np.empty((n, len(instrument.items)), dtype=object)
    parameters: dict[str, dict[str, object]] = {}
    for col, item in enumerate(instrument.items):
        theta = traits[:, trait_index[item.subscale]]
        if item.kind is ItemKind.MULTIPLE_CHOICE:
            chosen[:, col], parameters[item.id] = _multiple_choice(item, theta, rng)
        else:
            chosen[:, col], parameters[item.id] = _graded(item, theta, rng)
    missing = rng.random(chosen.shape) < missing_rate
    responses = [
        {item.id: str(chosen[i, col]) for col, item in enumerate(instrument.items) if not missing[i, col]}
        for i in range(n)
    ]
    return SimulatedSample(responses, traits, tuple(codes), parameters)


def simulate_instrument_responses(instrument: Instrument, n: int, seed: int = 0, *,
                                  correlation: float = 0.35, missing_rate: float = 0.01) -> list[dict[str, str]]:
    """Item id → option key for ``n`` simulated people (see :func:`simulate_instrument`)."""
    return simulate_instrument(instrument, n, seed, correlation=correlation, missing_rate=missing_rate).responses


def _graded(item: Item, theta: FloatArray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, object]]:
    levels = _levels(item)
    n_levels = len(levels)
    likert = item.kind is ItemKind.LIKERT
    a = float(rng.uniform(0.9, 1.9) if likert else rng.uniform(0.7, 1.6))
    centre = float(rng.normal(-0.4, 0.4) if likert else rng.normal(-0.2, 0.4))
    base = np.linspace(-1.8, 1.5, n_levels - 1) if n_levels > 2 else np.array([0.0])
    b = np.sort(base + centre + rng.normal(0.0, 0.2, size=n_levels - 1))
    b = np.maximum.accumulate(b + np.arange(b.size) * 1e-3)
    params = ItemParameters.from_irt([a], b[None, :])
    level_index = simulate_responses(params, theta, rng)[:, 0]
    scores = np.asarray(levels)[level_index]
    if item.reverse:
        # the person answers so that the *reversed* score reflects the trait
        scores = item.max_score + item.min_score - scores
    by_score: dict[float, list[str]] = {}
    for option in item.options:
        by_score.setdefault(option.score, []).append(option.key)
    keys = np.empty(theta.size, dtype=object)
    for score, options in by_score.items():
        rows = np.nonzero(np.isclose(scores, score))[0]
        keys[rows] = np.asarray(options, dtype=object)[rng.integers(0, len(options), size=rows.size)]
    return keys, {"model": "grm", "a": a, "b": b.tolist(), "levels": levels, "reverse": item.reverse}


def _multiple_choice(item: Item, theta: FloatArray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, object]]:
    keys = [option.key for option in item.options]
    correct = next(option.key for option in item.options if option.score > 0)
    distractors = [key for key in keys if key != correct]
    a = float(rng.uniform(0.8, 1.8))
    b = float(rng.normal(-0.4, 0.8))
    c = 0.6 / len(keys)
    attractiveness = rng.dirichlet(np.full(len(distractors), 2.0))
    p = c + (1.0 - c) / (1.0 + np.exp(-a * (theta - b)))
    right = rng.random(theta.size) < p
    out = np.empty(theta.size, dtype=object)
    out[right] = correct
    wrong = np.nonzero(~right)[0]
    out[wrong] = np.asarray(distractors, dtype=object)[rng.choice(len(distractors), size=wrong.size, p=attractiveness)]
    return out, {"model": "3pl", "a": a, "b": b, "c": c, "key": correct,
                 "distractor_weights": dict(zip(distractors, attractiveness.round(4).tolist()))}


__all__ = [
    "SimulatedSample",
    "random_items",
    "rng_for",
    "simulate_instrument",
    "simulate_instrument_responses",
    "simulate_irt",
    "simulate_responses",
]
