"Tests for textgen_course.charrnn: tokenisation, windows, stateful sampling, scoring, save/load, checkpointed runs, distribution."
import json, math, os, subprocess, sys, textwrap, warnings
from pathlib import Path
import numpy as np
import pytest
import tensorflow as tf
import keras
from textgen_course.checks import CorpusError
from textgen_course.corpus import split_text, clean_review
from textgen_course.samples import sample_text, sample_reviews
from textgen_course.lm import LanguageModel
from textgen_course.modelfiles import ModelFileError, read_meta, save_model_files
from textgen_course.sampling import generate_by_rerun
from textgen_course.charrnn import *
from textgen_course.windowlm import *
from conftest import StopAt, snapshot_files, no_keras_backup

TEXT = sample_text(2)
TRAIN, VALID = split_text(TEXT, 0.1)
REVIEWS = [clean_review(r.text) for r in sample_reviews(20)][:30]
QUIET = dict(sample_every=0, verbose=0)

def tiny(train=TRAIN, **kw):
    return CharRNN.new(train, **{'units': 24, 'emb_dim': 8, 'seq_len': 20, **kw})

@pytest.fixture(scope='module')
def trained():
    m = tiny(layers=2)
    m.fit(TRAIN, VALID, epochs=1, batch_size=8, **QUIET)
    return m

# ---------------------------------------------------------------- vocabulary and windows

def test_char_vocab_has_specials_and_unknowns():
    "Specials first, characters sorted; unknown characters raise (naming them) or map to <unk>."
    v = Vocab.build('abca\n')
    assert v.itos == ['<unk>', '<bos>', '\n', 'a', 'b', 'c']
    assert v.decode(v.encode('cab')) == 'cab'
    with pytest.raises(ValueError, match=r"2 token\(s\) not in the vocabulary: \['x', 'z'\]"): v.encode('axbz')
    assert v.encode('axb', unknown='map').tolist() == [3, v.unk_id, 4]
    assert Vocab.from_json(v.to_json()).itos == v.itos
    with pytest.raises(ValueError, match=r"a char vocabulary must start with \['<unk>', '<bos>', '\\n'\]"): Vocab(['a', 'b'])

def test_word_rules_case_markers_punctuation_and_cut():
    "fastai-style word tokens with case markers; min_freq and max_vocab cut the vocabulary."
    assert word_tokenize("The BBC said: don't go.\nOK") == ['xxmaj', 'the', 'xxup', 'bbc', 'said', ':', 'don', "'t", 'go', '.', '\n', 'xxup', 'ok']
    v = Vocab.build(['the cat sat. The cat ran.', 'a dog sat'], 'word', min_freq=2)
    assert {'the', 'cat', 'sat', '.'} <= set(v.itos) and 'dog' not in v.itos
    assert v.decode(v.encode('The cat sat.')) == 'The cat sat.'
    assert v.encode('the dog', unknown='map').tolist()[-1] == v.unk_id
    assert len(Vocab.build(['a b c d e f'] * 3, 'word', max_vocab=7)) == 7

def test_windows_are_shifted_by_one_and_reproducible():
    "Training windows: targets are the inputs shifted by one; the same seed gives the same batches; a resume gets the rest."
    ids = np.arange(1000, dtype=np.int32)
    ds, steps = lm_windows(ids, 9, 4, shuffle=True, seed=1, epochs=2)
    batches = list(ds.as_numpy_iterator())
    assert steps == (100 - 1) // 4 and len(batches) == 2 * steps
    for x, y in batches: assert x.shape == (4, 9) and (y == x + 1).all()  # target = next token
    again = list(lm_windows(ids, 9, 4, shuffle=True, seed=1, epochs=2)[0].as_numpy_iterator())
    assert len(again) == len(batches) and all((a[0] == b[0]).all() for a, b in zip(batches, again, strict=True))
    assert not (batches[0][0] == batches[steps][0]).all()  # epochs are shuffled differently
    resumed = list(lm_windows(ids, 9, 4, shuffle=True, seed=1, epochs=2, initial_epoch=1, skip=3)[0].as_numpy_iterator())
    assert len(resumed) == steps - 3 and all((a[0] == b[0]).all() for a, b in zip(batches[steps + 3:], resumed, strict=True))
    (x, y), = lm_windows(ids, 9, 500, shuffle=False)[0].as_numpy_iterator()
    assert x.shape == (100, 9) and x[1, 0] == 10 and (x[:, 0] == np.arange(100) * 10).all()

def _previous_release_order(ids, seq_len, batch_size, seed, epochs):
    "The previous release's `charrnn.window_dataset` training batches, from its definition."
    n, L = len(ids), seq_len + 1
    per_epoch, max_off = (n // L - 1, L) if n // L >= 2 else (1, n - L + 1)
    batch_size = min(batch_size, per_epoch)
    out = []
    for e in range(epochs):
        off = int(tf.random.stateless_uniform([], tf.constant([seed, e], tf.int32), maxval=max_off, dtype=tf.int32))
        rows = tf.constant(ids[off:off + per_epoch * L].reshape(per_epoch, L))
        rows = tf.random.experimental.stateless_shuffle(rows, tf.constant([seed + 1, e], tf.int32)).numpy()
        out += [rows[b * batch_size:(b + 1) * batch_size] for b in range(per_epoch // batch_size)]
    return out

@pytest.mark.parametrize('n,seq_len,batch_size,seed', [(1000, 9, 4, 0), (1000, 9, 4, 5), (777, 20, 8, 3), (25, 9, 4, 2), (15, 9, 4, 1)])
def test_lm_windows_keep_the_previous_release_order(n, seq_len, batch_size, seed):
    "For a fixed stream, seed and epoch, lm_windows yields exactly the windows the previous release's window_dataset did."
    ids = np.random.default_rng(n).integers(0, 50, n).astype(np.int32)
    want = _previous_release_order(ids, seq_len, batch_size, seed, 3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tiny streams lower batch_size, with a warning
        got = [np.concatenate([x, y[:, -1:]], 1) for x, y in lm_windows(ids, seq_len, batch_size, seed=seed, epochs=3)[0].as_numpy_iterator()]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True): np.testing.assert_array_equal(g, w)

def test_bad_corpus_and_seq_len():
    "Empty corpora, streams shorter than one window, bad seq_len and the wrong kind of training data are refused clearly."
    with pytest.raises(CorpusError, match='no training texts: every text is empty'): CharRNN.new('   \n')
    with pytest.raises(CorpusError, match=r'the corpus has 5 tokens, fewer than one window of seq_len\+1 = 11'): lm_windows(np.arange(5), 10)
    m = tiny()
    with pytest.raises(CorpusError, match='fewer than one window'): m.fit('ORSINO: hi', 'ORSINO: ho', epochs=1, **QUIET)
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f'seq_len must be an integer from 1 up, got {bad}'): tiny(seq_len=bad)
    with pytest.raises(TypeError, match='seq_len must be an integer, got 2.5'): tiny(seq_len=2.5)
    with pytest.raises(TypeError, match=r'this model was created for one text \(a str\); got list'): m.fit(['a doc'], epochs=1)
    with pytest.raises(TypeError, match=r"unknown config key\(s\) \['unit'\]"): tiny(unit=3)
    with pytest.raises(ValueError, match='resume and checkpoint_every need a checkpoint_dir'): m.fit(TRAIN, epochs=1, resume=True)

# ---------------------------------------------------------------- sampling and scoring

@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_stepping_equals_the_full_model(cell):
    "The stateful sampler's steps give the full model's logits at every position, for every row."
    m = tiny(cell=cell, layers=2)
    seq = 'ORSINO:\nGood morrow, lady.'
    ids = np.concatenate([[m.vocab.bos_id], m.vocab.encode(seq)]).astype(np.int32)
    full = m.model(ids[None]).numpy()[0]
    lg, st, _ = m._start('', 3)
    got = [lg.numpy()]
    for i in ids[1:]:
        lg, st = m._step(st, tf.constant([i] * 3))
        got.append(lg.numpy())
    got = np.stack(got, 1)
    assert got.shape == (3, len(ids), len(m.vocab))
    np.testing.assert_allclose(got[0], full, atol=1e-5)
    np.testing.assert_allclose(got[2], full, atol=1e-5)
    # a prefix run in one call lands in the same place as stepping through it
    lg2, _, off = m._start(seq[:10], 1)
    np.testing.assert_allclose(lg2.numpy()[0], full[10], atol=1e-5)
    assert off == 10

def test_generation_is_batched_reproducible_and_checks_input(trained):
    "Batched, seeded generation; greedy rows agree; unknown prefix characters raise unless mapped."
    a = trained.generate(4, return_as_list=True, prefix='ORSINO:', max_gen_length=30, temperature=0.8, seed=3)
    assert len(a) == 4 and all(t.startswith('ORSINO:') for t in a)
    assert a == trained.generate(4, return_as_list=True, prefix='ORSINO:', max_gen_length=30, temperature=0.8, seed=3)
    assert a != trained.generate(4, return_as_list=True, prefix='ORSINO:', max_gen_length=30, temperature=0.8, seed=4)
    g = trained.generate(2, return_as_list=True, max_gen_length=20, temperature=0.0)
    assert g[0] == g[1] and len(g[0]) == 20
    assert len(set(trained.generate(5, return_as_list=True, max_gen_length=20, top_k=1, seed=1))) == 1
    with pytest.raises(ValueError, match=r"\['Z', 'é'\]"): trained.generate(prefix='Zé', max_gen_length=5)
    trained.unknown = 'map'
    try: assert trained.generate(prefix='Zé', return_as_list=True, max_gen_length=5, seed=0)[0].startswith('Zé')
    finally: trained.unknown = 'error'

@pytest.mark.parametrize('temperature', [1.0, 0.0])
def test_stateful_sampler_gives_the_same_text_as_rerunning_the_full_model(trained, temperature):
    "generate (one step per token, carried state) writes exactly what re-running the full model on everything so far writes."
    prefix, n, length, seed = 'DUKE:', 3, 30, 11
    fast = trained.generate(n, return_as_list=True, prefix=prefix, max_gen_length=length, temperature=temperature, seed=seed)
    start = np.tile(np.r_[trained.vocab.bos_id, trained.vocab.encode(prefix)].astype(np.int32), (n, 1))
    last = lambda ids: trained.model(ids, training=False)[:, -1]
    slow = generate_by_rerun(last, start, length, temperature, seed, trained.ban_ids)
    assert fast == [prefix + trained.vocab.decode(ids) for ids in slow]
    assert len(set(fast)) == (n if temperature else 1)

def test_evaluate_matches_a_direct_computation(trained):
    "evaluate's loss, bpc, perplexity and accuracy are the full model's next-character scores on <bos> + text."
    r = trained.evaluate(VALID)
    ids = np.concatenate([[trained.vocab.bos_id], trained.vocab.encode(VALID, 'map')]).astype(np.int32)
    lp = tf.nn.log_softmax(trained.model(ids[None, :-1])).numpy()[0]
    nll = -lp[np.arange(len(ids) - 1), ids[1:]]
    assert r['tokens'] == len(VALID) == len(nll) and r['chars'] == len(VALID) and r['unknown'] == 0
    assert math.isclose(r['loss'], nll.mean(), rel_tol=1e-4)
    assert math.isclose(r['bpc'], nll.sum() / len(VALID) / math.log(2), rel_tol=1e-4)
    assert math.isclose(r['perplexity'], math.exp(nll.mean()), rel_tol=1e-4)
    assert math.isclose(r['accuracy'], (lp.argmax(-1) == ids[1:]).mean(), rel_tol=1e-6)
    # read in chunks, the state carries over: the same scores
    np.testing.assert_allclose(trained._stateful_logits(ids[None, :-1], chunk=7), lp[None], atol=1e-5)
    # the shared interface (token_logprobs) scores the same
    tl = trained.token_logprobs(VALID)
    assert tl.known.all() and len(tl.tokens) == len(VALID)
    np.testing.assert_allclose(tl.target_logp, -nll, atol=1e-5)
    assert math.isclose(LanguageModel.evaluate(trained, VALID)['loss'], r['loss'], rel_tol=1e-5)
    with pytest.raises(CorpusError, match='no held-out texts: every text is empty'): trained.evaluate('')

def test_token_logprobs_skips_unknown_characters(trained):
    "Characters outside the vocabulary are marked unknown and not scored; the others are."
    tl = trained.token_logprobs('DUKE: Zé!')
    assert tl.tokens == list('DUKE: Zé!') and tl.known.tolist() == [True] * 6 + [False, False, True]
    assert tl.logp.shape == (7, len(trained.vocab)) and (tl.ranks >= 1).all()
    assert trained.evaluate('DUKE: Zé!')['unknown'] == 2

def test_word_level_documents_fit_with_perplexity_and_stop_at_line_end():
    "A word model of documents: perplexity logged, every known word scored (the end not predicted), texts stop at the line end."
    tr, va = REVIEWS[:24], REVIEWS[24:]
    m = CharRNN.new(tr, level='word', units=16, emb_dim=8, seq_len=12)
    assert m.stop_id == m.vocab.nl_id and m.token_sep == ' '
    h = m.fit(tr, va, epochs=2, batch_size=8, lr=1e-2, **QUIET)
    assert {'loss', 'val_loss', 'perplexity', 'val_perplexity', 'accuracy', 'val_accuracy'} <= set(h) and len(h['loss']) == 2
    assert math.isclose(h['val_perplexity'][-1], math.exp(h['val_loss'][-1]), rel_tol=1e-6)
    r = m.evaluate(va)
    assert r['tokens'] + r['unknown'] == sum(len(m.vocab.tokenize(t)) for t in va) and r['unknown'] > 0
    one_by_one = [s for t in va for s in m.text_scores([t], batch_size=1)]  # padding never counts
    np.testing.assert_allclose(np.concatenate([s.target_logp for s in one_by_one]),
                               np.concatenate([s.target_logp for s in m.text_scores(va)]), atol=1e-5)
    out = m.generate(3, return_as_list=True, max_gen_length=40, seed=0)
    assert len(out) == 3 and all('\n' not in t for t in out)

# ---------------------------------------------------------------- model files

def test_save_load_roundtrip_and_damage(trained, tmp_path):
    "One name.weights.h5 + name.model.json; loading gives the same model; damage of every kind is a clear error."
    files = trained.save(tmp_path/'m')
    assert files == {'weights': tmp_path/'m.weights.h5', 'meta': tmp_path/'m.model.json'}
    assert sorted(x.name for x in tmp_path.iterdir()) == ['m.model.json', 'm.weights.h5']
    for m2 in (CharRNN.load(tmp_path/'m.weights.h5'), LanguageModel.load(tmp_path/'m')):
        assert type(m2) is CharRNN and m2.config == trained.config and m2.fingerprint() == trained.fingerprint()
    m2 = CharRNN.load(tmp_path/'m')
    kw = dict(return_as_list=True, prefix='DUKE:', max_gen_length=25, seed=2, n=3)
    assert m2.generate(**kw) == trained.generate(**kw)
    assert math.isclose(m2.evaluate(VALID)['loss'], trained.evaluate(VALID)['loss'], rel_tol=1e-6)
    with pytest.raises(AttributeError, match=r'model = CharRNN.load\(path\)'): trained.load(tmp_path/'m')
    meta = json.loads(files['meta'].read_text(encoding='utf-8'))
    good = files['meta'].read_bytes()
    toks = meta['vocab']['tokens']
    meta['vocab'] = {**meta['vocab'], 'tokens': toks[:3] + [toks[4], toks[3]] + toks[5:]}  # same size, two swapped
    files['meta'].write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')
    with pytest.raises(ModelFileError, match='m.model.json: the vocabulary is not the one the model was saved with'): CharRNN.load(tmp_path/'m')
    files['meta'].write_bytes(good)
    for damage, msg in [(lambda b: b'', r'empty \(0 bytes\)'), (lambda b: b[:2000], 'truncated'), (lambda b: bytes(len(b)), 'SHA-256 differs')]:
        (tmp_path/'d.weights.h5').write_bytes(damage(files['weights'].read_bytes()))
        (tmp_path/'d.model.json').write_bytes(good)
        with pytest.raises(ModelFileError, match=msg): CharRNN.load(tmp_path/'d')
    files['meta'].unlink()
    with pytest.raises(FileNotFoundError, match='m.model.json: no such model JSON file'): CharRNN.load(tmp_path/'m')

def test_load_refuses_other_kinds_configs_and_old_formats(trained, tmp_path):
    "Another kind of model file, a config that does not fit the weights, and a bare `.keras` file are refused clearly."
    save_model_files(tmp_path/'toy', lambda p: p.write_bytes(b'w'), 'toy', {}, ['a'])
    with pytest.raises(ModelFileError, match="a 'toy' model, not a 'charrnn' one"): CharRNN.load(tmp_path/'toy')
    files = trained.save(tmp_path/'m')
    meta = json.loads(files['meta'].read_text(encoding='utf-8'))
    files['meta'].write_text(json.dumps({**meta, 'config': {**meta['config'], 'units': 32}}), encoding='utf-8')
    with pytest.raises(ModelFileError, match=r'm.weights.h5: these weights do not fit this charrnn model'): CharRNN.load(tmp_path/'m')
    trained.model.save(tmp_path/'o.keras')  # the previous release's format is gone
    with pytest.raises(FileNotFoundError, match='o.weights.h5: no such weights file'): CharRNN.load(tmp_path/'o')

def test_plot_history():
    "Train and validation curves with the best epoch marked; an empty history is a clear error."
    import matplotlib
    matplotlib.use('Agg')
    ax = plot_history({'loss': [2.0, 1.5, 1.2], 'val_loss': [2.1, 1.8, 1.9]})
    assert len(ax.lines) == 3 and ax.lines[2].get_xdata()[0] == 2  # the best validation epoch
    assert len(plot_history({'loss': [2.0, 1.0]}).lines) == 1
    with pytest.raises(ValueError, match="no 'loss' values"): plot_history({})

# ---------------------------------------------------------------- checkpointed runs

class Worse(keras.callbacks.Callback):
    "Report a bad validation loss from epoch `start` on (runs before the run's recorder, so the run sees it)."
    def __init__(self, start):
        super().__init__()
        self.start = start
    def on_epoch_end(self, epoch, logs=None):
        if epoch >= self.start: logs['val_loss'] = 100.0

def test_second_fit_never_destroys_the_run(tmp_path):
    "(c) A second fit into a run's folder is refused without resume (folder byte-identical); with resume it continues the run."
    ck = tmp_path/'ck'
    m = tiny()
    h1 = m.fit(TRAIN, VALID, epochs=2, batch_size=8, checkpoint_dir=ck, **QUIET)
    before = snapshot_files(ck)
    assert {'best.weights.h5', 'best.model.json'} <= set(before)
    for other in (m, tiny(seed=5)):
        with pytest.raises(ValueError, match=r'already holds a training run \(epoch 2 done, best val_loss \d+\.\d{4}\): pass resume=True'):
            other.fit(TRAIN, VALID, epochs=4, batch_size=8, checkpoint_dir=ck, **QUIET)
        assert snapshot_files(ck) == before
    # resumed to 4 epochs; epochs 3 and 4 report a worse validation loss: the best model stays as it was
    h = m.fit(TRAIN, VALID, epochs=4, batch_size=8, checkpoint_dir=ck, resume=True, callbacks=[Worse(2)], **QUIET)
    assert len(h['loss']) == len(h['val_loss']) == len(h['bpc']) == 4
    assert h['loss'][:2] == h1['loss'] and h['val_loss'][:2] == h1['val_loss'] and h['val_loss'][2:] == [100.0, 100.0]
    assert snapshot_files(ck)['best.weights.h5'] == before['best.weights.h5']
    assert read_meta(ck/'best', 'charrnn')['trained'] == {'epoch': int(np.argmin(h1['val_loss'])) + 1, 'val_loss': min(h1['val_loss'])}
    # resumed again (another object, as after a restart): a real improvement replaces the best model
    h = tiny(seed=7).fit(TRAIN, VALID, epochs=6, batch_size=8, checkpoint_dir=ck, resume=True, **QUIET)
    assert len(h['loss']) == 6 and h['val_loss'][:4] == h1['val_loss'] + [100.0, 100.0]
    trained_best = read_meta(ck/'best', 'charrnn')['trained']
    assert trained_best == {'epoch': int(np.argmin(h['val_loss'])) + 1, 'val_loss': min(h['val_loss'])}
    assert trained_best['epoch'] > 4  # training went on, and the best file was replaced
    best = CharRNN.load(ck/'best')
    best.compile()
    va = lm_windows(encode_corpus(best.vocab, VALID), best.config['seq_len'], 8, shuffle=False)[0]
    assert math.isclose(best.model.evaluate(va, verbose=0)[0], min(h['val_loss']), rel_tol=1e-5)  # it holds that model
    assert no_keras_backup(ck)

@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    "A 3-epoch run with dropout, never interrupted: its history and weights."
    m = tiny(dropout=0.1, seed=1)
    h = m.fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=tmp_path_factory.mktemp('straight'), **QUIET)
    return h, m.model.get_weights()

def _same_run(h, model, straight):
    h0, w0 = straight
    assert len(h['loss']) == 3
    np.testing.assert_allclose(h['loss'], h0['loss'], rtol=1e-5)
    np.testing.assert_allclose(h['val_loss'], h0['val_loss'], rtol=1e-5)
    for a, b in zip(model.model.get_weights(), w0, strict=True): np.testing.assert_allclose(a, b, atol=1e-6)

def test_interrupted_run_resumes_to_the_same_result(tmp_path, straight):
    "(d) A run interrupted at epoch 2 and resumed gives the uninterrupted run's weights and history (dropout on)."
    ck = tmp_path/'ck'
    with pytest.raises(KeyboardInterrupt, match='killed at the start of epoch 2'):
        tiny(dropout=0.1, seed=1).fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=ck, callbacks=[StopAt(2)], **QUIET)
    m = tiny(dropout=0.1, seed=2)  # a fresh process would build a model (its own initial weights), then resume
    h = m.fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=ck, resume=True, **QUIET)
    _same_run(h, m, straight)
    assert no_keras_backup(ck)

def test_half_written_checkpoint_does_not_block_resuming(tmp_path, straight):
    "(d) The newest slot truncated (an interrupted save): the run resumes from the older slot and completes the same run."
    ck = tmp_path/'ck'
    with pytest.raises(KeyboardInterrupt, match='killed at the start of epoch 2'):
        tiny(dropout=0.1, seed=1).fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=ck, callbacks=[StopAt(2)], **QUIET)
    counts = {s: json.loads((ck/f'{s}.model.json').read_text(encoding='utf-8'))['train_state']['count'] for s in ('checkpoint-a', 'checkpoint-b')}
    newest = ck/(max(counts, key=counts.get) + '.weights.h5')
    newest.write_bytes(newest.read_bytes()[:newest.stat().st_size // 2])
    m = tiny(dropout=0.1, seed=2)
    h = m.fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=ck, resume=True, **QUIET)
    _same_run(h, m, straight)
    assert no_keras_backup(ck)

def test_resume_with_other_data_or_settings_is_refused(tmp_path):
    "(d) Resuming on other data, or with other settings, is refused naming each difference; the folder is left alone."
    ck = tmp_path/'ck'
    m = tiny()
    m.fit(TRAIN, VALID, epochs=1, batch_size=8, checkpoint_dir=ck, **QUIET)
    before = snapshot_files(ck)
    kw = dict(checkpoint_dir=ck, resume=True, **QUIET)
    with pytest.raises(ValueError, match=r"other data or settings, \(then, now\): \{'data': \('[0-9a-f]{16}', '[0-9a-f]{16}'\)\}"):
        m.fit(TRAIN[:-40], VALID, epochs=2, batch_size=8, **kw)
    with pytest.raises(ValueError, match=r"\{'data': "): m.fit(TRAIN, VALID[:-40], epochs=2, batch_size=8, **kw)
    with pytest.raises(ValueError, match=r"\{'batch_size': \(8, 16\), 'seed': \(0, 3\)\}"): m.fit(TRAIN, VALID, epochs=2, batch_size=16, seed=3, **kw)
    with pytest.raises(ValueError, match=r"'lr': \(0.002, 0.01\)"): m.fit(TRAIN, VALID, epochs=2, batch_size=8, lr=0.01, **kw)
    with pytest.raises(ValueError, match=r"'config': "): tiny(units=16).fit(TRAIN, VALID, epochs=2, batch_size=8, **kw)
    assert snapshot_files(ck) == before

# ---------------------------------------------------------------- distribution and real data

def test_mirrored_strategy_on_two_logical_cpus():
    """A model loaded under MirroredStrategy (two logical CPUs, in a subprocess) keeps its saved weights and trains like one
    device: same losses and weights up to float rounding (the gradient is summed over two replicas in another order)."""
    code = textwrap.dedent("""
        import json, tempfile
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices('CPU')[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from textgen_course.corpus import split_text
        from textgen_course.samples import sample_text
        from textgen_course.charrnn import CharRNN
        s = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        tr, va = split_text(sample_text(2), 0.1)
        one = CharRNN.new(tr, units=16, emb_dim=8, seq_len=20, seed=0)
        path = one.save(tempfile.mkdtemp() + '/m')['weights']
        with s.scope(): mir = CharRNN.load(path)
        x = np.concatenate([[one.vocab.bos_id], one.vocab.encode(va[:50], 'map')])[None].astype('int32')
        start_diff = float(np.abs(mir.model(x).numpy() - one.model(x).numpy()).max())
        w0 = one.model.get_weights()
        h1 = one.fit(tr, va, epochs=1, batch_size=8, sample_every=0, verbose=0)
        h2 = mir.fit(tr, va, epochs=1, batch_size=8, sample_every=0, verbose=0)
        pairs = list(zip(one.model.get_weights(), mir.model.get_weights(), strict=True))
        print('RESULT' + json.dumps(dict(replicas=mir.strategy.num_replicas_in_sync, start_diff=start_diff, h1=h1, h2=h2,
              wdiff=max(float(np.abs(a - b).max()) for a, b in pairs),
              moved=max(float(np.abs(a - b).max()) for a, b in zip(one.model.get_weights(), w0, strict=True)),
              gen=len(mir.generate(2, return_as_list=True, max_gen_length=10, seed=0)[1]))))
    """)
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    assert r.returncode == 0 and 'RESULT' in r.stdout, r.stderr[-3000:]
    out = json.loads(r.stdout.split('RESULT', 1)[1])
    assert out['replicas'] == 2 and out['gen'] == 10
    assert out['start_diff'] < 1e-6  # loaded under the strategy: the saved weights, not fresh random ones
    h1, h2 = out['h1'], out['h2']
    assert all(np.isfinite(h2['loss'])) and all(np.isfinite(h2['val_loss']))
    np.testing.assert_allclose(h2['loss'], h1['loss'], rtol=1e-4)  # same windows in the same order, same seed
    np.testing.assert_allclose(h2['val_loss'], h1['val_loss'], rtol=1e-4)
    # Adam moves a weight by at most ~lr (2e-3) per step; rounding-level gradient differences stay far below 1e-3 after one epoch
    assert out['wdiff'] < 1e-3 and out['moved'] > 1e-2, out

def test_tinyshakespeare_vocab(real_data):
    "The real tiny-shakespeare: 65 characters plus the two specials; one id per character plus <bos>."
    text = real_data('tinyshakespeare').read_text(encoding='utf-8')
    v = Vocab.build(split_text(text, 0.1)[0])
    assert len(v) == 65 + 2  # 65 characters (the newline among them) + <unk>, <bos>
    ids = encode_corpus(v, text)
    assert len(ids) == len(text) + 1 and ids[0] == v.bos_id and v.decode(ids[1:201]) == text[:200]
