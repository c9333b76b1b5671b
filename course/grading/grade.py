"""``python -m course grade``: collect, autograde in parallel, feedback, export, report.

A run grades what it collected and reports everyone: students it did not
grade keep the result of the run that last graded them (see
:mod:`course.grading.records.ledger`), and ``grades.csv`` is rewritten, atomically,
after each student, so a run stopped midway leaves a consistent report.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import replace as copy_of
from pathlib import Path
from typing import Any

import nbformat
from traitlets.config import Config

from course.grading.coursedir import (
    GradingError,
    check_assignment,
    course_root,
    load_config,
    put_venv_on_path,
    source_dir,
)
from course.grading.intake import integrity
from course.grading.intake.collect import Collection, Ids, collect, compile_pattern, default_pattern
from course.grading.intake.roster import Student, read_roster
from course.grading.records import gradebook, ledger
from course.grading.results import report
from course.grading.run import parallel, sandbox
from course.grading.run.worker import Settings, WorkerResult
from course.notebook import read


@dataclass
class GradeOptions:
    """What the instructor asked for on the command line."""

    assignment: str
    submissions: Path
    roster: Path | None = None
    pattern: str | None = None
    workers: int = 0
    timeout: int | None = None
    memory_mb: int = sandbox.DEFAULT_MEMORY_MB
    course_dir: Path = Path(".")
    output: Path | None = None
    unsafe_no_sandbox: bool = False
    submission_timeout: int = 900
    allow_unlisted: bool = False
    disk_mb: int = sandbox.DEFAULT_DISK_MB


@dataclass
class Run:
    """The state shared by the steps of one grading run."""

    root: Path
    config: Config
    options: GradeOptions
    release: Path
    scratch: Path
    log: list[str] = field(default_factory=list)
    stamp: str = field(default_factory=ledger.now)
    records: dict[str, ledger.Record] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    everyone: list[Student] = field(default_factory=list)
    collection: Collection = field(default_factory=Collection)
    on_roster: set[str] = field(default_factory=set)
    points: dict[str, float] = field(default_factory=dict)
    standings: dict[str, gradebook.Standing] = field(default_factory=dict)
    _originals: tuple[nbformat.NotebookNode, nbformat.NotebookNode] | None = None

    def originals(self) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
        """Return the release and the source notebook, read once per run."""
        if self._originals is None:
            source = self.root / source_dir(self.config) / self.options.assignment
            self._originals = (read(self.release),
                               read(source / self.release.name))
        return self._originals

    @property
    def output(self) -> Path:
        """Where grades.csv goes; the grading log goes next to it."""
        return self.options.output or self.root / "grades.csv"

    @property
    def db_url(self) -> str:
        """The main gradebook."""
        return str(self.config.CourseDirectory.db_url)

    def record(self, student: str, outcome: report.Outcome) -> None:
        """Keep one student's result of this run (its reasons and log) for later runs."""
        entry = next((e for e in reversed(self.log) if e.startswith(f"===== {student}:")), "")
        self.records[student] = ledger.Record(outcome.status,
                                              report.run_reasons(outcome.reasons),
                                              entry, self.stamp, dict(self.points))
        self.pending.discard(student)

    def checkpoint(self, student: str, outcome: report.Outcome) -> None:
        """Record one student's result and rewrite the reports (atomically)."""
        self.record(student, outcome)
        write_reports(self, [student])

    def folder(self, step: str, student: str) -> Path:
        """Return ``<root>/<step>/<student>/<assignment>`` as nbgrader names it."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        return Path(coursedir.format_path(getattr(coursedir, f"{step}_directory"), student,
                                          self.options.assignment))


def check_options(options: GradeOptions) -> None:
    """Raise a clear error for impossible numbers or a missing submissions path."""
    if options.workers < 0:
        raise GradingError("--workers must be 1 or more (0 means one per core).")
    if options.timeout is not None and options.timeout <= 0:
        raise GradingError("--timeout must be a positive number of seconds per cell.")
    if options.memory_mb < 0 or options.disk_mb < 0:
        raise GradingError("--memory-mb and --disk-mb must be 0 (no limit) or a number of MB.")
    if options.submission_timeout < 0:
        raise GradingError("--submission-timeout must be 0 (none) or a number of seconds.")
    submissions = Path(options.submissions)
    if not submissions.exists():
        raise GradingError(f"submissions {submissions} do not exist: give a folder of "
                           "notebooks or a .zip exported from the learning platform.")
    if submissions.is_file() and not zipfile.is_zipfile(submissions):
        raise GradingError(f"submissions {submissions} is neither a folder nor a valid zip file.")


def check_sandbox(options: GradeOptions) -> None:
    """Refuse to grade without a sandbox unless the instructor said so; say which it is."""
    if options.unsafe_no_sandbox:
        print("warning: grading WITHOUT a sandbox (--unsafe-no-sandbox): submitted code runs "
              "with your permissions and can read or change your files.", file=sys.stderr)
        return
    sandbox.bwrap()
    probe = sandbox.Cgroup.create(sandbox.Limits(options.memory_mb))
    if probe is not None:
        probe.remove()
    else:
        print("note: no writable cgroup here, so the memory limit applies to each process "
              "of a submission, not to all of them together.", file=sys.stderr)


def flags_for(run: Run, path: Path) -> list[integrity.Flag]:
    """Return the suspicious-code flags of one submitted notebook."""
    release, source = run.originals()
    return integrity.scan(read(path), release, source)


def _replace(source: str, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    if source:
        shutil.copytree(source, target)


BLANK_REASON = ("blank: no exercise was attempted (every check says so), so every "
                "autograded item scores 0; nothing to review")


def blank_submission(folder: Path) -> bool:
    """Return True if every test cell of the autograded notebooks says "not attempted"."""
    from course.grading.judging.verdicts import BLANK, verdict_of
    from course.notebook import is_test_cell

    cells = [cell for path in sorted(folder.glob("*.ipynb"))
             for cell in read(path).cells if is_test_cell(cell)]
    return bool(cells) and all(verdict_of(cell)[0].status == BLANK for cell in cells)


def absorb(run: Run, result: WorkerResult, outcome: report.Outcome,
           withhold: bool) -> report.Outcome:
    """Merge one worker's result into the course: files, gradebook, reasons for review.

    ``withhold`` (suspicious code) keeps the autograder's points at zero until a
    human has looked.
    """
    student = result.student
    run.log.append(f"===== {student}: {result.seconds:.1f} s\n"
                   f"{result.log}{result.error}{result.feedback_error}")
    if not result.success:
        outcome.review(report.failure_reason({"log": result.log, "error": result.error}))
        gradebook.hold_for_review(run.db_url, run.options.assignment, student)
        return outcome
    _replace(result.autograded, run.folder("autograded", student))
    _replace(result.feedback, run.folder("feedback", student))
    timeout = run.options.timeout or run.config.Execute.get("timeout")
    for problem in report.kernel_problems(run.folder("autograded", student), timeout):
        outcome.review(problem)
    if blank_submission(run.folder("autograded", student)):
        outcome.reasons.append(BLANK_REASON)
    if result.feedback_error:
        outcome.review(f"feedback could not be written; see {run.output.with_suffix('.log')}")
    if withhold:
        outcome.review(f"points withheld until reviewed (the autograder gave "
                       f"{gradebook.auto_points(result.scores):g})")
    hold = (gradebook.Hold.WITHHOLD if withhold else
            gradebook.Hold.REVIEW if outcome.status == report.REVIEW else gradebook.Hold.NONE)
    earlier = run.records.get(student)
    for note in gradebook.merge_scores(run.db_url, run.options.assignment, student,
                                       result.scores, hold, earlier.points if earlier else None):
        if note.endswith("grade it again"):
            outcome.review(note)
        elif note not in outcome.reasons:
            outcome.reasons.append(note)
    return outcome


def grade_collected(run: Run, collection: Collection) -> dict[str, report.Outcome]:
    """Autograde every valid submission in parallel; hold invalid ones for review."""
    outcomes = {s: report.Outcome(s) for s in collection.students}
    for student, notes in collection.notes.items():
        for note in notes:
            outcomes[student].review(note)
    for student, problem in collection.invalid.items():
        outcomes[student].review(problem)
        gradebook.hold_for_review(run.db_url, run.options.assignment, student)
    withhold = set()
    for student, path in collection.submitted.items():
        for flag in flags_for(run, path):
            outcomes[student].review(f"suspicious: {flag}")
            withhold |= {student} if flag.kind in integrity.WITHHOLD else set()
    jobs = dict(collection.submitted)
    if not jobs:
        return outcomes
    template = parallel.make_template(run.root, run.config, run.options.assignment,
                                      run.scratch)
    workers = run.options.workers or parallel.default_workers()
    bar = report.ProgressBar(len(jobs), f"grading {run.options.assignment}")
    settings = Settings(run.options.timeout, run.options.memory_mb,
                        not run.options.unsafe_no_sandbox, run.options.submission_timeout,
                        disk_mb=run.options.disk_mb)
    setups: list[str] = []
    for result in parallel.run(template, run.options.assignment, jobs, workers, settings):
        outcome = absorb(run, result, outcomes[result.student], result.student in withhold)
        bar.step(result.student, outcome.status)
        run.checkpoint(result.student, outcome)
        setups.append(report.setup_error(run.folder("autograded", result.student))
                      if result.success else "")
        stop_if_the_course_cannot_run(run, setups, len(jobs))
    return outcomes


#: Submissions whose setup fails the same way before the batch stops (all, if fewer).
SAME_SETUP_ERROR = 3


def stop_if_the_course_cannot_run(run: Run, setups: list[str], jobs: int) -> None:
    """Stop the batch when the first submissions' setups all failed with one error.

    One learner's setup failing is held for review; the same failure for every
    one of the first :data:`SAME_SETUP_ERROR` (or for everyone) is the course
    that cannot run, and grading the rest would only hold them all for review.
    """
    first = setups[:min(SAME_SETUP_ERROR, jobs)]
    if len(setups) != len(first) or len(first) < min(SAME_SETUP_ERROR, jobs) \
            or not first[0] or len(set(first)) != 1:
        return
    from course.grading.run.preflight import explain

    ename, _, evalue = first[0].partition(": ")[2].partition(": ")
    left = jobs - len(first)
    raise GradingError(
        f"the course cannot run in the grading sandbox: the setup of each of the first "
        f"{len(first)} submission(s) failed the same way ({first[0]}). They are held for "
        f"review; {left} other(s) were not graded (\"not graded yet\" in {run.output}).\n"
        f"Fix: {explain(run.options.assignment, ename, evalue, run.options.memory_mb)}. "
        "Then grade again.")


def roster_and_others(run: Run, roster: list[Student], collected: list[str]) -> list[Student]:
    """Return the roster, then submitters not on it (or every gradebook student if no roster)."""
    known = roster or gradebook.students(run.db_url)
    ids = {s.id for s in known}
    return known + [Student(s) for s in collected if s not in ids]


def _answers(path: Path) -> dict[str, str] | None:
    """Return a notebook's answer cells (code and written) by grade id; None if unreadable."""
    try:
        nb = read(path)
    except Exception:  # an invalid resubmission counts as a change
        return None
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source.strip() for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
            and cell.metadata["nbgrader"].get("grade_id")}


def reopen_changed(run: Run, collection: Collection) -> None:
    """Compare each submission with the one graded before; keep or reopen what a human did.

    A re-grade of the same answers keeps hand grades and carries the earlier
    run's reasons over (so a duplicate or a time-out is not forgotten). Changed
    answers reopen every hand-given score: kept (shown in the formgrader) but
    marked "needs manual grade" again, with a reason.
    """
    for student in collection.students:
        previous = run.folder("autograded", student) / run.release.name
        if not previous.is_file():
            continue
        new = collection.submitted.get(student)
        notes = collection.notes.setdefault(student, [])
        if new is not None and _answers(new) == _answers(previous):
            record = run.records.get(student)  # a held one stays held; graded ones are re-judged
            held = record.reasons if record and record.status == report.REVIEW else []
            notes += [r for r in held if r not in notes]
            continue
        hand = gradebook.manual_scores(run.db_url, run.options.assignment, student)
        if hand:
            gradebook.reopen(run.db_url, run.options.assignment, student, sorted(hand))
            items = ", ".join(f"{name} ({score:g})" for name, score in sorted(hand.items()))
            notes.append(f"resubmitted with changed answers after you graded it by hand: your "
                         f"scores ({items}) are kept, marked for grading again")


def pending_outcome(run: Run, student: str) -> report.Outcome:
    """Return the outcome of a student this run has not finished grading yet."""
    return report.Outcome(student, report.REVIEW, [
        f"not graded yet: the run started {run.stamp} had not finished this student "
        "(if it was stopped, grade again)"])


def outcomes_now(db_url: str, assignment: str, people: list[Student],
                 records: dict[str, ledger.Record], on_roster: set[str],
                 pending: dict[str, report.Outcome] | None = None,
                 standings: dict[str, gradebook.Standing] | None = None
                 ) -> list[report.Outcome]:
    """Return every student's outcome: the run that graded them, settled by the gradebook.

    ``standings`` (read from the gradebook if not given) is each student's
    submission as the gradebook has it.
    """
    if standings is None:
        standings = gradebook.standings(db_url, assignment, [s.id for s in people])
    settled = []
    for student in people:
        record = records.get(student.id)
        outcome = (report.Outcome(student.id, record.status, list(record.reasons)) if record
                   else report.Outcome(student.id))
        if on_roster and student.id not in on_roster:
            outcome.reasons.append("not on the roster")
        if pending and student.id in pending:
            outcome = copy_of(pending[student.id], reasons=list(pending[student.id].reasons))
            standing = standings[student.id]
            outcome.score, outcome.max_score = standing.score, standing.max_score
        else:
            outcome = report.settle(outcome, standings[student.id],
                                    record.points if record else None, record is not None)
        settled.append(outcome)
    return settled


STRAY_KEPT = ("kept from an earlier run until you act: add the id to the roster and grade "
              "its notebook again, or grade it with --allow-unlisted")


def stray_outcomes(collection: Collection, records: dict[str, ledger.Record] | None = None,
                   listed: set[str] | frozenset[str] = frozenset()) -> list[report.Outcome]:
    """Return a "not graded" row for each notebook refused for its student id.

    Those of earlier runs (``records`` with status "not graded") are kept until
    the id is on the roster or graded, so the reminder does not vanish when one
    resubmission is graded.
    """
    rows = {stray.student: report.Outcome(stray.student, report.NOT_GRADED,
                                          [f"{stray.name}: {stray.reason}"])
            for stray in collection.strays}
    for student, record in sorted((records or {}).items()):
        if record.status == report.NOT_GRADED and student not in rows and student not in listed:
            rows[student] = report.Outcome(student, report.NOT_GRADED,
                                           [*record.reasons, STRAY_KEPT])
    return list(rows.values())


def record_strays(run: Run) -> None:
    """Keep this run's strays in the ledger (status "not graded", reason, no log)."""
    for stray in run.collection.strays:
        if stray.student not in {s.id for s in run.everyone}:
            run.records[stray.student] = ledger.Record(
                report.NOT_GRADED, [f"{stray.name}: {stray.reason}"], "", run.stamp)


#: nbgrader warns about every test cell whose hidden tests the release left out
CHECKSUM_NOISE = "Attribute 'checksum' for cell"


def quiet(log: str) -> tuple[str, int]:
    """Return nbgrader's log without its checksum warnings, and how many were left out."""
    lines = log.split("\n")
    kept = [line for line in lines if CHECKSUM_NOISE not in line]
    return "\n".join(kept), len(lines) - len(kept)


def log_text(run: Run) -> str:
    """Return grades.log: this run's header and skipped files, then each student's log.

    nbgrader's checksum warnings are left out: the release has no hidden tests,
    so every test cell's checksum differs from the source's; a deleted or edited
    test cell is a reason in grades.csv instead.
    """
    graded = sorted(run.collection.students)
    lines = [f"grading run {run.stamp}: {run.options.assignment}, {len(graded)} notebook(s) "
             f"from {run.options.submissions}"]
    lines += [f"skipped {report.escape(name)}: {report.escape(why)}"
              for name, why in run.collection.skipped]
    lines += [f"not graded {report.escape(s.name)}: {report.escape(s.reason)}"
              for s in run.collection.strays]
    order = [s.id for s in run.everyone] + sorted(set(run.records) - {s.id for s in run.everyone})
    logs = [quiet(run.records[s].log) for s in order if s in run.records and run.records[s].log]
    dropped = sum(n for _, n in logs)
    if dropped:
        lines.append(f"({dropped} nbgrader warnings \"Attribute 'checksum' ... has changed!\" "
                     "left out: hidden tests change every test cell's checksum; deleted or "
                     "edited test cells are reasons in grades.csv)")
    return "\n".join(lines + [text for text, _ in logs]) + "\n"


def write_reports(run: Run, changed: list[str] | None = None) -> list[report.Outcome]:
    """Rewrite grades.csv, grades.log and the ledger from the gradebook and this run.

    ``changed``: only these students' standings are read again (after each
    student); otherwise everyone's are.
    """
    ids = [s.id for s in run.everyone]
    fresh = ids if changed is None or not run.standings else [s for s in changed if s in ids]
    run.standings.update(gradebook.standings(run.db_url, run.options.assignment, fresh))
    pending = {student: pending_outcome(run, student) for student in run.pending}
    settled = outcomes_now(run.db_url, run.options.assignment, run.everyone, run.records,
                           run.on_roster, pending, run.standings)
    settled += stray_outcomes(run.collection, run.records, set(ids))
    info = {s.id: s for s in run.everyone}
    rows = [report.outcome_row(o, run.options.assignment, info.get(o.student)) for o in settled]
    ledger.save(run.output, run.options.assignment, run.records)
    report.write_csv(run.output, rows)
    ledger.write_atomic(run.output.with_suffix(".log"), log_text(run))
    return settled


def begin(run: Run, everyone: list[Student], collection: Collection,
          on_roster: set[str]) -> None:
    """Load the earlier runs' results and mark this run's students as pending."""
    run.records = ledger.load(run.output, run.options.assignment)
    run.everyone, run.collection, run.on_roster = everyone, collection, on_roster
    run.pending = set(collection.students)
    run.points = gradebook.assignment_points(run.db_url, run.options.assignment)
    record_strays(run)
    write_reports(run)


def finish(run: Run, everyone: list[Student], outcomes: dict[str, report.Outcome],
           on_roster: set[str]) -> list[report.Outcome]:
    """Record this run's outcomes; write grades.csv, grades.log, the history; print the table."""
    for student, outcome in outcomes.items():
        if student in run.pending:
            run.record(student, outcome)
    settled = write_reports(run)
    note_holds(run, [o for o in settled if o.student in outcomes])
    kept = ledger.keep_copy(run.output, run.stamp)
    refresh_stale_feedback(run, outcomes)
    report.summary(settled, skipped=run.collection.skipped)
    print(f"grades written to {run.output}, nbgrader's log to "
          f"{run.output.with_suffix('.log')}, feedback to {run.folder('feedback', '<student>')}"
          + (f"; this run's report kept in {kept[0].parent}" if kept else ""))
    return settled


def note_holds(run: Run, settled: list[report.Outcome]) -> None:
    """Write why each held submission is held at the top of its notebook, for the formgrader."""
    from course.grading.results.review_note import write_note

    for outcome in settled:
        folder = run.folder("autograded", outcome.student)
        if folder.is_dir():
            held = outcome.status == report.REVIEW
            write_note(folder, outcome.reasons if held else None, run.options.assignment,
                       outcome.student)


def refresh_stale_feedback(run: Run, outcomes: dict[str, report.Outcome]) -> None:
    """Rewrite feedback the workers wrote from a stale gradebook: hand grades, held points."""
    from course.grading.results.refresh import refresh_feedback

    stale = [student for student in sorted(outcomes)
             if run.folder("autograded", student).is_dir() and
             (outcomes[student].status == report.REVIEW
              or gradebook.manual_scores(run.db_url, run.options.assignment, student))]
    if stale:
        done = refresh_feedback(run.root, run.options.assignment, stale)
        run.log += [f"feedback could not be rewritten for {s}: {why}"
                    for s, why in done.failed.items()]


def grade(options: GradeOptions) -> list[report.Outcome]:
    """Run the whole pipeline; return each student's outcome."""
    put_venv_on_path()
    root = course_root(options.course_dir)
    config = load_config(root)
    check_assignment(root, config, options.assignment)
    check_options(options)
    check_sandbox(options)
    roster = read_roster(options.roster) if options.roster else []
    ids = Ids(frozenset(s.id for s in roster) if roster else None, options.allow_unlisted)
    pattern = options.pattern or default_pattern(config)
    compile_pattern(pattern)
    base = Path(tempfile.mkdtemp(prefix="course-grading-"))
    try:
        with stop_on_sigterm():
            return _grade_in(base, root, config, options, roster, ids, pattern)
    except KeyboardInterrupt:
        raise GradingError("grading was stopped before it finished (interrupted): the "
                           "students not graded yet say so in grades.csv; run grade again "
                           "to finish") from None
    finally:
        sandbox.clean_up()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM as Ctrl-C while grading, so that every clean-up runs (workers included)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _grade_in(base: Path, root: Path, config: Config, options: GradeOptions,
              roster: list[Student], ids: Ids, pattern: str) -> list[report.Outcome]:
    """Grade in the scratch folder ``base``: preflight, collect, grade, report."""
    from course.grading.run.preflight import preflight

    release = gradebook.prepare_assignment(config, options.assignment, base / "release")
    limits = sandbox.Limits(options.memory_mb, disk_mb=options.disk_mb)
    preflight(release, options.assignment, limits,
              not options.unsafe_no_sandbox, options.timeout or config.Execute.get("timeout"))
    run = Run(root, config, options, release, base)
    collection = collect(options.submissions, root, options.assignment, pattern, ids)
    everyone = roster_and_others(run, roster, collection.students)
    gradebook.add_students(run.db_url, everyone)
    begin(run, everyone, collection, {s.id for s in roster})
    reopen_changed(run, collection)
    outcomes = grade_collected(run, collection)
    return finish(run, everyone, outcomes, {s.id for s in roster})
