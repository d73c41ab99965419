"""The bad-input matrix: every public entry point this part of the course owns, crossed with the bad inputs a learner meets.
Each cell expects a clear error (type + a fragment naming the problem) or the documented handling, and checks that no file
the user had was changed (the bytes of every file in the user's folder, before and after)."""
import contextlib, hashlib, io, json, math, os, shutil, subprocess, sys, tarfile, textwrap, warnings
from pathlib import Path
import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
from textgen_course.checks import CorpusError
from textgen_course.corpus import read_text, read_lines, load_imdb, prepare_reviews, clean_review
from textgen_course.data import extract_archive
from textgen_course.samples import sample_reviews
from textgen_course.modelfiles import ModelFileError, meta_path
from textgen_course.lm import LanguageModel
from textgen_course.textgenrnn import TextGenRNN, textgenrnn
from textgen_course.charrnn import CharRNN
from textgen_course.cli import main
from textgen_course.detect import FakeReviewDetector, LikelihoodDetector
from textgen_course.evaluate import token_scores, CharNGram
from textgen_course.widgets import SamplingPanel, ProbabilityPanel

TEXTS = [clean_review(r.text) for r in sample_reviews(4)][:6]
EMOJI = '😂'

def _tar(path, members):
    "A tar with (name, kind, payload) members: kind 'file' (payload bytes) or 'sym' (payload = link target)."
    with tarfile.open(path, 'w') as t:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == 'sym':
                info.type, info.linkname = tarfile.SYMTYPE, payload
                t.addfile(info)
            else:
                info.size = len(payload)
                t.addfile(info, io.BytesIO(payload))

def _damage(folder, stem, how):
    "Copies of a saved model (`stem.weights.h5` + `stem.model.json`) under a new stem, damaged by `how(weights, meta)`."
    src = folder/f'{stem}.weights.h5'
    w = folder/f'{stem}_{how.__name__}.weights.h5'
    shutil.copy(src, w)
    shutil.copy(meta_path(src), meta_path(w))
    how(w, meta_path(w))
    return w

def truncated(w, m): w.write_bytes(w.read_bytes()[:len(w.read_bytes()) // 3])
def zero_bytes(w, m): w.write_bytes(b'')
def swapped_vocab(w, m):  # same size, two tokens exchanged
    meta = json.loads(m.read_text(encoding='utf-8'))
    v = meta['vocab']
    if isinstance(v, dict) and 'tokens' in v: v['tokens'][3], v['tokens'][4] = v['tokens'][4], v['tokens'][3]  # char-RNN
    elif isinstance(v, list): v[2], v[3] = v[3], v[2]  # n-gram, detector
    else:  # textgenrnn: {token: id}
        a, b = list(v)[:2]
        v[a], v[b] = v[b], v[a]
    m.write_text(json.dumps(meta, ensure_ascii=False), encoding='utf-8')

class Ctx:
    "The user's folder (files that must never change) and the tiny shared models."

@pytest.fixture(scope='module')
def ctx(tmp_path_factory):
    c = Ctx()
    c.d = tmp_path_factory.mktemp('user')
    c.out = tmp_path_factory.mktemp('out')
    c.lang_c_proc = _start_lang_c(c.out/'lang_c')
    d = c.d
    (d/'empty.txt').write_bytes(b'')
    (d/'blank.txt').write_bytes(b'  \n\t \n')
    (d/'latin1.txt').write_bytes('Un film très mauvais.\n'.encode('latin-1'))
    (d/'nul.txt').write_bytes(b'bad\x00film\n')
    (d/'good.txt').write_text('Awful film.\nNever again.\n', encoding='utf-8')
    (d/'long.txt').write_bytes(b'a' * 10_000_000 + b'\n')  # one 10 MB line
    review = b'This film was awful.'
    _tar(d/'dotdot.tar', [('../aclImdb/train/neg/1_1.txt', 'file', review)])
    _tar(d/'abs.tar', [('/tmp/aclImdb/train/neg/2_1.txt', 'file', review)])
    _tar(d/'symlink.tar', [('aclImdb/train/neg/3_1.txt', 'sym', '/etc/passwd')])
    c.tg = textgenrnn(name='tg')
    c.tg.train_new_model(TEXTS, num_epochs=1, rnn_size=8, rnn_layers=1, max_length=12, dim_embeddings=8, gen_epochs=0, verbose=0)
    c.tg.save(d/'tg.weights.h5')
    c.cr = CharRNN.new(' '.join(TEXTS), units=16, emb_dim=8, seq_len=20, seed=0)
    c.cr.save(d/'cr')
    c.wr = CharRNN.new(TEXTS, level='word', units=16, emb_dim=8, seq_len=8, seed=0)  # the word-level sibling
    c.wr.save(d/'wr')
    c.ng = CharNGram(3).fit(TEXTS)
    c.ng.save(d/'ng')
    fakes = [' '.join(reversed(t.split())) for t in TEXTS]
    c.det = FakeReviewDetector(max_len=40, filters=4, kernel_size=3)
    c.det.fit(TEXTS, fakes, epochs=1)
    c.det.save(d/'det')
    c.lik = LikelihoodDetector(c.tg, max_chars=40)
    c.lik.fit(TEXTS, fakes)
    for stem in ('tg', 'cr', 'wr', 'ng', 'det'):
        for how in (truncated, zero_bytes, swapped_vocab): _damage(d, stem, how)
    return c

def _snapshot(folder): return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                               for p in sorted(folder.rglob('*')) if p.is_file() or p.is_symlink()}

def _cli(argv):
    "Run the CLI in-process; return (exit code, stderr)."
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()): rc = main(argv)
    return rc, err.getvalue()

W = lambda c, name: str(c.d/name)
def raises(exc, msg, after=lambda c: True): return ('raises', exc, msg, after)  # `after(c)`: what must hold once it raised
def ok(check=lambda r, c: True): return ('ok', check)
def warns(msg, check=lambda r, c: True): return ('warns', msg, check)
def exit2(msg): return ('exit', 2, msg)
def shown(msg): return ('panel', msg)  # a widget callback: no exception, the message in the status line, the button usable again
def exit0(): return ('exit', 0, '')

def _clicked(panel):
    "Click a panel's button, as a learner would; return the panel."
    panel.button.click()
    return panel

def _nothing_saved(c, name):
    "Saving failed: neither file (nor a temporary one) was left in the output folder."
    return not list(c.out.glob(f'*{name}*'))

LONG_PREFIX = 'This film was so bad that I watched the whole thing twice to be sure. ' * 3  # longer than any window here
GEN = dict(return_as_list=True, max_gen_length=8, seed=0)
TINY_NGRAM = CharNGram(2).fit(['ab ba', 'abba'])  # 6 symbols: scoring a million characters stays small in memory

MATRIX = [
    # corpus readers
    ('read_text', 'missing path', lambda c: read_text(W(c, 'missing.txt')), raises(CorpusError, 'no such file')),
    ('read_text', 'empty corpus', lambda c: read_text(W(c, 'empty.txt')), raises(CorpusError, 'empty')),
    ('read_text', 'whitespace-only corpus', lambda c: read_text(W(c, 'blank.txt')), raises(CorpusError, 'empty')),
    ('read_text', 'undecodable bytes', lambda c: read_text(W(c, 'latin1.txt')), raises(CorpusError, 'not valid UTF-8 at byte')),
    ('read_text', 'NUL byte', lambda c: read_text(W(c, 'nul.txt')), raises(CorpusError, 'NUL byte at offset 3')),
    ('read_text', '10 MB line', lambda c: read_text(W(c, 'long.txt')), ok(lambda r, c: len(r) == 10_000_001)),
    ('read_lines', 'missing path', lambda c: read_lines(W(c, 'missing.txt')), raises(CorpusError, 'no such file')),
    ('read_lines', 'empty corpus', lambda c: read_lines(W(c, 'empty.txt')), raises(CorpusError, 'empty')),
    ('read_lines', 'whitespace-only corpus', lambda c: read_lines(W(c, 'blank.txt')), raises(CorpusError, 'empty')),
    ('read_lines', 'undecodable bytes', lambda c: read_lines(W(c, 'latin1.txt')), raises(CorpusError, 'not valid UTF-8')),
    ('read_lines', 'NUL byte', lambda c: read_lines(W(c, 'nul.txt')), raises(CorpusError, 'NUL byte')),
    ('read_lines', '10 MB line', lambda c: read_lines(W(c, 'long.txt')), ok(lambda r, c: len(r) == 1 and len(r[0]) == 10_000_000)),
    ('load_imdb', 'missing path', lambda c: load_imdb(W(c, 'missing.tar')), raises(CorpusError, 'no such file or folder')),
    ('load_imdb', 'empty corpus', lambda c: load_imdb(W(c, 'empty.txt')), raises(CorpusError, 'not a readable tar archive')),
    # reading members never writes a file, so names with ../ or / are only names; links are never followed
    ('load_imdb', 'tar with ../ member', lambda c: load_imdb(W(c, 'dotdot.tar')), ok(lambda r, c: [x.id for x in r] == [1])),
    ('load_imdb', 'tar with absolute member', lambda c: load_imdb(W(c, 'abs.tar')), ok(lambda r, c: [x.id for x in r] == [2])),
    ('load_imdb', 'tar with symlink member', lambda c: load_imdb(W(c, 'symlink.tar')), raises(CorpusError, 'no review matches')),
    ('prepare_reviews', 'missing path', lambda c: prepare_reviews(W(c, 'missing.tar'), c.out/'p1.txt'), raises(CorpusError, 'no such file')),
    ('prepare_reviews', 'tar with symlink member', lambda c: prepare_reviews(W(c, 'symlink.tar'), c.out/'p2.txt'), raises(CorpusError, 'no review matches')),
    ('prepare_reviews', 'tar with ../ member', lambda c: prepare_reviews(W(c, 'dotdot.tar'), c.out/'p3.txt'),
     ok(lambda r, c: read_lines(r[0]) == ['This film was awful.'])),
    ('extract_archive', 'missing path', lambda c: extract_archive(W(c, 'missing.tar'), c.out/'x1'), raises(CorpusError, 'no such file')),
    ('extract_archive', 'empty corpus', lambda c: extract_archive(W(c, 'empty.txt'), c.out/'x2'), raises(CorpusError, 'not a tar archive')),
    ('extract_archive', 'tar with ../ member', lambda c: extract_archive(W(c, 'dotdot.tar'), c.out/'x3'), raises(CorpusError, 'leaves the target folder')),
    ('extract_archive', 'tar with absolute member', lambda c: extract_archive(W(c, 'abs.tar'), c.out/'x4'), raises(CorpusError, 'leaves the target folder')),
    ('extract_archive', 'tar with symlink member', lambda c: extract_archive(W(c, 'symlink.tar'), c.out/'x5'), raises(CorpusError, 'links outside')),
    # TextGenRNN
    ('TextGenRNN.train_on_texts', 'empty corpus', lambda c: c.tg.train_on_texts([], num_epochs=1), raises(CorpusError, 'the list is empty')),
    ('TextGenRNN.train_on_texts', 'whitespace-only corpus', lambda c: c.tg.train_on_texts([' ', '\t\n'], num_epochs=1), raises(CorpusError, 'every text is empty')),
    ('TextGenRNN.train_on_texts', 'one string', lambda c: c.tg.train_on_texts('one review', num_epochs=1), raises(TypeError, 'wrap it in a list')),
    ('TextGenRNN.train_on_texts', 'characters outside the vocab', lambda c: TextGenRNN.load(c.d/'tg.weights.h5').train_on_texts(
        [f'bad {EMOJI} film'], num_epochs=1, gen_epochs=0, verbose=0), warns('not in the vocabulary')),
    ('TextGenRNN.train_from_file', 'missing path', lambda c: c.tg.train_from_file(W(c, 'missing.txt')), raises(CorpusError, 'no such file')),
    ('TextGenRNN.train_from_file', 'undecodable bytes', lambda c: c.tg.train_from_file(W(c, 'latin1.txt')), raises(CorpusError, 'not valid UTF-8')),
    ('TextGenRNN.train_from_file', 'NUL byte', lambda c: c.tg.train_from_file(W(c, 'nul.txt'), header=False), raises(CorpusError, 'NUL byte')),
    ('TextGenRNN.generate', 'temperature 0', lambda c: c.tg.generate(2, temperature=0, **GEN), ok(lambda r, c: r[0] == r[1])),  # greedy
    ('TextGenRNN.generate', 'temperature negative', lambda c: c.tg.generate(temperature=-0.5, **GEN), raises(ValueError, '>= 0')),
    ('TextGenRNN.generate', 'temperature NaN', lambda c: c.tg.generate(temperature=math.nan, **GEN), raises(ValueError, 'finite')),
    ('TextGenRNN.generate', 'temperature inf', lambda c: c.tg.generate(temperature=math.inf, **GEN), raises(ValueError, 'finite')),
    ('TextGenRNN.generate', 'n=0', lambda c: c.tg.generate(0, **GEN), raises(ValueError, 'n must be an integer from 1 up, got 0')),
    ('TextGenRNN.generate', 'huge n', lambda c: c.tg.generate(10**12, **GEN), raises(ValueError, 'too many')),
    ('TextGenRNN.generate', 'prefix longer than the window', lambda c: c.tg.generate(1, prefix=LONG_PREFIX, **GEN),
     ok(lambda r, c: r[0].startswith(LONG_PREFIX))),
    ('TextGenRNN.generate', 'top_k out of range', lambda c: c.tg.generate(top_k=-1, **GEN), raises(ValueError, 'top_k must be an integer from 0 up')),
    ('TextGenRNN.generate', 'top_p out of range', lambda c: c.tg.generate(top_p=1.5, **GEN), raises(ValueError, 'top_p must be a number in (0, 1]')),
    ('TextGenRNN.generate', 'characters outside the vocab', lambda c: c.tg.generate(prefix=f'bad {EMOJI}', **GEN), raises(ValueError, EMOJI)),
    ('TextGenRNN.generate', 'NUL byte', lambda c: c.tg.generate(prefix='bad\x00', **GEN), raises(ValueError, r"'\x00'")),
    ('TextGenRNN.evaluate', 'empty corpus', lambda c: c.tg.evaluate([]), raises(CorpusError, 'the list is empty')),
    ('TextGenRNN.evaluate', 'one string', lambda c: c.tg.evaluate('one review'), ok(lambda r, c: r['tokens'] == len('one review'))),
    ('TextGenRNN.evaluate', 'characters outside the vocab', lambda c: c.tg.evaluate([f'bad {EMOJI} film']), ok(lambda r, c: r['unknown'] == 1)),
    ('TextGenRNN.load', 'missing path', lambda c: TextGenRNN.load(c.d/'missing.weights.h5'), raises(FileNotFoundError, 'no such weights file')),
    ('TextGenRNN.load', 'truncated weights', lambda c: TextGenRNN.load(c.d/'tg_truncated'), raises(ModelFileError, 'truncated')),
    ('TextGenRNN.load', 'zero-byte weights', lambda c: TextGenRNN.load(c.d/'tg_zero_bytes'), raises(ModelFileError, 'empty (0 bytes)')),
    ('TextGenRNN.load', 'same-size different vocab', lambda c: TextGenRNN.load(c.d/'tg_swapped_vocab'), raises(ModelFileError, 'not the one the model was saved with')),
    ('TextGenRNN.load', 'another kind of model', lambda c: TextGenRNN.load(c.d/'cr'), raises(ModelFileError, "this is a 'charrnn' model, not a 'textgenrnn' one")),
    ('TextGenRNN.load', 'called on an instance', lambda c: c.tg.load(c.d/'tg'), raises(AttributeError, 'model = TextGenRNN.load(path)')),
    # CharRNN
    ('CharRNN.fit', 'empty corpus', lambda c: c.cr.fit('', epochs=1, verbose=0), raises(CorpusError, 'empty')),
    ('CharRNN.fit', 'whitespace-only corpus', lambda c: c.cr.fit(' \n\t ', epochs=1, verbose=0), raises(CorpusError, 'empty')),
    ('CharRNN.fit', 'characters outside the vocab', lambda c: CharRNN.load(c.d/'cr').fit((f'bad {EMOJI} film. ' * 20), epochs=1, batch_size=2,
     sample_every=0, verbose=0), ok(lambda r, c: np.isfinite(r['loss'][-1]))),  # documented: mapped to <unk>
    ('CharRNN.generate', 'temperature 0', lambda c: c.cr.generate(2, temperature=0, **GEN), ok(lambda r, c: r[0] == r[1])),
    ('CharRNN.generate', 'temperature negative', lambda c: c.cr.generate(temperature=-1, **GEN), raises(ValueError, '>= 0')),
    ('CharRNN.generate', 'temperature NaN', lambda c: c.cr.generate(temperature=math.nan, **GEN), raises(ValueError, 'finite')),
    ('CharRNN.generate', 'temperature inf', lambda c: c.cr.generate(temperature=[1.0, math.inf], **GEN), raises(ValueError, 'finite')),
    ('CharRNN.generate', 'n=0', lambda c: c.cr.generate(0, **GEN), raises(ValueError, 'n must be an integer from 1 up, got 0')),
    ('CharRNN.generate', 'huge n', lambda c: c.cr.generate(10**12, **GEN), raises(ValueError, 'too many')),
    ('CharRNN.generate', 'prefix longer than the window', lambda c: c.cr.generate(1, prefix=LONG_PREFIX, **GEN),
     ok(lambda r, c: r[0].startswith(LONG_PREFIX))),  # stateful: no window, the whole prefix is read
    ('CharRNN.generate', 'top_k out of range', lambda c: c.cr.generate(top_k=-2, **GEN), raises(ValueError, 'top_k must be an integer from 0 up')),
    ('CharRNN.generate', 'top_p out of range', lambda c: c.cr.generate(top_p=0.0, **GEN), raises(ValueError, 'top_p must be a number in (0, 1]')),
    ('CharRNN.generate', 'characters outside the vocab', lambda c: c.cr.generate(prefix=f'bad {EMOJI}', **GEN), raises(ValueError, EMOJI)),
    ('CharRNN.evaluate', 'empty corpus', lambda c: c.cr.evaluate(''), raises(CorpusError, 'empty')),
    ('CharRNN.evaluate', 'whitespace-only corpus', lambda c: c.cr.evaluate(['  ']), raises(CorpusError, 'empty')),
    ('CharRNN.evaluate', 'characters outside the vocab', lambda c: c.cr.evaluate(f'bad {EMOJI} film'), ok(lambda r, c: r['unknown'] == 1)),
    ('CharRNN.load', 'missing path', lambda c: CharRNN.load(c.d/'missing'), raises(FileNotFoundError, 'missing.weights.h5: no such weights file')),
    ('CharRNN.load', 'truncated weights', lambda c: CharRNN.load(c.d/'cr_truncated'), raises(ModelFileError, 'truncated')),
    ('CharRNN.load', 'zero-byte weights', lambda c: CharRNN.load(c.d/'cr_zero_bytes'), raises(ModelFileError, 'empty (0 bytes)')),
    ('CharRNN.load', 'same-size different vocab', lambda c: CharRNN.load(c.d/'cr_swapped_vocab'), raises(ModelFileError, 'not the one the model was saved with')),
    ('CharRNN.load', 'another kind of model', lambda c: CharRNN.load(c.d/'det'), raises(ModelFileError, "this is a 'detector' model, not a 'charrnn' one")),
    ('CharRNN.load', 'called on an instance', lambda c: c.cr.load(c.d/'cr'), raises(AttributeError, 'model = CharRNN.load(path)')),
    # the word-level model (same class, word vocabulary)
    ('word CharRNN.fit', 'empty corpus', lambda c: c.wr.fit([], epochs=1, verbose=0), raises(CorpusError, 'the list is empty')),
    ('word CharRNN.fit', 'whitespace-only corpus', lambda c: c.wr.fit([' ', '\t'], epochs=1, verbose=0), raises(CorpusError, 'every text is empty')),
    ('word CharRNN.fit', 'one string', lambda c: c.wr.fit('one review', epochs=1, verbose=0), raises(TypeError, 'created for documents (a list)')),
    ('word CharRNN.generate', 'temperature NaN', lambda c: c.wr.generate(temperature=math.nan, **GEN), raises(ValueError, 'finite')),
    ('word CharRNN.generate', 'n=0', lambda c: c.wr.generate(0, **GEN), raises(ValueError, 'n must be an integer from 1 up')),
    ('word CharRNN.generate', 'characters outside the vocab', lambda c: c.wr.generate(prefix=f'bad {EMOJI}', **GEN), raises(ValueError, EMOJI)),
    ('word CharRNN.evaluate', 'characters outside the vocab', lambda c: c.wr.evaluate([f'bad {EMOJI} film']), ok(lambda r, c: r['unknown'] >= 1)),
    ('word CharRNN.load', 'truncated weights', lambda c: CharRNN.load(c.d/'wr_truncated'), raises(ModelFileError, 'truncated')),
    ('word CharRNN.load', 'zero-byte weights', lambda c: CharRNN.load(c.d/'wr_zero_bytes'), raises(ModelFileError, 'empty (0 bytes)')),
    ('word CharRNN.load', 'same-size different vocab', lambda c: CharRNN.load(c.d/'wr_swapped_vocab'), raises(ModelFileError, 'not the one the model was saved with')),
    # the n-gram model and scoring
    ('CharNGram.fit', 'empty corpus', lambda c: CharNGram(3).fit([]), raises(CorpusError, 'the list is empty')),
    ('CharNGram.fit', 'whitespace-only corpus', lambda c: CharNGram(3).fit(' \n '), raises(CorpusError, 'every text is empty')),
    ('CharNGram.evaluate', 'empty corpus', lambda c: c.ng.evaluate([]), raises(CorpusError, 'the list is empty')),
    ('CharNGram.evaluate', 'whitespace-only corpus', lambda c: c.ng.evaluate(' \n\t '), raises(CorpusError, 'every text is empty')),
    ('CharNGram.evaluate', 'characters outside the vocab', lambda c: c.ng.evaluate(f'bad {EMOJI} film'), ok(lambda r, c: r['unknown'] == 1)),
    ('CharNGram.evaluate', 'model not fitted', lambda c: CharNGram(3).evaluate(['some text']), raises(ValueError, 'not fitted: call fit() first')),
    ('CharNGram.generate', 'temperature 0', lambda c: c.ng.generate(2, temperature=0, **GEN), ok(lambda r, c: r[0] == r[1])),
    ('CharNGram.generate', 'temperature NaN', lambda c: c.ng.generate(temperature=math.nan, **GEN), raises(ValueError, 'finite')),
    ('CharNGram.generate', 'n=0', lambda c: c.ng.generate(0, **GEN), raises(ValueError, 'n must be an integer from 1 up')),
    ('CharNGram.generate', 'top_p out of range', lambda c: c.ng.generate(top_p=-1.0, **GEN), raises(ValueError, 'top_p must be a number in (0, 1]')),
    ('CharNGram.generate', 'prefix longer than the window', lambda c: c.ng.generate(1, prefix=LONG_PREFIX, **GEN),
     ok(lambda r, c: r[0].startswith(LONG_PREFIX))),
    # documented: a character never seen in training is '<unk>' in the context, never generated
    ('CharNGram.generate', 'characters outside the vocab', lambda c: c.ng.generate(2, prefix=f'bad {EMOJI}', **GEN),
     ok(lambda r, c: all(t.startswith(f'bad {EMOJI}') and EMOJI not in t[5:] for t in r))),
    ('CharNGram.generate', 'model not fitted', lambda c: CharNGram(3).generate(1, **GEN), raises(ValueError, 'not fitted: call fit() first')),
    ('CharNGram.save', 'model not fitted', lambda c: CharNGram(3).save(c.out/'unfitted'), raises(ValueError, 'not fitted: call fit() first',
     lambda c: _nothing_saved(c, 'unfitted'))),
    ('CharNGram.load', 'missing path', lambda c: CharNGram.load(c.d/'missing'), raises(FileNotFoundError, 'no such weights file')),
    ('CharNGram.load', 'truncated weights', lambda c: CharNGram.load(c.d/'ng_truncated'), raises(ModelFileError, 'truncated')),
    ('CharNGram.load', 'zero-byte weights', lambda c: CharNGram.load(c.d/'ng_zero_bytes'), raises(ModelFileError, 'empty (0 bytes)')),
    ('CharNGram.load', 'same-size different vocab', lambda c: CharNGram.load(c.d/'ng_swapped_vocab'), raises(ModelFileError, 'not the one the model was saved with')),
    ('CharNGram.load', 'another kind of model', lambda c: CharNGram.load(c.d/'tg'), raises(ModelFileError, "this is a 'textgenrnn' model, not a 'ngram' one")),
    ('CharNGram.load', 'called on an instance', lambda c: c.ng.load(c.d/'ng'), raises(AttributeError, 'model = CharNGram.load(path)')),
    ('token_scores', 'empty corpus', lambda c: token_scores(c.tg, ''), raises(ValueError, 'text is empty')),
    ('token_scores', 'characters outside the vocab', lambda c: token_scores(c.tg, f'bad {EMOJI}'), ok(lambda r, c: list(r.rank).count(0) == 1)),
    ('token_scores', '10 MB line', lambda c: token_scores(TINY_NGRAM, 'ab' * 500_000), ok(lambda r, c: len(r.rank) == 1_000_000)),
    ('token_scores', 'one string', lambda c: token_scores(c.cr, ['a list']), raises(TypeError, 'text must be a string')),
    # the detectors
    ('FakeReviewDetector.fit', 'empty corpus', lambda c: FakeReviewDetector().fit([], TEXTS), raises(CorpusError, 'no real texts')),
    ('FakeReviewDetector.fit', 'whitespace-only corpus', lambda c: FakeReviewDetector().fit(TEXTS, ['x', ' ']), raises(CorpusError, 'fake texts[1] is empty')),
    ('FakeReviewDetector.predict_fake', 'characters outside the vocab', lambda c: c.det.predict_fake([EMOJI * 3]), ok(lambda r, c: r.shape == (1,))),
    ('FakeReviewDetector.predict_fake', 'NUL byte', lambda c: c.det.predict_fake(['bad\x00film']), ok(lambda r, c: 0 <= r[0] <= 1)),
    ('FakeReviewDetector.predict_fake', 'one string', lambda c: c.det.predict_fake('one review'),
     ok(lambda r, c: isinstance(r, float) and r == pytest.approx(float(c.det.predict_fake(['one review'])[0]), abs=1e-6))),
    ('FakeReviewDetector.load', 'missing path', lambda c: FakeReviewDetector.load(c.d/'missing'), raises(FileNotFoundError, 'no such weights file')),
    ('FakeReviewDetector.load', 'truncated weights', lambda c: FakeReviewDetector.load(c.d/'det_truncated'), raises(ModelFileError, 'truncated')),
    ('FakeReviewDetector.load', 'zero-byte weights', lambda c: FakeReviewDetector.load(c.d/'det_zero_bytes'), raises(ModelFileError, 'empty (0 bytes)')),
    ('FakeReviewDetector.load', 'same-size different vocab', lambda c: FakeReviewDetector.load(c.d/'det_swapped_vocab'), raises(ModelFileError, 'not the one the model was saved with')),
    ('FakeReviewDetector.load', 'another kind of model', lambda c: FakeReviewDetector.load(c.d/'ng'), raises(ModelFileError, "this is a 'ngram' model, not a 'detector' one")),
    ('LikelihoodDetector.fit', 'empty corpus', lambda c: LikelihoodDetector(c.tg).fit(TEXTS, []), raises(CorpusError, 'no fake texts')),
    ('LikelihoodDetector.predict_fake', 'characters outside the vocab', lambda c: c.lik.predict_fake([EMOJI * 3]), raises(ValueError, "model's vocabulary")),
    ('LikelihoodDetector.predict_fake', 'one string', lambda c: c.lik.predict_fake('one review'),
     ok(lambda r, c: isinstance(r, float) and r == c.lik.predict_fake(['one review'])[0])),
    ('LikelihoodDetector.predict_fake', 'empty corpus', lambda c: c.lik.predict_fake([]), raises(CorpusError, 'no texts: the list is empty')),
    # the widgets' callbacks (what a click runs)
    ('SamplingPanel.generate', 'characters outside the vocab', lambda c: _clicked(SamplingPanel(c.tg, prefix=f'bad {EMOJI}')), shown(EMOJI)),
    ('SamplingPanel.generate', 'NUL byte', lambda c: _clicked(SamplingPanel(c.cr, prefix='bad\x00')), shown("'\\x00'")),
    ('SamplingPanel.generate', 'temperature 0', lambda c: _clicked(SamplingPanel(c.tg, temperature=0, n=2, max_gen_length=8)),
     ok(lambda r, c: r.last[0] == r.last[1] and r.last_error is None)),
    ('SamplingPanel.generate', 'prefix longer than the window', lambda c: _clicked(SamplingPanel(c.tg, prefix=LONG_PREFIX, max_gen_length=5)),
     ok(lambda r, c: r.last[0].startswith(LONG_PREFIX))),
    ('ProbabilityPanel.score', 'empty corpus', lambda c: _clicked(ProbabilityPanel(c.tg)), shown('text is empty')),
    ('ProbabilityPanel.score', 'characters outside the vocab', lambda c: _clicked(ProbabilityPanel(c.cr, text=f'bad {EMOJI} film')),
     ok(lambda r, c: r.last.rank_counts()['unknown'] == 1)),
    # the command line (a tiny saved model, so each cell is quick)
    ('cli generate', 'temperature 0', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--temperature', '0', '-n', '2', '--max-length', '5']), exit0()),
    ('cli generate', 'temperature negative', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--temperature', '-1']), exit2('>= 0')),
    ('cli generate', 'temperature NaN', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--temperature', 'nan']), exit2('finite')),
    ('cli generate', 'temperature inf', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--temperature', 'inf']), exit2('finite')),
    ('cli generate', 'n=0', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '-n', '0']), exit2('-n must be an integer from 1 to 1,000,000, got 0')),
    ('cli generate', 'huge n', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '-n', str(10**12)]), exit2('-n must be an integer from 1 to 1,000,000, got 1,000,000,000,000')),
    ('cli generate', 'prefix longer than the window', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--prefix', LONG_PREFIX, '--max-length', '5']), exit0()),
    ('cli generate', 'top_k out of range', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--top-k', '-1']), exit2('--top-k must be an integer from 0 up, got -1')),
    ('cli generate', 'top_p out of range', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--top-p', '2']), exit2('top_p must be a number')),
    ('cli generate', 'characters outside the vocab', lambda c: _cli(['generate', '--model', W(c, 'tg.weights.h5'), '--prefix', EMOJI]), exit2(EMOJI)),
    ('cli generate', 'missing path', lambda c: _cli(['generate', '--model', W(c, 'missing.weights.h5')]), exit2('no such model file')),
    ('cli generate', 'truncated weights', lambda c: _cli(['generate', '--model', W(c, 'tg_truncated.weights.h5')]), exit2('truncated')),
    ('cli generate', 'zero-byte weights', lambda c: _cli(['generate', '--model', W(c, 'tg_zero_bytes.weights.h5')]), exit2('empty (0 bytes)')),
    ('cli generate', 'same-size different vocab', lambda c: _cli(['generate', '--model', W(c, 'tg_swapped_vocab.weights.h5')]), exit2('not the one the model was saved with')),
    ('cli generate', 'another kind of model', lambda c: _cli(['generate', '--model', W(c, 'ng.weights.h5'), '-n', '2', '--max-length', '5']), exit0()),
    ('cli generate', 'not a model', lambda c: _cli(['generate', '--model', W(c, 'det.weights.h5')]), exit2("this is a 'detector' model")),
    ('cli finetune', 'missing path', lambda c: _cli(['finetune', W(c, 'missing.txt'), '--out', str(c.out/'f1')]), exit2('no such file')),
    ('cli finetune', 'empty corpus', lambda c: _cli(['finetune', W(c, 'empty.txt'), '--out', str(c.out/'f2')]), exit2('empty')),
    ('cli finetune', 'whitespace-only corpus', lambda c: _cli(['finetune', W(c, 'blank.txt'), '--out', str(c.out/'f3')]), exit2('empty')),
    ('cli finetune', 'undecodable bytes', lambda c: _cli(['finetune', W(c, 'latin1.txt'), '--out', str(c.out/'f4')]), exit2('not valid UTF-8')),
    ('cli finetune', 'NUL byte', lambda c: _cli(['finetune', W(c, 'nul.txt'), '--out', str(c.out/'f5')]), exit2('NUL byte')),
    ('cli finetune', 'tar with symlink member', lambda c: _cli(['finetune', W(c, 'symlink.tar'), '--out', str(c.out/'f6')]), exit2('no review matches')),
    ('cli finetune', 'truncated weights', lambda c: _cli(['finetune', W(c, 'good.txt'), '--model', W(c, 'tg_truncated.weights.h5'), '--out', str(c.out/'f7')]), exit2('truncated')),
    ('cli finetune', 'another kind of model', lambda c: _cli(['finetune', W(c, 'good.txt'), '--model', W(c, 'cr.weights.h5'), '--out', str(c.out/'f8')]),
     exit2("this is a 'charrnn' model, not a 'textgenrnn' one")),
]

def _start_lang_c(out):
    "Save and load models with a non-ASCII vocabulary in a subprocess whose locale is LANG=C (ASCII); it runs while the fixture trains."
    code = textwrap.dedent(f'''
        import os, locale; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
        from pathlib import Path
        from textgen_course.textgenrnn import textgenrnn, TextGenRNN
        from textgen_course.charrnn import CharRNN
        out = Path({str(out)!r}); texts = ['caf\\u00e9 \\U0001f602 na\\u00efve', '\\u00fcber gut \\u00e9']
        t = textgenrnn(name='u'); t.train_new_model(texts, num_epochs=1, rnn_size=8, rnn_layers=1, max_length=8, dim_embeddings=8, gen_epochs=0, verbose=0)
        t.save(out/'u.weights.h5'); assert TextGenRNN.load(out/'u').vocab == t.vocab
        print('TEXTGENRNN OK', locale.getpreferredencoding(False))
        m = CharRNN.new(' '.join(texts) * 5, units=16, emb_dim=8, seq_len=8)
        m.save(out/'c'); assert CharRNN.load(out/'c').vocab.itos == m.vocab.itos
        print('CHARRNN OK')
        from textgen_course.evaluate import CharNGram
        g = CharNGram(2).fit(texts); g.save(out/'g'); assert CharNGram.load(out/'g').itos == g.itos
        print('NGRAM OK')
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
    return subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env, 'LANG': 'C', 'LC_ALL': 'C', 'PYTHONUTF8': '0', 'TF_CPP_MIN_LOG_LEVEL': '3'})

@pytest.fixture(scope='module')
def lang_c(ctx):
    "The LANG=C subprocess's result (stdout, stderr, return code)."
    try: out, err = ctx.lang_c_proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        ctx.lang_c_proc.kill()
        raise
    return subprocess.CompletedProcess(ctx.lang_c_proc.args, ctx.lang_c_proc.returncode, out, err)

MATRIX += [('TextGenRNN.save/load', 'LANG=C', lambda c: c.lang_c, ok(lambda r, c: 'TEXTGENRNN OK' in r.stdout)),
           ('CharRNN.save/load', 'LANG=C', lambda c: c.lang_c, ok(lambda r, c: 'CHARRNN OK' in r.stdout)),
           ('CharNGram.save', 'LANG=C', lambda c: c.lang_c, ok(lambda r, c: 'NGRAM OK' in r.stdout))]

ENTRY_POINTS = sorted({e for e, *_ in MATRIX})
INPUTS = sorted({i for _, i, *_ in MATRIX})

def test_matrix_size():
    "At least the 32 entry points of the previous matrix, and no cell twice."
    print(f"\nbad-input matrix: {len(ENTRY_POINTS)} entry points x {len(INPUTS)} inputs, {len(MATRIX)} cells")
    assert len(ENTRY_POINTS) >= 32
    assert len(MATRIX) == len({(e, i) for e, i, *_ in MATRIX})

@pytest.mark.parametrize('entry,bad,run,expect', MATRIX, ids=[f'{e} | {i}' for e, i, *_ in MATRIX])
def test_bad_input(ctx, lang_c, entry, bad, run, expect):
    "One cell: the documented error (type and message) or handling, and every file of the user's folder unchanged."
    ctx.lang_c = lang_c
    before = _snapshot(ctx.d)
    kind = expect[0]
    if kind == 'raises':
        with pytest.raises(expect[1]) as e: run(ctx)
        assert expect[2] in str(e.value), f'{entry} | {bad}: {e.value!r}'
        assert expect[3](ctx), f'{entry} | {bad}: it raised, but left something behind'
    elif kind == 'warns':
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            r = run(ctx)
        assert any(expect[1] in str(x.message) for x in w), [str(x.message) for x in w]
        assert expect[2](r, ctx)
    elif kind == 'panel':
        p = run(ctx)
        assert p.last is None and expect[1] in p.status.value and not p.button.disabled, (p.status.value, p.last)
    elif kind == 'exit':
        rc, err = run(ctx)
        assert rc == expect[1], err
        if rc: assert expect[2] in err and err.count('\n') == 1 and 'Traceback' not in err, err
    else:
        r = run(ctx)
        assert expect[1](r, ctx), (entry, bad, r if not hasattr(r, 'stderr') else r.stderr[-2000:])
        if bad == 'LANG=C': assert 'ANSI_X3.4-1968' in r.stdout or 'ascii' in r.stdout.lower(), r.stdout  # the locale really was ASCII
    assert _snapshot(ctx.d) == before, f'{entry} | {bad}: a file in the user folder changed'
