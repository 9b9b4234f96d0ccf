"""What the guard lets a job read, and how it reports the isolation in force."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.run.guard import Isolation, _realpath, carve, make_plan

ROOT = Path(__file__).resolve().parents[3]


def test_carve_leaves_out_denied_trees_and_links(tmp_path):
    (tmp_path / "a" / "keep").mkdir(parents=True)
    (tmp_path / "a" / "secret" / "deep").mkdir(parents=True)
    (tmp_path / "a" / "file.txt").write_text("x")
    (tmp_path / "a" / "link").symlink_to(tmp_path / "a" / "secret")
    got = sorted(carve([str(tmp_path / "a")], [str(tmp_path / "a" / "secret")]))
    assert got == [str(tmp_path / "a" / "file.txt"), str(tmp_path / "a" / "keep")]
    assert carve([str(tmp_path / "a")], []) == [str(tmp_path / "a")]
    assert carve([str(tmp_path / "a" / "secret")], [str(tmp_path / "a" / "secret")]) == []
    # Python inside the submissions' folder: still readable (the rest of the folder is not a root)
    assert carve([str(tmp_path / "a" / "keep")], [str(tmp_path / "a")]) == [str(tmp_path / "a" / "keep")]


def test_the_plan_reads_python_and_our_packages_but_not_the_repository():
    plan = make_plan(deny=(str(ROOT / "solutions"),))
    assert os.path.realpath(sys.prefix) in plan.read
    assert str((ROOT / "autograder").resolve()) in plan.read and str((ROOT / "course").resolve()) in plan.read
    assert str(ROOT.resolve()) not in plan.read  # solutions/, grading output and submissions live there
    assert "/proc" not in plan.read and "/dev/null" in plan.write  # only the job's own /proc/<pid>
    assert (plan.uid is not None) == (os.geteuid() == 0)


def test_module_paths_resolve_as_realpath_does_with_each_folder_resolved_once(tmp_path):
    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg" / "mod.py").write_text("")
    (tmp_path / "elsewhere.py").write_text("")
    (tmp_path / "linked").symlink_to(real)
    (real / "pkg" / "alias.py").symlink_to(tmp_path / "elsewhere.py")  # a linked file leaves its folder
    folders: dict[str, str] = {}
    for path in (tmp_path / "linked" / "pkg" / "mod.py", tmp_path / "linked" / "pkg" / "alias.py",
                 real / "pkg" / "mod.py", tmp_path / "linked" / "pkg" / "missing.py"):
        assert _realpath(str(path), folders) == os.path.realpath(path), path
    assert folders[str(tmp_path / "linked" / "pkg")] == str(real / "pkg")


def test_isolation_says_what_is_missing():
    full = Isolation("landlock ABI 7 (files)", "seccomp x86_64 (no processes)", 61001, (), 2048, ())
    assert full.complete and full.describe().startswith("isolation: landlock ABI 7") and "uid 61001" in full.describe()
    weak = Isolation("", "seccomp", None, (), 2048, ("landlock (kernel too old)",))
    assert not weak.complete and "NO landlock" in weak.describe() and "MISSING: landlock" in weak.describe()
    assert Isolation.from_dict(full.to_dict()) == full


def test_a_job_whose_boundary_comes_out_weaker_does_not_run(tmp_path):
    import dataclasses

    import forked
    from autograder.run import guard
    from autograder.run.limits import Limits

    def weakened(strict: bool):
        def body():
            def broken(*args, **kwargs):
                raise OSError("landlock_create_ruleset failed")

            guard.landlock.restrict = broken
            plan = dataclasses.replace(guard.make_plan(), strict=strict)
            try:
                return guard.apply(plan, Limits(), str(tmp_path)).describe()
            except guard.GuardError as exc:
                return f"refused: {exc}"
        return forked.run(body)

    kind, text = weakened(strict=True)
    assert kind == "ok" and text.startswith("refused: the boundary could not be applied") and "landlock" in text
    kind, text = weakened(strict=False)
    assert kind == "ok" and "NO landlock" in text and "MISSING: landlock" in text
