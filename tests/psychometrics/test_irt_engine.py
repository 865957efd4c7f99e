"""The calibration engine's shortcuts give the same numbers as the general paths they stand in for."""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics import irt
from psychometrics._arrays import collapse_patterns
from psychometrics.simulation import random_items, simulate_irt


@pytest.mark.parametrize("mode", ["free", "common", "fixed"])
def test_closed_form_second_moment_equals_the_general_one(mode):
    truth = random_items(12, 2, seed=3)
    codes, _ = simulate_irt(truth, 800, seed=4)
    prepared = irt.ResponseData.from_matrix(codes)
    engine = irt._MarginalModel(prepared, mode, irt.Quadrature.fixed())
    assert engine.complete_dichotomous
    slopes = {"free": truth.slopes.copy(), "common": np.full(12, 1.3), "fixed": np.ones(12)}[mode]
    state = irt._State(slopes, truth.intercepts.copy())
    _, posterior, expected = engine.e_step(state.items(prepared.names))
    closed_grad, closed = engine.observed_information(state, posterior, expected)
    engine.complete_dichotomous = False
    general_grad, general = engine.observed_information(state, posterior, expected)
    np.testing.assert_allclose(closed, general, rtol=1e-5, atol=1e-5 * np.abs(general).max())
    np.testing.assert_allclose(closed_grad, general_grad, rtol=1e-12)


@pytest.mark.parametrize("values", [(0, 1), (1, 2, 3, 4, 5), (-2, 0, 7), (0.0, 2.0, 10.0)])
def test_integer_answers_are_coded_as_the_general_path_codes_them(values):
    rng = np.random.default_rng(11)
    matrix = rng.choice(np.asarray(values, dtype=float), size=(300, 6))
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    matrix[:, 2] = np.where(matrix[:, 2] == values[0], values[-1], matrix[:, 2])    # one item misses a level
    fast = irt._rank_small_integers(matrix)
    assert fast is not None
    general = irt._nearest_levels(matrix, np.ones(matrix.shape[0]), None)
    np.testing.assert_array_equal(fast[0], general[0])
    assert fast[1] == general[1]


def test_fractional_or_wide_answers_take_the_general_path():
    assert irt._rank_small_integers(np.array([[0.5, 1.0], [1.0, 2.0]])) is None
    assert irt._rank_small_integers(np.array([[0.0, 5000.0], [1.0, 2.0]])) is None
    assert irt._rank_small_integers(np.full((3, 2), np.nan)) is None


def test_collapsed_patterns_equal_numpy_unique_rows():
    rng = np.random.default_rng(12)
    codes = rng.integers(-1, 4, size=(2000, 5))
    weights = rng.random(2000)
    weights[:50] = 0.0                                   # rows without weight are dropped
    unique, summed = collapse_patterns(codes, weights)
    keep = weights > 0
    expected, inverse = np.unique(codes[keep], axis=0, return_inverse=True)
    np.testing.assert_array_equal(unique, expected)
    np.testing.assert_allclose(summed, np.bincount(inverse.ravel(), weights=weights[keep]))


@pytest.mark.parametrize("model,categories", [("2pl", 2), ("grm", 4), ("1pl", 2)])
def test_accelerated_em_reaches_the_plain_em_maximum(model, categories):
    """SQUAREM changes the path, not the destination: plain EM run to a tight tolerance agrees."""
    truth = random_items(8, categories, seed=21)
    codes, _ = simulate_irt(truth, 1500, seed=22)
    fitted = irt.calibrate(codes, model)
    prepared = irt.ResponseData.from_matrix(codes)
    mode = {"1pl": "common", "2pl": "free", "grm": "free"}[model]
    engine = irt._MarginalModel(prepared, mode, irt.Quadrature.fixed())
    state = irt._starting_values(prepared, mode)
    for _ in range(3000):
        _, _, expected = engine.e_step(state.items(prepared.names))
        moved = engine.m_step(state, expected)
        done = irt._largest_change(state, moved) < 1e-9
        state = moved
        if done:
            break
    np.testing.assert_allclose(fitted.items.slopes, state.slopes, atol=1e-5)
    np.testing.assert_allclose(fitted.items.intercepts, state.intercepts, atol=1e-5)
    assert fitted.loglik >= engine.loglik(state.items(prepared.names)) - 1e-8
