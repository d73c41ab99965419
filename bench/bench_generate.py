"""Generation speed: the course sampler vs textgenrnn's original per-character `model.predict` loop, same run, same model.

Usage: python bench/bench_generate.py [--n 32] [--length 300] [--base-n 3] [--base-length 80] [--runs 5] [--no-xla]
Prints characters (tokens drawn) per second for each and the ratio to the original loop, which is timed before AND after
the course's samplers (its mean is the baseline, so a change of machine load shows up as a gap between the two).
Not a test; figures depend on the machine and its load.
"""
import argparse, os, statistics, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
from textgen_course.textgenrnn import TextGenRNN

def textgenrnn_sample(preds, temperature):
    "textgenrnn.utils.textgenrnn_sample, verbatim logic (K.epsilon() = 1e-7)."
    preds = np.asarray(preds).astype('float64')
    if temperature is None or temperature == 0.0: return np.argmax(preds)
    preds = np.log(preds + 1e-7) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    index = np.argmax(np.random.multinomial(1, preds, 1))
    if index == 0: index = np.argsort(preds)[-2]
    return index

def original_generate(tg, max_gen_length, temperature=1.0):
    "textgenrnn_generate: one `model.predict(batch_size=1)` per character, one text at a time. Returns (text, tokens drawn)."
    text, meta, drawn = ['<s>'], tg.vocab['<s>'], 0
    while len(text) < max_gen_length:
        window = tg.encode_prefix(''.join(text[1:]))[0][None]
        next_index = textgenrnn_sample(tg.model.predict(window, batch_size=1, verbose=0)[0], temperature)
        drawn += 1
        if next_index == meta: break
        text.append(tg.indices_char[next_index])
    return ''.join(text[1:]), drawn

def original_rate(tg, texts, length):
    "Characters per second of the original loop over `texts` texts of at most `length` characters."
    t, drawn = time.perf_counter(), 0
    for _ in range(texts): drawn += original_generate(tg, length + 1)[1]
    return drawn / (time.perf_counter() - t), drawn

def ours(tg, n, length, seed):
    "Tokens drawn per second by the batched sampler (texts + their stop tokens)."
    t = time.perf_counter()
    texts = tg.generate(n, return_as_list=True, temperature=1.0, max_gen_length=length, seed=seed)
    dt = time.perf_counter() - t
    drawn = sum(len(s) + (len(s) < length) for s in texts)
    return drawn / dt, drawn, dt

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=32)
    ap.add_argument('--length', type=int, default=300)
    ap.add_argument('--base-n', type=int, default=3)
    ap.add_argument('--base-length', type=int, default=80)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--no-xla', action='store_true')
    a = ap.parse_args()
    print(f'load average before: {os.getloadavg()}')
    tg = TextGenRNN()
    np.random.seed(0)
    original_generate(tg, 5)  # warm-up (predict's first call builds its function)
    before, drawn = original_rate(tg, a.base_n, a.base_length)
    print(f'original loop (predict per char, {a.base_n} texts × ≤{a.base_length} chars): {drawn} chars, {before:.1f} chars/s')
    variants = [('staggered (default)', {}), ('window step', dict(window=True))]
    if not a.no_xla: variants.insert(1, ('staggered + XLA', dict(jit_compile=True)))
    results = {}
    for name, kw in variants:
        m = TextGenRNN(jit_compile=kw.get('jit_compile', False))
        if kw.get('window'): m._staggered = None
        t = time.perf_counter()
        ours(m, a.n, a.length, seed=123)
        first = time.perf_counter() - t  # tracing (and XLA compiles)
        if kw.get('jit_compile'):  # XLA compiles once per batch size met: meet them all before timing
            for s in range(100, 100 + 4 * a.runs): ours(m, a.n, a.length, seed=s)
        results[name] = runs = [ours(m, a.n, a.length, seed=s) for s in range(1, a.runs + 1)]
        print(f'{name:20s}: first call {first:.1f} s; then {np.mean([r[1] for r in runs]):.0f} chars per call, '
              f'median {statistics.median(r[0] for r in runs):,.0f} chars/s (range {min(r[0] for r in runs):,.0f}-{max(r[0] for r in runs):,.0f})')
    after, drawn = original_rate(tg, a.base_n, a.base_length)
    base = (before + after) / 2
    print(f'original loop again: {drawn} chars, {after:.1f} chars/s; baseline = mean {base:.1f} chars/s')
    for name, runs in results.items():
        med = statistics.median(r[0] for r in runs)
        print(f'  {name:20s}: median {med / base:,.0f}× the original loop (best {max(r[0] for r in runs) / base:,.0f}×)')
    print(f'load average after: {os.getloadavg()}')
