"Tests of textgen_course.modelfiles: atomic writes, one `name.weights.h5` + one `name.model.json` per model, checked loads."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest
from textgen_course.modelfiles import *

def _pair(tmp_path, data=b'weights v1', vocab=('a', 'b', 'c'), name='m'):
    return save_model_files(tmp_path/name, lambda p: p.write_bytes(data), 'toy', {'units': 3}, list(vocab), epoch=2)

def _files(folder): return sorted(p.name for p in Path(folder).iterdir())

def test_file_names():
    "`name` and `name.weights.h5` name the same pair; other dots in the name are kept."
    assert weights_file('m') == Path('m.weights.h5') and weights_file('m.weights.h5') == Path('m.weights.h5')
    assert weights_file('shakespeare.v2') == Path('shakespeare.v2.weights.h5')
    assert meta_path('m') == meta_path('m.weights.h5') == Path('m.model.json')
    assert meta_path('dir/a.b.weights.h5') == Path('dir/a.b.model.json')
    assert meta_path('x.keras') == Path('x.keras.model.json')  # a `.keras` name is just a name now

def test_pair_round_trip(tmp_path):
    "The pair is written (no temporary file left) and read back with everything the save recorded."
    files = _pair(tmp_path)
    assert files == {'weights': tmp_path/'m.weights.h5', 'meta': tmp_path/'m.model.json'}
    assert _files(tmp_path) == ['m.model.json', 'm.weights.h5']
    meta = read_meta(tmp_path/'m', 'toy')
    assert meta == read_meta(files['weights'], ('charrnn', 'toy'))
    assert meta['config'] == {'units': 3} and meta['vocab'] == ['a', 'b', 'c'] and meta['epoch'] == 2 and meta['kind'] == 'toy'
    assert meta['weights_bytes'] == len(b'weights v1') and meta['weights_file'] == 'm.weights.h5'
    assert meta['weights_sha256'] == file_digest(files['weights']) and meta['format'] == FORMAT and meta['library_version']
    assert meta['vocab_sha256'] == vocab_digest(['a', 'b', 'c'])

def test_failed_writer_leaves_the_old_file(tmp_path):
    "A save whose writer dies (disk full) leaves the previous pair whole and no temporary file."
    files = _pair(tmp_path)
    def dies(p):
        p.write_bytes(b'half')
        raise OSError('No space left on device')
    with pytest.raises(OSError, match='No space'): save_model_files(files['weights'], dies, 'toy', {}, ['a'])
    assert files['weights'].read_bytes() == b'weights v1' and read_meta(files['weights'], 'toy')['vocab'] == ['a', 'b', 'c']
    assert _files(tmp_path) == ['m.model.json', 'm.weights.h5']

def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    "atomic_write creates missing folders, replaces the file whole, and leaves the old one on failure."
    p = atomic_write(tmp_path/'new'/'deep'/'f.txt', lambda t: t.write_text('one'))
    assert p.read_text() == 'one'
    def fails(t):
        t.write_text('two, half')
        raise RuntimeError('killed')
    with pytest.raises(RuntimeError, match='killed'): atomic_write(p, fails)
    assert p.read_text() == 'one' and _files(p.parent) == ['f.txt']
    write_json(p, {'é': [1, 2]}, indent=None)
    assert p.read_bytes() == '{"é": [1, 2]}'.encode('utf-8')
    write_text(p, 'a\nb')
    assert p.read_bytes() == b'a\nb'

@pytest.mark.parametrize('damage,err,msg', [
    (lambda w, m: w.write_bytes(b''), ModelFileError, 'the weights file is empty (0 bytes)'),
    (lambda w, m: w.write_bytes(b'weights'), ModelFileError, '7 bytes, but m.model.json describes 10 bytes: truncated'),
    (lambda w, m: w.write_bytes(b'weights v2'), ModelFileError, 'SHA-256 differs'),  # new weights, old JSON: a crash between the two
    (lambda w, m: m.write_text(m.read_text(encoding='utf-8').replace('"b"', '"z"'), encoding='utf-8'), ModelFileError,
     'the vocabulary is not the one the model was saved with'),
    (lambda w, m: m.write_text('{"format": "textgen', encoding='utf-8'), ModelFileError, 'not a valid model JSON'),
    (lambda w, m: m.write_text('{"format": "other"}', encoding='utf-8'), ModelFileError, "not a 'textgen_course model' JSON file"),
    (lambda w, m: m.write_text('', encoding='utf-8'), ModelFileError, 'the model JSON file is empty'),
    (lambda w, m: m.unlink(), FileNotFoundError, 'm.model.json: no such model JSON file'),
    (lambda w, m: w.unlink(), FileNotFoundError, 'm.weights.h5: no such weights file')])
def test_damaged_pairs_get_clear_errors(tmp_path, damage, err, msg):
    "Every kind of damage to the pair is a clear error naming the file."
    files = _pair(tmp_path)
    damage(files['weights'], files['meta'])
    with pytest.raises(err, match=msg.replace('(', r'\(').replace(')', r'\)')) as e: read_meta(files['weights'], 'toy')
    assert str(tmp_path/'m.') in str(e.value)

def test_wrong_kind(tmp_path):
    "A file of another kind is refused, naming both kinds."
    with pytest.raises(ModelFileError, match="a 'toy' model, not a 'charrnn' one"): read_meta(_pair(tmp_path)['weights'], 'charrnn')
    with pytest.raises(ModelFileError, match="not a 'charrnn' or a 'textgenrnn' one"):
        read_meta(tmp_path/'m', ('charrnn', 'textgenrnn'))

def test_vocab_digest_tells_tokens_and_order_apart():
    "Same size, other tokens or other order: another digest; a `{token: id}` dict is read in id order."
    d = vocab_digest(['a', 'b', 'c'])
    assert len(d) == 16 and d == vocab_digest(['a', 'b', 'c'])
    assert d != vocab_digest(['a', 'c', 'b']) and d != vocab_digest(['a', 'b', 'd'])
    ids = vocab_digest({'a': 0, 'b': 1, 'c': 2})
    assert vocab_digest({'b': 1, 'c': 2, 'a': 0}) == ids  # the ids matter, not the dict's insertion order
    assert vocab_digest({'a': 1, 'b': 0, 'c': 2}) != ids

def test_file_digest(tmp_path):
    "file_digest reads in blocks and gives hashlib's digest of the bytes, for any algorithm."
    import hashlib
    data = os.urandom((1 << 20) + 17)  # more than one block
    (tmp_path/'f').write_bytes(data)
    assert file_digest(tmp_path/'f') == hashlib.sha256(data).hexdigest()
    assert file_digest(tmp_path/'f', 'md5') == hashlib.md5(data).hexdigest()

def test_load_checked_translates_framework_errors(tmp_path):
    "A framework error while loading becomes a ModelFileError naming the file and what is wrong with it."
    import keras, zipfile
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(tmp_path/'good.weights.h5')
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)])
    with pytest.raises(ModelFileError, match=r'good.weights.h5: these weights do not fit this toy'):
        load_checked(tmp_path/'good.weights.h5', other.load_weights, 'toy')
    (tmp_path/'cut.weights.h5').write_bytes((tmp_path/'good.weights.h5').read_bytes()[:500])
    with pytest.raises(ModelFileError, match=r'cut.weights.h5: not a readable weights file \(truncated or corrupt\?\)'):
        load_checked(tmp_path/'cut.weights.h5', model.load_weights)
    (tmp_path/'junk.weights.h5').write_bytes(b'PK\x03\x04 no zip, no hdf5')
    with pytest.raises(ModelFileError, match='junk.weights.h5: not a readable'): load_checked(tmp_path/'junk.weights.h5', model.load_weights)
    def raises(e):
        def f(p): raise e
        return f
    with pytest.raises(ModelFileError, match='truncated or corrupt'): load_checked(tmp_path/'junk.weights.h5', raises(zipfile.BadZipFile('no')))
    with pytest.raises(ModelFileError, match='do not fit this toy'): load_checked(tmp_path/'junk.weights.h5', raises(ValueError('shape (3,) vs (5,)')), 'toy')
    with pytest.raises(FileNotFoundError, match='none.weights.h5: no such weights file'): load_checked(tmp_path/'none.weights.h5', lambda p: None)
    (tmp_path/'empty.weights.h5').write_bytes(b'')
    with pytest.raises(ModelFileError, match=r'empty \(0 bytes\)'): load_checked(tmp_path/'empty.weights.h5', model.load_weights)
    assert load_checked(tmp_path/'good.weights.h5', lambda p: 'loaded') == 'loaded'

def test_seed_generators_are_the_dropout_layers():
    "seed_generators finds the random-number generators of a model's dropout layers, in layer order."
    import keras
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.1), keras.layers.Dense(3), keras.layers.Dropout(0.2)])
    gens = seed_generators(m)
    assert len(gens) == 2 and gens[0] is m.layers[0].seed_generator and gens[1] is m.layers[2].seed_generator
    assert seed_generators(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])) == []

def test_utf8_json_under_lang_c(tmp_path):
    "Under LANG=C (ASCII locale) the JSON still round-trips accented letters and emoji: the encoding is always UTF-8."
    code = textwrap.dedent(f'''
        import json, locale
        from textgen_course.modelfiles import write_json, save_model_files, read_meta
        from pathlib import Path
        print(locale.getpreferredencoding(False))
        f = save_model_files(Path({str(tmp_path)!r})/'u', lambda p: p.write_bytes(b'w'), 'toy', {{}}, ['\\u00e9', '\\U0001f602', '\\n'])
        assert read_meta(f['weights'], 'toy')['vocab'] == ['\\u00e9', '\\U0001f602', '\\n']  # the script itself stays ASCII
        print('OK')
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, encoding='utf-8',
                       env={**env, 'LANG': 'C', 'LC_ALL': 'C', 'PYTHONUTF8': '0', 'PYTHONIOENCODING': 'utf-8'})
    assert r.returncode == 0 and 'OK' in r.stdout, r.stderr[-2000:]
    assert json.loads((tmp_path/'u.model.json').read_bytes().decode('utf-8'))['vocab'][1] == '😂'
    assert '😂'.encode('utf-8') in (tmp_path/'u.model.json').read_bytes()  # stored as UTF-8, not \\u escapes
