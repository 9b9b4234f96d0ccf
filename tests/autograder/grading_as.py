"""Grading a class through the CLI as root (jobs under their own uid) or as an ordinary user."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def readable_by_others(*paths: str | Path) -> bool:
    """Whether a user with no relation to root can reach these folders (Python, the venv, this checkout)."""
    for path in paths:
        path = Path(path).resolve()
        for part in [*reversed(path.parents), path]:
            if not os.stat(part).st_mode & stat.S_IXOTH:
                return False
    return True


def identities() -> list[str]:
    """Who can grade here: "root" and "user" as root (with setpriv), "user" otherwise."""
    if os.geteuid() != 0:
        return ["user"]
    return ["root", "user"] if shutil.which("setpriv") else ["root"]


def grade_cli(who: str, base: Path, args: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    """`autograder grade ARGS` with TMPDIR under `base`; as `who` ("root" or "user").

    As "user" when this process is root, everything under `base` is handed to
    nobody first (links included, never followed) and the grader drops to it.
    """
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *args]
    tmp = base / "tmp"
    tmp.mkdir(mode=0o1777, exist_ok=True)
    tmp.chmod(0o1777)
    env = {**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT) + os.pathsep + str(Path(__file__).parent)}
    if who == "user" and os.geteuid() == 0:
        for folder, dirs, files in os.walk(base):
            for name in [*dirs, *files]:
                os.lchown(Path(folder) / name, NOBODY, NOBODY)
        os.lchown(base, NOBODY, NOBODY)
        caps = [] if readable_by_others(sys.base_prefix, sys.prefix, ROOT) else [
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *caps, *cmd]
        env["HOME"] = str(base)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
