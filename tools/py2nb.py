"""Author a notebook from a percent-format script (`# %%` code cells, `# %% [markdown]` prose cells).

Usage: python tools/py2nb.py draft.py nbs/NN_name.ipynb
Cell ids are derived from the notebook name and cell position, so re-authoring is stable. Run
`python tools/run_nb.py nbs/NN_name.ipynb` afterwards to execute it with a kernel and keep outputs.
"""
import hashlib, json, re, sys
from pathlib import Path

def parse(src:str):
    "Split percent-format source into (kind, text) cells."
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        text = '\n'.join(buf).strip('\n')
        if kind == 'markdown': text = '\n'.join(re.sub(r'^# ?', '', l) for l in text.split('\n'))
        cells.append((kind, text))
    for line in src.split('\n'):
        m = re.match(r'^# %%( \[markdown\])?\s*$', line)
        if m:
            flush()
            kind, buf = ('markdown' if m.group(1) else 'code'), []
        else: buf.append(line)
    flush()
    return cells

def to_nb(cells, name:str):
    "Build an nbformat 4.5 notebook dict."
    out = []
    for i, (kind, text) in enumerate(cells):
        cid = hashlib.sha1(f'{name}:{i}:{kind}'.encode()).hexdigest()[:8]
        lines = text.split('\n')
        source = [l + '\n' for l in lines[:-1]] + [lines[-1]]
        c = dict(cell_type=kind, id=cid, metadata={}, source=source)
        if kind == 'code': c.update(execution_count=None, outputs=[])
        out.append(c)
    return dict(cells=out, metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')),
                nbformat=4, nbformat_minor=5)

if __name__ == '__main__':
    src, dst = map(Path, sys.argv[1:3])
    dst.write_text(json.dumps(to_nb(parse(src.read_text()), dst.stem), indent=1, ensure_ascii=False) + '\n')
    print(f'wrote {dst}')
