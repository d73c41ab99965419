"""Execute notebooks in place with a real Jupyter kernel (nbclient), keeping outputs for learners.

Usage: python tools/run_nb.py nbs/00_corpus.ipynb [more.ipynb ...]
Cells flagged with a tst_flag from settings.ini (`#| slow`, `#| net`, ...) are skipped unless listed in
--flags, exactly as nbdev_test does. With `--flags slow` the lesson's `REAL_RUN` switch is turned on for the run (its saved
source stays off), so the real cells do their real run. `--colab` runs every cell as Colab's Runtime -> Run all does: no flag
holds a cell back, and the switch stays as saved (off). `--only ID,ID` runs the notebook the same way but keeps the new outputs of those cells
only (the others keep their saved outputs, e.g. a real run's); `--skip ID,ID` does not run those cells (e.g. one real section of
several). Run `nbdev_clean` afterwards before committing.
"""
import argparse, configparser, os, re, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient

def skip_flags(extra:str):
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(Path(__file__).parent.parent/'settings.ini')
    return set(cfg['DEFAULT'].get('tst_flags', '').split()) - set(extra.split())

SWITCH = 'REAL_RUN = False  #@param {type:"boolean"}'   # the one line that turns a lesson's real run on or off

def held_back(cell, skip:set) -> bool:
    "Whether a code cell carries one of the `skip` flags (`#| slow`, `#| net`, ...), as nbdev_test decides."
    return cell.cell_type == 'code' and bool(skip & set(re.findall(r'^#\|\s*(\w+)\s*$', cell.source, re.M)))

TF_NOISE = re.compile(r'^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|To enable the following instructions|'
                      r'This TensorFlow binary is optimized|.*(cuda|cuInit|oneDNN|TF-TRT)).*$\n?', re.M)

# "/any/path/module.py:12: UserWarning: message" followed by the echoed source line: keep "UserWarning: message" only
WARNING_AT = re.compile(r'^\S+\.py:\d+: (\w*Warning: .*)\n(?:  .*\n)?', re.M)

def drop_tf_noise(nb):
    "Remove TensorFlow's start-up log lines, and this machine's file paths in warnings, from stderr outputs."
    for c in nb.cells:
        if c.cell_type != 'code': continue
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
                o['text'] = WARNING_AT.sub(r'\1\n', TF_NOISE.sub('', o['text']))
        c.outputs = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and not o['text'].strip())]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('nbs', nargs='+')
    ap.add_argument('--flags', default='')
    ap.add_argument('--timeout', type=int, default=1800)
    ap.add_argument('--only', default='', help='comma-separated cell ids whose outputs are replaced (default: all)')
    ap.add_argument('--skip', default='', help='comma-separated cell ids not to run (they keep their saved outputs)')
    ap.add_argument('--colab', action='store_true', help="run every cell, switch as saved, as Colab's Run all does")
    a = ap.parse_args()
    skip = set() if a.colab else skip_flags(a.flags)
    real = 'slow' in a.flags.split() and not a.colab
    for fn in map(Path, a.nbs):
        nb = nbformat.read(fn, as_version=4)
        saved = nbformat.read(fn, as_version=4)
        held, switched = {}, []
        for i, c in enumerate(nb.cells):
            if held_back(c, skip) or c.get('id') in a.skip.split(','):
                held[i] = c
                nb.cells[i] = nbformat.v4.new_markdown_cell('held')
            elif real and c.cell_type == 'code' and c.source.strip() == SWITCH:
                switched.append(i)
                c.source = 'REAL_RUN = True'
        t = time.time()
        os.environ.pop('IN_TEST', None)
        os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        NotebookClient(nb, timeout=a.timeout, kernel_name='python3', resources={'metadata': {'path': str(fn.parent)}}).execute()
        for i, c in held.items(): nb.cells[i] = c
        for i in switched: nb.cells[i].source = SWITCH   # saved off: Run all stays quick
        drop_tf_noise(nb)
        if a.only:
            for i, c in enumerate(nb.cells):
                if c.get('id') not in a.only.split(','): nb.cells[i] = saved.cells[i]
        nbformat.write(nb, fn)
        print(f'{fn}: executed in {time.time()-t:.1f}s ({len(held)} cells held back)')

if __name__ == '__main__': main()
