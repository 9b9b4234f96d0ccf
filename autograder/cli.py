"""`autograder`: one command with subcommands that forward to plain functions."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from autograder import preflight
from autograder.course_settings import FILE_NAME, CourseSettings, load_settings
from autograder.preflight import non_negative_float, positive_float, positive_int

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cmd_new(args: argparse.Namespace) -> int:
    from autograder.authoring.starter import write_starter

    settings = getattr(args, "course_settings", None) or CourseSettings()
    title = args.title or settings.names.get(args.id) or "A first exercise"
    path = write_starter(Path(args.solutions), args.id, title, args.install)
    print(f"wrote {path}: a reference notebook that grades full marks as written. Next: "
          f"`autograder assign {args.id}`, then edit it (docs/authoring.md explains each cell)")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from autograder.authoring.assign import assign_all

    preflight.assignment_ids(Path(args.solutions), args.ids)
    preflight.writable_folder(Path(args.notebooks), "--notebooks")
    changed = assign_all(Path(args.solutions), Path(args.notebooks), ids=args.ids or None, install=args.install)
    for line in changed:
        print(line)
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.authoring.assign import release

    preflight.existing_folder(Path(args.notebooks), "--notebooks", "*.ipynb")
    preflight.writable_folder(Path(args.dir), "DIR")
    files = release(Path(args.dir), Path(args.notebooks), install=args.install)
    print(f"wrote a student bundle of {len(files)} files to {args.dir} "
          f"({_count(len(list(Path(args.dir, 'notebooks').glob('*.ipynb'))), 'notebook')}; students run "
          "`make lab` there, or follow its README.md)")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    import platform
    from datetime import datetime, timezone

    from autograder.grading.settings import GradeConfig
    from autograder.grading.driver import GradingSession
    from autograder.grading.submissions import layout_assignments, read_roster
    from autograder.reports.writer import ReportWriter
    from autograder.reports.terminal import ProgressBar, summary_table
    from autograder.run import Limits

    paths = preflight.notebook_files(args.submissions)
    out = preflight.writable_folder(Path(args.out))
    if args.assignment:
        preflight.assignment_ids(Path(args.solutions), [args.assignment])
    else:
        preflight.existing_folder(Path(args.solutions), "--solutions", "*.ipynb")
        args.assignment = layout_assignments(paths, {p.stem for p in Path(args.solutions).glob("*.ipynb")})
    if args.roster:
        read_roster(preflight.readable_file(Path(args.roster), "--roster"))  # its columns, before the warm-up
    if args.root:
        preflight.existing_folder(Path(args.root), "--root")
    print(f"preparing the sandbox for {_count(len(paths), 'submission')} (TensorFlow loads once, "
          "about 5-40 s) ...", file=sys.stderr, flush=True)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb)
    config = GradeConfig(Path(args.solutions), args.assignment, args.jobs, limits,
                         step_factor=args.step_factor, step_floor_s=args.step_floor,
                         step_cpu_factor=args.step_cpu_factor, step_cpu_floor_s=args.step_cpu_floor,
                         root=Path(args.root) if args.root else None,
                         roster=Path(args.roster) if args.roster else None)
    start = time.perf_counter()
    with GradingSession(config, paths, scheduler=args.scheduler, deny_paths=[str(out.resolve())]) as session:
        isolation = session.isolation()
        print(isolation.describe(), flush=True)
        if args.require_isolation and not isolation.complete:
            print("autograder grade: --require-isolation: refusing to run untrusted code without the full "
                  "boundary (see the README's threat model)", file=sys.stderr)
            return 3
        run_info = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "isolation": isolation.to_dict(), "isolation_line": isolation.describe(),
                    "settings": {"solutions": str(args.solutions), "assignment": args.assignment, "jobs": config.jobs,
                                 "timeout_s": args.timeout, "memory_mb": args.memory_mb,
                                 "step_factor": args.step_factor, "step_floor_s": args.step_floor,
                                 "step_cpu_factor": args.step_cpu_factor, "step_cpu_floor_s": args.step_cpu_floor,
                                 "submissions": len(paths),
                                 **({"scheduler": args.scheduler, "workers": session.workers()}
                                    if args.scheduler else {})},
                    "python": platform.python_version(), "platform": platform.platform()}
        writer = ReportWriter(out, run_info)
        results = session.grade(progress=ProgressBar(), on_result=writer.add)
        missing = _add_missing(writer, results, args)
        gradebook = writer.finish()
    elapsed = time.perf_counter() - start
    print(summary_table(results, assignment_names=getattr(args, "course_settings", CourseSettings()).names))
    print(f"\n{_count(len(results), 'submission')} graded in {elapsed:.1f} s; gradebook: {gradebook}")
    if missing:
        print(f"{_count(len(missing), 'roster student')} with no submission: 0 points, marked missing "
              f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})")
    for path in _exports(args, out):
        print(f"exported {path}")
    return 0


def _add_missing(writer, results: list, args: argparse.Namespace) -> list[str]:  # noqa: ANN001
    """Gives each roster student without a submission a 0-point `missing` row; returns their keys."""
    from autograder.reports.export import MISSING, missing_students

    if not args.roster:
        return []
    assignments = {r.assignment for r in results if r.assignment} | ({args.assignment} if args.assignment else set())
    if len(assignments) != 1:
        return []  # a mixed class: which assignment is missing is not known
    assignment = assignments.pop()
    top = max((r.max_points for r in results if r.assignment == assignment), default=0.0)
    missing = missing_students(Path(args.roster), {r.submission for r in results})
    writer.add_missing(missing, assignment, top, MISSING)
    return missing


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _exports(args: argparse.Namespace, out: Path) -> list[Path]:
    from autograder.reports.export import export

    settings = getattr(args, "course_settings", None) or CourseSettings()
    columns = {**settings.canvas_columns, **dict(item.split("=", 1) for item in args.canvas_column or [])}
    return export(out, args.export or [], Path(args.roster) if args.roster else None, columns, settings.names)


def cmd_export(args: argparse.Namespace) -> int:
    args.export = args.export or ["canvas"]
    preflight.existing_folder(Path(args.out), "OUT")
    preflight.readable_file(Path(args.out) / "gradebook.csv", "OUT")
    if args.roster:
        preflight.readable_file(Path(args.roster), "--roster")
    for path in _exports(args, Path(args.out)):
        print(f"exported {path}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from autograder.authoring.bundle import BundleConfig, build_bundle

    preflight.assignment_ids(Path(args.solutions), [args.id])
    out = preflight.writable_file(Path(args.out or f"gradescope-{args.id}.zip"), ".zip")
    config = BundleConfig(args.id, args.hidden_visibility, args.stdout_visibility, args.timeout, args.memory_mb,
                          args.hidden_details)
    build_bundle(config, Path(args.solutions), out)
    print(f"wrote {out}: upload it as the assignment's autograder on Gradescope (Ubuntu base image)")
    return 0


def _add_export_options(p: argparse.ArgumentParser) -> None:
    from autograder.reports.export import EXPORTS

    p.add_argument("--export", action="append", choices=EXPORTS, default=None,
                   help="also write the grades for an LMS: `canvas` writes canvas.csv for Canvas' gradebook "
                        "import; `csv` is gradebook.csv (always written). Repeatable (default: none)")
    p.add_argument("--canvas-column", action="append", default=None, metavar="ID=HEADER", type=_column,
                   help="the Canvas column of an assignment, e.g. 'A2=A2: vanilla RNN (1234)' (the number is the "
                        "assignment's Canvas ID, so Canvas updates it instead of creating a new one; default: the id)")


def _column(text: str) -> str:
    if "=" not in text or not text.split("=", 1)[0].strip() or not text.split("=", 1)[1].strip():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=HEADER, e.g. 'A2=A2 (1234)'; got {text!r}")
    return text


SETTINGS_HELP = (f"the course's settings file (default: ./{FILE_NAME} when present): install source, folders, "
                 "limits, assignment names and Canvas columns that every command reads; options given here win")
SOLUTIONS_HELP = "folder of reference notebooks, <id>.ipynb (default: %(default)s)"


def default(cls: type, name: str) -> object:
    """A settings dataclass's default for one field: the one place each default is written."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    return field.default_factory() if field.default is dataclasses.MISSING else field.default  # type: ignore[misc]


def build_parser(settings: CourseSettings | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; `settings` (a course folder's `autograder.toml`) replaces the built-in defaults."""
    from autograder.authoring.colab import DEFAULT_INSTALL
    from autograder.grading.settings import GradeConfig
    from autograder.authoring.bundle import BundleConfig
    from autograder.reports.writer import VISIBILITIES
    from autograder.run import Limits

    settings = settings or CourseSettings()
    solutions, notebooks = settings.solutions or "solutions", settings.notebooks or "notebooks"
    install = settings.install or DEFAULT_INSTALL
    install_help = ("what the notebooks' set-up cell installs on Colab: a pip requirement, "
                    "'keras-seq-course @ git+https://...' or a wheel's URL (default: %(default)s)")
    parser = preflight.Parser(prog="autograder", description="Assign, check and grade the course notebooks.")
    parser.add_argument("--settings", default=None, metavar="FILE", help=SETTINGS_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("new", help="write a starter reference notebook, solutions/<id>.ipynb")
    p.add_argument("id", help="the new assignment's id, e.g. A8")
    p.add_argument("--title", default=None, help="the notebook's title (default: the id's name in the settings' "
                   "[names], else 'A first exercise')")
    p.add_argument("--solutions", default=solutions, help=SOLUTIONS_HELP)
    p.add_argument("--install", default=install, metavar="SOURCE", help=install_help)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("assign", help="generate student notebooks and public cases from solutions/")
    p.add_argument("ids", nargs="*", help="assignment ids, e.g. A2 (default: every reference notebook)")
    p.add_argument("--solutions", default=solutions, help=SOLUTIONS_HELP)
    p.add_argument("--notebooks", default=notebooks,
                   help="folder the student notebooks are written to (default: %(default)s)")
    p.add_argument("--install", default=install, metavar="SOURCE", help=install_help)
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("release", help="write a student bundle (no solutions, no hidden cases)")
    p.add_argument("dir", help="the folder to write the bundle into (made if missing)")
    p.add_argument("--notebooks", default=notebooks,
                   help="folder of the generated student notebooks (default: %(default)s)")
    p.add_argument("--install", default=None, metavar="SOURCE",
                   help="rewrite the notebooks' set-up cells to install SOURCE on Colab (default: as assigned)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("gradescope", help="write an upload-ready Gradescope autograder zip for one assignment")
    p.add_argument("id", help="assignment id, e.g. A2")
    p.add_argument("--solutions", default=solutions, help=SOLUTIONS_HELP)
    p.add_argument("--out", default=None, help="the zip to write (default: gradescope-<id>.zip)")
    p.add_argument("--hidden-visibility", default=default(BundleConfig, "hidden_visibility"), choices=VISIBILITIES,
                   help="when students see hidden cases' results (default: %(default)s)")
    p.add_argument("--hidden-details", action="store_true", default=default(BundleConfig, "hidden_details"),
                   help="show a failed hidden case's message (shapes, hints); default: passed or failed only")
    p.add_argument("--stdout-visibility", default=default(BundleConfig, "stdout_visibility"), choices=VISIBILITIES,
                   help="when students see what the autograder printed (default: %(default)s)")
    p.add_argument("--timeout", type=positive_float, default=settings.timeout_s or default(BundleConfig, "timeout_s"),
                   help="wall-clock seconds per submission (default: %(default)s)")
    p.add_argument("--memory-mb", type=positive_int, default=settings.memory_mb or default(BundleConfig, "memory_mb"),
                   help="memory per submission (default: %(default)s)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("grade", help="grade submissions")
    p.add_argument("submissions", nargs="+",
                   help="submitted notebooks (.ipynb); a quoted glob such as 'submitted/*/A2/*.ipynb' is expanded")
    p.add_argument("--out", required=True, help="folder for results.json, feedback.md, gradebook.csv (required)")
    p.add_argument("--solutions", default=solutions, help=SOLUTIONS_HELP)
    p.add_argument("--assignment", default=None,
                   help="grade all against this id (default: the folder nbgrader's submitted/<student>/<id>/ "
                        "names, else each notebook's metadata or graded markers)")
    p.add_argument("--jobs", type=positive_int, default=default(GradeConfig, "jobs"),
                   help="submissions graded at once (default: the number of cores, %(default)s)")
    p.add_argument("--timeout", type=positive_float, default=settings.timeout_s or default(Limits, "timeout_s"),
                   help="wall-clock seconds per submission (default: %(default)s)")
    p.add_argument("--memory-mb", type=positive_int, default=settings.memory_mb or default(Limits, "memory_mb"),
                   help="memory per submission (default: %(default)s)")
    p.add_argument("--step-factor", type=positive_float, default=default(GradeConfig, "step_factor"),
                   help="a graded cell or check may take this many times the reference's time (default: %(default)s)")
    p.add_argument("--step-floor", type=non_negative_float, default=default(GradeConfig, "step_floor_s"),
                   help="... and at least this many seconds (default: %(default)s)")
    p.add_argument("--step-cpu-factor", type=positive_float, default=default(GradeConfig, "step_cpu_factor"),
                   help="a check may also take this many times the reference's time in CPU time, at most "
                        "--step-factor (default: %(default)s)")
    p.add_argument("--step-cpu-floor", type=non_negative_float, default=default(GradeConfig, "step_cpu_floor_s"),
                   help="... and at least this many seconds of CPU time, at most --step-floor (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on Dask workers: a scheduler address (tcp://host:8786), or local:N for N local "
                        "worker processes (needs the [dask] extra; default: grade on this machine)")
    p.add_argument("--root", default=None,
                   help="the class folder: each file's row is named by where it sits under it "
                        "(default: the files' common folder)")
    p.add_argument("--roster", default=None,
                   help="a CSV with `file` and `student` columns naming each file's row ; roster students with "
                        "no file get a 0-point `missing` row (default: none; rows named by the folder layout)")
    p.add_argument("--require-isolation", action="store_true",
                   help="refuse to grade unless every layer of the kernel boundary is in force (default: off)")
    _add_export_options(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("export", help="write LMS files from an earlier run's gradebook.csv")
    p.add_argument("out", help="the folder `autograder grade --out` wrote")
    p.add_argument("--roster", default=None, help="a roster CSV with optional name, canvas_id, sis_user_id, "
                   "sis_login_id and section columns (default: none)")
    _add_export_options(p)
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    from autograder.grading.settings import skip_unused_imports

    skip_unused_imports()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--settings", default=None)
    known, _ = first.parse_known_args(argv)
    try:
        settings = load_settings(Path(known.settings) if known.settings else None)
    except ValueError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    args.course_settings = settings
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"autograder {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

