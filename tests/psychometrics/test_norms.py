"""Norm tables per group from stored rows, standard scores and configurable bands."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from psychometrics import norms
from psychometrics.norms import NormTable, band_for_t, build_norm_tables, classify, make_bands


def rows():
    rng = np.random.default_rng(1)
    out = []
    for role, year, mean in (("cadet", 2025, 3.0), ("cadet", 2026, 3.2), ("officer", 2025, 3.8)):
        for score in rng.normal(mean, 0.5, size=60):
            out.append({"role": role, "year": year, "subscale": "SR", "score": float(score)})
            out.append({"role": role, "year": year, "subscale": "PK", "score": float(score) / 5})
    out.append({"role": "cadet", "year": 2025, "subscale": "SR", "score": None})        # not scored
    out.append({"role": "mentor", "year": 2025, "subscale": "SR", "score": 4.0})          # a group of one
    return out


def test_tables_per_group_and_pooled():
    tables = build_norm_tables(rows(), group_by=("role", "year"), pooled="all")
    assert ("cadet/2025", "SR") in tables and ("officer/2025", "PK") in tables
    assert ("mentor/2025", "SR") not in tables                   # too small for a norm
    assert tables[("all", "SR")].n == 181
    cadets = tables[("cadet/2025", "SR")]
    values = [r["score"] for r in rows() if r["role"] == "cadet" and r["year"] == 2025
              and r["subscale"] == "SR" and r["score"] is not None]
    assert cadets.n == 60
    assert cadets.mean == pytest.approx(np.mean(values))
    assert cadets.sd == pytest.approx(np.std(values, ddof=1))


def test_single_field_grouping_and_bad_rows():
    tables = build_norm_tables(rows(), group_by="role")
    assert set(g for g, _ in tables) == {"cadet", "officer"}
    with pytest.raises(ValueError, match="row 0: no field 'group'"):
        build_norm_tables(rows())
    with pytest.raises(ValueError, match="not a number"):
        build_norm_tables([{"group": "a", "subscale": "X", "score": "high"}])


def test_standard_scores_and_round_trip():
    table = NormTable.from_scores("g", "SR", [1, 2, 2, 3, 4, 5, 6, 7, 8, 9])
    scores = table.standard_scores(2)
    assert scores.z == pytest.approx((2 - 4.7) / table.sd)
    assert scores.t == pytest.approx(50 + 10 * scores.z)
    assert scores.percentile == pytest.approx(100 * (1 + 0.5 * 2) / 10)      # mid-point percentile rank
    assert scores.stanine == 3
    assert NormTable.from_dict(table.as_dict()) == table
    broken = table.as_dict() | {"sorted_scores": [3, 1]}
    with pytest.raises(ValueError, match="ascending"):
        NormTable.from_dict(broken)


def test_stanines_follow_the_4_7_12_17_20_percent_split():
    table = NormTable.from_scores("g", "x", np.arange(1000.0))
    stanines = [table.stanine(float(s)) for s in range(1000)]
    counts = np.bincount(stanines, minlength=10)[1:]
    np.testing.assert_array_equal(counts, [40, 70, 120, 170, 200, 170, 120, 70, 40])


def test_bands_from_t_z_and_percentile_cutoffs():
    by_t = make_bands([40, 60])
    by_z = make_bands([-1, 1], scale="z")
    assert [b.max_t for b in by_t] == [40.0, 60.0, None] == [b.max_t for b in by_z]
    by_pct = make_bands([16, 84], ("low", "mid", "high"), scale="percentile",
                        titles=[{"en": "Low"}, {"en": "Mid"}, {"en": "High"}])
    assert by_pct[0].max_t == pytest.approx(50 + 10 * -0.9944578832097535)
    assert band_for_t(40.0, by_t).code == "development"          # ceilings are inclusive
    assert band_for_t(40.01, by_t).code == "typical"
    assert band_for_t(75, by_pct).code == "high"
    with pytest.raises(ValueError, match="increase"):
        make_bands([60, 40])
    with pytest.raises(ValueError, match="one more band code"):
        make_bands([40], ("a", "b", "c"))
    with pytest.raises(ValueError, match="between 0 and 100"):
        make_bands([0, 50], scale="percentile")


def test_classify_uses_the_group_norm():
    tables = build_norm_tables(rows(), group_by="role")
    bands = make_bands([40, 60])
    cadet, officer = tables[("cadet", "SR")], tables[("officer", "SR")]
    # the same raw score is a strength among cadets and typical or below among officers
    assert classify(3.9, cadet, bands).code == "strength"
    assert classify(3.9, officer, bands).code in ("typical", "development")
    assert math.isclose(cadet.t(cadet.mean), 50.0)


# --------------------------------------------------------------------------- norms for other systems


def _norm_document() -> dict:
    tables = {"A": NormTable.from_scores("cadets", "A", [1.0, 2.0, 3.0, 4.0]),
              "B": NormTable.from_scores("cadets", "B", [10.0, 14.0, 18.0])}
    return norms.norms_document("inventory", 3, "Cadets", tables)


def test_a_norms_document_round_trips_without_any_person_score():
    document = _norm_document()
    assert document["subscales"]["A"] == {"mean": 2.5, "sd": pytest.approx(1.2909944), "n": 4}
    text = json.dumps(document)
    summaries = norms.read_norms_document(text, "inventory", 3, ["A", "B", "C"])
    assert summaries["B"] == norms.NormSummary("Cadets", "B", 14.0, 4.0, 3)
    assert summaries["B"].t(18.0) == pytest.approx(60.0)
    table = NormTable.from_scores("cadets", "B", [10.0, 14.0, 18.0])
    assert summaries["B"].t(11.3) == pytest.approx(table.t(11.3), abs=1e-12)


@pytest.mark.parametrize("change,message", [
    (lambda d: "{not json", "not valid JSON (line 1, column 2"),
    (lambda d: [1, 2], "the norms must be a JSON object"),
    (lambda d: {**d, "format": "other/1"}, "format must be 'officer-competence-norms/1'"),
    (lambda d: {**d, "instrument": "other"}, "these norms are for instrument 'other', not 'inventory'"),
    (lambda d: {**d, "version": 2}, "these norms are for version 2 of 'inventory', not version 3"),
    (lambda d: {**d, "group": " "}, "group must be the norm group's name"),
    (lambda d: {**d, "subscales": {}}, "subscales must be an object with at least one subscale"),
    (lambda d: {**d, "subscales": {"Z": {"mean": 1, "sd": 1, "n": 5}}}, "subscales.Z: 'inventory' has no subscale 'Z'"),
    (lambda d: {**d, "subscales": {"A": 3}}, "subscales.A must be an object with mean, sd and n"),
    (lambda d: {**d, "subscales": {"A": {"mean": "2", "sd": 1, "n": 5}}}, "subscales.A.mean must be a number"),
    (lambda d: {**d, "subscales": {"A": {"mean": 2, "sd": 0, "n": 5}}}, "subscales.A.sd must be a positive number"),
    (lambda d: {**d, "subscales": {"A": {"mean": 2, "sd": float("nan"), "n": 5}}},
     "subscales.A.sd must be a positive number"),
    (lambda d: {**d, "subscales": {"A": {"mean": 2, "sd": 1, "n": 1}}}, "subscales.A.n must be a whole number of at"),
    (lambda d: {**d, "subscales": {"A": {"mean": 2, "sd": 1, "n": True}}}, "subscales.A.n must be a whole number"),
])
def test_a_bad_norms_document_is_refused_naming_the_field(change, message):
    with pytest.raises(ValueError) as raised:
        norms.read_norms_document(change(_norm_document()), "inventory", 3, ["A", "B"])
    assert message in str(raised.value)
