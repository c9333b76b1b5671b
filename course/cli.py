"""The ``python -m course`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.errors import CourseError, LearnerError
from course.grading.cli import add_commands
from course.hub import add_command as add_hub
from course.layout import add_course_dir
from course.notebook import module_id, module_ids
from course.publish import add_command as add_publish


def _release(args: argparse.Namespace) -> int:
    from course.authoring.release import release

    root = Path(args.course_dir).resolve()
    known = module_ids(root)
    modules = known if args.all else [module_id(m, known) for m in args.modules]
    if not modules:
        raise LearnerError("name a module (for example 03_metrics) or pass --all")
    stale = []
    for module in modules:
        outcome = release(root, module, check=args.check)
        verb = "checked" if args.check else "released"
        what = "differ from" if args.check else "rewritten to match"
        print(f"{module}: {outcome.exercises} exercises {verb}"
              + (f"; {len(outcome.stale)} committed file(s) {what} the solution"
                 if outcome.stale else ""), flush=True)
        stale += outcome.stale
    if args.check and stale:
        print("Out of date: these committed files differ from what the solution and "
              "exercises.toml give (run `python -m course release MODULE` and commit):\n  "
              + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


def _bench(args: argparse.Namespace) -> int:
    from course.bench import NOTEBOOK_MB, NOTEBOOK_SECONDS, bench, bench_autograde

    root = Path(args.course_dir).resolve()
    results = []
    for folder in args.folders:
        results += bench(root, folder)
    if args.autograde:
        solved = {r.path.parent.name: r.seconds for r in results
                  if r.path.parts[-3] == "solutions"}
        bench_autograde(root, solved)
    over = [r for r in results if r.seconds > NOTEBOOK_SECONDS or (r.peak_mb or 0) > NOTEBOOK_MB]
    return 1 if over and args.strict else 0


def _check(args: argparse.Namespace) -> int:
    from course.environment import check_environment

    return 0 if check_environment() else 1


def _start(args: argparse.Namespace) -> int:
    from course.workspace import report, start

    copies = start(args.modules, Path(args.course_dir), fresh=args.fresh)
    print(report(copies, Path(args.course_dir)))
    return 0


def _progress(args: argparse.Namespace) -> int:
    from course.progress import progress, self_assess

    if args.self_assess:
        return self_assess(*args.self_assess, Path(args.course_dir))
    return progress(args.notebooks, Path(args.course_dir), run=not args.saved,
                    timeout=args.timeout)


def _add_progress(commands: argparse._SubParsersAction) -> None:
    progress = commands.add_parser(
        "progress", help="your progress: exercises passed and points, per module",
        description="Run a copy of each of your notebooks and show, per module, how many "
                    "exercises pass their visible checks. Your files are never modified.")
    progress.add_argument("notebooks", nargs="*", help="notebooks (default: notebooks/*/*.ipynb)")
    progress.add_argument("--saved", action="store_true",
                          help="read the outputs saved in the notebooks instead of running them")
    progress.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    progress.add_argument("--self-assess", nargs=3, metavar=("MODULE", "ANSWER", "POINTS"),
                          help="record your own mark for a written answer, after comparing it "
                               "with the mark scheme and model answer in solutions/ (for "
                               "example: 03_metrics memo 4)")
    add_course_dir(progress)
    progress.set_defaults(run=_progress)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for ``python -m course``."""
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="author: compute checks and hidden tests from the solution, release it",
        description="Run a module's solution in a kernel, try every right and wrong answer of "
                    "solutions/<id>/exercises.toml, write course/exercise_data/<id>.json and "
                    "the solution's hidden tests, and regenerate notebooks/<id> with nbgrader. "
                    "--check writes nothing and exits 1 if anything is out of date.")
    release.add_argument("modules", nargs="*", help="modules, e.g. 03 or 03_metrics")
    release.add_argument("--all", action="store_true", help="every module")
    release.add_argument("--check", action="store_true",
                         help="write nothing; fail if the data, hidden tests or release are stale")
    add_course_dir(release)
    release.set_defaults(run=_release)

    bench = commands.add_parser("bench", help="time every notebook against the budgets")
    bench.add_argument("folders", nargs="*", default=["solutions", "notebooks"])
    add_course_dir(bench)
    bench.add_argument("--autograde", action="store_true",
                       help="also time nbgrader autograde of each solution")
    bench.add_argument("--strict", action="store_true", help="exit 1 if a budget is exceeded")
    bench.set_defaults(run=_bench)

    check = commands.add_parser("check", help="check Python, package versions and datasets")
    check.set_defaults(run=_check)

    start = commands.add_parser(
        "start", help="copy modules into my-work/, where you work (never overwrites your copy)",
        description="Copy course modules into my-work/<module>.ipynb, your own copies: "
                    "git pull and regenerated releases never change them. A copy that exists "
                    "is kept; --fresh replaces it with the course's version after moving yours "
                    "to my-work/backups/.")
    start.add_argument("modules", nargs="*", help="modules, e.g. 03 or 03_metrics (default: all)")
    start.add_argument("--fresh", action="store_true",
                       help="replace your copy with the current version (yours is backed up)")
    add_course_dir(start)
    start.set_defaults(run=_start)
    _add_progress(commands)
    add_publish(commands)
    add_commands(commands)
    add_hub(commands)
    return parser


def _resolve_module(args: argparse.Namespace) -> None:
    """Give the instructors' commands the same module forms as the others (``3``, ``03``).

    Outside a course folder the name is left as typed: the command says what is wrong.
    """
    for attr in ("assignment", "module"):
        given = getattr(args, attr, None)
        if isinstance(given, str):
            root = Path(getattr(args, "course_dir", "."))
            known = module_ids(root) or module_ids(root, "notebooks")
            if known:
                setattr(args, attr, module_id(given, known))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        _resolve_module(args)
        return args.run(args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
