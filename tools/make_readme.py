"""Write README.md from nbs/index.ipynb (quarto, which `nbdev_readme` needs, cannot be installed on these machines).

Usage: python tools/make_readme.py [--check]
Markdown cells are copied; visible code cells become ```python blocks followed by their text output. `--check` exits 1
if README.md differs from what would be written.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _text(src): return ''.join(src) if isinstance(src, list) else src

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    "README markdown for the index notebook."
    nb, parts = json.loads(Path(nb_path).read_text(encoding='utf-8')), []
    for c in nb['cells']:
        src = _text(c['source']).strip()
        if c['cell_type'] == 'markdown': parts.append(src)
        elif c['cell_type'] == 'code' and src and not any(l.strip() in ('#| hide', '#|hide') for l in src.split('\n')):
            parts.append(f'```python\n{src}\n```')
            outs = [_text(o.get('text') or o.get('data', {}).get('text/plain', '')) for o in c.get('outputs', [])]
            outs = [o.rstrip() for o in outs if o.strip()]
            if outs: parts.append('```\n' + '\n'.join(outs) + '\n```')
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    want, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if readme.read_text(encoding='utf-8') != want: sys.exit('README.md is out of step with nbs/index.ipynb: run python tools/make_readme.py')
        print('README.md is in step with nbs/index.ipynb')
    else:
        readme.write_text(want, encoding='utf-8')
        print('wrote README.md')
