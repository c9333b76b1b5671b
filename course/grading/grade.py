"""``python -m course grade``: collect, autograde in parallel, feedback, export, report."""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config

from course.grading import gradebook, integrity, parallel, report, sandbox
from course.grading.collect import Collection, collect, compile_pattern, default_pattern
from course.grading.coursedir import (
    GradingError,
    check_assignment,
    course_root,
    load_config,
    put_venv_on_path,
    source_dir,
)
from course.grading.roster import Student, read_roster
from course.grading.worker import Settings, WorkerResult


@dataclass
class GradeOptions:
    """What the instructor asked for on the command line."""

    assignment: str
    submissions: Path
    roster: Path | None = None
    pattern: str | None = None
    workers: int = 0
    timeout: int | None = None
    memory_mb: int = 2048
    course_dir: Path = Path(".")
    output: Path | None = None
    unsafe_no_sandbox: bool = False
    submission_timeout: int = 900


@dataclass
class Run:
    """The state shared by the steps of one grading run."""

    root: Path
    config: Config
    options: GradeOptions
    release: Path
    scratch: Path
    log: list[str] = field(default_factory=list)
    _originals: tuple[nbformat.NotebookNode, nbformat.NotebookNode] | None = None

    def originals(self) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
        """Return the release and the source notebook, read once per run."""
        if self._originals is None:
            source = self.root / source_dir(self.config) / self.options.assignment
            self._originals = (nbformat.read(self.release, as_version=4),
                               nbformat.read(source / self.release.name, as_version=4))
        return self._originals

    @property
    def output(self) -> Path:
        """Where grades.csv goes; the grading log goes next to it."""
        return self.options.output or self.root / "grades.csv"

    @property
    def db_url(self) -> str:
        """The main gradebook."""
        return str(self.config.CourseDirectory.db_url)

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
    return integrity.scan(nbformat.read(path, as_version=4), release, source)


def _replace(source: str, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    if source:
        shutil.copytree(source, target)


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
    if result.feedback_error:
        outcome.review(f"feedback could not be written; see {run.output.with_suffix('.log')}")
    if withhold:
        outcome.review(f"points withheld until reviewed (the autograder gave "
                       f"{gradebook.auto_points(result.scores):g})")
    gradebook.merge_scores(run.db_url, run.options.assignment, student, result.scores,
                           hold=outcome.status == report.REVIEW, withhold=withhold)
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
                        not run.options.unsafe_no_sandbox, run.options.submission_timeout)
    for result in parallel.run(template, run.options.assignment, jobs, workers, settings):
        outcome = absorb(run, result, outcomes[result.student], result.student in withhold)
        bar.step(result.student, outcome.status)
    return outcomes


def roster_and_others(run: Run, roster: list[Student], collected: list[str]) -> list[Student]:
    """Return the roster, then submitters not on it (or every gradebook student if no roster)."""
    known = roster or gradebook.students(run.db_url)
    ids = {s.id for s in known}
    return known + [Student(s) for s in collected if s not in ids]


def finish(run: Run, everyone: list[Student], outcomes: dict[str, report.Outcome],
           on_roster: set[str]) -> list[report.Outcome]:
    """Settle every student's outcome from the gradebook; write grades.csv; print the table."""
    settled, rows = [], []
    for student in everyone:
        outcome = outcomes.get(student.id, report.Outcome(student.id))
        if on_roster and student.id not in on_roster:
            outcome.reasons.append("not on the roster")
        outcome = report.settle(outcome, gradebook.standing(run.db_url, run.options.assignment,
                                                            student.id))
        settled.append(outcome)
        rows.append(report.outcome_row(outcome, run.options.assignment, student))
    report.write_csv(run.output, rows)
    run.output.with_suffix(".log").write_text("\n".join(run.log), encoding="utf-8")
    report.summary(settled)
    print(f"grades written to {run.output}, nbgrader's log to "
          f"{run.output.with_suffix('.log')}, feedback to {run.folder('feedback', '<student>')}")
    return settled


def grade(options: GradeOptions) -> list[report.Outcome]:
    """Run the whole pipeline; return each student's outcome."""
    put_venv_on_path()
    root = course_root(options.course_dir)
    config = load_config(root)
    check_assignment(root, config, options.assignment)
    check_options(options)
    check_sandbox(options)
    roster = read_roster(options.roster) if options.roster else []
    pattern = options.pattern or default_pattern(config)
    compile_pattern(pattern)
    base = Path(tempfile.mkdtemp(prefix="course-grading-"))
    try:
        release = gradebook.prepare_assignment(config, options.assignment, base / "release")
        run = Run(root, config, options, release, base)
        collection = collect(options.submissions, root, options.assignment, pattern)
        everyone = roster_and_others(run, roster, collection.students)
        gradebook.add_students(run.db_url, everyone)
        outcomes = grade_collected(run, collection)
        for name, why in collection.skipped:
            print(f"skipped {name}: {why}", file=sys.stderr)
            run.log.append(f"skipped {name}: {why}")
        return finish(run, everyone, outcomes, {s.id for s in roster})
    finally:
        shutil.rmtree(base, ignore_errors=True)
