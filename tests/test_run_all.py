"""Every lesson as Colab's Runtime -> Run all runs it: every cell (Colab honours no `#| slow`), the REAL_RUN switch as saved
(off), each lesson alone in a bare folder with an empty course cache, no course data and no network. Each must finish without
an error and without trying a download (with the network cut, a download fails: its message is looked for in every output),
and the cache must stay free of large files.

It takes as long as running all the lessons (about five minutes on a 2-core CPU), so the Colab check (tools/colab_check.sh)
runs it, in Colab's pinned package versions; elsewhere it runs with TEXTGEN_RUN_ALL=1.
"""
import json, os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import ROOT, outputs_text

pytestmark = pytest.mark.skipif(not os.environ.get('TEXTGEN_RUN_ALL'), reason='runs in the Colab check; set TEXTGEN_RUN_ALL=1')
LESSONS = sorted((ROOT/'nbs').glob('*.ipynb'))
NO_NETWORK = {k: 'http://127.0.0.1:9' for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')}
DOWNLOAD_SIGNS = ('Downloading data from', 'the download failed')   # keras.utils.get_file; the course's data resolver

def outputs(nb:Path) -> str:
    "All text a notebook's outputs show, errors included."
    return '\n'.join(outputs_text(c) for c in json.loads(nb.read_text(encoding='utf-8'))['cells'])

def run_as_colab(nb:Path, tmp:Path) -> tuple[subprocess.CompletedProcess, Path, float]:
    "Run a copy of lesson `nb` in a bare folder as Colab would; return the process, the executed copy and the seconds it took."
    work, cache = tmp/'content', tmp/'cache'
    work.mkdir()
    shutil.copy(nb, work)
    env = {k: v for k, v in os.environ.items() if k not in ('TEXTGEN_COURSE_DATA', 'PYTHONPATH')}
    env.update(NO_NETWORK, TEXTGEN_COURSE_CACHE=str(cache), HOME=str(tmp/'home'), no_proxy='localhost,127.0.0.1')
    start = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'run_nb.py'), '--colab', '--timeout', '900', str(work/nb.name)],
                       env=env, cwd=work, capture_output=True, text=True)
    return r, work/nb.name, time.time() - start

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.stem)
def test_run_all_with_the_switch_off(nb, tmp_path):
    r, ran, seconds = run_as_colab(nb, tmp_path)
    print(f'run-all: {nb.stem} {seconds:.0f} s')
    assert r.returncode == 0, f'{nb.name} failed under Run all:\n' + (r.stdout + r.stderr)[-3000:]
    tried = [s for s in DOWNLOAD_SIGNS if s in outputs(ran)]
    assert not tried, f'{nb.name} tried a download under Run all ({tried})'
    cached = [p.name for p in (tmp_path/'cache').rglob('*') if p.is_file() and p.stat().st_size > 1_000_000]
    assert not cached, f'{nb.name} put large files in the empty cache: {cached}'
