import os, re
from pathlib import Path
import pytest
import keras
from textgen_course.checks import CorpusError
from textgen_course.data import course_data

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture
def real_data():
    "Find a real course dataset ($TEXTGEN_COURSE_DATA or the cache) without downloading; the test skips when it is absent."
    def find(name):
        try: return course_data(name, allow_download=False)
        except CorpusError as e: pytest.skip(str(e))
    return find

class StopAt(keras.callbacks.Callback):
    "Die at the start of an epoch, as a killed kernel would."
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch: raise KeyboardInterrupt(f'killed at the start of epoch {epoch}')

def snapshot_files(folder):
    "Every file below a folder, by relative path, with its bytes."
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob('*')) if p.is_file()}

def no_keras_backup(folder):
    "Nothing of Keras' BackupAndRestore: no `backup` folder, no training_metadata.json."
    names = [p.name for p in Path(folder).rglob('*')]
    return 'backup' not in names and 'training_metadata.json' not in names

TAG = re.compile(r'<[^>]*>')

def outputs_text(c, html:str='source') -> str:
    "Everything a cell's saved outputs show as text: streams, plain text, markdown, HTML (as written, or 'shown': tags removed), errors."
    out = []
    for o in c.get('outputs', []):
        data = o.get('data', {})
        page = ''.join(data.get('text/html', ''))
        out += [''.join(o.get('text', '')), ''.join(data.get('text/plain', '')), ''.join(data.get('text/markdown', '')),
                TAG.sub(' ', page) if html == 'shown' else page, o.get('evalue', '')]
    return '\n'.join(out)
