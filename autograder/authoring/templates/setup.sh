#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image: a venv with the pinned requirements
# (CPU TensorFlow, Keras, numpy, nbformat, tqdm) and the exact course wheel the zip was built from.
# AUTOGRADER_ROOT and AUTOGRADER_SETUP_PYTHON are for tests.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source"
PY="${AUTOGRADER_SETUP_PYTHON:-$(command -v python3.13 || command -v python3.12 || command -v python3.11 || true)}"
if [ -z "$PY" ]; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv ${AUTOGRADER_VENV_FLAGS:-} "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install ${AUTOGRADER_PIP_FLAGS:-} -r requirements.txt
"$ROOT/venv/bin/python" -m pip install ${AUTOGRADER_PIP_FLAGS:-} --no-deps wheels/*.whl
"$ROOT/venv/bin/python" -c "import autograder.grading.gradescope, tensorflow; print('autograder', autograder.__version__)"
