"""Item analysis of a graded cohort: what each exercise measured, and what learners got wrong.

Per exercise: the share of learners right (its difficulty), its discrimination
(the point-biserial correlation between the exercise's score and the
rest-of-assignment score, so the exercise is not correlated with itself), the
share not attempted, the answers given (each named mistake of the exercise spec,
each unrecognised value, each kind of invalid value), and flags for an exercise
that looks broken. For the assignment: KR-20 and Cronbach's alpha.

Privacy: nothing here names a learner. Statistics about a group of learners
(the cohort, or those who gave one answer) are computed only for groups of at
least :data:`MIN_GROUP`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from course import checks
from course.checks import DATA_PACKAGE
from course.grading.items.cohort import Cohort, Item
from course.grading.judging.verdicts import (
    BLANK,
    INVALID,
    MISTAKE,
    RIGHT,
    UNGRADED,
    WRONG,
    invalid_reason,
)

#: The smallest group of learners whose results the report describes.
MIN_GROUP = 5
#: Fewer than this share right, among those who answered: nearly everyone wrong.
NEARLY_ALL_WRONG = 0.2
#: One unrecognised answer from at least this share of those who answered.
SAME_WRONG = 1 / 3
#: Difficulty labels: at most HARD right is hard, at least EASY right is easy.
HARD, EASY = 0.3, 0.9
NOT_RECORDED = "(value not recorded by this grading run)"
#: Shown instead of an answer that is some learner's id (a name typed as a text answer).
REDACTED = "(withheld: matches a student id)"


@dataclass(frozen=True)
class Answer:
    """One kind of answer to an exercise and how many learners gave it."""

    status: str
    label: str
    learners: int
    share: float
    rest_mean: float | None = None


@dataclass
class ItemStats:
    """The item analysis of one exercise."""

    item: Item
    learners: int
    mean_score: float
    share_correct: float
    discrimination: float | None
    counts: dict[str, int]
    answers: list[Answer] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def share(self, *statuses: str) -> float:
        """Return the share of learners whose verdict has one of ``statuses``."""
        given = sum(self.counts.get(s, 0) for s in statuses)
        return given / self.learners if self.learners else 0.0

    @property
    def level(self) -> str:
        """"hard" (at most 30% right), "easy" (at least 90%) or "medium", from the share right."""
        if self.share_correct <= HARD:
            return "hard"
        return "easy" if self.share_correct >= EASY else "medium"


@dataclass
class Analysis:
    """The item analysis of one assignment."""

    cohort: Cohort
    items: list[ItemStats]
    totals: np.ndarray
    max_total: float
    kr20: float | None
    alpha: float | None

    @property
    def enough(self) -> bool:
        """Whether the cohort is large enough to describe (at least MIN_GROUP learners)."""
        return len(self.totals) >= MIN_GROUP


def named_mistakes(assignment: str) -> dict[str, list[str]]:
    """Each exercise's named mistakes (the spec's ``says`` texts), from its exercise data."""
    try:
        text = resources.files(DATA_PACKAGE).joinpath(f"{assignment}.json").read_text("utf-8")
    except FileNotFoundError:
        return {}
    exercises = json.loads(text).get("exercises", {})
    return {name: list(dict.fromkeys(checks.plain(s) for s in entry.get("wrong", {}).values()))
            for name, entry in exercises.items()}


def point_biserial(item: np.ndarray, rest: np.ndarray) -> float | None:
    """Pearson correlation of an item's scores with the rest scores (None if either is constant).

    For an item scored right or wrong this is the point-biserial correlation.
    """
    if len(item) < 2 or np.std(item) == 0 or np.std(rest) == 0:
        return None
    return float(np.corrcoef(item, rest)[0, 1])


def kr20(correct: np.ndarray) -> float | None:
    """Kuder-Richardson 20 of a learners x items matrix of 1 (right) and 0 (not right)."""
    learners, k = correct.shape
    total_var = np.var(correct.sum(axis=1))
    if k < 2 or learners < 2 or total_var == 0:
        return None
    p = correct.mean(axis=0)
    return float(k / (k - 1) * (1 - np.sum(p * (1 - p)) / total_var))


def cronbach_alpha(scores: np.ndarray) -> float | None:
    """Cronbach's alpha of a learners x items matrix of points."""
    learners, k = scores.shape
    total_var = np.var(scores.sum(axis=1), ddof=1) if learners > 1 else 0.0
    if k < 2 or total_var == 0:
        return None
    return float(k / (k - 1) * (1 - np.var(scores, axis=0, ddof=1).sum() / total_var))


def _rest_mean(rest_share: np.ndarray, chosen: np.ndarray) -> float | None:
    count = int(chosen.sum())
    return float(rest_share[chosen].mean()) if count >= MIN_GROUP else None


def _answers(statuses: list[str], labels: list[str], catalogue: list[str],
             rest_share: np.ndarray) -> list[Answer]:
    """Every answer given (and every named mistake, even if nobody made it), by status."""
    pairs = list(zip(statuses, labels, strict=True))
    groups = Counter(pairs)
    for says in catalogue:
        groups.setdefault((MISTAKE, says), 0)
    order = {RIGHT: 0, MISTAKE: 1, WRONG: 2, INVALID: 3, BLANK: 4, UNGRADED: 5}
    answers = []
    for group in sorted(groups, key=lambda g: (order[g[0]], -groups[g], g[1])):
        chosen = np.array([pair == group for pair in pairs], dtype=bool)
        answers.append(Answer(*group, groups[group], groups[group] / len(pairs) if pairs else 0.0,
                              _rest_mean(rest_share, chosen)))
    return answers


def student_ids(cohort: Cohort) -> set[str]:
    """Every student id the cohort knows, folded for comparison."""
    return {s.casefold() for s in [*(learner.student for learner in cohort.learners),
                                   *(learner.student for learner in cohort.blank),
                                   *cohort.held, *cohort.missing, *cohort.no_notebook]}


def _label(status: str, says: str, key: str | None, ids: set[str]) -> str:
    if status == MISTAKE:
        return says
    if status == WRONG:
        if key is None:
            return NOT_RECORDED
        return REDACTED if key.strip().strip("'\"").casefold() in ids else key
    if status == INVALID:
        return invalid_reason(says)
    return ""


def _flags(stats: ItemStats) -> list[str]:
    flags = []
    answered = stats.learners - stats.counts.get(BLANK, 0)
    right = stats.counts.get(RIGHT, 0)
    if answered >= MIN_GROUP and right / answered < NEARLY_ALL_WRONG:
        flags.append(f"nearly everyone wrong: {right} of {answered} who answered are right")
    if stats.discrimination is not None and stats.discrimination < 0:
        flags.append(f"negative discrimination ({stats.discrimination:.2f}): learners who did "
                     "better on the rest of the assignment did worse here")
    unknown = [a for a in stats.answers if a.status == WRONG and a.label != NOT_RECORDED]
    top = max(unknown, key=lambda a: a.learners, default=None)
    if top and answered and top.learners >= MIN_GROUP and top.learners / answered >= SAME_WRONG:
        flags.append(f"{top.learners} of {answered} who answered gave the same unrecognised "
                     f"answer ({top.label}): is the expected answer out of date?")
    return flags


def _item_stats(item: Item, column: int, scores: np.ndarray, cohort: Cohort,
                catalogue: list[str]) -> ItemStats:
    verdicts = [learner.responses[item.exercise].verdict for learner in cohort.learners]
    statuses = [v.status for v in verdicts]
    fraction = scores[:, column] / item.points if item.points else np.zeros(len(scores))
    rest = scores.sum(axis=1) - scores[:, column]
    rest_max = sum(i.points for i in cohort.items) - item.points
    rest_share = rest / rest_max if rest_max else np.zeros(len(rest))
    stats = ItemStats(item, len(statuses), float(scores[:, column].mean()) if len(scores) else 0.0,
                      float(np.mean(np.isclose(fraction, 1.0))) if len(scores) else 0.0,
                      point_biserial(fraction, rest), dict(Counter(statuses)))
    labels = [_label(v.status, v.says, v.key, student_ids(cohort)) for v in verdicts]
    stats.answers = _answers(statuses, labels, catalogue, rest_share)
    stats.flags = _flags(stats)
    return stats


def score_matrix(cohort: Cohort, learners: list | None = None) -> np.ndarray:
    """Return the learners x exercises matrix of points (default: the cohort's learners)."""
    learners = cohort.learners if learners is None else learners
    return np.array([[learner.responses[item.exercise].score for item in cohort.items]
                     for learner in learners], dtype=float).reshape(
        len(learners), len(cohort.items))


#: Discrimination that separates learners; at least this with the blank submissions and under
#: it without them: driven by the blanks.
GOOD = 0.2


def blank_flags(cohort: Cohort, items: list[ItemStats]) -> None:
    """Flag exercises whose discrimination comes from the blank submissions, not the answers."""
    if not cohort.blank:
        return
    every = score_matrix(cohort, [*cohort.learners, *cohort.blank])
    for column, stats in enumerate(items):
        points = stats.item.points or 1.0
        rest = every.sum(axis=1) - every[:, column]
        with_blanks = point_biserial(every[:, column] / points, rest)
        without = stats.discrimination
        if with_blanks is not None and with_blanks >= GOOD and (without is None
                                                                      or without < GOOD):
            stats.flags.append(
                f"discrimination driven by blank submissions: {with_blanks:.2f} with the "
                f"{len(cohort.blank)} blank, {'n/a' if without is None else f'{without:.2f}'} "
                "among those who attempted")


def common_mistakes(items: list[ItemStats], top: int = 10) -> list[tuple[str, Answer]]:
    """Return the most common named and unrecognised mistakes across exercises, most first."""
    found = [(s.item.exercise, a) for s in items for a in s.answers
             if a.status in (MISTAKE, WRONG) and a.learners and a.label != NOT_RECORDED]
    return sorted(found, key=lambda pair: (-pair[1].learners, pair[0], pair[1].label))[:top]


def analyse(cohort: Cohort, catalogue: dict[str, list[str]] | None = None) -> Analysis:
    """Return the item analysis of ``cohort`` (named mistakes from the exercise data by default)."""
    if catalogue is None:
        catalogue = named_mistakes(cohort.assignment)
    scores = score_matrix(cohort)
    points = np.array([item.points for item in cohort.items], dtype=float)
    correct = np.isclose(scores, points).astype(float)
    items = [_item_stats(item, j, scores, cohort, catalogue.get(item.exercise, []))
             for j, item in enumerate(cohort.items)]
    blank_flags(cohort, items)
    return Analysis(cohort, items, scores.sum(axis=1), float(points.sum()),
                    kr20(correct), cronbach_alpha(scores))
