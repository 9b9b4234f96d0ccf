"""Submissions are files the student owns: links are refused before anything is read.

Runs in the grading process, before a submission is opened. A submitted path
is graded only when it is the student's own regular file:

- no symbolic link, neither the file itself nor any folder between the class
  folder and the file (`git clone` and `unzip` keep links, so a link to the
  reference notebook or to a classmate's file would otherwise be graded as
  the student's work);
- no hard link shared with another submitted path or with a reference
  notebook (the grader cannot tell whose file it is, so neither path is
  graded and each row says why).

A file with other hard links that are neither (a backup made with `cp -al`,
say) is graded as usual. Paths are made absolute without resolving links, so
each row is keyed by the path the student's file was submitted under.
"""

from __future__ import annotations

import os
from pathlib import Path

SYMLINK = ("the submitted file is a symbolic link ({where}), not a notebook file of its own; "
           "only files you submit yourself are graded: upload the notebook file itself")
SHARED = ("the submitted file is the same file as another submission (a hard link), so the grader cannot "
          "tell whose work it is and grades neither; the instructor has to look at it")
REFERENCE = "the submitted file is a hard link to the instructor's reference notebook; it is not graded"


def absolute(path: Path) -> Path:
    """`path` made absolute without following any link."""
    return Path(os.path.abspath(path))


def _linked_part(path: Path, root: Path | None) -> str | None:
    """Which part of `path` below `root` is a symbolic link (`the file` or `the folder NAME`), if any."""
    path = absolute(path)
    stop = absolute(root) if root is not None else path.parent
    try:
        below = path.relative_to(stop).parts
    except ValueError:
        below = (path.name,)
        stop = path.parent
    current = stop
    for i, part in enumerate(below):
        current = current / part
        try:
            if current.is_symlink():
                return "the file" if i == len(below) - 1 else f"the folder `{part}`"
        except OSError:
            return None
    return None


def _identity(path: Path) -> tuple[int, int, int] | None:
    """(device, inode, link count) of the file itself, or None when it cannot be examined."""
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino, info.st_nlink


def link_problems(paths: list[Path], root: Path | None, references: list[Path] = ()) -> dict[int, str]:
    """The submissions that must not be graded because of a link, by index, with the reason.

    Args:
        paths: the submitted files, as given.
        root: the class folder (links are looked for below it; None: only the file itself).
        references: the reference notebooks (a hard link to one is refused).
    """
    problems: dict[int, str] = {}
    by_inode: dict[tuple[int, int], list[int]] = {}
    for i, path in enumerate(paths):
        where = _linked_part(Path(path), root)
        if where is not None:
            problems[i] = SYMLINK.format(where=where)
            continue
        ident = _identity(absolute(Path(path)))
        if ident is not None and ident[2] > 1:
            by_inode.setdefault(ident[:2], []).append(i)
    if not by_inode:
        return problems
    reference_inodes = {ident[:2] for ref in references if (ident := _identity(Path(ref))) is not None}
    for inode, indices in by_inode.items():
        if inode in reference_inodes:
            problems.update({i: REFERENCE for i in indices})
        elif len(indices) > 1:
            problems.update({i: SHARED for i in indices})
    return problems
