"""Item response theory: Rasch, 1PL, 2PL and graded response models.

Every model here is a special case of Samejima's graded response model in
slope–intercept form, as R's mirt writes it::

    P(X_j ≥ k | θ) = 1 / (1 + exp(−(a_j θ + d_jk))),   k = 1 … K_j − 1,
    d_j1 > d_j2 > …,   θ ~ N(0, 1).

A dichotomous item is a graded item with two categories, so 2PL = GRM with K = 2;
``rasch`` fixes every slope at 1, ``1pl`` estimates one slope shared by all items.
The IRT form used in reports is ``b_jk = −d_jk / a_j`` (P = 1/(1 + exp(−a(θ − b)))).

Calibration is marginal maximum likelihood by the EM algorithm of Bock & Aitkin
(1981) over a fixed quadrature grid (by default mirt's: 61 equally spaced points on
[−6, 6] weighted by the normal density), vectorised with numpy: the E-step is one
matrix product of the one-hot response patterns with the log category
probabilities, the M-step one Fisher-scoring step per item, all items at once;
SQUAREM extrapolation (Varadhan & Roland 2008) cuts the number of EM steps by
half or more. Newton steps on the marginal log-likelihood then take the estimate
to the maximum, and standard errors come from the observed information computed
exactly by Louis' (1982) formula there.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logsumexp

from psychometrics._arrays import (
    FloatArray,
    IntArray,
    as_response_matrix,
    as_weights,
    collapse_patterns,
    item_names,
)

ModelName = Literal["rasch", "1pl", "2pl", "grm"]
MODELS: tuple[str, ...] = ("rasch", "1pl", "2pl", "grm")

_TINY = 1e-300  # floor for probabilities before log/division: keeps numpy silent, changes nothing measurable


# --------------------------------------------------------------------------- quadrature


@dataclass(frozen=True)
class Quadrature:
    """Nodes and normalised weights approximating the latent N(mean, sd²) density."""

    points: FloatArray
    weights: FloatArray

    @classmethod
    def fixed(cls, n_points: int = 61, bound: float = 6.0, mean: float = 0.0, sd: float = 1.0) -> "Quadrature":
        """Equally spaced nodes on mean ± bound·sd weighted by the normal density (mirt's default grid)."""
        if n_points < 5:
            raise ValueError("use at least 5 quadrature points")
        z = np.linspace(-bound, bound, n_points)
        w = np.exp(-0.5 * z**2)
        return cls(mean + sd * z, w / w.sum())

    @classmethod
    def gauss_hermite(cls, n_points: int = 41, mean: float = 0.0, sd: float = 1.0) -> "Quadrature":
        """Gauss–Hermite nodes for the normal density (probabilists' Hermite polynomials)."""
        z, w = np.polynomial.hermite_e.hermegauss(n_points)
        return cls(mean + sd * z, w / w.sum())

    @property
    def log_weights(self) -> FloatArray:
        return np.log(self.weights)


# --------------------------------------------------------------------------- item parameters


@dataclass(frozen=True)
class ItemParameters:
    """Graded (incl. dichotomous) items in slope–intercept form.

    ``intercepts`` is J × (K_max − 1), decreasing along each row, NaN-padded for
    items with fewer categories.
    """

    slopes: FloatArray
    intercepts: FloatArray
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        slopes = np.asarray(self.slopes, dtype=float).reshape(-1)
        intercepts = np.asarray(self.intercepts, dtype=float)
        if intercepts.ndim == 1:
            intercepts = intercepts[:, None]
        if intercepts.shape[0] != slopes.shape[0]:
            raise ValueError("one row of intercepts per slope")
        if intercepts.shape[1] < 1 or np.isnan(intercepts[:, 0]).any():
            raise ValueError("every item needs at least one intercept (two categories)")
        present = ~np.isnan(intercepts)
        if np.any(present[:, 1:] & ~present[:, :-1]):
            raise ValueError("NaN padding must come after an item's intercepts")
        if np.any((np.diff(intercepts, axis=1) >= 0) & present[:, 1:]):
            raise ValueError("intercepts must decrease within an item (thresholds increase)")
        object.__setattr__(self, "slopes", slopes)
        object.__setattr__(self, "intercepts", intercepts)
        object.__setattr__(self, "names", item_names(self.names or None, slopes.shape[0]))

    # construction -----------------------------------------------------------------
    @classmethod
    def _unchecked(cls, slopes: FloatArray, intercepts: FloatArray, names: tuple[str, ...] = ()) -> "ItemParameters":
        """Skip validation: the EM loop builds many trial parameter sets, some deliberately invalid."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "slopes", slopes)
        object.__setattr__(obj, "intercepts", intercepts)
        object.__setattr__(obj, "names", names)
        return obj

    @classmethod
    def from_irt(cls, a: ArrayLike, b: ArrayLike | Sequence[Sequence[float]],
                 names: Sequence[str] | None = None) -> "ItemParameters":
        """From discriminations ``a`` and difficulties/thresholds ``b`` (d = −a·b).

        ``b`` may be a vector (dichotomous items), a matrix, or a ragged list of
        increasing thresholds per item.
        """
        slopes = np.asarray(a, dtype=float).reshape(-1)
        ragged = not isinstance(b, np.ndarray) and any(np.ndim(row) == 1 for row in b)  # type: ignore[union-attr]
        if ragged:
            rows = [np.atleast_1d(np.asarray(row, dtype=float)) for row in b]  # type: ignore[union-attr]
            thresholds = np.full((len(rows), max(row.size for row in rows)), np.nan)
            for j, row in enumerate(rows):
                thresholds[j, : row.size] = row
        else:
            thresholds = np.asarray(b, dtype=float)
            if thresholds.ndim == 1:
                thresholds = thresholds[:, None]
        if slopes.shape[0] == 1 and thresholds.shape[0] > 1:
            slopes = np.repeat(slopes, thresholds.shape[0])
        return cls(slopes, -slopes[:, None] * thresholds, tuple(names) if names is not None else ())

    # shape ----------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return int(self.slopes.shape[0])

    @property
    def n_categories(self) -> IntArray:
        return (np.sum(~np.isnan(self.intercepts), axis=1) + 1).astype(np.int64)

    @property
    def max_categories(self) -> int:
        return int(self.intercepts.shape[1] + 1)

    @property
    def difficulties(self) -> FloatArray:
        """IRT-form thresholds b = −d / a (J × (K_max − 1), NaN-padded)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return -self.intercepts / self.slopes[:, None]

    def subset(self, indices: ArrayLike) -> "ItemParameters":
        idx = np.asarray(indices, dtype=int).reshape(-1)
        intercepts = self.intercepts[idx]
        width = int(np.max(np.sum(~np.isnan(intercepts), axis=1))) if idx.size else 1
        return ItemParameters(self.slopes[idx], intercepts[:, :width], tuple(self.names[i] for i in idx))

    # response functions ---------------------------------------------------------------
    def _padded_intercepts(self) -> FloatArray:
        return np.where(np.isnan(self.intercepts), -np.inf, self.intercepts)

    def cumulative(self, theta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """P(X ≥ k) and P(X < k) for k = 0 … K_max: two J × (K_max + 1) × T arrays.

        Both tails are returned so category probabilities can be taken as whichever
        difference loses less precision far from an item's thresholds.
        """
        t = np.atleast_1d(np.asarray(theta, dtype=float))
        eta = self.slopes[:, None, None] * t[None, None, :] + self._padded_intercepts()[:, :, None]
        upper = expit(eta)
        lower = expit(-eta)
        ones = np.ones((self.n_items, 1, t.size))
        zeros = np.zeros_like(ones)
        return (np.concatenate([ones, upper, zeros], axis=1),
                np.concatenate([zeros, lower, ones], axis=1))

    def probabilities(self, theta: ArrayLike) -> FloatArray:
        """Category probabilities, J × K_max × T (zero for an item's absent categories)."""
        upper, lower = self.cumulative(theta)
        direct = upper[:, :-1] - upper[:, 1:]
        complement = lower[:, 1:] - lower[:, :-1]
        return np.where(upper[:, 1:] > 0.5, complement, direct)

    def information(self, theta: ArrayLike) -> FloatArray:
        """Item Fisher information, J × T: a² Σ_k (W_k − W_{k+1})² / P_k, W = P*(1 − P*)."""
        upper, lower = self.cumulative(theta)
        w = upper * lower
        p = self.probabilities(theta)
        dw = w[:, :-1] - w[:, 1:]
        info = np.sum(np.divide(dw**2, np.maximum(p, _TINY)), axis=1)
        return (self.slopes**2)[:, None] * info

    def test_information(self, theta: ArrayLike) -> FloatArray:
        """Sum of item information; 1/√I is the asymptotic SE of θ̂ (ML, no prior)."""
        return self.information(theta).sum(axis=0)

    def expected_score(self, theta: ArrayLike) -> FloatArray:
        """Expected category code per item, J × T (the item characteristic curve)."""
        p = self.probabilities(theta)
        return np.einsum("jkt,k->jt", p, np.arange(self.max_categories, dtype=float))

    def as_dict(self) -> dict[str, object]:
        return {
            "names": list(self.names),
            "slopes": self.slopes.tolist(),
            "intercepts": [[float(x) for x in row if not math.isnan(x)] for row in self.intercepts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ItemParameters":
        """Inverse of :meth:`as_dict` (for parameters stored as JSON)."""
        rows = data["intercepts"]
        if not isinstance(rows, list) or not rows:
            raise ValueError("intercepts must be a non-empty list of lists")
        width = max(len(row) for row in rows)
        intercepts = np.full((len(rows), width), np.nan)
        for j, row in enumerate(rows):
            intercepts[j, : len(row)] = row
        names = tuple(str(n) for n in data.get("names") or ())
        return cls(np.asarray(data["slopes"], dtype=float), intercepts, names)


# --------------------------------------------------------------------------- response data


@dataclass(frozen=True)
class ResponseData:
    """Responses recoded to category codes 0 … K_j − 1 (−1 = missing), patterns collapsed.

    ``category_values[j][k]`` is the original value that code ``k`` of item ``j``
    stands for: codes follow the sorted distinct observed values, so an ordinal
    scale 1…5 becomes 0…4 and an unused category is dropped rather than given an
    infinite threshold (as mirt does).
    """

    codes: IntArray
    weights: FloatArray
    n_categories: IntArray
    category_values: tuple[tuple[float, ...], ...]
    names: tuple[str, ...]

    @classmethod
    def from_matrix(cls, data: ArrayLike, weights: ArrayLike | None = None,
                    names: Sequence[str] | None = None,
                    category_values: Sequence[Sequence[float]] | None = None) -> "ResponseData":
        matrix = as_response_matrix(data)
        n, n_items = matrix.shape
        w = as_weights(weights, n)
        integer_coded = _rank_small_integers(matrix) if category_values is None and np.all(w > 0) else None
        if integer_coded is not None:
            codes, values = integer_coded
        else:
            codes, values = _nearest_levels(matrix, w, category_values)
        n_categories = np.array([len(v) for v in values], dtype=np.int64)
        codes, w = collapse_patterns(codes, w)
        return cls(codes, w, n_categories, tuple(values), item_names(names, n_items))

    @property
    def n_items(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_persons(self) -> float:
        return float(self.weights.sum())


def _rank_small_integers(matrix: FloatArray) -> tuple[IntArray, list[tuple[float, ...]]] | None:
    """Codes and levels for whole-number answers in a small range, all items at once.

    The usual data (0/1, a Likert 1–5): each item's levels are its observed values
    and a value's code is its rank among them. None for anything else, which the
    general per-item path handles.
    """
    observed = ~np.isnan(matrix)
    if not observed.any():
        return None
    low, high = np.min(matrix[observed]), np.max(matrix[observed])
    if high - low > 1000 or np.any(matrix[observed] != np.round(matrix[observed])):
        return None
    span = int(high - low) + 1
    shifted = np.where(observed, matrix - low, 0).astype(np.int64)
    present = np.zeros((matrix.shape[1], span), dtype=bool)
    present[np.nonzero(observed)[1], shifted[observed]] = True
    rank = np.cumsum(present, axis=1) - 1
    codes = np.where(observed, rank[np.arange(matrix.shape[1])[None, :], shifted], -1)
    levels = [tuple(float(low + v) for v in np.nonzero(row)[0]) for row in present]
    return codes, levels


def _nearest_levels(matrix: FloatArray, weights: FloatArray,
                    category_values: Sequence[Sequence[float]] | None) -> tuple[IntArray, list[tuple[float, ...]]]:
    """Codes and levels item by item: levels given, or observed in rows of positive weight;
    each answer takes the code of the nearest level."""
    codes = np.full(matrix.shape, -1, dtype=np.int64)
    values: list[tuple[float, ...]] = []
    for j in range(matrix.shape[1]):
        column = matrix[:, j]
        observed = ~np.isnan(column)
        if category_values is None:
            levels = np.unique(column[observed & (weights > 0)])
        else:
            levels = np.asarray(category_values[j], dtype=float)
        if levels.size and observed.any():
            idx = np.searchsorted(levels, column[observed])
            idx = np.clip(idx, 0, levels.size - 1)
            lower = np.clip(idx - 1, 0, levels.size - 1)
            nearer_lower = np.abs(column[observed] - levels[lower]) <= np.abs(column[observed] - levels[idx])
            codes[observed, j] = np.where(nearer_lower, lower, idx)
        values.append(tuple(float(v) for v in levels))
    return codes, values


class _Layout:
    """Index bookkeeping shared by the E-step, M-step and information computations."""

    def __init__(self, n_categories: IntArray):
        self.n_categories = n_categories
        self.n_items = int(n_categories.size)
        self.k_max = int(n_categories.max())
        self.valid = np.arange(self.k_max)[None, :] < n_categories[:, None]        # J × K: real categories
        self.valid_params = self.valid.copy()                                        # J × K: a, d1..d_{K−1}
        self.offsets = np.concatenate([[0], np.cumsum(n_categories)[:-1]])          # first column per item
        self.n_columns = int(n_categories.sum())
        self.n_params = int(n_categories.sum())                                     # a + (K−1) per item

    def one_hot(self, codes: IntArray) -> FloatArray:
        rows, items = np.nonzero(codes >= 0)
        y = np.zeros((codes.shape[0], self.n_columns))
        y[rows, self.offsets[items] + codes[rows, items]] = 1.0
        return y


# --------------------------------------------------------------------------- the EM engine


def _item_derivatives(items: ItemParameters, theta: FloatArray, second: bool = False):
    """Category probabilities and their derivatives w.r.t. (a, d_1 … d_{K−1}) per item.

    Returns P (J,K,T), dP (J,K,K,T) and, if asked, d²P (J,K,K,K,T); parameter slot 0
    is the slope, slot m ≥ 1 the intercept d_m. P*_m depends on (a, d_m) only, so
    ∂P*_m = W_m·(θ, e_m) and ∂²P*_m = V_m·(θ, e_m)(θ, e_m)ᵀ with W = P*(1−P*),
    V = W(1 − 2P*), and P_k = P*_k − P*_{k+1}.
    """
    upper, lower = items.cumulative(theta)
    p = np.where(upper[:, 1:] > 0.5, lower[:, 1:] - lower[:, :-1], upper[:, :-1] - upper[:, 1:])
    w = upper * lower                                                       # J × (K+1) × T
    n_items, k_plus_1, n_t = w.shape
    k_max = k_plus_1 - 1
    # ∂P*_m / ∂params: J × (K+1) × K × T
    d_star = np.zeros((n_items, k_plus_1, k_max, n_t))
    d_star[:, :, 0, :] = w * theta[None, None, :]
    m = np.arange(1, k_max)
    d_star[:, m, m, :] = w[:, m, :]
    dp = d_star[:, :-1] - d_star[:, 1:]
    if not second:
        return p, dp, None
    v = w * (lower - upper)                                                  # W(1 − 2P*) = W(Q* − P*)
    d2_star = np.zeros((n_items, k_plus_1, k_max, k_max, n_t))
    d2_star[:, :, 0, 0, :] = v * theta[None, None, :] ** 2
    d2_star[:, m, 0, m, :] = v[:, m, :] * theta[None, :]
    d2_star[:, m, m, 0, :] = v[:, m, :] * theta[None, :]
    d2_star[:, m, m, m, :] = v[:, m, :]
    return p, dp, d2_star[:, :-1] - d2_star[:, 1:]


@dataclass
class _State:
    slopes: FloatArray
    intercepts: FloatArray          # J × (K_max − 1), NaN-padded

    def items(self, names: tuple[str, ...]) -> ItemParameters:
        return ItemParameters._unchecked(self.slopes.copy(), self.intercepts.copy(), names)

    def vector(self, layout: _Layout) -> FloatArray:
        full = np.concatenate([self.slopes[:, None], np.nan_to_num(self.intercepts)], axis=1)
        return full[layout.valid_params]


class _MarginalModel:
    """Marginal likelihood of one data set under a slope constraint; EM and Louis live here."""

    def __init__(self, data: ResponseData, slope_mode: str, quadrature: Quadrature):
        self.data = data
        self.slope_mode = slope_mode              # "fixed", "common" or "free"
        self.quadrature = quadrature
        self.layout = _Layout(data.n_categories)
        self.y = self.layout.one_hot(data.codes)
        self.complete_dichotomous = bool(self.layout.k_max == 2 and np.all(data.codes >= 0))
        # single-precision responses with an all-ones column that carries the log prior
        self.y32_with_prior = np.hstack([self.y, np.ones((self.y.shape[0], 1))]).astype(np.float32)
        self.y32 = self.y32_with_prior[:, :-1]
        # the score-table row of each answer (the last, all-zero row for a missing one)
        self.answer_columns = np.where(data.codes >= 0, self.layout.offsets[None, :] + data.codes,
                                       self.layout.n_columns)
        self.theta = quadrature.points
        self.log_prior = quadrature.log_weights
        self.transform = self._transform()

    # parameter space ---------------------------------------------------------------
    def _transform(self) -> FloatArray:
        """Linear map from free parameters to the full (a_j, d_jk) vector."""
        layout = self.layout
        slot = np.zeros((layout.n_items, layout.k_max), dtype=np.int64)
        slot[layout.valid_params] = np.arange(layout.n_params)
        slope_index = slot[:, 0]
        intercept_index = np.setdiff1d(np.arange(layout.n_params), slope_index)
        if self.slope_mode == "free":
            return np.eye(layout.n_params)
        if self.slope_mode == "fixed":
            return np.eye(layout.n_params)[:, intercept_index]
        t = np.zeros((layout.n_params, 1 + intercept_index.size))
        t[slope_index, 0] = 1.0
        t[intercept_index, 1 + np.arange(intercept_index.size)] = 1.0
        return t

    def free_names(self) -> list[str]:
        names = []
        if self.slope_mode == "common":
            names.append("a")
        for j, name in enumerate(self.data.names):
            if self.slope_mode == "free":
                names.append(f"{name}.a")
            names.extend(f"{name}.d{k}" for k in range(1, int(self.layout.n_categories[j])))
        return names

    # likelihood ----------------------------------------------------------------------
    def log_probabilities(self, items: ItemParameters) -> FloatArray:
        """log P for every real (item, category) column, C × Q."""
        p = items.probabilities(self.theta)
        return np.log(np.maximum(p[self.layout.valid], _TINY))

    def e_step(self, items: ItemParameters) -> tuple[float, FloatArray, FloatArray]:
        """Marginal log-likelihood, normalised posteriors (patterns × Q) and expected counts (C × Q)."""
        log_joint = self.y @ self.log_probabilities(items) + self.log_prior[None, :]
        peak = log_joint.max(axis=1, keepdims=True)
        posterior = np.exp(log_joint - peak)
        marginal = posterior.sum(axis=1, keepdims=True)
        posterior /= marginal
        loglik = float(np.dot(self.data.weights, (np.log(marginal) + peak).ravel()))
        expected = self.y.T @ (posterior * self.data.weights[:, None])
        return loglik, posterior, expected

    def em_counts(self, items: ItemParameters) -> tuple[float, FloatArray]:
        """The E-step of an EM iteration: log-likelihood and expected counts, in single precision.

        About twice as fast as :meth:`e_step`; the counts are accurate to ~1e-6
        relative, far below what moves an EM step. The log prior rides along as an
        extra all-ones column of the responses, so one product gives the log joint.
        """
        log_p = np.vstack([self.log_probabilities(items), self.log_prior[None, :]]).astype(np.float32)
        log_joint = self.y32_with_prior @ log_p
        peak = log_joint.max(axis=1, keepdims=True)
        np.subtract(log_joint, peak, out=log_joint)
        posterior = np.exp(log_joint, out=log_joint)
        marginal = posterior.sum(axis=1, dtype=np.float64)
        loglik = float(np.dot(self.data.weights, np.log(marginal) + peak[:, 0]))
        posterior *= (self.data.weights / marginal).astype(np.float32)[:, None]
        return loglik, (self.y32.T @ posterior).astype(float)

    def loglik(self, items: ItemParameters) -> float:
        log_joint = self.y @ self.log_probabilities(items) + self.log_prior[None, :]
        return float(np.dot(self.data.weights, logsumexp(log_joint, axis=1)))

    # M-step --------------------------------------------------------------------------
    def _expected_by_item(self, expected: FloatArray) -> FloatArray:
        r = np.zeros((self.layout.n_items, self.layout.k_max, self.theta.size))
        r[self.layout.valid] = expected
        return r

    def _complete_data(self, state: _State, r: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per item: expected complete-data log-likelihood, gradient and Fisher information."""
        items = ItemParameters._unchecked(state.slopes, state.intercepts)
        p, dp, _ = _item_derivatives(items, self.theta)
        p_safe = np.maximum(p, _TINY)
        objective = np.sum(r * np.log(p_safe), axis=(1, 2))
        grad = np.einsum("jkq,jkmq->jm", r / p_safe, dp)
        n = r.sum(axis=1)                                                       # J × Q
        info = np.einsum("jq,jkq,jkmq,jklq->jml", n, 1.0 / p_safe, dp, dp)
        return objective, grad, info

    def _objective(self, state: _State, r: FloatArray) -> FloatArray:
        items = ItemParameters._unchecked(state.slopes, state.intercepts)
        p = items.probabilities(self.theta)
        return np.sum(r * np.log(np.maximum(p, _TINY)), axis=(1, 2))

    def m_step(self, state: _State, expected: FloatArray) -> _State:
        """One Fisher-scoring step per item (one joint step for a common slope), step-halved."""
        layout = self.layout
        r = self._expected_by_item(expected)
        objective, grad, info = self._complete_data(state, r)
        pad = ~layout.valid_params
        info[pad[:, :, None] & np.eye(layout.k_max, dtype=bool)[None]] = 1.0
        grad[pad] = 0.0
        if self.slope_mode == "fixed":
            info[:, 0, :] = 0.0
            info[:, :, 0] = 0.0
            info[:, 0, 0] = 1.0
            grad[:, 0] = 0.0
        if self.slope_mode == "common":
            step = self._common_slope_step(grad, info)
        else:
            try:
                step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:       # an item whose probabilities have saturated
                step = (np.linalg.pinv(info) @ grad[:, :, None])[:, :, 0]
        step[pad] = 0.0
        # keep single steps modest: far from the optimum a Fisher step can overshoot
        largest = np.max(np.abs(step), axis=1, keepdims=True)
        if self.slope_mode == "common":
            largest = np.full_like(largest, largest.max())
        step *= np.minimum(1.0, 2.0 / np.maximum(largest, 1e-12))
        scale = np.ones(layout.n_items)
        for _ in range(12):
            candidate = self._apply(state, step * scale[:, None])
            ordered = self._ordered(candidate)
            new_objective = self._objective(candidate, r)
            if self.slope_mode == "common":
                ok_all = bool(ordered.all()) and new_objective.sum() >= objective.sum() - 1e-10 * abs(objective.sum())
                if ok_all:
                    return candidate
                scale *= 0.5
                continue
            ok = ordered & (new_objective >= objective - 1e-10 * np.abs(objective))
            if ok.all():
                return candidate
            scale = np.where(ok, scale, scale * 0.5)
        candidate = self._apply(state, step * np.where(scale < 1e-3, 0.0, scale)[:, None])
        return candidate if self._ordered(candidate).all() else state

    def _common_slope_step(self, grad: FloatArray, info: FloatArray) -> FloatArray:
        """Joint Fisher step for (a, all d) via the Schur complement on the shared slope."""
        f_aa = info[:, 0, 0]
        f_ad = info[:, 0, 1:]
        f_dd = info[:, 1:, 1:]
        g_a = grad[:, 0]
        g_d = grad[:, 1:]
        solve_g = np.linalg.solve(f_dd, g_d[:, :, None])[:, :, 0]
        solve_f = np.linalg.solve(f_dd, f_ad[:, :, None])[:, :, 0]
        schur = np.sum(f_aa - np.sum(f_ad * solve_f, axis=1))
        delta_a = (np.sum(g_a) - np.sum(f_ad * solve_g)) / schur
        delta_d = solve_g - solve_f * delta_a
        return np.concatenate([np.full((grad.shape[0], 1), delta_a), delta_d], axis=1)

    def _apply(self, state: _State, step: FloatArray) -> _State:
        return _State(state.slopes + step[:, 0], state.intercepts + step[:, 1:])

    @staticmethod
    def _ordered(state: _State) -> np.ndarray:
        d = state.intercepts
        diffs = d[:, 1:] - d[:, :-1]
        return ~np.any(diffs >= 0, axis=1) if d.shape[1] > 1 else np.ones(d.shape[0], dtype=bool)

    def gradient(self, state: _State, expected: FloatArray) -> FloatArray:
        """Gradient of the marginal log-likelihood (Fisher's identity: expected complete-data score)."""
        items = ItemParameters._unchecked(state.slopes, state.intercepts)
        p, dp, _ = _item_derivatives(items, self.theta)
        r = self._expected_by_item(expected)
        grad_blocks = np.einsum("jkq,jkmq->jm", r / np.maximum(p, _TINY), dp)
        return self.transform.T @ grad_blocks[self.layout.valid_params]

    # observed information (Louis 1982) ------------------------------------------------
    def observed_information(self, state: _State, posterior: FloatArray,
                             expected: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gradient and observed information of the marginal log-likelihood, in free parameters.

        Louis: I = Σ_n w_n { E[−∂²ℓ_n(θ)] − Cov[∂ℓ_n(θ)] } over each pattern's posterior.
        The first term is item-block diagonal and comes from the expected counts; the
        covariance term from the per-pattern complete-data scores at each node.
        """
        layout = self.layout
        items = ItemParameters._unchecked(state.slopes, state.intercepts)
        p, dp, d2p = _item_derivatives(items, self.theta, second=True)
        p_safe = np.maximum(p, _TINY)
        r = self._expected_by_item(expected)
        score = dp / p_safe[:, :, None, :]                                     # J × K × K × Q
        # E[−∂²ℓ] per item: Σ r (∂P∂Pᵀ/P² − ∂²P/P)
        hess_blocks = (np.einsum("jkq,jkmq,jklq->jml", r, score, score)
                       - np.einsum("jkq,jkmlq->jml", r / p_safe, d2p))
        grad_blocks = np.einsum("jkq,jkmq->jm", r, score)
        slot = np.full((layout.n_items, layout.k_max), -1, dtype=np.int64)
        slot[layout.valid_params] = np.arange(layout.n_params)
        info = np.zeros((layout.n_params, layout.n_params))
        for j in range(layout.n_items):
            idx = slot[j][slot[j] >= 0]
            info[np.ix_(idx, idx)] += hess_blocks[j][: idx.size, : idx.size]
        grad = grad_blocks[layout.valid_params]
        table = self._score_table(score)
        mean_score = self._mean_scores(table, posterior)
        weights = self.data.weights
        if self.complete_dichotomous:
            second_moment = self._second_moment_dichotomous(p[:, 1, :], posterior)
        else:
            second_moment = self._second_moment(table, posterior)
        covariance = second_moment - mean_score.T @ (mean_score * weights[:, None])
        info -= covariance
        t = self.transform
        return t.T @ grad, t.T @ info @ t

    def _score_table(self, score: FloatArray) -> FloatArray:
        """Complete-data score of every answer column at every node: Q × (C + 1) × K_max.

        Row ``offsets[j] + k`` holds ∂ log P_jk / ∂(a_j, d_j1 …) at each node; the
        extra last row is zero and stands for a missing answer, which scores nothing.
        """
        layout = self.layout
        j_idx, k_idx = np.nonzero(layout.valid)
        table = np.zeros((self.theta.size, layout.n_columns + 1, layout.k_max))
        table[:, layout.offsets[j_idx] + k_idx, :] = score[j_idx, k_idx].transpose(2, 0, 1)
        return table

    def _mean_scores(self, table: FloatArray, posterior: FloatArray) -> FloatArray:
        """Each pattern's posterior mean score E[s_n], patterns × free-form parameters.

        For item j this is Σ_q post_nq g_j(x_nj, θ_q): one product of the posteriors
        with the score table, then a gather of each pattern's answered columns.
        """
        n_q, n_rows, k_max = table.shape
        # single precision: ~1e-6 relative, far below SE precision
        by_column = (posterior.astype(np.float32) @ table.reshape(n_q, -1).astype(np.float32)).reshape(
            -1, n_rows, k_max)
        gathered = np.take_along_axis(by_column, self.answer_columns[:, :, None], axis=1)   # N × J × K
        return gathered.reshape(gathered.shape[0], -1)[:, self.layout.valid_params.reshape(-1)].astype(float)

    def _second_moment(self, table: FloatArray, posterior: FloatArray) -> FloatArray:
        """Σ_n w_n E[s_n s_nᵀ] over each pattern's posterior.

        The score of pattern n at node q is its answered rows of the score table side
        by side; each (pattern, node) pair with posterior weight above 1e-9 becomes one
        row scaled by √(w_n post_nq), and the sum is the Gram matrix of those rows (a
        symmetric rank-k update, in single precision; the neglected weight and the
        rounding are both ~1e-7 relative, far below SE precision).
        """
        layout = self.layout
        n_q, n_rows, k_max = table.shape
        flat = table.reshape(n_q * n_rows, k_max).astype(np.float32)
        width = layout.n_items * k_max
        total = np.zeros((width, width), dtype=np.float32)
        pattern, node = np.nonzero(posterior > 1e-9)
        scale = np.sqrt(self.data.weights[pattern] * posterior[pattern, node]).astype(np.float32)
        block = max(1, int(4e6 // max(width, 1)))
        for start in range(0, pattern.size, block):
            part = slice(start, start + block)
            index = np.take(self.answer_columns, pattern[part], axis=0) + node[part, None] * n_rows
            rows = np.take(flat, index, axis=0).reshape(-1, width)          # np.take: far faster than flat[index]
            rows *= scale[part, None]
            total += rows.T @ rows
        keep = layout.valid_params.reshape(-1)
        return total[np.ix_(keep, keep)].astype(float)

    def _second_moment_dichotomous(self, p_correct: FloatArray, posterior: FloatArray) -> FloatArray:
        """:meth:`_second_moment` in closed form for complete 0/1 data.

        An item's score at node q is (x − P_jq)·(θ_q, 1), so every block of the
        second moment is Σ_q c_q Σ_n v_nq (x_nj − P_jq)(x_nl − P_lq) with c ∈ {θ², θ, 1}
        and v = w ⊙ posterior; expanding the product leaves items × items products
        over patterns instead of one row per (pattern, node).
        """
        x = self.data.codes.astype(float)                                  # N × J
        v = posterior * self.data.weights[:, None]                         # N × Q
        node_mass = v.sum(axis=0)
        theta = self.theta
        n_items = x.shape[1]
        blocks = {}
        for power in (0, 1, 2):
            c = theta**power
            per_pattern = v @ c                                            # N
            cross = x.T @ (v @ (c[:, None] * p_correct.T))                 # J × J: Σ_n x_nj Σ_q v c P_lq
            blocks[power] = ((x * per_pattern[:, None]).T @ x - cross - cross.T
                             + (p_correct * (c * node_mass)[None, :]) @ p_correct.T)
        total = np.empty((n_items, 2, n_items, 2))
        total[:, 0, :, 0] = blocks[2]                                      # (slope, slope): θ²
        total[:, 0, :, 1] = blocks[1]
        total[:, 1, :, 0] = blocks[1]
        total[:, 1, :, 1] = blocks[0]                                      # (intercept, intercept): 1
        return total.reshape(2 * n_items, 2 * n_items)

    def cross_product_information(self, state: _State, posterior: FloatArray) -> FloatArray:
        """Σ_n w_n ∇ℓ_n ∇ℓ_nᵀ (the "XPD" estimate of the information), in free parameters.

        Consistent for the observed information and far cheaper than Louis' formula;
        used only to steer Newton steps, never for standard errors.
        """
        items = ItemParameters._unchecked(state.slopes, state.intercepts)
        p, dp, _ = _item_derivatives(items, self.theta)
        score = dp / np.maximum(p, _TINY)[:, :, None, :]
        mean_score = self._mean_scores(self._score_table(score), posterior)
        xpd = mean_score.T @ (mean_score * self.data.weights[:, None])
        return self.transform.T @ xpd @ self.transform

    def unpack(self, free: FloatArray, template: _State) -> _State:
        layout = self.layout
        full = np.zeros((layout.n_items, layout.k_max))
        full[layout.valid_params] = self.transform @ free
        slopes = template.slopes.copy() if self.slope_mode == "fixed" else full[:, 0]
        intercepts = np.where(np.isnan(template.intercepts), np.nan, full[:, 1:])
        return _State(slopes, intercepts)

    def pack(self, state: _State) -> FloatArray:
        # every full parameter is one free parameter (a shared slope appears once per
        # item): averaging the copies inverts unpack
        full = state.vector(self.layout)
        return (self.transform.T @ full) / self.transform.sum(axis=0)


# --------------------------------------------------------------------------- calibration result


@dataclass(frozen=True)
class ItemEstimate:
    """One item's estimates in IRT form, with standard errors (None where fixed)."""

    item: str
    a: float
    b: tuple[float, ...]
    d: tuple[float, ...]
    se_a: float | None
    se_b: tuple[float, ...] | None
    se_d: tuple[float, ...] | None
    categories: tuple[float, ...]


@dataclass(frozen=True)
class Calibration:
    """A fitted model: parameters, log-likelihood, covariance of the free parameters."""

    model: str
    items: ItemParameters
    loglik: float
    converged: bool
    n_iterations: int
    n_persons: float
    category_values: tuple[tuple[float, ...], ...]
    quadrature: Quadrature
    parameter_names: tuple[str, ...]
    covariance: FloatArray | None
    gradient_norm: float
    _transform: FloatArray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_parameters(self) -> int:
        return len(self.parameter_names)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_parameters

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.n_persons) * self.n_parameters

    def _full_covariance(self) -> FloatArray | None:
        if self.covariance is None:
            return None
        return self._transform @ self.covariance @ self._transform.T

    def estimates(self) -> list[ItemEstimate]:
        """IRT-form estimates; SEs of b by the delta method on b = −d/a."""
        cov = self._full_covariance()
        n_cat = self.items.n_categories
        out: list[ItemEstimate] = []
        offset = 0
        fixed_slope = self.model == "rasch"
        for j in range(self.items.n_items):
            k = int(n_cat[j])
            a = float(self.items.slopes[j])
            d = self.items.intercepts[j, : k - 1]
            b = -d / a
            se_a = se_b = se_d = None
            if cov is not None:
                block = cov[offset: offset + k, offset: offset + k]
                var_a, var_d, cov_ad = block[0, 0], np.diag(block)[1:], block[0, 1:]
                jac_a, jac_d = d / a**2, -1.0 / a
                var_b = jac_a**2 * var_a + jac_d**2 * var_d + 2 * jac_a * jac_d * cov_ad
                se_a = None if fixed_slope else float(np.sqrt(max(var_a, 0.0)))
                se_d = tuple(float(x) for x in np.sqrt(np.maximum(var_d, 0.0)))
                se_b = tuple(float(x) for x in np.sqrt(np.maximum(var_b, 0.0)))
            out.append(ItemEstimate(self.items.names[j], a, tuple(float(x) for x in b),
                                    tuple(float(x) for x in d), se_a, se_b, se_d, self.category_values[j]))
            offset += k
        return out

    def information(self, theta: ArrayLike) -> FloatArray:
        return self.items.information(theta)

    def test_information(self, theta: ArrayLike) -> FloatArray:
        return self.items.test_information(theta)

    def encode(self, data: ArrayLike) -> IntArray:
        """Map raw values to this calibration's category codes (nearest known value; NaN → −1)."""
        matrix = as_response_matrix(data)
        if matrix.shape[1] != self.items.n_items:
            raise ValueError(f"expected {self.items.n_items} item columns, got {matrix.shape[1]}")
        codes = np.full(matrix.shape, -1, dtype=np.int64)
        for j, levels in enumerate(self.category_values):
            lv = np.asarray(levels)
            observed = ~np.isnan(matrix[:, j])
            codes[observed, j] = np.abs(matrix[observed, j][:, None] - lv[None, :]).argmin(axis=1)
        return codes

    def scores(self, data: ArrayLike, method: Literal["eap", "map"] = "eap") -> tuple[FloatArray, FloatArray]:
        """θ estimates and standard errors for raw response rows (EAP or MAP, N(0,1) prior)."""
        estimator: AbilityEstimator = EAPEstimator(self.quadrature) if method == "eap" else MAPEstimator()
        return estimator.estimate(self.items, self.encode(data))

    def item_fit(self, data: ArrayLike, weights: ArrayLike | None = None, min_expected: float = 1.0) -> list["ItemFit"]:
        """S-X² per item; a Rasch item counts one parameter, a 1PL item two (mirt counts
        the shared slope against every item), 2PL/GRM items K."""
        n_cat = self.items.n_categories
        n_parameters = n_cat - 1 if self.model == "rasch" else n_cat
        codes = self.encode(data)
        return s_x2(self.items, codes, weights=weights, quadrature=self.quadrature,
                    n_parameters=n_parameters, min_expected=min_expected)

    def as_dict(self) -> dict[str, object]:
        """The shape the command line prints (``b``/``se_b`` are lists for ``grm``)."""
        polytomous = self.model == "grm"
        items = []
        for est in self.estimates():
            items.append({
                "item": est.item,
                "a": est.a,
                "b": list(est.b) if polytomous else est.b[0],
                "se_a": est.se_a,
                "se_b": (list(est.se_b) if polytomous else est.se_b[0]) if est.se_b is not None else None,
                "d": list(est.d) if polytomous else est.d[0],
            })
            if polytomous:
                items[-1]["categories"] = list(est.categories)
        return {
            "model": self.model,
            "loglik": self.loglik,
            "n_persons": self.n_persons,
            "n_parameters": self.n_parameters,
            "aic": self.aic,
            "bic": self.bic,
            "converged": self.converged,
            "iterations": self.n_iterations,
            "items": items,
        }


def _starting_values(data: ResponseData, slope_mode: str) -> _State:
    """Slopes from item–rest correlations, intercepts from the cumulative proportions.

    A correlation r with the rest score is read as a loading λ ≈ 1.25 r (the
    point-biserial understates the biserial by about that much), whose logistic
    slope is 1.7 λ / √(1 − λ²); P(X ≥ k) = p marginally gives d ≈ logit(p)·√(1 + (a/1.7)²).
    Starting near the maximum saves EM steps; the maximum itself does not depend on it.
    """
    codes, w = data.codes, data.weights
    observed = codes >= 0
    scaled = np.where(observed, codes / np.maximum(data.n_categories - 1, 1)[None, :], 0.0)
    rest = scaled.sum(axis=1, keepdims=True) - scaled
    slopes = np.ones(data.n_items)
    if slope_mode != "fixed" and data.n_items > 2:
        total = np.maximum(np.sum(w[:, None] * observed, axis=0), 1.0)
        mean_x = np.sum(w[:, None] * scaled, axis=0) / total
        mean_r = np.sum(w[:, None] * rest * observed, axis=0) / total
        dx, dr = (scaled - mean_x) * observed, (rest - mean_r) * observed
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.sum(w[:, None] * dx * dr, axis=0) / np.sqrt(
                np.sum(w[:, None] * dx**2, axis=0) * np.sum(w[:, None] * dr**2, axis=0))
        loading = np.clip(np.nan_to_num(1.25 * r, nan=0.5), 0.1, 0.9)
        slopes = 1.7 * loading / np.sqrt(1 - loading**2)
        if slope_mode == "common":
            slopes = np.full(data.n_items, slopes.mean())
    k_max = int(data.n_categories.max())
    intercepts = np.full((data.n_items, k_max - 1), np.nan)
    for j in range(data.n_items):
        counts = np.bincount(codes[observed[:, j], j], weights=w[observed[:, j]],
                             minlength=int(data.n_categories[j]))
        upper_tail = 1.0 - np.cumsum(counts)[:-1] / counts.sum()
        upper_tail = np.clip(upper_tail, 1e-3, 1 - 1e-3)
        d = np.log(upper_tail / (1 - upper_tail)) * math.sqrt(1 + (slopes[j] / 1.7) ** 2)
        d = d - np.arange(d.size) * 1e-3                                    # strictly decreasing
        intercepts[j, : d.size] = d
    return _State(slopes, intercepts)


def calibrate(data: ArrayLike | ResponseData, model: ModelName = "2pl", *,
              weights: ArrayLike | None = None, item_names: Sequence[str] | None = None,
              quadrature: Quadrature | None = None, max_iterations: int = 2000,
              tolerance: float = 1e-3, standard_errors: bool = True) -> Calibration:
    """Fit ``model`` by marginal maximum likelihood (EM over quadrature).

    ``data`` is persons × items with NaN for missing answers (ignorable missingness:
    a missing answer simply contributes nothing to that person's likelihood);
    ``weights`` are pattern frequencies. Dichotomous models need 0/1 data; ``grm``
    recodes each item's observed values to consecutive categories.

    EM (accelerated by SQUAREM) stops when an EM step moves no parameter more than
    ``tolerance`` (mirt's default is 1e-4; here Newton steps follow); Newton steps
    on the marginal log-likelihood then take the estimates to the maximum
    (gradient ≈ 0), and Louis' observed information there gives the covariance
    matrix (not computed with ``standard_errors=False``). ``n_iterations`` counts
    EM steps.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}")
    if isinstance(data, ResponseData):
        prepared = data
    else:
        matrix = as_response_matrix(data)
        if model != "grm":
            observed = matrix[~np.isnan(matrix)]
            if observed.size and not np.all((observed == 0) | (observed == 1)):
                raise ValueError(f"the {model} model needs 0/1 responses; use grm for polytomous items")
        prepared = ResponseData.from_matrix(matrix, weights, item_names)
    few = [prepared.names[j] for j in np.nonzero(prepared.n_categories < 2)[0]]
    if few:
        raise ValueError(f"items with fewer than two observed categories cannot be calibrated: {', '.join(few)}")
    if model != "grm" and np.any(prepared.n_categories != 2):
        raise ValueError(f"the {model} model is for dichotomous items")
    if prepared.n_persons <= 0:
        raise ValueError("no responses to calibrate")
    slope_mode = {"rasch": "fixed", "1pl": "common", "2pl": "free", "grm": "free"}[model]
    engine = _MarginalModel(prepared, slope_mode, quadrature or Quadrature.fixed())
    state = _starting_values(prepared, slope_mode)

    state, converged, iteration = _accelerated_em(engine, state, prepared.names, tolerance, max_iterations)
    state, loglik, covariance, gradient_norm = _newton_finish(engine, state, prepared.names, standard_errors)
    return Calibration(
        model=model,
        items=state.items(prepared.names),
        loglik=loglik,
        converged=converged,
        n_iterations=iteration,
        n_persons=prepared.n_persons,
        category_values=prepared.category_values,
        quadrature=engine.quadrature,
        parameter_names=tuple(engine.free_names()),
        covariance=covariance,
        gradient_norm=gradient_norm,
        _transform=engine.transform,
    )


def _accelerated_em(engine: _MarginalModel, state: _State, names: tuple[str, ...],
                    tolerance: float, max_iterations: int) -> tuple[_State, bool, int]:
    """EM steps, extrapolated by SQUAREM (Varadhan & Roland 2008, scheme S3).

    Two EM steps from θ0 give r = θ1 − θ0 and v = θ2 − θ1 − r; the extrapolated
    point θ0 − 2αr + α²v with α = −‖r‖/‖v‖ (at most −1, where it equals θ2) jumps
    along the path EM is crawling, and one more EM step from it stabilises the
    result. An extrapolation that is invalid (disordered thresholds) or less
    likely than θ1 is dropped for θ2. Returns the state, whether successive EM
    steps moved no parameter more than ``tolerance``, and the number of EM steps.
    """
    iterations = 0

    def em_step(current: _State, counts: tuple[float, FloatArray] | None = None) -> tuple[float, _State, float]:
        nonlocal iterations
        iterations += 1
        loglik, expected = counts or engine.em_counts(current.items(names))
        moved = engine.m_step(current, expected)
        return loglik, moved, _largest_change(current, moved)

    while iterations < max_iterations:
        _, first, change = em_step(state)
        if change < tolerance:
            return first, True, iterations
        loglik_first, second, change = em_step(first)
        if change < tolerance:
            return second, True, iterations
        r = engine.pack(first) - engine.pack(state)
        v = engine.pack(second) - engine.pack(first) - r
        alpha = min(-float(np.linalg.norm(r) / max(np.linalg.norm(v), 1e-300)), -1.0)
        jumped = engine.unpack(engine.pack(state) - 2 * alpha * r + alpha**2 * v, state)
        if not (engine._ordered(jumped).all() and np.all(np.isfinite(jumped.slopes))):
            jumped = second
        counts = None if jumped is second else engine.em_counts(jumped.items(names))
        if counts is not None and not counts[0] >= loglik_first:
            jumped, counts = second, None        # the extrapolation lost likelihood (or reached NaN)
        _, state, change = em_step(jumped, counts)
        if change < tolerance:
            return state, True, iterations
    return state, False, iterations


def _largest_change(old: _State, new: _State) -> float:
    return max(float(np.max(np.abs(new.slopes - old.slopes))),
               float(np.nanmax(np.abs(new.intercepts - old.intercepts))))


def _newton_finish(engine: _MarginalModel, state: _State, names: tuple[str, ...], standard_errors: bool,
                   max_steps: int = 20) -> tuple[_State, float, FloatArray | None, float]:
    """Polish the EM estimate by Newton steps on the marginal log-likelihood.

    The exact gradient is recomputed at every step. The first steps are steered by
    the cheap cross-product (XPD) information; Louis' exact observed information
    takes over once a step is below ``_EXACT_WITHIN``, or as soon as a step is not
    at most half the one before, and from there the steps shrink quadratically. A step
    that would lower the likelihood is halved (up to four times).

    The covariance matrix is the inverse of Louis' information at the final
    estimate, or at an earlier one less than ``_EXACT_WITHIN`` away from it:
    standard errors then differ by a relative amount of that order, far below
    the precision they are reported with.
    """
    loglik, posterior, expected = engine.e_step(state.items(names))
    grad = engine.gradient(state, expected)
    steer = engine.cross_product_information(state, posterior)
    info: FloatArray | None = None
    info_at = engine.pack(state)                # where ``info`` was computed

    def louis() -> None:
        nonlocal grad, info, info_at, steer
        grad, info = engine.observed_information(state, posterior, expected)
        info_at, steer = engine.pack(state), info

    previous_size = math.inf
    for _ in range(max_steps):
        step, accepted = _solve(steer, grad), False
        for _halving in range(5):
            if step is None:
                break
            candidate = engine.unpack(engine.pack(state) + step, state)
            if engine._ordered(candidate).all():
                new_loglik, new_post, new_expected = engine.e_step(candidate.items(names))
                if new_loglik >= loglik - 1e-9 * abs(loglik):
                    state, loglik, posterior, expected = candidate, new_loglik, new_post, new_expected
                    grad = engine.gradient(state, expected)
                    accepted = True
                    break
            step = step / 2
        size = float(np.max(np.abs(step))) if step is not None else math.inf
        if accepted and (size < 1e-7 or _predicted_step_below(steer, grad, 1e-7)):
            break
        if not accepted and info is not None and np.array_equal(info_at, engine.pack(state)):
            break                               # not even the exact information improves: at the maximum
        slow = size > 0.5 * previous_size       # the cross-product information steers poorly here
        if not accepted or (info is None and (size < _EXACT_WITHIN or slow)):
            louis()
        previous_size = size
    covariance = None
    if standard_errors:
        if info is None or float(np.max(np.abs(engine.pack(state) - info_at))) > _EXACT_WITHIN:
            louis()
        covariance = _inverse_if_positive_definite(info)
    return state, loglik, covariance, float(np.max(np.abs(grad)))


# Louis' information is computed once a Newton step is smaller than this, and
# reused for the standard errors if the remaining steps move no parameter further.
_EXACT_WITHIN = 1e-4


def _predicted_step_below(matrix: FloatArray, grad: FloatArray, limit: float) -> bool:
    """Whether the next Newton step would move no parameter by ``limit``: the estimate is that close."""
    step = _solve(matrix, grad)
    return step is not None and float(np.max(np.abs(step))) < limit


def _solve(matrix: FloatArray, vector: FloatArray) -> FloatArray | None:
    try:
        step = np.linalg.solve(matrix, vector)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _inverse_if_positive_definite(info: FloatArray) -> FloatArray | None:
    try:
        return np.linalg.inv(info) if np.linalg.eigvalsh(info).min() > 0 else None
    except np.linalg.LinAlgError:
        return None


def marginal_loglik(items: ItemParameters, data: ArrayLike, weights: ArrayLike | None = None,
                    quadrature: Quadrature | None = None) -> float:
    """Marginal log-likelihood of 0-based category codes (NaN/−1 missing) under ``items``."""
    codes = _as_codes(data, items)
    prepared = ResponseData(codes, as_weights(weights, codes.shape[0]), items.n_categories,
                            tuple(tuple(float(k) for k in range(int(c))) for c in items.n_categories), items.names)
    engine = _MarginalModel(prepared, "free", quadrature or Quadrature.fixed())
    return engine.loglik(items)


def _as_codes(data: ArrayLike, items: ItemParameters) -> IntArray:
    matrix = np.asarray(data)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.dtype.kind in "iu":
        codes = matrix.astype(np.int64)
    else:
        values = as_response_matrix(matrix)
        filled = np.nan_to_num(values, nan=-1.0)
        if np.any(filled != np.round(filled)):
            raise ValueError("category codes must be whole numbers")
        codes = filled.astype(np.int64)
    if codes.shape[1] != items.n_items:
        raise ValueError(f"expected {items.n_items} item columns, got {codes.shape[1]}")
    if np.any(codes >= items.n_categories[None, :]) or np.any(codes < -1):
        raise ValueError("a response code is outside its item's categories")
    return codes


# --------------------------------------------------------------------------- person scores


class AbilityEstimator(ABC):
    """Strategy for estimating θ (with a standard error) from item responses."""

    @abstractmethod
    def estimate(self, items: ItemParameters, responses: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """θ̂ and SE for each row of 0-based category codes (−1 or NaN = not answered)."""


@dataclass(frozen=True)
class EAPEstimator(AbilityEstimator):
    """Expected a posteriori: posterior mean and SD over a quadrature grid.

    Always finite (even for all-correct patterns) and the natural choice for
    adaptive testing; shrinks towards the prior mean when few items are answered.
    """

    quadrature: Quadrature = field(default_factory=Quadrature.fixed)

    def log_posterior(self, items: ItemParameters, codes: IntArray) -> FloatArray:
        """Unnormalised log posterior on the grid, N × Q (one-hot rows times log P)."""
        layout = _Layout(items.n_categories)
        log_p = np.log(np.maximum(items.probabilities(self.quadrature.points), _TINY))[layout.valid]
        return layout.one_hot(codes) @ log_p + self.quadrature.log_weights[None, :]

    def estimate(self, items: ItemParameters, responses: ArrayLike) -> tuple[FloatArray, FloatArray]:
        codes = _as_codes(responses, items)
        log_post = self.log_posterior(items, codes)
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        t = self.quadrature.points
        mean = post @ t
        var = post @ t**2 - mean**2
        return mean, np.sqrt(np.maximum(var, 0.0))


@dataclass(frozen=True)
class MAPEstimator(AbilityEstimator):
    """Maximum a posteriori (posterior mode) by Newton–Raphson, all persons at once.

    The SE is 1/√(observed information at the mode), prior included: what a
    psychologist expects next to a modal estimate.
    """

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    max_iterations: int = 50
    tolerance: float = 1e-8

    def _derivatives(self, items: ItemParameters, codes: IntArray, theta: FloatArray):
        upper, lower = items.cumulative(theta)                          # J × (K+1) × N
        p = np.where(upper[:, 1:] > 0.5, lower[:, 1:] - lower[:, :-1], upper[:, :-1] - upper[:, 1:])
        w = upper * lower
        v = w * (lower - upper)                                          # W(1 − 2P*)
        a = items.slopes[:, None, None]
        dp = a * (w[:, :-1] - w[:, 1:])
        d2p = a**2 * (v[:, :-1] - v[:, 1:])
        n = theta.size
        person = np.arange(n)[None, :]
        item = np.arange(items.n_items)[:, None]
        answered = (codes >= 0).T                                        # J × N
        k = np.where(codes < 0, 0, codes).T
        p_x = np.maximum(p[item, k, person], _TINY)
        loglik = np.where(answered, np.log(p_x), 0.0).sum(axis=0)
        g = np.where(answered, dp[item, k, person] / p_x, 0.0)
        h = np.where(answered, d2p[item, k, person] / p_x, 0.0) - g**2
        z = (theta - self.prior_mean) / self.prior_sd
        log_post = loglik - 0.5 * z**2
        return log_post, g.sum(axis=0) - z / self.prior_sd, h.sum(axis=0) - 1.0 / self.prior_sd**2

    def estimate(self, items: ItemParameters, responses: ArrayLike) -> tuple[FloatArray, FloatArray]:
        codes = _as_codes(responses, items)
        theta, _ = EAPEstimator(Quadrature.fixed(61, 6.0, self.prior_mean, self.prior_sd)).estimate(items, codes)
        value, grad, hess = self._derivatives(items, codes, theta)
        for _ in range(self.max_iterations):
            step = -grad / np.minimum(hess, -1e-8)
            step = np.clip(step, -1.0, 1.0)
            candidate = theta + step
            new_value, new_grad, new_hess = self._derivatives(items, codes, candidate)
            worse = new_value < value - 1e-12
            tries = 0
            while worse.any() and tries < 20:
                step = np.where(worse, step / 2, step)
                candidate = theta + step
                new_value, new_grad, new_hess = self._derivatives(items, codes, candidate)
                worse = new_value < value - 1e-12
                tries += 1
            theta, value, grad, hess = candidate, new_value, new_grad, new_hess
            if float(np.max(np.abs(step))) < self.tolerance:
                break
        se = 1.0 / np.sqrt(np.maximum(-hess, 1e-12))
        return theta, se


def eap_scores(items: ItemParameters, responses: ArrayLike,
               quadrature: Quadrature | None = None) -> tuple[FloatArray, FloatArray]:
    """EAP θ̂ and posterior SD for 0-based category codes (convenience wrapper)."""
    return EAPEstimator(quadrature or Quadrature.fixed()).estimate(items, responses)


def map_scores(items: ItemParameters, responses: ArrayLike,
               prior_mean: float = 0.0, prior_sd: float = 1.0) -> tuple[FloatArray, FloatArray]:
    """MAP θ̂ and SE for 0-based category codes (convenience wrapper)."""
    return MAPEstimator(prior_mean, prior_sd).estimate(items, responses)


# --------------------------------------------------------------------------- item fit


@dataclass(frozen=True)
class ItemFit:
    """Orlando–Thissen S-X² for one item (Kang–Chen generalisation for polytomous items)."""

    item: str
    statistic: float
    df: int
    p_value: float
    rmsea: float
    n_groups: int


def summed_score_likelihoods(items: ItemParameters, theta: FloatArray) -> FloatArray:
    """Lord–Wingersky recursion: P(summed score = s | θ), (S_max + 1) × T."""
    p = items.probabilities(theta)
    n_cat = items.n_categories
    dist = np.ones((1, theta.size))
    for j in range(items.n_items):
        k = int(n_cat[j])
        new = np.zeros((dist.shape[0] + k - 1, theta.size))
        for c in range(k):
            new[c: c + dist.shape[0]] += dist * p[j, c][None, :]
        dist = new
    return dist


def s_x2(items: ItemParameters, codes: ArrayLike, *, weights: ArrayLike | None = None,
         quadrature: Quadrature | None = None, n_parameters: ArrayLike | None = None,
         min_expected: float = 1.0) -> list[ItemFit]:
    """S-X² item fit (Orlando & Thissen 2000; Kang & Chen 2008 for graded items).

    Persons are grouped by summed score; within each group the observed category
    proportions of an item are compared with those the model implies given the
    summed score, using the Lord–Wingersky likelihoods of the rest score. Sparse
    groups are merged as mirt does (:func:`_collapse_score_groups`, minimum expected
    count ``min_expected`` = 1); df = cells − groups − the item's parameters
    (``n_parameters``, default K: a slope and K − 1 intercepts), mirt's count.
    Needs complete data: summed scores are undefined with missing answers.
    """
    from scipy import stats  # only item fit needs it; keeps importing the module (and the web app) light

    matrix = _as_codes(codes, items)
    if np.any(matrix < 0):
        raise ValueError("S-X² needs complete response patterns (drop rows with missing answers)")
    w = as_weights(weights, matrix.shape[0])
    quad = quadrature or Quadrature.fixed()
    theta, prior = quad.points, quad.weights
    n_cat = items.n_categories
    total = matrix.sum(axis=1)
    s_max = int((n_cat - 1).sum())
    n_parameters = n_cat.copy() if n_parameters is None else np.broadcast_to(np.asarray(n_parameters), n_cat.shape)
    full = summed_score_likelihoods(items, theta)                        # (S+1) × T
    marginal = full @ prior                                              # P(S = s)
    p = items.probabilities(theta)
    results: list[ItemFit] = []
    for j in range(items.n_items):
        k = int(n_cat[j])
        rest = summed_score_likelihoods(items.subset([i for i in range(items.n_items) if i != j]), theta)
        expected_prop = np.zeros((s_max + 1, k))
        for c in range(k):
            expected_prop[c: c + rest.shape[0], c] = (p[j, c][None, :] * rest) @ prior
        with np.errstate(divide="ignore", invalid="ignore"):
            expected_prop = np.where(marginal[:, None] > 0, expected_prop / marginal[:, None], 0.0)
        observed = np.zeros((s_max + 1, k))
        np.add.at(observed, (total, matrix[:, j]), w)
        group_n = observed.sum(axis=1)
        # summed scores that fix the item's answer carry no information: the two extremes
        keep = np.arange(s_max + 1)
        keep = keep[(keep > 0) & (keep < s_max)]
        obs = observed[keep]
        exp = expected_prop[keep] * group_n[keep, None]
        obs, exp = _collapse_score_groups(obs, exp, min_expected)
        cells = exp > 0
        statistic = float(np.sum(np.where(cells, (obs - exp) ** 2 / np.where(cells, exp, 1.0), 0.0)))
        df = int(cells.sum() - obs.shape[0] - n_parameters[j])
        n_total = float(w.sum())
        if df > 0:
            p_value = float(stats.chi2.sf(statistic, df))
            rmsea = float(math.sqrt(max((statistic - df) / (df * (n_total - 1)), 0.0)))
        else:
            p_value, rmsea = float("nan"), float("nan")
        results.append(ItemFit(items.names[j], statistic, df, p_value, rmsea, int(obs.shape[0])))
    return results


def _collapse_score_groups(obs: FloatArray, exp: FloatArray, min_expected: float) -> tuple[FloatArray, FloatArray]:
    """Merge summed-score groups the way mirt's ``collapseCells`` merges rows.

    Empty groups are dropped; a group holding a single person joins the next one
    (the last such group the previous one); then, while any expected cell count is
    positive but below ``min_expected``, the first such group joins its neighbour
    with fewer people (the first group joins the second, the last the one before).
    mirt also collapses categories *within* a group for polytomous items; that
    step is not done here, so polytomous statistics and df can differ from mirt's.
    """
    keep = obs.sum(axis=1) > 0
    o_rows = [row.copy() for row in obs[keep]]
    e_rows = [row.copy() for row in exp[keep]]

    def merge(source: int, target: int) -> None:
        o_row, e_row = o_rows.pop(source), e_rows.pop(source)
        target = target - 1 if target > source else target
        o_rows[target] = o_rows[target] + o_row
        e_rows[target] = e_rows[target] + e_row

    i = 0
    while i < len(o_rows) - 1:
        if o_rows[i].sum() == 1:
            merge(i, i + 1)
        else:
            i += 1
    if len(o_rows) > 1 and o_rows[-1].sum() == 1:
        merge(len(o_rows) - 1, len(o_rows) - 2)

    def sparse(row: FloatArray) -> bool:
        return bool(np.any((row < min_expected) & (row != 0)))

    while len(e_rows) > 1:
        which = next((i for i, row in enumerate(e_rows) if sparse(row)), None)
        if which is None:
            break
        if which == 0:
            target = 1
        elif which == len(e_rows) - 1:
            target = which - 1
        else:
            target = which - 1 if o_rows[which - 1].sum() <= o_rows[which + 1].sum() else which + 1
        merge(which, target)
    return np.array(o_rows), np.array(e_rows)
