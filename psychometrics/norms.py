"""Norm tables: standard scores (z, T), percentile ranks, stanines and bands.

Norm tables are built from plain rows of stored results (one row per person and
subscale), grouped by any fields the caller names — e.g. role and intake year —
so the web app can keep results in its database and hand rows over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from psychometrics.instrument import Band

# Cumulative percentages at the upper edge of stanines 1–8 (4, 7, 12, 17, 20, 17, 12, 7, 4 %).
_STANINE_EDGES = np.array([4, 11, 23, 40, 60, 77, 89, 96], dtype=float)


@dataclass(frozen=True)
class NormTable:
    """Reference distribution of one subscale score in one norm group."""

    group: str
    subscale: str
    mean: float
    sd: float
    n: int
    sorted_scores: tuple[float, ...]

    @classmethod
    def from_scores(cls, group: str, subscale: str, scores: ArrayLike) -> "NormTable":
        values = np.asarray(scores, dtype=float)
        values = values[~np.isnan(values)]
        if values.size < 2:
            raise ValueError(f"norm group {group!r}/{subscale!r} needs at least two scores, has {values.size}")
        sd = float(values.std(ddof=1))
        if sd == 0:
            raise ValueError(f"norm group {group!r}/{subscale!r} has no spread (sd = 0)")
        return cls(group, subscale, float(values.mean()), sd, int(values.size), tuple(sorted(values.tolist())))

    def z(self, score: float) -> float:
        return (score - self.mean) / self.sd

    def t(self, score: float) -> float:
        return 50.0 + 10.0 * self.z(score)

    def percentile_rank(self, score: float) -> float:
        """Percentage below plus half the percentage equal (the mid-point definition)."""
        ordered = np.asarray(self.sorted_scores)
        below = np.searchsorted(ordered, score, side="left")
        at_or_below = np.searchsorted(ordered, score, side="right")
        return float(100.0 * (below + 0.5 * (at_or_below - below)) / ordered.size)

    def stanine(self, score: float) -> int:
        return int(np.searchsorted(_STANINE_EDGES, self.percentile_rank(score), side="right") + 1)

    def standard_scores(self, score: float) -> "StandardScores":
        """All the standard scores of one raw score against this table."""
        return StandardScores(score, self.z(score), self.t(score), self.percentile_rank(score), self.stanine(score))

    def as_dict(self) -> dict[str, Any]:
        """Plain data for storage (JSON); :meth:`from_dict` restores the table."""
        return {"group": self.group, "subscale": self.subscale, "mean": self.mean, "sd": self.sd,
                "n": self.n, "sorted_scores": list(self.sorted_scores)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NormTable":
        scores = tuple(float(x) for x in data["sorted_scores"])
        if len(scores) != int(data["n"]) or list(scores) != sorted(scores):
            raise ValueError("sorted_scores must hold n scores in ascending order")
        return cls(str(data["group"]), str(data["subscale"]), float(data["mean"]), float(data["sd"]),
                   int(data["n"]), scores)


@dataclass(frozen=True)
class StandardScores:
    raw: float
    z: float
    t: float
    percentile: float
    stanine: int


def build_norm_tables(rows: Iterable[Mapping[str, Any]], *, group_by: str | Sequence[str] = "group",
                      subscale_key: str = "subscale", score_key: str = "score", min_size: int = 2,
                      pooled: str | None = None, separator: str = "/") -> dict[tuple[str, str], NormTable]:
    """Norm tables keyed by (group, subscale) from rows of stored results.

    ``group_by`` names one field or several (their values joined by ``separator``,
    e.g. ``"officer/2025"``). Rows whose score is missing (None/NaN) are skipped,
    as are groups with fewer than ``min_size`` scores or no spread — a norm needs
    both. ``pooled`` adds one more group of that name holding everybody.
    """
    keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    if not keys:
        raise ValueError("group_by needs at least one field")
    collected: dict[tuple[str, str], list[float]] = {}
    for index, row in enumerate(rows):
        try:
            labels = [row[key] for key in keys]
            subscale = row[subscale_key]
            raw = row[score_key]
        except KeyError as missing:
            raise ValueError(f"row {index}: no field {missing.args[0]!r}") from None
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            continue
        try:
            score = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"row {index}: score {raw!r} is not a number") from None
        group = separator.join(str(label) for label in labels)
        collected.setdefault((group, str(subscale)), []).append(score)
        if pooled is not None:
            collected.setdefault((pooled, str(subscale)), []).append(score)
    tables = {}
    for (group, subscale), scores in sorted(collected.items()):
        values = np.asarray(scores)
        if values.size < max(min_size, 2) or float(values.std()) == 0.0:
            continue
        tables[(group, subscale)] = NormTable.from_scores(group, subscale, values)
    return tables


def make_bands(cutoffs: Sequence[float], codes: Sequence[str] = ("development", "typical", "strength"), *,
               scale: Literal["t", "z", "percentile"] = "t",
               titles: Sequence[Mapping[str, str]] | None = None) -> tuple[Band, ...]:
    """Bands from cut-offs, stored as T-score ceilings as :class:`Band` expects.

    Cut-offs may be given as T-scores, z-scores (T = 50 + 10z) or percentiles
    (converted through the normal quantile, so "below the 16th percentile" is
    T ≤ 40.06). ``codes`` has one more entry than ``cutoffs``; the last band is open.
    """
    if len(codes) != len(cutoffs) + 1:
        raise ValueError("give one more band code than cut-offs")
    values = [float(c) for c in cutoffs]
    if scale == "z":
        t_values = [50.0 + 10.0 * v for v in values]
    elif scale == "percentile":
        from scipy import stats  # imported here: the web app imports norms on every request path

        if not all(0.0 < v < 100.0 for v in values):
            raise ValueError("percentile cut-offs must lie strictly between 0 and 100")
        t_values = [50.0 + 10.0 * float(stats.norm.ppf(v / 100.0)) for v in values]
    elif scale == "t":
        t_values = values
    else:
        raise ValueError("scale must be 't', 'z' or 'percentile'")
    if any(b <= a for a, b in zip(t_values, t_values[1:])):
        raise ValueError("cut-offs must increase")
    names = list(titles) if titles is not None else [{"en": code.replace("_", " ").capitalize()} for code in codes]
    if len(names) != len(codes):
        raise ValueError("give one title per band")
    ceilings: list[float | None] = [*t_values, None]
    return tuple(Band(code, ceiling, dict(title)) for code, ceiling, title in zip(codes, ceilings, names))


def classify(score: float, table: NormTable, bands: Sequence[Band]) -> Band:
    """The band of a raw score against a norm table."""
    return band_for_t(table.t(score), bands)


def band_for_t(t_score: float, bands: Sequence[Band]) -> Band:
    """The first band whose ``max_t`` is at or above the T-score (the last band is open)."""
    for band in bands:
        if band.max_t is None or t_score <= band.max_t:
            return band
    raise ValueError("bands must end with an open band (max_t = None)")


def describe(scores: Iterable[float]) -> dict[str, float]:
    values = np.asarray(list(scores), dtype=float)
    return {"n": float(values.size), "mean": float(values.mean()), "sd": float(values.std(ddof=1))}


# --------------------------------------------------------------------------- norms for other systems

NORMS_FORMAT = "officer-competence-norms/1"


@dataclass(frozen=True)
class NormSummary:
    """Mean and SD of one subscale in one norm group: all a T-score (so a band) needs.

    What travels to another system (the Open edX block) instead of a
    :class:`NormTable`, which holds every person's score.
    """

    group: str
    subscale: str
    mean: float
    sd: float
    n: int

    def t(self, score: float) -> float:
        return 50.0 + 10.0 * (score - self.mean) / self.sd


def norms_document(instrument_code: str, version: int, group: str,
                   tables: Mapping[str, NormTable]) -> dict[str, Any]:
    """A norm group as plain data (JSON) for another system: each subscale's mean, SD and size."""
    return {
        "format": NORMS_FORMAT,
        "instrument": instrument_code,
        "version": int(version),
        "group": group,
        "subscales": {code: {"mean": table.mean, "sd": table.sd, "n": table.n}
                      for code, table in sorted(tables.items())},
    }


def read_norms_document(document: str | Mapping[str, Any], instrument_code: str, version: int,
                        subscales: Iterable[str]) -> dict[str, NormSummary]:
    """Check a :func:`norms_document` (or its JSON text) against an instrument and read it.

    Errors name the field at fault. Norms of another instrument or another
    version are refused: scores of a changed item set are not comparable.
    """
    import json  # only this reader parses text

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(document, Mapping):
        raise ValueError("the norms must be a JSON object")
    if document.get("format") != NORMS_FORMAT:
        raise ValueError(f"format must be {NORMS_FORMAT!r}, not {document.get('format')!r}")
    if document.get("instrument") != instrument_code:
        raise ValueError(f"these norms are for instrument {document.get('instrument')!r}, not {instrument_code!r}")
    if document.get("version") != version:
        raise ValueError(f"these norms are for version {document.get('version')!r} of {instrument_code!r}, "
                         f"not version {version}")
    group = document.get("group")
    if not isinstance(group, str) or not group.strip():
        raise ValueError("group must be the norm group's name")
    entries = document.get("subscales")
    if not isinstance(entries, Mapping) or not entries:
        raise ValueError("subscales must be an object with at least one subscale")
    known = set(subscales)
    summaries = {}
    for code, entry in entries.items():
        where = f"subscales.{code}"
        if code not in known:
            raise ValueError(f"{where}: {instrument_code!r} has no subscale {code!r}")
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be an object with mean, sd and n")
        mean, sd, n = entry.get("mean"), entry.get("sd"), entry.get("n")
        if not _is_number(mean):
            raise ValueError(f"{where}.mean must be a number")
        if not _is_number(sd) or sd <= 0:
            raise ValueError(f"{where}.sd must be a positive number")
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise ValueError(f"{where}.n must be a whole number of at least 2")
        summaries[code] = NormSummary(group, code, float(mean), float(sd), n)
    return summaries


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
