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
    fig = rep.plot(); assert len(fig.axes) == 2

def test_bad_input():
    with pytest.raises(ValueError, match='generated texts is empty'): compare_to_corpus([], CORPUS)
    with pytest.raises(ValueError, match='corpus is empty'): compare_to_corpus(['x'], [])
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
