"Tests of textgen_course.modelfiles: atomic writes, one weights file + one JSON, checked loads, load aside then swap."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest
from textgen_course.modelfiles import *

def _pair(tmp_path, data=b'weights v1', vocab=('a', 'b', 'c')):
    return save_model_files(tmp_path/'m.weights.h5', lambda p: p.write_bytes(data), 'toy', {'units': 3}, list(vocab), epoch=2)

def test_pair_round_trip(tmp_path):
    files = _pair(tmp_path)
    assert files == {'weights': tmp_path/'m.weights.h5', 'meta': tmp_path/'m.model.json'}
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.model.json', 'm.weights.h5']  # no temporary file left
    meta = read_meta(files['weights'], 'toy')
    assert meta['config'] == {'units': 3} and meta['vocab'] == ['a', 'b', 'c'] and meta['epoch'] == 2 and meta['kind'] == 'toy'
    assert meta['weights_bytes'] == len(b'weights v1') and meta['library_version']
    assert meta_path(tmp_path/'x.keras').name == 'x.model.json' and meta_path('y.h5').name == 'y.model.json'

def test_failed_writer_leaves_the_old_file(tmp_path):
    files = _pair(tmp_path)
    def dies(p):
        p.write_bytes(b'half')
        raise OSError('No space left on device')
    with pytest.raises(OSError, match='No space'): save_model_files(files['weights'], dies, 'toy', {}, ['a'])
    assert files['weights'].read_bytes() == b'weights v1' and read_meta(files['weights'], 'toy')['vocab'] == ['a', 'b', 'c']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['m.model.json', 'm.weights.h5']

@pytest.mark.parametrize('damage,err,msg', [
    (lambda w, m: w.write_bytes(b''), ModelFileError, 'empty (0 bytes)'),
    (lambda w, m: w.write_bytes(b'weights'), ModelFileError, 'truncated'),
    (lambda w, m: w.write_bytes(b'weights v2'), ModelFileError, 'SHA-256 differs'),  # new weights, old JSON: a crash between the two
    (lambda w, m: m.write_text(m.read_text(encoding='utf-8').replace('"b"', '"z"'), encoding='utf-8'), ModelFileError, 'not the one the model was saved with'),
    (lambda w, m: m.write_text('{"format": "textgen', encoding='utf-8'), ModelFileError, 'not a valid model JSON'),
    (lambda w, m: m.unlink(), FileNotFoundError, 'no such model JSON file'),
    (lambda w, m: w.unlink(), FileNotFoundError, 'no such weights file')])
def test_damaged_pairs_get_clear_errors(tmp_path, damage, err, msg):
    files = _pair(tmp_path)
    damage(files['weights'], files['meta'])
    with pytest.raises(err, match=msg.replace('(', r'\(').replace(')', r'\)')) as e: read_meta(files['weights'], 'toy')
    assert 'm.' in str(e.value)  # names the file

def test_wrong_kind(tmp_path):
    with pytest.raises(ModelFileError, match="a 'toy' model, not a 'charrnn' one"): read_meta(_pair(tmp_path)['weights'], 'charrnn')

def test_load_checked_translates_framework_errors(tmp_path):
    import zipfile, keras
    bad = tmp_path/'bad.keras'
    bad.write_bytes(b'PK\x03\x04 no zip')
    with pytest.raises(ModelFileError, match='bad.keras: not a readable'): load_checked(bad, lambda p: keras.saving.load_model(p))
    def raises(e):
        def f(p): raise e
        return f
    with pytest.raises(ModelFileError, match='truncated or corrupt'): load_checked(bad, raises(zipfile.BadZipFile('File is not a zip file')))
    with pytest.raises(ModelFileError, match='do not fit this toy'): load_checked(bad, raises(ValueError('shape (3,) vs (5,)')), 'toy')
    with pytest.raises(FileNotFoundError): load_checked(tmp_path/'none.keras', lambda p: None)

def test_swap_in():
    class A: pass
    a, b = A(), A()
    a.x, b.x, b.y = 1, 2, 3
    assert swap_in(a, b) is a and (a.x, a.y) == (2, 3)

def test_utf8_json_under_lang_c(tmp_path):
    "Under LANG=C (ASCII locale) the JSON still round-trips accented letters and emoji: the encoding is always UTF-8."
    code = textwrap.dedent(f'''
        import json, locale
        from textgen_course.modelfiles import write_json, save_model_files, read_meta
        from pathlib import Path
        print(locale.getpreferredencoding(False))
        f = save_model_files(Path({str(tmp_path)!r})/'u.weights.h5', lambda p: p.write_bytes(b'w'), 'toy', {{}}, ['\\u00e9', '\\U0001f602', '\\n'])
        assert read_meta(f['weights'], 'toy')['vocab'] == ['\\u00e9', '\\U0001f602', '\\n']  # the script itself stays ASCII
        print('OK')
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, encoding='utf-8',
                       env={**env, 'LANG': 'C', 'LC_ALL': 'C', 'PYTHONUTF8': '0', 'PYTHONIOENCODING': 'utf-8'})
    assert r.returncode == 0 and 'OK' in r.stdout, r.stderr[-2000:]
    assert json.loads((tmp_path/'u.model.json').read_bytes().decode('utf-8'))['vocab'][1] == '😂'
    assert '😂'.encode('utf-8') in (tmp_path/'u.model.json').read_bytes()  # stored as UTF-8, not \\u escapes
