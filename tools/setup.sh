#!/usr/bin/env bash
# One command sets everything up: a virtual environment in .venv holding the course library
# (editable) with its dev tools (nbdev 2 with the pins it needs today, pytest, hypothesis).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "textgen_course needs Python >= 3.10"'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/python -m pip check
echo "Set up: activate with 'source .venv/bin/activate', test with 'bash tools/test.sh'."
