"""``python -m course report``: what the cohort got wrong, as one HTML page and two CSV files.

``reports/<assignment>/index.html`` is self-contained (styles inline, figures
embedded as base64 PNG, no script), so it opens offline and can be mailed; the
CSV files are written by :mod:`course.grading.items.item_csv`. Student ids appear only
with ``names=True`` (``--names``), in a per-learner table.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from course.grading.coursedir import check_assignment, course_root, load_config
from course.grading.items.cohort import read_cohort
from course.grading.items.item_analysis import (
    MIN_GROUP,
    NOT_RECORDED,
    Analysis,
    ItemStats,
    analyse,
    common_mistakes,
)
from course.grading.items.item_csv import OUTCOMES, number, write_csvs
from course.grading.items.item_plots import (
    answer_bars,
    difficulty_discrimination,
    png,
    score_histogram,
)
from course.grading.judging.verdicts import BLANK, INVALID, MISTAKE, RIGHT, UNGRADED, WRONG

REPORTS = "reports"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 62rem; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f4f4f4; text-align: left; } td.n { text-align: right; white-space: nowrap; }
.flag { color: #a61b1b; } .muted { color: #666; font-size: 0.9rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #444; }
.summary td:first-child { font-weight: 600; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


CODE, EMPHASIS = re.compile(r"`([^`]+)`"), re.compile(r"\*([^*\s][^*]*)\*")


def _inline(text: str) -> str:
    """Escape a check's message and render its `code` and *emphasis* as the notebook does."""
    return EMPHASIS.sub(r"<em>\1</em>", CODE.sub(r"<code>\1</code>", _e(text)))


def _learners(count: int) -> str:
    return f"{count} learner" + ("" if count == 1 else "s")


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th scope='col'>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td class='n'>{cell}</td>" if i in numeric else f"<td>{cell}</td>"
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(image: bytes, alt: str, caption: str, name: str) -> str:
    data = base64.b64encode(image).decode("ascii")
    return (f"<figure id='{name}'><img src='data:image/png;base64,{data}' alt='{_e(alt)}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _overview(analysis: Analysis, names: bool) -> str:
    cohort = analysis.cohort
    totals = analysis.totals

    def who(group: list[str]) -> str:
        return f"{len(group)}" + (f" ({_e(', '.join(group))})" if names and group else "")

    rows = [["graded submissions analysed (attempted at least one exercise)", str(len(totals))],
            ["blank (no exercise attempted): left out of every figure, since a few zeros "
             "make every exercise look discriminating", who([b.student for b in cohort.blank])],
            ["held for review (not analysed until a human has graded them)", who(cohort.held)],
            ["with a cell stopped by the time limit", who(cohort.timed_out)],
            ["with written answers still to mark by hand", who(cohort.by_hand)],
            ["in the gradebook without a submission", who(cohort.missing)],
            ["graded, but no readable autograded notebook", who(cohort.no_notebook)]]
    if analysis.enough:
        rows += [["mean autograded score",
                  f"{totals.mean():.1f} of {analysis.max_total:g} (median {_median(totals)})"],
                 ["reliability: KR-20 (right or not)", number(analysis.kr20, 2) or "n/a"],
                 ["reliability: Cronbach's alpha (points)", number(analysis.alpha, 2) or "n/a"]]
    return "<table class='summary'><tbody>" + "".join(
        f"<tr><td>{_e(a)}</td><td>{b}</td></tr>" for a, b in rows) + "</tbody></table>"


def _median(totals: np.ndarray) -> str:
    return f"{float(np.median(totals)):g}"


def _attention(analysis: Analysis) -> str:
    flagged = [s for s in analysis.items if s.flags]
    if not flagged:
        return "<p>No exercise looks broken: none is failed by nearly everyone, none has a " \
               "negative discrimination, none draws one unrecognised answer from many.</p>"
    items = "".join(f"<li><a href='#ex-{_e(s.item.exercise)}'><code>{_e(s.item.exercise)}"
                    f"</code></a>: " + "; ".join(f"<span class='flag'>{_e(f)}</span>"
                                                 for f in s.flags) + "</li>" for s in flagged)
    return f"<ul>{items}</ul>"


def _item_table(analysis: Analysis) -> str:
    rows = [[f"<a href='#ex-{_e(s.item.exercise)}'><code>{_e(s.item.exercise)}</code></a>",
             f"{s.item.points:g}", f"{s.mean_score:.2f}", _pct(s.share_correct), _e(s.level),
             number(s.discrimination, 2) or "n/a", _pct(s.share(BLANK)),
             _pct(s.share(MISTAKE)), _pct(s.share(WRONG, INVALID, UNGRADED)),
             "<span class='flag'>⚑ check</span>" if s.flags else ""]
            for s in analysis.items]
    return _table(["exercise", "points", "mean points", "right", "level", "discrimination",
                   "not attempted", "named mistake", "other wrong", "flag"], rows,
                  {1, 2, 3, 5, 6, 7, 8})


def _mistakes(analysis: Analysis) -> str:
    ranked = common_mistakes(analysis.items)
    if not ranked:
        return "<p>No mistake was made by anyone.</p>"
    rows = [[str(rank), f"<code>{_e(exercise)}</code>",
             _e(answer.label) if answer.status == MISTAKE else
             f"unrecognised value {_e(answer.label)}", str(answer.learners), _pct(answer.share)]
            for rank, (exercise, answer) in enumerate(ranked, start=1)]
    return _table(["rank", "exercise", "mistake", "learners", "share"], rows, {0, 3, 4})


def _answers_section(stats: ItemStats) -> str:
    rows = [[_e(OUTCOMES[a.status]), _inline(a.label) if a.label else "",
             str(a.learners), _pct(a.share),
             _pct(a.rest_mean) if a.rest_mean is not None else
             (f"<span class='muted'>fewer than {MIN_GROUP}</span>" if a.learners else "")]
            for a in stats.answers if a.status != WRONG]
    unknown = [a for a in stats.answers if a.status == WRONG]
    listed = ", ".join(f"<code>{_e(a.label)}</code> × {a.learners}"
                       for a in unknown if a.label != NOT_RECORDED)
    unrecorded = sum(a.learners for a in unknown if a.label == NOT_RECORDED)
    extra = ""
    if unknown:
        extra = (f"<p>Unrecognised answers ({_learners(sum(a.learners for a in unknown))}), "
                 "by value, without who gave them: " + (listed or "none recorded") + "."
                 + (f" {unrecorded} were graded before the grader recorded values."
                    if unrecorded else "")
                 + " Add the common ones to <code>exercises.toml</code> as wrong answers.</p>")
    flags = "".join(f"<p class='flag'>⚑ {_e(f)}</p>" for f in stats.flags)
    return (f"<h3 id='ex-{_e(stats.item.exercise)}'><code>{_e(stats.item.exercise)}</code> "
            f"<span class='muted'>({stats.item.points:g} points, {_pct(stats.share_correct)} "
            f"right)</span></h3>{flags}"
            + _table(["outcome", "what it means (the learner's message)", "learners", "share",
                      "their mean score on the rest"], rows, {2, 3, 4}) + extra)


def _learner_table(analysis: Analysis) -> str:
    marks = {RIGHT: "✔", MISTAKE: "M", WRONG: "✘", INVALID: "!", BLANK: "·", UNGRADED: "?"}
    header = ["student", "total", *[s.item.exercise for s in analysis.items]]
    rows = [[_e(learner.student), f"{learner.total:g}",
             *[marks[learner.responses[s.item.exercise].verdict.status] for s in analysis.items]]
            for learner in analysis.cohort.learners]
    return ("<h2 id='learners'>Learners (shown because of --names)</h2><p class='muted'>✔ right, "
            "M named mistake, ✘ unrecognised, ! invalid, · not attempted, ? not graded.</p>"
            + _table(header, rows, {1}))


def _figures(analysis: Analysis) -> str:
    return "".join([
        _figure(png(difficulty_discrimination(analysis)),
                "Scatter plot: each exercise's share of learners right against its "
                "discrimination; flagged exercises are red crosses.",
                "Each point is an exercise. Good exercises sit above the dotted line; those "
                "in the red band rank learners the wrong way round.", "difficulty-discrimination"),
        _figure(png(answer_bars(analysis)),
                "Stacked bars per exercise: share right, named mistake, other wrong answer and "
                "not attempted.",
                "Orange is a mistake the exercise names; purple an answer it does not "
                "recognise yet.", "answers-per-exercise"),
        _figure(png(score_histogram(analysis)),
                "Histogram of the learners' autograded points.",
                "How the autograded totals spread across the cohort.", "score-histogram"),
    ])


def _body(analysis: Analysis, names: bool) -> str:
    cohort = analysis.cohort
    parts = [f"<h1>What the cohort got wrong: {_e(cohort.assignment)}</h1>",
             f"<p class='muted'>Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
             f"<code>python -m course report {_e(cohort.assignment)}</code> from the gradebook and "
             "the autograded notebooks. Autograded exercises only; written answers are graded "
             "by hand. " + ("Student ids are shown (--names)." if names else
                            "No student ids are shown.") + "</p>",
             "<h2>Overview</h2>", _overview(analysis, names)]
    if not analysis.enough:
        parts.append(f"<p class='flag'>Fewer than {MIN_GROUP} graded submissions: per-exercise "
                     "figures would describe individual learners, so they are not shown.</p>")
        return "".join(parts)
    parts += ["<h2>Exercises to look at</h2>", _attention(analysis),
              "<h2>Figures</h2>", _figures(analysis),
              "<h2>Most common mistakes, across exercises</h2>", _mistakes(analysis),
              "<h2>Every exercise</h2>", _item_table(analysis), _GLOSSARY,
              "<h2>Answers, per exercise</h2>",
              *[_answers_section(s) for s in analysis.items]]
    if names:
        parts.append(_learner_table(analysis))
    if cohort.from_outputs:
        parts.append(f"<p class='muted'>{cohort.from_outputs} of "
                     f"{cohort.from_outputs + cohort.from_metadata} verdicts were read from the "
                     "checks' messages (notebooks graded before the grader recorded verdicts); "
                     "unrecognised values are not known for those.</p>")
    return "".join(parts)


_GLOSSARY = (
    "<p class='muted'><b>right</b>: share with full points (its difficulty). "
    "<b>level</b>: hard (at most 30% right), medium, or easy (at least 90% right). "
    "<b>discrimination</b>: the correlation between an exercise's score and the score on the "
    "rest of the assignment (point-biserial); above 0.2 the exercise separates stronger from "
    "weaker learners, below 0 it ranks them the wrong way round. "
    "<b>KR-20 / alpha</b>: how consistently the exercises measure one thing (0.7 or more is "
    f"usual for a test; a short quiz is often lower). Groups smaller than {MIN_GROUP} learners "
    "are not described separately.</p>")


def render_html(analysis: Analysis, names: bool = False) -> str:
    """Return the report as one self-contained HTML page."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>What the cohort got wrong: {_e(analysis.cohort.assignment)}</title>"
            f"<style>{STYLE}</style></head><body>{_body(analysis, names)}</body></html>\n")


def write_report(course_dir: Path, assignment: str, names: bool = False,
                 output: Path | None = None) -> Path:
    """Analyse ``assignment``'s graded cohort; write index.html and the CSVs; return the folder."""
    root = course_root(course_dir)
    check_assignment(root, load_config(root), assignment)
    analysis = analyse(read_cohort(root, assignment))
    folder = output or root / REPORTS / assignment
    folder.mkdir(parents=True, exist_ok=True)
    write_csvs(analysis, folder, names)
    (folder / "index.html").write_text(render_html(analysis, names), encoding="utf-8")
    return folder
