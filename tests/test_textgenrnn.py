"Tests of textgen_course.textgenrnn: equivalence with the original textgenrnn (fixture), sampling, training, save/load, bad input."
import json, os, subprocess, sys, textwrap, warnings
from pathlib import Path
import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
from textgen_course.textgenrnn import (TextGenRNN, textgenrnn, encode_texts, window_dataset, chunk_dataset, load_vocab,
                                       textgenrnn_files, convert_cudnn_lstm, reference_file, META_TOKEN)
from textgen_course.corpus import CorpusError

TEXTS = ['This movie was terrible and the acting was worse.', 'I want my money back, every cent of it.',
         'The plot makes no sense at all.', 'Avoid at all costs.', 'One star, because zero is not an option.',
         'The dog was the best actor in the film.']

@pytest.fixture(scope='module')
def ref(): return np.load(reference_file())

@pytest.fixture(scope='module')
def tg(): return TextGenRNN()

def test_probs_match_original(tg, ref):
    np.testing.assert_allclose(tg.predict_proba(ref['inputs']), ref['probs'], atol=1e-5, rtol=0)

def test_encoding_matches_original(tg, ref):
    got = np.stack([tg.encode_prefix(str(p), unknown='pad')[0] for p in ref['prefixes']])
    np.testing.assert_array_equal(got, ref['inputs'])
    assert json.loads(str(ref['contexts_json']))[0] == [META_TOKEN]

def test_attention_vectors_match_original(tg, ref):
    import keras
    att = keras.Model(tg.model.inputs, tg.model.get_layer('attention').output)(ref['inputs'])
    np.testing.assert_allclose(np.asarray(att), ref['attention'], atol=1e-5, rtol=0)

def test_greedy_generation_matches_original(tg, ref):
    for p, want in zip(ref['gen_prefixes'], ref['gen_texts']):
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

def test_conversion_is_needed():
    k, rk, b = np.arange(8 * 4, dtype='float32').reshape(2, 16), np.ones((4, 16), 'float32'), np.arange(32, dtype='float32')
    ck, crk, cb = convert_cudnn_lstm(k, rk, b)
    assert ck.shape == k.shape and crk.shape == rk.shape and cb.shape == (16,)
    np.testing.assert_array_equal(cb, b[:16] + b[16:])
    with pytest.raises(ValueError, match='CuDNN bias'): convert_cudnn_lstm(k, rk, b[:16])

def test_sampling_options(tg):
    a = tg.generate(3, return_as_list=True, seed=5, max_gen_length=40, top_k=10, top_p=0.9)
    assert a == tg.generate(3, return_as_list=True, seed=5, max_gen_length=40, top_k=10, top_p=0.9)
    assert len(a) == 3 and all(len(t) <= 40 for t in a)
    s = tg.generate_samples(1, temperatures=[0.2, 1.0], return_as_list=True, max_gen_length=20, seed=0)
    assert set(s) == {0.2, 1.0}

def test_long_prefix_uses_last_40_chars(tg):
    long = 'z' * 50 + 'The worst movie I have ever seen, so far.'
    assert tg.encode_prefix(long)[0].tolist() == tg.encode_prefix(long[-41:])[0].tolist()
    assert tg.generate(1, return_as_list=True, prefix=long, max_gen_length=5, seed=0)[0].startswith(long)

def test_bad_generation_input(tg):
    with pytest.raises(ValueError, match='>= 0'): tg.generate(temperature=-0.5)
    with pytest.raises(ValueError, match='finite'): tg.generate(temperature=float('nan'))
    with pytest.raises(ValueError, match='n must be at least 1'): tg.generate(0)
    with pytest.raises(ValueError, match='max_gen_length'): tg.generate(1, max_gen_length=0)
    with pytest.raises(ValueError, match="'😂'"): tg.generate(1, prefix='good 😂')
    t = TextGenRNN(unknown_prefix='drop')
    assert t.encode_prefix('ab😂')[0].tolist() == t.encode_prefix('ab')[0].tolist()

def test_unknown_training_chars_reported(tg):
    with pytest.warns(UserWarning, match="'😂'×2"): docs, bad = encode_texts(['a 😂 b 😂'], tg.vocab)
    assert bad == {'😂': 2}
    with pytest.raises(ValueError, match='not in the vocabulary'): encode_texts(['😂'], tg.vocab, unknown='error')

def test_datasets_frame_documents(tg):
    docs = encode_texts(['abc', 'de'], tg.vocab)[0]
    x, y = next(iter(window_dataset(docs, 40, 64, shuffle=False)))
    assert len(y) == 7 and x[4].numpy().tolist() == [0] * 39 + [tg.vocab[META_TOKEN]]
    x, y, w = next(iter(chunk_dataset(docs, 40, 40, 8, shuffle=False)))
    assert float(w.numpy().sum()) == 7
    xw, yw = next(iter(window_dataset(docs, 40, 64, shuffle=False)))
    x1, y1, w1 = next(iter(chunk_dataset(docs, 40, 1, 64, shuffle=False)))  # chunk_len 1 = exactly the original windows
    np.testing.assert_array_equal(x1.numpy(), xw.numpy())
    np.testing.assert_array_equal(y1.numpy()[:, -1], yw.numpy())

def test_evaluate(tg):
    r = tg.evaluate(TEXTS[:2])
    assert r['tokens'] == len(TEXTS[0]) + len(TEXTS[1]) + 2
    assert abs(r['bpc'] - r['loss'] / np.log(2)) < 1e-9 and abs(r['perplexity'] - np.exp(r['loss'])) < 1e-6
    with pytest.raises(TypeError, match='list of strings'): tg.evaluate('one string')

@pytest.mark.parametrize('mode', ['original', 'all_positions'])
def test_finetune_lowers_loss_and_round_trips(tmp_path, mode):
    t = TextGenRNN(name='t')
    before = t.evaluate(TEXTS[:4])['loss']  # a few seconds of training must at least fit the training texts better
    h = t.train_on_texts(TEXTS[:4] * 3, valid_texts=TEXTS[:4], num_epochs=1, batch_size=64, mode=mode, gen_epochs=0, verbose=0)
    assert h.history['val_loss'][0] < before
    files = t.save(tmp_path/'m.weights.h5')
    u = TextGenRNN(files['weights'])
    w = np.stack([t.encode_prefix('The plot')[0]])
    np.testing.assert_array_equal(u.predict_proba(w), t.predict_proba(w))

def test_load_errors(tmp_path):
    t = TextGenRNN(name='x')
    files = t.save(tmp_path/'x.weights.h5')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.model.json', 'x.weights.h5']
    other = tmp_path/'other_vocab.json'
    other.write_text(json.dumps({'a': 1, 'b': 2, META_TOKEN: 3}))
    with pytest.raises(ValueError, match='vocab'): TextGenRNN(files['weights'], vocab_path=other)
    alone = tmp_path/'alone.weights.h5'
    alone.write_bytes(files['weights'].read_bytes())
    with pytest.raises(ValueError, match='do not fit'): TextGenRNN(alone, vocab_path=other)  # no JSON beside it
    cut = tmp_path/'cut.weights.h5'
    cut.write_bytes(files['weights'].read_bytes()[:4000])
    with pytest.raises(ValueError, match='truncated'): TextGenRNN(cut)
    with pytest.raises(FileNotFoundError, match='no such weights file'): TextGenRNN(tmp_path/'none.weights.h5')
    cut_h5 = tmp_path/'cut.hdf5'
    cut_h5.write_bytes(textgenrnn_files()['weights'].read_bytes()[:10000])
    with pytest.raises(ValueError, match='truncated'): TextGenRNN(cut_h5)

def _old_format(t, path):
    "Write a model the way the previous course release did: x.weights.h5 + x_vocab.json + x_config.json."
    from textgen_course.modelfiles import vocab_digest
    t.model.save_weights(path)
    stem = str(path)[:-len('.weights.h5')]
    Path(stem + '_vocab.json').write_text(json.dumps(t.vocab, ensure_ascii=False), encoding='utf-8')
    cfg = {**t.config, 'name': t.name, 'vocab_size': len(t.vocab), 'vocab_sha256': vocab_digest(t.vocab)}
    Path(stem + '_config.json').write_text(json.dumps(cfg, indent=1), encoding='utf-8')

def test_old_format_still_loads_and_checks(tmp_path):
    t = TextGenRNN(name='old')
    _old_format(t, tmp_path/'old.weights.h5')
    u = TextGenRNN(tmp_path/'old.weights.h5')
    w = t.encode_prefix('The plot')[0][None]
    np.testing.assert_array_equal(u.predict_proba(w), t.predict_proba(w))
    cfg = json.loads((tmp_path/'old_config.json').read_text())
    cfg['vocab_size'] = 3
    bad_cfg = tmp_path/'bad_config.json'
    bad_cfg.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match='vocab of 3 tokens'): TextGenRNN(tmp_path/'old.weights.h5', vocab_path=tmp_path/'old_vocab.json', config_path=bad_cfg)
    v = json.loads((tmp_path/'old_vocab.json').read_text(encoding='utf-8'))
    a, b = list(v)[:2]
    v[a], v[b] = v[b], v[a]  # same size, two tokens swapped
    (tmp_path/'old_vocab.json').write_text(json.dumps(v, ensure_ascii=False), encoding='utf-8')
    with pytest.raises(ValueError, match='same size, different tokens'): TextGenRNN(tmp_path/'old.weights.h5')

def test_failed_load_leaves_the_model_as_it_was(tmp_path):
    "load builds aside and swaps in only after the weights loaded: a bad file changes nothing."
    small = textgenrnn(name='s')
    small.train_new_model(TEXTS, num_epochs=1, rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8, gen_epochs=0, verbose=0)
    files = small.save(tmp_path/'s.weights.h5')
    cut = tmp_path/'cut.weights.h5'
    cut.write_bytes(files['weights'].read_bytes()[:3000])
    import shutil
    shutil.copy(files['meta'], tmp_path/'cut.model.json')
    _old_format(small, tmp_path/'o.weights.h5')  # the earlier format: vocab and config beside, read before the weights
    (tmp_path/'o.weights.h5').write_bytes((tmp_path/'o.weights.h5').read_bytes()[:3000])
    t = TextGenRNN()
    w = t.encode_prefix('The plot')[0][None]
    before, vocab, model = t.predict_proba(w), t.vocab, t.model
    files['weights'].write_bytes(b'')
    for bad in (cut, files['weights'], tmp_path/'o.weights.h5'):  # truncated, zero bytes, truncated with another vocab/config
        with pytest.raises(ValueError): t.load(bad)
        assert t.vocab is vocab and t.model is model
        np.testing.assert_array_equal(t.predict_proba(w), before)

def test_bad_training_input(tmp_path, tg):
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts([], num_epochs=1)
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts(['', ' '], num_epochs=1)
    with pytest.raises(ValueError, match='mode must be'): tg.train_on_texts(['abc'], mode='fast')
    empty = tmp_path/'empty.txt'
    empty.write_text('')
    with pytest.raises(CorpusError, match='empty'): tg.train_from_file(empty)
    header_only = tmp_path/'h.txt'
    header_only.write_text('header\n')
    with pytest.raises(CorpusError, match='no non-empty texts'): tg.train_from_file(header_only)

def test_new_models_char_and_word():
    t = textgenrnn(name='w')
    t.train_new_model(TEXTS, num_epochs=1, word_level=True, rnn_size=16, gen_epochs=0, verbose=0)
    assert t.config['word_level'] and all(o.startswith('the movie') for o in t.generate(2, return_as_list=True, prefix='the movie', max_gen_length=5, seed=0))
    b = textgenrnn(name='b')
    b.train_new_model(TEXTS, num_epochs=1, rnn_layers=1, rnn_size=16, rnn_bidirectional=True, max_length=12, gen_epochs=0, verbose=0)
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
            def __init__(self, tg): super().__init__(); self.tg = tg
            def on_train_begin(self, logs=None): self.probs = self.tg.predict_proba(w)
        out = {}
        for name, strategy in [('one', None), ('mirrored', s)]:
            t = TextGenRNN(); before = t.predict_proba(w); cb = AtStart(t); w0 = t.model.get_weights()
            h = t.train_on_texts(texts, valid_texts=['Never again.'], num_epochs=1, batch_size=64, strategy=strategy, gen_epochs=0,
                                 verbose=0, steps_per_epoch=3, callbacks=[cb], seed=1)
            out[name] = dict(start_diff=float(np.abs(cb.probs - before).max()), loss=h.history['loss'][-1], val_loss=h.history['val_loss'][-1],
                             weights=[a.tolist() for a in t.model.get_weights()],
                             moved=max(float(np.abs(a - b).max()) for a, b in zip(t.model.get_weights(), w0)), gen=len(t.generate(2, return_as_list=True, max_gen_length=10, seed=0)))
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
    for a, b in zip(mir['weights'], one['weights']): np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-3, rtol=0)
    assert mir['moved'] > 1e-3 and one['moved'] > 1e-3  # both really trained (so equal weights are not equal by standing still)

def test_single_text_and_config_on_a_trained_model_are_refused(tmp_path):
    "textgenrnn's single_text (one long text) is not implemented: say so instead of ignoring it; config keys need new_model."
    from textgen_course.textgenrnn import load_config
    with pytest.raises(ValueError, match='single_text=True'): textgenrnn().train_new_model(TEXTS, single_text=True, rnn_size=8, num_epochs=1)
    cfg = tmp_path/'c_config.json'
    cfg.write_text(json.dumps({'single_text': True}), encoding='utf-8')
    with pytest.raises(ValueError, match='single_text=True'): load_config(cfg)
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
            for n, a in zip(names, w): g.create_dataset(n, data=a)
    keras.utils.set_random_seed(5)
    got = load_textgenrnn_weights(_Layers(9, cfg).window_model(), path)
    x = np.random.default_rng(2).integers(0, 9, (3, 6)).astype('int32')
    np.testing.assert_allclose(np.asarray(got(x)), np.asarray(ref(x)), atol=1e-5)
    for a, b in zip(got.get_weights(), ref.get_weights()): np.testing.assert_allclose(a, b, atol=1e-6)

def test_train_new_model_save_epochs_writes_a_loadable_model_into_checkpoint_dir(tmp_path, monkeypatch):
    "The docstring's promise: `save_epochs` writes the weights and the vocab/config JSON, into `checkpoint_dir` (not the cwd)."
    monkeypatch.chdir(tmp_path)
    t = textgenrnn(name='new')
    t.train_new_model(TEXTS, num_epochs=1, rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8, gen_epochs=0, verbose=0,
                      save_epochs=1, checkpoint_dir=tmp_path/'out')
    assert not list(tmp_path.glob('*.h5'))  # nothing in the current folder
    u = TextGenRNN(tmp_path/'out'/'new.weights.h5')
    assert u.vocab == t.vocab and u.config == t.config
    w = t.encode_prefix('The plot')[0][None]
    np.testing.assert_array_equal(u.predict_proba(w), t.predict_proba(w))

def test_train_size_split_keeps_validation_documents_out_of_training(monkeypatch):
    "With train_size < 1, the held-out documents are scored every epoch and never encoded for training."
    import textgen_course.textgenrnn as m
    seen, real = {}, m.encode_texts
    def spy(texts, vocab, word_level=False, unknown='drop', what='texts', warn=True):
        seen.setdefault(what, []).extend(texts)
        return real(texts, vocab, word_level, unknown, what, warn)
    monkeypatch.setattr(m, 'encode_texts', spy)
    docs = [f'Review number {i}: bad.' for i in range(10)]
    h = TextGenRNN().train_on_texts(docs, train_size=0.7, num_epochs=1, batch_size=64, gen_epochs=0, verbose=0, steps_per_epoch=2)
    train, held = set(seen['training texts']), set(seen['evaluation texts'])
    assert len(train) == 7 and len(held) == 3 and not train & held and train | held == set(docs)
    assert 'val_loss' in h.history

def test_reset_goes_back_to_the_pretrained_model(tg):
    t = textgenrnn(name='r')
    t.train_new_model(TEXTS, num_epochs=1, rnn_size=8, rnn_layers=1, max_length=10, dim_embeddings=8, gen_epochs=0, verbose=0)
    assert t.reset() is t and t.vocab == tg.vocab and t.config == tg.config
    w = tg.encode_prefix('The plot')[0][None]
    np.testing.assert_array_equal(t.predict_proba(w), tg.predict_proba(w))
