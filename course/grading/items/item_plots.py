"""The item report's figures, drawn with matplotlib and returned as PNG bytes.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot), so
drawing them changes no global state and needs no display.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from course.grading.items.item_analysis import Analysis
from course.grading.judging.verdicts import BLANK, INVALID, MISTAKE, RIGHT, UNGRADED, WRONG

#: The stacked bars' parts: label, the statuses it counts, colour (colour-blind safe).
PARTS = [
    ("right", (RIGHT,), "#1b7837"),
    ("named mistake", (MISTAKE,), "#e08214"),
    ("other wrong or invalid", (WRONG, INVALID, UNGRADED), "#8073ac"),
    ("not attempted", (BLANK,), "#bababa"),
]


def png(figure: Figure) -> bytes:
    """Return ``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def spread(wanted: list[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Place labels near ``wanted`` (highest first), at least ``gap`` apart, within [low, high]."""
    if len(wanted) > 1:
        gap = min(gap, (high - low) / (len(wanted) - 1))
    placed: list[float] = []
    for y in wanted:
        placed.append(min(y, high) if not placed else min(y, placed[-1] - gap))
    lift = low - placed[-1] if placed else 0.0
    return [min(p + lift, high) for p in placed] if lift > 0 else placed


def difficulty_discrimination(analysis: Analysis) -> Figure:
    """Scatter of each exercise's share right against its discrimination.

    Each point is joined to its exercise's name in a column right of the plot,
    so that names never overlap however close the points are.
    """
    figure = Figure(figsize=(8.5, 5.6))
    ax = figure.add_subplot()
    values = [s.discrimination for s in analysis.items if s.discrimination is not None]
    bottom, top = min([-0.2, *values]) - 0.05, max([0.8, *values]) + 0.05
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(bottom, top)
    ax.axhspan(bottom, 0, color="#fbe3e3", zorder=0, label="negative discrimination")
    ax.axhline(0.2, color="#777777", linestyle=":", linewidth=1,
               label="0.2: above it, the exercise separates well")
    points = sorted(((s.share_correct, s.discrimination or 0.0, s) for s in analysis.items),
                    key=lambda p: (-p[1], p[0]))
    ideal = [(y - bottom) / (top - bottom) for _, y, _ in points]
    for (x, y, stats), label_y in zip(points, spread(ideal, 0.05), strict=True):
        colour = "#c0392b" if stats.flags else "#2166ac"
        undefined = stats.discrimination is None  # everyone scored the same: no correlation
        ax.scatter(x, y, s=55, marker="X" if stats.flags else "o", zorder=3,
                   facecolors="none" if undefined else colour, edgecolors=colour)
        label = f"{stats.item.exercise} (n/a)" if undefined else stats.item.exercise
        ax.annotate(label, (x, y), xytext=(1.04, label_y),
                    textcoords="axes fraction", va="center", fontsize=8, color=colour,
                    annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "#aaaaaa", "linewidth": 0.6})
    ax.scatter([], [], color="#2166ac", label="exercise")
    ax.scatter([], [], color="#c0392b", marker="X", label="flagged exercise: check it")
    ax.set_xlabel("share of learners right (difficulty: left is hard)")
    ax.set_ylabel("discrimination (correlation with the rest score)")
    ax.set_title(f"{analysis.cohort.assignment}: which exercises separate stronger from "
                 "weaker learners", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8,
              frameon=False)
    return figure


def answer_bars(analysis: Analysis) -> Figure:
    """Stacked horizontal bars per exercise: right, named mistake, other, not attempted."""
    items = analysis.items
    figure = Figure(figsize=(7.5, 0.38 * len(items) + 1.6))
    ax = figure.add_subplot()
    rows = np.arange(len(items))
    left = np.zeros(len(items))
    for label, statuses, colour in PARTS:
        shares = np.array([stats.share(*statuses) for stats in items])
        ax.barh(rows, shares, left=left, color=colour, label=label, edgecolor="white")
        left += shares
    ax.set_yticks(rows, [stats.item.exercise for stats in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of learners")
    ax.set_title(f"{analysis.cohort.assignment}: what learners answered, per exercise",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return figure


def score_histogram(analysis: Analysis) -> Figure:
    """Histogram of the learners' autograded totals."""
    figure = Figure(figsize=(7.5, 3.2))
    ax = figure.add_subplot()
    top = max(analysis.max_total, 1.0)
    whole = bool(np.all(analysis.totals == np.round(analysis.totals))) and top <= 60
    bins = np.arange(0, top + 2) - 0.5 if whole else np.linspace(0, top, 21)
    ax.hist(analysis.totals, bins=bins, color="#2166ac", edgecolor="white")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel(f"autograded points (out of {top:g})")
    ax.set_ylabel("learners")
    ax.set_title(f"{analysis.cohort.assignment}: score distribution", fontsize=10)
    return figure

