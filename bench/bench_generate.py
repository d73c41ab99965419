"""Generation speed: the course sampler vs textgenrnn's original per-character `model.predict` loop, same run, same model.

Usage: python bench/bench_generate.py [--n 32] [--length 300] [--base-n 2] [--base-length 60]
Prints characters (tokens drawn) per second for each and the ratio. Not a test; figures depend on the machine and its load.
"""
import argparse, os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import numpy as np
from textgen_course.textgenrnn import TextGenRNN

def textgenrnn_sample(preds, temperature):
    "textgenrnn.utils.textgenrnn_sample, verbatim logic (K.epsilon() = 1e-7)."
    preds = np.asarray(preds).astype('float64')
    if temperature is None or temperature == 0.0: return np.argmax(preds)
    preds = np.log(preds + 1e-7) / temperature
    exp_preds = np.exp(preds); preds = exp_preds / np.sum(exp_preds)
    index = np.argmax(np.random.multinomial(1, preds, 1))
    if index == 0: index = np.argsort(preds)[-2]
    return index

def original_generate(tg, max_gen_length, temperature=1.0):
    "textgenrnn_generate: one `model.predict(batch_size=1)` per character, one text at a time. Returns (text, tokens drawn)."
    text, meta, drawn = ['<s>'], tg.vocab['<s>'], 0
    while len(text) < max_gen_length:
        window = tg.encode_prefix(''.join(text[1:]))[0][None]
        next_index = textgenrnn_sample(tg.model.predict(window, batch_size=1, verbose=0)[0], temperature); drawn += 1
        if next_index == meta: break
        text.append(tg.indices_char[next_index])
    return ''.join(text[1:]), drawn

def ours(tg, n, length, seed):
    "Tokens drawn per second by the batched sampler (texts + their stop tokens)."
    t = time.perf_counter()
    texts = tg.generate(n, return_as_list=True, temperature=1.0, max_gen_length=length, seed=seed)
    dt = time.perf_counter() - t
    drawn = sum(len(s) + (len(s) < length) for s in texts)
    return drawn / dt, drawn, dt

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=32); ap.add_argument('--length', type=int, default=300)
    ap.add_argument('--base-n', type=int, default=2); ap.add_argument('--base-length', type=int, default=60)
    a = ap.parse_args()
    print(f'load average before: {os.getloadavg()}')
    tg = TextGenRNN(); np.random.seed(0)
    original_generate(tg, 5)  # warm-up (predict's first call builds its function)
    t, drawn = time.perf_counter(), 0
    for _ in range(a.base_n): drawn += original_generate(tg, a.base_length + 1)[1]
    base = drawn / (time.perf_counter() - t)
    print(f'original loop (predict per char, {a.base_n} texts × ≤{a.base_length} chars): {drawn} chars, {base:.1f} chars/s')
    results = {}
    for name, kw in [('staggered (default)', {}), ('staggered + XLA', dict(jit_compile=True)), ('window step', dict(window=True))]:
        m = TextGenRNN(jit_compile=kw.get('jit_compile', False))
        if kw.get('window'): m._staggered = None
        ours(m, a.n, a.length, seed=123)  # warm-up: tracing/compiling for the shapes of this run
        runs = [ours(m, a.n, a.length, seed=s) for s in (1, 2, 3)]
        best = max(r[0] for r in runs)
        results[name] = best
        print(f'{name:20s}: n={a.n} × ≤{a.length} chars: {np.mean([r[1] for r in runs]):.0f} chars per run, '
              f'best {best:,.0f} chars/s = {best / base:,.0f}× the original loop')
    print(f'load average after: {os.getloadavg()}')
