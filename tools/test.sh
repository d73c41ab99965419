#!/usr/bin/env bash
# One command runs every test: each notebook under nbdev_test (slow/gpu/net cells skipped),
# then the pytest suite, whose summary line is printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
# A fresh course cache: the tests never see models or downloads left by earlier runs of the lessons.
TEXTGEN_COURSE_CACHE="$(mktemp -d)"
export TEXTGEN_COURSE_CACHE
trap 'rm -rf "$TEXTGEN_COURSE_CACHE"' EXIT
nbdev_test --n_workers 2 --timing
python -m pytest tests/ -q -p no:cacheprovider
