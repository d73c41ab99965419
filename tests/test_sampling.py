"Tests for textgen_course.sampling: the one sampler every course model uses."
import numpy as np
import pytest
import tensorflow as tf
from textgen_course.sampling import *
from textgen_course.checks import check_sampling

V = 6
chain = tf.constant(np.log(np.eye(V, k=1) * 0.97 + 0.005), tf.float32)  # after token i, token i+1 is (almost) certain
chain_step = lambda state, ids: (tf.gather(chain, ids), ids)

def start(tokens):
    ids = tf.constant(tokens, tf.int32)
    return tf.gather(chain, ids), ids

def test_rows_leave_the_batch_without_disturbing_the_others():
    "A text that draws the stop token leaves the batch; the other texts go on exactly as before."
    # each row starts elsewhere on the chain, so rows reach the stop token (V-1) at different steps
    out = generate_ids(chain_step, *start([0, 3, 1, 4, 2]), max_gen_length=20, temperature=0.0, stop_id=V - 1)
    assert out == [[1, 2, 3, 4], [4], [2, 3, 4], [], [3, 4]]

def counting(step):
    "`step`, and a variable that sums the batch sizes it is called with (the rows the model is advanced for)."
    work = tf.Variable(0)
    def counting_step(state, ids):
        work.assign_add(tf.shape(ids)[0])
        return step(state, ids)
    return counting_step, work

def test_finished_rows_stop_costing_work():
    "The model is only ever advanced for texts that are still running (and not after the last token)."
    counting_step, work = counting(chain_step)
    out = generate_ids(counting_step, *start([0, 3, 1, 4, 2]), max_gen_length=20, temperature=0.0, stop_id=V - 1)
    assert int(work.numpy()) == sum(len(s) for s in out) == 10  # a text of L tokens was advanced L times
    work.assign(0)
    out = generate_ids(counting_step, *start([0, 0, 0]), max_gen_length=3, temperature=0.0)  # no stop token: 3 tokens each
    assert out == [[1, 2, 3]] * 3 and int(work.numpy()) == 3 * 2

def test_xla_generation_keeps_power_of_two_batches():
    "With XLA the batch shrinks to powers of two (few sizes to compile): same texts, at most twice the exact work."
    counting_step, work = counting(chain_step)
    out = generate_ids(counting_step, *start([0, 3, 1, 4, 2]), max_gen_length=20, temperature=0.0, stop_id=V - 1,
                       compiled=compile_generation(counting_step, jit_compile=True))
    assert out == [[1, 2, 3, 4], [4], [2, 3, 4], [], [3, 4]]
    assert 10 <= int(work.numpy()) <= 20, int(work.numpy())

def test_sampling_matches_the_tempered_distribution():
    "Draws follow softmax(logits / T) for T = 1, 0.5, 2 (frequencies over 20,000 rows)."
    p = np.array([0.5, 0.25, 0.15, 0.1])
    m = 20000
    for T in (1.0, 0.5, 2.0):
        ids = sample_logits(tf.constant(np.tile(np.log(p), (m, 1)), tf.float32), T, 0, 1.0, tf.constant([3, 4])).numpy()
        freq = np.bincount(ids, minlength=4) / m
        want = p ** (1 / T) / (p ** (1 / T)).sum()
        assert np.abs(freq - want).max() < 0.015, (T, freq, want)

def test_top_k_and_top_p_limit_the_support():
    "top-k keeps the k most likely tokens, top-p the smallest set reaching p; a k above the vocabulary size keeps all."
    lg = tf.constant(np.tile(np.log([0.4, 0.3, 0.2, 0.1]), (5000, 1)), tf.float32)
    seed = tf.constant([1, 1])
    assert set(sample_logits(lg, 1.0, 3, 1.0, seed).numpy()) == {0, 1, 2}
    assert set(sample_logits(lg, 1.0, 0, 0.65, seed).numpy()) == {0, 1}
    assert set(sample_logits(lg, 1.0, 0, 0.05, seed).numpy()) == {0}
    assert set(sample_logits(lg, 1.0, 1, 1.0, seed).numpy()) == {0}
    # top-k larger than the vocabulary is harmless
    assert set(sample_logits(lg, 1.0, 99, 1.0, seed).numpy()) == {0, 1, 2, 3}

def test_temperature_list_cycles_per_token():
    "A list of temperatures is cycled token by token, starting at `temp_offset`."
    flat = tf.constant([[4.0, 0, 0, 0, 0, 0]])
    step = lambda state, ids: (tf.tile(flat, [tf.shape(ids)[0], 1]), ids)
    lg = tf.tile(flat, [200, 1])
    out = np.array(generate_ids(step, lg, tf.zeros(200, tf.int32), 6, temperature=[0.0, 100.0], seed=0))
    assert (out[:, ::2] == 0).all()           # greedy at even positions
    assert len(set(out[:, 1::2].ravel())) == V  # near-uniform at odd positions
    out = np.array(generate_ids(step, lg, tf.zeros(200, tf.int32), 6, temperature=[0.0, 100.0], seed=0, temp_offset=1))
    assert (out[:, 1::2] == 0).all()

def test_generate_ids_draws_what_rerunning_draws():
    "The compiled loop draws the same tokens as the plain re-run loop: the same (seed, step) keys, temperature and bans."
    rerun_logits = lambda ids: tf.gather(chain, ids[:, -1])  # the chain only looks at the last token
    for temperature, seed, ban in [(1.5, 7, [2]), (0.0, 0, []), (3.0, 123, [0, 4])]:
        fast = generate_ids(chain_step, *start([0, 3, 1, 5]), 12, temperature=temperature, seed=seed, ban_ids=ban)
        slow = generate_by_rerun(rerun_logits, [[0], [3], [1], [5]], 12, temperature, seed, ban)
        assert fast == slow, (temperature, seed)
        assert all(len(row) == 12 and not set(row) & set(ban) for row in fast)
    assert len({tuple(r) for r in generate_by_rerun(rerun_logits, [[0]] * 20, 6, 3.0, 1)}) > 1  # rows draw independently

def test_seed_reproduces_and_varies():
    "The same seed gives the same texts; another seed other texts."
    lg, st = start([0] * 8)
    a = generate_ids(chain_step, lg, st, 10, temperature=3.0, seed=5)
    assert a == generate_ids(chain_step, lg, st, 10, temperature=3.0, seed=5)
    assert a != generate_ids(chain_step, lg, st, 10, temperature=3.0, seed=6)

def test_banned_tokens_are_never_drawn():
    "Banned token ids are never drawn, even at a high temperature."
    lg, st = start([0] * 50)
    out = generate_ids(chain_step, lg, st, 10, temperature=5.0, seed=1, ban_ids=[1, 2])
    assert not {1, 2} & set(np.ravel(out))

@pytest.mark.parametrize('kw,msg', [(dict(temperature=-1), r'temperature must be a finite number >= 0 \(0 = greedy\), got -1'),
                                   (dict(temperature=float('nan')), 'finite'), (dict(temperature=[]), 'temperature list is empty'),
                                   (dict(top_k=-1), 'top_k must be an integer from 0 up'), (dict(top_p=1.5), r'top_p must be a number in \(0, 1\]'),
                                   (dict(max_gen_length=0), 'max_gen_length must be an integer from 1 up, got 0')])
def test_bad_arguments(kw, msg):
    "Bad sampling settings are refused before anything is generated, with a message naming the argument."
    args = dict(max_gen_length=3) | kw
    with pytest.raises(ValueError, match=msg): generate_ids(chain_step, *start([0]), **args)

class Letters(TextSampler):
    stop_id = V - 1
    def _start(self, prefix, n):
        ids = tf.fill([n], len(prefix) % (V - 1))
        return tf.gather(chain, ids), ids, len(prefix)
    def _step(self, state, ids): return chain_step(state, ids)
    def _decode(self, ids): return ''.join('abcdef'[i] for i in ids)

def test_text_sampler_api(tmp_path, capsys):
    "generate (printed or returned, with a prefix), generate_samples and generate_to_file on a toy sampler."
    m = Letters()
    assert m.generate(2, return_as_list=True, temperature=0.0) == ['bcde', 'bcde']
    assert m.generate(1, return_as_list=True, temperature=0.0, prefix='xy') == ['xyde']
    m.generate(1, temperature=0.0)
    assert capsys.readouterr().out == 'bcde\n'
    s = m.generate_samples(2, [0.0, 0.5], return_as_list=True)
    assert list(s) == [0.0, 0.5] and s[0.0] == ['bcde', 'bcde']
    f = m.generate_to_file(tmp_path/'o.txt', n=3, temperature=0.0)
    assert f.read_text() == 'bcde\n' * 3
    with pytest.raises(TypeError, match='unexpected'): m.generate(1, temprature=0.5)
    with pytest.raises(ValueError, match='n must be an integer from 1 up, got 0'): m.generate(0)

def test_misspelt_argument_is_named():
    "A misspelt argument is refused before anything is generated, naming it; textgenrnn's arguments without meaning here pass."
    m = Letters()
    with pytest.raises(TypeError, match=r"generate\(\) got unexpected argument\(s\) \['temprature'\]"): m.generate(1, temprature=1)
    with pytest.raises(TypeError, match=r"\['max_length', 'topk'\]"): m.generate(1, topk=3, max_length=5)
    with pytest.raises(TypeError, match='temprature'): m.generate_samples(1, temprature=1)
    assert m.generate(1, return_as_list=True, temperature=0.0, progress=False, interactive=False, top_n=3) == ['bcde']

def test_sample_callback_collects_samples():
    "The callback samples every `every` epochs and keeps the samples by epoch."
    cb = SampleCallback(Letters(), every=2, temperatures=[0.0], n=1, verbose=False)
    for e in range(4): cb.on_epoch_end(e)
    assert cb.history == {2: {0.0: ['bcde']}, 4: {0.0: ['bcde']}}

def test_next_power_of_two_is_exact_where_float_log2_was_not():
    "Integer arithmetic: the XLA batch never drops a live row (float32 log2 gave 16384 for 16385 texts)."
    for n in (1, 2, 3, 5, 64, 16384, 16385, 32769, 65537, 2**20 + 1, 2**30):
        assert int(next_power_of_two(n)) == 1 << (n - 1).bit_length(), n
        assert int(next_power_of_two(tf.constant(n))) >= n
    assert int(next_power_of_two(0)) == 1

def test_xla_batch_keeps_every_running_text_at_16385():
    "16,386 texts, one ending at once: the 16,385 running ones get a batch of 32,768 rows (the old float formula gave 16,384: one dropped)."
    n = 16386
    out = generate_ids(chain_step, *start([V - 2] + [0] * (n - 1)), 3, temperature=0.0, stop_id=V - 1,
                       compiled=compile_generation(chain_step, jit_compile=True))
    assert out[0] == [] and out[1:] == [[1, 2, 3]] * (n - 1)

@pytest.mark.parametrize('top_p', [np.float32(0.9), np.float64(0.5), 1, np.int64(1)])
def test_numpy_numbers_are_accepted(top_p):
    "NumPy integers and floats are accepted wherever a Python number is."
    check_sampling(np.int64(2), np.int32(5), top_k=np.int32(3), top_p=top_p)

@pytest.mark.parametrize('kw,err,msg', [
    (dict(top_p=float('nan')), ValueError, 'top_p must be a number in (0, 1]'), (dict(top_p=0.0), ValueError, 'top_p must be a number in (0, 1]'),
    (dict(top_p=np.float32(1.5)), ValueError, 'top_p must be a number in (0, 1]'), (dict(top_p=True), TypeError, 'top_p must be a number'),
    (dict(top_p='0.9'), TypeError, 'top_p must be a number'), (dict(top_k=-1), ValueError, 'top_k must be an integer from 0 up, got -1'),
    (dict(top_k=np.bool_(True)), TypeError, 'top_k must be an integer'), (dict(top_k=2.0), TypeError, 'top_k must be an integer')])
def test_bad_top_k_top_p(kw, err, msg):
    "Bad top_k / top_p values: the right error type and a message naming the argument."
    with pytest.raises(err, match=msg.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[').replace(']', r'\]')): check_sampling(1, 5, **kw)
