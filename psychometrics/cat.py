"""Computerised adaptive testing over a calibrated item bank.

After each answer θ is re-estimated by EAP on a quadrature grid (the posterior
is kept as log values on the grid, so an update is one vector addition); the
next item is chosen by an :class:`ItemSelector` from the Fisher information at
the current estimate; the test stops when the posterior SD reaches a target or
the maximum length is reached. :func:`simulate_cat` runs many simulees in
lockstep with numpy and reports bias, RMSE, test length and item exposure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from psychometrics._arrays import FloatArray, IntArray
from psychometrics.irt import ItemParameters, Quadrature
from psychometrics.simulation import rng_for

BoolArray = NDArray[np.bool_]
_TINY = 1e-300


# --------------------------------------------------------------------------- item selection


class ItemSelector(ABC):
    """Strategy for choosing the next item, for many test takers at once."""

    @abstractmethod
    def select(self, information: FloatArray, available: BoolArray, rng: np.random.Generator) -> IntArray:
        """Index of the next item per row of ``information`` (persons × items).

        Every row has at least one available item.
        """


@dataclass(frozen=True)
class MaxInformationSelector(ItemSelector):
    """The most informative available item: the most precise, and the most exposed."""

    def select(self, information: FloatArray, available: BoolArray, rng: np.random.Generator) -> IntArray:
        return np.argmax(np.where(available, information, -np.inf), axis=1)


@dataclass(frozen=True)
class RandomesqueSelector(ItemSelector):
    """Kingsbury & Zara (1989): a random pick among the ``n_candidates`` most informative.

    Trades a little precision for much lower exposure of the best items, which
    matters when a whole intake sits the same test and talks afterwards.
    """

    n_candidates: int = 5

    def select(self, information: FloatArray, available: BoolArray, rng: np.random.Generator) -> IntArray:
        masked = np.where(available, information, -np.inf)
        order = np.argsort(-masked, axis=1)
        n_avail = available.sum(axis=1)
        pick = np.floor(rng.random(masked.shape[0]) * np.minimum(self.n_candidates, n_avail)).astype(int)
        return order[np.arange(masked.shape[0]), pick]


@dataclass(frozen=True)
class SympsonHetterSelector(ItemSelector):
    """Sympson & Hetter (1985) probabilistic exposure control.

    Items are considered in order of information; the first is administered with
    its exposure-control probability ``k_j``, otherwise the next is tried, and so
    on (the last available item is taken if every lottery fails). With ``k`` from
    :func:`sympson_hetter_parameters` no item is given to more than about the
    target share of test takers.
    """

    exposure: FloatArray

    def select(self, information: FloatArray, available: BoolArray, rng: np.random.Generator) -> IntArray:
        masked = np.where(available, information, -np.inf)
        order = np.argsort(-masked, axis=1)
        rows = np.arange(masked.shape[0])[:, None]
        passes = (rng.random(masked.shape) < np.asarray(self.exposure)[order]) & available[rows, order]
        first = np.where(passes.any(axis=1), passes.argmax(axis=1), 0)
        return order[rows[:, 0], first]


# --------------------------------------------------------------------------- stopping and one sitting


@dataclass(frozen=True)
class StoppingRule:
    """Stop when the posterior SD is at most ``target_se`` (after ``min_items``) or at ``max_items``."""

    max_items: int = 20
    target_se: float | None = 0.3
    min_items: int = 1

    def done(self, n_given: IntArray, se: FloatArray) -> BoolArray:
        by_length = n_given >= self.max_items
        if self.target_se is None:
            return by_length
        return by_length | ((se <= self.target_se) & (n_given >= self.min_items))


class AdaptiveTest:
    """One sitting: ask :meth:`next_item`, record with :meth:`answer`, until :attr:`finished`.

    The state is just the items given and the answers, so a web request can rebuild
    a sitting from stored answers with :meth:`resume` and carry on.
    """

    def __init__(self, bank: ItemParameters, *, selector: ItemSelector | None = None,
                 stopping: StoppingRule | None = None, quadrature: Quadrature | None = None,
                 seed: int | np.random.Generator | None = None):
        self.bank = bank
        self.selector = selector or MaxInformationSelector()
        self.stopping = stopping or StoppingRule()
        self.quadrature = quadrature or Quadrature.fixed(61, 6.0)
        self.rng = rng_for(seed)
        self._log_p = np.log(np.maximum(bank.probabilities(self.quadrature.points), _TINY))   # J × K × Q
        self._log_post = self.quadrature.log_weights.copy()
        self.administered: list[int] = []
        self.responses: list[int] = []

    @classmethod
    def resume(cls, bank: ItemParameters, administered: Sequence[int], responses: Sequence[int],
               **kwargs: object) -> "AdaptiveTest":
        test = cls(bank, **kwargs)  # type: ignore[arg-type]
        for item, code in zip(administered, responses, strict=True):
            test.answer(int(item), int(code))
        return test

    @property
    def posterior(self) -> FloatArray:
        p = np.exp(self._log_post - self._log_post.max())
        return p / p.sum()

    @property
    def theta(self) -> float:
        return float(self.posterior @ self.quadrature.points)

    @property
    def se(self) -> float:
        post, t = self.posterior, self.quadrature.points
        mean = post @ t
        return float(np.sqrt(max(post @ t**2 - mean**2, 0.0)))

    @property
    def finished(self) -> bool:
        if len(self.administered) >= self.bank.n_items:
            return True
        return bool(self.stopping.done(np.array([len(self.administered)]), np.array([self.se]))[0])

    def next_item(self) -> int | None:
        if self.finished:
            return None
        available = np.ones((1, self.bank.n_items), dtype=bool)
        available[0, self.administered] = False
        info = self.bank.information(np.array([self.theta])).T
        return int(self.selector.select(info, available, self.rng)[0])

    def answer(self, item: int, code: int) -> None:
        if item in self.administered:
            raise ValueError(f"item {item} was already given")
        if not 0 <= code < int(self.bank.n_categories[item]):
            raise ValueError(f"category {code} does not exist for item {item}")
        self.administered.append(item)
        self.responses.append(code)
        self._log_post = self._log_post + self._log_p[item, code]


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class CATSimulation:
    """Outcome of a simulated adaptive administration."""

    true_theta: FloatArray
    theta: FloatArray
    se: FloatArray
    lengths: IntArray
    exposure: FloatArray            # share of simulees given each item
    bias: float
    rmse: float
    mean_length: float

    @property
    def max_exposure(self) -> float:
        return float(self.exposure.max())

    def as_dict(self) -> dict[str, float]:
        return {"n": float(self.true_theta.size), "bias": self.bias, "rmse": self.rmse,
                "mean_length": self.mean_length, "mean_se": float(self.se.mean()),
                "max_exposure": self.max_exposure}


def simulate_cat(bank: ItemParameters, true_theta: ArrayLike | int, seed: int | np.random.Generator | None = 0, *,
                 selector: ItemSelector | None = None, stopping: StoppingRule | None = None,
                 quadrature: Quadrature | None = None) -> CATSimulation:
    """Administer adaptive tests to simulees (θ given, or N drawn from N(0, 1)).

    All simulees advance together: each round computes EAP estimates from the
    grid posteriors, the information of every item at each estimate, the
    selector's choices, draws the answers from the true θ and adds the answers'
    log-probabilities to the posteriors.
    """
    rng = rng_for(seed)
    theta_true = rng.normal(size=int(true_theta)) if np.ndim(true_theta) == 0 else np.asarray(true_theta, float)
    selector = selector or MaxInformationSelector()
    stopping = stopping or StoppingRule()
    quad = quadrature or Quadrature.fixed(61, 6.0)
    n, n_items = theta_true.size, bank.n_items
    max_len = min(stopping.max_items, n_items)
    log_p = np.log(np.maximum(bank.probabilities(quad.points), _TINY))                 # J × K × Q
    upper, _ = bank.cumulative(theta_true)                                              # J × (K+1) × N
    log_post = np.tile(quad.log_weights, (n, 1))
    available = np.ones((n, n_items), dtype=bool)
    lengths = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    counts = np.zeros(n_items)
    theta_hat, se = _eap(log_post, quad.points)
    for _ in range(max_len):
        rows = np.nonzero(active)[0]
        if rows.size == 0:
            break
        info = bank.information(theta_hat[rows]).T                                     # rows × J
        chosen = selector.select(info, available[rows], rng)
        u = rng.random(rows.size)
        codes = (u[:, None] < upper[chosen, 1:-1, rows]).sum(axis=1)
        log_post[rows] += log_p[chosen, codes]
        available[rows, chosen] = False
        lengths[rows] += 1
        np.add.at(counts, chosen, 1)
        theta_hat[rows], se[rows] = _eap(log_post[rows], quad.points)
        active[rows] = ~stopping.done(lengths[rows], se[rows])
    error = theta_hat - theta_true
    return CATSimulation(
        true_theta=theta_true, theta=theta_hat, se=se, lengths=lengths, exposure=counts / max(n, 1),
        bias=float(error.mean()), rmse=float(np.sqrt(np.mean(error**2))), mean_length=float(lengths.mean()),
    )


def _eap(log_post: FloatArray, points: FloatArray) -> tuple[FloatArray, FloatArray]:
    post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ points
    return mean, np.sqrt(np.maximum(post @ points**2 - mean**2, 0.0))


def sympson_hetter_parameters(bank: ItemParameters, target_rate: float = 0.25, *, n_simulees: int = 1000,
                              iterations: int = 20, seed: int = 0, stopping: StoppingRule | None = None,
                              quadrature: Quadrature | None = None) -> FloatArray:
    """Exposure-control probabilities by the iterative Sympson–Hetter procedure.

    Each round simulates the test with the current ``k``; for item j with selection
    rate P(S_j) (chosen as the candidate before its lottery) the new value is
    ``min(1, r / P(S_j))``, which holds the administration rate P(S_j)·k_j near
    ``r``. A fixed seed per round keeps the result reproducible.
    """
    if not 0 < target_rate <= 1:
        raise ValueError("target_rate must be in (0, 1]")
    k = np.ones(bank.n_items)
    stopping = stopping or StoppingRule()
    for round_ in range(iterations):
        tracker = _SelectionTracker(k)
        simulate_cat(bank, n_simulees, seed + round_, selector=tracker, stopping=stopping, quadrature=quadrature)
        p_select = tracker.selected / n_simulees
        k = np.where(p_select > target_rate, target_rate / np.maximum(p_select, 1e-12), 1.0)
    return k


@dataclass
class _SelectionTracker(ItemSelector):
    """Sympson–Hetter selection that also counts how often each item came up first."""

    exposure: FloatArray
    selected: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.selected = np.zeros(np.asarray(self.exposure).size)

    def select(self, information: FloatArray, available: BoolArray, rng: np.random.Generator) -> IntArray:
        masked = np.where(available, information, -np.inf)
        order = np.argsort(-masked, axis=1)
        rows = np.arange(masked.shape[0])[:, None]
        lottery = rng.random(masked.shape) < self.exposure[order]
        usable = available[rows, order]
        # every item reached in the ordered list before acceptance counts as "selected"
        passes = lottery & usable
        first = np.where(passes.any(axis=1), passes.argmax(axis=1), 0)
        reached = (np.arange(masked.shape[1])[None, :] <= first[:, None]) & usable
        np.add.at(self.selected, order[reached], 1)
        return order[rows[:, 0], first]
