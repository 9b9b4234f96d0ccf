"""`make lab`: JupyterLab on the student notebooks with the course's kernel, driven headless through
its REST and kernel-channel APIs as a browser would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not VENV_PYTHON.exists() or shutil.which("make") is None,
                                                    reason="`make lab` runs from the project's .venv (make test makes it)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, port: int, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()

    def json(self, method: str, path: str, body: dict | None = None):
        return json.loads(self.call(method, path, body)[1] or b"null")

    def execute(self, kernel_id: str, code: str, timeout: float = 180) -> tuple[str, str]:
        """Runs `code` on the kernel over its websocket; returns (status, everything printed)."""
        import websocket

        ws = websocket.create_connection(f"ws://{self.base[7:]}/api/kernels/{kernel_id}/channels",
                                         header=[f"Authorization: token {self.token}"], timeout=timeout)
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({"channel": "shell", "header": {
            "msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
            "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {}, "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed, status, idle = [], None, False
        deadline = time.monotonic() + timeout
        while (status is None or not idle) and time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                printed.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        ws.close()
        return status or "timeout", "".join(printed)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab-home")
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws")}
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0"
    server = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    client = Lab(port, token)
    try:
        deadline = time.monotonic() + 600  # the first `make lab` installs the [lab] extra
        while True:
            if server.poll() is not None:
                pytest.fail(f"make lab exited with {server.returncode}: {server.stdout.read()[-3000:]}")
            try:
                if client.call("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer within 10 minutes"
            time.sleep(0.5)
        yield client
    finally:
        try:
            client.call("POST", "/api/shutdown")
            server.wait(timeout=30)
        except Exception:  # noqa: BLE001 - the server must go whatever happened
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_lab_serves_the_student_notebooks_and_runs_their_first_cells_on_the_course_kernel(lab):
    status, page = lab.call("GET", "/lab")
    assert status == 200 and b"JupyterLab" in page
    listing = lab.json("GET", "/api/contents")
    names = {item["name"] for item in listing["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= names
    opened = lab.json("GET", "/api/contents/A2.ipynb?content=1")
    cells = opened["content"]["cells"]
    assert opened["type"] == "notebook" and cells[1]["source"].startswith("# COLAB SETUP")

    specs = lab.json("GET", "/api/kernelspecs")
    assert specs["default"] == "keras-seq-course" and "keras-seq-course" in specs["kernelspecs"]
    session = lab.json("POST", "/api/sessions", {"path": "A2.ipynb", "type": "notebook", "name": "A2.ipynb",
                                                 "kernel": {"name": "keras-seq-course"}})
    kernel = session["kernel"]["id"]
    try:
        code_cells = [c["source"] for c in cells if c["cell_type"] == "code"]
        status, printed = lab.execute(kernel, code_cells[0])  # the set-up cell: a check, no install, off Colab
        assert status == "ok" and "course package" in printed and "TensorFlow" in printed and "GPU: " in printed, printed
        status, printed = lab.execute(kernel, code_cells[1] + "\nprint(tf.reduce_sum(tf.ones((2, 3))).numpy())")
        assert status == "ok" and "6.0" in printed, printed
        status, printed = lab.execute(kernel, "import sys; print(sys.prefix)")
        assert Path(printed.strip()).resolve() == (ROOT / ".venv").resolve(), "the kernel must be the project's"
    finally:
        lab.call("DELETE", f"/api/sessions/{session['id']}")
    assert lab.json("GET", "/api/sessions") == []


def test_make_lab_in_a_student_handout_installs_its_wheel_and_registers_the_kernel(tmp_path):
    """A handout released from a wheel install (no source tree): `make lab` there installs the shipped wheel.

    Offline and cheap: `.venv` is made first and sees the project's dependencies through a `.pth` line, so the
    Makefile's pip installs only the wheel (`--no-deps --no-index`); `--version` stands in for serving."""
    import site

    from autograder.authoring.assign import write_lab_files

    handout = tmp_path / "handout"
    shutil.copytree(ROOT / "notebooks", handout / "notebooks")
    assert write_lab_files(handout, ROOT).startswith("wheels/keras_seq_course-")
    venv = handout / ".venv"
    subprocess.run([str(VENV_PYTHON), "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "zz_shared_dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(["make", "-s", "lab", "PIP_FLAGS=--no-deps --no-index", "LAB_ARGS=--version"], cwd=handout,
                          env={**env, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1][:1].isdigit(), done.stdout  # JupyterLab's version
    where = subprocess.run([str(python), "-c", "import autograder; print(autograder.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), "the kernel must import the handout's own package"
    spec = json.loads((venv / "share" / "jupyter" / "kernels" / "keras-seq-course" / "kernel.json").read_text())
    assert Path(spec["argv"][0]).parent == venv / "bin" and spec["display_name"] == "Python (keras-seq-course)"
    assert (venv / ".lab-installed").is_file()
