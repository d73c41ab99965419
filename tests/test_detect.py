"Tests for textgen_course.detect: the CNN detector, the likelihood detector, their evaluation and their files."
import json, random
import numpy as np
import pytest
from textgen_course.corpus import load_imdb, clean_review
from textgen_course.samples import write_sample_imdb
from textgen_course.detect import *
from textgen_course.evaluate import CharNGram
from textgen_course.lm import LanguageModel
from textgen_course.modelfiles import ModelFileError, meta_path

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "Real sample reviews, and fakes with a character-level artefact a generator might leave: doubled vowels."
    reviews = [clean_review(r.text) for r in load_imdb(write_sample_imdb(tmp_path_factory.mktemp('d')/'s.tar.gz'), ['train', 'test'])]
    rng = random.Random(1)
    fakes = [''.join(c * 2 if c in 'aeiou' and rng.random() < .3 else c for c in r) for r in reviews]
    return reviews[::2], fakes[1::2]

@pytest.fixture(scope='module')
def trained(data):
    det = FakeReviewDetector(max_len=200, filters=32)
    return det, det.fit(*data, epochs=6, seed=0)

@pytest.fixture(scope='module')
def tiny_rnn(data):
    "A small char-RNN on the real reviews, as a scoring model for the likelihood detector."
    from textgen_course.charrnn import CharRNN
    return CharRNN.new(data[0][:40], units=16, emb_dim=8, seq_len=40, seed=0)

# ---- the CNN detector

def test_learns_and_generalises_to_unseen_documents(trained, data):
    "On a planted character artefact, held-out documents are told apart."
    det, scores = trained
    assert scores['n_real'] == scores['n_fake'] == 24
    assert scores['roc_auc'] > 0.9 and scores['accuracy'] > 0.75
    p = det.predict_fake(data[1][:3])
    assert p.shape == (3,) and ((0 <= p) & (p <= 1)).all()

def test_split_is_by_document(trained, data):
    "The held-out documents are the split's validation side, and none of them is among the training documents."
    det, _ = trained
    (rt, rv), (ft, fv) = det.split(*data, 0.2, 0)
    assert det.valid == (rv, fv) and len(rv) == len(fv) == 24
    assert len(rt) + len(rv) == len(data[0]) and sorted(rt + rv) == sorted(data[0])
    assert sorted(ft + fv) == sorted(data[1])
    assert not set(rt) & set(rv) and not set(ft) & set(fv)

def test_likelihood_detector_uses_the_same_split(data):
    "Both detectors hold out the same documents for the same data and seed, so their scores compare."
    det = LikelihoodDetector(CharNGram(3).fit(data[0][:20]))
    det.fit(*data, valid_frac=0.2, seed=0)
    (_, rv), (_, fv) = FakeReviewDetector().split(*data, 0.2, 0)
    assert det.valid == (rv, fv)

def test_save_load_round_trip_and_damaged_files(trained, tmp_path):
    "One weights file and one JSON; the loaded detector predicts the same; damaged or mismatched files are refused by name."
    det, _ = trained
    files = det.save(tmp_path/'det')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['det.model.json', 'det.weights.h5']  # no temporary file left
    f = files['weights']
    d2 = FakeReviewDetector.load(tmp_path/'det')
    assert d2.config == det.config and d2.chars == det.chars
    np.testing.assert_allclose(d2.predict_fake(['some review text here']), det.predict_fake(['some review text here']), atol=1e-6)
    meta = json.loads(meta_path(f).read_text(encoding='utf-8'))
    swapped = dict(meta, vocab=[meta['vocab'][1], meta['vocab'][0]] + meta['vocab'][2:])  # same size, two characters exchanged
    meta_path(f).write_text(json.dumps(swapped), encoding='utf-8')
    with pytest.raises(ModelFileError, match='not the one the model was saved with'): FakeReviewDetector.load(f)
    meta_path(f).write_text(json.dumps(meta), encoding='utf-8')
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match='truncated'): FakeReviewDetector.load(f)
    with pytest.raises(FileNotFoundError, match='no such weights file'): FakeReviewDetector.load(tmp_path/'missing')

def test_detector_and_model_files_are_not_interchangeable(trained, tmp_path):
    "A detector's files are not a language model, and a language model's files are not a detector."
    det, _ = trained
    det.save(tmp_path/'det')
    CharNGram(2).fit(['some text']).save(tmp_path/'ngram')
    with pytest.raises(ModelFileError, match="this is a 'detector' model"): LanguageModel.load(tmp_path/'det')
    with pytest.raises(ModelFileError, match="this is a 'ngram' model, not a 'detector' one"): FakeReviewDetector.load(tmp_path/'ngram')

def test_bad_input(trained):
    "Untrained detectors, empty lists and empty texts are refused with a message; unseen characters are only 'unknown'."
    det, _ = trained
    with pytest.raises(DetectorError, match='not trained'): FakeReviewDetector().predict_fake(['x'])
    with pytest.raises(DetectorError, match='nothing to save'): FakeReviewDetector().save('x')
    with pytest.raises(DetectorError, match='not trained'): LikelihoodDetector(CharNGram(2).fit('ab')).predict_fake(['x'])
    with pytest.raises(ValueError, match='no texts'): det.predict_fake([])
    with pytest.raises(ValueError, match='no fake texts: the list is empty'): det.evaluate(['a', 'b'], [])
    with pytest.raises(ValueError, match=r'real texts\[1\] is empty'): det.evaluate(['a', ''], ['b', 'c'])
    with pytest.raises(ValueError, match='need at least 2 fake texts'): det.split(['a', 'b'], ['c'])
    assert det.predict_fake(['漢字 ☃ 🎬']).shape == (1,)
    with pytest.raises(ValueError, match='max_len must be an integer from 5'): FakeReviewDetector(max_len=3)

def test_unbalanced_classes_warn(data):
    "Five times more of one class than the other: a warning, and the class weights compensate."
    with pytest.warns(UserWarning, match='unbalanced'):
        FakeReviewDetector(max_len=50, filters=4).fit(data[0], data[1][:4], epochs=1)
    y, w = Detector().labels(['a'] * 6, ['b'] * 2)
    assert y.tolist() == [0] * 6 + [1] * 2 and w[0] * 6 == pytest.approx(w[1] * 2)

# ---- one text or many (fault h)

@pytest.mark.parametrize('kind', ['cnn', 'likelihood'])
def test_predict_fake_of_one_string_is_one_probability(kind, trained, data):
    "A str is one text: one float, the same as for a list of that one text (not one score per character)."
    det = trained[0] if kind == 'cnn' else LikelihoodDetector(CharNGram(3).fit(data[0][:20]))
    if kind == 'likelihood': det.fit(*data, seed=0)
    p = det.predict_fake('one review')
    assert isinstance(p, float) and 0 <= p <= 1
    assert p == pytest.approx(float(det.predict_fake(['one review'])[0]), abs=1e-6)
    many = det.predict_fake(['one review', 'another one'])
    assert isinstance(many, np.ndarray) and many.shape == (2,)

# ---- the evaluation: ROC-AUC and accuracy against their definitions

class Fixed(Detector):
    "A detector with given scores per text, to check the evaluation alone."
    def __init__(self, scores): self.scores = scores
    def predict_fake(self, texts): return np.array([self.scores[t] for t in texts], float)

def _pairwise_auc(p_real, p_fake):
    "ROC-AUC as a count: the share of (fake, real) pairs where the fake scores higher, ties counting one half."
    wins = sum((f > r) + 0.5 * (f == r) for f in p_fake for r in p_real)
    return wins / (len(p_real) * len(p_fake))

def test_roc_auc_and_accuracy_by_hand_with_ties():
    "ROC-AUC and accuracy of Detector.evaluate, on scores with ties, equal the values counted by hand."
    det = Fixed({'r1': .1, 'r2': .4, 'r3': .4, 'r4': .7, 'f1': .4, 'f2': .7, 'f3': .9})
    r = det.evaluate(['r1', 'r2', 'r3', 'r4'], ['f1', 'f2', 'f3'])
    # f1 beats r1, ties r2 r3; f2 beats r1 r2 r3, ties r4; f3 beats all four: (8 + 3/2) / 12
    assert r['roc_auc'] == pytest.approx(19 / 24, abs=1e-12)
    assert r['accuracy'] == pytest.approx(5 / 7, abs=1e-12)  # r4 (0.7) and f1 (0.4) are on the wrong side of 0.5
    assert (r['n_real'], r['n_fake']) == (4, 3)

def test_roc_auc_matches_pairwise_definition_on_many_ties():
    "The same on 200 scores from ten levels (many ties)."
    rng = np.random.default_rng(0)
    s, y = rng.integers(0, 10, 200) / 10, rng.integers(0, 2, 200)
    scores = {f't{i}': v for i, v in enumerate(s)}
    real, fake = [f't{i}' for i in range(200) if y[i] == 0], [f't{i}' for i in range(200) if y[i] == 1]
    r = Fixed(scores).evaluate(real, fake)
    assert r['roc_auc'] == pytest.approx(_pairwise_auc(s[y == 0], s[y == 1]), abs=1e-12)
    assert r['accuracy'] == pytest.approx(np.mean(np.r_[s[y == 0] <= .5, s[y == 1] > .5]), abs=1e-12)

def test_trained_detector_scores_equal_the_pairwise_count(trained):
    "The CNN's reported held-out ROC-AUC is the pairwise count over its own predictions."
    det, scores = trained
    rv, fv = det.valid
    assert scores['roc_auc'] == pytest.approx(_pairwise_auc(det.predict_fake(rv), det.predict_fake(fv)), abs=1e-9)

def test_likelihood_detector_is_a_logistic_regression_of_standardised_features(data):
    "predict_fake = sigmoid(w · (x − mean) / scale + b), with the fitted scaler and weights, and C = 1 / l2."
    det = LikelihoodDetector(CharNGram(3).fit(data[0][:20]), l2=2.0)
    det.fit(*data, seed=0)
    scaler, lr = det.classifier[0], det.classifier[-1]
    assert lr.C == pytest.approx(0.5)
    texts = data[0][:5] + data[1][:5]
    x = np.array([likelihood_features(det.model, t[:det.max_chars]) for t in texts])
    z = (x - scaler.mean_) / scaler.scale_
    np.testing.assert_allclose(det.predict_fake(texts), 1 / (1 + np.exp(-(z @ lr.coef_[0] + lr.intercept_[0]))), rtol=1e-9)

def test_match_lengths_removes_the_length_shortcut():
    "Each real review is cut to a length drawn from the fakes' (a prefix, at a word boundary), never to nothing; short ones stay whole."
    words = ('word ' * 100).strip()  # spaces at 4, 9, 14, ...: a cut at a fake's length 54 or 84 falls on a boundary
    real = [words] * 20 + ['x' * 200, 'tiny review']
    fake = ['x' * 54, 'y' * 84]
    out = match_lengths(real, fake, seed=0)
    assert len(out) == len(real)
    for r, o in zip(real, out, strict=True): assert r.startswith(o)
    assert {len(o) for o in out[:20]} == {54, 84}  # both lengths drawn, each exactly
    assert len(out[20]) in (54, 84)  # no space: cut at the length itself
    assert out[21] == 'tiny review'  # shorter than every fake: kept whole
    assert match_lengths(real, fake, seed=0) == out

def test_match_lengths_bounds_on_real_reviews(data):
    "On real reviews: prefixes, within the fakes' length range (a word boundary costs at most half the length), never empty."
    fake = [f for f in data[1] if 60 <= len(f) <= 400][:10]
    lo, hi = min(map(len, fake)), max(map(len, fake))
    out = match_lengths(data[0], fake, seed=3)
    for r, o in zip(data[0], out, strict=True):
        assert r.startswith(o) and o
        if len(r) > hi: assert lo // 2 < len(o) <= hi
    with pytest.raises(ValueError, match='no generated texts'): match_lengths(data[0], [])

# ---- the likelihood detector: stale features (fault g)

def test_features_follow_a_model_trained_further(tiny_rnn, data):
    "After the scoring model trains further, `features` are those of the trained model, not cached ones of the old weights."
    det = LikelihoodDetector(tiny_rnn, max_chars=120)
    det.fit(data[0][:12], data[1][:12], valid_frac=0.25, seed=0)
    texts = data[0][:3] + data[1][:3]
    before = det.features(texts)
    tiny_rnn.fit(data[0][:40], epochs=1, batch_size=8, sample_every=0, verbose=0)
    after = det.features(texts)
    fresh = np.array([likelihood_features(tiny_rnn, t[:120]) for t in texts])
    np.testing.assert_allclose(after, fresh, rtol=1e-6, atol=1e-9)
    assert np.abs(after - before).max() > 1e-3

def test_features_follow_a_model_swapped_in(data, tmp_path):
    "Assigning another model (other weights loaded into a new object) to `detector.model` changes the features to that model's."
    a = CharNGram(3).fit(data[0][:20])
    CharNGram(3).fit(data[1][20:60]).save(tmp_path/'other')
    det = LikelihoodDetector(a, max_chars=100)
    det.fit(data[0][:12], data[1][:12], valid_frac=0.25, seed=0)
    texts = data[0][30:33]
    before = det.features(texts)
    det.model = CharNGram.load(tmp_path/'other')
    after = det.features(texts)
    np.testing.assert_allclose(after, [likelihood_features(det.model, t[:100]) for t in texts], rtol=1e-12)
    assert np.abs(after - before).max() > 1e-3

def test_token_scores_and_features_accept_a_subclass(data):
    "A learner's subclass of CharNGram is scored like its parent (the old code refused it by class name)."
    class MyNGram(CharNGram): pass
    texts = data[0][:3]
    mine, base = MyNGram(3).fit(data[0][:20]), CharNGram(3).fit(data[0][:20])
    np.testing.assert_array_equal(LikelihoodDetector(mine).features(texts), LikelihoodDetector(base).features(texts))

# ---- both detectors on a planted signal and on no signal

@pytest.fixture(scope='module')
def generated():
    "Samples of the real pretrained textgenrnn: very predictable ones (temperature 0.3) and two independent sets at 1.0."
    from textgen_course.textgenrnn import TextGenRNN
    tg = TextGenRNN()
    gen = lambda t, seed: [x for x in tg.generate(40, return_as_list=True, temperature=t, max_gen_length=150, seed=seed) if x.strip()]
    return tg, gen(0.3, 0), gen(1.0, 1), gen(1.0, 2)

def test_likelihood_detector_finds_a_planted_signal(generated, data):
    "The model's own low-temperature samples are far more predictable to it than human text."
    tg, cold, _, _ = generated
    real = match_lengths(data[0] + data[1], cold, seed=0)[:40]
    det = LikelihoodDetector(tg)
    r = det.fit(real, cold, valid_frac=0.3, seed=0)
    assert r['roc_auc'] > 0.9, r
    assert det.features(cold[:2]).shape == (2, len(FEATURES))

@pytest.mark.parametrize('kind', ['likelihood', 'cnn'])
def test_detectors_are_at_chance_on_two_samples_of_one_source(kind, generated):
    "Two independent sample sets of one model at one temperature cannot be told apart."
    tg, _, a, b = generated
    det = LikelihoodDetector(tg) if kind == 'likelihood' else FakeReviewDetector(max_len=150, filters=16)
    r = det.fit(a, b, valid_frac=0.5, seed=0) if kind == 'likelihood' else det.fit(a, b, valid_frac=0.5, epochs=4, seed=0)
    assert 0.25 < r['roc_auc'] < 0.75, r

def test_likelihood_detector_on_real_reviews(generated, real_data):
    "Real one-star IMDb reviews, cut to the samples' lengths, against the model's own cold samples: far above chance."
    tg, cold, _, _ = generated
    reviews = [clean_review(r.text) for r in load_imdb(real_data('imdb'), 'train', 'neg', 1)[:200:5]]
    real = match_lengths(reviews, cold, seed=0)
    assert all(reviews[i].startswith(r) and r for i, r in enumerate(real))
    r = LikelihoodDetector(tg).fit(real, cold, valid_frac=0.3, seed=0)
    assert r['roc_auc'] > 0.9, r
