"""Tests of textgen_course.gpt (lesson 07): causal attention and its cached steps, generation with a key/value cache against
the plain re-run loop, scoring in windows, window_loss, model files, training and resuming, bad input, and `textgen generate`
with a saved GPT. Tiny models (1-2 blocks, 16 features, context 16) on a few thousand characters keep it fast."""
import json, math, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import tensorflow as tf
import keras
from textgen_course.cli import main
from textgen_course.corpus import split_text
from textgen_course.lm import LanguageModel
from textgen_course.modelfiles import ModelFileError, read_meta, seed_generators
from textgen_course.samples import sample_text
from textgen_course.sampling import generate_by_rerun
from textgen_course.charrnn import CharRNN
from textgen_course.gpt import *
from conftest import StopAt

TRAIN, VALID = split_text(sample_text(2), 0.1)
L = 16  # the fixture's context
QUIET = dict(sample_every=0, verbose=0)

def tiny(train=TRAIN, **kw):
    return GPT.new(train, **{'n_layer': 2, 'n_head': 2, 'n_embd': 16, 'seq_len': L, 'seed': 0, **kw})

@pytest.fixture(scope='module')
def gpt():
    "A tiny GPT trained for two short epochs: its logits are no longer near-uniform."
    m = tiny()
    m.fit(TRAIN, VALID, epochs=2, batch_size=16, lr=3e-3, **QUIET)
    return m

def _ids(m, text):
    "`<bos>` + the ids of `text`."
    return np.r_[m.vocab.bos_id, m.vocab.encode(text)].astype(np.int32)

def _log_softmax(logits):
    "Log-softmax in float64, by hand."
    z = np.asarray(logits, np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))

def _sampler_window(n, size):
    "The tokens (as a range) a cache of `size` holds after reading `n`, by its policy spelled out: when full, keep the last half, then add."
    window = []
    for i in range(n):
        if len(window) == size: window = window[size - size // 2:]
        window.append(i)
    return window[0], n

def _window_logits(m, ids):
    "The plain next-token logits: the full model re-run on the window the cached sampler holds (not computed with `window_start`)."
    a, b = _sampler_window(ids.shape[1], m.config['seq_len'])
    return m.model(ids[:, a:b], training=False)[:, -1]

# ---------------------------------------------------------------- the window the cache sees

def test_window_start_values():
    "0 while the text fits the context, then jumps of half a context (rounded up), by hand; every window is 1..size tokens."
    assert [window_start(n, 16) for n in (1, 15, 16, 17, 24, 25, 32, 33, 41)] == [0, 0, 0, 8, 8, 16, 16, 24, 32]
    assert [window_start(n, 5) for n in (1, 5, 6, 8, 9, 11, 12)] == [0, 0, 3, 3, 6, 6, 9]  # half of 5, rounded up: 3
    assert [window_start(n, 2) for n in (1, 2, 3, 4, 5)] == [0, 0, 1, 2, 3]
    assert [window_start(n, 1) for n in (1, 2, 3, 7)] == [0, 1, 2, 6]
    assert all(window_start(n, size) == _sampler_window(n, size)[0] for size in (1, 2, 5, 6, 16) for n in range(1, 80))
    for size in (1, 2, 5, 16, 64):
        starts = [window_start(n, size) for n in range(1, 6 * size + 2)]
        for n, s in enumerate(starts, 1):
            assert 1 <= n - s <= size and s % (size - size // 2) == 0
            if n > size: assert n - s >= size // 2 + 1  # after a re-read: the last half, plus the new token
        assert starts == sorted(starts)

# ---------------------------------------------------------------- causality and the cached steps

def test_attention_and_model_are_causal(gpt):
    "Changing a later token leaves every earlier position's logits alone, and changes its own; the same inside one layer."
    ids = _ids(gpt, VALID[:L - 1])[None]
    other = ids.copy()
    other[0, 9] = (other[0, 9] + 1 - 3) % (len(gpt.vocab) - 3) + 3  # another real character
    a, b = gpt.model(ids).numpy(), gpt.model(other).numpy()
    np.testing.assert_allclose(a[:, :9], b[:, :9], atol=1e-6)
    assert np.abs(a[:, 9:] - b[:, 9:]).max(axis=-1).min() > 1e-4  # every later position sees the change
    att = gpt.model.get_layer('block_0').att
    x = np.random.default_rng(0).normal(size=(2, 7, 16)).astype('float32')
    y, k, v = att.forward(x)
    assert tuple(y.shape) == (2, 7, 16) and tuple(k.shape) == tuple(v.shape) == (2, 2, 7, 8)  # (batch, heads, time, head size)
    x2 = x.copy()
    x2[:, 4:] += 1.0
    y2, k2, v2 = att.forward(x2)
    np.testing.assert_allclose(y2[:, :4], y[:, :4], atol=1e-6)
    np.testing.assert_allclose(k2[:, :, :4], k[:, :, :4], atol=1e-6)
    assert np.abs((y2 - y)[:, 4:]).max() > 1e-3
    # the first position only sees itself: its output is the projection of its own value
    own = tf.reshape(tf.transpose(v[:, :, :1], (0, 2, 1, 3)), (2, 1, 16))
    np.testing.assert_allclose(y[:, :1], att.proj(own), atol=1e-5)

def _plain_head(x, wq, wk, wv):
    "One causal head in numpy (float64): softmax(q kᵀ / √(head size), the future masked) v."
    q, k, v = x @ wq, x @ wk, x @ wv
    s = np.where(np.tril(np.ones((len(x), len(x)), bool)), q @ k.T / math.sqrt(wq.shape[1]), -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v

@pytest.mark.parametrize('n_embd,n_head,t', [(1, 1, 1), (8, 1, 7), (12, 3, 1), (16, 4, 5), (16, 2, 16)])
def test_attention_is_the_plain_heads_concatenated_and_projected(n_embd, n_head, t):
    "Each head is the plain one-head function on its slice of the fused projection, scaled by its own size; one head with an identity projection is that function itself."
    rng = np.random.default_rng(10 * n_embd + t)
    att = CausalSelfAttention(n_embd, n_head)
    x = rng.normal(size=(2, t, n_embd)).astype('float32')
    att(x)
    kernel = (0.5 * rng.normal(size=(n_embd, 3 * n_embd))).astype('float32')
    att.qkv.set_weights([kernel, np.zeros(3 * n_embd, 'float32')])
    pw, pb = att.proj.get_weights()
    hs = n_embd // n_head
    wq, wk, wv = (w.astype(np.float64) for w in np.split(kernel, 3, axis=1))
    part = lambda w, h: w[:, h * hs:(h + 1) * hs]
    heads = np.stack([np.concatenate([_plain_head(xi, part(wq, h), part(wk, h), part(wv, h)) for h in range(n_head)], -1)
                      for xi in x.astype(np.float64)])
    np.testing.assert_allclose(att(x).numpy(), heads @ pw + pb, atol=1e-4)
    if n_head == 1:
        att.proj.set_weights([np.eye(n_embd, dtype='float32'), np.zeros(n_embd, 'float32')])
        np.testing.assert_allclose(att(x).numpy(), heads, atol=1e-4)

def test_the_model_is_causal_at_every_position(gpt):
    "Changing the token at any position t of a full context, first and last included: no logit before t changes, those at t do."
    ids = _ids(gpt, VALID[:L - 1])[None]
    assert ids.shape[1] == L
    others = np.repeat(ids, L, axis=0)
    for t in range(L): others[t, t] = (others[t, t] + 1 - 3) % (len(gpt.vocab) - 3) + 3  # another real character
    base, got = gpt.model(ids).numpy()[0], gpt.model(others).numpy()
    for t in range(L):
        np.testing.assert_allclose(got[t, :t], base[:t], atol=1e-6, err_msg=f'position {t}')
        assert np.abs(got[t, t] - base[t]).max() > 1e-4, t

@pytest.mark.parametrize('t', [1, 2, L])
def test_shapes_of_attention_block_and_model(gpt, t):
    "One position, two, a full context: attention and blocks keep (batch, time, features); the model gives logits per position."
    x = np.random.default_rng(t).normal(size=(1, t, 16)).astype('float32')
    block = gpt.model.get_layer('block_0')
    y, k, v = block.att.forward(x)
    assert tuple(y.shape) == tuple(block(x).shape) == (1, t, 16) and tuple(k.shape) == tuple(v.shape) == (1, 2, t, 8)
    assert tuple(gpt.model(np.zeros((3, t), 'int32')).shape) == (3, t, len(gpt.vocab))

def _step_through(layer, x, size):
    "Feed the positions of x one at a time through `layer.step`, with an empty cache of room for `size`."
    b, t, e = x.shape
    keys = values = tf.zeros((b, 2, size, e // 2))
    outs = []
    for i in range(t):
        y, keys, values = layer.step(x[:, i:i + 1], keys, values, tf.fill([b], i))
        outs.append(y.numpy())
    return np.concatenate(outs, 1), keys.numpy(), values.numpy()

@pytest.mark.parametrize('which', ['att', 'block'])
def test_cached_step_equals_the_full_forward(gpt, which):
    "One position at a time with a key/value cache gives the full forward's output at every position, and the same keys/values."
    block = gpt.model.get_layer('block_1')
    layer = block.att if which == 'att' else block
    x = np.random.default_rng(1).normal(size=(3, 9, 16)).astype('float32')
    y, k, v = layer.forward(x)
    got, keys, values = _step_through(layer, x, size=12)
    np.testing.assert_allclose(got, y.numpy(), atol=1e-5)
    np.testing.assert_allclose(keys[:, :, :9], k.numpy(), atol=1e-5)
    np.testing.assert_allclose(values[:, :, :9], v.numpy(), atol=1e-5)
    assert not keys[:, :, 9:].any() and not values[:, :, 9:].any()  # the room not written yet is untouched

@pytest.mark.parametrize('seq_len', [2, 5, 16])
def test_cache_steps_give_the_window_logits(seq_len):
    "`_start` then `_step` per token: at every length, the logits of the full model re-run on the window the cache holds."
    m = tiny(n_layer=1, seq_len=seq_len, seed=3)
    ids = _ids(m, VALID[:2 * seq_len + 5])
    logits, state, off = m._start('', 2)
    assert off == 0
    for n in range(1, len(ids) + 1):
        want = _window_logits(m, ids[None, :n]).numpy()[0]
        np.testing.assert_allclose(logits.numpy(), np.stack([want, want]), atol=1e-4, err_msg=f'n={n}')
        if n < len(ids): logits, state = m._step(state, tf.constant([ids[n]] * 2))

# ---------------------------------------------------------------- generation: the cache against the plain loop

@pytest.mark.parametrize('temperature,seed,prefix,n', [(1.0, 0, '', 1), (0.0, 1, 'DUKE:', 3), (0.8, 2, 'DUKE:', 3), (1.0, 5, '', 3)])
def test_cached_generation_equals_the_plain_loop(gpt, temperature, seed, prefix, n):
    "60 new tokens (almost four contexts of 16): the cached sampler draws exactly what the plain loop on the same windows draws."
    length = 60
    fast = gpt.generate(n, return_as_list=True, prefix=prefix, max_gen_length=length, temperature=temperature, seed=seed)
    start = np.tile(_ids(gpt, prefix), (n, 1))
    slow = generate_by_rerun(lambda ids: _window_logits(gpt, ids), start, length, temperature, seed, gpt.ban_ids)
    assert all(len(r) == length for r in slow)
    assert fast == [prefix + gpt.vocab.decode(r) for r in slow]
    assert len(set(fast)) == (1 if temperature == 0 else n)

def test_a_prefix_longer_than_the_context(gpt):
    "A prefix of 40 characters (context 16) is read from its last window; the texts start with it and equal the plain loop."
    prefix = VALID[:40]
    assert len(_ids(gpt, prefix)) > 2 * L
    fast = gpt.generate(2, return_as_list=True, prefix=prefix, max_gen_length=30, temperature=0.9, seed=4)
    slow = generate_by_rerun(lambda ids: _window_logits(gpt, ids), np.tile(_ids(gpt, prefix), (2, 1)), 30, 0.9, 4, gpt.ban_ids)
    assert fast == [prefix + gpt.vocab.decode(r) for r in slow]
    logits, _, off = gpt._start(prefix, 1)
    assert off == 40
    np.testing.assert_allclose(logits.numpy(), _window_logits(gpt, _ids(gpt, prefix)[None]).numpy(), atol=1e-5)

@pytest.mark.parametrize('seq_len', [2, 5])
def test_short_contexts_generate_like_the_plain_loop(seq_len):
    "Contexts of 1 (a bigram) and 5 (odd) tokens: `generate` works and draws what the plain loop draws."
    m = tiny(n_layer=1, seq_len=seq_len, seed=2)
    fast = m.generate(2, return_as_list=True, max_gen_length=20, temperature=1.0, seed=0)
    slow = generate_by_rerun(lambda ids: _window_logits(m, ids), np.full((2, 1), m.vocab.bos_id), 20, 1.0, 0, m.ban_ids)
    assert fast == [m.vocab.decode(r) for r in slow]

def test_generate_refuses_bad_settings(gpt):
    "No texts, no new tokens, a bad top_p or an unknown argument: a clear error naming the argument."
    with pytest.raises(ValueError, match='max_gen_length must be an integer from 1 up, got 0'): gpt.generate(1, max_gen_length=0)
    with pytest.raises(ValueError, match='n must be an integer from 1 up, got 0'): gpt.generate(0, max_gen_length=5)
    with pytest.raises(TypeError, match='max_gen_length must be an integer, got 2.5'): gpt.generate(1, max_gen_length=2.5)
    with pytest.raises(ValueError, match=r'top_p must be a number in \(0, 1\]'): gpt.generate(1, max_gen_length=5, top_p=0)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['temp'\]"): gpt.generate(1, max_gen_length=5, temp=1.0)
    with pytest.raises(ValueError, match=r"\['é'\]"): gpt.generate(1, prefix='é', max_gen_length=5)

# ---------------------------------------------------------------- scoring

def test_token_logprobs_within_the_context(gpt):
    "A text shorter than the context: every row is the log-softmax of the model on `<bos>` + text, at that position."
    text = VALID[:L - 3]
    lp = gpt.token_logprobs(text)
    ids = _ids(gpt, text)
    want = _log_softmax(gpt.model(ids[None, :-1]).numpy()[0])
    assert lp.tokens == list(text) and lp.known.all() and lp.logp.shape == (len(text), len(gpt.vocab))
    np.testing.assert_array_equal(lp.targets, ids[1:])
    np.testing.assert_allclose(lp.logp, want, atol=1e-5)
    np.testing.assert_allclose(lp.target_logp, want[np.arange(len(text)), ids[1:]], atol=1e-5)
    # a character outside the vocabulary is not scored, but is read as <unk> by the positions after it
    odd = gpt.token_logprobs(text[:5] + 'é' + text[5:9])
    assert odd.known.tolist() == [True] * 5 + [False] + [True] * 4 and odd.logp.shape[0] == 9
    mapped = np.r_[ids[:6], gpt.vocab.unk_id, ids[6:10]].astype(np.int32)
    full = _log_softmax(gpt.model(mapped[None, :-1]).numpy()[0])
    np.testing.assert_allclose(odd.logp, np.delete(full, 5, axis=0), atol=1e-5)
    with pytest.raises(ValueError, match='text must be a non-empty string'): gpt.token_logprobs('')

@pytest.mark.parametrize('seq_len', [5, 6, 16])
def test_scoring_reads_the_windows_the_sampler_reads(seq_len):
    "Odd and even contexts: every position of a long text is scored with the logits the cached sampler computes there."
    m = tiny(n_layer=1, seq_len=seq_len, seed=4)
    text = VALID[:6 * seq_len + 3]
    ids = _ids(m, text)
    lp = m.token_logprobs(text)
    logits, state, _ = m._start('', 1)  # the sampler itself, fed the text one token at a time
    for n in range(1, len(ids)):
        np.testing.assert_allclose(lp.logp[n - 1], _log_softmax(logits.numpy()[0]), atol=2e-5, err_msg=f'position {n}')
        np.testing.assert_allclose(lp.logp[n - 1], _log_softmax(_window_logits(m, ids[None, :n]).numpy()[0]), atol=2e-5)
        logits, state = m._step(state, tf.constant([ids[n]]))

def test_long_text_scores_sum_to_evaluate(gpt):
    "A text 20 times the context, and two documents: evaluate is the sum of token_logprobs, each document from `<bos>`."
    lp = gpt.token_logprobs(VALID)
    assert lp.logp.shape == (len(VALID), len(gpt.vocab)) and len(VALID) > 20 * L
    r = gpt.evaluate(VALID)
    nll = -lp.target_logp.astype(np.float64)
    assert r['tokens'] == len(VALID) == r['chars'] and r['unknown'] == 0
    assert math.isclose(r['loss'], nll.mean(), rel_tol=1e-6) and math.isclose(r['bpc'], nll.sum() / len(VALID) / math.log(2), rel_tol=1e-6)
    assert math.isclose(r['accuracy'], float((lp.ranks == 1).mean()), rel_tol=1e-9)
    two = gpt.evaluate([VALID[:100], VALID[100:]])  # each document from <bos>
    nll2 = sum(-gpt.token_logprobs(t).target_logp.astype(np.float64).sum() for t in (VALID[:100], VALID[100:]))
    assert two['tokens'] == len(VALID) and math.isclose(two['loss'] * two['tokens'], nll2, rel_tol=1e-6)

def test_documents_end_with_a_line_break():
    "A GPT of documents: generated texts stop at the line end; evaluate, as for every kind, does not predict a document's end."
    docs = [l for l in TRAIN.split('\n') if l.strip()]
    m = GPT.new(docs, n_layer=1, n_head=2, n_embd=16, seq_len=L, seed=0)
    assert m.config['docs'] and m.stop_id == m.vocab.nl_id
    r = m.evaluate(docs[:3])
    want = sum(-float(m.token_logprobs(d).target_logp.astype(np.float64).sum()) for d in docs[:3])
    assert r['tokens'] == r['chars'] == sum(len(d) for d in docs[:3])
    assert math.isclose(r['loss'] * r['tokens'], want, rel_tol=1e-5)
    assert all('\n' not in t for t in m.generate(4, return_as_list=True, max_gen_length=40, seed=0))

def test_window_loss_matches_a_direct_computation(gpt):
    "window_loss: non-overlapping windows of window + 1 tokens, each from a fresh start, the mean loss over their last `window`."
    text, w = VALID[:140], 12
    ids = gpt.vocab.encode(text)
    n = len(ids) // (w + 1)
    nll = []
    for i in range(n):
        win = ids[i * (w + 1):(i + 1) * (w + 1)]
        lp = _log_softmax(gpt.model(win[None, :-1]).numpy()[0])
        nll += list(-lp[np.arange(w), win[1:]])
    assert n == 10 and len(nll) == n * w
    assert math.isclose(window_loss(gpt, text, window=w), float(np.mean(nll)), rel_tol=1e-5)
    assert math.isclose(window_loss(gpt, text, window=w, batch_size=3), float(np.mean(nll)), rel_tol=1e-5)
    by_position = window_loss(gpt, text, window=w, batch_size=3, per_position=True)
    assert by_position.shape == (w,)
    np.testing.assert_allclose(by_position, np.reshape(nll, (n, w)).mean(0), rtol=1e-5)  # position j: the j-th guess of every window
    with pytest.raises(ValueError, match='the text has 10 tokens, fewer than one window of 13'): window_loss(gpt, text[:10], window=w)
    with pytest.raises(ValueError, match='window must be an integer from 1 up'): window_loss(gpt, text, window=0)

def test_window_loss_longer_than_the_context_is_a_clear_error(gpt):
    "A window longer than the GPT's context (the default 64, context 16) is refused naming window and seq_len, not a shape error."
    with pytest.raises(ValueError, match=r'(?s)window.*seq_len|seq_len.*window'): window_loss(gpt, VALID)

# ---------------------------------------------------------------- model files

def test_save_load_round_trip(gpt, tmp_path):
    "GPT.load and LanguageModel.load give a GPT with the same fingerprint, texts and scores; `load` is for the class only."
    files = gpt.save(tmp_path/'m')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.model.json', 'm.weights.h5']
    assert read_meta(files['weights'], 'gpt')['config'] == gpt.config
    kw = dict(n=3, return_as_list=True, prefix='DUKE:', max_gen_length=40, temperature=0.8, seed=2)
    for back in (GPT.load(tmp_path/'m'), LanguageModel.load(files['weights'])):
        assert type(back) is GPT and back is not gpt and back.config == gpt.config and back.vocab.itos == gpt.vocab.itos
        assert back.fingerprint() == gpt.fingerprint()
        np.testing.assert_allclose(back.token_logprobs(VALID).logp, gpt.token_logprobs(VALID).logp, atol=1e-6)
    assert back.generate(**kw) == gpt.generate(**kw)
    with pytest.raises(AttributeError, match=r'load is called on the class.*model = GPT.load\(path\)'): gpt.load(tmp_path/'m')
    assert tiny(seed=9).fingerprint() != gpt.fingerprint()

def test_damaged_or_foreign_files_are_clear_errors(gpt, tmp_path):
    "Missing, empty, truncated or altered files, a config that does not fit, another kind of model: errors naming the file."
    files = gpt.save(tmp_path/'m')
    good = files['weights'].read_bytes()
    for damage, err, msg in [(lambda b: b'', ModelFileError, r'empty \(0 bytes\)'), (lambda b: b[:len(b) // 2], ModelFileError, 'truncated'),
                             (lambda b: bytes(len(b)), ModelFileError, 'SHA-256 differs')]:
        files['weights'].write_bytes(damage(good))
        with pytest.raises(err, match=msg): GPT.load(tmp_path/'m')
    files['weights'].write_bytes(good)
    meta = json.loads(files['meta'].read_text(encoding='utf-8'))
    files['meta'].write_text(json.dumps({**meta, 'config': {**meta['config'], 'n_embd': 32}}), encoding='utf-8')
    with pytest.raises(ModelFileError, match='m.weights.h5: these weights do not fit this gpt model'): GPT.load(tmp_path/'m')
    files['meta'].write_text(json.dumps({**meta, 'config': {**meta['config'], 'n_head': 3}}), encoding='utf-8')
    with pytest.raises(ModelFileError, match=r'm.weights.h5: n_embd \(16\) must be a multiple of n_head \(3\)'): GPT.load(tmp_path/'m')
    files['meta'].unlink()
    with pytest.raises(FileNotFoundError, match='m.model.json: no such model JSON file'): GPT.load(tmp_path/'m')
    with pytest.raises(FileNotFoundError, match='none.weights.h5: no such weights file'): GPT.load(tmp_path/'none')
    CharRNN.new(TRAIN, units=8, emb_dim=4, seq_len=L).save(tmp_path/'rnn')
    with pytest.raises(ModelFileError, match="this is a 'charrnn' model, not a 'gpt' one"): GPT.load(tmp_path/'rnn')
    gpt.save(tmp_path/'g')
    with pytest.raises(ModelFileError, match="this is a 'gpt' model, not a 'charrnn' one"): CharRNN.load(tmp_path/'g')

# ---------------------------------------------------------------- training

def test_training_learns_a_repeating_text():
    "train_gpt with a small recipe on a repeating text: the loss falls far below a uniform guess, greedy text continues the cycle."
    text = 'abcdefgh\n' * 300
    recipe = dict(n_layer=1, n_head=2, n_embd=16, seq_len=L, dropout=0.0, batch_size=16, lr=1e-2, warmup=2, epochs=4, seed=0)
    before = GPT.new(text, n_layer=1, n_head=2, n_embd=16, seq_len=L, seed=0).evaluate(text[:200])['loss']  # the same initial weights
    m, curve = train_gpt(text, recipe)
    assert type(m) is GPT and curve == [] and {k: m.config[k] for k in ('n_layer', 'n_head', 'n_embd', 'seq_len')} == dict(
        n_layer=1, n_head=2, n_embd=16, seq_len=L)
    h = m.history
    assert len(h['loss']) == 4 and h['loss'][-1] < h['loss'][0] and all(np.isfinite(h['loss']))
    assert math.isclose(h['bpc'][-1], h['loss'][-1] / math.log(2), rel_tol=1e-6)
    after = m.evaluate(text[:200])['loss']
    assert before > 0.8 * math.log(len(m.vocab) - 2) and after < 0.25, (before, after)
    assert m.generate(1, return_as_list=True, prefix='abc', max_gen_length=30, temperature=0.0)[0] == text[:33]


def test_warmup_longer_than_the_run_is_refused_naming_it():
    "A recipe whose warm-up outlasts the whole run gets an error naming `warmup`, not Keras's decay_steps message."
    recipe = dict(n_layer=1, n_head=2, n_embd=16, seq_len=L, dropout=0.0, batch_size=16, lr=1e-2, warmup=10_000, epochs=1, seed=0)
    with pytest.raises(ValueError, match=r'warmup \(10000 steps\) must be shorter than the run'): train_gpt('abcdefgh\n' * 300, recipe)

def test_checkpoints_hold_every_dropout_generator():
    "A training checkpoint saves the state of every dropout layer's generator: the one after the embeddings and two per block."
    m = tiny(n_layer=2, dropout=0.1)
    nested = [l for b in m._blocks for l in (b.drop, b.att.drop)]
    gens = seed_generators(m.model)
    assert len(gens) == 1 + 2 * 2, f'{len(gens)} generator(s) saved: the dropout layers inside the blocks are missed'
    assert all(any(g is l.seed_generator for g in gens) for l in nested)

def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    "A GPT run (dropout on) killed at epoch 1 of 2 and resumed by a fresh model gives the uninterrupted run's history and weights."
    text, fit = TRAIN[:1500], dict(epochs=2, batch_size=8, seed=1, **QUIET)
    straight = tiny(text, n_layer=1, dropout=0.1, seed=1)
    h0 = straight.fit(text, VALID, checkpoint_dir=tmp_path/'straight', **fit)
    ck = tmp_path/'ck'
    with pytest.raises(KeyboardInterrupt, match='killed at the start of epoch 1'):
        tiny(text, n_layer=1, dropout=0.1, seed=1).fit(text, VALID, checkpoint_dir=ck, callbacks=[StopAt(1)], **fit)
    with pytest.raises(ValueError, match=r'already holds a training run \(epoch 1 done'):
        tiny(text, n_layer=1, dropout=0.1).fit(text, VALID, checkpoint_dir=ck, **fit)
    m = tiny(text, n_layer=1, dropout=0.1, seed=2)  # other initial weights: the checkpoint's must replace them
    h = m.fit(text, VALID, checkpoint_dir=ck, resume=True, **fit)
    assert len(h['loss']) == 2
    np.testing.assert_allclose(h['loss'], h0['loss'], rtol=1e-5)
    np.testing.assert_allclose(h['val_loss'], h0['val_loss'], rtol=1e-5)
    for a, b in zip(m.model.get_weights(), straight.model.get_weights(), strict=True): np.testing.assert_allclose(a, b, atol=1e-6)
    best = GPT.load(ck/'best')
    assert type(best) is GPT and read_meta(ck/'best', 'gpt')['trained']['val_loss'] == min(h['val_loss'])

# ---------------------------------------------------------------- bad input

def test_bad_architecture_is_refused_naming_the_argument():
    "Impossible sizes are refused before any model is built, each error naming the argument."
    with pytest.raises(ValueError, match=r'n_embd \(30\) must be a multiple of n_head \(4\)'): tiny(n_embd=30, n_head=4)
    for name in ('seq_len', 'n_layer', 'n_head', 'n_embd'):
        with pytest.raises(ValueError, match=f'{name} must be an integer from 1 up, got 0'): tiny(**{name: 0})
    with pytest.raises(TypeError, match='seq_len must be an integer, got 2.5'): tiny(seq_len=2.5)
    with pytest.raises(ValueError, match='seq_len must be an integer from 2 up, got 1'): tiny(seq_len=1)
    with pytest.raises(TypeError, match='n_layer must be an integer, got True'): tiny(n_layer=True)
    with pytest.raises(TypeError, match=r"unknown config key\(s\) \['n_layers'\]"): tiny(n_layers=2)
    with pytest.raises(TypeError, match=r'this model was created for one text \(a str\); got list'): tiny().fit([TRAIN], epochs=1, **QUIET)

# ---------------------------------------------------------------- the command line

CLI_ARGS = ['-n', '2', '--seed', '1', '--max-length', '40']

def _library_texts(m):
    "What `generate` gives with the command's settings (its default temperatures included)."
    return m.generate(2, return_as_list=True, seed=1, max_gen_length=40)

def test_cli_generates_with_a_saved_gpt(gpt, tmp_path, capsys):
    "`textgen generate --model name.weights.h5` prints the library's texts for the same settings, one after the other."
    path = gpt.save(tmp_path/'g')['weights']
    assert main(['generate', '--model', str(path), *CLI_ARGS]) == 0
    out = capsys.readouterr()
    assert out.err == '' and out.out == ''.join(t + '\n' for t in _library_texts(gpt))

def test_cli_script_generates_with_a_saved_gpt(gpt, tmp_path):
    "The console script, in a fresh process (nothing imported beforehand), reads a saved GPT like any course model."
    path = gpt.save(tmp_path/'g')['weights']
    script = Path(sys.executable).parent/'textgen'
    assert script.exists(), f'{script}: the console script is not installed (pip install -e .)'
    r = subprocess.run([str(script), 'generate', '--model', str(path), *CLI_ARGS], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    assert r.returncode == 0 and r.stderr == '', r.stderr[-2000:]
    assert r.stdout == ''.join(t + '\n' for t in _library_texts(gpt))
