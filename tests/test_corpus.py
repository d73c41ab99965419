"Tests for textgen_course.corpus: cleaning, line-delimited files, IMDb reading, safe extraction, splits, statistics."
import io, tarfile, urllib.error, warnings
from pathlib import Path
import pytest
from hypothesis import given, settings, strategies as st

from textgen_course.corpus import *
from textgen_course.corpus import LINE_BREAKS
from conftest import ROOT

texts = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=200)

@given(texts)
@settings(max_examples=300, deadline=None)
def test_clean_review_is_idempotent_and_single_line(t):
    once = clean_review(t)
    assert clean_review(once) == once
    assert LINE_BREAKS.search(once) is None
    assert len(once.splitlines()) <= 1
    assert once == once.strip()

@given(st.text(alphabet='ab <>/brBR&;#0123456789amplt\x85\x96\n', max_size=60))
@settings(max_examples=300, deadline=None)
def test_clean_review_markup_soup(t):
    once = clean_review(t, lower=True, keep='abcdefghijklmnopqrstuvwxyz <>&;#')
    assert clean_review(once, lower=True, keep='abcdefghijklmnopqrstuvwxyz <>&;#') == once
    assert BR_TAG.search(once) is None

def test_clean_review_real_patterns():
    raw = 'Bad.<br /><br />Really<br/>bad<BR >&#8230; it\x92s a \x93classic\x94 \x96 not.'
    assert clean_review(raw) == 'Bad. Really bad … it’s a “classic” – not.'
    assert clean_review('a<br />b', br=' | ') == 'a | b'

@given(st.lists(texts.map(clean_review), max_size=30))
@settings(max_examples=100, deadline=None)
def test_write_read_round_trip(tmp_path_factory, reviews):
    path = tmp_path_factory.mktemp('rt')/'r.txt'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert write_lines(reviews, path) == len(reviews)
        if reviews and any(r.strip() for r in reviews):
            assert read_lines(path) == reviews
        else:
            with pytest.raises(CorpusError, match='empty'): read_lines(path)

def test_empty_reviews_are_reported_not_dropped(tmp_path):
    with pytest.warns(UserWarning, match='1 empty text'):
        write_lines(['good', '', 'fine'], tmp_path/'x.txt')
    with pytest.warns(UserWarning, match='1 empty line.*kept'):
        assert read_lines(tmp_path/'x.txt') == ['good', '', 'fine']
    with pytest.warns(UserWarning, match='skipped'):
        assert read_lines(tmp_path/'x.txt', skip_empty=True) == ['good', 'fine']

def test_write_lines_refuses_nul(tmp_path):
    with pytest.raises(CorpusError, match='text 0 contains a NUL byte'): write_lines(['\x00'], tmp_path/'x.txt')

@pytest.mark.parametrize('bad', ['a\nb', 'a\rb', 'a\u2028b', 'a\x85b'])
def test_write_lines_refuses_line_breaks(tmp_path, bad):
    with pytest.raises(CorpusError, match='text 1 contains a line break'): write_lines(['ok', bad], tmp_path/'x.txt')

def test_bad_files(tmp_path):
    with pytest.raises(CorpusError, match='no such file'): read_text(tmp_path/'missing.txt')
    with pytest.raises(CorpusError, match='is a folder'): read_text(tmp_path)
    (tmp_path/'e.txt').write_text('')
    with pytest.raises(CorpusError, match='empty'): read_lines(tmp_path/'e.txt')
    (tmp_path/'w.txt').write_text('  \n\n\t')
    with pytest.raises(CorpusError, match='empty'): read_text(tmp_path/'w.txt')
    (tmp_path/'n.txt').write_bytes(b'review one\nrev\x00iew two\n')
    with pytest.raises(CorpusError, match='NUL byte at offset 14'): read_lines(tmp_path/'n.txt')
    (tmp_path/'l.txt').write_bytes('ok\nna\xefve\n'.encode('latin-1'))
    with pytest.raises(CorpusError, match='not valid UTF-8 at byte 5'): read_lines(tmp_path/'l.txt')

def test_huge_single_line_is_read_with_a_warning(tmp_path):
    big = 'x' * 10_000_000
    (tmp_path/'big.txt').write_text(big)
    with pytest.warns(UserWarning, match='10,000,000 characters'):
        lines = read_lines(tmp_path/'big.txt')
    assert lines == [big]
    assert len(clean_review(big)) == len(big)

@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    return write_sample_imdb(tmp_path_factory.mktemp('imdb')/'aclImdb_sample.tar.gz')

def test_committed_sample_data_is_what_the_code_writes(sample):
    assert (ROOT/'data'/'aclImdb_sample.tar.gz').read_bytes() == sample.read_bytes()
    assert (ROOT/'data'/'play_sample.txt').read_text(encoding='utf-8') == SAMPLE_PLAY
    expected = [clean_review(r.text) for r in load_imdb(sample, 'train', 'neg', 1)]
    assert read_lines(ROOT/'data'/'bad_reviews_sample.txt') == expected

def test_imdb_filters(sample):
    everything = load_imdb(sample, split=['train', 'test'])
    assert len(everything) == 240
    bad = load_imdb(sample, 'train', 'neg', 1)
    assert bad and all((r.split, r.label, r.rating) == ('train', 'neg', 1) for r in bad)
    mid = load_imdb(sample, 'test', None, (2, 4))
    assert mid and all(2 <= r.rating <= 4 for r in mid)
    assert len(load_imdb(sample, 'train', 'pos')) == 60
    assert any('<br />' in r.text for r in bad) and any('\x85' in r.text or '\x96' in r.text for r in everything)
    with pytest.raises(CorpusError, match='no review matches'): load_imdb(sample, 'train', 'pos', 1)
    with pytest.raises(ValueError, match="split must be"): load_imdb(sample, 'unsup')
    with pytest.raises(ValueError, match='label must be'): load_imdb(sample, 'train', 'bad')

def test_folder_and_archive_agree(sample, tmp_path):
    folder = extract_archive(sample, tmp_path/'x')
    a = load_imdb(sample, ['train', 'test'])
    assert load_imdb(folder, ['train', 'test']) == a
    assert load_imdb(folder/'aclImdb', ['train', 'test']) == a

def _tar(path, name, data=b'x', kind=tarfile.REGTYPE, linkname=''):
    with tarfile.open(path, 'w') as tf:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path

@pytest.mark.parametrize('name,kind,link', [
    ('../escape.txt', tarfile.REGTYPE, ''), ('a/../../escape.txt', tarfile.REGTYPE, ''),
    ('/tmp/abs_escape.txt', tarfile.REGTYPE, ''), ('link', tarfile.SYMTYPE, '../../etc/passwd'),
    ('link2', tarfile.SYMTYPE, '/etc/passwd'), ('hard', tarfile.LNKTYPE, '../outside'), ('dev', tarfile.CHRTYPE, '')])
def test_extract_refuses_unsafe_members(tmp_path, name, kind, link):
    arch = _tar(tmp_path/'evil.tar', name, kind=kind, linkname=link)
    dest = tmp_path/'deep'/'dest'
    with pytest.raises(CorpusError, match='unsafe member'): extract_archive(arch, dest)
    assert not dest.exists()
    assert not (tmp_path/'deep'/'escape.txt').exists()

def test_extract_bad_archives(tmp_path):
    with pytest.raises(CorpusError, match='no such file'): extract_archive(tmp_path/'none.tar.gz', tmp_path/'o')
    (tmp_path/'not.tar').write_text('hello')
    with pytest.raises(CorpusError, match='not a tar archive'): extract_archive(tmp_path/'not.tar', tmp_path/'o')
    with pytest.raises(CorpusError, match='neither a folder nor a tar'): load_imdb(tmp_path/'not.tar')

def test_download_uses_verified_cache_and_rejects_corrupt_files(tmp_path, monkeypatch):
    f = tmp_path/'a.bin'
    f.write_bytes(b'abc')
    assert download('http://invalid.example/a.bin', f, 'md5:900150983cd24fb0d6963f7d28e17f72') == f
    calls = []
    monkeypatch.setattr('urllib.request.urlopen', lambda url, timeout: calls.append((url, timeout)) or Resp(b'truncated'))
    with pytest.raises(CorpusError, match='checksum mismatch'):
        download('http://example.invalid/a.bin', f, 'md5:' + '0' * 32)
    assert calls == [('http://example.invalid/a.bin', 60)]  # never waits forever
    assert f.read_bytes() == b'abc' and not (tmp_path/'a.bin.part').exists()  # the old file is kept, no half file left

class Resp(io.BytesIO):
    "A stand-in for urlopen's response."
    headers = {}
    def __enter__(self): return self
    def __exit__(self, *a): pass

@pytest.fixture
def data_places(tmp_path, monkeypatch):
    "An empty download cache and no data folder; returns (cache, data folder)."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'cache'))
    monkeypatch.delenv('TEXTGEN_COURSE_DATA', raising=False)
    (tmp_path/'data').mkdir()
    return tmp_path/'cache', tmp_path/'data'

def test_course_data_looks_in_order(data_places, monkeypatch, tmp_path):
    cache, folder = data_places
    cache.mkdir()
    (cache/'tinyshakespeare.txt').write_text('cached')
    assert course_data('tinyshakespeare') == cache/'tinyshakespeare.txt'
    (folder/'input.txt').write_text('the class copy')  # karpathy's file name is accepted too
    monkeypatch.setenv('TEXTGEN_COURSE_DATA', str(folder))
    assert course_data('tinyshakespeare') == folder/'input.txt'
    (tmp_path/'mine.txt').write_text('mine')
    assert course_data('tinyshakespeare', path=tmp_path/'mine.txt') == tmp_path/'mine.txt'
    (folder/'aclImdb').mkdir()  # an extracted archive
    assert course_data('imdb') == folder/'aclImdb'

def test_course_data_downloads_and_verifies(data_places, monkeypatch):
    cache, _ = data_places
    body = b'First Citizen:\nBefore we proceed any further, hear me speak.\n'
    monkeypatch.setitem(DATASETS, 'tinyshakespeare', CourseDataset('http://example.invalid/input.txt',
                        'sha256:' + __import__('hashlib').sha256(body).hexdigest(), ('tinyshakespeare.txt',)))
    monkeypatch.setattr('urllib.request.urlopen', lambda url, timeout: Resp(body))
    assert course_data('tinyshakespeare').read_bytes() == body
    assert sorted(p.name for p in cache.iterdir()) == ['tinyshakespeare.txt']
    monkeypatch.setattr('urllib.request.urlopen', lambda url, timeout: Resp(body[:10]))  # truncated download
    (cache/'tinyshakespeare.txt').unlink()
    with pytest.raises(CorpusError, match='checksum mismatch'): course_data('tinyshakespeare')
    assert list(cache.iterdir()) == []

def test_course_data_offline_says_what_to_do(data_places, monkeypatch):
    cache, _ = data_places
    def offline(url, timeout): raise urllib.error.URLError('no network')
    monkeypatch.setattr('urllib.request.urlopen', offline)
    with pytest.raises(CorpusError) as e: course_data('imdb')
    msg = str(e.value)
    assert IMDB_URL in msg and str(cache/'aclImdb_v1.tar.gz') in msg and 'TEXTGEN_COURSE_DATA' in msg and 'no network' in msg
    with pytest.raises(CorpusError, match='not found'): course_data('tinyshakespeare', allow_download=False)
    with pytest.raises(ValueError, match='unknown dataset'): course_data('wikitext')

@given(st.lists(st.integers(), min_size=2, max_size=200), st.floats(0.01, 0.99), st.integers(0, 5))
@settings(max_examples=100, deadline=None)
def test_split_documents_partitions(docs, frac, seed):
    tr, va = split_documents(docs, frac, seed)
    assert tr and va
    assert sorted(tr + va) == sorted(docs)
    assert split_documents(docs, frac, seed) == (tr, va)

@given(st.text(min_size=2, max_size=300).filter(lambda t: t.strip()), st.floats(0.05, 0.95))
@settings(max_examples=100, deadline=None)
def test_split_text_by_position(text, frac):
    try: tr, va = split_text(text, frac)
    except CorpusError: return
    assert tr + va == text and tr and va

def test_normalize_text_keeps_lines():
    t = normalize_text('HAMLET:\r\n  To be\x97or not   \r\n\r\n')
    assert t == 'HAMLET:\n  To be—or not\n'
    assert normalize_text(t) == t

def test_stats_and_plot():
    s = corpus_stats(['ab', 'abc', ''])
    assert (s.n_texts, s.n_chars, s.n_empty, s.vocab_size, s.lengths) == (3, 5, 1, 3, [2, 3, 0])
    assert '3 text(s), 5 characters' in s.summary()
    ax = plot_lengths(['a', 'bb', 'ccc'], bins=3)
    assert sum(p.get_height() for p in ax.patches) == 3
    with pytest.raises(CorpusError): corpus_stats([])

def test_real_imdb_rating_1(real_data, tmp_path):
    archive = real_data('imdb')
    path, stats = prepare_reviews(archive, tmp_path/'bad.txt')
    lines = read_lines(path)
    assert stats.n_texts == len(lines) > 4000
    assert stats.n_empty == 0
    assert not any('<br' in l.lower() or LINE_BREAKS.search(l) for l in lines)
    assert not any('\x80' <= c <= '\x9f' for c in stats.chars)
