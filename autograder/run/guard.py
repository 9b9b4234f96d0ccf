"""The boundary around one job, applied in the job's own process before any student code.

Layers, in the order they are applied (each one the kernel enforces, native
code included):

1. `PR_SET_PDEATHSIG`: the job dies with its supervisor.
2. Resource limits with hard = soft (memory, CPU, file size, no core files,
   open files; processes per uid when the job has its own uid).
3. As root: a uid and gid of the job's own, with no capabilities. (Where the
   Python installation lies under a folder other users cannot enter, as a
   0700 `/root`, the job's own mount namespace binds it in read-only, see
   `mounts`; only where no namespace can be made does the job keep
   `CAP_DAC_READ_SEARCH`, bounded by Landlock, and the line says so.)
4. Landlock: read only Python, the packages, system libraries, the few files
   of /etc the loader needs (`ETC_READ`) and the job's own /proc/<pid>; write
   only the job's scratch folder; no TCP; no signals or abstract sockets outside.
5. seccomp: no new processes (threads only), no exec, no sockets at all,
   no connect, no ptrace or reading other processes' memory, no namespaces or
   mounts, no raising limits, no new session or process group, no System V
   IPC or POSIX message queues, no memfd.

Before these, a root grader's job child joins the job's cgroup (`cgroup`) and
enters its own mount and IPC namespaces with a tmpfs scratch (`mounts`).

Since the job cannot start a process, the job is one process: the memory
limit is the whole job's, and killing it ends everything it started. The
address-space limit does not count files in a tmpfs, so where the grader can
make a cgroup, the cgroup's limit (which does) is the one in force.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import site
import stat
import sys
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from typing import Any

from autograder.run import landlock, seccomp
from autograder.run.limits import Limits

ETC_READ = ("/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
            "/etc/timezone", "/etc/alternatives", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
            "/etc/mime.types", "/etc/os-release")
"""What a job may read of /etc: the loader, time zone, BLAS alternatives, user names (strace of TensorFlow,
Keras, tf.data and matplotlib opens only the first three); never /etc/shadow, keys or the grader's settings."""
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", *ETC_READ, "/sys",
               "/dev/urandom", "/dev/random", "/dev/zero")
PROC_READ = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys", "/proc/filesystems", "/proc/loadavg")
"""What a job may read of /proc besides its own /proc/<pid>: no other process is visible."""
SYSTEM_WRITE = ("/dev/null",)
PACKAGES = ("autograder", "course")
JOB_UID_BASE = 61000
OPEN_FILES = 1024
THREADS_PER_UID = 1024

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
_PR_SET_KEEPCAPS = 8
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAP_DAC_READ_SEARCH = 2


@dataclass(frozen=True)
class Isolation:
    """What protects the class: the layers in force around every job.

    Attributes:
        landlock: Landlock's description, "" when unavailable.
        seccomp: the seccomp filter's description, "" when unavailable.
        uid: the job's uid when the grader runs as root, else None.
        kept_caps: capabilities the job keeps (bounded by Landlock).
        memory_mb: memory cap of the whole job.
        missing: layers the kernel or the setup could not give, with why.
        memory_by: what enforces `memory_mb`: "cgroup v1"/"cgroup v2" (one limit for
            everything the job touches, shared memory and tmpfs included) or ""
            (the address-space rlimit; memfd and System V IPC refused).
        scratch: how the scratch folder's total is capped, e.g. "tmpfs 256 MB".
        namespaces: the job's own namespaces, e.g. "mount, IPC" ("" when none).
    """

    landlock: str = ""
    seccomp: str = ""
    uid: int | None = None
    kept_caps: tuple[str, ...] = ()
    memory_mb: int = 0
    missing: tuple[str, ...] = ()
    memory_by: str = ""
    scratch: str = ""
    namespaces: str = ""

    @property
    def complete(self) -> bool:
        """Every layer is in force (what `--require-isolation` asks)."""
        return bool(self.landlock and self.seccomp) and not self.missing

    def describe(self) -> str:
        """One line for the terminal and the run metadata."""
        parts = [self.landlock or "NO landlock", self.seccomp or "NO seccomp"]
        memory = (f"memory {self.memory_mb} MB per job by {self.memory_by} (shared memory and tmpfs counted)"
                  if self.memory_by else f"memory {self.memory_mb} MB by address-space limit")
        parts.append(f"one process per job, {memory}" if self.seccomp else f"memory {self.memory_mb} MB per process")
        if self.scratch:
            parts.append(f"scratch {self.scratch}")
        if self.namespaces:
            parts.append(f"own {self.namespaces} namespaces")
        if self.uid is not None:
            parts.append(f"uid {self.uid}" + (f" (+{', '.join(self.kept_caps)})" if self.kept_caps else ""))
        else:
            parts.append("grader's own uid (not root)")
        line = "isolation: " + ", ".join(parts)
        if self.missing:
            line += "; MISSING: " + "; ".join(self.missing)
        return line

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "Isolation":
        """Reads what `to_dict` wrote (from the template, trusted but still checked)."""
        if not isinstance(data, dict):
            raise ValueError("isolation must be a dict")
        uid = data.get("uid")
        return cls(str(data.get("landlock", "")), str(data.get("seccomp", "")),
                   None if uid is None else int(uid), tuple(str(c) for c in data.get("kept_caps", ())),
                   int(data.get("memory_mb", 0)), tuple(str(m) for m in data.get("missing", ())),
                   str(data.get("memory_by", "")), str(data.get("scratch", "")), str(data.get("namespaces", "")))


@dataclass(frozen=True)
class Plan:
    """What the guard will allow, computed once in the template.

    Attributes:
        read: trees the job may read (and map as code).
        write: trees the job may write, besides its scratch folder.
        deny: trees carved out of `read` (solutions, the output folder).
        uid: the job's uid when the grader is root (None: keep the grader's).
        keep_read_search: keep CAP_DAC_READ_SEARCH after dropping root.
        strict: refuse to run a job whose boundary came out weaker than
            complete (set once the template's probe showed it can be complete).
        cgroup: where job cgroups are made (`autograder.run.cgroup.Parent`),
            None where the rlimits are the only memory cap.
        tmpfs: each job gets its own mount and IPC namespaces and a tmpfs scratch.
        expose: trees under folders other users cannot enter, bound read-only
            into each job's mount namespace (instead of keeping a capability).
    """

    read: tuple[str, ...]
    write: tuple[str, ...] = SYSTEM_WRITE
    deny: tuple[str, ...] = ()
    uid: int | None = None
    keep_read_search: bool = False
    strict: bool = False
    cgroup: Any = None
    tmpfs: bool = False
    expose: tuple[str, ...] = ()


def python_trees(extra: tuple[str, ...] = ()) -> list[str]:
    """Python, its site-packages, our packages, and the folders of loaded modules outside those."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # pragma: no cover - some virtualenv versions
        pass
    for name in PACKAGES:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            roots.add(location)
    real = sorted({os.path.realpath(r) for r in roots if r})
    folders: dict[str, str] = {}  # a folder's real path, resolved once for all the modules in it
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not os.path.isabs(path):
            continue
        path = _realpath(path, folders)
        if not any(_under(path, r) for r in real):
            top = getattr(module, "__name__", "").split(".")[0]
            top_module = sys.modules.get(top)
            top_file = getattr(top_module, "__file__", None)
            if isinstance(top_file, str):
                real.append(os.path.dirname(os.path.realpath(top_file)) if top_file.endswith("__init__.py")
                            else os.path.realpath(top_file))
    real += [os.path.realpath(p) for p in extra]
    return sorted(set(real))


def _realpath(path: str, folders: dict[str, str]) -> str:
    """`os.path.realpath(path)`, with the real path of `path`'s folder taken from (or added to) `folders`."""
    head, tail = os.path.split(path)
    if head not in folders:
        folders[head] = os.path.realpath(head)
    real = os.path.join(folders[head], tail)
    return os.path.realpath(real) if tail in ("", ".", "..") or os.path.islink(real) else real


def make_plan(deny: tuple[str, ...] = (), extra_read: tuple[str, ...] = (), uid: int | None = None) -> Plan:
    """The guard's plan for this process's Python (run after the preload imports)."""
    trees = python_trees(extra_read)  # a walk of every loaded module (thousands, once TensorFlow is in)
    read = tuple(trees) + SYSTEM_READ
    is_root = os.geteuid() == 0
    job_uid = (JOB_UID_BASE if uid is None else uid) if is_root else None
    keep = bool(is_root and not all(_readable_by_others(p) for p in trees))
    return Plan(read, SYSTEM_WRITE, tuple(os.path.realpath(d) for d in deny), job_uid, keep)


def carve(roots: tuple[str, ...] | list[str], deny: tuple[str, ...] | list[str]) -> list[str]:
    """`roots` with every `deny` tree left out: a root that holds a denied tree is
    replaced by its other entries, recursively; symlinks on the way are dropped.

    A root that lies inside a denied tree (Python or our packages inside the
    folder of the submissions, say) is kept: the job cannot run without it,
    and the rest of the denied tree stays unreadable because it is not a root.
    """
    out: list[str] = []
    for root in roots:
        out.extend(_carve_one(os.path.realpath(root), [d for d in deny if _under(d, os.path.realpath(root))]))
    return out


def _carve_one(root: str, denied: list[str]) -> list[str]:
    if not denied:
        return [root]
    if root in denied or not os.path.isdir(root):
        return []
    out = []
    try:
        names = os.listdir(root)
    except OSError:
        return []
    for name in names:
        child = os.path.join(root, name)
        if os.path.islink(child):
            continue
        out.extend(_carve_one(child, [d for d in denied if _under(d, child)]))
    return out


def apply(plan: Plan, limits: Limits, scratch: str, deny: tuple[str, ...] = (),
          read: tuple[str, ...] | None = None) -> Isolation:
    """Puts the calling process (the job's child) inside the boundary; returns what holds.

    Args:
        plan: from `make_plan`, computed in the template.
        limits: the job's limits.
        scratch: the job's only writable folder (already owned by `plan.uid`).
        deny: more trees to carve out of what the job may read.
        read: what the job may read, already carved by the supervisor (so
            that the child never holds the denied paths); `deny` is then unused.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    missing: list[str] = []
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    base = _vm_size_bytes()
    memory = base + int(limits.memory_mb) * 2**20
    for name, which, value in (("memory", resource.RLIMIT_AS, memory), ("CPU time", resource.RLIMIT_CPU, int(limits.cpu_s)),
                               ("file size", resource.RLIMIT_FSIZE, int(limits.file_mb) * 2**20),
                               ("core files", resource.RLIMIT_CORE, 0), ("open files", resource.RLIMIT_NOFILE, OPEN_FILES)):
        if not _limit(which, value):
            missing.append(f"{name} limit")
    kept: tuple[str, ...] = ()
    if plan.uid is not None:
        kept = _drop_root(libc, plan.uid, plan.keep_read_search)
        _limit(resource.RLIMIT_NPROC, THREADS_PER_UID)
    if read is None:
        read = tuple(carve(plan.read, tuple(plan.deny) + tuple(os.path.realpath(d) for d in deny)))
    read = [*read, f"/proc/{os.getpid()}", *PROC_READ]
    ll = ""
    try:
        ll = landlock.restrict(read, [scratch, *plan.write]).describe()
    except OSError as exc:
        missing.append(f"landlock ({exc})")
    sc = ""
    try:
        sc = seccomp.install(allow_unix_sockets=False).describe()
    except OSError as exc:
        missing.append(f"seccomp ({exc})")
    if plan.uid is None and os.geteuid() == 0:
        missing.append("running as root")
    memory_by = f"cgroup v{plan.cgroup.version}" if plan.cgroup is not None else ""
    quota = (f"tmpfs {limits.scratch_mb} MB" if plan.tmpfs
             else f"{limits.scratch_mb} MB measured by the supervisor")
    isolation = Isolation(ll, sc, plan.uid, kept, int(limits.memory_mb), tuple(missing), memory_by,
                          f"{quota}, {limits.scratch_files} entries", "mount, IPC" if plan.tmpfs else "")
    if plan.strict and not isolation.complete:
        raise GuardError(f"the boundary could not be applied to this job: {'; '.join(missing)}")
    return isolation


class GuardError(RuntimeError):
    """The boundary came out weaker than the template showed it can be: the job must not run."""


def prctl(option: int, value: int) -> int:
    """`prctl(option, value)`, or -1 where the system has no prctl (not Linux)."""
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0))
    except (AttributeError, OSError):
        return -1


def _limit(which: int, value: int) -> bool:
    """Sets a resource limit with hard = soft (never above the current hard limit); False if refused."""
    try:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))
        return True
    except (ValueError, OSError):
        return False


def _drop_root(libc: Any, uid: int, keep_read_search: bool) -> tuple[str, ...]:
    """setgroups/setresgid/setresuid to `uid`; keep CAP_DAC_READ_SEARCH only if asked."""
    prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    if keep_read_search:
        prctl(_PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if not keep_read_search:
        return ()
    prctl(_PR_SET_KEEPCAPS, 0)
    _capset(libc, 1 << _CAP_DAC_READ_SEARCH)
    return ("CAP_DAC_READ_SEARCH",)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _capset(libc: Any, mask: int) -> None:
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = mask & 0xFFFFFFFF
    if libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset failed: {os.strerror(err)}")


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _readable_by_others(path: str) -> bool:
    """Whether a user with no relation to the owner can reach and read `path`."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        ancestor = os.sep.join(parts[:i]) or os.sep
        try:
            mode = os.stat(ancestor).st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH)
