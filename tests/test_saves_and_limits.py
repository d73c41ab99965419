"""A model on disk is replaced all at once or not at all (a failed save, a kill between the two files, a cut-off save in the
course cache); a fit after an early stop trains; integer settings are bounded; a load hashes its weights file once."""
import json, math, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest
import keras
import textgen_course.modelfiles as modelfiles
from textgen_course.charrnn import CharRNN
from textgen_course.cli import main
from textgen_course.corpus import split_text
from textgen_course.evaluate import CharNGram
from textgen_course.gpt import GPT
from textgen_course.lm import LanguageModel
from textgen_course.modelfiles import meta_path, weights_file
from textgen_course.samples import sample_text
from textgen_course.textgenrnn import TextGenRNN

TRAIN, VALID = split_text(sample_text(2), 0.1)

def tiny_gpt(seed=0): return GPT.new(TRAIN, n_layer=1, n_head=2, n_embd=16, seq_len=16, seed=seed)

def test_a_failed_save_leaves_the_saved_model(tmp_path):
    "A save whose JSON cannot be written (a float32 score) fails before touching a file: the model saved there still loads."
    old, new = tiny_gpt(0), tiny_gpt(1)
    old.save(tmp_path/'m')
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TypeError, match=r"cannot save scores=.*not JSON-able"):
        new.save(tmp_path/'m', scores={'bpc': np.float32(2.5)})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written, nothing left behind
    assert LanguageModel.load(tmp_path/'m').fingerprint() == old.fingerprint()
    new.save(tmp_path/'m', scores=new.evaluate(VALID[:200]))  # evaluate's figures are Python numbers: they save
    assert LanguageModel.load(tmp_path/'m').fingerprint() == new.fingerprint()

KILL_SCRIPT = textwrap.dedent('''
    import os, signal, sys
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    from textgen_course.evaluate import CharNGram
    path, target, order = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = os.replace
    def replace(src, dst):  # SIGKILL just before the rename onto `target`: the state a kill leaves there
        if os.path.basename(dst) == target: os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
    os.replace = replace
    CharNGram(order).fit(['a new model, saved over the old one'] * 3).save(path)
''')

@pytest.mark.parametrize('target,which', [('m.weights.h5', 'old'), ('m.model.json', 'new')])
def test_a_kill_between_the_two_files_leaves_one_whole_model(tmp_path, target, which):
    "SIGKILL before the weights are renamed leaves the old model; after them, before the JSON, the new one (the save is finished on load)."
    (tmp_path/'kill.py').write_text(KILL_SCRIPT, encoding='utf-8')
    old = CharNGram(2).fit(['the old model'])
    old.save(tmp_path/'m')
    r = subprocess.run([sys.executable, str(tmp_path/'kill.py'), str(tmp_path/'m'), target, '3'], capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr[-2000:]
    back = LanguageModel.load(tmp_path/'m')
    assert back.order == (2 if which == 'old' else 3)
    assert back.fingerprint() == (old.fingerprint() if which == 'old' else CharNGram(3).fit(['a new model, saved over the old one'] * 3).fingerprint())
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith('.')) == ['kill.py', 'm.model.json', 'm.weights.h5']

BEST_SCRIPT = textwrap.dedent('''
    import os, signal, sys
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    from textgen_course.corpus import split_text
    from textgen_course.samples import sample_text
    from textgen_course.charrnn import CharRNN
    folder, kill = sys.argv[1], sys.argv[2] == 'kill'
    real, seen = os.replace, [0]
    def replace(src, dst):  # the second new best model: killed after its weights, before its JSON
        if os.path.basename(dst) == 'best.model.json':
            seen[0] += 1
            if kill and seen[0] == 2: os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
    os.replace = replace
    train, valid = split_text(sample_text(2), 0.1)
    m = CharRNN.new(train, units=16, emb_dim=8, seq_len=12, seed=0)
    m.fit(train, valid, epochs=3, batch_size=8, lr=1e-2, sample_every=0, verbose=0, checkpoint_dir=folder, resume=True)
    print('DONE', len(m.history['loss']))
''')

def test_a_kill_while_saving_the_best_model_loses_nothing(tmp_path):
    "Killed between the new best model's weights and its JSON: `best` loads, and the run resumes to the end."
    (tmp_path/'best.py').write_text(BEST_SCRIPT, encoding='utf-8')
    run = lambda how: subprocess.run([sys.executable, str(tmp_path/'best.py'), str(tmp_path/'ck'), how], capture_output=True, text=True, timeout=300)
    r = run('kill')
    assert r.returncode == -9, r.stderr[-2000:]
    best = CharRNN.load(tmp_path/'ck'/'best')  # the new best (its weights were in place): the save is finished on load
    assert modelfiles.read_meta(tmp_path/'ck'/'best')['trained']['epoch'] == 2
    r = run('go on')
    assert r.returncode == 0 and 'DONE 3' in r.stdout, r.stderr[-3000:]
    assert CharRNN.load(tmp_path/'ck'/'best').config == best.config

def test_from_cache_rebuilds_a_save_that_was_cut_short(tmp_path, monkeypatch, capsys):
    "Only the weights file, or a damaged JSON, in the course cache: `from_cache` says so, rebuilds, and saves a whole model."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path))
    from textgen_course.data import models_dir
    rebuild = lambda: CharNGram(2).fit(['rebuilt'])
    for damage in (lambda p: meta_path(p).unlink(), lambda p: meta_path(p).write_text('{"format": "textgen_course mo', encoding='utf-8')):
        CharNGram(3).fit(['first']).save(models_dir()/'ng')
        damage(models_dir()/'ng')
        m = CharNGram.from_cache('ng', rebuild, 'rebuilding the toy model')
        out = capsys.readouterr().out
        assert m.order == 2 and 'cannot be loaded' in out and 'rebuilding the toy model' in out
        assert LanguageModel.load(models_dir()/'ng').order == 2  # the rebuilt model was saved whole
    assert CharNGram.from_cache('ng', rebuild, 'not used').order == 2 and 'cannot' not in capsys.readouterr().out

@pytest.mark.parametrize('make', [lambda: CharRNN.new(TRAIN, units=16, emb_dim=8, seq_len=12, seed=0), tiny_gpt])
def test_fit_after_an_early_stop_trains_and_continues_the_history(make):
    "`fit(patience=1)` stops early; the next `fit` trains again (the weights move) and its epochs join the history."
    m = make()
    noise = ''.join(np.random.default_rng(0).permutation(list(VALID)))  # no structure: its loss rises once the model learns
    h = m.fit(TRAIN, noise, epochs=8, batch_size=8, lr=1e-2, patience=1, sample_every=0, verbose=0)
    first = len(h['loss'])
    assert first < 8  # it stopped early
    before = [w.copy() for w in m.model.get_weights()]
    h = m.fit(TRAIN, VALID, epochs=2, batch_size=8, lr=1e-2, sample_every=0, verbose=0)
    assert len(h['loss']) == first + 2
    assert max(float(np.abs(a - b).max()) for a, b in zip(m.model.get_weights(), before, strict=True)) > 1e-4

@pytest.mark.parametrize('kw,named', [(dict(max_gen_length=2**32 + 5), 'max_gen_length'), (dict(top_k=2**32 + 1), 'top_k'),
                                      (dict(max_gen_length=2**31), 'max_gen_length')])
def test_integer_settings_are_bounded(kw, named):
    "A count past what TensorFlow's 32-bit integers hold is refused, naming the argument and the limit (never wrapped around)."
    with pytest.raises(ValueError, match=rf"{named} must be an integer from \d+ to 2,147,483,647, got"):
        CharNGram(2).fit(['abc']).generate(1, **{'max_gen_length': 5, **kw})

def test_batch_sizes_and_lengths_are_bounded():
    "Batch sizes, sequence lengths and n are bounded the same way."
    m = CharRNN.new(TRAIN, units=8, emb_dim=4, seq_len=12, seed=0)
    with pytest.raises(ValueError, match=rf"batch_size must be an integer from 1 to 2,147,483,647"): m.fit(TRAIN, epochs=1, batch_size=2**32)
    with pytest.raises(ValueError, match=rf"seq_len must be an integer from 1 to 2,147,483,647"): CharRNN.new(TRAIN, seq_len=2**33)
    with pytest.raises(ValueError, match=r"n = 4,294,967,296 texts in one batch is too many"): m.generate(2**32)

def test_cli_refuses_a_huge_length_in_one_line(capsys):
    "`textgen generate --max-length 2**40` exits 2 with one line naming the argument and its limit."
    assert main(['generate', '--max-length', str(2**40), '-n', '1']) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '--max-length must be an integer from 1 to 2,147,483,647' in err

def test_loading_a_textgenrnn_model_hashes_its_weights_once(tmp_path, monkeypatch):
    "However many checks read the JSON beside it, a load reads the weights file's bytes for a digest once."
    TextGenRNN().save(tmp_path/'tg')
    calls = []
    real = modelfiles.file_digest
    monkeypatch.setattr(modelfiles, 'file_digest', lambda p, *a: calls.append(p) or real(p, *a))
    TextGenRNN.load(tmp_path/'tg')
    assert len(calls) == 1
