"""Seeded parameter recovery at realistic sample sizes, SE calibration, missing data and item fit.

Tolerances come from the sampling error at these sizes: with N = 3,000–5,000 the
SE of a slope is about 0.04–0.08 and of a threshold 0.03–0.08, so RMSEs of 0.08
(a) and 0.08–0.10 (b) leave room for sampling noise but not for bias.
"""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics import irt
from psychometrics.simulation import random_items, simulate_irt


def rmse(x, y):
    return float(np.sqrt(np.nanmean((np.asarray(x) - np.asarray(y)) ** 2)))


def test_2pl_recovery_5000_persons():
    truth = random_items(30, 2, seed=101)
    codes, _ = simulate_irt(truth, 5000, seed=102)
    result = irt.calibrate(codes, "2pl")
    b_hat = result.items.difficulties[:, 0]
    assert rmse(result.items.slopes, truth.slopes) < 0.08
    assert rmse(b_hat, truth.difficulties[:, 0]) < 0.08
    assert np.corrcoef(result.items.slopes, truth.slopes)[0, 1] > 0.95
    assert np.corrcoef(b_hat, truth.difficulties[:, 0])[0, 1] > 0.99
    assert abs(np.mean(result.items.slopes - truth.slopes)) < 0.03     # no systematic bias


def test_grm_recovery_3000_persons():
    truth = random_items(20, 5, seed=201)
    codes, _ = simulate_irt(truth, 3000, seed=202)
    result = irt.calibrate(codes, "grm")
    assert rmse(result.items.slopes, truth.slopes) < 0.08
    assert rmse(result.items.difficulties, truth.difficulties) < 0.10
    assert np.corrcoef(result.items.slopes, truth.slopes)[0, 1] > 0.95


def test_standard_errors_are_calibrated():
    """(estimate − truth)/SE over 40 slopes and 40 difficulties has SD ≈ 1 (0.75–1.3 allows for 80 draws)."""
    truth = random_items(40, 2, seed=301)
    codes, _ = simulate_irt(truth, 3000, seed=302)
    result = irt.calibrate(codes, "2pl")
    est = result.estimates()
    z_a = (result.items.slopes - truth.slopes) / np.array([e.se_a for e in est])
    z_b = (result.items.difficulties[:, 0] - truth.difficulties[:, 0]) / np.array([e.se_b[0] for e in est])
    z = np.concatenate([z_a, z_b])
    assert 0.75 < z.std() < 1.3
    assert abs(z.mean()) < 0.4


def test_rasch_and_1pl_recover_difficulties_and_common_slope():
    truth = irt.ItemParameters.from_irt(np.full(25, 1.4), np.linspace(-2, 2, 25))
    codes, _ = simulate_irt(truth, 4000, seed=401)
    one_pl = irt.calibrate(codes, "1pl")
    assert one_pl.items.slopes[0] == pytest.approx(1.4, abs=0.06)
    assert rmse(one_pl.items.difficulties[:, 0], truth.difficulties[:, 0]) < 0.06
    # the Rasch model (a = 1, θ ~ N(0,1)) absorbs a slope of 1.4 into a narrower scale: b shrinks by ~1/1.4
    rasch = irt.calibrate(codes, "rasch")
    ratio = np.polyfit(truth.difficulties[:, 0], rasch.items.difficulties[:, 0], 1)[0]
    assert ratio == pytest.approx(1.4, abs=0.1)
    assert one_pl.loglik > rasch.loglik                 # the nested model cannot fit better


def test_recovery_with_20_percent_missing_at_random():
    truth = random_items(20, 4, seed=501)
    codes, _ = simulate_irt(truth, 4000, seed=502)
    data = codes.astype(float)
    data[np.random.default_rng(503).random(data.shape) < 0.2] = np.nan
    result = irt.calibrate(data, "grm")
    assert rmse(result.items.slopes, truth.slopes) < 0.10
    assert rmse(result.items.difficulties, truth.difficulties) < 0.12


def test_eap_recovers_theta_and_reports_honest_se():
    truth = random_items(40, 2, seed=601)
    codes, theta = simulate_irt(truth, 3000, seed=602)
    est, se = irt.eap_scores(truth, codes)
    assert np.corrcoef(est, theta)[0, 1] > 0.9
    # the posterior SD is the right size on average: mean squared error ≈ mean posterior variance
    assert np.mean((est - theta) ** 2) == pytest.approx(np.mean(se**2), rel=0.15)
    map_est, map_se = irt.map_scores(truth, codes)
    assert np.corrcoef(map_est, est)[0, 1] > 0.99


def test_item_fit_flags_a_misfitting_item_only():
    """Item 0 is generated with guessing (a 3PL, c = .35); the 2PL cannot fit it and S-X² says so."""
    truth = random_items(20, 2, seed=701)
    rng = np.random.default_rng(702)
    theta = rng.normal(size=4000)
    codes = np.asarray(simulate_irt(truth, 4000, seed=703)[0])
    codes = np.stack([codes[:, j] for j in range(20)], axis=1)
    p_guess = 0.35 + 0.65 / (1 + np.exp(-2.0 * (theta - 0.8)))
    codes[:, 0] = (rng.random(4000) < p_guess).astype(int)
    # keep the rest of the test consistent with the same θ
    upper, _ = truth.cumulative(theta)
    codes[:, 1:] = (rng.random((4000, 19)) < upper[1:, 1, :].T).astype(int)
    result = irt.calibrate(codes, "2pl")
    fit = result.item_fit(codes)
    assert fit[0].p_value < 1e-4
    p_rest = np.array([f.p_value for f in fit[1:]])
    assert np.mean(p_rest < 0.01) <= 0.1                # well-fitting items are rarely flagged
    assert all(f.df > 0 for f in fit)


def test_item_fit_needs_complete_data():
    truth = random_items(5, 2, seed=1)
    codes, _ = simulate_irt(truth, 300, seed=2)
    result = irt.calibrate(codes, "2pl")
    data = codes.astype(float)
    data[0, 0] = np.nan
    with pytest.raises(ValueError, match="complete"):
        result.item_fit(data)


def test_calibration_is_deterministic():
    truth = random_items(10, 3, seed=9)
    codes, _ = simulate_irt(truth, 800, seed=10)
    first = irt.calibrate(codes, "grm")
    second = irt.calibrate(codes, "grm")
    np.testing.assert_array_equal(first.items.intercepts, second.items.intercepts)
    assert first.loglik == second.loglik
