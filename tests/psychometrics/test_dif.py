"""Mantel–Haenszel DIF against R's stats::mantelhaen.test and on simulated DIF."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psychometrics import dif
from psychometrics.simulation import random_items

ITEMS = ["C1", "C2", "C3", "C4", "C5", "E1", "E2", "E3", "E4", "E5"]


def bfi_dichotomised(bfi):
    """The data prepared exactly as make_psych_reference.R does."""
    header, data = bfi
    x = data[:, [header.index(i) for i in ITEMS]].copy()
    for item in ("C4", "C5", "E1", "E2"):
        x[:, ITEMS.index(item)] = 7 - x[:, ITEMS.index(item)]
    scored = np.where(np.isnan(x), np.nan, (x >= 4).astype(float))
    return scored, data[:, header.index("gender")]


def test_matches_r_mantelhaen_test(bfi, mh_reference):
    """Statistic (continuity-corrected), p, common odds ratio and its RBG 95 % interval to 1e-9."""
    scored, gender = bfi_dichotomised(bfi)
    results = dif.mantel_haenszel(scored, gender, 1.0, 2.0, names=ITEMS)
    assert results[0].n_reference + results[0].n_focal == mh_reference["n_persons"]
    z = 1.959963984540054
    for result in results:
        ref = mh_reference[result.item]
        assert result.chi_square == pytest.approx(ref["statistic"], abs=1e-9)
        assert result.p_value == pytest.approx(ref["p_value"], abs=1e-9)
        assert result.odds_ratio == pytest.approx(ref["odds_ratio"], abs=1e-9)
        lower = math.exp(result.log_odds_ratio - z * result.se_log_odds_ratio)
        upper = math.exp(result.log_odds_ratio + z * result.se_log_odds_ratio)
        assert (lower, upper) == pytest.approx((ref["ci_lower"], ref["ci_upper"]), abs=1e-9)
        assert result.delta == pytest.approx(-2.35 * math.log(ref["odds_ratio"]), abs=1e-9)


def test_swapping_groups_flips_the_sign_of_delta(bfi):
    scored, gender = bfi_dichotomised(bfi)
    forward = dif.mantel_haenszel(scored, gender, 1.0, 2.0, names=ITEMS)
    backward = dif.mantel_haenszel(scored, gender, 2.0, 1.0, names=ITEMS)
    for f, b in zip(forward, backward):
        assert f.delta == pytest.approx(-b.delta, abs=1e-9)
        assert f.chi_square == pytest.approx(b.chi_square, abs=1e-9)


def simulate_dif(shift: float, n: int = 3000, seed: int = 4):
    rng = np.random.default_rng(seed)
    items = random_items(20, 2, seed=seed)
    group = np.where(rng.random(n) < 0.5, "cadet", "officer")
    theta = rng.normal(size=n) + np.where(group == "officer", 0.5, 0.0)       # impact, not DIF
    upper, _ = items.cumulative(theta)
    p = upper[:, 1, :].T
    # item 0 is harder for the focal group (officers) at equal θ
    logit = np.log(p[:, 0] / (1 - p[:, 0])) - np.where(group == "officer", shift * items.slopes[0], 0.0)
    p[:, 0] = 1 / (1 + np.exp(-logit))
    return (rng.random(p.shape) < p).astype(float), group


def test_large_simulated_dif_is_category_c_and_favours_the_reference_group():
    responses, group = simulate_dif(1.0)
    results = dif.mantel_haenszel(responses, group, "cadet", "officer")
    assert results[0].category == "C" and results[0].flagged
    assert results[0].favours == "reference" and results[0].delta < -1.5
    others = [r.category for r in results[1:]]
    assert others.count("A") >= 17              # group impact alone is not DIF


def test_without_dif_items_are_category_a():
    responses, group = simulate_dif(0.0, seed=5)
    results = dif.mantel_haenszel(responses, group, "cadet", "officer")
    assert sum(r.category == "A" for r in results) >= 19
    assert all(abs(r.delta) < 1.5 for r in results)


def test_rejects_polytomous_items_and_mismatched_groups():
    with pytest.raises(ValueError, match="0/1"):
        dif.mantel_haenszel(np.array([[0, 2], [1, 1]]), ["a", "b"], "a", "b")
    with pytest.raises(ValueError, match="one group label per row"):
        dif.mantel_haenszel(np.array([[0, 1], [1, 1]]), ["a"], "a", "b")
