"Tests for textgen_course.data: the cache, checked data files, checked downloads, course_data's search order, safe extraction."
import hashlib, http.client, http.server, io, json, os, subprocess, sys, tarfile, textwrap, threading, time, urllib.error
from pathlib import Path
import pytest

import textgen_course.data as data
from textgen_course.checks import CorpusError
from textgen_course.data import *
from textgen_course.samples import write_sample_imdb
from textgen_course.corpus import load_imdb

BODY = b'First Citizen:\nBefore we proceed any further, hear me speak.\n'

def _known(name='play.txt', body=BODY):
    return DataFile(name, len(body), 'sha256:' + hashlib.sha256(body).hexdigest())

def _leftovers(folder):
    "Temporary or partial files left in a folder (the lock files are kept on purpose)."
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith('.part') or p.name.startswith('.'))

@pytest.fixture
def places(tmp_path, monkeypatch):
    "An empty cache and an empty data folder that `TEXTGEN_COURSE_DATA` does not name yet; returns (cache, data folder)."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'cache'))
    monkeypatch.delenv('TEXTGEN_COURSE_DATA', raising=False)
    (tmp_path/'data').mkdir()
    return tmp_path/'cache', tmp_path/'data'

@pytest.fixture
def digests(monkeypatch):
    "Count the files `data` hashes: the list of the names hashed, in order."
    calls, real = [], data.file_digest
    def counting(path, algo='sha256'):
        calls.append(Path(path).name)
        return real(path, algo)
    monkeypatch.setattr(data, 'file_digest', counting)
    return calls

@pytest.fixture
def toy_dataset(places, tmp_path, monkeypatch):
    "The 'tinyshakespeare' entry pointed at a small local file (file:// URL); returns (source file, its DataFile)."
    src = tmp_path/'server'/'input.txt'
    src.parent.mkdir()
    src.write_bytes(BODY)
    known = _known('tinyshakespeare.txt')
    monkeypatch.setitem(DATASETS, 'tinyshakespeare', CourseDataset(src.as_uri(), (known, _known('input.txt'))))
    return src, known

class Server:
    "A local HTTP server for download tests: counts GET requests; `slow` delays the body; `drop` cuts a chunked body short."
    def __init__(self, body=BODY, slow=0.0, drop=False):
        self.body, self.slow, self.drop, self.requests = body, slow, drop, []
        server = self
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def do_GET(self):
                server.requests.append(self.path)
                self.send_response(200)
                if server.drop:  # announce a 1000-byte chunk, send 10 bytes, hang up: the client sees the connection die
                    self.send_header('Transfer-Encoding', 'chunked')
                    self.end_headers()
                    self.wfile.write(b'3e8\r\n' + server.body[:10])
                else:
                    self.send_header('Content-Length', str(len(server.body)))
                    self.end_headers()
                    time.sleep(server.slow)
                    self.wfile.write(server.body)
                self.wfile.flush()
                self.close_connection = True
            def log_message(self, *args): pass
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/input.txt'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

@pytest.fixture
def server():
    "Start servers on demand; all are shut down after the test."
    made = []
    def start(**kw):
        made.append(Server(**kw))
        return made[-1]
    yield start
    for s in made: s.close()

# ---------------------------------------------------------------- the cache

def test_cache_and_models_dir_follow_the_environment(tmp_path, monkeypatch):
    "The cache is `$TEXTGEN_COURSE_CACHE` (read at each call), else ~/.cache/textgen_course; models live in its `models` folder."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'c1'))
    assert cache_dir() == tmp_path/'c1' and models_dir() == tmp_path/'c1'/'models'
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'c2'))
    assert cache_dir() == tmp_path/'c2'
    monkeypatch.delenv('TEXTGEN_COURSE_CACHE')
    monkeypatch.setenv('HOME', str(tmp_path/'home'))
    assert cache_dir() == tmp_path/'home'/'.cache'/'textgen_course'

def test_use_drive_points_the_cache_at_a_folder(tmp_path, monkeypatch):
    "use_drive creates the folder under an existing parent and makes it the cache; a missing parent (no Drive) is refused."
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'before'))
    (tmp_path/'MyDrive').mkdir()
    assert use_drive(tmp_path/'MyDrive'/'course') == tmp_path/'MyDrive'/'course'
    assert (tmp_path/'MyDrive'/'course').is_dir() and cache_dir() == tmp_path/'MyDrive'/'course'
    assert os.environ['TEXTGEN_COURSE_CACHE'] == str(tmp_path/'MyDrive'/'course')
    assert use_drive(tmp_path/'MyDrive'/'course') == cache_dir()  # a second call is fine
    with pytest.raises(FileNotFoundError, match='is Google Drive mounted'): use_drive(tmp_path/'nodrive'/'course')
    assert cache_dir() == tmp_path/'MyDrive'/'course' and not (tmp_path/'nodrive').exists()

# ---------------------------------------------------------------- checksums

def test_parse_checksum():
    "A checksum is 'algo:hexdigest' with a known algorithm and a digest of its length; case does not matter."
    assert parse_checksum('MD5:' + 'A' * 32) == ('md5', 'a' * 32)
    assert parse_checksum('sha256:' + '0f' * 32) == ('sha256', '0f' * 32)
    with pytest.raises(ValueError, match=r"'deadbeef' must look like 'sha256:<64 hex digits>'"): parse_checksum('deadbeef')
    with pytest.raises(ValueError, match='a sha256 digest is 64 hex digits'): parse_checksum('sha256:deadbeef')
    with pytest.raises(ValueError, match="unknown algorithm 'crc99'"): parse_checksum('crc99:00')
    with pytest.raises(ValueError, match='is 32 hex digits'): parse_checksum('md5:' + 'g' * 32)
    with pytest.raises(ValueError, match='must look like'): parse_checksum(None)

def test_checksum_without_algorithm_is_refused_before_downloading(tmp_path, monkeypatch):
    "(j) 'deadbeef' gives a ValueError naming the expected form before anything is fetched or created."
    opened = []
    monkeypatch.setattr('urllib.request.urlopen', lambda *a, **kw: opened.append(a) or pytest.fail('the URL was opened'))
    with pytest.raises(ValueError, match=r"'deadbeef' must look like 'sha256:<64 hex digits>' \(an algorithm, a colon"):
        download('http://127.0.0.1:9/input.txt', DataFile('input.txt', 10, 'deadbeef'), tmp_path/'dl')
    assert opened == [] and not (tmp_path/'dl').exists()

# ---------------------------------------------------------------- checked files

def test_check_file_checks_size_always_and_checksum_once(places, tmp_path, digests):
    "(e) The size on every use, the checksum once per file (recorded in cache_dir()/verified.json): a second use hashes nothing."
    cache, _ = places
    f = tmp_path/'play.txt'
    f.write_bytes(BODY)
    known = _known()
    assert check_file(f, known) == f and digests == ['play.txt']
    record = json.loads((cache/'verified.json').read_text(encoding='utf-8'))
    assert list(record) == [str(f.resolve())] and record[str(f.resolve())][0] == len(BODY)
    assert check_file(f, known) == f and check_file(f, known) == f
    assert digests == ['play.txt']  # verified once: later uses check the size only
    # cut short after it was verified: refused on every use, naming the file and both sizes
    f.write_bytes(BODY[:-1])
    for _ in range(2):
        with pytest.raises(CorpusError, match=rf"play.txt: {len(BODY) - 1} bytes, but play.txt has {len(BODY)}"): check_file(f, known)

def test_same_size_other_bytes_are_caught_by_the_checksum(places, tmp_path, digests):
    "(e) A file of the right size with other bytes (a later modification) is hashed again and refused, on every use."
    f = tmp_path/'play.txt'
    f.write_bytes(BODY)
    check_file(f, _known())
    st = f.stat()
    f.write_bytes(BODY.upper())
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # modified a second later (timestamps can be coarse)
    for _ in range(2):
        with pytest.raises(CorpusError, match=r'play.txt: its sha256 checksum is not the published one'): check_file(f, _known())
    assert digests == ['play.txt'] * 3

def test_data_folder_files_are_checked(places, monkeypatch, digests):
    "(e) A TEXTGEN_COURSE_DATA file of the wrong size is refused on every use; one of the right size with other bytes by its checksum."
    _, folder = places
    monkeypatch.setenv('TEXTGEN_COURSE_DATA', str(folder))
    (folder/'input.txt').write_text('not the play')
    for _ in range(2):
        with pytest.raises(CorpusError, match=r'input.txt: 12 bytes, but input.txt has 1,115,394: a truncated or different file'):
            course_data('tinyshakespeare')
    assert digests == []  # the size alone settles it
    (folder/'input.txt').write_bytes(b'x' * 1_115_394)
    with pytest.raises(CorpusError, match=r'input.txt: its sha256 checksum is not the published one \(sha256:86c4e6aa'):
        course_data('tinyshakespeare', allow_download=False)
    assert digests == ['input.txt']

def test_extracted_imdb_folder_must_hold_train_reviews(places, monkeypatch):
    "(e) An `aclImdb` folder without train/neg or train/pos reviews is refused; with them it is used."
    _, folder = places
    monkeypatch.setenv('TEXTGEN_COURSE_DATA', str(folder))
    (folder/'aclImdb'/'test'/'neg').mkdir(parents=True)
    (folder/'aclImdb'/'test'/'neg'/'0_1.txt').write_text('a test review')
    with pytest.raises(CorpusError, match=r'aclImdb: not an extracted IMDb folder \(no train/neg/\*.txt'): course_data('imdb')
    (folder/'aclImdb'/'train'/'pos').mkdir(parents=True)
    (folder/'aclImdb'/'train'/'pos'/'3_9.txt').write_text('a train review')
    assert course_data('imdb') == folder/'aclImdb'

def test_damaged_cached_file_is_fetched_again_or_refused(toy_dataset, places, digests):
    "(e) A damaged download in the cache: fetched again with a warning when downloads are allowed, refused when not."
    src, known = toy_dataset
    cache, _ = places
    cache.mkdir()
    (cache/'tinyshakespeare.txt').write_bytes(BODY[:20])
    with pytest.raises(CorpusError, match=rf'tinyshakespeare.txt: 20 bytes, but tinyshakespeare.txt has {len(BODY)}'):
        course_data('tinyshakespeare', allow_download=False)
    assert (cache/'tinyshakespeare.txt').read_bytes() == BODY[:20]  # refused, not touched
    with pytest.warns(UserWarning, match=r'tinyshakespeare.txt: damaged .*downloading it again'):
        assert course_data('tinyshakespeare') == cache/'tinyshakespeare.txt'
    assert (cache/'tinyshakespeare.txt').read_bytes() == BODY and _leftovers(cache) == []
    # same size, other bytes (and later): also fetched again
    st = (cache/'tinyshakespeare.txt').stat()
    (cache/'tinyshakespeare.txt').write_bytes(BODY.lower())
    os.utime(cache/'tinyshakespeare.txt', ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.warns(UserWarning, match='downloading it again'): course_data('tinyshakespeare')
    assert (cache/'tinyshakespeare.txt').read_bytes() == BODY

def test_download_hashes_the_file_once(places, tmp_path, server, digests):
    "A download is hashed once, and only the file kept is recorded as verified (no record of a deleted temporary file)."
    cache, _ = places
    s = server()
    path = download(s.url, _known(), tmp_path/'dl')
    assert path.read_bytes() == BODY
    assert path == check_file(path, _known()) == download(s.url, _known(), tmp_path/'dl')  # later uses: no hashing, no request
    assert len(s.requests) == 1
    assert len(digests) == 1, digests
    assert list(json.loads((cache/'verified.json').read_text(encoding='utf-8'))) == [str(path.resolve())]

# ---------------------------------------------------------------- downloads

def test_concurrent_downloads_in_threads(tmp_path, places, server):
    "(f) Four threads download one file at once: one request, one verified file, every caller gets it, no partial file left."
    s = server(slow=0.3)
    got, errors = [], []
    def fetch():
        try: got.append(download(s.url, _known(), tmp_path/'dl'))
        except Exception as e: errors.append(repr(e))
    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert errors == [] and got == [tmp_path/'dl'/'play.txt'] * 4
    assert len(s.requests) == 1  # the others waited for the lock and found the checked copy
    assert (tmp_path/'dl'/'play.txt').read_bytes() == BODY and _leftovers(tmp_path/'dl') == []

def test_concurrent_downloads_in_two_processes(tmp_path, places, server):
    "(f) Two processes download one file at once: both succeed with the same verified file; one request, no partial file."
    s = server(slow=1.0)  # the first process is still receiving when the second asks
    code = textwrap.dedent(f'''
        import sys
        from textgen_course.data import DataFile, download
        p = download({s.url!r}, DataFile('play.txt', {len(BODY)}, {_known().checksum!r}), sys.argv[1])
        print('GOT', p, flush=True)
    ''')
    env = {**os.environ, 'TEXTGEN_COURSE_CACHE': str(tmp_path/'cache')}
    procs = [subprocess.Popen([sys.executable, '-c', code, str(tmp_path/'dl')], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True): assert p.returncode == 0, err[-2000:]
    assert [o.strip() for o, _ in outs] == [f"GOT {tmp_path/'dl'/'play.txt'}"] * 2
    assert len(s.requests) == 1
    assert (tmp_path/'dl'/'play.txt').read_bytes() == BODY and _leftovers(tmp_path/'dl') == []

def test_download_cut_short_leaves_nothing(tmp_path, places, server):
    "(f) A connection that dies mid-download leaves no partial file and no destination file."
    s = server(drop=True)
    with pytest.raises((OSError, http.client.HTTPException, CorpusError), match='IncompleteRead|incomplete|download'):
        download(s.url, _known(), tmp_path/'dl')
    assert len(s.requests) == 1
    assert not (tmp_path/'dl'/'play.txt').exists() and _leftovers(tmp_path/'dl') == []

def test_download_of_a_missing_file_leaves_nothing(tmp_path, places):
    "(f) A file:// URL to a missing file raises the URL error; no partial file, no destination file."
    with pytest.raises(urllib.error.URLError, match='nowhere.txt'):
        download((tmp_path/'nowhere.txt').as_uri(), _known(), tmp_path/'dl')
    assert not (tmp_path/'dl'/'play.txt').exists() and _leftovers(tmp_path/'dl') == []

def test_checksum_mismatch_leaves_nothing(tmp_path, places, server):
    "(f) A download with the right size and the wrong checksum (or the wrong size) is refused; nothing is left behind."
    s = server()
    wrong = DataFile('play.txt', len(BODY), 'sha256:' + '0' * 64)
    with pytest.raises(CorpusError, match=rf'{s.url}: the download is corrupt or truncated .*checksum is not the published one'):
        download(s.url, wrong, tmp_path/'dl')
    with pytest.raises(CorpusError, match=rf'the download is corrupt or truncated .*{len(BODY)} bytes, but play.txt has 7'):
        download(s.url, DataFile('play.txt', 7, wrong.checksum), tmp_path/'dl')
    assert not (tmp_path/'dl'/'play.txt').exists() and _leftovers(tmp_path/'dl') == []

def test_failed_download_keeps_the_old_file(tmp_path, places, server):
    "A damaged file whose new download fails is not replaced by a half file (the download is checked before the move)."
    s = server(body=BODY[:-5])
    (tmp_path/'dl').mkdir()
    (tmp_path/'dl'/'play.txt').write_bytes(b'old damaged copy')
    with pytest.warns(UserWarning, match='downloading it again'), pytest.raises(CorpusError, match='corrupt or truncated'):
        download(s.url, _known(), tmp_path/'dl')
    assert (tmp_path/'dl'/'play.txt').read_bytes() == b'old damaged copy' and _leftovers(tmp_path/'dl') == []

# ---------------------------------------------------------------- course_data

def test_course_data_looks_in_order(toy_dataset, places, monkeypatch, tmp_path, digests):
    "An explicit path, then $TEXTGEN_COURSE_DATA (either file name), then the cache; each found file is checked."
    src, known = toy_dataset
    cache, folder = places
    cache.mkdir()
    (cache/'tinyshakespeare.txt').write_bytes(BODY)
    assert course_data('tinyshakespeare', allow_download=False) == cache/'tinyshakespeare.txt'
    (folder/'input.txt').write_bytes(BODY)  # karpathy's file name is accepted too
    monkeypatch.setenv('TEXTGEN_COURSE_DATA', str(folder))
    assert course_data('tinyshakespeare') == folder/'input.txt'
    (tmp_path/'mine.txt').write_text('anything: an explicit path is used as given')
    assert course_data('tinyshakespeare', path=tmp_path/'mine.txt') == tmp_path/'mine.txt'
    with pytest.raises(CorpusError, match='nope.txt: no such file or folder'): course_data('tinyshakespeare', path=tmp_path/'nope.txt')
    assert digests == ['tinyshakespeare.txt', 'input.txt']

def test_course_data_downloads_into_the_cache(toy_dataset, places, digests):
    "Found nowhere: downloaded into the cache under the first name, checked, then found there without a second hash."
    src, known = toy_dataset
    cache, _ = places
    assert course_data('tinyshakespeare') == cache/'tinyshakespeare.txt'
    assert (cache/'tinyshakespeare.txt').read_bytes() == BODY and _leftovers(cache) == []
    hashed = len(digests)
    src.unlink()  # the server is gone: the checked cached copy is enough
    assert course_data('tinyshakespeare') == course_data('tinyshakespeare', allow_download=False) == cache/'tinyshakespeare.txt'
    assert len(digests) == hashed  # found checked: not hashed again

def test_course_data_offline_says_what_to_do(places, monkeypatch):
    "Offline with nothing found: a CorpusError with the URL, where to put the file, the variable to set and the cause."
    cache, _ = places
    def offline(url, timeout): raise urllib.error.URLError('no network')
    monkeypatch.setattr('urllib.request.urlopen', offline)
    with pytest.raises(CorpusError, match='imdb: not found in .* and the download failed') as e: course_data('imdb')
    msg = str(e.value)
    assert IMDB_URL in msg and str(cache/'aclImdb_v1.tar.gz') in msg and 'TEXTGEN_COURSE_DATA' in msg and 'no network' in msg
    with pytest.raises(CorpusError, match=r'tinyshakespeare: not found in .*set TEXTGEN_COURSE_DATA'):
        course_data('tinyshakespeare', allow_download=False)
    with pytest.raises(ValueError, match="unknown dataset 'wikitext'"): course_data('wikitext')

def test_course_data_connection_dropped_says_what_to_do(places, monkeypatch, server):
    "A connection that dies mid-download is a failed download like any other: a CorpusError saying what to do, no file left."
    cache, _ = places
    s = server(drop=True)
    monkeypatch.setitem(DATASETS, 'tinyshakespeare', CourseDataset(s.url, (_known('tinyshakespeare.txt'),)))
    with pytest.raises(CorpusError, match=r'tinyshakespeare: not found in .*the download failed .*set TEXTGEN_COURSE_DATA'):
        course_data('tinyshakespeare')
    assert not (cache/'tinyshakespeare.txt').exists() and _leftovers(cache) == []

def test_truncated_imdb_archive_is_a_corpus_error(tmp_path):
    "(e) A truncated archive given to load_imdb gives a CorpusError naming the file, not EOFError."
    good = write_sample_imdb(tmp_path/'aclImdb_v1.tar.gz')
    cut = tmp_path/'cut.tar.gz'
    cut.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    with pytest.raises(CorpusError, match=r'cut.tar.gz: not a readable tar archive \(truncated or damaged\?\)'): load_imdb(cut)
    with pytest.raises(CorpusError, match=r'cut.tar.gz: a damaged archive \(truncated\?\)'): extract_archive(cut, tmp_path/'x')

# ---------------------------------------------------------------- safe extraction

def _tar(path, name, data=b'x', kind=tarfile.REGTYPE, linkname=''):
    with tarfile.open(path, 'w') as tf:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path

@pytest.mark.parametrize('name,kind,link,why', [
    ('../escape.txt', tarfile.REGTYPE, '', 'its path leaves'), ('a/../../escape.txt', tarfile.REGTYPE, '', 'its path leaves'),
    ('/tmp/abs_escape.txt', tarfile.REGTYPE, '', 'its path leaves'), ('link', tarfile.SYMTYPE, '../../etc/passwd', 'links outside'),
    ('link2', tarfile.SYMTYPE, '/etc/passwd', 'links outside'), ('hard', tarfile.LNKTYPE, '../outside', 'links outside'),
    ('dev', tarfile.CHRTYPE, '', 'device or pipe')])
def test_extract_refuses_unsafe_members(tmp_path, name, kind, link, why):
    "An archive with a member that would land outside the target (path, link) or a device is refused whole, nothing written."
    arch = _tar(tmp_path/'evil.tar', name, kind=kind, linkname=link)
    dest = tmp_path/'deep'/'dest'
    with pytest.raises(CorpusError, match=rf"evil.tar: refusing to extract 1 unsafe member\(s\), e.g. '{name}': .*{why}"):
        extract_archive(arch, dest)
    assert not dest.exists() and not (tmp_path/'deep'/'escape.txt').exists()

def test_extract_bad_archives(tmp_path):
    "A missing file or a non-tar file is a CorpusError naming it."
    with pytest.raises(CorpusError, match='none.tar.gz: no such file'): extract_archive(tmp_path/'none.tar.gz', tmp_path/'o')
    (tmp_path/'not.tar').write_text('hello')
    with pytest.raises(CorpusError, match='not.tar: not a tar archive'): extract_archive(tmp_path/'not.tar', tmp_path/'o')
    with pytest.raises(CorpusError, match='not.tar: not a readable tar archive'): load_imdb(tmp_path/'not.tar')
    assert not (tmp_path/'o').exists()

def test_extract_then_read_the_folder(tmp_path):
    "A safe archive extracts under the target; the folder and the archive give the same reviews."
    arch = write_sample_imdb(tmp_path/'s.tar.gz', n=6)
    folder = extract_archive(arch, tmp_path/'x')
    assert folder == (tmp_path/'x').resolve() and (folder/'aclImdb'/'README').is_file()
    assert load_imdb(folder, ['train', 'test']) == load_imdb(arch, ['train', 'test'])
    assert load_imdb(folder/'aclImdb', ['train', 'test']) == load_imdb(arch, ['train', 'test'])

# ---------------------------------------------------------------- real data

def test_real_data_files_are_checked_once(real_data, tmp_path, monkeypatch, digests):
    "The real tiny-shakespeare and IMDb files in $TEXTGEN_COURSE_DATA pass their checks; a second use hashes nothing."
    text = real_data('tinyshakespeare')
    imdb = real_data('imdb')
    monkeypatch.setenv('TEXTGEN_COURSE_CACHE', str(tmp_path/'fresh'))  # nothing verified yet
    digests.clear()
    assert course_data('tinyshakespeare', allow_download=False) == text and text.stat().st_size == 1_115_394
    assert course_data('imdb', allow_download=False) == imdb and imdb.name in ('aclImdb_v1.tar.gz', 'aclImdb_train.tar.gz', 'aclImdb')
    first = list(digests)
    assert course_data('tinyshakespeare', allow_download=False) == text and course_data('imdb', allow_download=False) == imdb
    assert digests == first and len(first) == (1 if imdb.is_dir() else 2)
