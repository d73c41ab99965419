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
    f = tmp_path/'empty.txt'; f.write_text('\n\n')
    assert main(['finetune', str(f)]) == 2
    assert 'empty' in capsys.readouterr().err

def test_finetune_text_file_then_generate(tmp_path, capsys):
    f = tmp_path/'r.txt'; write_lines(['Awful. Just awful.', 'Never again.', 'I want my money back.', 'The worst movie of the year.'], f)
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
    assert (tmp_path/'m'/'textgenrnn_config.json').exists()
