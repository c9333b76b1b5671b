"""The item report's figures, drawn with matplotlib and returned as PNG bytes.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot), so
drawing them changes no global state and needs no display.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from course.grading.item_analysis import Analysis
from course.grading.verdicts import BLANK, INVALID, MISTAKE, RIGHT, UNGRADED, WRONG

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


def difficulty_discrimination(analysis: Analysis) -> Figure:
    """Scatter of each exercise's share right against its discrimination, labelled."""
    figure = Figure(figsize=(7.5, 5.2))
    ax = figure.add_subplot()
    ax.axhspan(-1, 0, color="#fbe3e3", zorder=0)
    ax.axhline(0.2, color="#999999", linestyle=":", linewidth=1)
    ax.axhline(0, color="#c0392b", linewidth=1)
    for stats in analysis.items:
        y = stats.discrimination if stats.discrimination is not None else 0.0
        colour = "#c0392b" if stats.flags else "#2166ac"
        marker = "X" if stats.flags else "o"
        ax.scatter(stats.share_correct, y, s=60, color=colour, marker=marker, zorder=3)
        ax.annotate(stats.item.exercise, (stats.share_correct, y), xytext=(5, 4),
                    textcoords="offset points", fontsize=8)
    ax.set_xlim(-0.05, 1.1)
    lows = [s.discrimination for s in analysis.items if s.discrimination is not None]
    ax.set_ylim(min([-0.2, *lows]) - 0.05, max([0.8, *lows]) + 0.1)
    ax.set_xlabel("share of learners right (difficulty: left is hard)")
    ax.set_ylabel("discrimination (correlation with the rest score)")
    ax.set_title(f"{analysis.cohort.assignment}: which exercises separate stronger from "
                 "weaker learners", fontsize=10)
    ax.text(0.0, -0.04, "red band: negative discrimination; dotted line: 0.2; "
            "red crosses: flagged", transform=ax.transAxes, fontsize=7, va="top")
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
    ax.hist(analysis.totals, bins=np.linspace(0, top, min(int(top), 20) + 1),
            color="#2166ac", edgecolor="white")
    ax.set_xlim(0, top)
    ax.set_xlabel(f"autograded points (out of {top:g})")
    ax.set_ylabel("learners")
    ax.set_title(f"{analysis.cohort.assignment}: score distribution", fontsize=10)
    return figure

