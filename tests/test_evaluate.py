"Tests for textgen_course.evaluate: held-out scores, per-token scores, n-gram baselines, corpus comparison, loops, copying, temperature sweeps."
import math
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from textgen_course.lm import LanguageModel, TokenLogProbs
from textgen_course.evaluate import *

CORPUS = ['This movie was the worst thing I have ever seen in my whole life.', 'Awful acting, awful plot, awful everything.',
          'I walked out after twenty minutes and asked for my money back.']

# ---- character frequencies and the Jensen-Shannon divergence

@given(st.text(max_size=80), st.text(max_size=80))
@settings(max_examples=100, deadline=None)
def test_js_divergence_bounds_and_symmetry(a, b):
    "Between 0 and 1 bit, symmetric, 0 for the same distribution."
    if not a or not b: return
    p, q = char_frequencies(a), char_frequencies(b)
    d = js_divergence(p, q)
    assert 0 <= d <= 1 + 1e-9
    assert math.isclose(d, js_divergence(q, p), abs_tol=1e-9)
    if p == q: assert d < 1e-9

def _js_by_hand(p, q):
    "JS(p, q) = (KL(p||m) + KL(q||m)) / 2 with m = (p + q) / 2, in bits, summed over the union of the symbols."
    keys = set(p) | set(q)
    m = {k: (p.get(k, 0) + q.get(k, 0)) / 2 for k in keys}
    kl = lambda a: sum(a[k] * math.log2(a[k] / m[k]) for k in a if a[k] > 0)
    return (kl(p) + kl(q)) / 2

@pytest.mark.parametrize('p,q', [({'a': .5, 'b': .5}, {'a': .25, 'b': .75}),
                                 ({'a': .7, 'b': .2, 'c': .1}, {'b': .5, 'd': .5}),
                                 ({'x': 1.0}, {'x': .1, 'y': .9})])
def test_js_divergence_equals_the_formula(p, q):
    "scipy's jensenshannon, squared, in base 2, is the JS divergence computed from its definition (symbols missing on one side count 0)."
    assert js_divergence(p, q) == pytest.approx(_js_by_hand(p, q), abs=1e-12)
    assert js_divergence(q, p) == pytest.approx(js_divergence(p, q), abs=1e-12)

def test_js_divergence_extremes():
    "Exactly 0 for identical distributions and 1 bit for disjoint ones."
    p = char_frequencies('abracadabra')
    assert js_divergence(p, dict(p)) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence(char_frequencies('aab'), char_frequencies('xyzz')) == pytest.approx(1.0, abs=1e-12)
    assert char_frequencies('aab') == {'a': 2 / 3, 'b': 1 / 3}
    assert char_frequencies(['Ab', 'a'], lower=True) == {'a': 2 / 3, 'b': 1 / 3}
    with pytest.raises(ValueError, match='no characters to count'): char_frequencies('')

# ---- copying, loops and the corpus report

@given(st.text(alphabet='ab cd.', max_size=120))
@settings(max_examples=200, deadline=None)
def test_longest_copy_is_a_real_and_maximal_copy(sample):
    "The span occurs in both texts, and no longer substring of the sample occurs in the corpus."
    idx = CorpusIndex(['ab cd. ab ab cdd a.b'])
    best = idx.longest_copy(sample)
    assert best in sample and best in idx.text
    L = len(best) + 1
    assert not any(sample[i:i + L] in idx.text for i in range(len(sample) - L + 1))

def test_loops_are_detected_and_normal_text_is_not():
    "Back-to-back repeats are measured in words; ordinary text has none."
    assert loop_stats('The story is absolutely awful. The story is absolutely awful.')['longest_loop_words'] == 5
    assert loop_stats('the the the the')['longest_loop_words'] == 2
    assert loop_stats('A long and winding review of a dull film.')['repeat_share'] == 0
    assert has_loop('awful awful awful') and not has_loop('the the end')

def test_report_catches_copying_and_invention():
    "A copied review shows as a full-length copied span; invented words lower the known-word share."
    rep = compare_to_corpus(['I walked out after twenty minutes and asked for my money back.', 'Blorfy zanktion wibbled.'], CORPUS)
    assert rep['longest copied span (chars, max)'][0] == len(CORPUS[2])
    assert rep['word 8-grams found in corpus'][0] == pytest.approx(0.5)
    assert rep['known-word share'][0] == pytest.approx(12 / 15)
    assert rep['copied samples (share)'][0] == pytest.approx(0.5)
    assert '<table>' in rep._repr_html_() and 'longest copied span' in str(rep)
    fig = rep.plot()
    assert len(fig.axes) == 2

def test_bad_input():
    "Empty, mistyped or wordless input names the problem; unseen characters are reported, not an error."
    with pytest.raises(ValueError, match='no generated texts'): compare_to_corpus([], CORPUS)
    with pytest.raises(ValueError, match='no corpus: the list is empty'): compare_to_corpus(['x'], [])
    with pytest.raises(TypeError, match=r'generated texts\[1\] is int'): compare_to_corpus(['ok', 3], CORPUS)
    with pytest.raises(ValueError, match='no words'): word_stats(['1234 ...'])
    with pytest.raises(ValueError, match='not fitted'): CharNGram(3).evaluate(['abc'])
    with pytest.raises(ValueError, match='not fitted'): CharNGram(3).token_logprobs('abc')
    with pytest.raises(ValueError, match='not fitted'): CharNGram(3).distribution('abc')
    assert compare_to_corpus(['Ça va? 😀 yes'], CORPUS)['characters unseen in corpus'][0] == '?Ç😀'

# ---- temperature sweep, and the interface's evaluate

class Echo:
    "A stand-in model: its text depends on the temperature, so the sweep's bookkeeping can be checked."
    def generate(self, n, return_as_list, temperature, max_gen_length, seed, **kw):
        assert return_as_list
        return ['awful awful awful awful awful' if temperature < 0.5 else 'I walked out after twenty minutes and left.'] * n

def test_temperature_sweep():
    "One column per temperature, each with its samples and the report's measures."
    sw = temperature_sweep(Echo(), CORPUS, temperatures=(0.2, 1.0), n=2, max_gen_length=10)
    assert sw['texts with a back-to-back loop'] == {0.2: 1.0, 1.0: 0.0}
    assert sw['longest copied span (chars, max)'][1.0] == len('I walked out after twenty minutes and ')
    assert list(sw['samples']) == [0.2, 1.0] and sw['samples'][0.2] == ['awful awful awful awful awful'] * 2
    assert 'temperature' in sweep_table(sw)

class Uniform(LanguageModel):
    "A stand-in model over 'abcd': probability 1/4 each; other characters are outside its vocabulary."
    def token_logprobs(self, text):
        known = np.array([c in 'abcd' for c in text])
        return TokenLogProbs(list(text), known, np.full((int(known.sum()), 4), -math.log(4)),
                             np.array(['abcd'.index(c) for c in text if c in 'abcd'], int), np.ones(4, bool))

def test_language_model_evaluate_sums_token_logprobs():
    "LanguageModel.evaluate: nats per scored token; bits over the characters scored; unknown tokens counted apart, never in the denominator."
    r = Uniform().evaluate(['abca', 'dxb'])  # 6 scored tokens of 2 bits each over 6 characters; 'x' unknown
    assert r['tokens'] == 6 and r['chars'] == 6 and r['unknown'] == 1 and r['unknown_share'] == pytest.approx(1 / 7)
    assert r['loss'] == pytest.approx(math.log(4), rel=1e-12) and r['perplexity'] == pytest.approx(4.0, rel=1e-12)
    assert r['bpc'] == pytest.approx(2.0, rel=1e-12) and r['bits'] == pytest.approx(12.0, rel=1e-12)
    assert Uniform().evaluate(['abca', 'dxb' + 'xyz' * 20])['bpc'] == pytest.approx(2.0, rel=1e-12)  # unknown text changes nothing
    assert Uniform().evaluate('abc')['tokens'] == 3  # one text
    with pytest.raises(ValueError, match="no token of the held-out texts is in the model's vocabulary"): Uniform().evaluate(['xyz'])
    with pytest.raises(ValueError, match='every text is empty'): Uniform().evaluate(['', ' '])

# ---- per-token scores under the real models

@pytest.fixture(scope='module')
def pretrained():
    from textgen_course.textgenrnn import TextGenRNN
    return TextGenRNN()

@pytest.fixture(scope='module')
def tiny_rnn():
    from textgen_course.charrnn import CharRNN
    return CharRNN.new(' '.join(CORPUS), units=16, emb_dim=8, seq_len=20, seed=0)  # one plain text: no end token

@pytest.fixture(scope='module')
def tiny_word():
    "A word-level model trained a little: untrained, it writes 'xxmaj xxmaj', which decodes to one marker and does not round-trip."
    from textgen_course.charrnn import CharRNN
    m = CharRNN.new(CORPUS, level='word', min_freq=1, units=16, emb_dim=8, seq_len=8, seed=0)
    m.fit(CORPUS, epochs=5, batch_size=2, sample_every=0, verbose=0)
    return m

@pytest.mark.parametrize('which', ['textgenrnn', 'charrnn', 'word', 'ngram'])
def test_greedy_text_has_rank_one_everywhere(which, pretrained, tiny_rnn, tiny_word):
    "A text the model wrote greedily (always its first guess) scores rank 1 at every token, under each model's own context rule."
    model = {'textgenrnn': pretrained, 'charrnn': tiny_rnn, 'word': tiny_word, 'ngram': CharNGram(4).fit(CORPUS)}[which]
    text = model.generate(1, return_as_list=True, temperature=0.0, max_gen_length=80)[0]
    s = token_scores(model, text)
    assert len(s.tokens) > 10 and (s.rank == 1).all(), (which, text, s.rank)
    other = ' '.join(np.random.default_rng(0).permutation(CORPUS[0].split()))  # words it knows, in an order it would not write
    assert token_scores(model, other).bpc > s.bpc

def test_token_scores_agree_with_evaluate(pretrained, tiny_rnn):
    "Summed per-token log-probabilities are exactly the model's held-out loss, and both give the same bits per character."
    text = CORPUS[2]
    for model in (pretrained, tiny_rnn):
        s, r = token_scores(model, text), model.evaluate([text])
        assert r['tokens'] == len(s.tokens) == len(text)  # every character, the end of the text not predicted
        assert -np.sum(s.logprob) == pytest.approx(r['loss'] * r['tokens'], rel=1e-6)
        assert s.bpc == pytest.approx(r['bpc'], rel=1e-6) and s.chars == r['chars']

def test_token_scores_bits_of_an_ngram_by_hand():
    "`bits` is −Σ log2 p over the text, each p looked up with `CharNGram.prob` from the two characters before (boundary marks at the start)."
    m = CharNGram(3).fit(CORPUS)
    text = 'awful zebra 😀 plot'  # 'z' and the emoji were never seen: '<unk>' in the context, not scored
    ids = [m.itos.index(ch) if ch in m.itos[2:] else 1 for ch in text]
    padded = [0, 0] + ids
    hand = -sum(math.log2(m.prob(np.array([padded[i:i + 2]]), np.array([ids[i]]))[0]) for i in range(len(text)) if ids[i] != 1)
    s = token_scores(m, text)
    assert ids.count(1) == 2 and s.rank_counts()['unknown'] == 2
    assert s.bits == pytest.approx(hand, rel=1e-12) and s.bpc == pytest.approx(hand / (len(text) - 2), rel=1e-12)
    assert s.bits * math.log(2) == pytest.approx(m.evaluate(text)['loss'] * (len(text) - 2), rel=1e-12)

def test_token_scores_unknown_characters_and_bad_input(pretrained):
    "Characters outside the vocabulary get rank 0 and no log-probability; bad input names the problem."
    s = token_scores(pretrained, 'ok 😀 ok')
    assert s.rank[3] == 0 and np.isnan(s.logprob[3]) and s.rank_counts()['unknown'] == 1
    assert (s.rank[[0, 1, 2, 4, 5, 6]] > 0).all()
    assert s.bits == pytest.approx(token_scores(pretrained, 'ok  ok').bits, rel=1e-6)  # the emoji is skipped, context and all
    with pytest.raises(ValueError, match='text is empty'): token_scores(pretrained, '')
    with pytest.raises(TypeError, match='must be a string'): token_scores(pretrained, ['a list'])
    with pytest.raises(TypeError, match='not a course model'): token_scores(object(), 'abc')
    html_view = scores_html(s, 'pretrained')
    assert html_view.count('title="p = ') == len(s.tokens) - 1 and 'not in the vocabulary' in html_view
    assert sum(s.rank_counts().values()) == len(s.tokens)

# ---- the n-gram baseline

@pytest.mark.parametrize('order', [0, 1, 2, 3, 6])
def test_ngram_probabilities_sum_to_one_for_every_context(order):
    "Interpolated Kneser-Ney gives a proper distribution after any context, seen or not."
    m = CharNGram(order).fit(CORPUS)
    rng = np.random.default_rng(order)
    contexts = ['', 'the', 'awful a', 'zq', '😀', 'money back.'] + [''.join(rng.choice(list('abc .x'), 5)) for _ in range(20)]
    for c in contexts:
        d = m.distribution(c)
        assert len(d) == len(m.itos) and min(d.values()) > 0
        assert sum(d.values()) == pytest.approx(1.0, abs=1e-9)

def test_ngram_orders_improve_then_unseen_text_costs_more():
    "Order 0 is uniform; each higher order fits its training text better; unseen characters are possible."
    m = [CharNGram(k).fit(CORPUS[:2]) for k in range(5)]
    assert m[0].evaluate(CORPUS[:2])['bpc'] == pytest.approx(math.log2(len(m[0].itos)))
    seen = [x.evaluate(CORPUS[:2])['bpc'] for x in m]
    assert all(a > b for a, b in zip(seen, seen[1:]))
    assert m[4].evaluate([CORPUS[2]])['unknown'] > 0
    with pytest.raises(ValueError, match='order must be'): CharNGram(-1)
    with pytest.raises(TypeError, match=r'training texts\[0\] is int'): CharNGram(2).fit([1, 2])

# ---- the copy check

def test_copy_check_finds_a_planted_copy_and_nothing_in_shuffled_text():
    "A planted 50-character span is found exactly; shuffled text shares nothing long; a whole short training text counts as copied."
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
    assert titles.copy_check('a short title') == ('copied', 'a short title')

@given(st.text(alphabet='abc', min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_suffix_array_sorts_suffixes(s):
    "The suffix array is the order of the sorted suffixes."
    assert suffix_array(np.array([ord(c) for c in s])).tolist() == sorted(range(len(s)), key=lambda i: s[i:])

# ---- real data

def test_ngram_on_tiny_shakespeare(real_data):
    "On the real play: the 5-gram beats the bigram on held-out text, a slice's bits equal its evaluate, distributions sum to 1."
    text = real_data('tinyshakespeare').read_text(encoding='utf-8')
    cut = int(len(text) * .9)
    five, two = CharNGram(5).fit(text[:cut]), CharNGram(2).fit(text[:cut])
    r5, r2 = five.evaluate(text[cut:]), two.evaluate(text[cut:])
    assert r5['tokens'] == len(text) - cut and r5['unknown'] == 0
    assert 1.5 < r5['bpc'] < r2['bpc'] < 4.0
    part = text[cut:cut + 3000]
    assert token_scores(five, part).bits * math.log(2) == pytest.approx(five.evaluate(part)['loss'] * len(part), rel=1e-9)
    assert sum(five.distribution('ROMEO:\n').values()) == pytest.approx(1.0, abs=1e-9)
