"Tests of textgen_course.textgenrnn: equivalence with the original textgenrnn (fixture), sampling, training, save/load, bad input."
import json, math, os, re, subprocess, sys, textwrap
import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
from textgen_course.textgenrnn import (TextGenRNN, textgenrnn, encode_texts, target_windows, chunk_windows, load_vocab,
                                       textgenrnn_files, convert_cudnn_lstm, reference_file, META_TOKEN)
from textgen_course.training import window_dataset
from textgen_course.checks import CorpusError
from textgen_course.modelfiles import ModelFileError, vocab_digest

TEXTS = ['This movie was terrible and the acting was worse.', 'I want my money back, every cent of it.',
         'The plot makes no sense at all.', 'Avoid at all costs.', 'One star, because zero is not an option.',
         'The dog was the best actor in the film.']
TINY = dict(rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8)  # a new model that builds and trains in seconds
QUIET = dict(gen_epochs=0, verbose=0)

@pytest.fixture(scope='module')
def ref(): return np.load(reference_file())

@pytest.fixture(scope='module')
def tg():
    "The pretrained model, shared: tests that train or change a model make their own."
    return TextGenRNN()

def _windows(vocab, text, w=40):
    "By hand: the `w` ids before every next token of `<s>` + text + `<s>` (left-padded with 0), and those next tokens."
    ids = [vocab[META_TOKEN]] + [vocab[c] for c in text] + [vocab[META_TOKEN]]
    ctx = [ids[max(0, j - w):j] for j in range(1, len(ids))]
    return np.array([[0] * (w - len(c)) + c for c in ctx], np.int32), np.array(ids[1:])

def _state(t):
    "What a failed call must leave as it was: the vocabulary (size and digest), the config and the weights."
    return dict(vocab_size=len(t.vocab), vocab=vocab_digest(t.vocab), config=dict(t.config), fingerprint=t.fingerprint())

# ---------- the same numbers as the original textgenrnn

def test_probs_match_original(tg, ref):
    "The converted pretrained model gives the original textgenrnn's next-character probabilities."
    np.testing.assert_allclose(tg.predict_proba(ref['inputs']), ref['probs'], atol=1e-5, rtol=0)

def test_encoding_matches_original(tg, ref):
    "Prefixes are encoded into the same 40-id windows as the original."
    got = np.stack([tg.encode_prefix(str(p), unknown='pad')[0] for p in ref['prefixes']])
    np.testing.assert_array_equal(got, ref['inputs'])
    assert json.loads(str(ref['contexts_json']))[0] == [META_TOKEN]

def test_attention_vectors_match_original(tg, ref):
    "The attention layer's output equals the original's."
    import keras
    att = keras.Model(tg.model.inputs, tg.model.get_layer('attention').output)(ref['inputs'])
    np.testing.assert_allclose(np.asarray(att), ref['attention'], atol=1e-5, rtol=0)

def test_greedy_generation_matches_original(tg, ref):
    "Greedy texts equal the original's, prefix by prefix."
    assert len(ref['gen_prefixes']) > 1
    for p, want in zip(ref['gen_prefixes'], ref['gen_texts'], strict=True):
        p = str(p)
        got = tg.generate(1, return_as_list=True, prefix=p or None, temperature=0, max_gen_length=int(ref['gen_max_length']) - 1 - len(p))
        assert got == [str(want)]

def test_staggered_equals_window_step(tg):
    "The staggered sampler state and the plain window step give the same next-token probabilities along a text."
    import tensorflow as tf
    logits, state, _ = tg._start('I hated', 2)
    window = tf.constant(np.repeat(tg.encode_prefix('I hated')[0][None], 2, 0))
    for c in 'this movie':
        ids = tf.constant([tg.vocab[c]] * 2, tf.int32)
        logits, state = tg._step(state, ids)
        window = tf.concat([window[:, 1:], ids[:, None]], 1)
        np.testing.assert_allclose(np.exp(logits.numpy()), tg.predict_proba(window) + 1e-7, atol=1e-5)

def test_xla_step_matches_plain_step(tg):
    "The XLA-compiled sampler step computes the same next-token probabilities as the plain one."
    import tensorflow as tf
    logits, state, _ = tg._start('I hated', 3)
    xla_step = tf.function(tg._step, jit_compile=True)
    for c in 'this':
        ids = tf.constant([tg.vocab[c]] * 3, tf.int32)
        (logits, state), (xla_logits, _) = tg._step(state, ids), xla_step(state, ids)
        np.testing.assert_allclose(np.exp(xla_logits.numpy()), np.exp(logits.numpy()), atol=1e-5)

# ---------- CuDNN weights

def _cudnn_step(k, rk, b, x, h, c, order=(0, 1, 2, 3)):
    """One LSTM step computed straight from CuDNNLSTM weights, the way cuDNN reads them: gate blocks i, f, c, o; each gate's
    input matrix W (units, input) is its kernel block's values read row-major, R likewise; the input and recurrent biases add up.
    `order` picks which block feeds which gate (a wrong order must give other numbers)."""
    u = rk.shape[0]
    sig = lambda z: 1 / (1 + np.exp(-z))
    z = []
    for g in order:
        W, R = k[:, g * u:(g + 1) * u].reshape(u, -1), rk[:, g * u:(g + 1) * u].reshape(u, u)
        z.append(x @ W.T + h @ R.T + b[g * u:(g + 1) * u] + b[(4 + g) * u:(5 + g) * u])
    i, f, cand, o = sig(z[0]), sig(z[1]), np.tanh(z[2]), sig(z[3])
    c = f * c + i * cand
    return o * np.tanh(c), c

def _keras_step(weights, x, h, c):
    "One step of a Keras LSTM (textgenrnn's: sigmoid recurrent activation) with these weights, from state (h, c)."
    import keras
    lstm = keras.layers.LSTM(h.shape[1], recurrent_activation='sigmoid', return_state=True)
    lstm.build((None, 1, x.shape[1]))
    lstm.set_weights(weights)
    _, h2, c2 = lstm(x[:, None, :].astype('float32'), initial_state=[h.astype('float32'), c.astype('float32')])
    return np.asarray(h2), np.asarray(c2)

def test_cudnn_conversion_reorders_the_gates():
    """Converted CuDNN weights in a Keras LSTM compute the step cuDNN computes (checked by hand in numpy); the check is sensitive:
    a wrong gate order, or the kernel left in its CuDNN layout, gives other numbers."""
    rng = np.random.default_rng(0)
    d, u = 5, 3  # input size != units, so a layout mix-up cannot hide in a square matrix
    k, rk, b = rng.normal(size=(d, 4 * u)), rng.normal(size=(u, 4 * u)), rng.normal(size=8 * u)
    x, h, c = rng.normal(size=(2, d)), rng.normal(size=(2, u)), rng.normal(size=(2, u))
    want_h, want_c = _cudnn_step(k, rk, b, x, h, c)
    got_h, got_c = _keras_step(convert_cudnn_lstm(k, rk, b), x, h, c)
    np.testing.assert_allclose(got_h, want_h, atol=1e-5)
    np.testing.assert_allclose(got_c, want_c, atol=1e-5)
    wrong_h, _ = _cudnn_step(k, rk, b, x, h, c, order=(0, 2, 1, 3))  # forget and candidate blocks swapped
    assert np.abs(wrong_h - got_h).max() > 1e-2
    naive_h, _ = _keras_step([k, rk, b[:4 * u] + b[4 * u:]], x, h, c)  # no layout conversion at all
    assert np.abs(naive_h - want_h).max() > 1e-2
    with pytest.raises(ValueError, match='CuDNN bias'): convert_cudnn_lstm(k, rk, b[:4 * u])

def _to_cudnn(k, rk, b):
    "Inverse of convert_cudnn_lstm: Keras LSTM weights in the CuDNNLSTM layout textgenrnn saved (bias split in two halves)."
    blocks = lambda a: np.hsplit(a, 4)
    ck = np.hstack([kb.reshape(kb.shape[::-1], order='F').T for kb in blocks(k)])
    crk = np.hstack([rb.T for rb in blocks(rk)])
    return [ck, crk, np.concatenate([b - 0.25, np.full_like(b, 0.25)])]

def test_bidirectional_cudnn_weights_are_converted(tmp_path):
    "A Keras-2 HDF5 file with a Bidirectional(CuDNNLSTM) layer loads into an equal model (forward and backward converted)."
    import h5py, keras
    from textgen_course.textgenrnn import _Layers, DEFAULT_CONFIG, load_textgenrnn_weights
    cfg = {**DEFAULT_CONFIG, 'rnn_layers': 2, 'rnn_size': 4, 'dim_embeddings': 5, 'max_length': 6, 'rnn_bidirectional': True}
    keras.utils.set_random_seed(0)
    ref = _Layers(9, cfg).window_model()
    for l in ref.layers:  # non-zero biases, so a bias mix-up shows
        if l.weights: l.set_weights([w + np.random.default_rng(1).normal(size=w.shape).astype('float32') * 0.3 for w in l.get_weights()])
    path = tmp_path/'bi.hdf5'
    with h5py.File(path, 'w') as f:
        layers = [l for l in ref.layers if l.weights]
        f.attrs['layer_names'] = [l.name.encode() for l in layers]
        for l in layers:
            w = l.get_weights()
            g = f.create_group(l.name)
            if isinstance(l, keras.layers.Bidirectional):
                assert len(w) == 6
                w = _to_cudnn(*w[:3]) + _to_cudnn(*w[3:])
                names = [f'{l.name}/{d}_cu_dnnlstm_{l.name}/{n}:0' for d in ('forward', 'backward') for n in ('kernel', 'recurrent_kernel', 'bias')]
            else: names = [f'{l.name}/w{i}:0' for i in range(len(w))]
            g.attrs['weight_names'] = [n.encode() for n in names]
            for n, a in zip(names, w, strict=True): g.create_dataset(n, data=a)
    keras.utils.set_random_seed(5)
    got = load_textgenrnn_weights(_Layers(9, cfg).window_model(), path)
    x = np.random.default_rng(2).integers(0, 9, (3, 6)).astype('int32')
    np.testing.assert_allclose(np.asarray(got(x)), np.asarray(ref(x)), atol=1e-5)
    for a, b in zip(got.get_weights(), ref.get_weights(), strict=True): np.testing.assert_allclose(a, b, atol=1e-6)

# ---------- sampling

def test_max_gen_length_counts_new_tokens(tg):
    "max_gen_length is the number of new characters, the prefix not counted: a greedy text that never ends gets exactly that many."
    for n_new in (1, 40):
        (text,) = tg.generate(1, return_as_list=True, prefix='The movie', temperature=0, max_gen_length=n_new)
        assert text.startswith('The movie') and len(text) == len('The movie') + n_new
    (text,) = tg.generate(1, return_as_list=True, temperature=0, max_gen_length=40)
    assert len(text) == 40

def test_sampling_options(tg):
    "Seeded samples repeat; a longer max_gen_length only continues the texts that had not ended (the draws are the same)."
    kw = dict(return_as_list=True, seed=5, top_k=10, top_p=0.9)
    a = tg.generate(3, max_gen_length=40, **kw)
    assert a == tg.generate(3, max_gen_length=40, **kw) and len(a) == 3
    assert a != tg.generate(3, max_gen_length=40, **{**kw, 'seed': 6})
    longer = tg.generate(3, max_gen_length=60, **kw)
    for short, long in zip(a, longer, strict=True):
        assert len(short) <= 40 and long.startswith(short)
        if len(short) < 40: assert long == short  # it drew the end token
    s = tg.generate_samples(1, temperatures=[0.2, 1.0], return_as_list=True, max_gen_length=20, seed=0)
    assert set(s) == {0.2, 1.0} and all(len(v) == 1 for v in s.values())

def test_long_prefix_uses_last_40_chars(tg):
    "A prefix longer than the window is read through its last 40 characters, and kept whole in the output."
    long = 'z' * 50 + 'The worst movie I have ever seen, so far.'
    assert tg.encode_prefix(long)[0].tolist() == tg.encode_prefix(long[-41:])[0].tolist()
    assert tg.generate(1, return_as_list=True, prefix=long, max_gen_length=5, seed=0)[0].startswith(long)

def test_bad_generation_input(tg):
    "Bad sampling arguments raise with the argument named; a prefix character outside the vocabulary is named."
    with pytest.raises(ValueError, match='>= 0'): tg.generate(temperature=-0.5)
    with pytest.raises(ValueError, match='finite'): tg.generate(temperature=float('nan'))
    with pytest.raises(ValueError, match='^n must be an integer from 1'): tg.generate(0)
    with pytest.raises(ValueError, match='^max_gen_length must be'): tg.generate(1, max_gen_length=0)
    with pytest.raises(ValueError, match="'😂'"): tg.generate(1, prefix='good 😂')
    t = TextGenRNN(unknown_prefix='drop')
    assert t.encode_prefix('ab😂')[0].tolist() == t.encode_prefix('ab')[0].tolist()

# ---------- data

def test_unknown_training_chars_reported(tg):
    "Characters outside the vocabulary are counted and reported; unknown='error' refuses them."
    with pytest.warns(UserWarning, match="'😂'×2"): docs, bad = encode_texts(['a 😂 b 😂'], tg.vocab)
    assert bad == {'😂': 2}
    with pytest.raises(ValueError, match='not in the vocabulary'): encode_texts(['😂'], tg.vocab, unknown='error')

def test_windows_frame_documents(tg):
    "One window per predicted token, each the 40 ids before it with zeros before the document; all_positions with chunk_len 1 = the same windows."
    docs = encode_texts(['abc', 'de'], tg.vocab)[0]
    stream, starts = target_windows(docs, 40)
    win = stream[starts[:, None] + np.arange(41)]
    want = np.concatenate([_windows(tg.vocab, 'abc')[0], _windows(tg.vocab, 'de')[0]])
    targets = np.concatenate([_windows(tg.vocab, 'abc')[1], _windows(tg.vocab, 'de')[1]])
    np.testing.assert_array_equal(win[:, :40], want)
    np.testing.assert_array_equal(win[:, 40], targets)
    assert len(win) == 7 and win[4, :40].tolist() == [0] * 39 + [tg.vocab[META_TOKEN]] and win[4, 40] == tg.vocab['d']
    s1, first1, _ = chunk_windows(docs, 40, 1)
    np.testing.assert_array_equal(s1, stream)
    np.testing.assert_array_equal(first1, starts)
    s40, first40, weights = chunk_windows(docs, 40, 40)  # one window per document, its 40 positions all trained
    assert len(first40) == 2
    (x, wx), = list(window_dataset(s40, 41, first40, 8, shuffle=False, weights=weights))
    assert float(wx.numpy()[:, 1:].sum()) == 7  # every predicted token once, the padding never

# ---------- evaluate

def test_evaluate_is_the_mean_next_character_loss(tg):
    "evaluate's loss is the mean -log p of every next character (the closing <s> not predicted), each from its own 40-id window."
    texts = TEXTS[:2]  # the first is longer than 40 characters, so its windows slide
    nll = []
    for t in texts:
        win, y = _windows(tg.vocab, t)
        nll.append(-np.log(tg.predict_proba(win)[np.arange(len(y)), y])[:-1])  # the last window predicts the closing <s>
    nll = np.concatenate(nll)
    r = tg.evaluate(texts)
    assert r['tokens'] == len(nll) == len(texts[0]) + len(texts[1]) == r['chars']
    assert r['loss'] == pytest.approx(nll.mean(), rel=1e-5)
    assert r['bpc'] == pytest.approx(nll.sum() / math.log(2) / r['chars'], rel=1e-5)
    assert r['perplexity'] == pytest.approx(np.exp(nll.mean()), rel=1e-5)
    assert tg.evaluate(texts[0]) == tg.evaluate([texts[0]])  # one text, or a list of one

def test_token_logprobs_reads_the_same_windows(tg):
    "token_logprobs gives, at each character of a text, the log-probability the 40-id window before it gives."
    text = TEXTS[0]
    win, y = _windows(tg.vocab, text)
    want = np.log(tg.predict_proba(win)[np.arange(len(y)), y])[:-1]  # the closing <s> is not a character of the text
    lp = tg.token_logprobs(text)
    assert lp.tokens == list(text) and lp.known.all()
    np.testing.assert_allclose(lp.target_logp, want, atol=1e-5)

# ---------- training

@pytest.mark.parametrize('mode', ['original', 'all_positions'])
def test_finetune_lowers_loss_and_round_trips(tmp_path, mode):
    "A short fine-tuning fits its texts better; save then load (class method, or the constructor) gives the same model."
    t = TextGenRNN(name='t')
    before = t.evaluate(TEXTS[:4])['loss']
    h = t.train_on_texts(TEXTS[:4] * 3, valid_texts=TEXTS[:4], num_epochs=1, batch_size=64, mode=mode, **QUIET)
    assert isinstance(h, dict) and len(h['loss']) == 1 and h['val_loss'][0] < before
    files = t.save(tmp_path/'m')
    assert files['weights'] == tmp_path/'m.weights.h5' and files['meta'] == tmp_path/'m.model.json'
    w = np.stack([t.encode_prefix('The plot')[0]])
    for u in (TextGenRNN.load(tmp_path/'m'), TextGenRNN(files['weights'])):
        assert type(u) is TextGenRNN and u.fingerprint() == t.fingerprint()
        np.testing.assert_array_equal(u.predict_proba(w), t.predict_proba(w))
    assert TextGenRNN.load(files['weights']).name == 't'  # the saved name comes back with load
    with pytest.raises(AttributeError, match=r'TextGenRNN\.load\(path\)'): t.load(tmp_path/'m')

def test_all_positions_loss_is_the_per_character_loss(tg):
    """all_positions logs the true mean loss per predicted character (the closing <s> of each text included, as training predicts
    it): with the learning rate ~0 it equals the mean -log p over every 40-id window of the texts (chunk_len 1: the same
    windows; chunk_len 10: shorter LSTM runs, within 2%)."""
    nll = np.concatenate([-np.log(tg.predict_proba(w)[np.arange(len(y)), y]) for w, y in (_windows(tg.vocab, t) for t in TEXTS)])
    for chunk_len, tol in ((1, 1e-4), (10, 0.02)):
        h = TextGenRNN().train_on_texts(TEXTS, mode='all_positions', chunk_len=chunk_len, learning_rate=1e-9, num_epochs=1,
                                        batch_size=64, **QUIET)
        assert h['loss'][0] == pytest.approx(nll.mean(), rel=tol), (chunk_len, h)

def _changes_nothing(monkeypatch, how, bad, msg):
    "Call `how` with one bad argument: it must raise, naming it, before training starts and with the model as it was."
    import textgen_course.textgenrnn as m
    def no_training(*args, **kw): raise AssertionError(f'training started despite the bad argument {bad}')
    monkeypatch.setattr(m, 'fit_run', no_training)  # found out only during (or after) training is too late
    t = TextGenRNN()
    before = _state(t)
    assert before['vocab_size'] == 464
    with pytest.raises((ValueError, TypeError), match=msg):
        getattr(t, how)(TEXTS, **{'num_epochs': 1, 'steps_per_epoch': 1, **QUIET, **bad})
    assert _state(t) == before

BAD = [(dict(num_epochs=0), '^num_epochs must be'), (dict(batch_size=0), '^batch_size must be'),
       (dict(mode='fast'), '^mode must be one of'), (dict(train_size=0.0), '^train_size must be'),
       (dict(train_size=1.5), '^train_size must be'), (dict(save_epochs=1), 'save_epochs needs a checkpoint_dir'),
       (dict(checkpoint_every=2), 'need a checkpoint_dir'), (dict(resume=True), 'need a checkpoint_dir')]
MORE_BAD = [(dict(unknown='bogus'), '^unknown must be'), (dict(mode='all_positions', chunk_len=0), '^chunk_len must be'),
            (dict(dropout=1.5), '^dropout must be'), (dict(gen_epochs=1, max_gen_length=0), '^max_gen_length must be'),
            (dict(gen_epochs=1, gen_n=0), '^gen_n must be'), (dict(gen_epochs=-1), '^gen_epochs must be'),
            (dict(steps_per_epoch=-1), '^steps_per_epoch must be'), (dict(learning_rate=-1.0), '^learning_rate must be')]
_ids = lambda cases: ['-'.join(f'{k}={v}' for k, v in bad.items()) for bad, _ in cases]

@pytest.mark.parametrize('how', ['train_new_model', 'train_on_texts'])
@pytest.mark.parametrize('bad,msg', BAD, ids=_ids(BAD))
def test_bad_training_argument_changes_nothing(monkeypatch, how, bad, msg):
    "A bad argument of train_new_model / train_on_texts raises before anything changes: the pretrained vocabulary and weights stay."
    _changes_nothing(monkeypatch, how, bad, msg)

@pytest.mark.parametrize('how', ['train_new_model', 'train_on_texts'])
@pytest.mark.parametrize('bad,msg', MORE_BAD, ids=_ids(MORE_BAD))
def test_more_bad_training_arguments_change_nothing(monkeypatch, how, bad, msg):
    """The other arguments too: each is checked (the message names it) before the model is replaced or trained; none is found
    out only after an epoch of training (end-of-epoch samples) or silently accepted (a negative learning rate or step count)."""
    _changes_nothing(monkeypatch, how, bad, msg)

def test_bad_training_input(tmp_path, tg):
    "Empty corpora and files with no text are refused with the reason."
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts([], num_epochs=1)
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts(['', ' '], num_epochs=1)
    empty = tmp_path/'empty.txt'
    empty.write_text('')
    with pytest.raises(CorpusError, match='empty'): tg.train_from_file(empty)
    header_only = tmp_path/'h.txt'
    header_only.write_text('header\n')
    with pytest.raises(CorpusError, match='no non-empty texts'): tg.train_from_file(header_only)

def test_no_checkpoint_dir_writes_nothing(tmp_path, monkeypatch):
    "Without a checkpoint_dir nothing is written anywhere: save_epochs is refused, and a run (held-out scores, samples) leaves the cwd empty."
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match='save_epochs needs a checkpoint_dir'):
        TextGenRNN(name='n').train_new_model(TEXTS, num_epochs=1, save_epochs=1, **TINY, **QUIET)
    assert list(tmp_path.iterdir()) == []
    t = textgenrnn(name='n')
    h = t.train_new_model(TEXTS, num_epochs=2, valid_texts=TEXTS[:2], gen_epochs=1, gen_n=1, max_gen_length=5, verbose=0, **TINY)
    assert len(h['val_loss']) == 2
    assert list(tmp_path.iterdir()) == []

def test_new_models_char_and_word():
    "New models: word-level (words joined by spaces after the prefix) and bidirectional (sampled with the plain window step)."
    t = textgenrnn(name='w')
    t.train_new_model(TEXTS, num_epochs=1, word_level=True, rnn_size=16, rnn_layers=1, max_length=10, **QUIET)
    assert t.config['word_level']
    out = t.generate(4, return_as_list=True, prefix='the movie', max_gen_length=5, seed=0, temperature=1.0)
    new_words = [o.split(' ')[2:] for o in out]  # after the prefix's two words: the generated tokens, one space between each
    assert all(o.split(' ')[:2] == ['the', 'movie'] for o in out) and any(new_words)
    assert all(1 <= len(w) <= 5 and all(x in t.vocab for x in w) for w in new_words if w), out  # vocabulary words, at most 5
    b = textgenrnn(name='b')
    b.train_new_model(TEXTS, num_epochs=1, rnn_layers=1, rnn_size=16, rnn_bidirectional=True, max_length=12, **QUIET)
    assert b._staggered is None and len(b.generate(2, return_as_list=True, max_gen_length=10, seed=0)) == 2

def test_mirrored_strategy_two_cpus():
    """MirroredStrategy on two logical CPUs (a subprocess: devices are set before TF starts) keeps the pretrained weights through
    the rebuild and trains like one device: same loss, same weights (tolerances: float sums in another order, a few Adam steps)."""
    code = textwrap.dedent('''
        import json, os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
        import numpy as np, tensorflow as tf, keras
        cpu = tf.config.list_physical_devices('CPU')[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from textgen_course.textgenrnn import TextGenRNN
        s = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        assert s.num_replicas_in_sync == 2
        texts = ['The plot makes no sense.', 'Avoid at all costs.', 'I want my money back.', 'Worst film of the year.'] * 2
        w = np.stack([TextGenRNN().encode_prefix(p)[0] for p in ('The plot', 'Avoid', '')])
        class AtStart(keras.callbacks.Callback):  # runs after the rebuild under the strategy, before the first step
            def __init__(self, tg):
                super().__init__()
                self.tg = tg
            def on_train_begin(self, logs=None): self.probs = self.tg.predict_proba(w)
        out = {}
        for name, strategy in [('one', None), ('mirrored', s)]:
            t = TextGenRNN()
            before, cb, w0 = t.predict_proba(w), AtStart(t), t.model.get_weights()
            h = t.train_on_texts(texts, valid_texts=['Never again.'], num_epochs=1, batch_size=64, strategy=strategy, gen_epochs=0,
                                 verbose=0, steps_per_epoch=3, callbacks=[cb], seed=1)
            out[name] = dict(start_diff=float(np.abs(cb.probs - before).max()), loss=h['loss'][-1], val_loss=h['val_loss'][-1],
                             weights=[a.tolist() for a in t.model.get_weights()],
                             moved=max(float(np.abs(a - b).max()) for a, b in zip(t.model.get_weights(), w0, strict=True)),
                             gen=len(t.generate(2, return_as_list=True, max_gen_length=10, seed=0)))
        print('RESULT' + json.dumps(out))
    ''')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'RESULT' in r.stdout, r.stderr[-3000:]
    out = json.loads(r.stdout.split('RESULT', 1)[1])
    one, mir = out['one'], out['mirrored']
    assert mir['start_diff'] < 1e-6  # the rebuilt model starts from the pretrained weights, not from random ones
    assert np.isfinite(mir['loss']) and np.isfinite(mir['val_loss']) and mir['gen'] == 2
    # the same three batches, the gradient summed over two replicas instead of one: equal up to float rounding
    assert abs(mir['loss'] - one['loss']) < 1e-4 * abs(one['loss']) + 1e-5, (mir['loss'], one['loss'])
    assert abs(mir['val_loss'] - one['val_loss']) < 1e-3, (mir['val_loss'], one['val_loss'])
    # Adam moves each weight by at most ~lr (4e-3) per step; 3 steps that disagree only by rounding stay well within 1e-3
    for a, b in zip(mir['weights'], one['weights'], strict=True): np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-3, rtol=0)
    assert mir['moved'] > 1e-3 and one['moved'] > 1e-3  # both really trained (so equal weights are not equal by standing still)

def test_single_text_and_config_on_a_trained_model_are_refused(tmp_path):
    "textgenrnn's single_text (one long text) is not implemented: say so instead of ignoring it; config keys need new_model."
    with pytest.raises(ValueError, match='single_text=True'): textgenrnn().train_new_model(TEXTS, single_text=True, rnn_size=8, num_epochs=1)
    cfg = tmp_path/'c_config.json'
    cfg.write_text(json.dumps({'single_text': True}), encoding='utf-8')
    with pytest.raises(ValueError, match='single_text=True'): TextGenRNN(config_path=cfg)
    with pytest.raises(ValueError, match='only applies to a new model'): TextGenRNN().train_on_texts(TEXTS, rnn_size=8, num_epochs=1)

def test_encode_text_vectors_as_textgenrnn(tg):
    "textgenrnn embeds pad_sequences([[<s>] + tokens[:40]], 40): pre-padded, pre-truncated (a 40+ token text loses its <s>)."
    import keras
    texts = ['hello', 'The worst movie I have ever seen in my whole life, and I have seen many.', 'x' * 39, 'ab😂c']
    seqs = [[tg.vocab.get(c, 0) for c in [META_TOKEN] + list(t[:40])] for t in texts]  # textgenrnn_encode_sequence
    x = keras.utils.pad_sequences(seqs, maxlen=40)  # Keras defaults: padding='pre', truncating='pre'
    assert x[2][0] == tg.vocab[META_TOKEN] and x[1][0] == tg.vocab['T']
    att = keras.Model(tg.model.input, tg.model.get_layer('attention').output)
    np.testing.assert_allclose(tg.encode_text_vectors(texts, pca_dims=None), np.asarray(att(x)), atol=1e-5)

def test_train_new_model_save_epochs_writes_a_loadable_model_into_checkpoint_dir(tmp_path, monkeypatch):
    "save_epochs writes `name.weights.h5` + `name.model.json` into checkpoint_dir (not the cwd), loadable as the same model."
    monkeypatch.chdir(tmp_path)
    t = textgenrnn(name='new')
    t.train_new_model(TEXTS, num_epochs=1, save_epochs=1, checkpoint_dir=tmp_path/'out', **TINY, **QUIET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out']
    assert {'new.weights.h5', 'new.model.json'} <= {p.name for p in (tmp_path/'out').iterdir()}
    u = TextGenRNN.load(tmp_path/'out'/'new')
    assert u.vocab == t.vocab and u.config == t.config and u.fingerprint() == t.fingerprint()

def test_train_size_split_keeps_validation_documents_out_of_training(monkeypatch):
    "With train_size < 1, the held-out documents are scored every epoch and never encoded for training."
    import textgen_course.textgenrnn as m
    seen, real, read = {}, m.encode_texts, m.TextGenRNN._windows
    def spy(texts, vocab, word_level=False, unknown='drop', what='texts'):
        seen.setdefault(what, []).extend(texts)
        return real(texts, vocab, word_level, unknown, what)
    def scored(self, text):  # the held-out score reads each text's windows
        seen.setdefault('held-out texts', []).append(text)
        return read(self, text)
    monkeypatch.setattr(m, 'encode_texts', spy)
    monkeypatch.setattr(m.TextGenRNN, '_windows', scored)
    docs = [f'Review number {i}: bad.' for i in range(10)]
    h = TextGenRNN().train_on_texts(docs, train_size=0.7, num_epochs=1, batch_size=64, steps_per_epoch=2, **QUIET)
    train, held = set(seen['training texts']), set(seen['held-out texts'])
    assert len(train) == 7 and len(held) == 3 and not train & held and train | held == set(docs)
    assert len(h['val_loss']) == 1

def test_reset_goes_back_to_the_pretrained_model(tg):
    "reset() puts back the pretrained vocabulary, config and weights."
    t = textgenrnn(name='r')
    t.train_new_model(TEXTS, num_epochs=1, **TINY, **QUIET)
    t.reset()
    assert t.vocab == tg.vocab and t.config == tg.config and t.name == 'r'
    assert t.fingerprint() == tg.fingerprint()

# ---------- files

def test_load_errors(tmp_path):
    "Damaged, missing or ill-fitting model files raise errors that say what is wrong."
    t = TextGenRNN(name='x')
    files = t.save(tmp_path/'x')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.model.json', 'x.weights.h5']
    other = tmp_path/'other_vocab.json'
    other.write_text(json.dumps({'a': 1, 'b': 2, META_TOKEN: 3}))
    with pytest.raises(ModelFileError, match='other_vocab.json: not the vocabulary x.model.json was saved with'):
        TextGenRNN(files['weights'], vocab_path=other)
    alone = tmp_path/'alone.weights.h5'
    alone.write_bytes(files['weights'].read_bytes())
    with pytest.raises(ModelFileError, match='alone.weights.h5: these weights do not fit'): TextGenRNN(alone, vocab_path=other)
    cut = tmp_path/'cut.weights.h5'
    cut.write_bytes(files['weights'].read_bytes()[:4000])
    with pytest.raises(ModelFileError, match='cut.weights.h5: .*truncated'): TextGenRNN(cut)
    (tmp_path/'cut.model.json').write_bytes(files['meta'].read_bytes())
    with pytest.raises(ModelFileError, match='cut.weights.h5: 4,000 bytes'): TextGenRNN.load(cut)
    files['weights'].write_bytes(b'')
    with pytest.raises(ModelFileError, match=r'x.weights.h5: the weights file is empty \(0 bytes\)'): TextGenRNN.load(tmp_path/'x')
    with pytest.raises(FileNotFoundError, match='no such weights file'): TextGenRNN(tmp_path/'none.weights.h5')
    with pytest.raises(FileNotFoundError, match='no such weights file'): TextGenRNN.load(tmp_path/'none')
    cut_h5 = tmp_path/'cut.hdf5'
    cut_h5.write_bytes(textgenrnn_files()['weights'].read_bytes()[:10000])
    with pytest.raises(ModelFileError, match='cut.hdf5: .*truncated'): TextGenRNN(cut_h5)

def test_load_is_called_on_the_class(tmp_path):
    "load returns a new model; called on an instance it raises (it would silently leave that model as it was)."
    t = TextGenRNN(name='a')
    t.save(tmp_path/'a')
    before = _state(t)
    with pytest.raises(AttributeError, match='load is called on the class'): t.load(tmp_path/'a')
    assert _state(t) == before
    from textgen_course.lm import LanguageModel
    u = LanguageModel.load(tmp_path/'a')
    assert type(u) is TextGenRNN and u.fingerprint() == before['fingerprint']

def test_config_file_beside_a_saved_model(tmp_path):
    """A model saved with save() and given a config file: the saved vocabulary is used (not the pretrained one) when the config
    agrees; a config that disagrees is refused with a ModelFileError naming the config file."""
    t = textgenrnn(name='small')
    t.train_new_model(TEXTS, num_epochs=1, **TINY, **QUIET)
    assert len(t.vocab) != 464
    files = t.save(tmp_path/'small')
    cfg = tmp_path/'small_config.json'
    cfg.write_text(json.dumps({**t.config, 'name': 'small'}), encoding='utf-8')
    u = TextGenRNN(files['weights'], config_path=cfg)
    assert u.vocab == t.vocab and u.config == t.config and u.fingerprint() == t.fingerprint()
    bad = tmp_path/'bad_config.json'
    bad.write_text(json.dumps({**t.config, 'rnn_size': 16}), encoding='utf-8')
    with pytest.raises(ModelFileError, match=re.escape(str(bad)) + '.*rnn_size'): TextGenRNN(files['weights'], config_path=bad)

def test_textgenrnn_vocab_file(tmp_path):
    "The pretrained vocabulary: 464 tokens with ids 1..464, including <s>; a file that breaks this is refused by name."
    v = load_vocab(textgenrnn_files()['vocab'])
    assert len(v) == 464 and sorted(v.values()) == list(range(1, 465)) and META_TOKEN in v
    gap = tmp_path/'gap_vocab.json'
    gap.write_text(json.dumps({'a': 1, 'b': 3, META_TOKEN: 4}), encoding='utf-8')
    with pytest.raises(ModelFileError, match='gap_vocab.json: a textgenrnn vocabulary maps tokens to the ids 1..n'): load_vocab(gap)
    with pytest.raises(ModelFileError, match='gap_vocab.json'): TextGenRNN(vocab_path=gap)

# ---------- the module's names, and the library's fine-tuning plumbing

EXPORTED = ['META_TOKEN', 'DEFAULT_CONFIG', 'PUNCT', 'UNKNOWN', 'textgenrnn', 'MODES', 'REVIEW_RECIPE', 'textgenrnn_files',
            'load_vocab', 'AttentionWeightedAverage', 'reference_file', 'convert_cudnn_lstm', 'load_textgenrnn_weights',
            'tokenize', 'build_vocab', 'check_unknown', 'encode_texts', 'TextGenRNN', 'frame_documents',
            'target_windows', 'chunk_windows', 'fine_tune_reviews', 'review_model']

def test_exported_names_stay_and_the_plumbing_imports_no_lesson():
    """Every name the module exported before its plumbing moved to `finetuning` is still exported; `finetuning` imports nothing
    of lesson 01's module (no import cycle), and the training model `_train_model` builds is still there for the benchmarks."""
    import textgen_course.textgenrnn as m
    assert set(EXPORTED) <= set(m.__all__) and all(hasattr(m, n) for n in EXPORTED)
    code = "import sys, textgen_course.finetuning; assert 'textgen_course.textgenrnn' not in sys.modules, 'import cycle'"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'})
    assert r.returncode == 0, r.stderr[-2000:]
    assert m.TextGenRNN()._train_model('original', 0.0, 4e-3).name == 'textgenrnn'

def test_config_files_are_checked(tmp_path):
    "A textgenrnn config file with unknown keys, a size that is not a positive integer, or single_text=True is refused, naming the file."
    from textgen_course.textgenrnn import DEFAULT_CONFIG
    cases = [({'layers': 3}, ModelFileError, r"unknown config key\(s\) \['layers'\]"), ({'rnn_size': 0}, ValueError, 'rnn_size must be'),
             ({'single_text': True}, ValueError, 'single_text=True'), (None, ModelFileError, 'not a readable config JSON file')]
    for i, (cfg, err, msg) in enumerate(cases):
        path = tmp_path/f'config{i}.json'
        path.write_text('{' if cfg is None else json.dumps(cfg))
        with pytest.raises(err, match=msg): TextGenRNN(textgenrnn_files()['weights'], config_path=path)
