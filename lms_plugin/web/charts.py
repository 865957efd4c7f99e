"""Charts. Each function draws on a matplotlib ``Axes`` it is given and returns it;
``png_bytes`` renders a figure. Figures are built without pyplot, so this is thread-safe."""

from __future__ import annotations

import io
from typing import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

BAND_COLOURS = ("#f4d6c6", "#e6e6e6", "#cfe8d5")
# A chart fills the page's width: about 340 CSS px on a 375 px phone. Its smallest text must
# still be LEGIBLE_PX there, so text sizes follow the figure's width.
PHONE_CHART_PX = 340
LEGIBLE_PX = 11.0
T_MIN, T_MAX, T_MARGIN = 20.0, 80.0, 3.0  # the margin keeps a dot at 20 or 80 wholly inside the chart


def legible_points(figure: Figure) -> float:
    """The smallest font size (points) that is still LEGIBLE_PX when the figure is shown PHONE_CHART_PX wide."""
    return max(12.0, round(LEGIBLE_PX * 72 * figure.get_figwidth() / PHONE_CHART_PX + 0.5))


def new_figure(width: float = 6.0, height: float = 3.2) -> tuple[Figure, Axes]:
    """A figure sized for a phone-to-desktop page; text stays legible when scaled to half width."""
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    axes.tick_params(labelsize=legible_points(figure))
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
    size = legible_points(ax.figure)
    edges = [T_MIN - T_MARGIN, *band_edges, T_MAX + T_MARGIN]
    for index, (low, high) in enumerate(zip(edges, edges[1:])):
        ax.axvspan(low, high, color=BAND_COLOURS[index % len(BAND_COLOURS)], zorder=0,
                   label=band_titles[index] if index < len(band_titles) else None)
    positions = list(range(len(labels)))[::-1]
    for position, t_score in zip(positions, t_scores):
        if t_score is not None:
            ax.plot([min(max(t_score, T_MIN), T_MAX)], [position], "o", color="#1f4e79", markersize=10, zorder=3)
    ax.axvline(50, color="#555555", linewidth=1, linestyle="--", zorder=1)
    ax.set_yticks(positions, labels)
    ax.set_xlim(T_MIN - T_MARGIN, T_MAX + T_MARGIN)
    ax.set_xticks(range(int(T_MIN), int(T_MAX) + 1, 10))
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel, fontsize=size)
    ax.figure.legend(loc="outside lower center", ncols=len(band_titles), frameon=False, fontsize=size)
    return ax


def percent_bars(ax: Axes, labels: Sequence[str], percents: Sequence[float | None], xlabel: str) -> Axes:
    """Horizontal bars of scores on a 0–100 % scale (used where no norm group exists yet)."""
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, [p or 0.0 for p in percents], color="#1f4e79")
    ax.set_yticks(positions, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel, fontsize=legible_points(ax.figure))
    return ax
