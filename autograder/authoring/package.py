"""The course's own package, copied into a student release or a Gradescope bundle (authoring).

Both ship the same files: the `course` and `autograder` packages (no caches)
and the distribution's top-level files, so that `pip install .` works from
either. `copy_package` writes them into a folder or into an open zip.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The source tree this package was loaded from (its `pyproject.toml` is there)."""
PACKAGES = ("course", "autograder")
TOP_FILES = ("pyproject.toml", "README.md", "LICENSE", "environment.yml")


def package_files(root: Path = ROOT) -> list[tuple[Path, str]]:
    """`(file, name in the copy)` for every file a copy of the package holds, sorted by name.

    Raises:
        ValueError: `root` holds neither package.
    """
    root = Path(root)
    if not any((root / p).is_dir() for p in PACKAGES):
        raise ValueError(f"{root} holds none of the packages {PACKAGES}: expected the course's source tree")
    files = [(root / name, name) for name in TOP_FILES if (root / name).is_file()]
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path, path.relative_to(root).as_posix()))
    return sorted(files, key=lambda item: item[1])


def copy_package(into: Path | zipfile.ZipFile, root: Path = ROOT) -> list[str]:
    """Copies the package's files into a folder (a release) or an open zip (a bundle).

    Args:
        into: the folder to copy into (created if needed), or a `ZipFile` open for writing.
        root: the source tree to copy from.

    Returns:
        The names written, relative to `into`.
    """
    names = []
    for path, name in package_files(root):
        if isinstance(into, zipfile.ZipFile):
            into.write(path, name)
        else:
            target = Path(into) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        names.append(name)
    return names
