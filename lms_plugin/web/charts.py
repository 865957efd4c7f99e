"""Charts. Each function draws on a matplotlib ``Axes`` it is given and returns it;
``png_bytes`` renders a figure. Figures are built without pyplot, so this is thread-safe."""

from __future__ import annotations

import io
from typing import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

BAND_COLOURS = ("#f4d6c6", "#e6e6e6", "#cfe8d5")


def new_figure(width: float = 6.0, height: float = 3.2) -> tuple[Figure, Axes]:
    """A figure sized for a phone-to-desktop page; text stays legible when scaled to half width."""
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    axes.tick_params(labelsize=12)
    return figure, axes


def png_bytes(figure: Figure, dpi: int = 160) -> bytes:
    """PNG at a density that stays sharp on high-resolution screens."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def t_score_profile(ax: Axes, labels: Sequence[str], t_scores: Sequence[float | None],
                    band_edges: Sequence[float], band_titles: Sequence[str], xlabel: str) -> Axes:
    """One row per subscale: the person's T-score as a dot over the norm group's shaded bands.

    ``band_edges`` are the upper T limits of all bands but the last (e.g. 40, 60).
    """
    edges = [20.0, *band_edges, 80.0]
    for index, (low, high) in enumerate(zip(edges, edges[1:])):
        ax.axvspan(low, high, color=BAND_COLOURS[index % len(BAND_COLOURS)], zorder=0,
                   label=band_titles[index] if index < len(band_titles) else None)
    positions = list(range(len(labels)))[::-1]
    for position, t_score in zip(positions, t_scores):
        if t_score is not None:
            ax.plot([min(max(t_score, 20.0), 80.0)], [position], "o", color="#1f4e79", markersize=10, zorder=3)
    ax.axvline(50, color="#555555", linewidth=1, linestyle="--", zorder=1)
    ax.set_yticks(positions, labels)
    ax.set_xlim(20, 80)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel, fontsize=11)
    ax.figure.legend(loc="outside lower center", ncols=len(band_titles), frameon=False, fontsize=11)
    return ax


def percent_bars(ax: Axes, labels: Sequence[str], percents: Sequence[float | None], xlabel: str) -> Axes:
    """Horizontal bars of scores on a 0–100 % scale (used where no norm group exists yet)."""
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, [p or 0.0 for p in percents], color="#1f4e79")
    ax.set_yticks(positions, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel, fontsize=11)
    return ax
