"""One figure per fact: every decimal figure a lesson's prose quotes is backed.

The rule. In the markdown of every lesson notebook (`nbs/0*.ipynb` and `nbs/index.ipynb`), every decimal figure (a number
written with a decimal point: 1.518, 0.84, 14.5, 2.10, 20,764.5) must either

(a) appear in a saved output of some course notebook (any `nbs/**/*.ipynb`: stream text, `text/plain`, `text/markdown`,
    `text/html`; in HTML only the text the page shows counts, not tag attributes such as hover titles). Rounding is
    allowed one way only: an output number counts when it has at least as many decimals as the prose figure and rounds to
    it at the prose figure's number of decimals (1.7915 backs 1.79 and 1.792, not 1.80; 1.5 does not back 1.50); the
    sign is ignored; or
(b) sit in a markdown cell that cites its source with a date (YYYY-MM-DD) and a machine (Xeon, EPYC, A100, H100, "2-core",
    CPU, GPU, MacBook, ...), e.g. "(the course's benchmark, 2026-11-30, a 2-core Intel Xeon)".

Not figures: version numbers (2.20.0, 3.13.2, and one-dot versions named as such: "Python 3.11", "Python >= 3.10",
"TF 2.21", "v1.2"), dates, anything inside `backticks`, fenced code blocks, link addresses and bare web addresses.

Rule (b) covers the whole cell: one dated citation on a named machine excuses every figure in that cell. Rule (a) matches
numbers, not meanings: a figure can be backed by an unrelated output that happens to show the same number.

A failure names each unbacked figure with its notebook, cell id and the sentence around it.
Pure JSON parsing: nothing is executed.
"""
import json, re
from decimal import Decimal, ROUND_HALF_EVEN, ROUND_HALF_UP
from functools import cache
from pathlib import Path
import pytest
from conftest import outputs_text

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT/'nbs').glob('0*.ipynb')) + [ROOT/'nbs'/'index.ipynb']
ALL_NOTEBOOKS = sorted((ROOT/'nbs').rglob('*.ipynb'))

DATE = re.compile(r'\b20\d\d-[01]\d-[0-3]\d\b')
MACHINE = re.compile(r'Xeon|EPYC|Ryzen|\bA100\b|\bH100\b|\bH200\b|\bT4\b|\bV100\b|\bTPU\b|\d[- ]cores?\b|\bv?CPUs?\b|\bGPUs?\b|'
                     r'MacBook|\bM[1-4]\b|laptop', re.I)
# a decimal figure in prose, with optional thousands separators; the look-arounds keep versions (2.20.0) whole
FIGURE = re.compile(r'(?<![\w.,\-])-?(\d{1,3}(?:,\d{3})+|\d+)\.(\d+)(?![\w.]*\d)(?!\.\w)')
VERSION_WORDS = re.compile(r'(?:\b(?:python|tensorflow|tf|keras|numpy|nbdev|version|release|pytorch|torch|cuda|ubuntu)[\s(]*'
                           r'(?:[<>=~!]=?\s*)?|\bv)$', re.I)  # "Python 3.11", "Python >= 3.10", "TensorFlow (>= 2.16", "v1.2"
# output numbers: plain decimals, scientific notation, and thousands-grouped decimals
OUT_NUMBER = re.compile(r'(\d+)\.(\d+)(?:[eE]([+-]?\d+))?')
OUT_GROUPED = re.compile(r'\d{1,3}(?:,\d{3})+\.\d+')
MAX_DECIMALS = 8

def src(c) -> str: return ''.join(c['source'])
def cells(nb: Path) -> list: return json.loads(nb.read_text(encoding='utf-8'))['cells']

def _decimals(d: Decimal) -> int: return max(0, -d.as_tuple().exponent)

def _roundings(d: Decimal) -> set:
    "The figures an output number backs: itself rounded to each number of decimals up to its own (both rounding rules)."
    d, n = abs(d), _decimals(d)
    return {format(d.quantize(Decimal(1).scaleb(-k), rounding=r), 'f') for k in range(1, min(n, MAX_DECIMALS) + 1)
            for r in (ROUND_HALF_UP, ROUND_HALF_EVEN)}

def output_numbers(text: str) -> set:
    "Every decimal number in an output text, as a Decimal."
    found = {Decimal(m.group().replace(',', '')) for m in OUT_GROUPED.finditer(text)}
    for m in OUT_NUMBER.finditer(text):
        d = Decimal(f'{m.group(1)}.{m.group(2)}')
        if m.group(3): d = d.scaleb(int(m.group(3)))
        found.add(d)
    return found

@cache
def backed_figures() -> frozenset:
    "Every figure (as a string like '1.79') that some saved output of some course notebook backs."
    nums = set()
    for nb in ALL_NOTEBOOKS:
        for c in cells(nb): nums |= output_numbers(outputs_text(c, html='shown'))
    return frozenset(f for d in nums for f in _roundings(d))

def prose(md: str) -> str:
    "A markdown cell's text with code, link addresses and web addresses blanked (same length, so offsets still match)."
    blank = lambda m: re.sub(r'[^\n]', ' ', m.group())
    md = re.sub(r'^(```|~~~).*?^\1[^\n]*$', blank, md, flags=re.S | re.M)   # fenced code blocks
    md = re.sub(r'(`+)(?!`).*?(?<!`)\1(?!`)', blank, md, flags=re.S)          # inline code
    md = re.sub(r'(?<=\]\()[^)\s]*', blank, md)                                # link addresses
    md = re.sub(r'<[^>\s]*(?:https?:|www\.)[^>]*>|https?://\S+|www\.\S+', blank, md)  # bare and <...> addresses
    md = re.sub(r'<(?:img|a)\b[^>]*>', blank, md)                              # html tags carrying addresses
    return md

def sentence(text: str, start: int, end: int) -> str:
    "The sentence around text[start:end], on one line."
    stops = [m.end() for m in re.finditer(r'[.!?:](?=\s)|\n\s*\n|\n\s*[-*|#]', text[:start])]
    left = stops[-1] if stops else 0
    m = re.search(r'[.!?](?=\s|$)|\n\s*\n|\n(?=\s*[-*|#])', text[end:])
    right = end + m.end() if m else len(text)
    return ' '.join(text[left:right].split())

def figures(md: str):
    "(figure, start, end) for each decimal figure in a markdown cell's prose."
    text = prose(md)
    for m in FIGURE.finditer(text):
        before = text[max(0, m.start() - 20):m.start()]
        if VERSION_WORDS.search(before): continue
        yield m.group().lstrip('-').replace(',', ''), m.start(), m.end()

def cites_source(md: str) -> bool:
    "The cell names a date (YYYY-MM-DD) and a machine."
    return bool(DATE.search(md) and MACHINE.search(md))

def unbacked(nb: Path) -> list[str]:
    "Each unbacked figure of a lesson as 'notebook, cell id: figure -- sentence'."
    backed, problems = backed_figures(), []
    for c in cells(nb):
        if c['cell_type'] != 'markdown': continue
        md = src(c)
        if cites_source(md): continue
        for fig, s, e in figures(md):
            if fig not in backed: problems.append(f"{nb.name}, cell {c.get('id', '?')}: {fig} -- {sentence(md, s, e)}")
    return problems

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.name)
def test_prose_figures_are_backed(nb):
    "Every decimal figure in the lesson's prose is in a saved output, or its cell cites a dated run on a named machine."
    problems = unbacked(nb)
    assert not problems, f'{len(problems)} unbacked figure(s):\n' + '\n'.join(problems)

def test_prose_figure_check_can_fail():
    "The parts of the rule, on made-up text: figures found, versions and code skipped, rounding one way, citations."
    md = ('The GRU reached 1.518 at 13 minutes, 0.84× as fast; TensorFlow 2.20.0, Python >= 3.11 and `loss 9.99` do not count.\n'
          '```python\nx = 4.56\n```\nSee [the paper](https://arxiv.org/abs/1308.0850); 20,764.5 characters.')
    assert [f for f, *_ in figures(md)] == ['1.518', '0.84', '20764.5']
    assert sentence(md, md.index('1.518'), md.index('1.518') + 5).startswith('The GRU reached 1.518')
    backs = lambda out, fig: fig in frozenset(f for d in output_numbers(out) for f in _roundings(d))
    assert backs('val64 1.7915', '1.79') and backs('val64 1.7915', '1.792') and not backs('val64 1.7915', '1.80')
    assert not backs('loss 1.5', '1.50') and backs('1.2e-03', '0.0012') and backs('20,764.52 chars/s', '20764.5')
    html = {'output_type': 'display_data', 'data': {'text/html': ['<span title="p = 0.417">a</span> 0.96']}}
    assert output_numbers(outputs_text({'outputs': [html]}, html='shown')) == {Decimal('0.96')}
    assert cites_source('1.509 (the course benchmark, 2026-11-30, a 2-core Intel Xeon)')
    assert not cites_source('1.509 (the course benchmark, 2026-11-30)') and not cites_source('1.509 on a 2-core Intel Xeon')

def test_a_broken_figure_is_named(tmp_path):
    "A lesson with one figure changed to one no output shows: the check names notebook, cell id and sentence."
    nb = next(p for p in LESSONS if p.name.startswith('02'))
    book = json.loads(nb.read_text(encoding='utf-8'))
    cell = next(c for c in book['cells'] if c['cell_type'] == 'markdown' and not cites_source(src(c)))
    cell['source'] = [*cell['source'], '\n\nThis model reached 987.654 nats.']
    broken = tmp_path/nb.name
    broken.write_text(json.dumps(book), encoding='utf-8')
    found = [p for p in unbacked(broken) if '987.654' in p]
    assert found == [f"{nb.name}, cell {cell['id']}: 987.654 -- This model reached 987.654 nats."], found
