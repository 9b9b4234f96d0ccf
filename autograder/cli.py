"""`autograder`: one command with subcommands that forward to plain functions."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cmd_assign(args: argparse.Namespace) -> int:
    from autograder.authoring.assign import assign_all

    changed = assign_all(Path(args.solutions), Path(args.notebooks), ids=args.ids or None, install=args.install)
    for line in changed:
        print(line)
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.authoring.assign import release

    files = release(Path(args.dir), Path(args.notebooks), install=args.install)
    print(f"wrote a student bundle of {len(files)} files to {args.dir}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    import platform
    from datetime import datetime, timezone

    from autograder.grading.pipeline import GradeConfig
    from autograder.grading.driver import GradingSession
    from autograder.reports.writer import ReportWriter
    from autograder.reports.terminal import ProgressBar, summary_table
    from autograder.run import Limits

    paths = [Path(p) for p in args.submissions]
    out = Path(args.out)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb)
    config = GradeConfig(Path(args.solutions), args.assignment, max(1, args.jobs), limits,
                         step_factor=args.step_factor, step_floor_s=args.step_floor,
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
                                 "submissions": len(paths),
                                 **({"scheduler": args.scheduler, "workers": session.workers()}
                                    if args.scheduler else {})},
                    "python": platform.python_version(), "platform": platform.platform()}
        writer = ReportWriter(out, run_info)
        results = session.grade(progress=ProgressBar(), on_result=writer.add)
        gradebook = writer.finish()
    elapsed = time.perf_counter() - start
    print(summary_table(results))
    print(f"\n{len(results)} submissions graded in {elapsed:.1f} s; gradebook: {gradebook}")
    for path in _exports(args, out):
        print(f"exported {path}")
    return 0


def _exports(args: argparse.Namespace, out: Path) -> list[Path]:
    from autograder.reports.export import export

    columns = dict(item.split("=", 1) for item in args.canvas_column or [])
    return export(out, args.export or [], Path(args.roster) if args.roster else None, columns)


def cmd_export(args: argparse.Namespace) -> int:
    args.export = args.export or ["canvas"]
    for path in _exports(args, Path(args.out)):
        print(f"exported {path}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from autograder.authoring.bundle import BundleConfig, build_bundle

    config = BundleConfig(args.id, args.hidden_visibility, args.stdout_visibility, args.timeout, args.memory_mb)
    out = Path(args.out or f"gradescope-{args.id}.zip")
    build_bundle(config, Path(args.solutions), out)
    print(f"wrote {out}: upload it as the assignment's autograder on Gradescope (Ubuntu base image)")
    return 0


def _add_export_options(p: argparse.ArgumentParser) -> None:
    from autograder.reports.export import EXPORTS

    p.add_argument("--export", action="append", choices=EXPORTS, default=None,
                   help="also write the grades for an LMS: `canvas` writes canvas.csv for Canvas' gradebook "
                        "import; `csv` is gradebook.csv (always written). Repeatable.")
    p.add_argument("--canvas-column", action="append", default=None, metavar="ID=HEADER", type=_column,
                   help="the Canvas column of an assignment, e.g. 'A2=A2: vanilla RNN (1234)' (the number is the "
                        "assignment's Canvas ID, so Canvas updates it instead of creating a new one)")


def _column(text: str) -> str:
    if "=" not in text or not text.split("=", 1)[0].strip() or not text.split("=", 1)[1].strip():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=HEADER, e.g. 'A2=A2 (1234)'; got {text!r}")
    return text


def default(cls: type, name: str) -> object:
    """A settings dataclass's default for one field: the one place each default is written."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    return field.default_factory() if field.default is dataclasses.MISSING else field.default  # type: ignore[misc]


def build_parser() -> argparse.ArgumentParser:
    from autograder.authoring.colab import DEFAULT_INSTALL
    from autograder.grading.pipeline import GradeConfig
    from autograder.authoring.bundle import BundleConfig
    from autograder.reports.writer import VISIBILITIES
    from autograder.run import Limits

    install_help = (f"what the notebooks' set-up cell installs on Colab: a pip requirement (default "
                    f"{DEFAULT_INSTALL!r}), 'keras-seq-course @ git+https://...' or a wheel's URL")
    parser = argparse.ArgumentParser(prog="autograder", description="Assign, check and grade the course notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("assign", help="generate student notebooks and public cases from solutions/")
    p.add_argument("ids", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--solutions", default="solutions")
    p.add_argument("--notebooks", default="notebooks")
    p.add_argument("--install", default=DEFAULT_INSTALL, metavar="SOURCE", help=install_help)
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("release", help="write a student bundle (no solutions, no hidden cases)")
    p.add_argument("dir")
    p.add_argument("--notebooks", default="notebooks")
    p.add_argument("--install", default=None, metavar="SOURCE",
                   help="rewrite the notebooks' set-up cells to install SOURCE on Colab (default: as assigned)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("gradescope", help="write an upload-ready Gradescope autograder zip for one assignment")
    p.add_argument("id", help="assignment id, e.g. A2")
    p.add_argument("--solutions", default="solutions")
    p.add_argument("--out", default=None, help="the zip to write (default: gradescope-<id>.zip)")
    p.add_argument("--hidden-visibility", default=default(BundleConfig, "hidden_visibility"), choices=VISIBILITIES,
                   help="when students see hidden cases' results (default: %(default)s)")
    p.add_argument("--stdout-visibility", default=default(BundleConfig, "stdout_visibility"), choices=VISIBILITIES,
                   help="when students see what the autograder printed (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=default(BundleConfig, "timeout_s"),
                   help="wall-clock seconds per submission (default: %(default)s)")
    p.add_argument("--memory-mb", type=int, default=default(BundleConfig, "memory_mb"),
                   help="memory per submission (default: %(default)s)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("grade", help="grade submissions")
    p.add_argument("submissions", nargs="+")
    p.add_argument("--out", required=True, help="folder for results.json, feedback.md, gradebook.csv")
    p.add_argument("--solutions", default="solutions")
    p.add_argument("--assignment", default=None, help="grade all against this id (default: detect)")
    p.add_argument("--jobs", type=int, default=default(GradeConfig, "jobs"),
                   help="submissions graded at once (default: the number of cores, %(default)s)")
    p.add_argument("--timeout", type=float, default=default(Limits, "timeout_s"),
                   help="wall-clock seconds per submission (default: %(default)s)")
    p.add_argument("--memory-mb", type=int, default=default(Limits, "memory_mb"),
                   help="memory per submission (default: %(default)s)")
    p.add_argument("--step-factor", type=float, default=default(GradeConfig, "step_factor"),
                   help="a graded cell or check may take this many times the reference's time (default %(default)s)")
    p.add_argument("--step-floor", type=float, default=default(GradeConfig, "step_floor_s"),
                   help="... and at least this many seconds (default %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on Dask workers: a scheduler address (tcp://host:8786), or local:N for N local "
                        "worker processes (needs the [dask] extra)")
    p.add_argument("--root", default=None,
                   help="the class folder: each file's row is named by where it sits under it "
                        "(default: the files' common folder)")
    p.add_argument("--roster", default=None,
                   help="a CSV with `file` and `student` columns naming each file's row")
    p.add_argument("--require-isolation", action="store_true",
                   help="refuse to grade unless every layer of the kernel boundary is in force")
    _add_export_options(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("export", help="write LMS files from an earlier run's gradebook.csv")
    p.add_argument("out", help="the folder `autograder grade --out` wrote")
    p.add_argument("--roster", default=None, help="a roster CSV with optional name, canvas_id, sis_user_id, "
                   "sis_login_id and section columns")
    _add_export_options(p)
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"autograder {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

