"""The language-model interface (textgen_course.lm) across every course model: the pretrained TextGenRNN, a tiny char-level
and word-level CharRNN, and a CharNGram. Each must generate reproducibly, score texts as normalised log-distributions that
agree with its own `evaluate`, save and load through the classmethod `load`, and fingerprint its weights."""
import math
import numpy as np
import pytest
from textgen_course.corpus import clean_review
from textgen_course.samples import sample_reviews
from textgen_course.lm import LanguageModel, TokenLogProbs
from textgen_course.modelfiles import ModelFileError, meta_path, weights_file
from textgen_course.textgenrnn import TextGenRNN, META_TOKEN
from textgen_course.charrnn import CharRNN
from textgen_course.evaluate import CharNGram, token_scores
from textgen_course.gpt import GPT

TEXTS = [clean_review(r.text) for r in sample_reviews(6)][:10]
KINDS = ['textgenrnn', 'char', 'word', 'ngram', 'gpt']

@pytest.fixture(scope='module')
def models():
    "One small model of each kind (the char and word RNNs are trained on documents, so '\\n' ends each one)."
    return {'textgenrnn': TextGenRNN(),
            'char': CharRNN.new(TEXTS, units=16, emb_dim=8, seq_len=20, seed=0),
            'word': CharRNN.new(TEXTS, level='word', min_freq=1, units=16, emb_dim=8, seq_len=8, seed=0),
            'ngram': CharNGram(3).fit(TEXTS),
            'gpt': GPT.new(TEXTS, n_layer=1, n_head=2, n_embd=16, seq_len=16, seed=0)}

def _train_further(kind, model):
    "Train a model a little more (a few batches, or new counts for the n-gram)."
    if kind == 'textgenrnn': model.train_on_texts(TEXTS[:4], num_epochs=1, batch_size=16, steps_per_epoch=2, gen_epochs=0, verbose=0)
    elif kind == 'ngram': model.fit(TEXTS[:3] + ['A different text entirely.'])
    else: model.fit(TEXTS, epochs=1, batch_size=4, sample_every=0, verbose=0)

@pytest.mark.parametrize('kind', KINDS)
def test_generate_with_a_seed_is_reproducible(kind, models):
    "The same seed gives the same batch of texts; another seed gives another batch."
    m = models[kind]
    gen = lambda seed: m.generate(3, return_as_list=True, temperature=1.0, max_gen_length=25, seed=seed)
    a = gen(7)
    assert a == gen(7)
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    assert gen(8) != a

@pytest.mark.parametrize('kind', KINDS)
def test_token_logprobs_rows_are_normalised_log_distributions(kind, models):
    "Each scored position holds log-probabilities over the whole vocabulary that sum to 1; shapes agree with the tokens."
    m = models[kind]
    lp = m.token_logprobs(TEXTS[1])
    assert isinstance(lp, TokenLogProbs)
    assert len(lp.tokens) == len(lp.known) and lp.known.all()  # a training text: every token is in the vocabulary
    assert lp.logp.shape == (int(lp.known.sum()), lp.allowed.shape[0]) and lp.targets.shape == (lp.logp.shape[0],)
    assert (lp.logp <= 1e-6).all()
    np.testing.assert_allclose(np.logaddexp.reduce(lp.logp.astype(np.float64), axis=1), 0.0, atol=1e-5)
    np.testing.assert_array_equal(lp.target_logp, lp.logp[np.arange(len(lp.targets)), lp.targets])

@pytest.mark.parametrize('kind', KINDS)
def test_ranks_count_the_tokens_the_model_can_generate(kind, models):
    "`allowed` is what generation may draw: every token but the banned ones (its end token included, as a first guess can be 'stop')."
    m = models[kind]
    lp = m.token_logprobs(TEXTS[0])
    banned = np.isin(np.arange(lp.allowed.shape[0]), list(m.ban_ids))
    np.testing.assert_array_equal(lp.allowed, ~banned)

# ---- the one yardstick: `LanguageModel.evaluate`, the same rule for every kind

@pytest.mark.parametrize('kind', KINDS)
def test_only_the_base_class_defines_evaluate(kind, models):
    "No kind has an `evaluate` of its own: every figure comes from `LanguageModel.evaluate`."
    assert [c.__name__ for c in type(models[kind]).__mro__ if 'evaluate' in vars(c)] == ['LanguageModel']

@pytest.mark.parametrize('kind', KINDS)
def test_evaluate_sums_token_logprobs_by_one_rule(kind, models):
    "Nats of the scored tokens (each text from its start, its end not predicted) over their number; bits over the characters they cover."
    m, texts = models[kind], TEXTS[2:4]
    r = m.evaluate(texts)
    lps = [m.token_logprobs(t) for t in texts]
    nll = -sum(float(lp.target_logp.astype(np.float64).sum()) for lp in lps)
    assert r['tokens'] == sum(len(lp.targets) for lp in lps) and r['unknown'] == 0 and r['unknown_share'] == 0
    assert r['chars'] == sum(map(len, texts)) - sum(len(t) - len(t.rstrip()) for t in texts)  # all but trailing spaces
    assert r['loss'] == pytest.approx(nll / r['tokens'], rel=1e-6) and r['bits'] == pytest.approx(nll / math.log(2), rel=1e-6)
    assert r['bpc'] == pytest.approx(nll / math.log(2) / r['chars'], rel=1e-6)
    assert r['accuracy'] == pytest.approx(np.mean(np.concatenate([lp.ranks == 1 for lp in lps])), abs=1e-9)
    assert all(type(v) in (float, int) for v in r.values()), {k: type(v) for k, v in r.items()}  # Python numbers, JSON-able

@pytest.mark.parametrize('kind', KINDS)
def test_the_fast_scores_equal_token_logprobs(kind, models):
    "`text_scores` (a kind's batched path, if it has one) equals `token_logprobs`, text by text, to 1e-6."
    m = models[kind]
    texts = TEXTS[:5] + [TEXTS[0] + ' Zqxv ' + EMOJI * 3]
    for s, t in zip(m.text_scores(texts), texts, strict=True):
        lp = m.token_logprobs(t)
        np.testing.assert_allclose(s.target_logp, lp.target_logp, atol=1e-6)
        np.testing.assert_array_equal(s.known, lp.known)
        assert s.tokens == lp.tokens and (np.asarray(s.first) == (lp.ranks == 1)).mean() > 0.99

EMOJI = '\U0001F600'

@pytest.mark.parametrize('kind', KINDS)
def test_unknown_tokens_never_lower_bits_per_character(kind, models):
    "Characters (or words) the model cannot score, appended: the same bits, the same bits per character; counted and reported apart."
    m, text = models[kind], TEXTS[2]
    tail = ' zqxvw' * 8 + ' ' + EMOJI * 3 if kind == 'word' else EMOJI * 43  # words or characters outside the vocabulary
    plain, more = m.evaluate([text]), m.evaluate([text + tail])
    assert more['bits'] == pytest.approx(plain['bits'], rel=1e-6) and more['bpc'] >= plain['bpc'] * (1 - 1e-6)
    assert more['chars'] == plain['chars'] and more['unknown'] > 0 and more['unknown_share'] == pytest.approx(len(tail) / len(text + tail))
    s, s0 = token_scores(m, text + tail), token_scores(m, text)
    assert s.bits == pytest.approx(s0.bits, rel=1e-6) and s.bpc == pytest.approx(more['bpc'], rel=1e-6)

@pytest.mark.parametrize('kind', KINDS)
def test_save_load_round_trip(kind, models, tmp_path):
    "`Model.load` and `LanguageModel.load` return a model of the saved class that scores and fingerprints the same."
    m = models[kind]
    files = m.save(tmp_path/'m')
    assert files['weights'] == weights_file(tmp_path/'m') and files['meta'] == meta_path(tmp_path/'m')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.model.json', 'm.weights.h5']  # nothing else left behind
    for loader in (type(m), LanguageModel):
        m2 = loader.load(tmp_path/'m')
        assert type(m2) is type(m) and m2 is not m
        assert m2.fingerprint() == m.fingerprint()
        np.testing.assert_allclose(m2.token_logprobs(TEXTS[1]).logp, m.token_logprobs(TEXTS[1]).logp, atol=1e-6)
    with pytest.raises(AttributeError, match='load is called on the class'): m.load(tmp_path/'m')

@pytest.mark.parametrize('saved,loader', [('ngram', CharRNN), ('char', TextGenRNN), ('textgenrnn', CharNGram), ('word', CharNGram)])
def test_load_refuses_another_kind(saved, loader, models, tmp_path):
    "A class loads only its own kind: another model's files raise ModelFileError naming both kinds."
    models[saved].save(tmp_path/'x')
    kind = type(models[saved]).kind
    with pytest.raises(ModelFileError, match=f"this is a '{kind}' model, not a '{loader.kind}' one"): loader.load(tmp_path/'x')

@pytest.mark.parametrize('kind', KINDS)
def test_fingerprint_changes_with_training_and_survives_save_load(kind, models, tmp_path):
    "A copy loaded from disk keeps the fingerprint; training it further changes it, and leaves the original's alone."
    m = models[kind]
    before = m.fingerprint()
    assert isinstance(before, str) and len(before) == 16 and m.fingerprint() == before
    m.save(tmp_path/'m')
    copy = type(m).load(tmp_path/'m')
    assert copy.fingerprint() == before
    _train_further(kind, copy)
    assert copy.fingerprint() != before
    assert m.fingerprint() == before
    copy.save(tmp_path/'trained')
    assert LanguageModel.load(tmp_path/'trained').fingerprint() == copy.fingerprint()

class MyNGram(CharNGram):
    "A learner's subclass (no kind of its own)."

class MyRNN(CharRNN):
    "A learner's subclass (no kind of its own)."

def test_token_scores_accept_subclasses(models):
    "token_scores goes through the interface, not class names: a subclass scores exactly as its parent."
    text = TEXTS[4]
    mine = MyNGram(3).fit(TEXTS)
    a, b = token_scores(mine, text), token_scores(models['ngram'], text)
    np.testing.assert_array_equal(a.logprob, b.logprob)
    np.testing.assert_array_equal(a.rank, b.rank)
    assert mine.evaluate([text]) == models['ngram'].evaluate([text])
    base = models['char']
    rnn = MyRNN(base.vocab, base.config, model=base.model)
    c, d = token_scores(rnn, text), token_scores(base, text)
    np.testing.assert_array_equal(c.logprob, d.logprob)
    np.testing.assert_array_equal(c.rank, d.rank)

@pytest.mark.parametrize('cls,base', [(MyNGram, 'ngram'), (MyRNN, 'char')])
def test_a_subclass_loads_its_own_files(cls, base, models, tmp_path):
    "A subclass saves with its parent's kind and `Subclass.load` reads those files back as a Subclass."
    m = models[base]
    mine = cls(m.vocab, m.config, model=m.model) if cls is MyRNN else cls(m.order).fit(TEXTS)
    mine.save(tmp_path/'mine')
    back = cls.load(tmp_path/'mine')
    assert type(back) is cls and back.fingerprint() == mine.fingerprint()
    assert type(LanguageModel.load(tmp_path/'mine')) is type(m)  # the generic loader gives the registered class

def test_from_cache_rebuilds_once_then_loads(tmp_path, monkeypatch, capsys):
    "A missing model is rebuilt (saying so), saved in the course cache, and loaded from there the next time."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path))
    built = []
    def rebuild():
        built.append(1)
        return CharNGram(3).fit(TEXTS)
    first = CharNGram.from_cache('toy', rebuild, 'fitting a toy 3-gram')
    assert 'toy.weights.h5 not found: fitting a toy 3-gram' in capsys.readouterr().out
    again = CharNGram.from_cache('toy', rebuild, 'fitting a toy 3-gram')
    assert built == [1] and capsys.readouterr().out == ''
    assert weights_file(tmp_path/'models'/'toy').exists() and again.evaluate(TEXTS[:2]) == first.evaluate(TEXTS[:2])
