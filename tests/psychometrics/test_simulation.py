"""Seeded simulation: IRT responses, and whole-instrument demo data the web app seeds."""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics import ctt, irt, score_instrument
from psychometrics.instrument import ItemKind
from psychometrics.simulation import (
    random_items,
    simulate_instrument,
    simulate_instrument_responses,
    simulate_irt,
    simulate_responses,
)


def test_simulated_category_frequencies_match_the_model():
    items = irt.ItemParameters.from_irt([1.5, 0.7], [[-0.5, 0.4, 1.2], [0.0, np.nan, np.nan]])
    theta = np.full(40000, 0.3)
    codes = simulate_responses(items, theta, seed=1)
    p = items.probabilities([0.3])[:, :, 0]
    observed = np.stack([np.bincount(codes[:, 0], minlength=4), np.bincount(codes[:, 1], minlength=4)]) / 40000
    np.testing.assert_allclose(observed, p, atol=0.01)     # 4 SE of a proportion at n = 40,000 is < .01
    assert codes[:, 1].max() == 1


def test_simulation_is_seeded():
    items = random_items(12, 3, seed=1)
    a, theta_a = simulate_irt(items, 100, seed=5)
    b, theta_b = simulate_irt(items, 100, seed=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(theta_a, theta_b)
    c, _ = simulate_irt(items, 100, seed=6)
    assert (a != c).any()


def test_random_items_are_valid_graded_items():
    items = random_items(30, 5, seed=3)
    assert (np.diff(items.difficulties, axis=1) > 0).all()
    assert ((items.slopes >= 0.8) & (items.slopes <= 2.2)).all()


def test_instrument_responses_are_valid_keys_and_reproducible(mini_instrument):
    responses = simulate_instrument_responses(mini_instrument, 300, seed=3)
    assert responses == simulate_instrument_responses(mini_instrument, 300, seed=3)
    assert responses != simulate_instrument_responses(mini_instrument, 300, seed=4)
    assert len(responses) == 300
    for answers in responses:
        for item_id, key in answers.items():
            assert mini_instrument.validate_response(item_id, key) == key
    answered = sum(len(a) for a in responses) / (300 * len(mini_instrument.items))
    assert 0.98 < answered < 0.9995                      # about 1 % missing


def test_instrument_scores_track_the_latent_traits(mini_instrument):
    sample = simulate_instrument(mini_instrument, 1500, seed=8, correlation=0.35)
    scores = [score_instrument(mini_instrument, answers) for answers in sample.responses]
    for j, code in enumerate(sample.subscales):
        values = np.array([s[code].score for s in scores], dtype=float)
        ok = ~np.isnan(values)
        assert np.corrcoef(values[ok], sample.traits[ok, j])[0, 1] > 0.7
    observed = np.corrcoef(sample.traits, rowvar=False)[np.triu_indices(3, 1)]
    np.testing.assert_allclose(observed, 0.35, atol=0.06)


def test_reverse_keyed_items_score_in_the_trait_direction(mini_instrument):
    sample = simulate_instrument(mini_instrument, 1500, seed=9)
    sr = sample.subscales.index("SR")
    for item in mini_instrument.items_in("SR"):
        scored = np.array([mini_instrument.item(item.id).score_response(a[item.id]) if item.id in a else np.nan
                           for a in sample.responses])
        raw = np.array([float(a[item.id]) if item.id in a else np.nan for a in sample.responses])
        ok = ~np.isnan(scored)
        assert np.corrcoef(scored[ok], sample.traits[ok, sr])[0, 1] > 0.4
        if item.reverse:
            assert np.corrcoef(raw[ok], sample.traits[ok, sr])[0, 1] < -0.4


def test_options_sharing_a_score_are_both_used(mini_instrument):
    sample = simulate_instrument(mini_instrument, 1000, seed=10)
    keys = [a["TW01"] for a in sample.responses if "TW01" in a]
    # options c and e both score 1
    assert keys.count("c") > 30 and keys.count("e") > 30
    assert abs(keys.count("c") - keys.count("e")) < 0.5 * max(keys.count("c"), keys.count("e"))


def test_demo_instrument_gives_meaningful_item_analysis(staff_instrument):
    """The web app seeds 300 people: every subscale must come out reliable enough to show norms."""
    sample = simulate_instrument(staff_instrument, 300, seed=2026)
    assert {item.kind for item in staff_instrument.items} == set(ItemKind)
    for code in sample.subscales:
        items = staff_instrument.items_in(code)
        matrix = np.array([[staff_instrument.item(i.id).score_response(a[i.id]) if i.id in a else np.nan
                            for i in items] for a in sample.responses])
        report = ctt.item_analysis(matrix, names=[i.id for i in items])
        assert 0.6 < report.alpha.alpha < 0.95
        assert np.median([i.r_drop for i in report.items]) > 0.2


def test_rejects_impossible_correlation(mini_instrument):
    with pytest.raises(ValueError, match="positive definite"):
        simulate_instrument(mini_instrument, 10, correlation=-0.6)


def test_answer_matrices_feed_item_analysis_calibration_and_distractors(mini_instrument):
    from psychometrics.responses import choice_matrix, scored_matrix

    sample = simulate_instrument(mini_instrument, 1200, seed=12)
    scores, ids = scored_matrix(mini_instrument, sample.responses, "SR")
    assert ids == tuple(item.id for item in mini_instrument.items_in("SR"))
    assert np.isnan(scores).mean() == pytest.approx(0.01, abs=0.006)
    report = ctt.item_analysis(scores, names=ids)
    assert all(item.r_drop > 0.3 for item in report.items)          # reverse keying already applied
    calibration = irt.calibrate(scores, "grm", item_names=ids)
    theta, _ = calibration.scores(scores)
    assert np.corrcoef(theta, sample.traits[:, sample.subscales.index("SR")])[0, 1] > 0.85
    choices, pk_ids = choice_matrix(mini_instrument, sample.responses, "PK")
    analysis = ctt.distractor_analysis(choices, ["b"] * len(pk_ids), names=pk_ids)
    assert [a.item for a in analysis] == list(pk_ids)
    everything, all_ids = scored_matrix(mini_instrument, sample.responses[:3])
    assert everything.shape == (3, len(mini_instrument.items)) and len(all_ids) == 25
    with pytest.raises(KeyError):
        scored_matrix(mini_instrument, sample.responses, "XX")
