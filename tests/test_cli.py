"Tests of the `textgen` command line (textgen_course.cli.main), called in-process."
import os
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import pytest
from textgen_course.cli import main
from textgen_course.corpus import write_lines, write_sample_imdb

def test_generate_pretrained_offline(capsys):
    assert main(['generate', '-n', '1', '--temperature', '0', '--prefix', 'The movie', '--max-length', '70']) == 0
    assert capsys.readouterr().out.strip() == 'The movie and the start in the state of the state of the state of the state of'

def test_generate_options_and_file(tmp_path, capsys):
    assert main(['generate', '-n', '3', '--temperature', '1.0', '0.5', '--seed', '2', '--top-k', '20', '--top-p', '0.9',
                 '--max-length', '30', '--out', str(tmp_path/'o.txt')]) == 0
    assert len((tmp_path/'o.txt').read_text(encoding='utf-8').splitlines()) == 3

@pytest.mark.parametrize('argv,msg', [
    (['generate', '--temperature', '-1'], '>= 0'), (['generate', '--temperature', 'nan'], 'finite'),
    (['generate', '-n', '0'], '-n must be at least 1'), (['generate', '--max-length', '0'], 'max_gen_length'),
    (['generate', '--prefix', 'so bad 😂'], "'😂'"), (['generate', '--model', 'nope.weights.h5'], 'no such weights file'),
    (['finetune', 'missing.txt'], 'no such file')])
def test_errors_are_one_line_exit_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count('\n') == 1 and 'Traceback' not in err

def test_finetune_empty_file(tmp_path, capsys):
    f = tmp_path/'empty.txt'
    f.write_text('\n\n')
    assert main(['finetune', str(f)]) == 2
    assert 'empty' in capsys.readouterr().err

def test_finetune_text_file_then_generate(tmp_path, capsys):
    f = tmp_path/'r.txt'
    write_lines(['Awful. Just awful.', 'Never again.', 'I want my money back.', 'The worst movie of the year.'], f)
    assert main(['finetune', str(f), '--epochs', '1', '--batch-size', '64', '--out', str(tmp_path/'m'), '--samples', '0',
                 '--valid-frac', '0.25', '--mode', 'original']) == 0
    out = capsys.readouterr().out
    assert 'held-out loss' in out and 'saved' in out
    assert main(['generate', '--model', str(tmp_path/'m'/'textgenrnn.weights.h5'), '-n', '2', '--max-length', '20', '--seed', '0']) == 0

def test_finetune_imdb_archive(tmp_path, capsys):
    a = write_sample_imdb(tmp_path/'s.tar.gz', n=20)
    assert main(['finetune', str(a), '--rating', '1', '--max-texts', '4', '--epochs', '1', '--out', str(tmp_path/'m'),
                 '--samples', '0', '--quiet']) == 0
    assert 'reviews with rating 1' in capsys.readouterr().out
    assert (tmp_path/'m'/'textgenrnn.model.json').exists()

@pytest.mark.parametrize('flags,msg', [(['--max-texts', '-1'], '--max-texts must be at least 1'), (['--max-texts', '0'], '--max-texts must be at least 1'),
                                       (['--epochs', '0'], '--epochs must be at least 1'), (['--batch-size', '0'], '--batch-size must be at least 1'),
                                       (['--valid-frac', '1'], '--valid-frac must be in [0, 1)')])
def test_finetune_bad_numbers_are_refused(tmp_path, capsys, flags, msg):
    f = tmp_path/'r.txt'
    write_lines(['Awful.', 'Never again.'], f)
    assert main(['finetune', str(f), '--out', str(tmp_path/'m')] + flags) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count('\n') == 1
    assert not (tmp_path/'m').exists()

def test_programming_errors_keep_their_traceback(monkeypatch):
    "Only bad input is a one-line exit 2; a bug (TypeError here) propagates with its traceback."
    import textgen_course.cli as cli
    def broken(a): raise TypeError('a bug, not bad input')
    monkeypatch.setattr(cli, '_generate', broken)
    with pytest.raises(TypeError, match='a bug'): main(['generate'])

def test_finetune_checkpoints_into_out_and_resumes(tmp_path, capsys):
    f = tmp_path/'r.txt'
    write_lines(['Awful. Just awful.', 'Never again.', 'I want my money back.', 'The worst movie of the year.'], f)
    args = ['finetune', str(f), '--epochs', '1', '--batch-size', '16', '--out', str(tmp_path/'m'), '--samples', '0', '--valid-frac', '0', '--mode', 'original']
    assert main(args + ['--checkpoint-every', '2']) == 0
    names = sorted(p.name for p in (tmp_path/'m').iterdir())
    assert {'checkpoint-a.h5', 'checkpoint-b.h5', 'checkpoint-a.model.json', 'textgenrnn.weights.h5', 'textgenrnn.model.json'} <= set(names)
    assert not any(n.startswith('.tmp-') for n in names)
    capsys.readouterr()
    assert main(args + ['--resume']) == 0
    assert 'nothing left to train' in capsys.readouterr().out
    assert main(args + ['--resume', '--batch-size', '32']) == 2  # another run's checkpoint: refused, one line
    err = capsys.readouterr().err
    assert 'other texts or settings' in err and err.count('\n') == 1
