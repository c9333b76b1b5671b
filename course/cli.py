"""The ``python -m course`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course import checks
from course.grading.cli import add_commands


def _digest(args: argparse.Namespace) -> int:
    value: object = args.value
    if not args.text:
        try:
            value = float(args.value)
        except ValueError:
            value = args.value
    print(checks.digest(args.name, value, args.decimals))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from course.bench import NOTEBOOK_MB, NOTEBOOK_SECONDS, bench, bench_autograde

    root = Path(args.root).resolve()
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
    from course.grading.coursedir import GradingError
    from course.workspace import report, start

    try:
        copies = start(args.modules, Path(args.course_dir), fresh=args.fresh)
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report(copies, Path(args.course_dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for ``python -m course``."""
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    digest = commands.add_parser("digest", help="digest of an answer, for a visible check")
    digest.add_argument("name", help="the answer's variable name, e.g. precision")
    digest.add_argument("value", help="the right answer, e.g. 0.712 or B")
    digest.add_argument("--decimals", type=int, default=2)
    digest.add_argument("--text", action="store_true", help="treat the value as text")
    digest.set_defaults(run=_digest)

    bench = commands.add_parser("bench", help="time every notebook against the budgets")
    bench.add_argument("folders", nargs="*", default=["solutions", "notebooks"])
    bench.add_argument("--root", default=".")
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
    start.add_argument("--course-dir", default=".", help="the course root (default: here)")
    start.set_defaults(run=_start)
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)
