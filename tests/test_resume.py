"Kill-and-resume: textgenrnn fine-tuning killed with SIGKILL (mid-epoch, and mid-save) resumes to the uninterrupted result."
import json, os, signal, subprocess, sys, time, textwrap
from pathlib import Path
import numpy as np
import pytest

SCRIPT = textwrap.dedent('''
    import os, sys, time; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import numpy as np, keras
    import textgen_course.textgenrnn as m
    folder = sys.argv[1]
    if os.environ.get('HANG_AT'):  # the HANG_AT-th checkpoint write stalls after writing its temporary file: kill it there
        real, count = m._write_checkpoint, [0]
        def stalls(path, *args):
            count[0] += 1
            real(path, *args)
            if count[0] == int(os.environ['HANG_AT']): time.sleep(600)
        m._write_checkpoint = stalls
    class Slow(keras.callbacks.Callback):  # gives the test time to kill the run mid-epoch; changes nothing else
        def on_train_batch_end(self, batch, logs=None): time.sleep(float(os.environ.get('SLOW', '0')))
    texts = [f'Review {i}: the plot was bad and the acting was worse, number {i}.' for i in range(12)]
    keras.utils.set_random_seed(0)  # the same initial weights in every run
    last = m.latest_checkpoint(folder) if os.path.isdir(folder) else None
    print('START', last[1]['train_state'] if last else None, flush=True)
    t = m.textgenrnn(name='r')
    t.train_new_model(texts, rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8, num_epochs=2, batch_size=16, gen_epochs=0,
                      verbose=0, checkpoint_dir=folder, checkpoint_every=5, resume=True, callbacks=[Slow()])
    np.savez(os.path.join(folder, 'final.npz'), *t.model.get_weights())
    print('DONE', flush=True)
''')

def _env(**kw): return {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **kw}

def _run(tmp, folder, **env):
    r = subprocess.run([sys.executable, str(tmp/'train.py'), str(folder)], capture_output=True, text=True, timeout=240, env=_env(**env))
    assert r.returncode == 0 and 'DONE' in r.stdout, r.stderr[-3000:]
    return r.stdout

def _weights(folder):
    with np.load(Path(folder)/'final.npz') as z: return [z[k] for k in sorted(z.files, key=lambda k: int(k.split('_')[1]))]

def _train_state(folder):
    from textgen_course.textgenrnn import latest_checkpoint
    try: last = latest_checkpoint(folder)
    except (ValueError, OSError): return None  # caught between writes: look again
    return last[1]['train_state'] if last else None

def _kill_when(tmp, folder, ready, **env):
    "Start a run, SIGKILL it as soon as `ready(folder)` holds; return its stdout."
    p = subprocess.Popen([sys.executable, str(tmp/'train.py'), str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env))
    t0 = time.time()
    try:
        while not ready(folder):
            assert p.poll() is None, 'the run ended before it could be killed: ' + p.stderr.read()[-2000:]
            assert time.time() - t0 < 180, 'timed out waiting for a checkpoint'
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
    finally:
        out, _ = p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL and not (Path(folder)/'final.npz').exists()
    return out

@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    "Weights of the run that was never interrupted."
    tmp = tmp_path_factory.mktemp('resume')
    (tmp/'train.py').write_text(SCRIPT, encoding='utf-8')
    _run(tmp, tmp/'whole')
    return tmp, _weights(tmp/'whole')

def test_kill_mid_epoch_then_resume(reference):
    tmp, want = reference
    folder = tmp/'killed'
    mid_epoch = lambda f: (s := _train_state(f)) is not None and s['epoch'] == 0 and s['step'] >= 10
    _kill_when(tmp, folder, mid_epoch, SLOW='0.05')
    out = _run(tmp, folder)
    state = json.loads(out.split('START ', 1)[1].split('\n')[0].replace("'", '"'))
    assert state['epoch'] == 0 and 10 <= state['step'] < state['steps']  # it really resumed mid-epoch
    # the same batches in the same order from the same weights and Adam state: equal up to float summation order
    for a, b in zip(_weights(folder), want): np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

def test_kill_mid_save_keeps_the_previous_checkpoint(reference):
    from textgen_course.textgenrnn import latest_checkpoint, CHECKPOINT_SLOTS
    from textgen_course.modelfiles import read_meta
    tmp, want = reference
    folder = tmp/'killed_saving'
    def saving_third(f):  # two checkpoints complete, the third one's temporary file written
        return (f/'checkpoint-a.model.json').exists() and (f/'checkpoint-b.model.json').exists() and any(p.name.startswith('.tmp-') for p in f.iterdir())
    _kill_when(tmp, folder, saving_third, HANG_AT='3')
    assert any(p.name.startswith('.tmp-') for p in folder.iterdir())  # killed with the third checkpoint half-saved
    path, meta = latest_checkpoint(folder)
    assert meta['train_state']['count'] == 2 and read_meta(path, 'textgenrnn-checkpoint')  # the previous one is whole
    # a kill between the two renames (new weights, old JSON) is caught by the digest; the other slot is then used
    other = folder/next(n for n in CHECKPOINT_SLOTS if n != path.name)
    path.write_bytes(other.read_bytes())
    assert latest_checkpoint(folder)[1]['train_state']['count'] == 1
    _run(tmp, folder)
    for a, b in zip(_weights(folder), want): np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
