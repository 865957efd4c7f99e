"""Differential item functioning: the Mantel–Haenszel screen for two groups.

People are matched on their total score; within each score stratum a 2 × 2 table
(group × right/wrong) is formed for the studied item. The common odds ratio
α_MH, its ETS delta (Δ = −2.35 ln α_MH), the continuity-corrected MH chi-square
(as R's ``mantelhaen.test``) and the Robins–Breslow–Greenland variance of ln α_MH
give the ETS A/B/C classification (Zwick 2012):

* **C** (large): |Δ| ≥ 1.5 and |Δ| significantly greater than 1 (one-sided 5 %),
* **A** (negligible): |Δ| < 1, or the MH chi-square not significant at 5 %,
* **B** (moderate): everything else.

α_MH > 1 (Δ < 0) means the item favours the reference group at equal total score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from psychometrics._arrays import FloatArray, as_response_matrix, item_names

ETS_SCALE = -2.35


@dataclass(frozen=True)
class MantelHaenszelResult:
    item: str
    odds_ratio: float
    log_odds_ratio: float
    se_log_odds_ratio: float
    delta: float
    se_delta: float
    chi_square: float
    p_value: float
    n_reference: int
    n_focal: int
    n_strata: int
    category: str
    favours: str | None

    @property
    def flagged(self) -> bool:
        """B and C items deserve a reviewer's look; A items do not."""
        return self.category in ("B", "C")

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item, "odds_ratio": self.odds_ratio, "delta": self.delta,
            "se_delta": self.se_delta, "chi_square": self.chi_square, "p_value": self.p_value,
            "n_reference": self.n_reference, "n_focal": self.n_focal, "category": self.category,
            "favours": self.favours,
        }


def mantel_haenszel(responses: ArrayLike, group: Sequence[Any] | np.ndarray, reference: Any, focal: Any, *,
                    names: Sequence[str] | None = None, matching: ArrayLike | None = None,
                    alpha: float = 0.05) -> list[MantelHaenszelResult]:
    """Mantel–Haenszel DIF statistics for every item of a 0/1 response matrix.

    ``group`` labels each row; rows in neither ``reference`` nor ``focal`` are
    ignored. The matching variable is the total of the items unless ``matching``
    is given; rows with a missing answer are dropped (a total over different items
    would not match like with like). Strata with fewer than two people carry no
    information and are skipped, as ``mantelhaen.test`` requires.
    """
    matrix = as_response_matrix(responses)
    labels = item_names(names, matrix.shape[1])
    groups = np.asarray(group, dtype=object)
    if groups.shape[0] != matrix.shape[0]:
        raise ValueError("one group label per row is needed")
    in_ref = groups == reference
    in_focal = groups == focal
    complete = ~np.isnan(matrix).any(axis=1)
    keep = (in_ref | in_focal) & complete
    observed = matrix[keep]
    if observed.size and not np.all((observed == 0) | (observed == 1)):
        raise ValueError("Mantel–Haenszel DIF here is for items scored 0/1")
    score = observed.sum(axis=1) if matching is None else np.asarray(matching, dtype=float)[keep]
    ref = in_ref[keep]
    strata, stratum = np.unique(score, return_inverse=True)
    results = []
    for j in range(matrix.shape[1]):
        right = observed[:, j] == 1
        a = np.bincount(stratum, weights=(ref & right), minlength=strata.size)       # reference right
        b = np.bincount(stratum, weights=(ref & ~right), minlength=strata.size)      # reference wrong
        c = np.bincount(stratum, weights=(~ref & right), minlength=strata.size)      # focal right
        d = np.bincount(stratum, weights=(~ref & ~right), minlength=strata.size)     # focal wrong
        results.append(_mh_item(labels[j], a, b, c, d, alpha, int(ref.sum()), int((~ref).sum())))
    return results


def _mh_item(name: str, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, alpha: float,
             n_ref: int, n_focal: int) -> MantelHaenszelResult:
    t = a + b + c + d
    use = t >= 2
    a, b, c, d, t = a[use], b[use], c[use], d[use], t[use]
    n_r, n_f, m1, m0 = a + b, c + d, a + c, b + d
    expected_a = n_r * m1 / t
    var_a = n_r * n_f * m1 * m0 / (t**2 * (t - 1))
    r_k, s_k = a * d / t, b * c / t
    p_k, q_k = (a + d) / t, (b + c) / t
    big_r, big_s = r_k.sum(), s_k.sum()
    if big_r <= 0 or big_s <= 0 or var_a.sum() <= 0:
        nan = float("nan")
        return MantelHaenszelResult(name, nan, nan, nan, nan, nan, nan, nan, n_ref, n_focal, int(use.sum()), "A", None)
    odds = float(big_r / big_s)
    log_odds = math.log(odds)
    var_log = float((p_k * r_k).sum() / (2 * big_r**2) + (p_k * s_k + q_k * r_k).sum() / (2 * big_r * big_s)
                    + (q_k * s_k).sum() / (2 * big_s**2))
    se_log = math.sqrt(var_log)
    diff = float(a.sum() - expected_a.sum())
    yates = min(0.5, abs(diff))
    chi2 = (abs(diff) - yates) ** 2 / float(var_a.sum())
    p_value = float(stats.chi2.sf(chi2, 1))
    delta = ETS_SCALE * log_odds
    se_delta = abs(ETS_SCALE) * se_log
    z_crit = stats.norm.ppf(1 - alpha)
    if abs(delta) < 1.0 or p_value >= alpha:
        category = "A"
    elif abs(delta) >= 1.5 and (abs(delta) - 1.0) / se_delta > z_crit:
        category = "C"
    else:
        category = "B"
    favours = None if category == "A" else ("reference" if delta < 0 else "focal")
    return MantelHaenszelResult(name, odds, log_odds, se_log, delta, se_delta, chi2, p_value,
                                n_ref, n_focal, int(use.sum()), category, favours)
