#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image: a venv with this package and CPU TensorFlow.
set -euo pipefail
cd /autograder/source
PY="$(command -v python3.13 || command -v python3.12 || command -v python3.11 || true)"
if [ -z "$PY" ]; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install "/autograder/source[cpu]"
