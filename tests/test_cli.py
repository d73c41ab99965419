"""Tests of the `textgen` command line: textgen_course.cli.main called in-process, and the installed console script run as a
subprocess for what a shell sees (stdout, stderr, exit codes)."""
import os, re, shutil, subprocess, sys, tarfile
from pathlib import Path
import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import textgen_course.cli as cli
from textgen_course.cli import main
from conftest import snapshot_files
from textgen_course.corpus import write_lines
from textgen_course.samples import write_sample_imdb
from textgen_course.textgenrnn import TextGenRNN
from textgen_course.training import TrainingRun

REVIEWS = ['Awful. Just awful.', 'Never again.', 'I want my money back.', 'The worst movie of the year.']

@pytest.fixture(scope='module')
def pretrained():
    "One pretrained model for the tests that compare the command's texts with the library's."
    return TextGenRNN()

@pytest.fixture
def shared_model(monkeypatch, pretrained):
    "`textgen generate` without --model re-uses the one pretrained model (and its compiled sampler): many calls stay fast."
    real = cli.load_model
    monkeypatch.setattr(cli, 'load_model', lambda path=None: pretrained if path is None else real(path))
    return pretrained

def _generate(capsys, *args) -> list[str]:
    "The texts `textgen generate ARGS` prints, one per line; nothing on stderr."
    assert main(['generate', *args]) == 0
    out = capsys.readouterr()
    assert out.err == ''
    return out.out.splitlines()

def _error(capsys, argv) -> str:
    "`textgen ARGV` fails as bad input: exit 2, exactly one line on stderr, no traceback; returns that line."
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.endswith('\n') and 'Traceback' not in err, err
    assert err.startswith(f'textgen {argv[0]}: error: ')
    return err

# ---------- generate

def test_generate_pretrained_offline(capsys):
    "The pretrained model generates offline; greedy with a prefix prints the prefix and exactly --max-length new characters."
    (text,) = _generate(capsys, '-n', '1', '--temperature', '0', '--prefix', 'The movie', '--max-length', '70')
    assert text == 'The movie and the start in the state of the state of the state of the state of '
    assert len(text) == len('The movie') + 70

def test_generate_seed(shared_model, capsys):
    "--seed makes the texts reproducible; another seed gives other texts; -n texts are printed, one per line."
    args = ['-n', '4', '--temperature', '1.0', '--max-length', '30']
    a = _generate(capsys, *args, '--seed', '3')
    assert len(a) == 4 and a == _generate(capsys, *args, '--seed', '3')
    assert a != _generate(capsys, *args, '--seed', '4')
    assert a == shared_model.generate(4, return_as_list=True, temperature=1.0, max_gen_length=30, seed=3)

def test_generate_top_k_and_top_p(shared_model, capsys):
    "--top-k 1 and a tiny --top-p both keep only the likeliest character: the greedy text (--temperature 0); --top-p 1 does not."
    greedy = _generate(capsys, '-n', '3', '--temperature', '0', '--max-length', '30')
    assert len(set(greedy)) == 1
    args = ['-n', '3', '--temperature', '1.0', '--max-length', '30', '--seed', '3']
    assert _generate(capsys, *args, '--top-k', '1') == greedy
    assert _generate(capsys, *args, '--top-p', '0.01') == greedy
    full = _generate(capsys, *args, '--top-p', '1')
    assert len(set(full)) == 3 and greedy[0] not in full
    assert _generate(capsys, *args, '--top-k', '5') != full  # top-k 5 changes what 1.0 would draw

def test_generate_temperature_list(shared_model, capsys):
    "A --temperature list is cycled per character: [1.0, 0.2] gives other texts than 1.0 alone; [1.0, 1.0] the same ones."
    args = ['-n', '4', '--max-length', '30', '--seed', '3', '--temperature']
    one = _generate(capsys, *args, '1.0')
    assert _generate(capsys, *args, '1.0', '1.0') == one
    assert _generate(capsys, *args, '1.0', '0.2') != one
    assert _generate(capsys, *args, '0', '0') == _generate(capsys, '-n', '4', '--max-length', '30', '--temperature', '0')

def test_generate_to_file(shared_model, tmp_path, capsys):
    "--out writes the same texts, one per line, and prints where."
    args = ['-n', '3', '--temperature', '1.0', '0.5', '--seed', '2', '--top-k', '20', '--top-p', '0.9', '--max-length', '30']
    printed = _generate(capsys, *args)
    assert _generate(capsys, *args, '--out', str(tmp_path/'o.txt')) == [f"wrote {tmp_path/'o.txt'}"]
    assert (tmp_path/'o.txt').read_text(encoding='utf-8').splitlines() == printed

def test_generate_from_a_saved_gpt_and_char_rnn(tmp_path, capsys):
    "--model takes any saved course model: a GPT and a char-RNN print the texts their own `generate` gives."
    from textgen_course.charrnn import CharRNN
    from textgen_course.gpt import GPT
    from textgen_course.samples import sample_text
    text = sample_text(1)
    for name, model in [('gpt', GPT.new(text, n_layer=1, n_head=2, n_embd=16, seq_len=16, seed=0)),
                        ('rnn', CharRNN.new(text, units=16, seq_len=16, seed=0))]:
        files = model.save(tmp_path/name)
        printed = _generate(capsys, '--model', str(files['weights']), '-n', '3', '--prefix', 'DUKE:', '--seed', '1',
                            '--temperature', '1.0', '--max-length', '40')
        want = model.generate(3, prefix='DUKE:', seed=1, temperature=1.0, max_gen_length=40, return_as_list=True)
        assert printed == '\n'.join(want).splitlines() and len(set(want)) == 3, (name, printed, want)  # texts may hold line breaks

@pytest.mark.parametrize('argv,msg', [
    (['generate', '--temperature', '-1'], '>= 0'), (['generate', '--temperature', 'nan'], 'finite'),
    (['generate', '-n', '0'], '-n must be an integer from 1'), (['generate', '--max-length', '0'], '--max-length must be'),
    (['generate', '--top-p', '0'], 'top_p must be'), (['generate', '--top-k', '-1'], '--top-k must be'),
    (['generate', '--prefix', 'so bad 😂'], "'😂'"), (['generate', '--model', 'nope.weights.h5'], 'nope.weights.h5: no such model file'),
    (['finetune', 'missing.txt'], 'missing.txt: no such file or folder')])
def test_errors_are_one_line_exit_2(argv, msg, capsys, tmp_path, monkeypatch):
    "Bad input ends with exit 2 and one line naming the problem."
    monkeypatch.chdir(tmp_path)
    assert msg in _error(capsys, argv)

def test_programming_errors_keep_their_traceback(monkeypatch):
    "Only bad input is a one-line exit 2; a bug (TypeError here) propagates with its traceback."
    def broken(a): raise TypeError('a bug, not bad input')
    monkeypatch.setattr(cli, '_generate', broken)
    with pytest.raises(TypeError, match='a bug'): main(['generate'])

# ---------- finetune

def _finetune_args(data, out, *more):
    return ['finetune', str(data), '--epochs', '1', '--batch-size', '16', '--out', str(out), '--samples', '0',
            '--valid-frac', '0.25', '--mode', 'original', '--checkpoint-every', '2', *more]

@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
    "One `textgen finetune` run on a small text file: (its arguments, its output folder, what it printed)."
    tmp = tmp_path_factory.mktemp('finetune')
    write_lines(REVIEWS, tmp/'r.txt')
    import contextlib, io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): assert main(_finetune_args(tmp/'r.txt', tmp/'m')) == 0
    return dict(data=tmp/'r.txt', out=tmp/'m', stdout=buf.getvalue())

@pytest.fixture
def run_copy(finetuned, tmp_path):
    "A copy of the finished finetune folder, to change."
    shutil.copytree(finetuned['out'], tmp_path/'m')
    return tmp_path/'m'

def test_finetune_text_file_then_generate(finetuned, capsys):
    "finetune reports the held-out score and the saved model, keeps its checkpoints and best model in --out; generate --model uses it."
    out = finetuned['stdout']
    assert 'fine-tuning on 3 texts' in out and '1 held out' in out and 'held-out' in out and 'saved ' in out
    names = set(os.listdir(finetuned['out']))
    assert {'textgenrnn.weights.h5', 'textgenrnn.model.json', 'best.weights.h5', 'checkpoint-a.weights.h5', 'checkpoint-b.weights.h5',
            'checkpoint-a.model.json', 'checkpoint-b.model.json'} <= names
    assert not any(n.startswith('.tmp-') for n in names)
    model = finetuned['out']/'textgenrnn.weights.h5'
    texts = _generate(capsys, '--model', str(model), '-n', '2', '--max-length', '20', '--seed', '0')
    assert texts == TextGenRNN.load(model).generate(2, return_as_list=True, max_gen_length=20, seed=0)

def test_finetune_refuses_an_out_folder_that_holds_a_model(finetuned, run_copy, capsys):
    "finetune into a folder that already holds a model is refused (exit 2, one line naming the folder); nothing in it changes."
    before = snapshot_files(run_copy)
    err = _error(capsys, _finetune_args(finetuned['data'], run_copy))
    assert f'{run_copy} already holds' in err and '--resume' in err
    assert snapshot_files(run_copy) == before
    err = _error(capsys, _finetune_args(finetuned['data'], run_copy, '--epochs', '2'))  # other settings: refused just the same
    assert f'{run_copy} already holds' in err
    assert snapshot_files(run_copy) == before

def test_finetune_resume(finetuned, run_copy, capsys):
    "--resume with the same arguments continues the run (finished: nothing left to train); with other settings it is refused."
    fingerprint = TextGenRNN.load(run_copy/'textgenrnn').fingerprint()
    assert main(_finetune_args(finetuned['data'], run_copy, '--resume')) == 0
    assert 'nothing left to train' in capsys.readouterr().out
    assert TextGenRNN.load(run_copy/'textgenrnn').fingerprint() == fingerprint
    before = snapshot_files(run_copy)
    err = _error(capsys, _finetune_args(finetuned['data'], run_copy, '--resume', '--batch-size', '32'))
    assert 'other data or settings' in err and 'batch_size' in err
    assert snapshot_files(run_copy) == before

def test_finetune_interrupted_then_resumed(finetuned, tmp_path, monkeypatch, capsys):
    """A finetune that dies after a mid-epoch checkpoint (and before its epoch-end one) leaves a folder that a new run may not
    take over; --resume finishes the epoch, with the same model as the uninterrupted run."""
    out = tmp_path/'m'
    real = TrainingRun.save
    def dies(self, model, epoch, step):
        if (epoch, step) == (1, 0): raise RuntimeError('killed')
        real(self, model, epoch, step)
    monkeypatch.setattr(TrainingRun, 'save', dies)
    with pytest.raises(RuntimeError, match='killed'): main(_finetune_args(finetuned['data'], out))
    monkeypatch.setattr(TrainingRun, 'save', real)
    assert not (out/'textgenrnn.weights.h5').exists() and (out/'checkpoint-b.weights.h5').exists()
    capsys.readouterr()
    before = snapshot_files(out)
    err = _error(capsys, _finetune_args(finetuned['data'], out))
    assert f'{out} already holds ' in err and 'checkpoint-b.weights.h5' in err
    assert snapshot_files(out) == before
    assert main(_finetune_args(finetuned['data'], out, '--resume')) == 0
    assert 'resuming from checkpoint-b: epoch 1, after 2 of ' in capsys.readouterr().out
    got, want = TextGenRNN.load(out/'textgenrnn'), TextGenRNN.load(finetuned['out']/'textgenrnn')
    for a, b in zip(got.model.get_weights(), want.model.get_weights(), strict=True): np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

def test_finetune_empty_file(tmp_path, capsys):
    "A file with no text is refused in one line."
    f = tmp_path/'empty.txt'
    f.write_text('\n\n')
    err = _error(capsys, ['finetune', str(f), '--out', str(tmp_path/'m')])
    assert f'{f}: ' in err and 'empty' in err
    assert not (tmp_path/'m').exists()

def test_finetune_imdb_archive(tmp_path, capsys):
    "finetune reads the reviews with --rating from an IMDb archive and saves the model in --out."
    a = write_sample_imdb(tmp_path/'s.tar.gz', n=20)
    with tarfile.open(a) as t:
        n_rated_1 = sum(bool(re.fullmatch(r'aclImdb/train/(neg|pos)/\d+_1\.txt', m.name)) for m in t.getmembers())
    assert main(['finetune', str(a), '--rating', '1', '--max-texts', '4', '--epochs', '1', '--out', str(tmp_path/'m'),
                 '--samples', '0', '--quiet', '--checkpoint-every', '0']) == 0
    assert f'{a}: {n_rated_1} train reviews with rating 1' in capsys.readouterr().out
    assert TextGenRNN.load(tmp_path/'m'/'textgenrnn').vocab == TextGenRNN().vocab

def test_finetune_truncated_archive(tmp_path, capsys):
    "A truncated IMDb archive ends with exit 2 and one line naming the file, before any model is built or folder made."
    data = write_sample_imdb(tmp_path/'s.tar.gz', n=20).read_bytes()
    cut = tmp_path/'cut.tar.gz'
    cut.write_bytes(data[:len(data) // 2])
    err = _error(capsys, ['finetune', str(cut), '--out', str(tmp_path/'m')])
    assert f'{cut}: ' in err and 'truncated' in err
    assert not (tmp_path/'m').exists()

@pytest.mark.parametrize('flags,msg', [(['--max-texts', '-1'], '--max-texts must be an integer from 1'),
                                       (['--max-texts', '0'], '--max-texts must be an integer from 1'),
                                       (['--epochs', '0'], '--epochs must be an integer from 1'),
                                       (['--batch-size', '0'], '--batch-size must be an integer from 1'),
                                       (['--checkpoint-every', '-1'], '--checkpoint-every must be an integer from 0'),
                                       (['--valid-frac', '1'], '--valid-frac must be a number in [0.0, 1.0)')])
def test_finetune_bad_numbers_are_refused(tmp_path, capsys, flags, msg):
    "Nonsense numbers are refused in one line, before anything is read or written."
    f = tmp_path/'r.txt'
    write_lines(['Awful.', 'Never again.'], f)
    assert msg in _error(capsys, ['finetune', str(f), '--out', str(tmp_path/'m')] + flags)
    assert not (tmp_path/'m').exists()

def test_finetune_real_imdb(real_data, tmp_path, capsys):
    "finetune on the real IMDb train archive: all its one-star reviews are found; two of them fine-tune a loadable model."
    archive = real_data('imdb')
    if archive.is_dir(): pytest.skip(f'{archive} is an extracted folder; this test counts the members of the archive')
    with tarfile.open(archive) as t:
        n_rated_1 = sum(bool(re.fullmatch(r'aclImdb/train/(neg|pos)/\d+_1\.txt', m.name)) for m in t.getmembers())
    assert n_rated_1 > 1000
    assert main(['finetune', str(archive), '--max-texts', '2', '--epochs', '1', '--out', str(tmp_path/'m'), '--samples', '0',
                 '--valid-frac', '0', '--quiet', '--checkpoint-every', '0']) == 0
    out = capsys.readouterr().out
    assert f'{archive}: {n_rated_1} train reviews with rating 1' in out and 'fine-tuning on 2 texts' in out
    assert len(TextGenRNN.load(tmp_path/'m'/'textgenrnn').generate(1, return_as_list=True, max_gen_length=10, seed=0)) == 1

# ---------- the console script, as a shell runs it

def _script_env(**extra):
    "The environment of a user's shell: TensorFlow's own log setting removed, the network unreachable."
    env = {k: v for k, v in os.environ.items() if k not in ('TF_CPP_MIN_LOG_LEVEL', 'TEXTGEN_TF_LOG')}
    blocked = 'http://127.0.0.1:9'
    return {**env, 'http_proxy': blocked, 'https_proxy': blocked, 'HTTP_PROXY': blocked, 'HTTPS_PROXY': blocked, **extra}

@pytest.fixture(scope='module')
def script_runs(tmp_path_factory):
    "The console script run three ways at once (each takes seconds): {name: dict(rc, out, err)}."
    script = Path(sys.executable).parent/'textgen'
    assert script.exists(), f'{script}: the console script is not installed (pip install -e .)'
    tmp = tmp_path_factory.mktemp('script')
    gen = [str(script), 'generate', '-n', '2', '--seed', '3', '--temperature', '0.5', '--max-length', '40']
    runs = {'plain': (gen, _script_env()), 'tf_log': (gen, _script_env(TEXTGEN_TF_LOG='1')),
            'bad_prefix': ([str(script), 'generate', '-n', '2', '--prefix', 'hi 😂'], _script_env())}
    procs = {k: subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, (cmd, env) in runs.items()}
    out = {}
    for k, p in procs.items():
        stdout, stderr = p.communicate(timeout=300)
        out[k] = dict(rc=p.returncode, out=stdout, err=stderr)
    out['folder'] = sorted(os.listdir(tmp))  # the cwd of the runs: generate writes nothing there
    return out

def test_script_generate_prints_only_the_texts(script_runs, pretrained):
    "`textgen generate` from a shell prints the texts on stdout and nothing at all on stderr (TensorFlow's start-up lines filtered)."
    r = script_runs['plain']
    assert r['rc'] == 0 and r['err'] == ''
    assert r['out'].splitlines() == pretrained.generate(2, return_as_list=True, seed=3, temperature=0.5, max_gen_length=40)

def test_script_tf_log_shows_tensorflow_lines(script_runs):
    "With TEXTGEN_TF_LOG=1 TensorFlow's start-up lines come back on stderr: the filter is what removes them."
    r, plain = script_runs['tf_log'], script_runs['plain']
    assert r['rc'] == 0 and r['out'] == plain['out']
    assert re.search(r'tensorflow|oneDNN|cuda|absl', r['err'], re.IGNORECASE), r['err']

def test_script_errors_still_reach_stderr(script_runs):
    "A real error still reaches stderr through the filter: exactly one line, exit 2, nothing on stdout."
    r = script_runs['bad_prefix']
    assert r['rc'] == 2 and r['out'] == ''
    assert r['err'].startswith('textgen generate: error: ') and r['err'].count('\n') == 1 and "'😂'" in r['err'], r['err']
    assert script_runs['folder'] == []
