"Project-level checks: the README's commands are the real ones, pins are in place, notebooks follow the course conventions."
import ast, configparser, importlib.util, json, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, outputs_text

sys.path.insert(0, str(ROOT/'tools'))
import make_readme
from run_nb import SWITCH   # the one line a lesson's real run is switched by

def cfg():
    c = configparser.ConfigParser(delimiters=['='])
    c.read(ROOT/'settings.ini')
    return c['DEFAULT']

def readme_commands():
    "Shell commands in the README's ```sh blocks."
    blocks = re.findall(r'```sh\n(.*?)```', (ROOT/'README.md').read_text(), re.S)
    return [l.split('#')[0].strip() for b in blocks for l in b.strip().split('\n') if l.split('#')[0].strip()]

def test_readme_is_in_step_with_index_notebook():
    assert (ROOT/'README.md').read_text(encoding='utf-8') == make_readme.render()

def test_readme_commands_are_what_ci_runs():
    cmds = readme_commands()
    assert 'bash tools/setup.sh' in cmds and 'bash tools/test.sh' in cmds
    ci = (ROOT/'.ci'/'run').read_text()
    assert 'bash tools/setup.sh' in ci and 'bash tools/test.sh' in ci
    for script in ('tools/setup.sh', 'tools/test.sh'):
        assert (ROOT/script).exists()
        assert subprocess.run(['bash', '-n', str(ROOT/script)]).returncode == 0
    setup = (ROOT/'tools'/'setup.sh').read_text()
    assert 'pip install' in setup and '-e ".[dev]"' in setup
    test = (ROOT/'tools'/'test.sh').read_text()
    assert test.rstrip().split('\n')[-1].startswith('python -m pytest tests/')  # pytest's summary line comes last
    assert 'nbdev_test' in test

def test_main_job_command_exists():
    main_job = [c for c in readme_commands() if 'textgen ' in c]
    assert main_job, 'the README shows no main-job command'
    scripts = dict(s.split('=') for s in cfg()['console_scripts'].split())
    assert 'textgen' in scripts
    mod, fn = scripts['textgen'].split(':')
    assert importlib.util.find_spec(mod) is not None

def test_main_job_command_runs_offline():
    "The README's main-job command, run as written (with this environment's console script), prints the texts it asked for."
    cmd = next(c for c in readme_commands() if 'textgen ' in c).split()
    assert cmd[0] == '.venv/bin/textgen'
    exe = Path(sys.executable).parent/'textgen'
    env = dict(__import__('os').environ, TF_CPP_MIN_LOG_LEVEL='3', no_proxy='*', http_proxy='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9')
    r = subprocess.run([str(exe), *cmd[1:]], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    n = int(cmd[cmd.index('-n') + 1])
    assert len([l for l in r.stdout.split('\n') if l.strip()]) >= n

def test_pins():
    dev = cfg()['dev_requirements'].split()
    for pin in ('nbdev>=2.4.14,<3', 'fastcore>=1.12.3,<2', 'execnb>=0.1.12,<0.2'): assert pin in dev
    req = cfg()['requirements'].split()
    assert 'tensorflow>=2.16' in req and not any(r.startswith(('tf_keras', 'tf-keras', 'tensorflow-cpu')) for r in req)
    assert cfg()['tst_flags'].split() == ['notest', 'slow', 'gpu', 'net']
    assert not re.search(r'^\s*(from|import)\s+pkg_resources', (ROOT/'setup.py').read_text(), re.M)

def test_no_tf_keras_and_no_pickle():
    assert importlib.util.find_spec('tf_keras') is None, 'tf_keras is installed: nothing may pull it in'
    for f in (ROOT/'textgen_course').glob('*.py'):
        src = f.read_text()
        assert not re.search(r'^\s*(import|from)\s+(tf_keras|pickle|dill|cloudpickle)\b', src, re.M), f
        assert 'allow_pickle=True' not in src, f

LESSONS = sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_lesson_conventions(nb):
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    src = lambda c: ''.join(c['source'])
    assert all('id' in c for c in cells), 'cells without ids: run nbdev_clean'
    assert src(cells[0]).startswith('#| default_exp ')
    md = [src(c) for c in cells if c['cell_type'] == 'markdown']
    assert re.match(r'# \S.*\n\n> \S', md[0]), 'first markdown cell must be "# Title" then "> summary"'
    assert any('colab.research.google.com' in m for m in md[:3]), 'no Open in Colab badge'
    installs = [src(c) for c in cells if c['cell_type'] == 'code' and re.search(r'^\s*[%!]pip install', src(c), re.M)]
    assert installs and all("'google.colab' in sys.modules" in s or '#| eval: false' in s for s in installs)
    assert 'nbdev_export()' in src(cells[-1]) and '#| hide' in src(cells[-1])
    code = [c for c in cells if c['cell_type'] == 'code']
    assert all(c['execution_count'] is None for c in code), 'run nbdev_clean'
    assert any('test_eq(' in src(c) or 'test_close(' in src(c) for c in code), 'no one-line check of a claim'
    assert not re.search(r'(?<![\w.])(bench|tests|tools)/', '\n'.join(md)), 'lesson prose points at bench/, tests/ or tools/'

def code_lines(c) -> int: return len([l for l in ''.join(c['source']).split('\n') if l.strip()])

def test_lessons_are_small_steps():
    "Across the lessons, at least 90% of code cells have 15 lines or fewer, and none has more than 40."
    sizes = {f'{nb.name} cell {i}': code_lines(c) for nb in LESSONS for i, c in enumerate(json.loads(nb.read_text())['cells'])
             if c['cell_type'] == 'code'}
    small = sum(n <= 15 for n in sizes.values()) / len(sizes)
    assert small >= 0.9, f'{small:.1%} of lesson code cells have <= 15 lines'
    assert not [k for k, n in sizes.items() if n > 40], [k for k, n in sizes.items() if n > 40]

REFERENCE = sorted((ROOT/'nbs'/'lib').glob('*.ipynb'))

@pytest.mark.parametrize('nb', REFERENCE, ids=lambda p: p.name)
def test_reference_notebooks(nb):
    "The library's reference notebooks: a title and summary, an exported module, listed on the front page."
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    src = lambda c: ''.join(c['source'])
    module = re.match(r'#\| default_exp (\w+)', src(cells[0])).group(1)
    md = [src(c) for c in cells if c['cell_type'] == 'markdown']
    assert re.match(r'# \S.*\n\n> \S', md[0]) and 'reference notebook' in md[1]
    assert f'lib/{nb.name}' in (ROOT/'nbs'/'index.ipynb').read_text() and (ROOT/'textgen_course'/f'{module}.py').exists()

# ---------- what learners see (saved notebooks, README)
NOTEBOOKS = sorted((ROOT/'nbs').rglob('*.ipynb'))
BUILD_PATHS = re.compile(r"\.\./(\.\./)?(shared|tests)\b|parent/'shared'|'shared'/'data'")

def cells(nb): return json.loads(nb.read_text(encoding='utf-8'))['cells']
def text_of(c): return ''.join(c['source'])
def test_no_build_machine_paths():
    "Notebooks, tests and benchmarks reach data through `corpus.course_data`, never through the build machines' folders."
    files = NOTEBOOKS + sorted((ROOT/'tests').glob('*.py')) + sorted((ROOT/'bench').glob('*.py'))
    found = [f"{f.relative_to(ROOT)}: {m.group()}" for f in files if f.name != 'test_project.py'
             for m in BUILD_PATHS.finditer(f.read_text(encoding='utf-8'))]
    assert not found, found

def test_build_path_check_can_fail():
    assert BUILD_PATHS.search("Path('../../shared/data/x')") and BUILD_PATHS.search("np.load('../tests/fixtures/a.npz')")
    assert BUILD_PATHS.search("ROOT.parent/'shared'/'data'") and not BUILD_PATHS.search("models_dir()/'shakespeare'")

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_slow_cells_show_real_results(nb):
    "Every `#| slow` cell keeps the outputs of its real run, and the prose states the measured run time."
    cs = cells(nb)
    empty = [text_of(c)[:60] for c in cs if is_slow(c) and not c.get('outputs')]
    assert not empty, f'slow cells without saved output: {empty}'
    assert not any(p in text_of(c) for c in cs for p in ('RUNTIME_', 'RUNALL_TIME')), 'a run time placeholder was never filled in'

LOCAL_PATHS = re.compile(r'/(?:root|home|work|tmp)/\S*|site-packages|\.venv/lib|ipykernel_\d+')
BUILD_WORDS = re.compile(r'seed workflow|course machines|build machine|the issue|\bCI\b|shared/data', re.I)
PROFANITY = re.compile(r'\b(?:fuck\w*|shit\w*|bitch\w*|cunt\w*|asshole\w*|whore\w*|slut\w*|nigg\w*|faggot\w*|pussy|retard\w*|'
                       r'sex\w*|porn\w*|blow\s?jobs?|rap(?:e|ed|ist)\b|nazi\w*|dick(?!\s+Tracy)\b|cock\b|penis\w*|boob\w*|tits?\b)', re.I)

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_learner_text_is_clean(nb):
    "No machine paths or build-process words in what learners read, and no profanity in saved outputs."
    cs = cells(nb)
    prose = '\n'.join(text_of(c) for c in cs if c['cell_type'] == 'markdown')
    outs = '\n'.join(outputs_text(c) for c in cs)
    assert not BUILD_WORDS.findall(prose), BUILD_WORDS.findall(prose)
    assert not LOCAL_PATHS.findall(outs), LOCAL_PATHS.findall(outs)[:5]
    assert not PROFANITY.findall(outs), PROFANITY.findall(outs)

def widget_texts(nb) -> list[str]:
    "Every string value in a notebook's saved widget state (what a rendered panel shows)."
    state = json.loads(nb.read_text(encoding='utf-8')).get('metadata', {}).get('widgets', {})
    found = []
    def walk(x):
        if isinstance(x, str): found.append(x)
        elif isinstance(x, dict): [walk(v) for v in x.values()]
        elif isinstance(x, list): [walk(v) for v in x]
    walk(state)
    return found

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_widget_state_is_clean(nb):
    "The saved widget state (what the panels show in a saved notebook) has no profanity either."
    found = [m for t in widget_texts(nb) for m in PROFANITY.findall(t)]
    assert not found, found

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_images_show_in_colab_and_on_github(nb):
    "No images in markdown but absolute addresses: Colab shows neither relative links nor attachments (colabtools#3836)."
    cs = cells(nb)
    md = '\n'.join(text_of(c) for c in cs if c['cell_type'] == 'markdown')
    local = [u for u in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', md) if not u.startswith(('https://', 'http://'))]
    assert not local and not any(c.get('attachments') for c in cs), local

def test_readme_is_clean():
    readme = (ROOT/'README.md').read_text(encoding='utf-8')
    assert not PROFANITY.findall(readme) and not LOCAL_PATHS.findall(readme)

def test_clean_text_checks_can_fail():
    assert PROFANITY.search('I made a Shitty star') and not PROFANITY.search('Dick Tracy, Hitchcock, Scunthorpe')
    assert PROFANITY.search('the best friend was a fucking') and PROFANITY.search('sexual kids')
    assert LOCAL_PATHS.search('/work/main/.venv/lib/python3.11/site-packages/keras/x.py:259: UserWarning')
    assert BUILD_WORDS.search('The seed workflow in one call')

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_lessons_end_with_exercises(nb):
    md = [text_of(c) for c in cells(nb) if c['cell_type'] == 'markdown']
    assert md[-1].startswith('## Your turn') and len(re.findall(r'^\d\. ', md[-1], re.M)) >= 2
    assert 'Hint' in md[-1]

def is_slow(c) -> bool: return c['cell_type'] == 'code' and bool(re.search(r'^#\|.*\bslow\b', text_of(c), re.M))

def runs_only_when_switched_on(source:str) -> bool:
    "Whether a cell's code (after its `#|` lines) is one `if REAL_RUN:` block with no `else`."
    code = '\n'.join(l for l in source.split('\n') if not l.startswith('#|'))
    try: body = ast.parse(code).body
    except SyntaxError: return False
    return (len(body) == 1 and isinstance(body[0], ast.If) and not body[0].orelse
            and isinstance(body[0].test, ast.Name) and body[0].test.id == 'REAL_RUN')

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_real_runs_are_switched(nb):
    "A lesson with real (`#| slow`) cells has one REAL_RUN switch, saved off, above them; each real cell runs only when it is on."
    cs = cells(nb)
    slow = [i for i, c in enumerate(cs) if is_slow(c)]
    switches = [i for i, c in enumerate(cs) if c['cell_type'] == 'code' and re.match(r'\s*REAL_RUN\s*=', text_of(c))]
    if not slow: return
    assert [text_of(cs[i]).strip() for i in switches] == [SWITCH], 'one switch cell, exactly: ' + SWITCH
    assert switches[0] < slow[0], 'the switch comes before the first real cell'
    unguarded = [text_of(cs[i])[:80] for i in slow if not runs_only_when_switched_on(text_of(cs[i]))]
    assert not unguarded, unguarded

def text_output_lines(c) -> list[str]:
    "The lines a code cell's saved outputs show as text (streams and plain-text results)."
    out = ''.join(''.join(o['text']) if 'text' in o else '\n' + ''.join(o.get('data', {}).get('text/plain', '')) + '\n'
                  for o in c.get('outputs', []))   # streams run on as printed; a result is a block of its own
    return [l.rstrip() for l in out.split('\n')]

def copied_lines(md:str) -> list[str]:
    "The lines of a markdown cell's ```text block, without the `...` that mark dropped lines."
    m = re.search(r'```text\n(.*?)```', md, re.S)
    return [l.rstrip() for l in m.group(1).rstrip('\n').split('\n') if l.strip() != '...'] if m else []

def in_order(lines:list, within:list) -> bool:
    "Whether every one of `lines` appears in `within`, in the same order."
    it = iter(within)
    return all(any(l == w for w in it) for l in lines)

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_real_results_stay_readable(nb):
    "Each real cell that prints is followed by a markdown copy of what it printed (lines verbatim, in order), so Run all keeps it."
    cs = cells(nb)
    for i, c in enumerate(cs):
        if not is_slow(c) or not any(l.strip() for l in text_output_lines(c)): continue
        nxt = cs[i + 1] if i + 1 < len(cs) else {'cell_type': None, 'source': ''}
        assert nxt['cell_type'] == 'markdown' and text_of(nxt).startswith('**Real run output**'), f'no copy after {c["id"]}'
        copy = copied_lines(text_of(nxt))
        assert copy and in_order(copy, text_output_lines(c)), f'the copy after {c["id"]} is not what the cell printed'

def test_switch_checks_can_fail():
    assert runs_only_when_switched_on('#| slow\nif REAL_RUN:\n    x = 1\n    print(x)')
    assert not runs_only_when_switched_on('#| slow\nx = 1\nif REAL_RUN:\n    print(x)')
    assert not runs_only_when_switched_on('#| slow\nif REAL_RUN:\n    x = 1\nelse:\n    x = 2')
    assert in_order(['a', 'c'], ['a', 'b', 'c']) and not in_order(['c', 'a'], ['a', 'b', 'c']) and not in_order(['a', 'd'], ['a', 'b'])
    assert copied_lines('**Real run output**\n```text\nx 1.5\n...\ny\n```') == ['x 1.5', 'y']

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_exercises_have_starter_code(nb):
    "Every numbered exercise has a starter cell (`# Exercise N: ...`) after it, which runs with the lesson."
    cs = cells(nb)
    last_md = max(i for i, c in enumerate(cs) if c['cell_type'] == 'markdown')
    numbers = re.findall(r'^(\d+)\. ', text_of(cs[last_md]), re.M)
    starters = [m.group(1) for c in cs[last_md + 1:] if c['cell_type'] == 'code'
                for m in [re.match(r'# Exercise (\d+):', text_of(c))] if m]
    assert starters == numbers, (numbers, starters)
    assert not any(is_slow(c) for c in cs[last_md + 1:])
