"Tests for textgen_course.corpus: cleaning, line-delimited files, IMDb reading, splits, statistics; the sample data committed in data/."
import warnings
import pytest
from hypothesis import example, given, settings, strategies as st

from textgen_course.checks import CorpusError
from textgen_course.corpus import *
from textgen_course.samples import SAMPLE_PLAY, sample_text, write_sample_imdb
from conftest import ROOT

texts = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=200)

@given(texts.filter(lambda t: '&' not in t))
@settings(max_examples=300, deadline=None)
@example('<\x00br>')  # a control character inside a tag: removed, it must not leave a tag behind for a second pass
@example('<b\x81r />')  # a cp1252 byte with no meaning, likewise
@example('a<b\x7fr>b')
def test_clean_review_is_idempotent_without_entities(t):
    "(i) On text without '&' (no entity to decode) cleaning twice is cleaning once; the result is one trimmed line."
    once = clean_review(t)
    assert clean_review(once) == once
    assert LINE_BREAKS.search(once) is None and BR_TAG.search(once) is None
    assert once == once.strip() and '  ' not in once

@given(texts)
@settings(max_examples=200, deadline=None)
def test_clean_review_is_one_line(t):
    "With or without entities, a cleaned review is one trimmed line with single spaces."
    once = clean_review(t)
    assert LINE_BREAKS.search(once) is None and len(once.splitlines()) <= 1
    assert once == once.strip() and '  ' not in once

@given(st.text(alphabet='ab <>/brBR;#0123456789mplt\x85\x96\n', max_size=60))
@settings(max_examples=300, deadline=None)
def test_clean_review_markup_soup(t):
    "Lower-cased, whitelisted cleaning of tag soup (no '&') leaves no `<br>` tag and is idempotent."
    kw = dict(lower=True, keep='abcdefghijklmnopqrstuvwxyz <>;#', unknown=' ')
    once = clean_review(t, **kw)
    assert clean_review(once, **kw) == once
    assert BR_TAG.search(once) is None
    assert set(once) <= set('abcdefghijklmnopqrstuvwxyz <>;#')

def test_clean_review_real_patterns():
    "The markup of real IMDb reviews: every `<br />` spelling, numeric entities, cp1252 bytes for punctuation."
    raw = 'Bad.<br /><br />Really<br/>bad<BR >&#8230; it\x92s a \x93classic\x94 \x96 not.'
    assert clean_review(raw) == 'Bad. Really bad … it’s a “classic” – not.'
    assert clean_review('a<br />b', br=' | ') == 'a | b'
    assert clean_review('Great &quot;film&quot; &amp; cast', lower=True) == 'great "film" & cast'
    assert clean_review('x&#129;y&#x8d;z\x90') == 'xyz'  # C1 controls from entities or bytes are removed too

def test_entities_are_decoded_once():
    "(i) HTML entities are unescaped once: '&amp;lt;3' is '&lt;3'; a `<br />` a reviewer wrote as '&lt;br /&gt;' stays text."
    assert clean_review('&amp;lt;3') == '&lt;3'
    assert clean_review('I &amp;lt;3 this film') == 'I &lt;3 this film'
    assert clean_review('type &lt;br /&gt; for a new line') == 'type <br /> for a new line'
    assert clean_review('&amp;amp;') == '&amp;'

@given(st.lists(texts.map(clean_review), max_size=30))
@settings(max_examples=100, deadline=None)
def test_write_read_round_trip(tmp_path_factory, reviews):
    "Cleaned reviews written one per line read back exactly (an all-empty file is refused as empty)."
    path = tmp_path_factory.mktemp('rt')/'r.txt'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert write_lines(reviews, path) == len(reviews)
        if any(r.strip() for r in reviews):
            assert read_lines(path) == reviews
        else:
            with pytest.raises(CorpusError, match='empty'): read_lines(path)

def test_empty_reviews_are_reported_not_dropped(tmp_path):
    "Empty texts are written with a warning, read back with a warning, and dropped only when asked."
    with pytest.warns(UserWarning, match=r'1 empty text\(s\) written as empty lines \(first indexes: \[1\]\)'):
        write_lines(['good', '', 'fine'], tmp_path/'x.txt')
    with pytest.warns(UserWarning, match=r'1 empty line\(s\) kept \(first line numbers: \[2\]\)'):
        assert read_lines(tmp_path/'x.txt') == ['good', '', 'fine']
    with pytest.warns(UserWarning, match='skipped'):
        assert read_lines(tmp_path/'x.txt', skip_empty=True) == ['good', 'fine']

def test_write_lines_refuses_nul_and_non_strings(tmp_path):
    "A NUL or a non-string is refused, naming the text, and the file is not written."
    with pytest.raises(CorpusError, match=r"text 1 contains '\\x00' at position 2"): write_lines(['ok', 'ab\x00'], tmp_path/'x.txt')
    with pytest.raises(TypeError, match='text 0 is int, expected str'): write_lines([3], tmp_path/'x.txt')
    assert not (tmp_path/'x.txt').exists()

@pytest.mark.parametrize('bad', ['a\nb', 'a\rb', 'a\u2028b', 'a\x85b'])
def test_write_lines_refuses_line_breaks(tmp_path, bad):
    "Any line break inside a text is refused with its position; the old file is kept."
    (tmp_path/'x.txt').write_text('old\n')
    with pytest.raises(CorpusError, match=rf"text 1 contains {bad[1]!r} at position 1".replace('\\', '\\\\')):
        write_lines(['ok', bad], tmp_path/'x.txt')
    assert (tmp_path/'x.txt').read_text() == 'old\n'

def test_bad_files(tmp_path):
    "Missing, folder, empty, blank, binary and non-UTF-8 files each get a CorpusError that says which."
    with pytest.raises(CorpusError, match='missing.txt: no such file'): read_text(tmp_path/'missing.txt')
    with pytest.raises(CorpusError, match=r'is a folder'): read_text(tmp_path)
    (tmp_path/'e.txt').write_text('')
    with pytest.raises(CorpusError, match='e.txt: the corpus is empty'): read_lines(tmp_path/'e.txt')
    (tmp_path/'w.txt').write_text('  \n\n\t')
    with pytest.raises(CorpusError, match='w.txt: the corpus is empty'): read_text(tmp_path/'w.txt')
    (tmp_path/'n.txt').write_bytes(b'review one\nrev\x00iew two\n')
    with pytest.raises(CorpusError, match='NUL byte at offset 14'): read_lines(tmp_path/'n.txt')
    (tmp_path/'l.txt').write_bytes('ok\nna\xefve\n'.encode('latin-1'))
    with pytest.raises(CorpusError, match='not valid UTF-8 at byte 5'): read_lines(tmp_path/'l.txt')
    with pytest.warns(UserWarning, match='1 undecodable byte sequence'):
        assert read_lines(tmp_path/'l.txt', errors='replace') == ['ok', 'na\ufffdve']

def test_latin1_file_is_refused_where_it_stops_being_utf8(tmp_path):
    "A Latin-1 file fails at its first non-UTF-8 byte, naming offset and bytes (no corpus of garbage); errors='replace' reads it."
    (tmp_path/'latin1.txt').write_bytes('café'.encode('latin-1'))
    with pytest.raises(CorpusError, match=r"latin1.txt: not valid UTF-8 at byte 3 \(b'\\xe9'\); re-encode it or pass errors='replace'"):
        read_text(tmp_path/'latin1.txt')
    (tmp_path/'menu.txt').write_bytes('café crème\nthé\n'.encode('latin-1'))
    with pytest.raises(CorpusError, match=r"menu.txt: not valid UTF-8 at byte 3 \(b'\\xe9 cr'\)"): read_lines(tmp_path/'menu.txt')
    with pytest.warns(UserWarning, match=r'menu.txt: 3 undecodable byte sequence\(s\) replaced by U\+FFFD'):
        assert read_lines(tmp_path/'menu.txt', errors='replace') == ['caf\ufffd cr\ufffdme', 'th\ufffd']

def test_crlf_and_bom_are_read_as_written(tmp_path):
    "A Windows file (BOM, CRLF) reads as the same lines."
    (tmp_path/'w.txt').write_bytes('\ufeffone\r\ntwo\r\n'.encode('utf-8'))
    assert read_lines(tmp_path/'w.txt') == ['one', 'two']

def test_huge_single_line_round_trips(tmp_path):
    "A 10-million-character review is written, read and cleaned whole."
    big = 'x' * 10_000_000
    write_lines([big], tmp_path/'big.txt')
    assert read_lines(tmp_path/'big.txt') == [big]
    assert len(clean_review(big)) == len(big)

@pytest.fixture(scope='module')
def sample(tmp_path_factory):
    return write_sample_imdb(tmp_path_factory.mktemp('imdb')/'aclImdb_sample.tar.gz')

def test_committed_sample_data_is_what_the_code_writes(sample, tmp_path):
    "The files in data/ are exactly what the library writes: the archive byte for byte, the play, the cleaned worst reviews."
    assert (ROOT/'data'/'aclImdb_sample.tar.gz').read_bytes() == sample.read_bytes()
    assert write_sample_imdb(tmp_path/'again.tar.gz').read_bytes() == sample.read_bytes()  # byte-reproducible
    assert (ROOT/'data'/'play_sample.txt').read_text(encoding='utf-8') == SAMPLE_PLAY
    assert sample_text(3) == '\n'.join([SAMPLE_PLAY] * 3)
    expected = [clean_review(r.text) for r in load_imdb(sample, 'train', 'neg', 1)]
    assert read_lines(ROOT/'data'/'bad_reviews_sample.txt') == expected

def test_imdb_filters(sample):
    "Split, label and ratings filters: a rating or a list of ratings (not a range)."
    everything = load_imdb(sample, split=['train', 'test'])
    assert len(everything) == 240 and everything == sorted(everything, key=lambda r: (r.split, r.label, r.id))
    bad = load_imdb(sample, 'train', 'neg', 1)
    assert bad and all((r.split, r.label, r.rating) == ('train', 'neg', 1) for r in bad)
    assert bad == load_imdb(sample, 'train', 'neg', [1])
    assert {r.rating for r in load_imdb(sample, 'test', 'neg')} == {1, 2, 3, 4}  # the sample has every negative rating
    two_four = load_imdb(sample, 'test', None, (2, 4))
    assert {r.rating for r in two_four} == {2, 4}  # ratings 2 and 4: a rating 3 is not in the list
    assert len(two_four) == sum(r.rating in (2, 4) for r in everything if r.split == 'test')
    assert len(load_imdb(sample, 'train', 'pos')) == 60
    assert any('<br />' in r.text for r in bad) and any('\x85' in r.text or '\x96' in r.text for r in everything)
    with pytest.raises(CorpusError, match='no review matches'): load_imdb(sample, 'train', 'pos', 1)
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'test'\], got 'unsup'"): load_imdb(sample, 'unsup')
    with pytest.raises(ValueError, match=r"label must be one of \['neg', 'pos', 'unsup'\], got 'bad'"): load_imdb(sample, 'train', 'bad')
    with pytest.raises(ValueError, match='ratings must be one of .* got 11'): load_imdb(sample, 'train', None, [1, 11])
    with pytest.raises(CorpusError, match=r'nothing.tar.gz: no such file or folder'): load_imdb(sample.parent/'nothing.tar.gz')

def test_undecodable_review_names_its_member(tmp_path):
    "A review that is not UTF-8 is refused naming the archive member; errors='replace' reads it with U+FFFD."
    import io, tarfile
    arch = tmp_path/'a.tar'
    with tarfile.open(arch, 'w') as tf:
        info = tarfile.TarInfo('aclImdb/train/neg/7_2.txt')
        info.size = 4
        tf.addfile(info, io.BytesIO(b'na\xefv'))
    with pytest.raises(CorpusError, match=r'a.tar:aclImdb/train/neg/7_2.txt: not valid UTF-8 at byte 2'): load_imdb(arch)
    with pytest.warns(UserWarning, match='replaced'):
        assert [r.text for r in load_imdb(arch, errors='replace')] == ['na\ufffdv']

@pytest.mark.parametrize('keep', [10, 3000, 4500, 8000])
def test_truncated_archive_is_refused(sample, tmp_path, keep):
    "An archive cut short (an interrupted download), wherever the cut falls, is refused naming the file; nothing is written."
    cut = tmp_path/'cut.tar.gz'
    cut.write_bytes(sample.read_bytes()[:keep])
    with pytest.raises(CorpusError, match=r'cut.tar.gz: not a readable tar archive \(truncated or damaged\?\)'): load_imdb(cut)
    with pytest.raises(CorpusError, match='truncated or damaged'): prepare_reviews(cut, tmp_path/'bad.txt')
    assert not (tmp_path/'bad.txt').exists()

def test_truncated_plain_tar_is_refused(sample, tmp_path):
    "An uncompressed archive cut inside a review is refused too (not read as a shorter review)."
    import gzip
    data = gzip.decompress(sample.read_bytes())
    (tmp_path/'cut.tar').write_bytes(data[:len(data) // 2 + 700])
    with pytest.raises(CorpusError, match=r'cut.tar: not a readable tar archive \(truncated or damaged\?\)'): load_imdb(tmp_path/'cut.tar')
    (tmp_path/'text.tar.gz').write_text('not an archive')
    with pytest.raises(CorpusError, match=r'text.tar.gz: not a readable tar archive'): load_imdb(tmp_path/'text.tar.gz')

@given(st.lists(st.integers(), min_size=2, max_size=200, unique=True), st.floats(0.01, 0.99), st.integers(0, 5))
@settings(max_examples=100, deadline=None)
def test_split_documents_partitions(docs, frac, seed):
    "Each document lands on exactly one side, in its original order; the held-out share is the nearest count (at least 1, not all)."
    tr, va = split_documents(docs, frac, seed)
    assert sorted(tr + va) == sorted(docs)
    assert [d for d in docs if d in set(tr)] == tr and [d for d in docs if d in set(va)] == va
    assert 1 <= len(va) <= len(docs) - 1
    if 0.5 < len(docs) * frac < len(docs) - 0.5:  # not clamped: the nearest whole number of documents
        assert abs(len(va) - len(docs) * frac) <= 0.5 + 1e-9
    assert split_documents(docs, frac, seed) == (tr, va)

def test_split_documents_exact_sizes():
    "Exact sizes on small cases, and refusals."
    docs = list(range(10))
    assert [len(split_documents(docs, f)[1]) for f in (0.01, 0.1, 0.25, 0.5, 0.99)] == [1, 1, 2, 5, 9]
    assert split_documents(docs, 0.3, seed=1) != split_documents(docs, 0.3, seed=2)
    with pytest.raises(CorpusError, match='need at least 2 documents to split, got 1'): split_documents(['one'])
    with pytest.raises(ValueError, match=r'valid_frac must be a number in \(0.0, 1.0\), got 1'): split_documents(docs, 1)

@given(st.text(min_size=1, max_size=300), st.floats(0.01, 0.99))
@settings(max_examples=200, deadline=None)
def test_split_text_by_position(text, frac):
    "The validation part is the last `valid_frac` of the characters, to the nearest character; refused only where a side would be empty."
    n, blank = len(text), not text.strip()
    try: tr, va = split_text(text, frac)
    except CorpusError as e:
        assert 'too short to split' in str(e)
        assert blank or min(n * frac, n * (1 - frac)) <= 0.5 + 1e-9, (n, frac)  # the nearest cut leaves a side empty
        return
    assert not blank and tr + va == text and tr and va
    assert abs(len(va) - n * frac) <= 0.5 + 1e-9

def test_split_text_exact_cuts():
    "Exact cut positions on a 10-character text."
    text = '0123456789'
    assert split_text(text, 0.1) == ('012345678', '9')
    assert split_text(text, 0.25) == ('01234567', '89')  # 7.5 rounds to the even 8
    assert split_text(text, 0.9) == ('0', '123456789')
    with pytest.raises(CorpusError, match='a text of 10 characters is too short to split with valid_frac=0.01'): split_text(text, 0.01)
    with pytest.raises(CorpusError, match='too short to split'): split_text('   ', 0.5)
    with pytest.raises(ValueError, match=r'valid_frac must be a number in \(0.0, 1.0\), got 0'): split_text(text, 0)

def test_normalize_text_keeps_lines():
    "Line ends become LF, cp1252 bytes are repaired, trailing spaces and blank end lines go; normalising twice changes nothing."
    t = normalize_text('HAMLET:\r\n  To be\x97or not   \r\n\r\n')
    assert t == 'HAMLET:\n  To be—or not\n'
    assert normalize_text(t) == t
    assert normalize_text('AB\ncd', lower=True, keep='abc') == 'ab\nc\n'

def test_stats_and_plot():
    "Counts of texts, characters, words, empty texts, and the length histogram."
    import matplotlib
    matplotlib.use('Agg')
    s = corpus_stats(['ab', 'abc', ''])
    assert (s.n_texts, s.n_chars, s.n_words, s.n_empty, s.vocab_size, s.lengths) == (3, 5, 2, 1, 3, [2, 3, 0])
    assert str(s).startswith('3 text(s), 5 characters, 2 words, 1 empty\nlength per text: min 0, median 2, max 3')
    ax = plot_lengths(['a', 'bb', 'ccc'], bins=3)
    assert sum(p.get_height() for p in ax.patches) == 3
    with pytest.raises(CorpusError, match='the corpus is empty'): corpus_stats([])

def test_prepare_reviews_and_quoted_titles(sample, tmp_path):
    "prepare_reviews writes the cleaned worst reviews one per line; quoted_titles finds repeated quoted titles."
    path, stats = prepare_reviews(sample, tmp_path/'bad.txt')
    lines = read_lines(path)
    assert lines == [clean_review(r.text) for r in load_imdb(sample, 'train', 'neg', 1)] and stats.n_texts == len(lines)
    assert quoted_titles(['I saw "The Big Sleep" twice.', 'Not "The Big Sleep", no.', 'A "Single Mention" only']) == ['The Big Sleep']

def test_real_imdb_rating_1(real_data, tmp_path):
    "On the real IMDb train split: the rating-1 reviews clean into thousands of single lines without markup."
    archive = real_data('imdb')
    path, stats = prepare_reviews(archive, tmp_path/'bad.txt')
    lines = read_lines(path)
    assert stats.n_texts == len(lines) > 4000
    assert stats.n_empty == 0
    assert not any('<br' in l.lower() or LINE_BREAKS.search(l) for l in lines)
    assert not any('\x80' <= c <= '\x9f' for c in stats.chars)

def test_real_tinyshakespeare_is_the_known_text(real_data):
    "The real tiny-shakespeare: 1,115,394 characters, 65 distinct, and it splits 90/10 at character 1,003,855."
    text = read_text(real_data('tinyshakespeare'))
    assert len(text) == 1_115_394 and len(set(text)) == 65 and text.startswith('First Citizen:\n')
    tr, va = split_text(text, 0.1)
    assert len(tr) == 1_003_855 and tr + va == text
