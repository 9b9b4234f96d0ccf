"""A class of hostile submissions for the tiny assignment, each printing what it tried.

Every cheater defines `add_one` as the identity unless its attack worked, so a
point it earns means the boundary failed; the tests also read what it printed
(in its feedback) to see that the attempt ran to the end and was refused.
"""

from __future__ import annotations

import secrets

from tiny_assignment import ADD_ONE, SCALED_SUM, SETUP, notebook

A_MARK = "PRIVATE-ANSWER-" + secrets.token_hex(8)  # in one student's code; another looks for it
REF_MARK = "REFERENCE-ONLY-" + secrets.token_hex(8)  # in the reference cell only

IDENTITY = "\n    def add_one(x):\n        return x\n"
STEAL = '''# GRADED: add_one
import json, os, ctypes
import tensorflow as tf
SOL, SOLDIR = {sol!r}, {soldir!r}

def _read():
{how}

def _steal():
    nb = json.loads(_read())
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if src.startswith("# GRADED: add_one"):
            exec(src, globals())
            return "stolen"
    return "no cell"

try:
    print("attempt:", _steal())
except Exception as e:
    print("attempt:", type(e).__name__)
''' + "    def add_one(x):\n        return x\n"

READS = {
    "steal_tf_gfile": "    return tf.io.gfile.GFile(SOL, 'r').read()",
    "steal_tf_read_file": "    return tf.io.read_file(SOL).numpy().decode()",
    "steal_dir_fd": "    d = os.open(SOLDIR, os.O_RDONLY | os.O_DIRECTORY)\n"
                    "    return os.read(os.open(os.path.basename(SOL), os.O_RDONLY, dir_fd=d), 10**7).decode()",
    "steal_libc": "    libc = ctypes.CDLL(None, use_errno=True)\n    fd = libc.open(SOL.encode(), 0)\n"
                  "    if fd < 0:\n        raise PermissionError(ctypes.get_errno(), 'libc open')\n"
                  "    buf = ctypes.create_string_buffer(10**6)\n    n = libc.read(fd, buf, 10**6)\n"
                  "    return buf.raw[:n].decode()",
    "steal_symlink": "    os.symlink(SOL, 'link.json')\n    return open('link.json').read()",
    "steal_proc_root": "    return open(f'/proc/{os.getppid()}/root' + SOL).read()",
    "steal_audit_off": "    import gc, sys\n"
                       "    for f in gc.get_objects():\n"
                       "        if callable(f) and getattr(f, '__name__', '') == 'friendly_hook':\n"
                       "            f.__code__ = (lambda event, args: None).__code__\n"
                       "    return open(SOL).read()",
    "steal_sqlite_attach": "    import sqlite3\n    con = sqlite3.connect(':memory:')\n"
                           "    con.execute('ATTACH DATABASE ? AS s', (SOL,))\n"
                           "    return con.execute('select * from s.sqlite_master').fetchall()",
}

WRITES = '''# GRADED: add_one
import os, sqlite3
import tensorflow as tf
done = []
for name, write in [
    ("tf_out", lambda: tf.io.write_file({out!r} + "/gradebook.csv", "everyone,0")),
    ("tf_solutions", lambda: tf.io.write_file({soldir!r} + "/T1.ipynb", "{{}}")),
    ("sqlite", lambda: sqlite3.connect({canary!r} + "/x.db").execute("create table t(x)")),
    ("dir_fd", lambda: os.open("planted", os.O_CREAT | os.O_WRONLY, dir_fd=os.open({canary!r}, os.O_RDONLY))),
    ("open", lambda: open({canary!r} + "/y.txt", "w").write("x")),
]:
    try:
        write()
        done.append(name + "=WROTE")
    except Exception as e:
        done.append(name + "=" + type(e).__name__)
print("writes:", " ".join(done))
''' + ADD_ONE.split("\n", 1)[1]

MEMSCAN = '''# GRADED: add_one
import ctypes
libc = ctypes.CDLL(None)
libc.memmem.restype = ctypes.c_void_p
libc.memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]

def in_memory(hexed):
    """Whether these bytes are anywhere in this process' memory (apart from the needle itself)."""
    ints = [int(hexed[i:i + 2], 16) for i in range(0, len(hexed), 2)]
    needle = (ctypes.c_ubyte * len(ints))(*ints)
    own = ctypes.addressof(needle)
    regions, region = 0, None
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5:
            region = parts if ("r" in parts[1] and (len(parts) == 5 or parts[5] == "[heap]")) else None
        elif parts[0] == "Rss:" and region is not None and int(parts[1]) > 0:
            lo, hi = (int(v, 16) for v in region[0].split("-"))
            regions += 1
            start = lo
            while start < hi:
                hit = libc.memmem(start, hi - start, own, len(ints))
                if not hit:
                    break
                if hit != own:
                    return True, regions
                start = hit + 1
    return False, regions

found = {{name: in_memory(hexed) for name, hexed in {needles!r}.items()}}
print("scan:", " ".join(f"{{k}}={{v[0]}}" for k, v in found.items()), "regions=", found["token"][1])
leaked = any(v[0] for v in found.values())

def add_one(x):
    return x + 1 if leaked else x
'''

PROC = '''# GRADED: add_one
import os
me, supervisor = os.getpid(), os.getppid()
tried = read = wrote = 0
for pid in [supervisor, *range(max(1, supervisor - 300), supervisor)]:  # the template and the grader start earlier
    for what in ("status", "cmdline", "environ", "mem", "maps"):
        tried += 1
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                f.read(64)
            read += 1
        except Exception:
            pass
    for fd in (1, 2, 3):
        try:
            os.write(os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY), b'{"kind":"finished"}\\n')
            wrote += 1
        except Exception:
            pass
print(f"proc: read={read} wrote={wrote} tried={tried}")
leaked = read > 0 or wrote > 0

def add_one(x):
    return x + 1 if leaked else x
'''

FORGE = '''# GRADED: add_one
import os
for fd in range(3, 64):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith("pipe:"):
        os.write(fd, PAYLOAD)
print("forged")
''' + "def add_one(x):\n    return x\n"

FORGED = {
    "forge_finished": b'{"kind":"finished","secret":"guess","result":{}}\n',
    "forge_deep": b'{"kind":"call","index":0,"call":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "forge_types": b'{"kind":"call","index":"0","call":{"ok":true}}\n',
    "forge_shape": (b'{"kind":"call","index":0,"call":{"ok":true,"value":{"value":{"__array__":"",'
                    b'"dtype":"float32","shape":[100000,100000,100000],"kind":"numpy"}},"error":null,'
                    b'"seconds":0}}\n'),
    "forge_garbage": b"\x00\xff not json at all\n" * 10,
}

KILL_ALL = '''# GRADED: add_one
import os, signal
hit = []
for p in range(1, os.getpid() + 5000):  # /proc cannot be listed: try every pid near ours
    if p != os.getpid():
        for how in ("kill", "pidfd"):
            try:
                if how == "kill":
                    os.kill(int(p), signal.SIGKILL)
                else:
                    signal.pidfd_send_signal(os.pidfd_open(int(p)), signal.SIGKILL)
                hit.append(f"{p}:{how}")
            except Exception:
                pass
print("killed:", len(hit), hit[:5])
''' + ADD_ONE.split("\n", 1)[1]

ESCAPE = '''# GRADED: add_one
import ctypes, os, subprocess, time
OUT = {out!r}

def late_write():
    time.sleep(3)
    open(OUT + "/gradebook.csv", "w").write("pwned")
    os._exit(0)

tried = []
for name, fn in [("os.fork", os.fork), ("libc.fork", ctypes.CDLL(None).fork), ("setsid", os.setsid),
                 ("popen_new_session", lambda: subprocess.Popen(["sleep", "30"], start_new_session=True).pid),
                 ("posix_spawn", lambda: os.posix_spawn("/bin/sleep", ["sleep", "30"], dict(os.environ)))]:
    try:
        r = fn()
        if r == 0:
            late_write()
        tried.append(f"{{name}}={{'FAILED' if r == -1 else 'STARTED'}}")
    except Exception as e:
        tried.append(f"{{name}}={{type(e).__name__}}")
print("escape:", " ".join(tried))
started = any(t.endswith("STARTED") for t in tried)

def add_one(x):
    return x + 1 if started else x
'''

MEMORY = '''# GRADED: add_one
import threading
blocks = []

def grab():
    try:
        b = bytearray(1 << 30)
        b[::4096] = b"x" * len(b[::4096])
        blocks.append(b)
    except MemoryError:
        pass

threads = [threading.Thread(target=grab) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("memory: held", len(blocks), "GiB")
held = len(blocks)
del blocks

def add_one(x):
    return x + 1 if held > 2 else x
'''

LIMITS = '''# GRADED: add_one
import resource, ctypes, socket
got = []
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    got.append("rlimit=RAISED")
except Exception as e:
    got.append("rlimit=" + type(e).__name__)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    got.append("tcp=CONNECTED")
except Exception as e:
    got.append("tcp=" + type(e).__name__)
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", {port}))
    got.append("udp=SENT")
except Exception as e:
    got.append("udp=" + type(e).__name__)
print("limits:", " ".join(got))
escaped = any(g.endswith(("RAISED", "CONNECTED", "SENT")) for g in got)

def add_one(x):
    return x + 1 if escaped else x
'''


def reference_add_one() -> str:
    """The reference cell, carrying a marker that only the reference's process ever holds."""
    return ADD_ONE.replace("    return x + 1\n", f"    # {REF_MARK}\n    return x + 1\n")


def hexed(text: str) -> str:
    return text.encode().hex()


def submissions(sol: str, soldir: str, out: str, canary: str, port: int) -> dict:
    """name -> notebook; honest `full_*` copies sit between the attackers."""
    subs: dict = {"marker_a": notebook(SETUP, f"# GRADED: add_one\n# {A_MARK}\n" + ADD_ONE.split("\n", 1)[1],
                                       SCALED_SUM)}
    for name, how in READS.items():
        subs[name] = notebook(SETUP, STEAL.format(sol=sol, soldir=soldir, how=how), SCALED_SUM)
    subs["full_1"] = notebook(SETUP, ADD_ONE, SCALED_SUM)
    subs["writes"] = notebook(SETUP, WRITES.format(out=out, soldir=soldir, canary=canary), SCALED_SUM)
    needles = {"answer": hexed(A_MARK), "reference": hexed(REF_MARK), "token": hexed('"kind":"token"')}
    subs["memory_scan"] = notebook(SETUP, MEMSCAN.format(needles=needles), SCALED_SUM)
    subs["proc"] = notebook(SETUP, PROC, SCALED_SUM)
    subs["full_2"] = notebook(SETUP, ADD_ONE, SCALED_SUM)
    for name, payload in FORGED.items():
        subs[name] = notebook(SETUP, FORGE.replace("PAYLOAD", repr(payload)), SCALED_SUM)
    subs["kill_all"] = notebook(SETUP, KILL_ALL, SCALED_SUM)
    subs["full_3"] = notebook(SETUP, ADD_ONE, SCALED_SUM)
    subs["escape"] = notebook(SETUP, ESCAPE.format(out=out), SCALED_SUM)
    subs["memory"] = notebook(SETUP, MEMORY, SCALED_SUM)
    subs["limits"] = notebook(SETUP, LIMITS.format(port=port), SCALED_SUM)
    subs["full_4"] = notebook(SETUP, ADD_ONE, SCALED_SUM)
    return subs


CHEATERS = [*READS, "memory_scan", "proc", *FORGED, "escape", "memory", "limits"]
HONEST = ["full_1", "full_2", "full_3", "full_4", "marker_a", "kill_all", "writes"]


# ---------------------------------------------------------------- the job's kernel objects (issues 22 and 29)

KERNEL_IPC = '''# GRADED: add_one
import ctypes, os, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {{"shmget": 29, "msgget": 68, "semget": 64, "memfd_create": 319, "msgrcv": 70}}
got = {{}}
for name, args in [("shmget", (0, 3 << 30, 0o1000 | 0o666)), ("msgget", (0, 0o1000 | 0o666)),
                   ("semget", (0, 4, 0o1000 | 0o666)), ("planted_queue", ({key}, 0o666))]:
    nr = NR["msgget" if name == "planted_queue" else name]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    got[name] = "MADE" if r >= 0 else os.strerror(ctypes.get_errno())
    if name == "planted_queue" and r >= 0:
        buf = ctypes.create_string_buffer(512)
        n = libc.syscall(ctypes.c_long(NR["msgrcv"]), ctypes.c_long(r), buf, ctypes.c_long(500), 0, 0o4000)
        got[name] = "READ " + buf.raw[8:8 + max(0, n)].decode(errors="replace") if n > 0 else "OPENED"
try:
    fd = os.memfd_create("hoard")
    for _ in range(256):
        os.write(fd, b"x" * (10 << 20))
    got["memfd"] = "WROTE"
except Exception as e:
    got["memfd"] = type(e).__name__
try:
    with open("/dev/shm/hoard", "wb") as f:
        f.write(b"x" * (10 << 20))
    got["dev_shm"] = "WROTE"
except Exception as e:
    got["dev_shm"] = type(e).__name__
try:
    m = mmap.mmap(-1, 3 << 30, mmap.MAP_SHARED)
    for i in range(0, 3 << 30, 4096):
        m[i] = 1
    got["shared_map"] = "HELD"
except Exception as e:
    got["shared_map"] = type(e).__name__
print("ipc:", " ".join(f"{{k}}={{v}}" for k, v in got.items()))
leaked = any(v in ("MADE", "WROTE", "HELD", "OPENED") or v.startswith("READ") for v in got.values())

def add_one(x):
    return x + 1 if leaked else x
'''

KERNEL_DISK = '''# GRADED: add_one
import os
written = 0
try:
    for i in range(205):
        with open(f"f{{i}}.bin", "wb") as f:
            f.write(b"x" * (10 << 20))
        written += 10
except Exception as e:
    print("disk: stopped by", type(e).__name__)
print("disk: wrote", written, "MB")

def add_one(x):
    return x + 1 if written > 300 else x
'''

KERNEL_DEEP = '''# GRADED: add_one
import os
here = os.getcwd()
fd = os.open(".", os.O_RDONLY)
depth = 0
try:
    for depth in range(1, 3001):
        os.mkdir("d", dir_fd=fd)
        new = os.open("d", os.O_RDONLY, dir_fd=fd)
        if depth % 500 == 0:
            os.fchmod(fd, 0)  # a folder its owner cannot read or enter
        os.close(fd)
        fd = new
except OSError as e:
    print("deep: stopped by", type(e).__name__)
for i in range(3000):
    open(os.path.join(here, f"w{{i}}"), "w").close()
print("deep: depth", depth)
''' + ADD_ONE.split("\n", 1)[1]

KERNEL_ENV = '''# GRADED: add_one
import os
seen = sorted(os.environ)
leaked = any({secret!r} in v for v in os.environ.values())
print("env:", "LEAKED" if leaked else "clean", len(seen), seen)

def add_one(x):
    return x + 1 if leaked else x
'''

KERNEL_ETC = '''# GRADED: add_one
import os
got = {{}}
for path in ("/etc/shadow", "/etc/hostname", "/etc/ssh", "/etc/cron.d", {victim!r}):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(16)
        got[path] = "READ"
    except Exception as e:
        got[path] = type(e).__name__
print("etc:", " ".join(f"{{k}}={{v}}" for k, v in got.items()))
leaked = "READ" in got.values()

def add_one(x):
    return x + 1 if leaked else x
'''

KERNEL_CLOCK = '''# GRADED: add_one
import time
_sleep = time.sleep
for name in ("perf_counter", "monotonic", "time", "process_time"):
    setattr(time, name, lambda: 0.0)
    setattr(time, name + "_ns", lambda: 0)

def add_one(x):
    _sleep(0.3)
    return x + 1
'''

KERNEL_NO_ALARM = '''# GRADED: add_one
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.setitimer = lambda *a, **k: (0.0, 0.0)

def add_one(x):
    if x.shape[0] == 50:  # the hidden case: never ends
        while True:
            pass
    return x
'''

KERNEL_FLOOD = '''# GRADED: add_one
import os
FLOOD = b'{"kind":"call","index":0,"call":{"ok":true,"value":[' + b"0," * 3_000_000 + b'0],"error":null,"seconds":0}}\\n'
for fd in range(3, 64):  # straight onto the progress pipe: 3 million values, as fast as the pipe takes them
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, FLOOD)
    except OSError:
        pass

def add_one(x):
    return x
'''


def kernel_submissions(memscan_needles: dict[str, str], key: int, secret: str, victim: str) -> dict:
    """name -> notebook for the kernel-objects class; honest `full_*` copies sit between the attackers."""
    return {
        "full_a": notebook(SETUP, ADD_ONE, SCALED_SUM),
        "ipc": notebook(SETUP, KERNEL_IPC.format(key=key), SCALED_SUM),
        "disk": notebook(SETUP, KERNEL_DISK.format(), SCALED_SUM),
        "full_b": notebook(SETUP, ADD_ONE, SCALED_SUM),
        "deep": notebook(SETUP, KERNEL_DEEP.format(), SCALED_SUM),
        "env": notebook(SETUP, KERNEL_ENV.format(secret=secret), SCALED_SUM),
        "etc": notebook(SETUP, KERNEL_ETC.format(victim=victim), SCALED_SUM),
        "roster": notebook(SETUP, MEMSCAN.format(needles=memscan_needles), SCALED_SUM),
        "full_c": notebook(SETUP, ADD_ONE, SCALED_SUM),
        "clock": notebook(SETUP, KERNEL_CLOCK, SCALED_SUM),
        "no_alarm": notebook(SETUP, KERNEL_NO_ALARM, SCALED_SUM),
        "flood": notebook(SETUP, KERNEL_FLOOD, SCALED_SUM),
        "full_d": notebook(SETUP, ADD_ONE, SCALED_SUM),
    }


KERNEL_CHEATERS = ["ipc", "disk", "env", "etc", "roster", "no_alarm", "flood"]
KERNEL_HONEST = ["full_a", "full_b", "full_c", "full_d"]
