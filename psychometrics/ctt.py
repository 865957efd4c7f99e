"""Classical test theory: reliability and item analysis, computed as R's psych does.

Missing answers are handled pairwise, like ``psych::alpha(use = "pairwise")``:
every covariance uses the people who answered both items (with means taken over
those same people, as R's ``cov(use = "pairwise")``), alpha and its relatives come
from that covariance matrix, and the total score of a person is the mean of the
items they answered. Reverse-keyed items are rescored as ``max + min − x`` where,
unless given, ``min``/``max`` are the lowest and highest values observed anywhere in
the analysed items (psych's rule, which keeps a reversed 1–6 item on 1–6 even if
nobody used a 6 on that item).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from psychometrics._arrays import FloatArray, IntArray, as_response_matrix, item_names


# --------------------------------------------------------------------------- basics


def _column_indices(columns: Sequence[int] | Sequence[str] | None, names: Sequence[str],
                    n_items: int) -> IntArray:
    if columns is None:
        return np.arange(n_items)
    idx = []
    for column in columns:
        if isinstance(column, (int, np.integer)):
            if not 0 <= int(column) < n_items:
                raise ValueError(f"column index {column} is out of range")
            idx.append(int(column))
        else:
            if column not in names:
                raise ValueError(f"unknown item {column!r}")
            idx.append(list(names).index(column))
    return np.asarray(idx, dtype=np.int64)


def reverse_key(data: ArrayLike, columns: Sequence[int] | Sequence[str] | None = None, *,
                names: Sequence[str] | None = None, low: float | None = None,
                high: float | None = None) -> FloatArray:
    """Rescore ``columns`` as ``high + low − x`` (missing stays missing).

    ``low``/``high`` default to the observed range over the whole matrix (psych);
    pass the scale's range (e.g. 1 and 5) to make the rescoring independent of
    the sample. Applying it twice with the same range returns the data.
    """
    matrix = as_response_matrix(data).copy()
    labels = item_names(names, matrix.shape[1])
    idx = _column_indices(columns, labels, matrix.shape[1])
    if idx.size == 0:
        return matrix
    if low is None or high is None:
        observed_low, observed_high = _observed_range(matrix)
        if math.isnan(observed_low):
            return matrix
        low = observed_low if low is None else low
        high = observed_high if high is None else high
    matrix[:, idx] = high + low - matrix[:, idx]
    return matrix


def _observed_range(matrix: FloatArray) -> tuple[float, float]:
    """Smallest and largest observed value (NaN, NaN if nothing is observed)."""
    if np.isnan(matrix).all():
        return float("nan"), float("nan")
    return float(np.nanmin(matrix)), float(np.nanmax(matrix))


def pairwise_covariance(data: ArrayLike) -> tuple[FloatArray, IntArray]:
    """Pairwise-complete covariance matrix (n − 1 denominator) and pair counts.

    Identical to R's ``cov(x, use = "pairwise.complete.obs")``: for each pair the
    means are those of the people who answered both. Pairs with fewer than two
    people get NaN.
    """
    matrix = as_response_matrix(data)
    mask = (~np.isnan(matrix)).astype(float)
    x = np.nan_to_num(matrix)
    counts = mask.T @ mask                                  # n_jk
    sums = x.T @ mask                                       # Σ x_j over rows where k is observed
    products = x.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (products - sums * sums.T / counts) / (counts - 1)
    cov = np.where(counts >= 2, cov, np.nan)
    return cov, counts.astype(np.int64)


def covariance_to_correlation(cov: FloatArray) -> FloatArray:
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


# --------------------------------------------------------------------------- alpha


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with Feldt's confidence interval and psych's companions."""

    alpha: float
    lower: float
    upper: float
    confidence: float
    std_alpha: float
    average_r: float
    ase: float
    n_obs: int
    n_items: int

    @property
    def interval(self) -> tuple[float, float]:
        return (self.lower, self.upper)


def alpha_from_covariance(cov: FloatArray) -> float:
    """α = k/(k − 1) · (1 − tr C / ΣC)."""
    k = cov.shape[0]
    if k < 2:
        raise ValueError("alpha needs at least two items")
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def feldt_interval(alpha: float, n_obs: int, n_items: int, confidence: float = 0.95) -> tuple[float, float]:
    """Feldt (1965; Feldt, Woodruff & Salih 1987) interval from (1 − α̂)/(1 − α) ~ F.

    With n people and k items, (1 − α)/(1 − α̂) follows F(n − 1, (n − 1)(k − 1)),
    giving ``1 − (1 − α̂)·F_{1−γ/2}`` and ``1 − (1 − α̂)·F_{γ/2}`` (psych's alpha.ci).
    """
    if n_obs < 2 or n_items < 2:
        raise ValueError("Feldt's interval needs at least two people and two items")
    df1, df2 = n_obs - 1, (n_obs - 1) * (n_items - 1)
    tail = (1.0 - confidence) / 2.0
    lower = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - tail, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.ppf(tail, df1, df2)
    return float(lower), float(upper)


def _alpha_ase(cov: FloatArray, n_obs: int) -> float:
    """Duhachek & Iacobucci's asymptotic SE of alpha (psych's ``ase``)."""
    k = cov.shape[0]
    total = cov.sum()
    cc = cov @ cov
    q = (2 * k**2 / ((k - 1) ** 2 * total**3)) * (total * (np.trace(cc) + np.trace(cov) ** 2)
                                                   - 2 * np.trace(cov) * cc.sum())
    return float(math.sqrt(max(q, 0.0) / n_obs))


def _prepare(data: ArrayLike, reverse: Sequence[int] | Sequence[str] | None,
             names: Sequence[str] | None, low: float | None, high: float | None) -> tuple[FloatArray, tuple[str, ...]]:
    matrix = as_response_matrix(data)
    labels = item_names(names, matrix.shape[1])
    if reverse:
        matrix = reverse_key(matrix, reverse, names=labels, low=low, high=high)
    return matrix, labels


def _checked_covariance(matrix: FloatArray, labels: Sequence[str]) -> FloatArray:
    cov, _ = pairwise_covariance(matrix)
    if np.isnan(cov).any():
        bad = sorted({labels[i] for i in np.argwhere(np.isnan(cov))[:, 0]})
        raise ValueError(f"too few people answered these items together: {', '.join(bad)}")
    flat = [labels[i] for i in np.nonzero(np.diag(cov) <= 0)[0]]
    if flat:
        raise ValueError(f"items without variance cannot enter reliability: {', '.join(flat)}")
    return cov


def cronbach_alpha(data: ArrayLike, reverse: Sequence[int] | Sequence[str] | None = None, *,
                   names: Sequence[str] | None = None, confidence: float = 0.95,
                   low: float | None = None, high: float | None = None) -> AlphaResult:
    """Cronbach's alpha from pairwise covariances, with Feldt's interval (n = rows)."""
    matrix, labels = _prepare(data, reverse, names, low, high)
    cov = _checked_covariance(matrix, labels)
    return _alpha_result(cov, matrix.shape[0], confidence)


def _alpha_result(cov: FloatArray, n_obs: int, confidence: float) -> AlphaResult:
    k = cov.shape[0]
    alpha = alpha_from_covariance(cov)
    corr = covariance_to_correlation(cov)
    sum_r = corr.sum()
    lower, upper = feldt_interval(alpha, n_obs, k, confidence)
    return AlphaResult(
        alpha=alpha, lower=lower, upper=upper, confidence=confidence,
        std_alpha=float(k / (k - 1) * (1 - k / sum_r)),
        average_r=float((sum_r - k) / (k * (k - 1))),
        ase=_alpha_ase(cov, n_obs), n_obs=int(n_obs), n_items=k,
    )


# --------------------------------------------------------------------------- omega


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega total from a one-factor model, with the fitted loadings."""

    omega: float
    loadings: FloatArray
    uniquenesses: FloatArray
    basis: str
    method: str = "minres"


def one_factor_minres(matrix: FloatArray) -> FloatArray:
    """Loadings λ minimising Σ_{i<j} (s_ij − λ_i λ_j)² (unweighted least squares).

    This is the "minres" (minimum residual) solution psych's ``fa`` uses by
    default: only off-diagonal elements are fitted, so the diagonal (communality
    plus uniqueness) is free and no uniqueness can be forced negative by the fit.
    Started from the first principal axis with squared multiple correlations on
    the diagonal; solved by scipy's Levenberg–Marquardt with the exact Jacobian.
    """
    k = matrix.shape[0]
    if k < 3:
        raise ValueError("a one-factor model needs at least three items")
    upper_i, upper_j = np.triu_indices(k, 1)
    target = matrix[upper_i, upper_j]
    reduced = matrix.copy()
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(covariance_to_correlation(matrix)))
    except np.linalg.LinAlgError:
        smc = np.full(k, 0.5)
    np.fill_diagonal(reduced, smc * np.diag(matrix))
    values, vectors = np.linalg.eigh(reduced)
    start = vectors[:, -1] * math.sqrt(max(values[-1], 1e-6))
    if start.sum() < 0:
        start = -start

    def residuals(lam: FloatArray) -> FloatArray:
        return lam[upper_i] * lam[upper_j] - target

    def jacobian(lam: FloatArray) -> FloatArray:
        jac = np.zeros((target.size, k))
        rows = np.arange(target.size)
        jac[rows, upper_i] = lam[upper_j]
        jac[rows, upper_j] = lam[upper_i]
        return jac

    fit = optimize.least_squares(residuals, start, jac=jacobian, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    loadings = fit.x
    return loadings if loadings.sum() >= 0 else -loadings


def omega_total(data: ArrayLike, reverse: Sequence[int] | Sequence[str] | None = None, *,
                names: Sequence[str] | None = None, basis: str = "correlation",
                low: float | None = None, high: float | None = None) -> OmegaResult:
    """McDonald's ω_total = 1 − Σψ / 1ᵀS1 under a one-factor model.

    S is the pairwise correlation matrix (``basis="correlation"``, psych's
    ``omega()`` default) or covariance matrix (``basis="covariance"``, psych's
    ``covar=TRUE``); the factor is fitted by minres (:func:`one_factor_minres`),
    ψ_i = s_ii − λ_i² are the uniquenesses, and the denominator is the observed
    variance of the total score, as in psych, so a badly fitting one-factor model
    is not rewarded by its own implied variance.
    """
    if basis not in ("correlation", "covariance"):
        raise ValueError("basis must be 'correlation' or 'covariance'")
    matrix, labels = _prepare(data, reverse, names, low, high)
    cov = _checked_covariance(matrix, labels)
    s = covariance_to_correlation(cov) if basis == "correlation" else cov
    loadings = one_factor_minres(s)
    uniquenesses = np.diag(s) - loadings**2
    omega = float(1.0 - uniquenesses.sum() / s.sum())
    return OmegaResult(omega, loadings, uniquenesses, basis)


def standard_error_of_measurement(sd_total: float, reliability: float) -> float:
    """SEM = SD · √(1 − reliability), in the units of the score whose SD is given."""
    return float(sd_total * math.sqrt(max(1.0 - reliability, 0.0)))


# --------------------------------------------------------------------------- item analysis


@dataclass(frozen=True)
class ItemStatistics:
    """One row of an item analysis (names follow psych where they exist)."""

    item: str
    n: int
    mean: float
    sd: float
    difficulty: float          # mean as a proportion of the item's range: p-value for 0/1 items
    r_total: float             # correlation with the total (psych raw.r)
    r_drop: float              # corrected item–total correlation (psych r.drop)
    alpha_if_deleted: float    # psych alpha.drop raw_alpha
    reversed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item, "n": self.n, "mean": self.mean, "sd": self.sd,
            "difficulty": self.difficulty, "r_total": self.r_total, "r_drop": self.r_drop,
            "alpha_if_deleted": self.alpha_if_deleted, "reversed": self.reversed,
        }


@dataclass(frozen=True)
class ReliabilityReport:
    """Alpha (with CI), omega, SEM and item statistics for one scale."""

    alpha: AlphaResult
    omega: OmegaResult | None
    sem: float
    total_mean: float
    total_sd: float
    items: tuple[ItemStatistics, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha.alpha,
            "alpha_ci": [self.alpha.lower, self.alpha.upper],
            "confidence": self.alpha.confidence,
            "std_alpha": self.alpha.std_alpha,
            "average_r": self.alpha.average_r,
            "omega": None if self.omega is None else self.omega.omega,
            "sem": self.sem,
            "n_obs": self.alpha.n_obs,
            "n_items": self.alpha.n_items,
            "total_mean": self.total_mean,
            "total_sd": self.total_sd,
            "items": [item.as_dict() for item in self.items],
        }


def item_analysis(data: ArrayLike, reverse: Sequence[int] | Sequence[str] | None = None, *,
                  names: Sequence[str] | None = None, confidence: float = 0.95,
                  low: float | None = None, high: float | None = None,
                  omega: bool = True) -> ReliabilityReport:
    """Reliability and per-item statistics in one pass over the pairwise covariances.

    ``sem`` is on the sum-score scale: √(1ᵀC1) · √(1 − α). ``total_mean`` and
    ``total_sd`` describe the person mean scores psych reports. ``difficulty`` is
    (mean − low)/(high − low) with the item range taken as for reverse keying.
    """
    matrix, labels = _prepare(data, reverse, names, low, high)
    n_obs, k = matrix.shape
    cov = _checked_covariance(matrix, labels)
    alpha = _alpha_result(cov, n_obs, confidence)

    # alpha if deleted, r.drop: closed forms on C with row/column i removed
    total_c = cov.sum()
    col = cov.sum(axis=0)
    diag = np.diag(cov)
    sum_drop = total_c - 2 * col + diag
    trace_drop = np.trace(cov) - diag
    if k > 2:
        alpha_drop = (k - 1) / (k - 2) * (1 - trace_drop / sum_drop)
    else:
        alpha_drop = np.full(k, np.nan)
    r_drop = (col - diag) / np.sqrt(diag * sum_drop)

    observed = ~np.isnan(matrix)
    mask = observed.astype(float)
    x = np.where(observed, matrix, 0.0)
    answered = mask.sum(axis=1)
    has_total = answered > 0
    person_mean = np.divide(x.sum(axis=1), answered, out=np.full(n_obs, np.nan), where=has_total)
    r_total = _pairwise_r_with(x, mask, np.where(has_total, person_mean, 0.0))
    counts = mask.sum(axis=0)
    means = np.divide(x.sum(axis=0), counts, out=np.full(k, np.nan), where=counts > 0)
    sds = np.sqrt(diag)
    observed_low, observed_high = _observed_range(matrix) if low is None or high is None else (low, high)
    lo = observed_low if low is None else low
    hi = observed_high if high is None else high
    difficulty = (means - lo) / (hi - lo) if hi > lo else np.full(k, np.nan)
    reversed_idx = set(_column_indices(reverse, labels, k).tolist()) if reverse else set()
    items = tuple(
        ItemStatistics(labels[j], int(counts[j]), float(means[j]), float(sds[j]), float(difficulty[j]),
                       float(r_total[j]), float(r_drop[j]), float(alpha_drop[j]), j in reversed_idx)
        for j in range(k)
    )
    omega_result = None
    if omega and k >= 3:
        s = covariance_to_correlation(cov)
        loadings = one_factor_minres(s)
        uniq = 1.0 - loadings**2
        omega_result = OmegaResult(float(1.0 - uniq.sum() / s.sum()), loadings, uniq, "correlation")
    totals = person_mean[has_total]
    return ReliabilityReport(
        alpha=alpha,
        omega=omega_result,
        sem=standard_error_of_measurement(math.sqrt(total_c), alpha.alpha),
        total_mean=float(totals.mean()) if totals.size else float("nan"),
        total_sd=float(totals.std(ddof=1)) if totals.size > 1 else float("nan"),
        items=items,
    )


def _pairwise_r_with(x: FloatArray, mask: FloatArray, total: FloatArray) -> FloatArray:
    """Correlation of every item with ``total`` over the people who answered that item.

    ``x`` has zeros where ``mask`` is 0; every answering person has a total, so the
    pairwise-complete rows of (item j, total) are exactly the rows answering j.
    All five sums per item are matrix–vector products: one pass over the data.
    """
    n = mask.sum(axis=0)
    sx, sxx = x.sum(axis=0), (x * x).sum(axis=0)
    st, stt, sxt = mask.T @ total, mask.T @ (total * total), x.T @ total
    cov = n * sxt - sx * st
    var = (n * sxx - sx**2) * (n * stt - st**2)
    return np.divide(cov, np.sqrt(np.maximum(var, 0.0)), out=np.full(n.shape, np.nan), where=(var > 0) & (n >= 2))


# --------------------------------------------------------------------------- distractors


@dataclass(frozen=True)
class OptionStatistics:
    option: str
    count: int
    proportion: float            # of the people who answered the item
    point_biserial: float | None  # choosing this option vs the rest score; None if nobody/everybody chose it
    is_key: bool


@dataclass(frozen=True)
class DistractorAnalysis:
    """How the options of one multiple-choice item worked.

    ``flags``: ``key_low_discrimination`` (key's point-biserial below 0.20),
    ``distractor_positive`` (a wrong option attracts the stronger candidates),
    ``distractor_rarely_chosen`` (a wrong option chosen by fewer than 5 %).
    """

    item: str
    key: str
    n: int
    difficulty: float
    options: tuple[OptionStatistics, ...]
    flags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item, "key": self.key, "n": self.n, "difficulty": self.difficulty,
            "flags": list(self.flags),
            "options": [
                {"option": o.option, "count": o.count, "proportion": o.proportion,
                 "point_biserial": o.point_biserial, "is_key": o.is_key}
                for o in self.options
            ],
        }


def distractor_analysis(choices: Sequence[Sequence[str | None]] | np.ndarray, keys: Sequence[str], *,
                        options: Sequence[Sequence[str]] | None = None,
                        names: Sequence[str] | None = None) -> list[DistractorAnalysis]:
    """Option proportions and option point-biserials for multiple-choice items.

    ``choices`` is persons × items of chosen option keys (``None`` or ``""`` =
    not answered); ``keys`` the correct key per item. The criterion is the rest
    score — number of keyed answers on the *other* items — so the key's own
    correlation is not inflated by counting the item in the total. Correlations use
    the people who answered the item.
    """
    grid = np.asarray(choices, dtype=object)
    if grid.ndim != 2:
        raise ValueError("choices must be persons × items")
    n_items = grid.shape[1]
    if len(keys) != n_items:
        raise ValueError(f"expected {n_items} keys, got {len(keys)}")
    labels = item_names(names, n_items)
    text = np.vectorize(lambda v: "" if v is None else str(v).strip(), otypes=[object])(grid)
    answered = text != ""
    correct = (text == np.asarray([str(k) for k in keys], dtype=object)[None, :]) & answered
    total = correct.sum(axis=1).astype(float)
    results = []
    for j in range(n_items):
        rows = answered[:, j]
        n = int(rows.sum())
        rest = total[rows] - correct[rows, j]
        listed = list(options[j]) if options is not None else sorted(set(text[rows, j].tolist()))
        if str(keys[j]) not in listed:
            listed.append(str(keys[j]))
        stats_j = []
        for option in listed:
            chose = (text[rows, j] == option).astype(float)
            count = int(chose.sum())
            stats_j.append(OptionStatistics(
                option=option, count=count, proportion=count / n if n else float("nan"),
                point_biserial=_point_biserial(chose, rest), is_key=option == str(keys[j])))
        key_stats = next(o for o in stats_j if o.is_key)
        flags = []
        if key_stats.point_biserial is not None and key_stats.point_biserial < 0.20:
            flags.append("key_low_discrimination")
        if any(not o.is_key and o.point_biserial is not None and o.point_biserial > 0 for o in stats_j):
            flags.append("distractor_positive")
        if any(not o.is_key and n and o.proportion < 0.05 for o in stats_j):
            flags.append("distractor_rarely_chosen")
        results.append(DistractorAnalysis(labels[j], str(keys[j]), n,
                                          key_stats.proportion, tuple(stats_j), tuple(flags)))
    return results


def _point_biserial(indicator: FloatArray, criterion: FloatArray) -> float | None:
    if indicator.size < 2:
        return None
    xi = indicator - indicator.mean()
    yc = criterion - criterion.mean()
    denom = math.sqrt(float(xi @ xi) * float(yc @ yc))
    if denom == 0:
        return None
    return float(xi @ yc / denom)
