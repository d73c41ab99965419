"""Checkpoints and resuming (training.TrainingRun through textgenrnn fine-tuning): runs killed with SIGKILL mid-epoch and mid-save
resume to the uninterrupted result; damaged slots, other settings, a folder that already holds a run; the best model."""
import json, os, re, shutil, signal, subprocess, sys, time, textwrap
from pathlib import Path
import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras
from textgen_course.training import SLOTS, TrainingRun
from textgen_course.modelfiles import ModelFileError, read_meta
from textgen_course.textgenrnn import TextGenRNN

TEXTS = [f'Review {i}: the plot was bad and the acting was worse, number {i}.' for i in range(12)]
RUN = dict(rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8, num_epochs=2, batch_size=16, gen_epochs=0, checkpoint_every=5)
STEPS = -(-sum(len(t) + 1 for t in TEXTS) // RUN['batch_size'])  # batches per epoch: one window per character and per closing <s>

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import keras
    import textgen_course.training as training
    from textgen_course.textgenrnn import TextGenRNN
    folder, run = sys.argv[1], json.loads(sys.argv[2])
    if os.environ.get('HANG_AT'):  # the HANG_AT-th checkpoint write stalls after writing its temporary file: kill it there
        real, count = training._write_state, [0]
        def stalls(path, model, *best):
            count[0] += 1
            real(path, model, *best)
            if count[0] == int(os.environ['HANG_AT']): time.sleep(600)
        training._write_state = stalls
    class Slow(keras.callbacks.Callback):  # gives the test time to kill the run mid-epoch; changes nothing else
        def on_train_batch_end(self, batch, logs=None): time.sleep(float(os.environ.get('SLOW', '0')))
    texts = [f'Review {i}: the plot was bad and the acting was worse, number {i}.' for i in range(12)]
    keras.utils.set_random_seed(0)  # the same initial weights in every run
    t = TextGenRNN(name='r')
    t.train_new_model(texts, **run, verbose=2, checkpoint_dir=folder, resume=True, callbacks=[Slow()])
    t.save(os.path.join(folder, 'final'))
    print('DONE', flush=True)
''')

def _env(**kw): return {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **kw}

def _cmd(tmp, folder): return [sys.executable, str(tmp/'train.py'), str(folder), json.dumps(RUN)]

def _run(tmp, folder, **env):
    r = subprocess.run(_cmd(tmp, folder), capture_output=True, text=True, timeout=240, env=_env(**env))
    assert r.returncode == 0 and 'DONE' in r.stdout, r.stderr[-3000:]
    return r.stdout

def _latest_state(folder):
    "The train_state of the newest whole checkpoint slot in `folder` (None if none is whole yet)."
    states = []
    for name in SLOTS:
        try: states.append(read_meta(Path(folder)/name, 'checkpoint')['train_state'])
        except (ModelFileError, OSError, ValueError): pass  # absent, or caught between two writes
    return max(states, key=lambda s: s['count'], default=None)

def _kill_when(tmp, folder, ready, **env):
    "Start a run, SIGKILL it as soon as `ready(folder)` holds."
    p = subprocess.Popen(_cmd(tmp, folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env))
    t0 = time.time()
    try:
        while not ready(Path(folder)):
            assert p.poll() is None, 'the run ended before it could be killed: ' + p.stderr.read()[-2000:]
            assert time.time() - t0 < 180, 'timed out waiting for a checkpoint'
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
    finally:
        p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL and not (Path(folder)/'final.weights.h5').exists()

def _weights(path): return TextGenRNN.load(path).model.get_weights()

def _assert_same_weights(got, want):
    "The same batches in the same order from the same weights and Adam state: equal up to float summation order."
    assert len(got) == len(want) > 0
    for a, b in zip(got, want, strict=True): np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

def _snapshot(folder):
    "Every file of a folder, by name, with its bytes."
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}

def _train(folder, texts=TEXTS, verbose=0, **kw):
    "The run of RUN in this process (fresh initial weights, seeded as in the subprocess); returns (model, history)."
    keras.utils.set_random_seed(0)
    t = TextGenRNN(name='r')
    h = t.train_new_model(texts, **{**RUN, 'verbose': verbose, 'checkpoint_dir': folder, **kw})
    return t, h

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "The uninterrupted run (in this process): its folder, final weights and history."
    tmp = tmp_path_factory.mktemp('resume')
    (tmp/'train.py').write_text(SCRIPT, encoding='utf-8')
    t, h = _train(tmp/'whole')
    assert len(h['loss']) == 2
    return dict(tmp=tmp, folder=tmp/'whole', weights=t.model.get_weights(), history=h, fingerprint=t.fingerprint())

@pytest.fixture
def finished(reference, tmp_path):
    "A copy of the finished run's folder."
    shutil.copytree(reference['folder'], tmp_path/'run')
    return tmp_path/'run'

def _settings(folder):
    "The settings the newest checkpoint of `folder` was saved with (what a resumed run must repeat)."
    return _latest_state(folder)['settings']

# ---------- killed runs (subprocesses)

def test_kill_mid_epoch_then_resume(reference):
    "A run killed (SIGKILL) in the middle of its first epoch resumes there and ends with the uninterrupted run's weights."
    tmp, folder = reference['tmp'], reference['tmp']/'killed'
    mid_epoch = lambda f: (s := _latest_state(f)) is not None and s['epoch'] == 0 and s['step'] >= 10
    _kill_when(tmp, folder, mid_epoch, SLOW='0.05')
    state = _latest_state(folder)
    assert state['epoch'] == 0 and 10 <= state['step'] < STEPS  # it really stopped mid-epoch
    out = _run(tmp, folder)
    assert f"after {state['step']} of {STEPS} batches" in out  # and resumed from there
    _assert_same_weights(_weights(folder/'final'), reference['weights'])

def test_kill_mid_save_keeps_the_previous_checkpoint(reference):
    """A run killed while writing its third checkpoint keeps the second whole; a newest slot whose weights do not match its JSON
    (a kill between the two renames) is skipped for the older one; the run resumes to the uninterrupted result."""
    tmp, folder = reference['tmp'], reference['tmp']/'killed_saving'
    def saving_third(f):  # two checkpoints complete, the third one's temporary file written
        return all((f/f'{n}.model.json').exists() for n in SLOTS) and any(p.name.startswith('.tmp-') for p in f.iterdir())
    _kill_when(tmp, folder, saving_third, HANG_AT='3')
    assert any(p.name.startswith('.tmp-') for p in folder.iterdir())  # killed with the third checkpoint half-saved
    state = _latest_state(folder)
    assert state['count'] == 2 and state['step'] == 10
    newest = next(n for n in SLOTS if read_meta(folder/n, 'checkpoint')['train_state']['count'] == 2)
    older = next(n for n in SLOTS if n != newest)
    (folder/f'{newest}.weights.h5').write_bytes((folder/f'{older}.weights.h5').read_bytes())
    assert _latest_state(folder)['count'] == 1
    out = _run(tmp, folder)
    assert f'resuming from {older}' in out and f'after 5 of {STEPS} batches' in out
    _assert_same_weights(_weights(folder/'final'), reference['weights'])

# ---------- damaged, refused and finished runs (in this process)

def _damage(path):
    "Flip bytes in the middle of a file, keeping its size (only the digest can tell)."
    b = bytearray(path.read_bytes())
    b[len(b) // 2:len(b) // 2 + 8] = bytes(x ^ 0xFF for x in b[len(b) // 2:len(b) // 2 + 8])
    path.write_bytes(bytes(b))

def test_damaged_newest_slot_falls_back_to_the_older(finished, reference, capsys):
    "A damaged newest checkpoint is skipped: the run resumes from the older slot (mid-epoch) and ends as the uninterrupted run."
    newest = max(SLOTS, key=lambda n: read_meta(finished/n, 'checkpoint')['train_state']['count'])
    older = next(n for n in SLOTS if n != newest)
    older_state = read_meta(finished/older, 'checkpoint')['train_state']
    assert older_state['epoch'] == 1 and older_state['step'] == 45
    _damage(finished/f'{newest}.weights.h5')
    assert TrainingRun(finished, _settings(finished), resume=True).resumed_from == finished/older
    t, h = _train(finished, resume=True, verbose=2)
    assert f'resuming from {older}: epoch 2, after 45 of {STEPS} batches' in capsys.readouterr().out
    _assert_same_weights(t.model.get_weights(), reference['weights'])
    assert len(h['loss']) == 2 and h['loss'][0] == reference['history']['loss'][0]  # epoch 1 comes from the checkpoint

def test_both_slots_damaged_names_the_folder(finished):
    "With both checkpoints damaged, resuming raises a ModelFileError that names the folder (and each slot's problem)."
    for n in SLOTS: _damage(finished/f'{n}.weights.h5')
    before = _snapshot(finished)
    with pytest.raises(ModelFileError, match=re.escape(f'{finished}: no usable checkpoint') + '.*SHA-256 differs'):
        _train(finished, resume=True)
    assert _snapshot(finished) == before

@pytest.mark.parametrize('change,named', [(dict(texts=TEXTS[:-1]), 'data'), (dict(batch_size=8), 'batch_size'),
                                          (dict(learning_rate=1e-3), 'lr'), (dict(num_epochs=3), 'num_epochs'),
                                          (dict(valid_texts=['Other held-out texts would choose another best model.']), 'data'),
                                          (dict(valid_texts=TEXTS[:2], patience=2), 'patience')])
def test_resume_with_other_texts_or_settings_is_refused(finished, change, named):
    "Resuming with other texts or settings is refused, the differences named (then, now); the folder is left as it was."
    before = _snapshot(finished)
    with pytest.raises(ValueError, match=r'other data or settings, \(then, now\): .*' + repr(named)):
        _train(finished, resume=True, **change)
    assert _snapshot(finished) == before

def test_new_run_into_a_folder_with_a_run_is_refused(finished):
    "A new run (resume=False) into a folder that holds a run is refused, and nothing in the folder changes."
    before = _snapshot(finished)
    with pytest.raises(ValueError, match=re.escape(f'{finished} already holds a training run (epoch 2 done)') + '.*resume=True'):
        _train(finished)
    with pytest.raises(ValueError, match='already holds a training run'):
        TextGenRNN().train_on_texts(TEXTS, num_epochs=1, gen_epochs=0, verbose=0, checkpoint_dir=finished)
    assert _snapshot(finished) == before

@pytest.mark.parametrize('how', ['train_new_model', 'train_on_texts'])
def test_refused_run_leaves_the_model_as_it_was(finished, how):
    "A run refused because of its checkpoint folder leaves the model as it was (a new model is not swapped in first)."
    t = TextGenRNN()
    fingerprint = t.fingerprint()
    with pytest.raises(ValueError, match='already holds a training run'):
        getattr(t, how)(TEXTS, num_epochs=1, gen_epochs=0, verbose=0, checkpoint_dir=finished)
    assert len(t.vocab) == 464, f'the pretrained vocabulary was replaced by one of {len(t.vocab)} tokens'
    assert t.fingerprint() == fingerprint

def test_finished_run_resumed_trains_nothing(finished, reference, capsys):
    "Resuming a finished run with the same settings trains nothing, writes nothing, gives back its weights and its whole history."
    before = _snapshot(finished)
    t, h = _train(finished, resume=True, verbose=2)
    assert 'nothing left to train' in capsys.readouterr().out
    assert h == reference['history'] and len(h['loss']) == 2
    assert t.fingerprint() == reference['fingerprint']
    assert _snapshot(finished) == before

# ---------- the best model

class _Scripted(keras.callbacks.Callback):
    "Replace each epoch's val_loss by a scripted value (after the real held-out score, before the run records it)."
    def __init__(self, values:dict):
        super().__init__()
        self.values, self.best_at_start = values, {}
    def on_epoch_begin(self, epoch, logs=None):
        best = self.run_folder/'best.weights.h5'
        self.best_at_start[epoch] = best.read_bytes() if best.exists() else None
    def on_epoch_end(self, epoch, logs=None): logs['val_loss'] = self.values[epoch]

def _best(folder):
    "The bytes of the best model and the epoch and val_loss its JSON records."
    return (folder/'best.weights.h5').read_bytes(), read_meta(folder/'best', 'textgenrnn')['trained']

def test_best_model_is_replaced_only_by_a_better_one(tmp_path):
    "best.weights.h5 follows the lowest val_loss: a worse epoch leaves it as it was, a better one replaces it."
    cb = _Scripted({0: 2.0, 1: 3.0, 2: 1.5})
    cb.run_folder = tmp_path/'run'
    t, h = _train(tmp_path/'run', valid_texts=TEXTS[:2], callbacks=[cb], num_epochs=3, checkpoint_every=0)
    assert h['val_loss'] == [2.0, 3.0, 1.5]
    assert cb.best_at_start[1] is not None and cb.best_at_start[2] == cb.best_at_start[1]  # epoch 2 (3.0) did not replace it
    data, trained = _best(tmp_path/'run')
    assert trained == {'epoch': 3, 'val_loss': 1.5} and data != cb.best_at_start[2]
    assert TextGenRNN.load(tmp_path/'run'/'best').fingerprint() == t.fingerprint()

def test_best_model_survives_a_crash_and_a_worse_resumed_epoch(tmp_path, monkeypatch):
    """A run that dies after saving a new best model but before its checkpoint, resumed, keeps that best model when the redone
    epoch scores worse (the best loss is read back from best.model.json, not only from the older checkpoint)."""
    folder = tmp_path/'run'
    real = TrainingRun.save
    def dies_at_epoch_2_end(self, model, epoch, step):
        if epoch == 2 and step == 0: raise RuntimeError('killed before the epoch-2 checkpoint')
        real(self, model, epoch, step)
    monkeypatch.setattr(TrainingRun, 'save', dies_at_epoch_2_end)
    cb = _Scripted({0: 3.0, 1: 2.0})
    cb.run_folder = folder
    with pytest.raises(RuntimeError, match='killed before'):
        _train(folder, valid_texts=TEXTS[:2], callbacks=[cb], checkpoint_every=0)
    monkeypatch.setattr(TrainingRun, 'save', real)
    best = _best(folder)
    assert best[1] == {'epoch': 2, 'val_loss': 2.0} and _latest_state(folder)['best'] == 3.0
    cb = _Scripted({1: 2.5})  # the redone epoch 2 is worse than the best model saved before the crash
    cb.run_folder = folder
    t, h = _train(folder, valid_texts=TEXTS[:2], callbacks=[cb], checkpoint_every=0, resume=True)
    assert h['val_loss'] == [3.0, 2.5]
    assert _best(folder) == best
