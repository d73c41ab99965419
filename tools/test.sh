#!/usr/bin/env bash
# One command runs every test: each notebook under nbdev_test (slow/gpu/net cells skipped),
# then the pytest suite, whose summary line is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
nbdev_test --n_workers 2 --timing
python -m pytest tests/ -q -p no:cacheprovider
