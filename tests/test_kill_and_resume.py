"""Every real kind the course trains (char-RNN, word model, GPT, textgenrnn), killed with SIGKILL in a subprocess at an epoch
boundary and mid-epoch, then resumed: the resumed run equals the uninterrupted one, early stopping included (its counter, best
value and best weights are in the checkpoint) and the interrupted epoch's running loss and accuracy too."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest

SCRIPT = textwrap.dedent('''
    import collections, json, os, signal, sys
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import numpy as np, keras
    from textgen_course.corpus import clean_review, split_text
    from textgen_course.samples import sample_reviews, sample_text
    kind, folder, kill = sys.argv[1], sys.argv[2], sys.argv[3]  # kill: 'none', 'epoch:E' (at its start) or 'batch:E:B' (after it)

    class Kill(keras.callbacks.Callback):  # runs before the course's recorder: the batch it kills after is not checkpointed
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if kill == f'epoch:{epoch}': os.kill(os.getpid(), signal.SIGKILL)
        def on_train_batch_end(self, batch, logs=None):
            if kill == f'batch:{self.epoch}:{batch}': os.kill(os.getpid(), signal.SIGKILL)

    rng = np.random.default_rng(0)
    shuffled = lambda t: ''.join(rng.permutation(list(t)))  # held-out text with no structure: its loss soon rises (early stop)
    run = dict(checkpoint_dir=folder, resume=True, checkpoint_every=2, callbacks=[Kill()], verbose=0)
    if kind == 'textgenrnn':
        from textgen_course.textgenrnn import TextGenRNN
        docs = [clean_review(r.text) for r in sample_reviews(4)][:24]
        keras.utils.set_random_seed(0)
        m = TextGenRNN(name='t')
        rare = [c for c, _ in collections.Counter(''.join(docs)).most_common()[-12:]]  # the rarer, the worse they fare
        valid = [''.join(rng.choice(rare, 60)) for _ in range(4)]
        h = m.train_new_model(docs, valid_texts=valid, rnn_size=16, rnn_layers=1, max_length=10, dim_embeddings=8, num_epochs=6,
                              batch_size=32, steps_per_epoch=8, learning_rate=1e-2, gen_epochs=0, patience=2, **run)
        weights = m.model.get_weights()
    else:
        from textgen_course.charrnn import CharRNN
        from textgen_course.gpt import GPT
        if kind == 'word':
            train = [clean_review(r.text) for r in sample_reviews(4)][:40]
            counts = collections.Counter(' '.join(train).split())
            rare = sorted(w for w, c in counts.items() if c == 2 and w.isalpha() and w.islower())  # the rarer, the worse they fare
            valid = [' '.join(rng.permutation(rare)[:30]) for _ in range(4)]
        else: train, valid = split_text(sample_text(2), 0.1)[0], shuffled(sample_text(2)[:400])
        if kind == 'gpt': m = GPT.new(train, n_layer=1, n_head=2, n_embd=16, seq_len=16, dropout=0.1, seed=0)
        else: m = CharRNN.new(train, level='word' if kind == 'word' else 'char', units=16, emb_dim=8, seq_len=12, dropout=0.1, seed=0)
        h = m.fit(train, valid, epochs=6, batch_size=8, lr=1e-2, patience=2, sample_every=0, **run)
        weights = m.model.get_weights()
    np.savez(os.path.join(folder, 'final.npz'), *weights)
    print('RESULT' + json.dumps(h), flush=True)
''')

KINDS = ['char', 'word', 'gpt', 'textgenrnn']

def _run(tmp, kind, folder, kill='none'):
    "Run the script; a killed run returns None, a finished one its history and final weights."
    r = subprocess.run([sys.executable, str(tmp/'run.py'), kind, str(folder), kill], capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
    if kill != 'none':
        assert r.returncode == -9, f'not killed at {kill}: ' + r.stderr[-2000:]  # SIGKILL
        return None
    assert r.returncode == 0 and 'RESULT' in r.stdout, r.stderr[-3000:]
    with np.load(Path(folder)/'final.npz') as f: weights = [f[k] for k in sorted(f.files, key=lambda k: int(k.split('_')[1]))]
    return json.loads(r.stdout.split('RESULT', 1)[1]), weights

@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    "Each kind's uninterrupted run (in a subprocess too), with early stopping on."
    tmp = tmp_path_factory.mktemp('kill')
    (tmp/'run.py').write_text(SCRIPT, encoding='utf-8')
    return tmp, {}

def _straight(straight, kind):
    tmp, done = straight
    if kind not in done: done[kind] = _run(tmp, kind, tmp/f'{kind}-straight')
    return done[kind]

@pytest.mark.parametrize('kill', ['epoch:2', 'batch:1:3'])
@pytest.mark.parametrize('kind', KINDS)
def test_killed_and_resumed_equals_the_uninterrupted_run(straight, kind, kill):
    "Killed at the start of epoch 3, or after batch 4 of epoch 2 (checkpoint after batch 2): resuming gives the same history and weights."
    tmp = straight[0]
    history, weights = _straight(straight, kind)
    assert len(history['loss']) < 6, f'{kind}: early stopping did not stop the run, so it is not tested'
    assert 'accuracy' in history or kind == 'textgenrnn'  # a metric besides the loss: its running mean must survive the kill
    folder = tmp/f'{kind}-{kill.replace(":", "-")}'
    _run(tmp, kind, folder, kill)
    resumed, got = _run(tmp, kind, folder)
    assert set(resumed) == set(history)
    for k in history: np.testing.assert_allclose(resumed[k], history[k], rtol=1e-5, err_msg=f'{kind} {k}')
    for a, b in zip(got, weights, strict=True): np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
