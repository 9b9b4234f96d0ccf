"""The course folder's optional settings file, `autograder.toml`, which every command reads.

It sits in the folder the commands run in (or is named with `autograder
--settings FILE <command>`), so a regrade keeps what the first run was told:

```toml
install = "keras-seq-course @ git+https://github.com/you/course@v1"  # the notebooks' set-up cell
solutions = "solutions"          # reference notebooks
notebooks = "notebooks"          # generated student notebooks

[limits]                         # `grade` and `gradescope`, per submission
timeout_s = 60
memory_mb = 3072

[names]                          # each assignment's name: the summary's header, `new`'s title,
A2 = "A vanilla RNN on tf.scan"  # and the Canvas column when [canvas_columns] names none ("A2: A vanilla ...")

[canvas_columns]                 # the Canvas column of each assignment (with its Canvas ID, to update it)
A2 = "A2: a vanilla RNN (4821)"
```

Command-line options win over the file; the file wins over the built-in
defaults (`CourseSettings`'s). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from autograder.preflight import InputError

FILE_NAME = "autograder.toml"


@dataclass(frozen=True)
class CourseSettings:
    """What a course folder's `autograder.toml` may set (None: the command's own default).

    Attributes:
        install: what the notebooks' set-up cell installs on Colab.
        solutions, notebooks: the folders of reference and student notebooks.
        timeout_s, memory_mb: per-submission limits for `grade` and `gradescope`.
        names: assignment id -> the assignment's name (`assignment_title` says how it is shown).
        canvas_columns: assignment id -> Canvas column header.
        path: the file read, if any.
    """

    install: str | None = None
    solutions: str | None = None
    notebooks: str | None = None
    timeout_s: float | None = None
    memory_mb: int | None = None
    names: dict[str, str] = field(default_factory=dict)
    canvas_columns: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def title(self, assignment: str) -> str:
        """How the assignment is shown: `A2: A vanilla RNN on tf.scan`, or the id alone when it has no name."""
        return assignment_title(assignment, self.names)


def assignment_title(assignment: str, names: dict[str, str] | None = None) -> str:
    """`<id>: <name>` when `names` names the assignment, else the id."""
    name = (names or {}).get(assignment, "").strip()
    return f"{assignment}: {name}" if name else assignment


TOP_KEYS = {"install": str, "solutions": str, "notebooks": str}
LIMIT_KEYS = {"timeout_s": (int, float), "memory_mb": int}


def load_settings(path: Path | None = None) -> CourseSettings:
    """Reads `path` (default: `./autograder.toml` when it exists).

    Raises:
        InputError: the named file is missing, is not TOML, or holds an unknown key or a value of the wrong kind.
    """
    if path is None:
        path = Path(FILE_NAME)
        if not path.is_file():
            return CourseSettings()
    elif not path.is_file():
        raise InputError(f"--settings {str(path)!r} does not exist: expected a TOML file such as {FILE_NAME}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path} is not readable TOML ({exc}): expected settings as in {FILE_NAME}'s docs") \
            from None
    known = {*TOP_KEYS, "limits", "names", "canvas_columns"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: unknown setting {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
    values: dict = {}
    for key, kind in TOP_KEYS.items():
        if key in data:
            values[key] = _typed(path, key, data[key], kind)
    limits = _table(path, "limits", data)
    for key, kind in LIMIT_KEYS.items():
        if key in limits:
            value = _typed(path, f"limits.{key}", limits[key], kind)
            if value <= 0:
                raise InputError(f"{path}: limits.{key} must be above 0; got {value}")
            values[key] = value
    extra = sorted(set(limits) - set(LIMIT_KEYS))
    if extra:
        raise InputError(f"{path}: unknown setting limits.{extra[0]}; expected {', '.join(LIMIT_KEYS)}")
    for key in ("names", "canvas_columns"):
        table = _table(path, key, data)
        values[key] = {str(k): _typed(path, f"{key}.{k}", v, str) for k, v in table.items()}
        blank = [k for k, v in values[key].items() if not v.strip()]
        if blank:
            raise InputError(f"{path}: {key}.{blank[0]} is empty: expected the text to show, e.g. "
                             f"{blank[0]} = \"A vanilla RNN\"")
    return CourseSettings(**values, path=path)


def _table(path: Path, key: str, data: dict) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise InputError(f"{path}: [{key}] must be a table, e.g. [{key}] on its own line")
    return table


def _typed(path: Path, key: str, value: object, kind: type | tuple[type, ...]) -> object:
    if isinstance(value, bool) or not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InputError(f"{path}: {key} must be a {names}; got {value!r}")
    return value


def setting_names() -> list[str]:
    """The fields a settings file may set (for the docs and tests)."""
    return [f.name for f in fields(CourseSettings) if f.name != "path"]
