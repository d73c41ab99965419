"""Lessons 04 and 05 in a fresh runtime: their real sections run in an empty folder with an empty course cache (as every
Colab notebook starts), rebuild the models of lessons 01 and 02 with those lessons' recipes, and reproduce the figures saved
in the notebooks within the noise the lessons state.

Slow (about half an hour on a 2-core CPU: it retrains the models): it runs only with TEXTGEN_FRESH_RUNTIME=1 and the real data
(TEXTGEN_COURSE_DATA). Run it before a release: `TEXTGEN_FRESH_RUNTIME=1 python -m pytest tests/test_fresh_runtime.py -s`.
"""
import json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(not os.environ.get('TEXTGEN_FRESH_RUNTIME'), reason='slow: set TEXTGEN_FRESH_RUNTIME=1 to run')

def slow_outputs(nb:Path) -> str:
    "The text the `#| slow` cells of a notebook printed."
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    slow = [c for c in cells if c['cell_type'] == 'code' and re.search(r'^#\|\s*slow', ''.join(c['source']), re.M)]
    return '\n'.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', '')) for c in slow for o in c.get('outputs', []))

def figures(text:str, pattern:str) -> dict:
    "{row name: [numbers]} for every output line matching `pattern` (a regex with a `name` group); numbers in order."
    out = {}
    for m in re.finditer(pattern, text, re.M):
        out[m.group('name').strip()] = [float(x) for x in re.findall(r'(?<![\w.])\d+\.\d+', m.group(0)[m.end('name') - m.start():])]
    return out

def run_fresh(name:str, tmp_path:Path, real_data) -> tuple[str, str]:
    "Run lesson `name` with its slow cells in an empty folder and cache; return (saved outputs, fresh outputs)."
    real_data('imdb')
    real_data('tinyshakespeare')
    work = tmp_path/name
    work.mkdir()
    shutil.copy(ROOT/'nbs'/f'{name}.ipynb', work)
    env = dict(os.environ, TEXTGEN_COURSE_CACHE=str(tmp_path/'cache'), HOME=str(tmp_path/'home'))
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'run_nb.py'), '--flags', 'slow', '--timeout', '3600', str(work/f'{name}.ipynb')],
                       env=env, capture_output=True, text=True, cwd=work)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return slow_outputs(ROOT/'nbs'/f'{name}.ipynb'), slow_outputs(work/f'{name}.ipynb')

def close(saved:dict, fresh:dict, tolerance:float):
    "Every row of `saved` is in `fresh` with every number within `tolerance`."
    assert saved, 'no saved figures found: the pattern does not match the notebook'
    for name, values in saved.items():
        assert name in fresh, f'{name!r} missing from the fresh run'
        assert len(values) == len(fresh[name]), (name, values, fresh[name])
        for a, b in zip(values, fresh[name], strict=True): assert abs(a - b) <= tolerance, (name, values, fresh[name])

def test_lesson_04_in_a_fresh_runtime(tmp_path, real_data):
    "The bits-per-character table of lesson 04 (every model, both corpora) within 0.01 bits of the saved one."
    saved, fresh = run_fresh('04_evaluate', tmp_path, real_data)
    row = r'^(?P<name>[a-zA-Z][\w ,()\-\'.]*?\S)\s{2,}\d+\.\d{3}.*$'
    close(figures(saved, row), figures(fresh, row), 0.01)

def test_lesson_05_in_a_fresh_runtime(tmp_path, real_data):
    "The ROC-AUC and accuracy table of lesson 05 within the noise it states (0.02 on 200 held-out texts)."
    saved, fresh = run_fresh('05_detect', tmp_path, real_data)
    row = r'^(?P<name>(?:temperature|top-p) [\d.]+(?: \(as trained\))?)\s+\d\.\d{2} \(.*$'
    close(figures(saved, row), figures(fresh, row), 0.02)
