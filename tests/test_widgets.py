"Tests for textgen_course.widgets, driven headless (no kernel), plus one real execution of the lesson with a Jupyter kernel."
import shutil, sys
import numpy as np
import pytest
import tensorflow as tf
from textgen_course.sampling import TextSampler
from textgen_course.widgets import *
from conftest import ROOT
sys.path.insert(0, str(ROOT/'tools'))
import run_nb

TABLE = tf.constant(np.log([[.01, .9, .08, .01], [.01, .01, .9, .08], [.01, .01, .08, .9], [.25, .25, .25, .25]]), tf.float32)

class Toy(TextSampler):
    chars, stop_id = 'abcd', 3
    def __init__(self): self.calls = []
    def _start(self, prefix, n):
        bad = set(prefix) - set(self.chars)
        if bad: raise ValueError(f"unknown characters {''.join(sorted(bad))!r}")
        ids = tf.fill([n], self.chars.index(prefix[-1]) if prefix else 0)
        return tf.gather(TABLE, ids), ids, len(prefix)
    def _step(self, state, ids): return tf.gather(TABLE, ids), ids
    def _decode(self, ids): return ''.join(self.chars[i] for i in ids)
    def generate(self, *a, **k):
        self.calls.append(k)
        return super().generate(*a, **k)

def test_panel_passes_every_setting_to_the_model():
    "Every control of the panel reaches `generate` unchanged, and the samples are shown with the seed text in bold."
    toy = Toy()
    p = SamplingPanel(toy)
    p.prefix.value, p.temperature.value, p.top_k.value, p.top_p.value = 'ab', 0.0, 3, 0.9
    p.length.value, p.n.value, p.seed.value = 7, 4, 123
    p.button.click()
    assert toy.calls[-1] == dict(return_as_list=True, prefix='ab', temperature=0.0, max_gen_length=7, top_k=3, top_p=0.9, seed=123)
    assert p.last == ['abc'] * 4 and p.last_error is None
    assert p.output.value.count('<b>ab</b>c') == 4
    assert 'done in' in p.status.value

def test_same_seed_same_samples_and_empty_seed_text():
    "The same seed gives the same samples; an empty seed text means no prefix; one model call per click."
    p = SamplingPanel(Toy(), temperature=1.0, seed=5)
    a = p.generate()
    b = p.generate()
    assert a == b and len(a) == 3
    assert p.models.get('Toy').calls[-1]['prefix'] is None  # '' means start from scratch
    assert len(p.models.get('Toy').calls) == 2  # one call to the model per click, nothing else

@pytest.mark.parametrize('setup,msg', [
    (lambda p: setattr(p.prefix, 'value', 'abz'), "unknown characters 'z'"),
    (lambda p: setattr(p.temperature, 'value', 1.5), None),
    (lambda p: setattr(p.temperature, 'value', 0.0), None)])
def test_bad_input_and_extremes(setup, msg):
    "A bad seed text shows its message (no traceback) and the button stays usable; extreme temperatures just work."
    p = SamplingPanel(Toy())
    setup(p)
    p.button.click()
    if msg: assert p.last is None and msg in p.status.value and 'Traceback' not in p.status.value
    else: assert p.last_error is None and len(p.last) == 3
    assert not p.button.disabled

def test_failed_model_and_zero_length():
    "A model that fails to load shows its error; picking a working model recovers; a zero length is refused by name."
    def load(): raise FileNotFoundError('model.weights.h5: no such file')
    p = SamplingPanel({'ok': Toy(), 'broken': load})
    p.model_picker.value = 'broken'
    p.button.click()
    assert isinstance(p.last_error, FileNotFoundError) and 'no such file' in p.status.value
    p.model_picker.value = 'ok'
    p.button.click()
    assert p.last_error is None
    assert 'max_gen_length must be at least 1' in error_html(ValueError('max_gen_length must be at least 1, got 0'))
    with pytest.raises(ValueError, match='max_gen_length'): run_sampler(Toy(), max_gen_length=0)

def test_temperature_panel():
    "One column per temperature; greedy (0) writes the most likely path; a negative temperature is refused."
    tp = TemperaturePanel(Toy(), temperatures=(0.0, 1.0), prefix='a', n=3)
    tp.button.click()
    assert tp.last[0.0] == ['abc'] * 3 and len(tp.last[1.0]) == 3
    assert 'temperature 1.0' in tp.columns[1].value
    with pytest.raises(ValueError, match='temperature must be a finite number >= 0'): TemperaturePanel(Toy(), temperatures=(-1,))

def test_training_monitor_in_fit():
    "As a Keras callback: the losses of every epoch, samples every `every` epochs, and a PNG of the curves."
    import keras
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    m.compile('sgd', 'mse')
    mon = TrainingMonitor(Toy(), n=2, every=2, max_gen_length=5, seed=0)
    m.fit(np.ones((8, 2)), np.ones((8, 1)), validation_split=.25, epochs=4, verbose=0, callbacks=[mon])
    assert len(mon.history['loss']) == len(mon.history['val_loss']) == 4
    assert sorted(mon.samples) == [2, 4] and all(len(v) == 2 for v in mon.samples[4].values())
    assert bytes(mon.plot.value[:4]) == b'\x89PNG'

def test_lesson_renders_widgets_with_a_real_kernel(tmp_path):
    "Execute the widgets lesson with a Jupyter kernel and check the saved notebook holds widget views and their state."
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    nb = nbformat.read(ROOT/'nbs'/'03_widgets.ipynb', as_version=4)
    skip = run_nb.skip_flags('')  # the cells nbdev_test holds back: `#| slow` real-data runs, downloads, ...
    nb.cells = [c for c in nb.cells if 'nbdev_export()' not in c.source and not run_nb.held_back(c, skip)]
    nbclient.NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': str(ROOT/'nbs')}}).execute()
    views = [o['data']['application/vnd.jupyter.widget-view+json']['model_id'] for c in nb.cells if c.cell_type == 'code'
             for o in c.get('outputs', []) if 'application/vnd.jupyter.widget-view+json' in o.get('data', {})]
    state = nb.metadata['widgets']['application/vnd.jupyter.widget-state+json']['state']
    assert len(views) >= 3 and all(v in state for v in views)
    names = {s['model_name'] for s in state.values()}
    assert {'ButtonModel', 'FloatSliderModel', 'HTMLModel', 'ImageModel'} <= names
    html_values = [s['state'].get('value', '') for s in state.values() if s['model_name'] == 'HTMLModel']
    assert any('<b>' in v for v in html_values)  # the generated samples, seed text in bold, are in the saved state

def test_probability_panel_scores_examples_and_reports_errors():
    "Picking an example fills the box and scores it; an empty text shows its message and leaves the button usable."
    from textgen_course.evaluate import CharNGram
    model = CharNGram(3).fit('abcabcabc abcabc')
    p = ProbabilityPanel({'3-gram': model}, {'easy': 'abcabc', 'hard': 'cbacba'})
    p.picker.value = 'easy'
    p.button.click()
    easy = p.last.bpc
    p.picker.value = 'hard'
    p.button.click()
    assert p.text.value == 'cbacba' and p.last.bpc > easy
    assert 'bits per character' in p.view.value and 'rest' in p.histogram.value
    p.text.value = ''
    p.button.click()
    assert p.last is None and 'text is empty' in p.status.value and not p.button.disabled

@pytest.mark.parametrize('corpus,badge', [(['bc', 'xyz'], 'copied 2 chars'), (['abc xyz'], 'new'), (['xyz'], 'new')])
def test_sampling_panel_copy_badges(corpus, badge):
    "Each sample gets 'new' or 'copied N chars' against the given corpus."
    p = SamplingPanel(Toy(), prefix='a', temperature=0.0, n=2, corpus=corpus)
    p.button.click()
    assert p.last == ['abc', 'abc'] and p.output.value.count(f'>{badge}</span>') == 2

@pytest.fixture(scope='module')
def course_models():
    "A small model of each course kind: the pretrained textgenrnn, a char-RNN, a word-level RNN and an n-gram."
    from textgen_course.charrnn import CharRNN
    from textgen_course.evaluate import CharNGram
    from textgen_course.samples import sample_text
    from textgen_course.textgenrnn import TextGenRNN
    lines = [l for l in sample_text(1).split('\n') if l.strip()]
    return {'textgenrnn': TextGenRNN(), 'char-RNN': CharRNN.new(lines, units=16, emb_dim=8, seq_len=20, seed=0),
            'word RNN': CharRNN.new(lines, level='word', min_freq=1, units=16, emb_dim=8, seq_len=8, seed=0),
            'n-gram': CharNGram(3).fit(lines)}

@pytest.mark.parametrize('name', ['textgenrnn', 'char-RNN', 'word RNN', 'n-gram'])
def test_panels_drive_every_course_model(name, course_models):
    "With a real model, a click gives exactly what `generate` gives for the panel's settings, and the scores of `token_scores`."
    from textgen_course.evaluate import token_scores
    p = SamplingPanel(course_models, prefix='The ', temperature=0.7, max_gen_length=12, n=2, seed=3)
    p.model_picker.value = name
    p.top_k.value, p.top_p.value = 5, 0.9
    p.button.click()
    model = course_models[name]
    assert p.last_error is None, p.status.value
    assert p.last == model.generate(2, return_as_list=True, prefix='The ', temperature=0.7, max_gen_length=12, top_k=5, top_p=0.9, seed=3)
    assert all(t.startswith('The') for t in p.last) and p.output.value.count('<b>The') == 2
    q = ProbabilityPanel(course_models, text='The night was long.')
    q.model_picker.value = name
    q.button.click()
    assert q.last_error is None, q.status.value
    np.testing.assert_array_equal(q.last.rank, token_scores(model, 'The night was long.').rank)
    assert 'bits per character' in q.view.value
