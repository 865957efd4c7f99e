"""Competency charts: a person's profile against the role profile, and a cohort's gap heatmap.

Like ``lms_plugin.charts``: each function draws on the ``Axes`` it is given and returns
it; figures come from ``charts.new_figure`` (no pyplot, so thread-safe). Labels arrive
translated; the same numbers are always in a table on the page too.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lms_plugin.web.charts import legible_points

MET = "#1f4e79"
BELOW = "#c46a1b"
REQUIRED = "#1b1b1b"
# Gap 0 (met), 1, 2, 3, 4+; cells without a requirement are drawn light grey.
GAP_COLOURS = ("#dff0e3", "#fde2c8", "#f5a66b", "#d9622b", "#9e2a0b")
NOT_REQUIRED = "#eeeeee"


PROFILE_WIDTH = 5.0  # narrow enough that its text stays legible when a phone shows it full width
PROFILE_DPI = 140


def profile_height(rows: int) -> float:
    """Figure height in inches for ``rows`` competencies."""
    return 0.3 * rows + 1.9


def profile_pixels(rows: int) -> tuple[int, int]:
    """The rendered PNG's size, for the page's ``<img width height>`` (no layout shift)."""
    return int(PROFILE_WIDTH * PROFILE_DPI), int(profile_height(rows) * PROFILE_DPI)


def profile_bars(ax: Axes, labels: Sequence[str], levels: Sequence[int | None], required: Sequence[int | None],
                 max_level: int, proficient_level: int, *, xlabel: str, level_label: str, below_label: str,
                 required_label: str, proficient_label: str) -> Axes:
    """One row per competency: the person's level as a bar, the required level as a black mark.

    Bars below the requirement are orange, others blue, so colour is never the only cue:
    the mark shows where the requirement is.
    """
    positions = np.arange(len(labels))[::-1]
    values = [level or 0 for level in levels]
    colours = [BELOW if need is not None and (level or 0) < need else MET for level, need in zip(levels, required)]
    ax.barh(positions, values, color=colours, height=0.65, zorder=2)
    marks = [(position, need) for position, need in zip(positions, required) if need is not None]
    if marks:
        ax.scatter([need for _, need in marks], [position for position, _ in marks], marker="|", s=120,
                   linewidths=2.5, color=REQUIRED, zorder=3)
    ax.axvline(proficient_level, color="#777777", linestyle="--", linewidth=1, zorder=1)
    size = legible_points(ax.figure)
    ax.set_yticks(positions, labels)
    ax.tick_params(labelsize=size)
    ax.set_xlim(0, max_level + 0.3)
    ax.set_xticks(range(0, max_level + 1))
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel, fontsize=size)
    ax.grid(axis="x", color="#dddddd", zorder=0)
    handles = [Patch(color=MET, label=level_label), Patch(color=BELOW, label=below_label),
               Line2D([], [], marker="|", markersize=12, markeredgewidth=2.5, linestyle="none", color=REQUIRED,
                      label=required_label),
               Line2D([], [], color="#777777", linestyle="--", linewidth=1, label=proficient_label)]
    ax.figure.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, fontsize=size)
    return ax


HEATMAP_DPI = 110
PEOPLE_LABEL_LIMIT = 60  # beyond this many people, columns are too narrow to name


def heatmap_size(people: int, competencies: int) -> tuple[float, float]:
    """(width, height) in inches: competencies are rows, people columns; wide cohorts get narrower columns."""
    column = 0.24 if people <= PEOPLE_LABEL_LIMIT else max(12.0 / max(people, 1), 0.02)
    width = min(max(6.0, 3.2 + column * people), 16.0)
    names = 1.6 if people <= PEOPLE_LABEL_LIMIT else 0.5
    return width, max(2.5, 0.22 * competencies + names + 0.6)


def gap_heatmap(ax: Axes, people: Sequence[str], competencies: Sequence[str], gaps: np.ndarray,
                required: np.ndarray, *, colorbar_label: str, not_required_label: str) -> Axes:
    """Competencies (rows) × people (columns); each cell is the gap to the required level (0 = met).

    ``gaps`` and ``required`` are people × competencies arrays (as ``GapMatrix`` has them);
    cells where nothing is required are grey. Small matrices get the gaps written in the
    cells; more than ``PEOPLE_LABEL_LIMIT`` people are drawn without names.
    """
    gaps = np.asarray(gaps, dtype=float).T
    needed = np.asarray(required).T > 0
    shown = np.where(needed, np.minimum(gaps, len(GAP_COLOURS) - 1), np.nan)
    cmap = ListedColormap(GAP_COLOURS).with_extremes(bad=NOT_REQUIRED)
    norm = BoundaryNorm(np.arange(-0.5, len(GAP_COLOURS) + 0.5), cmap.N)
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(competencies)), competencies, fontsize=9)
    if len(people) <= PEOPLE_LABEL_LIMIT:
        ax.set_xticks(range(len(people)), people, rotation=90, fontsize=9)
        ax.set_xticks(np.arange(-0.5, len(people)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(competencies)), minor=True)
        ax.grid(which="minor", color="#ffffff", linewidth=1)
        for (row, column), value in np.ndenumerate(shown):
            if not np.isnan(value) and gaps[row, column] > 0:
                ax.text(column, row, str(int(gaps[row, column])), ha="center", va="center", fontsize=8,
                        color="#ffffff" if value >= 3 else "#1b1b1b")
    else:
        ax.set_xticks([])
    ax.tick_params(which="both", length=0)
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(not_required_label, fontsize=9, color="#555555")
    bar = ax.figure.colorbar(image, ax=ax, ticks=range(len(GAP_COLOURS)), shrink=0.6, pad=0.02, aspect=30)
    bar.ax.set_yticklabels([*(str(value) for value in range(len(GAP_COLOURS) - 1)), f"{len(GAP_COLOURS) - 1}+"])
    bar.set_label(colorbar_label, fontsize=10)
    return ax
