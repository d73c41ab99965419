import os, warnings
from pathlib import Path
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent/'shared'/'data'

@pytest.fixture
def shared_data():
    "The real corpora beside the repo (../shared/data); tests using them skip when absent."
    if not SHARED.exists(): pytest.skip('../shared/data is not present on this machine')
    return SHARED
