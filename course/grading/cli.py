"""The instructor's subcommands of ``python -m course``.

``grade``, ``formgrader``, ``accept``, ``feedback``, ``export`` (one per step of
the instructor guide, in that order), ``report`` and ``bench-grading``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from course.errors import CourseError
from course.grading.run.sandbox import DEFAULT_DISK_MB, DEFAULT_MEMORY_MB
from course.layout import add_course_dir


def _grade(args: argparse.Namespace) -> int:
    from course.grading.grade import GradeOptions, grade

    options = GradeOptions(
        args.assignment, Path(args.submissions), roster=Path(args.roster) if args.roster else None,
        pattern=args.pattern, workers=args.workers, timeout=args.timeout,
        memory_mb=args.memory_mb, course_dir=Path(args.course_dir),
        output=Path(args.output) if args.output else None,
        unsafe_no_sandbox=args.unsafe_no_sandbox, submission_timeout=args.submission_timeout,
        allow_unlisted=args.allow_unlisted, disk_mb=args.disk_mb)
    grade(options)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from course.grading.coursedir import check_assignment, course_root, load_config
    from course.grading.results.refresh import refresh_feedback, ungraded, ungraded_message

    root = course_root(Path(args.course_dir))
    check_assignment(root, load_config(root), args.assignment)
    pending = ungraded(root, args.assignment, args.students or None)
    if pending:
        message = ungraded_message(pending, args.assignment)
        if not args.allow_ungraded:
            print(f"error: feedback not written: {message}", file=sys.stderr)
            return 2
        print(f"WARNING: --allow-ungraded: {message}", file=sys.stderr)
    done = refresh_feedback(root, args.assignment, args.students or None)
    for student, why in done.failed.items():
        print(f"feedback for {student} failed: {why}", file=sys.stderr)
    print(f"feedback written for {len(done.written)} student(s) to "
          f"feedback/<student>/{args.assignment}/ (hand grades included, hidden tests hidden)")
    return 1 if done.failed else 0


def _export(args: argparse.Namespace) -> int:
    from course.grading.results.export import export

    export(args.assignment, Path(args.course_dir), Path(args.to) if args.to else None,
           Path(args.roster) if args.roster else None,
           Path(args.grades) if args.grades else None)
    return 0


def _accept(args: argparse.Namespace) -> int:
    from course.grading.coursedir import check_assignment, course_root, load_config
    from course.grading.items.cohort import autograded_folder
    from course.grading.records.accept import accept, describe
    from course.grading.results.refresh import ungraded
    from course.grading.results.review_note import write_note

    root = course_root(Path(args.course_dir))
    config = load_config(root)
    check_assignment(root, config, args.assignment)
    done = accept(root, str(config.CourseDirectory.db_url), args.assignment, args.student,
                  args.item or None)
    print(describe(done, args.assignment, args.student))
    if not ungraded(root, args.assignment, [args.student]):  # nothing held: the note goes
        write_note(autograded_folder(config, args.student, args.assignment), None,
                   args.assignment, args.student)
    return 0


def _formgrader(args: argparse.Namespace) -> int:
    from course.grading.formgrader import ServerOptions, open_formgrader

    options = ServerOptions(args.port, args.ip, args.no_browser, args.allow_root)
    return open_formgrader(Path(args.course_dir), args.port, args.dry_run, options)


def _bench(args: argparse.Namespace) -> int:
    from course.grading.bench import bench_grading

    bench_grading(args.module, Path(args.course_dir), args.students, args.workers)
    return 0


def _report(args: argparse.Namespace) -> int:
    from course.grading.items.item_report import write_report

    folder = write_report(Path(args.course_dir), args.assignment, names=args.names)
    print(f"report written to {folder / 'index.html'} (with items.csv and answers.csv)")
    return 0


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn a :class:`CourseError` into a one-line message and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except CourseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    return run


def _add_grade(commands: argparse._SubParsersAction) -> None:
    grade = commands.add_parser(
        "grade", help="collect, autograde (in parallel), feedback and export a cohort",
        description="Grade one assignment for a cohort with nbgrader: collect the notebooks, "
                    "autograde them on every core, write feedback without hidden tests, and "
                    "write grades.csv with one row per student (missing ones included).")
    grade.add_argument("assignment", help="the assignment id, e.g. 00_welcome")
    grade.add_argument("submissions", help="a folder or .zip with one notebook per student")
    grade.add_argument("--roster", help="CSV with a student_id column (optional names, email)")
    grade.add_argument("--pattern", help="regex with a (?P<student_id>...) group, searched in "
                                         "each file's path (default: the name up to _ or .)")
    grade.add_argument("--workers", type=int, default=0, help="worker processes (0: one per "
                                                              "core)")
    grade.add_argument("--timeout", type=int, help="seconds per cell before a cell is stopped "
                                                   "(default: nbgrader_config.py)")
    grade.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                       help="memory limit of one submission's processes together, in MB "
                            "(0: none)")
    grade.add_argument("--disk-mb", type=int, default=DEFAULT_DISK_MB,
                       help="size of a submission's writable folders (its working copy, /tmp), "
                            "each, in MB; writing more fails (0: no limit)")
    grade.add_argument("--submission-timeout", type=int, default=900,
                       help="seconds for a whole submission; later cells are not run (0: none)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run submitted code WITHOUT the bubblewrap sandbox, with your "
                            "permissions (only for code you trust)")
    add_course_dir(grade)
    grade.add_argument("--output", help="where to write the grades (default: grades.csv)")
    grade.add_argument("--allow-unlisted", action="store_true",
                       help="also grade notebooks whose id is not on the roster (default: "
                            "report them as not graded, write nothing for them)")
    grade.set_defaults(run=_guarded(_grade))


def _add_steps(commands: argparse._SubParsersAction) -> None:
    formgrader = commands.add_parser(
        "formgrader", help="open nbgrader's formgrader (hand-grading) in JupyterLab",
        description="Start JupyterLab in the course root on nbgrader's formgrader page, where "
                    "you grade decision memos and review held submissions.")
    formgrader.add_argument("--port", type=int, default=8888,
                            help="the first port to try; the next free one is used, and "
                                 "printed, if it is taken")
    formgrader.add_argument("--ip", default="localhost",
                            help="the address to listen on (default localhost)")
    formgrader.add_argument("--no-browser", action="store_true",
                            help="do not open a browser (on a server, over ssh)")
    formgrader.add_argument("--allow-root", action="store_true",
                            help="let JupyterLab run as root (it refuses otherwise)")
    formgrader.add_argument("--dry-run", action="store_true",
                            help="print the command and the address, start nothing")
    add_course_dir(formgrader)
    formgrader.set_defaults(run=_guarded(_formgrader))

    accept = commands.add_parser(
        "accept", help="take the autograder's scores for a submission you reviewed",
        description="After reviewing a held submission (formgrader: Manage Submissions → "
                    "the assignment → the student), give its autograded items the "
                    "autograder's scores as your hand scores. Items where you typed another "
                    "score keep it unless named with --item; written answers and items the "
                    "autograder did not run stay for the formgrader. Prints why it was held.")
    accept.add_argument("assignment", help="the assignment id, e.g. 03_metrics")
    accept.add_argument("student", help="the student id")
    accept.add_argument("--item", action="append", metavar="GRADE_ID",
                        help="only this item (repeat for more); takes the autograder's score "
                             "even over yours")
    add_course_dir(accept)
    accept.set_defaults(run=_guarded(_accept))

    feedback = commands.add_parser(
        "feedback", help="rewrite feedback from the gradebook (after hand-grading)",
        description="Regenerate feedback/<student>/<assignment>/ from the autograded notebooks "
                    "and the gradebook as it is now: hand-given scores and comments included, "
                    "hidden tests replaced by their verdict. Run it after hand-grading and "
                    "before sending feedback or `nbgrader release_feedback`; it refuses "
                    "while items are left to grade by hand (--allow-ungraded to override).")
    feedback.add_argument("assignment", help="the assignment id, e.g. 03_metrics")
    feedback.add_argument("students", nargs="*", help="only these students (default: all)")
    feedback.add_argument("--allow-ungraded", action="store_true",
                          help="write feedback even for students with items still to grade "
                               "by hand (default: refuse, and list them)")
    add_course_dir(feedback)
    feedback.set_defaults(run=_guarded(_feedback))

    export = commands.add_parser(
        "export", help="write final grades with a status column (final or not, and why)",
        description="Write one row per student from the gradebook as it is now, with `status` "
                    "and `final` columns: a row is final only when it is graded with nothing "
                    "left to review or grade by hand.")
    export.add_argument("assignment", help="the assignment id, e.g. 03_metrics")
    export.add_argument("--to", help="the file to write (default: final_grades.csv)")
    export.add_argument("--roster", help="CSV with a student_id column: these rows, this order")
    export.add_argument("--grades", help="the report `grade` wrote (default: grades.csv)")
    add_course_dir(export)
    export.set_defaults(run=_guarded(_export))




def _add_bench(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench-grading", help="time sequential and parallel grading of a batch",
        description="Grade a batch of generated submissions three ways (nbgrader autograde, "
                    "grade --workers 1, grade --workers N) in a scratch course and print the "
                    "seconds per submission and the speed-up.")
    bench.add_argument("module", help="the assignment to grade, e.g. 00_welcome")
    bench.add_argument("--students", type=int, default=30)
    bench.add_argument("--workers", type=int, default=0, help="0: one per core")
    add_course_dir(bench)
    bench.set_defaults(run=_guarded(_bench))


def _add_report(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="what the cohort got wrong: item analysis after grading",
        description="After `grade`: per-exercise difficulty, discrimination, misconceptions "
                    "and broken-exercise flags, written to reports/ASSIGNMENT/index.html, "
                    "items.csv and answers.csv. No student ids unless --names.")
    report.add_argument("assignment", help="the assignment id, e.g. 03_metrics")
    report.add_argument("--names", action="store_true",
                        help="add a per-learner table with student ids (and learners.csv)")
    add_course_dir(report)
    report.set_defaults(run=_guarded(_report))


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the instructor's commands to the ``python -m course`` parser."""
    _add_grade(commands)
    _add_steps(commands)
    _add_bench(commands)
    _add_report(commands)
