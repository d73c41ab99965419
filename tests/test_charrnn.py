"Tests for textgen_course.charrnn: tokenisation, windows, stateful sampling, scoring, save/load, resume, distribution."
import json, math, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest
import tensorflow as tf
import keras
from textgen_course.corpus import CorpusError, sample_text, split_text, sample_reviews, clean_review
from textgen_course.charrnn import *

ROOT = Path(__file__).resolve().parent.parent
TEXT = sample_text(2)
TRAIN, VALID = split_text(TEXT, 0.1)
REVIEWS = [clean_review(r.text) for r in sample_reviews(20)][:30]

def tiny(train=TRAIN, **kw):
    return CharRNN.new(train, **{'units': 24, 'emb_dim': 8, 'seq_len': 20, **kw})

@pytest.fixture(scope='module')
def trained():
    m = tiny(layers=2)
    m.fit(TRAIN, VALID, epochs=1, batch_size=8, sample_every=0, verbose=0)
    return m

def test_char_vocab_has_specials_and_unknowns():
    v = Vocab.build('abca\n')
    assert v.itos[:3] == ['<unk>', '<bos>', '\n'] and len(v) == 6
    assert v.decode(v.encode('cab')) == 'cab'
    with pytest.raises(ValueError, match=r"\['x', 'z'\]"): v.encode('axbz')
    assert v.encode('axb', unknown='map').tolist() == [3, v.unk_id, 4]

def test_word_rules_case_markers_punctuation_and_cut():
    assert word_tokenize("The BBC said: don't go.\nOK") == ['xxmaj', 'the', 'xxup', 'bbc', 'said', ':', 'don', "'t", 'go', '.', '\n', 'xxup', 'ok']
    v = Vocab.build(['the cat sat. The cat ran.', 'a dog sat'], 'word', min_freq=2)
    assert {'the', 'cat', 'sat', '.'} <= set(v.itos) and 'dog' not in v.itos
    assert v.decode(v.encode('The cat sat.')) == 'The cat sat.'
    assert v.encode('the dog', unknown='map').tolist()[-1] == v.unk_id
    assert len(Vocab.build(['a b c d e f'] * 3, 'word', max_vocab=7)) == 7

def test_windows_are_shifted_by_one_and_reproducible():
    ids = np.arange(1000, dtype=np.int32)
    ds, steps = window_dataset(ids, 9, 4, shuffle=True, seed=1, epochs=2)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 2 * steps == 2 * ((100 - 1) // 4)
    for x, y in batches: assert x.shape == (4, 9) and (y == x + 1).all()  # target = next token
    again = list(window_dataset(ids, 9, 4, shuffle=True, seed=1, epochs=2)[0].as_numpy_iterator())
    assert all((a[0] == b[0]).all() for a, b in zip(batches, again))
    assert not (batches[0][0] == batches[steps][0]).all()  # epochs are shuffled differently
    # a resumed run gets exactly the epochs it missed
    resumed = list(window_dataset(ids, 9, 4, shuffle=True, seed=1, epochs=2, initial_epoch=1)[0].as_numpy_iterator())
    assert all((a[0] == b[0]).all() for a, b in zip(batches[steps:], resumed))
    x, y = next(window_dataset(ids, 9, 500, shuffle=False)[0].as_numpy_iterator())
    assert x.shape == (100, 9) and x[1, 0] == 10

def test_bad_corpus_and_seq_len():
    with pytest.raises(CorpusError, match='empty'): CharRNN.new('   \n')
    with pytest.raises(CorpusError, match='shorter than one window'): window_dataset(np.arange(5), 10)
    m = tiny()
    with pytest.raises(CorpusError, match='shorter than one window'): m.fit('ORSINO: hi', 'ORSINO: ho', epochs=1, verbose=0)
    for bad in (0, -3): 
        with pytest.raises(ValueError, match='seq_len'): tiny(seq_len=bad)
    with pytest.raises(TypeError, match='seq_len'): tiny(seq_len=2.5)
    with pytest.raises(TypeError, match='plain text'): m.fit(['a doc'], epochs=1)

@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_stepping_equals_the_full_model(cell):
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

def test_stateful_sampler_gives_the_same_text_as_rerunning_the_full_model(trained):
    kw = dict(n=3, prefix='DUKE:', max_gen_length=40, temperature=1.0, seed=11)
    assert trained.generate(**kw, return_as_list=True) == generate_by_rerun(trained, **kw)
    g = dict(kw, temperature=0.0)
    assert trained.generate(**g, return_as_list=True) == generate_by_rerun(trained, **g)

def test_evaluate_matches_a_direct_computation(trained):
    r = trained.evaluate(VALID)
    ids = np.concatenate([[trained.vocab.bos_id], trained.vocab.encode(VALID, 'map')]).astype(np.int32)
    lp = tf.nn.log_softmax(trained.model(ids[None, :-1])).numpy()[0]
    nll = -lp[np.arange(len(ids) - 1), ids[1:]]
    assert r['tokens'] == len(VALID) == len(nll)
    assert math.isclose(r['loss'], nll.mean(), rel_tol=1e-4)
    assert math.isclose(r['bpc'], r['loss'] / math.log(2), rel_tol=1e-6)
    assert math.isclose(r['perplexity'], math.exp(r['loss']), rel_tol=1e-6)
    assert math.isclose(r['accuracy'], (lp.argmax(-1) == ids[1:]).mean(), rel_tol=1e-6)
    assert math.isclose(trained.evaluate(VALID, chunk=7)['loss'], r['loss'], rel_tol=1e-4)  # chunks carry the state
    with pytest.raises(CorpusError, match='empty'): trained.evaluate('')

def test_word_level_documents_fit_with_perplexity_and_stop_at_line_end():
    tr, va = REVIEWS[:24], REVIEWS[24:]
    m = CharRNN.new(tr, level='word', units=16, emb_dim=8, seq_len=12)
    assert m.stop_id == m.vocab.nl_id and m.token_sep == ' '
    h = m.fit(tr, va, epochs=2, batch_size=8, sample_every=0, verbose=0, lr=1e-2)
    assert {'loss', 'val_loss', 'perplexity', 'val_perplexity', 'accuracy', 'val_accuracy'} <= set(h) and len(h['loss']) == 2
    assert math.isclose(h['val_perplexity'][-1], math.exp(h['val_loss'][-1]), rel_tol=1e-6)
    r = m.evaluate(va)
    assert r['tokens'] == sum(len(m.vocab.tokenize(t)) + 1 for t in va)
    out = m.generate(3, return_as_list=True, max_gen_length=40, seed=0)
    assert all('\n' not in t for t in out)

def test_save_load_roundtrip_and_bad_vocab(trained, tmp_path):
    p = trained.save(tmp_path/'m')
    assert p.name == 'm.keras' and sorted(x.name for x in tmp_path.iterdir()) == ['m.keras', 'm.model.json']
    m2 = CharRNN.load(tmp_path/'m.keras')
    kw = dict(return_as_list=True, prefix='DUKE:', max_gen_length=25, seed=2, n=3)
    assert m2.generate(**kw) == trained.generate(**kw)
    assert math.isclose(m2.evaluate(VALID)['loss'], trained.evaluate(VALID)['loss'], rel_tol=1e-6)
    meta = json.loads((tmp_path/'m.model.json').read_text(encoding='utf-8'))
    good = dict(meta)
    toks = meta['vocab']['tokens']
    meta['vocab'] = {**meta['vocab'], 'tokens': toks[:3] + [toks[4], toks[3]] + toks[5:]}  # same size, two swapped
    (tmp_path/'m.model.json').write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')
    with pytest.raises(ValueError, match='not the one the model was saved with'): CharRNN.load(tmp_path/'m')
    (tmp_path/'m.model.json').write_text(json.dumps(good, ensure_ascii=False), encoding='utf-8')
    for damage, msg in [(lambda b: b'', 'empty'), (lambda b: b[:2000], 'truncated'), (lambda b: bytes(len(b)), 'SHA-256 differs')]:
        (tmp_path/'d.keras').write_bytes(damage(p.read_bytes()))
        (tmp_path/'d.model.json').write_bytes((tmp_path/'m.model.json').read_bytes())
        with pytest.raises(ValueError, match=msg): CharRNN.load(tmp_path/'d')
    (tmp_path/'m.model.json').unlink()
    with pytest.raises(FileNotFoundError, match='vocabulary file missing'): CharRNN.load(tmp_path/'m')

def test_old_format_still_loads(trained, tmp_path):
    "Models of the previous release (name.keras + name_vocab.json + name_config.json) load; a wrong-size vocab is caught."
    trained.model.save(tmp_path/'o.keras')
    (tmp_path/'o_vocab.json').write_text(json.dumps(trained.vocab.to_json(), ensure_ascii=False), encoding='utf-8')
    (tmp_path/'o_config.json').write_text(json.dumps(trained.config), encoding='utf-8')
    o = CharRNN.load(tmp_path/'o')
    assert o.generate(2, return_as_list=True, seed=1, max_gen_length=20) == trained.generate(2, return_as_list=True, seed=1, max_gen_length=20)
    v = trained.vocab.to_json()
    (tmp_path/'o_vocab.json').write_text(json.dumps({**v, 'tokens': v['tokens'] + ['@']}), encoding='utf-8')
    with pytest.raises(ValueError, match='does not belong to this model'): CharRNN.load(tmp_path/'o')
    (tmp_path/'x.keras').write_bytes(b'PK\x03\x04garbage')
    (tmp_path/'x_config.json').write_text(json.dumps(trained.config))
    (tmp_path/'x_vocab.json').write_bytes((tmp_path/'o_config.json').read_bytes())  # not a vocabulary
    with pytest.raises(ValueError, match='x_vocab.json'): CharRNN.load(tmp_path/'x')
    (tmp_path/'x_vocab.json').write_text(json.dumps(v), encoding='utf-8')
    with pytest.raises(ValueError, match='x.keras: not a readable'): CharRNN.load(tmp_path/'x')

def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    def run(ckpt, stop_at=None):
        m = tiny(dropout=0.1, seed=1)
        class Stop(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == stop_at: raise KeyboardInterrupt
        try: h = m.fit(TRAIN, VALID, epochs=3, batch_size=8, seed=1, checkpoint_dir=ckpt, sample_every=0, verbose=0, callbacks=[Stop()])
        except KeyboardInterrupt: return None, m
        return h, m
    h_full, m_full = run(tmp_path/'a')
    assert run(tmp_path/'b', stop_at=2)[0] is None
    assert (tmp_path/'b'/'backup'/'training_metadata.json').exists()
    h_res, m_res = run(tmp_path/'b')  # a fresh process would do exactly this: same call, same folder
    assert len(h_res['loss']) == 3
    np.testing.assert_allclose(h_res['loss'], h_full['loss'], rtol=1e-5)
    np.testing.assert_allclose(h_res['val_loss'], h_full['val_loss'], rtol=1e-5)
    for a, b in zip(m_res.model.get_weights(), m_full.model.get_weights()): np.testing.assert_allclose(a, b, atol=1e-6)
    # the best-validation checkpoint holds the epoch with the lowest validation loss: score it the way fit did (same windows)
    best = CharRNN.load(tmp_path/'b'/'best')
    best.compile()
    va = window_dataset(encode_corpus(best.vocab, VALID), best.config['seq_len'], 8, False)[0]
    assert math.isclose(best.model.evaluate(va, verbose=0)[0], min(h_res['val_loss']), rel_tol=1e-5)

def test_plot_history(trained):
    import matplotlib
    matplotlib.use('Agg')
    ax = plot_history({'loss': [2.0, 1.5, 1.2], 'val_loss': [2.1, 1.8, 1.9]})
    assert len(ax.lines) == 3
    with pytest.raises(ValueError): plot_history({})

def test_mirrored_strategy_on_two_logical_cpus():
    """A model loaded under MirroredStrategy (two logical CPUs, in a subprocess) keeps its saved weights and trains like one
    device: same losses and weights up to float rounding (the gradient is summed over two replicas in another order)."""
    code = textwrap.dedent("""
        import json, tempfile
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices('CPU')[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from textgen_course.corpus import sample_text, split_text
        from textgen_course.charrnn import CharRNN
        s = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        tr, va = split_text(sample_text(2), 0.1)
        one = CharRNN.new(tr, units=16, emb_dim=8, seq_len=20, seed=0)
        path = one.save(tempfile.mkdtemp() + '/m')
        mir = CharRNN.load(path, strategy=s)
        x = np.concatenate([[one.vocab.bos_id], one.vocab.encode(va[:50], 'map')])[None].astype('int32')
        start_diff = float(np.abs(mir.model(x).numpy() - one.model(x).numpy()).max())
        w0 = one.model.get_weights()
        h1 = one.fit(tr, va, epochs=1, batch_size=8, sample_every=0, verbose=0)
        h2 = mir.fit(tr, va, epochs=1, batch_size=8, sample_every=0, verbose=0)
        print('RESULT' + json.dumps(dict(replicas=s.num_replicas_in_sync, start_diff=start_diff, h1=h1, h2=h2,
              wdiff=max(float(np.abs(a - b).max()) for a, b in zip(one.model.get_weights(), mir.model.get_weights())),
              moved=max(float(np.abs(a - b).max()) for a, b in zip(one.model.get_weights(), w0)),
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
    text = real_data('tinyshakespeare').read_text(encoding='utf-8')
    v = Vocab.build(split_text(text, 0.1)[0])
    assert len(v) == 65 + 2  # 65 characters (the newline among them) + <unk>, <bos>
    assert len(encode_corpus(v, text)) == len(text) + 1
