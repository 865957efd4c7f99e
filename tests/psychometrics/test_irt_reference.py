"""IRT calibration and scoring against published R mirt / ltm analyses of the LSAT data.

Tolerances: published values are printed to three decimals (mirt, after EM to
1e-4) or four (ltm, Gauss–Hermite 21 points); ours are the exact maxima, so the
slack is the rounding plus the other program's own convergence tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from psychometrics import irt

# R mirt, mirt(LSAT7, 1): slope–intercept estimates, log-likelihood −2658.805 (shared/reference/README.md
# and mirt's reference/LSAT7.md)
MIRT_LSAT7_A = [0.988, 1.081, 1.706, 0.765, 0.736]
MIRT_LSAT7_D = [1.856, 0.808, 1.804, 0.486, 1.855]


def test_lsat7_2pl_matches_mirt(lsat7):
    result = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    assert result.loglik == pytest.approx(-2658.805, abs=1e-3)
    np.testing.assert_allclose(result.items.slopes, MIRT_LSAT7_A, atol=2e-3)
    np.testing.assert_allclose(result.items.intercepts[:, 0], MIRT_LSAT7_D, atol=2e-3)
    assert result.aic == pytest.approx(5337.61, abs=1e-2)
    assert result.bic == pytest.approx(5386.688, abs=1e-2)
    assert result.converged and result.gradient_norm < 1e-4


def test_lsat7_2pl_standard_errors_agree_with_pypi_mirt(lsat7):
    """Cross-check: the PyPI ``mirt`` package (Oakes observed information), on the same data."""
    mirt = pytest.importorskip("mirt")
    x = np.repeat(lsat7[0], lsat7[1].astype(int), axis=0).astype(int)
    theirs = mirt.fit_mirt(x, model="2PL", verbose=False)
    ours = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    estimates = ours.estimates()
    np.testing.assert_allclose([e.se_a for e in estimates], theirs.standard_errors["discrimination"], atol=5e-3)
    np.testing.assert_allclose([e.se_b[0] for e in estimates], theirs.standard_errors["difficulty"], atol=5e-3)
    np.testing.assert_allclose([e.b[0] for e in estimates], theirs.model.parameters["difficulty"], atol=5e-3)
    assert ours.loglik == pytest.approx(theirs.log_likelihood, abs=1e-3)


def test_lsat6_2pl_matches_ltm(lsat6):
    """ltm::ltm(LSAT ~ z1), Gauss–Hermite 21 points: difficulties, discriminations, SEs and logLik."""
    result = irt.calibrate(lsat6[0], "2pl", weights=lsat6[1], quadrature=irt.Quadrature.gauss_hermite(21))
    est = result.estimates()
    assert result.loglik == pytest.approx(-2466.653, abs=1e-3)
    np.testing.assert_allclose([e.b[0] for e in est], [-3.3597, -1.3696, -0.2799, -1.8659, -3.1236], atol=3e-3)
    np.testing.assert_allclose([e.a for e in est], [0.8254, 0.7229, 0.8905, 0.6886, 0.6575], atol=1e-3)
    np.testing.assert_allclose([e.se_b[0] for e in est], [0.8669, 0.3073, 0.0997, 0.4341, 0.8700], atol=2e-3)
    np.testing.assert_allclose([e.se_a for e in est], [0.2581, 0.1867, 0.2326, 0.1852, 0.2100], atol=1e-3)


def test_lsat6_1pl_matches_mirt_and_ltm(lsat6):
    """mirt's LSAT6 example (CONSTRAIN = (1-5, a1)): a .755, d 2.730 .999 .240 1.307 2.100, logLik −2466.938.

    The same model is ltm's rasch(LSAT) and mirt's itemtype='Rasch' with a free
    latent variance (0.572 = .756²).
    """
    result = irt.calibrate(lsat6[0], "1pl", weights=lsat6[1])
    assert result.loglik == pytest.approx(-2466.938, abs=1e-3)
    np.testing.assert_allclose(result.items.slopes, 0.755, atol=1e-3)
    np.testing.assert_allclose(result.items.intercepts[:, 0], [2.730, 0.999, 0.240, 1.307, 2.100], atol=1.5e-3)
    assert result.items.slopes[0] ** 2 == pytest.approx(0.572, abs=2e-3)
    assert result.n_parameters == 6


def test_lsat6_rasch_agrees_with_pypi_mirt_and_girth(lsat6):
    """a = 1, θ ~ N(0, 1) (ltm's constrained rasch): cross-checked with PyPI mirt's unit-slope 1PL and girth."""
    result = irt.calibrate(lsat6[0], "rasch", weights=lsat6[1])
    np.testing.assert_array_equal(result.items.slopes, 1.0)
    b = np.array([e.b[0] for e in result.estimates()])
    mirt = pytest.importorskip("mirt")
    x = np.repeat(lsat6[0], lsat6[1].astype(int), axis=0).astype(int)
    theirs = mirt.fit_mirt(x, model="1PL", verbose=False)
    np.testing.assert_allclose(b, theirs.model.parameters["difficulty"], atol=1e-3)
    assert result.loglik == pytest.approx(theirs.log_likelihood, abs=1e-3)
    girth = pytest.importorskip("girth")
    # girth integrates over ±4.5 with 41 points: its easiest item moves by 0.02
    np.testing.assert_allclose(b, girth.rasch_mml(x.T, discrimination=1.0)["Difficulty"], atol=0.03)
    assert all(e.se_a is None for e in result.estimates())


def test_lsat6_1pl_s_x2_matches_mirt(lsat6):
    """mirt itemfit(mod) for the LSAT6 1PL: S_X2 .436 1.576 .871 .190 .190, df 2 2 1 2 2."""
    result = irt.calibrate(lsat6[0], "1pl", weights=lsat6[1])
    fit = result.item_fit(lsat6[0], weights=lsat6[1])
    np.testing.assert_allclose([f.statistic for f in fit], [0.436, 1.576, 0.871, 0.190, 0.190], atol=2e-3)
    assert [f.df for f in fit] == [2, 2, 1, 2, 2]
    np.testing.assert_allclose([f.p_value for f in fit], [0.804, 0.455, 0.351, 0.909, 0.909], atol=2e-3)


def test_lsat7_2pl_s_x2_matches_mirt(lsat7):
    """mirt's createItem example (LSAT7 2PL): S_X2 4.750 14.441 1.266 5.241 0.941, df 2, RMSEA .037 .079 0 .040 0.

    That fit had a3 = 1.703 rather than 1.706, hence 0.015 of slack.
    """
    result = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    fit = result.item_fit(lsat7[0], weights=lsat7[1])
    np.testing.assert_allclose([f.statistic for f in fit], [4.750, 14.441, 1.266, 5.241, 0.941], atol=0.015)
    assert [f.df for f in fit] == [2, 2, 2, 2, 2]
    np.testing.assert_allclose([f.rmsea for f in fit], [0.037, 0.079, 0.0, 0.040, 0.0], atol=1e-3)
    np.testing.assert_allclose([f.p_value for f in fit], [0.093, 0.001, 0.531, 0.073, 0.625], atol=3e-3)


# fscores(mod, full.scores = FALSE) from mirt's createItem example: patterns in LSAT7 order
MIRT_EAP = [
    (-1.870, 0.693), (-1.527, 0.674), (-1.514, 0.673), (-1.185, 0.665), (-1.096, 0.665), (-0.767, 0.672),
    (-0.754, 0.673), (-0.412, 0.692), (-1.372, 0.668), (-1.045, 0.666), (-1.032, 0.666), (-0.702, 0.675),
    (-0.610, 0.680), (-0.258, 0.704), (-0.244, 0.705), (0.141, 0.741), (-1.413, 0.670), (-1.086, 0.665),
    (-1.073, 0.665), (-0.744, 0.673), (-0.653, 0.678), (-0.304, 0.701), (-0.290, 0.702), (0.090, 0.736),
    (-0.933, 0.667), (-0.600, 0.680), (-0.587, 0.681), (-0.233, 0.706), (-0.132, 0.715), (0.265, 0.754),
    (0.282, 0.755), (0.727, 0.801),
]
# the parameters that example printed (item 5 in a/b form: a .737, b −2.518)
MIRT_EAP_ITEMS = irt.ItemParameters([0.989, 1.081, 1.703, 0.766, 0.737], [1.856, 0.808, 1.803, 0.486, 0.737 * 2.518])


def test_eap_scores_match_mirt_fscores(lsat7):
    theta, se = irt.eap_scores(MIRT_EAP_ITEMS, lsat7[0].astype(int))
    np.testing.assert_allclose(theta, [t for t, _ in MIRT_EAP], atol=1.5e-3)
    np.testing.assert_allclose(se, [s for _, s in MIRT_EAP], atol=1.5e-3)


def test_eap_equals_adaptive_integration():
    items = irt.ItemParameters.from_irt([1.2, 0.8, 2.0, 1.5], [[-1.0, np.nan, np.nan], [0.5, np.nan, np.nan],
                                                             [-0.5, 0.3, 1.1], [-1.5, 0.0, np.nan]])
    pattern = np.array([[1, 0, 2, -1]])

    def likelihood(t):
        p = items.probabilities([t])[:, :, 0]
        return p[0, 1] * p[1, 0] * p[2, 2] * math.exp(-t * t / 2)

    norm = integrate.quad(likelihood, -12, 12, epsabs=1e-13)[0]
    mean = integrate.quad(lambda t: t * likelihood(t), -12, 12, epsabs=1e-13)[0] / norm
    second = integrate.quad(lambda t: t * t * likelihood(t), -12, 12, epsabs=1e-13)[0] / norm
    theta, se = irt.eap_scores(items, pattern, irt.Quadrature.fixed(121, 7.0))
    assert theta[0] == pytest.approx(mean, abs=1e-5)
    assert se[0] == pytest.approx(math.sqrt(second - mean**2), abs=1e-5)


def test_map_equals_numerical_mode_and_curvature():
    items = irt.ItemParameters.from_irt([1.2, 0.8, 2.0, 1.5, 1.0], [[-1.0, np.nan], [0.5, np.nan], [-0.5, 0.3],
                                                                  [-1.5, 0.0], [1.0, np.nan]])
    patterns = np.array([[1, 0, 2, 1, 0], [0, 0, 0, 0, 0], [1, 1, 2, 2, 1], [1, -1, 1, -1, 0]])
    theta, se = irt.map_scores(items, patterns)

    def neg_log_post(t, row):
        p = items.probabilities([t])[:, :, 0]
        return -(sum(math.log(p[j, c]) for j, c in enumerate(row) if c >= 0) - t * t / 2)

    for k, row in enumerate(patterns):
        mode = optimize.minimize_scalar(lambda t: neg_log_post(t, row), bounds=(-8, 8), method="bounded",
                                        options={"xatol": 1e-10}).x
        assert theta[k] == pytest.approx(mode, abs=1e-5)
        h = 1e-4
        curvature = (neg_log_post(mode + h, row) - 2 * neg_log_post(mode, row) + neg_log_post(mode - h, row)) / h**2
        assert se[k] == pytest.approx(1 / math.sqrt(curvature), abs=1e-4)


def test_item_information_is_the_fisher_information():
    """I(θ) = Σ_k P_k (∂ log P_k/∂θ)², checked by finite differences for graded items."""
    items = irt.ItemParameters.from_irt([1.7, 0.9], [[-1.0, 0.2, 1.4], [0.3, np.nan, np.nan]])
    theta = np.linspace(-3, 3, 13)
    h = 1e-6
    p = items.probabilities(theta)
    dp = (items.probabilities(theta + h) - items.probabilities(theta - h)) / (2 * h)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nansum(np.where(p > 0, dp**2 / p, 0.0), axis=1)
    np.testing.assert_allclose(items.information(theta), expected, rtol=1e-6)
    np.testing.assert_allclose(items.test_information(theta), expected.sum(axis=0), rtol=1e-6)
    # 2PL closed form a²PQ
    two_pl = irt.ItemParameters.from_irt([1.3], [0.4])
    pp = 1 / (1 + np.exp(-1.3 * (theta - 0.4)))
    np.testing.assert_allclose(two_pl.information(theta)[0], 1.69 * pp * (1 - pp), rtol=1e-12)


@pytest.mark.parametrize("model,missing", [("rasch", 0.1), ("1pl", 0.1), ("2pl", 0.1), ("grm", 0.1),
                                           ("rasch", 0.0), ("1pl", 0.0), ("2pl", 0.0)])
def test_louis_information_equals_numerical_hessian(model, missing):
    """Louis' observed information = −∂²ℓ/∂ψ² of the marginal log-likelihood (central differences).

    With missing answers every model takes the general path; complete 0/1 data
    takes the closed form for dichotomous items.
    """
    from psychometrics.simulation import random_items, simulate_irt

    n_cat = 4 if model == "grm" else 2
    items = random_items(6, n_cat, seed=5)
    codes, _ = simulate_irt(items, 400, seed=6)
    data = codes.astype(float)
    data[np.random.default_rng(7).random(data.shape) < missing] = np.nan
    if model == "grm":
        data[data[:, 5] == 3, 5] = 2                                           # one item with fewer categories
    result = irt.calibrate(data, model)
    prepared = irt.ResponseData.from_matrix(data)
    mode = {"rasch": "fixed", "1pl": "common", "2pl": "free", "grm": "free"}[model]
    engine = irt._MarginalModel(prepared, mode, irt.Quadrature.fixed())
    assert engine.complete_dichotomous == (missing == 0)
    state = irt._State(result.items.slopes.copy(), result.items.intercepts.copy())
    free = engine.pack(state)

    def loglik(vector):
        return engine.loglik(engine.unpack(vector, state).items(prepared.names))

    h = 1e-4
    n = free.size
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            value = (loglik(free + ei + ej) - loglik(free + ei - ej) - loglik(free - ei + ej)
                     + loglik(free - ei - ej)) / (4 * h * h)
            hessian[i, j] = hessian[j, i] = value
    _, posterior, expected = engine.e_step(state.items(prepared.names))
    grad, info = engine.observed_information(state, posterior, expected)
    np.testing.assert_allclose(info, -hessian, rtol=2e-3, atol=2e-2)
    assert np.max(np.abs(grad)) < 1e-3
    np.testing.assert_allclose(np.sqrt(np.diag(result.covariance)), np.sqrt(np.diag(np.linalg.inv(-hessian))),
                               rtol=5e-3)


def test_weights_are_equivalent_to_repeated_rows(lsat7):
    weighted = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    expanded = irt.calibrate(np.repeat(lsat7[0], lsat7[1].astype(int), axis=0), "2pl")
    assert weighted.loglik == pytest.approx(expanded.loglik, abs=1e-8)
    np.testing.assert_allclose(weighted.items.slopes, expanded.items.slopes, atol=1e-7)
    np.testing.assert_allclose(weighted.covariance, expanded.covariance, atol=1e-8)


def test_grm_with_two_categories_is_the_2pl(lsat7):
    grm = irt.calibrate(lsat7[0], "grm", weights=lsat7[1])
    two_pl = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    assert grm.loglik == pytest.approx(two_pl.loglik, abs=1e-9)
    np.testing.assert_allclose(grm.items.intercepts, two_pl.items.intercepts, atol=1e-8)


def test_marginal_loglik_function_agrees_with_calibration(lsat7):
    result = irt.calibrate(lsat7[0], "2pl", weights=lsat7[1])
    assert irt.marginal_loglik(result.items, lsat7[0], lsat7[1]) == pytest.approx(result.loglik, abs=1e-9)


def test_calibration_rejects_bad_input():
    with pytest.raises(ValueError, match="0/1"):
        irt.calibrate(np.array([[0, 1], [2, 1], [1, 0]]), "2pl")
    with pytest.raises(ValueError, match="fewer than two observed categories"):
        irt.calibrate(np.array([[1, 1], [1, 0], [1, 1]]), "2pl")
    with pytest.raises(ValueError, match="model must be"):
        irt.calibrate(np.array([[1, 0], [0, 1]]), "3pl")  # type: ignore[arg-type]


def test_item_parameters_validate_and_round_trip():
    items = irt.ItemParameters.from_irt([1.0, 2.0], [[-1.0, 0.5], [0.0, np.nan]], names=["x", "y"])
    np.testing.assert_array_equal(items.n_categories, [3, 2])
    np.testing.assert_allclose(items.difficulties[0], [-1.0, 0.5])
    again = irt.ItemParameters.from_dict(items.as_dict())
    np.testing.assert_array_equal(again.slopes, items.slopes)
    np.testing.assert_array_equal(np.isnan(again.intercepts), np.isnan(items.intercepts))
    with pytest.raises(ValueError, match="decrease"):
        irt.ItemParameters([1.0], [[0.5, 1.0]])
    probabilities = items.probabilities(np.linspace(-5, 5, 11))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert (probabilities >= 0).all()


def test_scores_from_a_calibration_use_raw_values():
    from psychometrics.simulation import random_items, simulate_irt

    items = random_items(8, 5, seed=2)
    codes, theta = simulate_irt(items, 1500, seed=3)
    raw = codes + 1.0                       # a 1..5 Likert scale
    result = irt.calibrate(raw, "grm")
    assert result.category_values[0] == (1.0, 2.0, 3.0, 4.0, 5.0)
    eap, eap_se = result.scores(raw[:200])
    map_, map_se = result.scores(raw[:200], method="map")
    assert np.corrcoef(eap, theta[:200])[0, 1] > 0.85
    assert np.corrcoef(eap, map_)[0, 1] > 0.99
    assert (eap_se > 0).all() and (map_se > 0).all()


def test_from_irt_accepts_vectors_matrices_and_ragged_lists():
    ragged = irt.ItemParameters.from_irt([1.0, 2.0], [[-1.0, 0.0, 1.0], [0.5]])
    np.testing.assert_array_equal(ragged.n_categories, [4, 2])
    np.testing.assert_allclose(ragged.intercepts[1], [-1.0, np.nan, np.nan])
    vector = irt.ItemParameters.from_irt([1.0, 2.0], [0.1, 0.2])
    np.testing.assert_allclose(vector.intercepts[:, 0], [-0.1, -0.4])
    assert vector.max_categories == 2
