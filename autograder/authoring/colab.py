"""The notebooks' set-up cell: installs the course on Colab, checks the kernel elsewhere.

Every notebook's first code cell starts with `# COLAB SETUP`. Its install
source (`COURSE_PACKAGE`) is one setting, written by `autograder assign
--install` and `autograder release --install`: a PyPI requirement
(`keras-seq-course==0.1.0`, the default), a git URL
(`keras-seq-course @ git+https://…`) or a wheel's URL. The cell installs with
`pip` in a subprocess, not `%pip`, because `%pip` does not stop the notebook
when the install fails; this cell raises with what to do instead. Its last
line says which GPU TensorFlow found: nothing in the notebooks asks for one,
and everything they run uses it when it is there.
"""

from __future__ import annotations

import re

from autograder import __version__
MARKER = "# COLAB SETUP"
DISTRIBUTION = "keras-seq-course"
DEFAULT_INSTALL = f"{DISTRIBUTION}=={__version__}"

_TEMPLATE = '''\
# COLAB SETUP: on Colab this installs the course package; elsewhere it only checks the kernel has it.
COURSE_PACKAGE = {install!r}  # written by `autograder assign --install ...`

import importlib.util
import subprocess
import sys

if importlib.util.find_spec("autograder") is None:
    if "google.colab" not in sys.modules:
        raise RuntimeError(
            "This kernel does not have the course package. Locally, run `make lab` in the course folder and "
            "open the notebook there, or install it into this kernel's Python: pip install " + repr(COURSE_PACKAGE))
    print("Installing", COURSE_PACKAGE, "(about a minute) ...")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE_PACKAGE],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(
            f"Installing the course package ({{COURSE_PACKAGE}}) failed. pip said:\\n{{pip.stderr[-1500:]}}\\n"
            "Check that the Colab runtime is connected, then run this cell again. If it fails again, ask your "
            "instructor for the right install line and put it in COURSE_PACKAGE above.")
    importlib.invalidate_caches()
import autograder, tensorflow as tf  # noqa: E401
GPUS = tf.config.list_physical_devices("GPU")  # Keras and tf.scan use the first GPU by themselves
DEVICE = (tf.config.experimental.get_device_details(GPUS[0]).get("device_name", GPUS[0].name) if GPUS
          else "none, so everything runs on the CPU (on Colab: Runtime > Change runtime type > GPU)")
print("course package", autograder.__version__, "· TensorFlow", tf.__version__, "· GPU:", DEVICE)'''

_URL = re.compile(r"^(git\+)?(https?|file|ssh)://\S+$")


def check_install(install: str) -> str:
    """Returns `install` if it is a requirement, a URL or a wheel's path; raises ValueError if not."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = install.strip() if isinstance(install, str) else ""
    if not text or "\n" in text or "\r" in text:
        raise ValueError(f"--install must be one line, a pip requirement or URL; got {install!r}")
    if _URL.match(text) or text.endswith((".whl", ".tar.gz", ".zip")):
        return text
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(
            f"--install {text!r} is neither a pip requirement (e.g. {DEFAULT_INSTALL!r} or "
            f"'{DISTRIBUTION} @ git+https://github.com/you/course') nor a URL: {exc}") from None
    if requirement.name.lower().replace("_", "-") != DISTRIBUTION:
        raise ValueError(f"--install must install the {DISTRIBUTION!r} distribution; got {requirement.name!r}")
    return text


def setup_cell(install: str = DEFAULT_INSTALL) -> str:
    """The source of the set-up cell that installs `install` on Colab."""
    return _TEMPLATE.format(install=check_install(install))


def is_setup_cell(source: str) -> bool:
    """Whether a code cell is the set-up cell (its first line starts with the marker)."""
    return source.lstrip().startswith(MARKER)


def installed_source(source: str) -> str | None:
    """The `COURSE_PACKAGE` a set-up cell installs, or None if it names none."""
    match = re.search(r"^COURSE_PACKAGE\s*=\s*(['\"])(.*?)\1", source, flags=re.M)
    return match.group(2) if match else None
