"""Adaptive testing: selection, exposure control, stopping, EAP updating and the simulation harness."""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics import cat, irt
from psychometrics.simulation import random_items


@pytest.fixture(scope="module")
def bank() -> irt.ItemParameters:
    return random_items(150, 2, seed=21, slope_range=(0.9, 2.2), difficulty_sd=1.2)


def test_simulation_reports_small_bias_and_rmse_near_the_target_se(bank):
    result = cat.simulate_cat(bank, 1000, seed=1, stopping=cat.StoppingRule(max_items=30, target_se=0.3))
    assert abs(result.bias) < 0.05
    # EAP's posterior SD is honest: RMSE is close to the SE the test stopped at
    assert result.rmse == pytest.approx(float(np.sqrt(np.mean(result.se**2))), rel=0.15)
    assert result.rmse < 0.36
    assert 5 < result.mean_length < 30
    assert result.exposure.sum() == pytest.approx(result.mean_length)


def test_stopping_rule_is_respected(bank):
    rule = cat.StoppingRule(max_items=12, target_se=0.35, min_items=3)
    result = cat.simulate_cat(bank, 500, seed=2, stopping=rule)
    assert result.lengths.max() <= 12 and result.lengths.min() >= 3
    early = result.lengths < 12
    assert (result.se[early] <= 0.35).all()
    fixed = cat.simulate_cat(bank, 200, seed=2, stopping=cat.StoppingRule(max_items=7, target_se=None))
    assert (fixed.lengths == 7).all()


def test_adaptive_beats_a_fixed_random_test_of_the_same_length(bank):
    rng = np.random.default_rng(5)
    theta = rng.normal(size=600)
    adaptive = cat.simulate_cat(bank, theta, seed=6, stopping=cat.StoppingRule(max_items=10, target_se=None))

    class RandomSelector(cat.ItemSelector):
        def select(self, information, available, rng):
            noise = rng.random(information.shape)
            return np.argmax(np.where(available, noise, -1.0), axis=1)

    random = cat.simulate_cat(bank, theta, seed=6, selector=RandomSelector(),
                              stopping=cat.StoppingRule(max_items=10, target_se=None))
    assert adaptive.rmse < random.rmse


def test_exposure_control_lowers_the_maximum_exposure(bank):
    rule = cat.StoppingRule(max_items=20, target_se=0.3)
    plain = cat.simulate_cat(bank, 800, seed=3, stopping=rule)
    randomesque = cat.simulate_cat(bank, 800, seed=3, stopping=rule, selector=cat.RandomesqueSelector(5))
    assert plain.max_exposure == pytest.approx(1.0)            # everyone starts with the same item
    assert randomesque.max_exposure < 0.75                     # no item goes to everybody
    assert randomesque.rmse < plain.rmse + 0.05                # and precision barely suffers
    k = cat.sympson_hetter_parameters(bank, 0.25, n_simulees=600, iterations=12, seed=4, stopping=rule)
    assert ((k > 0) & (k <= 1)).all() and (k < 1).any()
    controlled = cat.simulate_cat(bank, 800, seed=5, stopping=rule, selector=cat.SympsonHetterSelector(k))
    assert controlled.max_exposure < 0.4
    assert controlled.rmse < plain.rmse + 0.05


def test_selectors_only_choose_available_items():
    rng = np.random.default_rng(0)
    info = rng.random((50, 10))
    available = rng.random((50, 10)) < 0.5
    available[:, 3] = True
    for selector in (cat.MaxInformationSelector(), cat.RandomesqueSelector(3),
                     cat.SympsonHetterSelector(np.full(10, 0.2))):
        chosen = selector.select(info, available, rng)
        assert available[np.arange(50), chosen].all()
    best = cat.MaxInformationSelector().select(info, available, rng)
    np.testing.assert_array_equal(best, np.argmax(np.where(available, info, -1), axis=1))


def test_one_sitting_updates_eap_like_the_estimator(bank):
    test = cat.AdaptiveTest(bank, stopping=cat.StoppingRule(max_items=8, target_se=None), seed=1)
    rng = np.random.default_rng(9)
    while (item := test.next_item()) is not None:
        assert item not in test.administered
        test.answer(item, int(rng.random() < 0.5))
    assert len(test.administered) == 8 and test.finished
    codes = np.full((1, bank.n_items), -1)
    codes[0, test.administered] = test.responses
    theta, se = irt.EAPEstimator(irt.Quadrature.fixed(61, 6.0)).estimate(bank, codes)
    assert test.theta == pytest.approx(theta[0], abs=1e-10)
    assert test.se == pytest.approx(se[0], abs=1e-10)
    resumed = cat.AdaptiveTest.resume(bank, test.administered, test.responses,
                                      stopping=cat.StoppingRule(max_items=8, target_se=None))
    assert resumed.theta == pytest.approx(test.theta) and resumed.finished
    with pytest.raises(ValueError, match="already"):
        test.answer(test.administered[0], 0)


def test_first_item_is_the_most_informative_at_the_prior_mean(bank):
    test = cat.AdaptiveTest(bank)
    assert test.next_item() == int(np.argmax(bank.information([0.0])[:, 0]))


def test_simulation_is_reproducible_and_works_for_graded_banks():
    bank = random_items(60, 4, seed=8)
    first = cat.simulate_cat(bank, 300, seed=12, stopping=cat.StoppingRule(15, 0.3))
    second = cat.simulate_cat(bank, 300, seed=12, stopping=cat.StoppingRule(15, 0.3))
    np.testing.assert_array_equal(first.theta, second.theta)
    assert first.as_dict()["n"] == 300
    assert first.rmse < 0.4 and abs(first.bias) < 0.08
