"""``python -m course report``: the item report on a synthetic cohort of 03_metrics.

Forty learners are drawn with known probabilities of each answer to each
exercise (right, each named mistake of the exercise spec, an unrecognised value,
an invalid value, blank), tied to a latent ability so that exercises
discriminate. One exercise is planted broken (most learners give the same
unrecognised value, whatever their ability) and one discriminates the wrong way
round. No kernel runs: the autograded notebooks are the release with each test
cell's verdict set (in its metadata, or as the check's output, as older grading
runs left it) and the gradebook is written with nbgrader's Gradebook API.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import functools
import io
import json
import math
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_output
from nbtools import (
    is_test_cell,
    make_course,
    read,
    release_path,
    solution_path,
    visible_part,
)
from scipy import stats as scipy_stats

from course import checks
from course.cli import main
from course.errors import CourseError
from course.grading.items import item_analysis, item_csv, item_plots, item_report
from course.grading.items.cohort import Cohort, Item, Learner, Response, read_cohort
from course.grading.judging import judge
from course.grading.judging.verdicts import (
    BLANK,
    INVALID,
    MISTAKE,
    RIGHT,
    WRONG,
    Verdict,
    exercise_of,
    from_outputs,
    invalid_reason,
    verdict_of,
)
from course.grading.records.gradebook import gradebook
from course.layout import put_venv_on_path

MODULE = "03_metrics"
LEARNERS = 40
SEED = 19
BROKEN = "cost_interval_width"
BROKEN_VALUE = "2.05e+02"
BACKWARDS = "answer_q4"
HELD, TIMED_OUT, MISSING = "learner_held", "learner_timeout", "learner_absent"
# Rates of each kind of answer, for every exercise but the two planted ones.
BLANK_RATE, INVALID_RATE, UNKNOWN_RATE = 0.05, 0.03, 0.05
MISTAKE_RATES = [0.15, 0.08, 0.04, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01]
UNKNOWN_VALUES = ["0.123", "0.456", "0.789"]


def student(i: int) -> str:
    """Ids with `_`, which base64 never contains, so a leak cannot hide in an image."""
    return f"learner_{i:02d}"


# --- the plan and the draw -------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One planted kind of answer: its status, label (says text or value) and probability."""

    status: str
    label: str
    rate: float


@functools.cache
def exercise_data() -> dict:
    text = resources.files(checks.DATA_PACKAGE).joinpath(f"{MODULE}.json").read_text("utf-8")
    return json.loads(text)["exercises"]


def plan_for(name: str, says: list[str]) -> tuple[list[Outcome], float]:
    """Planted outcomes from the weakest to the strongest learner, and the tie to ability."""
    if name == BROKEN:
        return [Outcome(BLANK, "", 0.05), Outcome(MISTAKE, says[0], 0.05),
                Outcome(WRONG, BROKEN_VALUE, 0.85), Outcome(RIGHT, "", 0.05)], 0.0
    mistakes = [Outcome(MISTAKE, s, r) for s, r in zip(says, MISTAKE_RATES, strict=False)]
    unknown = [Outcome(WRONG, v, UNKNOWN_RATE / len(UNKNOWN_VALUES)) for v in UNKNOWN_VALUES]
    wrong = [Outcome(BLANK, "", BLANK_RATE), Outcome(INVALID, "", INVALID_RATE), *unknown,
             *mistakes]
    right = 1 - sum(o.rate for o in wrong)
    return [*wrong, Outcome(RIGHT, "", right)], (-0.9 if name == BACKWARDS else 0.75)


@dataclass
class Draw:
    """The synthetic cohort: each learner's planted outcome per exercise, and the plans."""

    exercises: list[tuple[str, str, float]]  # name, grade id, points
    plans: dict[str, list[Outcome]]
    outcomes: list[dict[str, Outcome]]  # per learner

    def scores(self) -> np.ndarray:
        return np.array([[points if learner[name].status == RIGHT else 0.0
                          for name, _, points in self.exercises] for learner in self.outcomes])


def draw_cohort() -> Draw:
    release = read(release_path(MODULE))
    exercises = [(exercise_of(c), c.metadata.nbgrader.grade_id, float(c.metadata.nbgrader.points))
                 for c in release.cells if is_test_cell(c)]
    data = exercise_data()
    rng = np.random.default_rng(SEED)
    ability = rng.normal(size=LEARNERS)
    plans, outcomes = {}, [{} for _ in range(LEARNERS)]
    for name, _, _ in exercises:
        says = list(dict.fromkeys(checks.plain(s) for s in data[name]["wrong"].values()))
        plan, tie = plan_for(name, says)
        plans[name] = plan
        edges = np.cumsum([o.rate for o in plan])
        latent = tie * ability + math.sqrt(1 - tie**2) * rng.normal(size=LEARNERS)
        uniform = scipy_stats.norm.cdf(latent)  # uniform, so each outcome keeps its rate
        for i, u in enumerate(uniform):
            outcomes[i][name] = plan[min(int(np.searchsorted(edges, u)), len(plan) - 1)]
    return Draw(exercises, plans, outcomes)


# --- what the grader would have written ------------------------------------------------

def check_output(name: str, outcome: Outcome) -> dict:
    """The real check's output for this outcome, from course.checks itself."""
    entry = exercise_data()[name]
    kind, options = entry["kind"], entry.get("options", {})
    value = {"choice": "A", "count": 5}.get(kind, 0.5)
    key = checks.key_of(kind, name, value, **options)
    wrong = {checks.digest(MODULE, name, key): outcome.label} if outcome.status == MISTAKE else {}
    right = [checks.digest(MODULE, name, key)] if outcome.status == RIGHT else []
    check = checks.Exercises(MODULE, {name: {"kind": kind, "options": options, "right": right,
                                             "wrong": wrong, "hint": entry.get("hint", "")}})
    given = {BLANK: None, INVALID: "oops" if kind != "choice" else 7}.get(outcome.status, value)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(name, given)
    except checks.CheckFailed as error:
        return new_output("error", ename=type(error).__name__, evalue=str(error),
                          traceback=[str(error)])
    return new_output("stream", name="stdout", text=f"✔ `{name}` is correct.\n")


def verdict_metadata(name: str, outcome: Outcome) -> dict:
    says = outcome.label
    if outcome.status in (BLANK, INVALID):
        says = check_output(name, outcome)["evalue"]
    key = {RIGHT: "right-key", MISTAKE: f"mistake-{len(says)}", WRONG: outcome.label}
    return {"exercise": name, "status": outcome.status, "says": says,
            "key": key.get(outcome.status)}


def autograded(release, draw: Draw, learner: dict[str, Outcome], metadata: bool,
               timeout: bool = False):
    nb = copy.deepcopy(release)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        if timeout and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.outputs = [new_output("error", ename="CellTimeoutError", evalue="timed out",
                                       traceback=[])]
            timeout = False
        if not is_test_cell(cell):
            continue
        name = exercise_of(cell)
        if metadata:  # the verdict alone: without it the report would see "not graded"
            cell.metadata["course"] = {"verdict": verdict_metadata(name, learner[name])}
            cell.outputs, cell.execution_count = [], None
        else:
            cell.outputs = [check_output(name, learner[name])]
    return nb


def write_gradebook(root: Path, draw: Draw, students: dict[str, dict[str, Outcome]]) -> None:
    release = read(release_path(MODULE))
    put_venv_on_path()
    with gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment(MODULE)
        gb.update_or_create_notebook(MODULE, MODULE)
        for cell in release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                gb.update_or_create_grade_cell(meta["grade_id"], MODULE, MODULE,
                                               max_score=float(meta["points"]),
                                               cell_type=cell.cell_type)
        for sid in [*students, MISSING]:
            gb.update_or_create_student(sid)
        for sid, learner in students.items():
            submission = gb.add_submission(MODULE, sid)
            for grade in submission.notebooks[0].grades:
                if grade.cell.cell_type != "code":
                    continue  # the decision memo: left for the formgrader
                name = next(n for n, gid, _ in draw.exercises if gid == grade.name)
                right = learner[name].status == RIGHT
                grade.auto_score = grade.cell.max_score if right else 0.0
                grade.needs_manual_grade = sid in (HELD, TIMED_OUT)
        gb.db.commit()


def cohort_students(draw: Draw) -> dict[str, dict[str, Outcome]]:
    """The 40 learners, then two held for review (one of them timed out), all submitted."""
    students = {student(i): learner for i, learner in enumerate(draw.outcomes)}
    return {**students, HELD: draw.outcomes[0], TIMED_OUT: draw.outcomes[1]}


def build_course(tmp: Path, draw: Draw, database: Path, metadata: bool) -> Path:
    """A course with the cohort's gradebook and autograded notebooks (verdicts or outputs)."""
    root = make_course(tmp, [MODULE])
    shutil.copy(database, root / "gradebook.db")
    release = read(release_path(MODULE))
    for sid, learner in cohort_students(draw).items():
        folder = root / "autograded" / sid / MODULE
        folder.mkdir(parents=True)
        nb = autograded(release, draw, learner, metadata, timeout=sid == TIMED_OUT)
        nbformat.write(nb, folder / f"{MODULE}.ipynb")
    return root


# --- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def draw() -> Draw:
    return draw_cohort()


@pytest.fixture(scope="module")
def database(draw, tmp_path_factory) -> Path:
    """The cohort's gradebook, written once (a new gradebook costs an alembic run)."""
    folder = tmp_path_factory.mktemp("gradebook")
    write_gradebook(folder, draw, cohort_students(draw))
    return folder / "gradebook.db"


@pytest.fixture(scope="module")
def course(draw, database, tmp_path_factory) -> Path:
    """A course graded by a grader that writes verdicts, with its report written once."""
    root = build_course(tmp_path_factory.mktemp("verdicts"), draw, database, metadata=True)
    started = time.perf_counter()
    assert main(["report", MODULE, "--course-dir", str(root)]) == 0
    print(f"report of {LEARNERS} learners: {time.perf_counter() - started:.2f} s")
    return root


@pytest.fixture(scope="module")
def old_course(draw, database, tmp_path_factory) -> Path:
    """The same cohort graded before verdicts existed: only the checks' outputs."""
    return build_course(tmp_path_factory.mktemp("outputs"), draw, database, metadata=False)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def items(course) -> dict[str, dict[str, str]]:
    return {row["exercise"]: row for row in read_rows(course / "reports" / MODULE / "items.csv")}


@pytest.fixture(scope="module")
def answers(course) -> list[dict[str, str]]:
    return read_rows(course / "reports" / MODULE / "answers.csv")


# --- the report recovers what was planted ----------------------------------------------

def test_report_counts_each_named_mistake_exactly_and_within_sampling_error_of_its_rate(
        draw, answers):
    counted = {(r["exercise"], r["answer"]): int(r["learners"]) for r in answers
               if r["outcome"] == "named mistake"}
    checked = 0
    for name, plan in draw.plans.items():
        for outcome in (o for o in plan if o.status == MISTAKE):
            drawn = sum(learner[name] == outcome for learner in draw.outcomes)
            assert counted[name, outcome.label] == drawn, (name, outcome.label)
            margin = 3 * math.sqrt(outcome.rate * (1 - outcome.rate) / LEARNERS) + 1 / LEARNERS
            assert abs(drawn / LEARNERS - outcome.rate) <= margin, (name, outcome.label)
            checked += 1
    assert checked > 30
    # every named mistake of the spec is listed, even when nobody made it
    spec = {(n, checks.plain(s)) for n, e in exercise_data().items() for s in e["wrong"].values()}
    assert spec <= set(counted)


def test_report_recovers_each_exercise_share_right_blank_and_invalid(draw, items):
    for name, _, _ in draw.exercises:
        given = [learner[name].status for learner in draw.outcomes]
        row = items[name]
        assert row["learners"] == str(LEARNERS)
        assert float(row["share_correct"]) == pytest.approx(given.count(RIGHT) / LEARNERS,
                                                            abs=5e-4)
        assert float(row["share_not_attempted"]) == pytest.approx(
            given.count(BLANK) / LEARNERS, abs=5e-4)
        assert float(row["share_invalid"]) == pytest.approx(given.count(INVALID) / LEARNERS,
                                                            abs=5e-4)


def test_unrecognised_values_are_listed_by_value_with_counts(draw, answers):
    listed = {(r["exercise"], r["answer"]): int(r["learners"]) for r in answers
              if r["outcome"] == "unrecognised answer"}
    for name, _, _ in draw.exercises:
        values = [learner[name].label for learner in draw.outcomes
                  if learner[name].status == WRONG]
        for value in set(values):
            assert listed[name, value] == values.count(value)


def test_discrimination_matches_scipy_point_biserial_against_the_rest_score(draw, course, items):
    scores = draw.scores()
    analysis = item_analysis.analyse(read_cohort(course, MODULE))
    by_name = {s.item.exercise: s for s in analysis.items}
    for j, (name, _, points) in enumerate(draw.exercises):
        right = (scores[:, j] == points).astype(int)
        rest = scores.sum(axis=1) - scores[:, j]
        reference = scipy_stats.pointbiserialr(right, rest).statistic
        assert by_name[name].discrimination == pytest.approx(reference, abs=1e-9)
        assert float(items[name]["discrimination"]) == pytest.approx(reference, abs=5e-4)


def test_planted_broken_and_backwards_exercises_are_flagged_and_no_other(items):
    flagged = {name for name, row in items.items() if row["flags"]}
    assert flagged == {BROKEN, BACKWARDS}
    assert "nearly everyone wrong" in items[BROKEN]["flags"]
    assert f"same unrecognised answer ({BROKEN_VALUE})" in items[BROKEN]["flags"]
    assert "negative discrimination" in items[BACKWARDS]["flags"]
    assert float(items[BACKWARDS]["discrimination"]) < 0


def test_reliability_and_review_counts(course, draw):
    analysis = item_analysis.analyse(read_cohort(course, MODULE))
    scores = draw.scores()
    correct = (scores > 0).astype(float)
    k = correct.shape[1]
    total = correct.sum(axis=1)
    reference = k / (k - 1) * (1 - (correct.var(axis=0)).sum() / total.var())
    assert analysis.kr20 == pytest.approx(reference)
    weighted = k / (k - 1) * (1 - scores.var(axis=0, ddof=1).sum()
                              / scores.sum(axis=1).var(ddof=1))
    assert analysis.alpha == pytest.approx(weighted)
    assert 0.5 < analysis.kr20 < 1
    cohort = analysis.cohort
    assert (cohort.held, cohort.timed_out, cohort.missing) == (
        sorted([HELD, TIMED_OUT]), [TIMED_OUT], [MISSING])
    assert len(cohort.by_hand) == LEARNERS + 2  # the decision memo waits for the formgrader
    page = (course / "reports" / MODULE / "index.html").read_text(encoding="utf-8")
    assert "held for review (not analysed until a human has graded them)</td><td>2<" in page


def test_verdicts_from_older_grading_runs_are_read_from_the_checks_output(course, old_course):
    new = item_analysis.analyse(read_cohort(course, MODULE))
    old = item_analysis.analyse(read_cohort(old_course, MODULE))
    assert (new.cohort.from_metadata, new.cohort.from_outputs) == (LEARNERS * len(new.items), 0)
    assert (old.cohort.from_metadata, old.cohort.from_outputs) == (0, LEARNERS * len(old.items))
    for a, b in zip(new.items, old.items, strict=True):
        assert a.counts == b.counts, a.item.exercise
        assert a.discrimination == b.discrimination
        named = [(x.label, x.learners) for x in a.answers if x.status == MISTAKE]
        assert named == [(x.label, x.learners) for x in b.answers if x.status == MISTAKE]
        if a.item.exercise != BROKEN:
            assert a.flags == b.flags  # the broken one loses only its "same value" flag
    unknown = {x.label for s in old.items for x in s.answers if x.status == WRONG}
    assert unknown == {item_analysis.NOT_RECORDED}


@pytest.mark.parametrize(("ename", "message", "status", "says"), [
    ("NotAttempted", "… `f1` is not answered yet: replace None", BLANK, None),
    ("CheckFailed", "✘ `f1` is not right: that is the accuracy.", MISTAKE,
     "that is the accuracy."),
    ("CheckFailed", "✘ `f1` is not right yet (if you rounded: ...). Hint.", WRONG, None),
    ("CheckFailed", "✘ `f1` is not right.", WRONG, None),
    ("CheckFailed", "✘ `f1` should be a share between 0 and 1; you gave 48.7, which looks like "
                    "a percentage.", INVALID, None),
    ("NameError", "name 'f1' is not defined", INVALID, "NameError: name 'f1' is not defined"),
])
def test_each_check_message_gives_its_verdict(ename, message, status, says):
    cell = nbformat.v4.new_code_cell('check("f1", f1)', execution_count=3)
    cell.outputs = [new_output("error", ename=ename, evalue=message, traceback=[])]
    verdict = from_outputs(cell)
    assert (verdict.exercise, verdict.status) == ("f1", status)
    if says:
        assert verdict.says == says


@pytest.mark.parametrize(("exercise", "value", "status"), [
    ("answer_q1", "C", RIGHT), ("answer_q1", "A", MISTAKE), ("answer_q1", "E", INVALID),
    ("answer_q1", None, BLANK), ("precision", 0.123, WRONG), ("precision", 59.7, INVALID),
])
def test_the_graders_verdicts_read_the_same_from_metadata_and_from_outputs(
        exercise, value, status):
    """The grader's own judge writes both; the report reads either the same way."""
    source = read(solution_path(MODULE))
    cell = next(c for c in source.cells if is_test_cell(c) and exercise_of(c) == exercise)
    parsed = judge.parse(cell.source)
    judged = judge.judge(parsed, MODULE, dict.fromkeys(parsed.expressions(), value))
    cell.outputs, cell.metadata["course"] = judged.outputs, judged.metadata()
    written, from_meta = verdict_of(cell)
    assert from_meta and written.status == status
    del cell.metadata["course"]
    said, from_meta = verdict_of(cell)
    assert not from_meta and said.status == status
    assert said.says.removeprefix("✘ ") == written.says.removeprefix("✘ ").removeprefix("… ")
    if status == MISTAKE:
        assert written.says in map(checks.plain, exercise_data()[exercise]["wrong"].values())
    if status == WRONG:
        assert written.key == "0.123"


def test_invalid_values_are_grouped_without_the_value_given():
    assert invalid_reason("`p` should be a share between 0 and 1; you gave 59.7, which looks "
                          "like a percentage. A share ...") == (
        "`p` should be a share between 0 and 1 (a percentage?)")
    assert invalid_reason("`p` should be a number; you gave 'x' (a str).") == (
        "`p` should be a number")


# --- privacy ---------------------------------------------------------------------------

def test_no_student_id_appears_without_names_and_all_do_with_names(course, tmp_path):
    folder = course / "reports" / MODULE
    written = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    assert set(written) == {"index.html", "items.csv", "answers.csv"}
    ids = [student(i) for i in range(LEARNERS)] + [HELD, TIMED_OUT, MISSING]
    assert not [i for i in ids for text in written.values() if i in text]
    named = item_report.write_report(course, MODULE, names=True, output=tmp_path / "named")
    page = (named / "index.html").read_text(encoding="utf-8")
    assert all(i in page for i in ids)
    assert (named / "learners.csv").is_file()
    item_csv.write_csvs(item_analysis.analyse(read_cohort(course, MODULE)), named, names=False)
    assert not (named / "learners.csv").exists(), "ids outlived --names"


def small_cohort(size: int, wrong_value: str = "0.5") -> Cohort:
    items = [Item("a", "a_test", MODULE, 1.0), Item("b", "b_test", MODULE, 1.0)]
    learners = [Learner(f"s_{i}", {
        "a": Response(Verdict("a", RIGHT if i % 2 else WRONG, "", wrong_value), float(i % 2)),
        "b": Response(Verdict("b", RIGHT if i % 3 else BLANK), float(i % 3 > 0))})
        for i in range(size)]
    return Cohort(MODULE, items, learners)


def test_groups_smaller_than_five_are_not_described(tmp_path):
    few = item_analysis.analyse(small_cohort(4), {})
    assert not few.enough
    page = item_report.render_html(few)
    assert "Fewer than 5 graded submissions" in page and "<img" not in page
    item_csv.write_csvs(few, tmp_path, names=False)
    rows = read_rows(tmp_path / "items.csv")
    assert [r["share_correct"] for r in rows] == ["", ""]
    assert read_rows(tmp_path / "answers.csv") == []
    enough = item_analysis.analyse(small_cohort(12), {})
    means = {(a.status, a.learners): a.rest_mean for a in enough.items[1].answers}
    assert means[BLANK, 4] is None and means[RIGHT, 8] is not None


def test_an_unrecognised_value_equal_to_a_student_id_is_withheld(tmp_path):
    analysis = item_analysis.analyse(small_cohort(10, wrong_value="S_3"), {})
    item_csv.write_csvs(analysis, tmp_path, names=False)
    written = [(tmp_path / name).read_text(encoding="utf-8") for name in ("items.csv",
                                                                         "answers.csv")]
    written.append(item_report.render_html(analysis))
    assert not [text for text in written if "s_3" in text.casefold()]
    assert item_analysis.REDACTED in written[1]


def test_an_exercise_everyone_got_right_has_no_discrimination_and_still_plots():
    cohort = small_cohort(8)
    for learner in cohort.learners:
        learner.responses["b"] = Response(Verdict("b", RIGHT), 1.0)
    analysis = item_analysis.analyse(cohort, {})
    assert analysis.items[1].discrimination is None and analysis.items[1].level == "easy"
    assert analysis.items[1].flags == []
    row = item_csv.item_row(analysis.items[1])
    assert (row["discrimination"], row["share_correct"]) == ("", "1.000")
    assert "<img" in item_report.render_html(analysis)


def _blank_heavy() -> Cohort:
    """Eight learners who attempted, whose answers to a and b are unrelated; three blanks."""
    items = [Item("a", "a_test", MODULE, 1.0), Item("b", "b_test", MODULE, 1.0),
             Item("c", "c_test", MODULE, 1.0)]
    a = [1, 0, 1, 0, 1, 0, 1, 0]
    b = [1, 1, 0, 0, 1, 1, 0, 0]
    c = [1, 1, 1, 1, 0, 0, 0, 0]

    def response(name: str, right: int, i: int) -> Response:
        mistake = Verdict(name, MISTAKE, f"{name}'s usual mistake") if i % 4 else \
            Verdict(name, WRONG, "", "0.5")
        return Response(Verdict(name, RIGHT) if right else mistake, float(right))

    learners = [Learner(f"s_{i}", {"a": response("a", a[i], i), "b": response("b", b[i], i),
                                   "c": response("c", c[i], i)}) for i in range(8)]
    blanks = [Learner(f"blank_{i}", {n: Response(Verdict(n, BLANK), 0.0) for n in "abc"})
              for i in range(3)]
    return Cohort(MODULE, items, learners, blank=blanks)


def test_blank_submissions_are_left_out_and_flagged_where_they_drive_discrimination():
    analysis = item_analysis.analyse(_blank_heavy(), {})
    assert len(analysis.totals) == 8, "statistics on the attempted submissions only"
    flags = {s.item.exercise: s.flags for s in analysis.items}
    driven = [f for f in flags["a"] if "driven by blank submissions" in f]
    assert driven and "with the 3 blank" in driven[0], flags
    assert all(s.level in ("hard", "medium", "easy") for s in analysis.items)
    page = item_report.render_html(analysis)
    assert "blank (no exercise attempted)" in page and "No exercise looks broken" not in page
    assert "blank_0" not in page, "no ids without --names"


def test_the_most_common_mistakes_are_ranked_across_exercises():
    ranked = item_analysis.common_mistakes(item_analysis.analyse(_blank_heavy(), {}).items)
    counts = [answer.learners for _, answer in ranked]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2
    assert {exercise for exercise, _ in ranked} == {"a", "b", "c"}
    page = item_report.render_html(item_analysis.analyse(_blank_heavy(), {}))
    assert "Most common mistakes, across exercises" in page and "a&#x27;s usual mistake" in page


def test_scatter_labels_never_overlap_and_stay_in_the_plot():
    placed = item_plots.spread([0.9, 0.9, 0.89, 0.5, 0.02, 0.01], gap=0.05)
    assert all(a - b >= 0.05 - 1e-12 for a, b in zip(placed, placed[1:], strict=False))
    assert 0 <= min(placed) and max(placed) <= 1
    crowded = item_plots.spread([0.5] * 30, gap=0.05)
    assert min(crowded) >= 0 and max(crowded) <= 1


# --- the command -----------------------------------------------------------------------

def test_report_without_a_gradebook_says_to_grade_first(tmp_path, capsys):
    root = make_course(tmp_path, [MODULE])
    assert main(["report", MODULE, "--course-dir", str(root)]) == 2
    assert "grade the assignment first" in capsys.readouterr().err
    assert not (root / "gradebook.db").exists(), "the report must not create a gradebook"


def test_report_of_an_unknown_assignment_names_the_known_ones(course, capsys):
    assert main(["report", "99_nothing", "--course-dir", str(course)]) == 2
    assert "give one of 03_metrics" in capsys.readouterr().err


def test_a_malformed_verdict_is_a_clear_error(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course, root)
    path = root / "autograded" / student(0) / MODULE / f"{MODULE}.ipynb"
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if is_test_cell(c))
    test.metadata["course"]["verdict"]["status"] = "maybe"
    nbformat.write(nb, path)
    with pytest.raises(CourseError, match="status should be one of right, mistake"):
        read_cohort(root, MODULE)


def test_an_unreadable_autograded_notebook_is_left_out_not_fatal(course, tmp_path, capsys):
    root = tmp_path / "course"
    shutil.copytree(course, root, ignore=shutil.ignore_patterns("reports"))
    (root / "autograded" / student(0) / MODULE / f"{MODULE}.ipynb").write_text("{not json")
    cohort = read_cohort(root, MODULE)
    assert cohort.no_notebook == [student(0)] and len(cohort.learners) == LEARNERS - 1
    assert "is not a readable notebook" in capsys.readouterr().err


def test_release_test_cells_name_their_exercise():
    release = read(release_path(MODULE))
    names = [exercise_of(c) for c in release.cells if is_test_cell(c)]
    assert names == [n for n in exercise_data()], "every exercise has a named test cell"
    assert all(f'check("{n}"' in visible_part(c.source)
               for n, c in zip(names, (c for c in release.cells if is_test_cell(c)),
                               strict=True))


# --- in a browser ----------------------------------------------------------------------

def test_report_opens_offline_in_chromium_without_errors_and_shows_both_plots(course):
    from browser.lab import ARTIFACTS, CHROMIUM_FLAGS, require_chromium, screenshot

    executable = require_chromium()
    from playwright.sync_api import sync_playwright
    page_path = course / "reports" / MODULE / "index.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS,
                                             headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems, requests = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.route("**/*", lambda route: (requests.append(route.request.url), route.abort())
                   if not route.request.url.startswith(("file:", "data:"))
                   else route.continue_())
        page.goto(page_path.as_uri())
        shown = page.evaluate("""() => [...document.images].map(i => ({
            id: i.closest('figure') && i.closest('figure').id, ok: i.complete,
            width: i.naturalWidth, height: i.naturalHeight, alt: i.alt}))""")
        screenshot(page, "item-report", page.locator("#difficulty-discrimination"))
        page.screenshot(path=str(ARTIFACTS / "item-report-full.png"), full_page=True)
        browser.close()
    assert not problems, f"console errors: {problems}"
    assert not requests, f"the report asked the network for {requests}"
    plots = {s["id"]: s for s in shown}
    for name in ("difficulty-discrimination", "answers-per-exercise"):
        assert plots[name]["ok"] and plots[name]["width"] > 300 and plots[name]["height"] > 200
        assert plots[name]["alt"]
