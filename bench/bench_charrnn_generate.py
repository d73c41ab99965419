"""Generation speed: the stateful, compiled, batched sampler vs re-running the full model for every new character.

Same model, same seeds, same run: chars/s for both, the ratio, and whether the texts are identical. The model has the
recommended tiny-shakespeare size (GRU-512, embedding 64; the weights do not matter for speed). Pass `--model path` to
time a saved `CharRNN` instead.

Usage (from the repo root): python bench/bench_charrnn_generate.py [--length 300] [--n 1,32] [--model models/x]
"""
import argparse, json, os, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--length', type=int, default=300, help='new characters per text')
    ap.add_argument('--n', default='1,32', help='batch sizes (texts generated together)')
    ap.add_argument('--model', default='', help='a saved CharRNN (name or name.keras); default: a fresh GRU-512')
    ap.add_argument('--rerun-length', type=int, default=0, help='characters for the slow method (default: same as --length)')
    a = ap.parse_args()
    import tensorflow as tf
    from textgen_course.corpus import sample_text
    from textgen_course.charrnn import CharRNN, generate_by_rerun
    m = CharRNN.load(a.model) if a.model else CharRNN.new(sample_text(1), cell='gru', units=512, emb_dim=64, seed=0)
    print(json.dumps(dict(model=repr(m), load_at_start=os.getloadavg(), tf=tf.__version__)), flush=True)
    ratios = []
    for n in map(int, a.n.split(',')):
        L, RL = a.length, a.rerun_length or a.length
        kw = dict(n=n, prefix='ORSINO:', temperature=1.0, seed=1)
        res = dict(n=n, length=L)
        for jit in (False, True):
            m.jit_compile, m._generation = jit, None
            m.generate(**kw, max_gen_length=5, return_as_list=True)  # compile
            t = time.time()
            out = m.generate(**kw, max_gen_length=L, return_as_list=True)
            dt = time.time() - t
            if not jit: fast = out  # XLA's float rounding differs slightly, so only the plain run is compared draw for draw
            res['stateful_xla' if jit else 'stateful'] = round(n * L / dt, 1)
        m.jit_compile, m._generation = False, None
        generate_by_rerun(m, **kw, max_gen_length=3)  # compile
        t = time.time()
        slow = generate_by_rerun(m, **kw, max_gen_length=RL)
        dt = time.time() - t
        res['rerun'] = round(n * RL / dt, 1)
        res['rerun_length'] = RL
        res['identical_texts'] = [s[:len(x)] for s, x in zip(fast, slow)] == slow if RL <= L else None
        res['ratio_stateful_vs_rerun'] = round(res['stateful'] / res['rerun'], 1)
        res['load1'] = round(os.getloadavg()[0], 2)
        ratios.append(res)
        print(json.dumps(res), flush=True)
    print(json.dumps(dict(load_at_end=os.getloadavg())), flush=True)

if __name__ == '__main__': main()
