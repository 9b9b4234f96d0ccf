"""The exact installed course package as a wheel, and the pinned requirements grading needs.

A Gradescope zip must install wherever it was built: from a checkout (the
wheel is built from its `pyproject.toml`) or from a wheel install, where no
source tree exists (the wheel is re-packed from the installed files that the
distribution's `RECORD` lists). Either way the zip carries
`keras_seq_course-<version>-py3-none-any.whl` and `requirements.txt`, which pins
what grading imports, at the versions installed here; tensorflow-datasets,
matplotlib and the rest of the notebooks' extras are left out (grading never
imports them), so the container installs in about half the time and size.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder import __version__
from autograder.authoring.colab import DISTRIBUTION
from autograder.authoring.package import ROOT

GRADING_NEEDS = ("keras", "numpy", "nbformat", "tqdm")
"""What grading imports besides TensorFlow (the lean set: no tensorflow-datasets, no matplotlib)."""
TENSORFLOW = ("tensorflow-cpu", "tensorflow")
MUST_HOLD = ("autograder/grading/gradescope.py", "autograder/authoring/templates/run_autograder", "course/__init__.py")
SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def wheel_name() -> str:
    return f"{DISTRIBUTION.replace('-', '_')}-{__version__}-py3-none-any.whl"


def pinned_requirements() -> list[str]:
    """`name==version` for each package grading needs, as installed here (CPU TensorFlow on Linux).

    Raises:
        ValueError: one of them is not installed.
    """
    pins = []
    for name in GRADING_NEEDS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            raise ValueError(f"{name} is not installed here: expected the course package's dependencies") from None
    found = [(n, v) for n in TENSORFLOW for v in [_version(n)] if v]
    if not found:
        raise ValueError("TensorFlow is not installed here: install keras-seq-course[cpu] first")
    version = found[0][1]
    pins.append(f"tensorflow-cpu=={version}; sys_platform != 'darwin'")  # Gradescope's image is Ubuntu
    return pins


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def build_wheel(out_dir: Path, root: Path = ROOT) -> Path:
    """Writes the installed package's wheel into `out_dir`; returns its path.

    Raises:
        ValueError: the package is neither a source tree nor an installed distribution,
            or the wheel lacks what grading runs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if (Path(root) / "pyproject.toml").is_file():
        path = _from_source(Path(root), out_dir)
    else:
        path = _from_installed(out_dir)
    check_wheel(path)
    return path


def _from_source(root: Path, out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--quiet", "--wheel-dir", tmp, str(root)], capture_output=True, text=True)
        built = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(built) != 1:
            raise ValueError(f"could not build the course package's wheel from {root}: "
                             f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no wheel']}")
        target = out_dir / built[0].name
        target.write_bytes(built[0].read_bytes())
    return target


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _from_installed(out_dir: Path) -> Path:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ValueError(f"{DISTRIBUTION} is neither installed nor a source tree here: cannot ship it") from None
    if dist.version != __version__:
        raise ValueError(f"the installed {DISTRIBUTION} is {dist.version} but this code is {__version__}")
    target = out_dir / wheel_name()
    record, info = [], f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in sorted(dist.files or [], key=str):
            name = Path(str(file)).as_posix()
            if name.startswith("..") or "__pycache__" in name or name.endswith(".pyc") or \
                    (name.startswith(info + "/") and name.rsplit("/", 1)[1] in SKIPPED):
                continue
            data = Path(file.locate()).read_bytes()
            wheel.writestr(name, data)
            record.append(_record_line(name, data))
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return target


def check_wheel(path: Path) -> None:
    """Refuses a wheel that would not install the grader.

    Raises:
        ValueError: not a zip, or no METADATA of this version, or a module grading runs is missing.
    """
    try:
        with zipfile.ZipFile(path) as wheel:
            names = set(wheel.namelist())
            meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
            text = wheel.read(meta).decode("utf-8", "replace") if meta else ""
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a wheel ({exc}): refusing to write a zip that cannot install") from None
    missing = [n for n in MUST_HOLD if n not in names]
    if f"\nVersion: {__version__}\n" not in text or missing:
        raise ValueError(f"{path.name} is not an installable {DISTRIBUTION} {__version__} "
                         f"(missing: {missing or ['METADATA']}): refusing to write a zip that cannot install")
