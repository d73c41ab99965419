"Tests for textgen_course.evaluate: held-out scores, corpus comparison, loops, copying, temperature sweeps."
import math
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from textgen_course.evaluate import *

CORPUS = ['This movie was the worst thing I have ever seen in my whole life.', 'Awful acting, awful plot, awful everything.',
          'I walked out after twenty minutes and asked for my money back.']

@given(st.text(max_size=80), st.text(max_size=80))
@settings(max_examples=100, deadline=None)
def test_js_divergence_bounds_and_symmetry(a, b):
    if not a or not b: return
    p, q = char_frequencies(a), char_frequencies(b)
    d = js_divergence(p, q)
    assert 0 <= d <= 1 + 1e-9
    assert math.isclose(d, js_divergence(q, p), abs_tol=1e-9)
    if set(a) == set(b) and p == q: assert d < 1e-9

@given(st.text(alphabet='ab cd.', max_size=120))
@settings(max_examples=200, deadline=None)
def test_longest_copy_is_a_real_and_maximal_copy(sample):
    idx = CorpusIndex(['ab cd. ab ab cdd a.b'])
    best = idx.longest_copy(sample)
    assert best in sample and best in idx.text
    # no longer substring of the sample occurs in the corpus
    L = len(best) + 1
    assert not any(sample[i:i + L] in idx.text for i in range(len(sample) - L + 1))

def test_loops_are_detected_and_normal_text_is_not():
    assert loop_stats('The story is absolutely awful. The story is absolutely awful.')['longest_loop_words'] == 5
    assert loop_stats('the the the the')['longest_loop_words'] == 2
    assert loop_stats('A long and winding review of a dull film.')['repeat_share'] == 0

def test_report_catches_copying_and_invention():
    rep = compare_to_corpus(['I walked out after twenty minutes and asked for my money back.', 'Blorfy zanktion wibbled.'], CORPUS)
    assert rep['longest copied span (chars, max)'][0] == len(CORPUS[2])
    assert rep['word 8-grams found in corpus'][0] == pytest.approx(0.5)
    assert rep['known-word share'][0] == pytest.approx(12 / 15)
    assert '<table>' in rep._repr_html_() and 'longest copied span' in str(rep)
    fig = rep.plot()
    assert len(fig.axes) == 2

def test_bad_input():
    with pytest.raises(ValueError, match='no generated texts'): compare_to_corpus([], CORPUS)
    with pytest.raises(ValueError, match='no corpus: the list is empty'): compare_to_corpus(['x'], [])
    with pytest.raises(TypeError, match=r'generated texts\[1\] is int'): compare_to_corpus(['ok', 3], CORPUS)
    with pytest.raises(ValueError, match='no words'): word_stats(['1234 ...'])
    # characters the corpus never saw are reported, not an error
    assert compare_to_corpus(['Ça va? 😀 yes'], CORPUS)['characters unseen in corpus'][0] == '?Ç😀'

class Echo:
    "A stand-in model: returns the temperature as text, so the sweep's bookkeeping can be checked."
    def generate(self, n, return_as_list, temperature, max_gen_length, seed, **kw):
        assert return_as_list
        return ['awful awful awful awful awful' if temperature < 0.5 else 'I walked out after twenty minutes and left.'] * n
    def evaluate(self, texts): return {'loss': 1.0, 'tokens': 10}

def test_temperature_sweep_and_heldout():
    sw = temperature_sweep(Echo(), CORPUS, temperatures=(0.2, 1.0), n=2, max_gen_length=10)
    assert sw['texts with a back-to-back loop'] == {0.2: 1.0, 1.0: 0.0}
    assert sw['longest copied span (chars, max)'][1.0] >= len('I walked out after twenty minutes and ')
    assert list(sw['samples']) == [0.2, 1.0]
    assert 'temperature' in sweep_table(sw)
    r = heldout_score(Echo(), ['some text'])
    assert r['bpc'] == pytest.approx(1 / math.log(2)) and r['perplexity'] == pytest.approx(math.e)

# ---- issue 13: per-token scores, n-gram baselines, the fast copy check

@pytest.fixture(scope='module')
def pretrained():
    from textgen_course.textgenrnn import TextGenRNN
    return TextGenRNN()

@pytest.fixture(scope='module')
def tiny_rnn():
    from textgen_course.charrnn import CharRNN
    return CharRNN.new(' '.join(CORPUS), units=16, emb_dim=8, seq_len=20, seed=0)  # one plain text: no end token

def test_heldout_score_of_one_text_with_a_real_model(pretrained):
    "A list of one text stays a list: the real textgenrnn rejects a bare string, so this crashed before."
    r = heldout_score(pretrained, [CORPUS[0]])
    assert r['tokens'] == len(CORPUS[0]) + 1 and r['bpc'] == pytest.approx(pretrained.evaluate([CORPUS[0]])['bpc'])

@pytest.mark.parametrize('which', ['textgenrnn', 'charrnn', 'ngram'])
def test_greedy_text_has_rank_one_everywhere(which, pretrained, tiny_rnn):
    "A text the model wrote greedily (always its first guess) must score rank 1 at every token, under each model's own context rule."
    if which == 'textgenrnn': model, text = pretrained, pretrained.generate(1, return_as_list=True, temperature=0.0, max_gen_length=120)[0]
    elif which == 'charrnn': model, text = tiny_rnn, tiny_rnn.generate(1, return_as_list=True, temperature=0.0, max_gen_length=60)[0]
    else:
        model, text = CharNGram(4).fit(CORPUS), ''
        for _ in range(60):  # greedy generation from the n-gram model itself
            d = model.distribution(text)
            best = max((p, ch) for ch, p in d.items() if ch not in ('<end>', '<unk>'))[1]
            text += best
    s = token_scores(model, text)
    assert len(text) > 10 and (s.rank == 1).all(), (which, text, s.rank)
    shuffled = ''.join(np.random.default_rng(0).permutation(list(text)))
    assert token_scores(model, shuffled).bpc > s.bpc

def test_token_scores_agree_with_evaluate(pretrained, tiny_rnn):
    "Summed per-token bits equal the model's own held-out loss (without the end-of-text token it adds)."
    text = CORPUS[2]
    s = token_scores(pretrained, text)
    total = -np.sum(s.logprob)  # nats over the text's characters
    r = pretrained.evaluate([text])  # also scores the closing <s>
    assert total < r['loss'] * r['tokens'] and total > r['loss'] * r['tokens'] - 20
    s2 = token_scores(tiny_rnn, text)
    r2 = tiny_rnn.evaluate(text)  # a plain text: no end token
    assert -np.sum(s2.logprob) == pytest.approx(r2['loss'] * r2['tokens'], rel=1e-4)

def test_token_scores_unknown_characters_and_bad_input(pretrained):
    s = token_scores(pretrained, 'ok 😀 ok')
    assert s.rank[3] == 0 and np.isnan(s.logprob[3]) and s.rank_counts()['unknown'] == 1
    assert s.bits == pytest.approx(-np.nansum(s.logprob) / math.log(2))
    with pytest.raises(ValueError, match='text is empty'): token_scores(pretrained, '')
    with pytest.raises(TypeError, match='must be a string'): token_scores(pretrained, ['a list'])
    with pytest.raises(TypeError, match='cannot score'): token_scores(object(), 'abc')
    html_view = scores_html(s, 'pretrained')
    assert html_view.count('title="p = ') == len(s.tokens) - 1 and 'not in the vocabulary' in html_view

@pytest.mark.parametrize('order', [0, 1, 2, 3, 6])
def test_ngram_probabilities_sum_to_one_for_every_context(order):
    m = CharNGram(order).fit(CORPUS)
    rng = np.random.default_rng(order)
    contexts = ['', 'the', 'awful a', 'zq', '😀', 'money back.'] + [''.join(rng.choice(list('abc .x'), 5)) for _ in range(20)]
    for c in contexts:
        d = m.distribution(c)
        assert len(d) == len(m.itos) and min(d.values()) > 0
        assert sum(d.values()) == pytest.approx(1.0, abs=1e-9)

def test_ngram_orders_improve_then_unseen_text_costs_more():
    m = [CharNGram(k).fit(CORPUS[:2]) for k in range(5)]
    assert m[0].evaluate(CORPUS[:2])['bpc'] == pytest.approx(math.log2(len(m[0].itos)))
    seen = [x.evaluate(CORPUS[:2])['bpc'] for x in m]
    assert all(a > b for a, b in zip(seen, seen[1:]))  # on its training text, each order is better than the last
    assert m[4].evaluate([CORPUS[2]])['unknown'] > 0  # characters never seen in training are possible, not an error
    with pytest.raises(ValueError, match='order must be'): CharNGram(-1)
    with pytest.raises(TypeError, match=r'training texts\[0\] is int'): CharNGram(2).fit([1, 2])

def test_copy_check_finds_a_planted_copy_and_nothing_in_shuffled_text():
    rng = np.random.default_rng(0)
    corpus = [''.join(rng.choice(list('abcdefghij klmnop'), 3000)) for _ in range(5)]
    idx = CorpusIndex(corpus)
    planted = corpus[3][1234:1284]
    sample = 'zzzz' + planted + 'yyyy'
    label, span = idx.copy_check(sample)
    assert label == 'copied' and span == planted
    shuffled = ''.join(rng.permutation(list(sample)))
    label, span = idx.copy_check(shuffled)
    assert label == 'new' and len(span) < 12
    assert idx.copy_check(corpus[1][:30]) == ('new', corpus[1][:30])  # 30 characters of a training text: not a copy
    titles = CorpusIndex(corpus + ['a short title'])
    assert titles.copy_check('a short title') == ('copied', 'a short title')  # a whole training text, however short

@given(st.text(alphabet='abc', min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_suffix_array_sorts_suffixes(s):
    assert suffix_array(np.array([ord(c) for c in s])).tolist() == sorted(range(len(s)), key=lambda i: s[i:])
