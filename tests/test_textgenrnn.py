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
    np.testing.assert_array_equal(x1.numpy(), xw.numpy()); np.testing.assert_array_equal(y1.numpy()[:, -1], yw.numpy())

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
    t = TextGenRNN(name='x'); files = t.save(tmp_path/'x.weights.h5')
    other = tmp_path/'other_vocab.json'; other.write_text(json.dumps({'a': 1, 'b': 2, META_TOKEN: 3}))
    with pytest.raises(ValueError, match='vocab'): TextGenRNN(files['weights'], vocab_path=other)
    alone = tmp_path/'alone.weights.h5'; alone.write_bytes(files['weights'].read_bytes())
    with pytest.raises(ValueError, match='do not fit'): TextGenRNN(alone, vocab_path=other)  # no config beside it
    cut = tmp_path/'cut.weights.h5'; cut.write_bytes(files['weights'].read_bytes()[:4000])
    with pytest.raises(ValueError, match='truncated'): TextGenRNN(cut, vocab_path=files['vocab'], config_path=files['config'])
    with pytest.raises(FileNotFoundError, match='no such weights file'): TextGenRNN(tmp_path/'none.weights.h5')
    cut_h5 = tmp_path/'cut.hdf5'; cut_h5.write_bytes(textgenrnn_files()['weights'].read_bytes()[:10000])
    with pytest.raises(ValueError, match='truncated'): TextGenRNN(cut_h5)
    cfg = json.loads(files['config'].read_text()); cfg['vocab_size'] = 3
    bad_cfg = tmp_path/'bad_config.json'; bad_cfg.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match='vocab of 3 tokens'): TextGenRNN(files['weights'], vocab_path=files['vocab'], config_path=bad_cfg)

def test_bad_training_input(tmp_path, tg):
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts([], num_epochs=1)
    with pytest.raises(CorpusError, match='empty'): tg.train_on_texts(['', ' '], num_epochs=1)
    with pytest.raises(ValueError, match='mode must be'): tg.train_on_texts(['abc'], mode='fast')
    empty = tmp_path/'empty.txt'; empty.write_text('')
    with pytest.raises(CorpusError, match='empty'): tg.train_from_file(empty)
    header_only = tmp_path/'h.txt'; header_only.write_text('header\n')
    with pytest.raises(CorpusError, match='no non-empty texts'): tg.train_from_file(header_only)

def test_new_models_char_and_word():
    t = textgenrnn(name='w')
    t.train_new_model(TEXTS, num_epochs=1, word_level=True, rnn_size=16, gen_epochs=0, verbose=0)
    assert t.config['word_level'] and all(o.startswith('the movie') for o in t.generate(2, return_as_list=True, prefix='the movie', max_gen_length=5, seed=0))
    b = textgenrnn(name='b')
    b.train_new_model(TEXTS, num_epochs=1, rnn_layers=1, rnn_size=16, rnn_bidirectional=True, max_length=12, gen_epochs=0, verbose=0)
    assert b._staggered is None and len(b.generate(2, return_as_list=True, max_gen_length=10, seed=0)) == 2

def test_mirrored_strategy_two_cpus():
    "Training under MirroredStrategy on two logical CPU devices (in a subprocess: devices must be set before TF starts)."
    code = textwrap.dedent('''
        import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
        import tensorflow as tf
        cpu = tf.config.list_physical_devices('CPU')[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from textgen_course.textgenrnn import TextGenRNN
        s = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
        assert s.num_replicas_in_sync == 2
        t = TextGenRNN()
        h = t.train_on_texts(['The plot makes no sense.', 'Avoid at all costs.'] * 4, valid_texts=['Never again.'], num_epochs=1,
                             batch_size=64, strategy=s, gen_epochs=0, verbose=0)
        assert 'val_loss' in h.history
        print('OK', len(t.generate(2, return_as_list=True, max_gen_length=10, seed=0)))
    ''')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'OK 2' in r.stdout, r.stderr[-3000:]
