"Tests for textgen_course.detect: the fake-review detector."
import json, random
import numpy as np
import pytest
from textgen_course.corpus import write_sample_imdb, load_imdb, clean_review
from textgen_course.detect import *
from textgen_course.modelfiles import ModelFileError, meta_path

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    reviews = [clean_review(r.text) for r in load_imdb(write_sample_imdb(tmp_path_factory.mktemp('d')/'s.tar.gz'), ['train', 'test'])]
    rng = random.Random(1)
    # fakes with a character-level artefact a generator might leave: doubled letters
    fakes = [''.join(c * 2 if c in 'aeiou' and rng.random() < .3 else c for c in r) for r in reviews]
    return reviews[::2], fakes[1::2]

@pytest.fixture(scope='module')
def trained(data):
    det = FakeReviewDetector(max_len=200, filters=32)
    return det, det.fit(*data, epochs=6, seed=0)

def test_learns_and_generalises_to_unseen_documents(trained, data):
    det, scores = trained
    assert scores['n_real'] == scores['n_fake'] == 24
    assert scores['roc_auc'] > 0.9 and scores['accuracy'] > 0.75
    p = det.predict_fake(data[1][:3])
    assert p.shape == (3,) and ((0 <= p) & (p <= 1)).all()

def test_split_is_by_document(trained, data):
    "The held-out documents are the split's validation side, and none of them is among the training documents."
    det, _ = trained
    (rt, rv), (ft, fv) = Detector.split(*data, 0.2, 0)
    assert det.valid == (rv, fv) and len(rv) == len(fv) == 24
    assert len(rt) + len(rv) == len(data[0]) and sorted(rt + rv) == sorted(data[0])
    assert not set(rt) & set(rv) and not set(ft) & set(fv)

def test_save_load_round_trip_and_damaged_files(trained, tmp_path):
    det, _ = trained
    f = det.save(tmp_path/'det')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['det.keras', 'det.model.json']  # no temporary file left
    d2 = FakeReviewDetector.load(tmp_path/'det')
    np.testing.assert_allclose(d2.predict_fake(['some review text here']), det.predict_fake(['some review text here']), atol=1e-6)
    meta = json.loads(meta_path(f).read_text(encoding='utf-8'))
    swapped = dict(meta, vocab=[meta['vocab'][1], meta['vocab'][0]] + meta['vocab'][2:])  # same size, two characters exchanged
    meta_path(f).write_text(json.dumps(swapped), encoding='utf-8')
    with pytest.raises(ModelFileError, match='not the one the model was saved with'): FakeReviewDetector.load(f)
    meta_path(f).write_text(json.dumps(meta), encoding='utf-8')
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match='truncated'): FakeReviewDetector.load(f)
    with pytest.raises(FileNotFoundError, match='no such weights file'): FakeReviewDetector.load(tmp_path/'missing')

def test_files_of_the_earlier_format_still_load(trained, tmp_path):
    "`x.keras` + `x.json` (config and characters), as the previous release saved them: loaded with a warning, sizes checked."
    det, _ = trained
    det.model.save(tmp_path/'old.keras')
    (tmp_path/'old.json').write_text(json.dumps(dict(config=det.config, chars=det.chars)), encoding='utf-8')
    with pytest.warns(UserWarning, match='earlier course version'): d2 = FakeReviewDetector.load(tmp_path/'old')
    np.testing.assert_allclose(d2.predict_fake(['some review text']), det.predict_fake(['some review text']), atol=1e-6)
    (tmp_path/'old.json').write_text(json.dumps(dict(config=det.config, chars=det.chars + 'XYZ')), encoding='utf-8')
    with pytest.warns(UserWarning), pytest.raises(ModelFileError, match='do not belong together'): FakeReviewDetector.load(tmp_path/'old')

def test_bad_input(trained):
    det, _ = trained
    with pytest.raises(DetectorError, match='not trained'): FakeReviewDetector().predict_fake(['x'])
    with pytest.raises(DetectorError, match='nothing to save'): FakeReviewDetector().save('x')
    with pytest.raises(ValueError, match='no texts'): det.predict_fake([])
    with pytest.raises(ValueError, match='no fake texts: the list is empty'): det.evaluate(['a', 'b'], [])
    with pytest.raises(ValueError, match=r'real texts\[1\] is empty'): det.evaluate(['a', ''], ['b', 'c'])
    assert det.predict_fake(['漢字 ☃ 🎬']).shape == (1,)  # unseen characters are 'unknown', not an error
    with pytest.raises(ValueError, match='kernel_size'): FakeReviewDetector(max_len=3)

def test_unbalanced_classes_warn(data):
    with pytest.warns(UserWarning, match='unbalanced'):
        FakeReviewDetector(max_len=50, filters=4).fit(data[0], data[1][:4], epochs=1)

def test_roc_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 10, 200) / 10  # many ties
    pos, neg = s[y == 1], s[y == 0]
    pairwise = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert roc_auc(y, s) == pytest.approx(pairwise)

def test_match_lengths_removes_the_length_shortcut():
    real = ['word ' * 100] * 20
    fake = ['x' * 50, 'y' * 80]
    out = match_lengths(real, fake)
    assert all(len(r) <= 80 for r in out)
    with pytest.raises(ValueError): match_lengths(real, [])


# ---- the likelihood detector, and both detectors on a planted signal and on no signal

@pytest.fixture(scope='module')
def generated():
    "Samples of the real pretrained textgenrnn: very predictable ones (temperature 0.3) and two independent sets at 1.0."
    from textgen_course.textgenrnn import TextGenRNN
    tg = TextGenRNN()
    gen = lambda t, seed: [x for x in tg.generate(40, return_as_list=True, temperature=t, max_gen_length=150, seed=seed) if x.strip()]
    return tg, gen(0.3, 0), gen(1.0, 1), gen(1.0, 2)

def test_likelihood_detector_finds_a_planted_signal(generated, data):
    tg, cold, _, _ = generated
    real = match_lengths(data[0] + data[1], cold, seed=0)[:40]
    det = LikelihoodDetector(tg)
    r = det.fit(real, cold, valid_frac=0.3, seed=0)
    assert r['roc_auc'] > 0.9, r  # the model's own low-temperature samples are far more predictable to it than human text
    assert det.features(cold[:2]).shape == (2, len(FEATURES))

@pytest.mark.parametrize('kind', ['likelihood', 'cnn'])
def test_detectors_are_at_chance_on_two_samples_of_one_source(kind, generated):
    tg, _, a, b = generated
    det = LikelihoodDetector(tg) if kind == 'likelihood' else FakeReviewDetector(max_len=150, filters=16)
    r = det.fit(a, b, valid_frac=0.5, seed=0) if kind == 'likelihood' else det.fit(a, b, valid_frac=0.5, epochs=4, seed=0)
    assert 0.25 < r['roc_auc'] < 0.75, r

def test_logistic_regression_recovers_a_known_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    y = (2 * x[:, 1] - x[:, 2] > 0).astype(float)
    p = fit_logistic(x, y)
    assert abs(p['w'][0]) < 1 < p['w'][1] and p['w'][2] < -0.5
    assert roc_auc(y, predict_logistic(p, x)) > 0.99
