#!/usr/bin/env bash
# Colab-compatibility check. In a fresh venv pinned to Colab's versions (2026-08) of what the course touches, it proves:
#  1. pip can install those pins together on this Python;
#  2. `pip install textgen_course` (not editable, like `%pip install git+...` on Colab) changes none of them;
#  3. every notebook runs as Colab's Run all does (every cell, REAL_RUN off) from a bare folder (like /content), empty cache,
#     no repo data, no network, and tries no download (tests/test_run_all.py);
#  4. the widget tests pass under ipywidgets 7.7.1 / IPython 7.34 with the installed (not the repo's) package.
# Usage: bash tools/colab_check.sh   (COLAB_CHECK_DIR=folder to choose where it works, KEEP=1 to keep it, PYTHON=python3.x)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD; start=$SECONDS
PINS=(tensorflow==2.20.0 keras==3.13.2 ipywidgets==7.7.1 widgetsnbextension==3.6.10 ipython==7.34.0 ipykernel==6.17.1
      jupyter_client==7.4.9 fastcore==2.2.12 numpy==2.1.3 matplotlib==3.10.0 h5py==3.16.0 scikit-learn==1.6.1
      scipy==1.16.3 tqdm==4.67.3)
mkdir -p "${COLAB_CHECK_DIR:-/tmp}"
work=$(mktemp -d "$(cd "${COLAB_CHECK_DIR:-/tmp}" && pwd -P)/colab_check.XXXXXX")   # outside the repo
venv=$work/venv; content=$work/content; logs=$work/logs; src=$work/src; mkdir -p "$content" "$logs" "$src"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "colab-check: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
step() { echo "colab-check: $1 ($((SECONDS - start)) s)"; }
fail() { echo "colab-check: FAIL: $*" >&2; exit 1; }
freeze() { "$venv/bin/python" -m pip list --format=freeze > "$1"; }
pipq() { "$venv/bin/python" -m pip install "$@" > "$logs/pip.log" 2>&1 ||   # quiet; on failure pip's explanation
  { grep -v 'is ignored' "$logs/pip.log" | tail -n 25 >&2; return 1; }; }
# compare FREEZE_BEFORE FREEZE_AFTER: print "changed" lines (version moved or removed), then "added" lines
compare() { "$venv/bin/python" - "$@" <<'PY'
import re, sys
def read(f): return {re.sub(r'[-_.]+', '-', n).lower(): v for n, _, v in (l.strip().partition('==') for l in open(f)) if v}
a, b = read(sys.argv[1]), read(sys.argv[2])
for n, v in sorted(a.items()):
    if b.get(n) != v: print('changed', n, v, '->', b.get(n, 'removed'))
for n, v in sorted(b.items()):
    if n not in a: print('added', f'{n}=={v}')
PY
}

# One snapshot of the working tree (what `git clone` would give, plus uncommitted edits) is installed, run and tested, so
# edits made while this runs cannot mix versions; building from it also leaves no build/ or egg-info in the repo.
tar -C "$repo" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist --exclude=./_docs --exclude=./_proc \
  --exclude=./.whl --exclude=./.gl --exclude=./.hypothesis --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$src" -xf -
cd "$work"   # not $src: pip and python -m would see its textgen_course/ and egg-info there

# 1. Colab's pins, in one pip call: proves they co-install on this Python.
"${PYTHON:-python3}" -c 'import sys; assert sys.version_info >= (3, 10), "needs Python >= 3.10"'
"${PYTHON:-python3}" -m venv "$venv"
pipq --upgrade pip || fail "could not upgrade pip in the venv"
pipq "${PINS[@]}" || fail "pip cannot install Colab's pinned versions together on $("$venv/bin/python" -V) (see pip's resolver message above)"
freeze "$work/freeze.colab"
step "installed ${#PINS[@]} pins ($(wc -l < "$work/freeze.colab") packages in all)"

# 2. Install the course NOT editable (like `%pip install git+...` on Colab): proves it leaves Colab's packages alone.
pipq "$src" || fail "pip cannot install textgen_course into Colab's pinned environment (see pip's message above)"
freeze "$work/freeze.course"
diff_out=$(compare "$work/freeze.colab" "$work/freeze.course")
changed=$(grep '^changed' <<<"$diff_out" | sed 's/^changed /  /' || true)
added=$(grep '^added' <<<"$diff_out" | sed 's/^added //' | paste -sd' ' || true)
[ -z "$changed" ] || fail "installing textgen_course changed Colab's packages (learners would get these):"$'\n'"$changed"
echo "colab-check: pinned ${#PINS[@]} packages; pip changed none of them (nor any of their dependencies); added: ${added:-nothing}"
step "course installed"

# 3. The notebook runner's needs, constrained to the frozen list: pip may add packages but cannot move any.
pipq -c "$work/freeze.course" nbclient nbformat pytest ||
  fail "nbclient/nbformat/pytest cannot be installed without moving a package of the Colab environment (see above)"
[ -z "$(compare "$work/freeze.course" <(freeze /dev/stdout) | grep '^changed' || true)" ] || fail "the runner's install moved a pinned package"
"$venv/bin/python" -m ipykernel install --prefix "$venv" > "$logs/kernel.log" 2>&1 || { cat "$logs/kernel.log"; fail "ipykernel install"; }
step "runner installed"

# From here on: no network (downloads fail fast), a bare home and temp folder, the venv's Jupyter kernel only.
export PATH="$venv/bin:$PATH" JUPYTER_PATH="$venv/share/jupyter" HOME="$work/home" TMPDIR="$work/tmp" TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 no_proxy=localhost,127.0.0.1
unset TEXTGEN_COURSE_DATA PYTHONPATH VIRTUAL_ENV
mkdir -p "$HOME" "$TMPDIR"

# A throwaway notebook proves the kernel nbclient starts ('python3') is the venv's, importing the installed package.
mkdir -p "$work/probe"
cat > "$work/probe/probe.ipynb" <<EOF
{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "id": "probe", "metadata": {},
 "execution_count": null, "outputs": [], "source": "import os, sys, IPython, ipywidgets, textgen_course\nopen('kernel.txt', 'w').write(f'{sys.executable}, IPython {IPython.__version__}, ipywidgets {ipywidgets.__version__}, textgen_course from {textgen_course.__file__}')\nassert os.path.realpath(sys.prefix) == '$venv' and textgen_course.__file__.startswith(sys.prefix), (sys.prefix, textgen_course.__file__)"}]}
EOF
"$venv/bin/python" "$src/tools/run_nb.py" "$work/probe/probe.ipynb" > "$logs/probe.log" 2>&1 || { tail -n 20 "$logs/probe.log"; fail "the kernel is not the venv's"; }
echo "colab-check: kernel: $(cat "$work/probe/kernel.txt")"

# 4. Each notebook alone in a fresh folder, as Colab's Run all runs it (every cell, the REAL_RUN switch off, empty cache, no
#    data, no network): tests/test_run_all.py, with the installed package; it prints one "run-all: NAME SECONDS s" line each.
show_failures() { sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^E ' > "$1.E" || true   # pytest's error lines
  head -n 16 "$1.E"; echo "    [...]"; tail -n 4 "$1.E"; grep -E '^(FAILED|ERROR) ' "$1" || true; }
t0=$SECONDS
nb_status=ok
TEXTGEN_RUN_ALL=1 "$venv/bin/python" -m pytest -q -s -p no:cacheprovider "$src/tests/test_run_all.py" > "$logs/run_all.log" 2>&1 ||
  { nb_status=FAILED; show_failures "$logs/run_all.log"; }
table=$(grep -oE 'run-all: .*' "$logs/run_all.log" | sed 's/^run-all: //' || true)   # pytest's dots may precede a line
step "notebooks under Run all: $nb_status in $((SECONDS - t0)) s"

# 5. Widget tests under ipywidgets 7.7.1, from a folder where the repo's textgen_course/ cannot shadow the installed one;
#    a one-line plugin records which textgen_course the tests imported.
echo "def pytest_sessionfinish(session):
    import sys; open('$work/imported.txt', 'w').write(sys.modules['textgen_course'].__file__)" > "$work/colab_check_plugin.py"
wt=ok
t0=$SECONDS
"$venv/bin/python" -m pytest -q -p no:cacheprovider -p colab_check_plugin "$src/tests/test_widgets.py" \
  > "$logs/pytest.log" 2>&1 || { wt=FAILED; show_failures "$logs/pytest.log"; }
imported=$(cat "$work/imported.txt" 2>/dev/null || echo '?')
[[ $imported == "$venv"/* ]] || wt="FAILED (imported $imported, not the installed package)"
step "widget tests $wt in $((SECONDS - t0)) s, with textgen_course from $imported"

echo "colab-check: ---- summary ($(python3 -V 2>&1), $((SECONDS - start)) s) ----"
echo "colab-check: Run all, switch off (seconds per notebook; $(tail -n 1 "$logs/run_all.log")):"; printf '%s\n' "$table" | sed 's/^/colab-check:   /'
echo "colab-check: widget tests (ipywidgets 7.7.1): $wt: $(tail -n 1 "$logs/pytest.log")"
[ "$nb_status" = ok ] && [ "$wt" = ok ] || fail "notebooks under Run all $nb_status; widget tests $wt"
echo "colab-check: all passed in $((SECONDS - start)) s"
