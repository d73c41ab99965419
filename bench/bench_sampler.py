"""Generation speed: the course's compiled samplers vs the plain loop that re-runs the model on the whole text so far for
every new token (`sampling.generate_by_rerun`).

Models of the lessons' sizes (the weights do not matter for speed): lesson 02's GRU-512 (the stateful sampler) and lesson
07's GPT (`SHAKESPEARE_GPT`: 4 blocks, 128 features, context 64; the rolling key/value cache), and the same GPT with a
context of 256 (`gpt256`). The re-run loop reads exactly what the cache reads (`gpt.window_start`), so the texts can be
compared draw for draw. Same seeds, same run: characters per second for both, the ratio, and whether the texts are identical.

Usage (from the repo root): python bench/bench_sampler.py [--length 200] [--n 1,32] [--models charrnn,gpt,gpt256]
"""
import argparse, json, os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

def models(names):
    "Fresh course models of the recommended sizes, on the embedded sample play's characters."
    from textgen_course.samples import sample_text
    from textgen_course.charrnn import CharRNN
    from textgen_course.gpt import GPT, SHAKESPEARE_GPT
    text = sample_text(1)
    sizes = {k: SHAKESPEARE_GPT[k] for k in ('n_layer', 'n_head', 'n_embd', 'seq_len')}
    make = {'charrnn': lambda: CharRNN.new(text, cell='gru', units=512, emb_dim=64, seed=0),
            'gpt': lambda: GPT.new(text, **sizes, seed=0),
            'gpt256': lambda: GPT.new(text, **(sizes | dict(seq_len=256)), seed=0)}
    return {name: make[name]() for name in names}

def rerun_fn(m):
    "`next_logits(ids)`: the model on the whole text so far (a GPT: from where its cache's window starts), compiled once."
    import tensorflow as tf
    from textgen_course.gpt import GPT, window_start
    last = tf.function(lambda ids: m.model(ids)[:, -1], reduce_retracing=True)
    if not isinstance(m, GPT): return last
    return lambda ids: last(ids[:, window_start(ids.shape[1], m.config['seq_len']):])

def timed(f):
    "(result, seconds) of one call."
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--length', type=int, default=200, help='new characters per text')
    ap.add_argument('--n', default='1,32', help='batch sizes (texts generated together)')
    ap.add_argument('--models', default='charrnn,gpt,gpt256')
    a = ap.parse_args()
    import numpy as np, tensorflow as tf
    from textgen_course.sampling import generate_by_rerun
    print(json.dumps(dict(load=os.getloadavg(), tf=tf.__version__)), flush=True)
    for name, m in models(a.models.split(',')).items():
        last = rerun_fn(m)
        for n in map(int, a.n.split(',')):
            kw = dict(temperature=1.0, seed=1)
            start = np.tile(np.r_[m.vocab.bos_id, m.vocab.encode('DUKE:')], (n, 1)).astype(np.int32)
            m.generate(n, return_as_list=True, prefix='DUKE:', max_gen_length=5, **kw)  # traces the loop
            fast, fast_s = timed(lambda: m.generate(n, return_as_list=True, prefix='DUKE:', max_gen_length=a.length, **kw))
            generate_by_rerun(last, start, 3, **kw, ban_ids=m.ban_ids)  # traces the model call
            slow, slow_s = timed(lambda: generate_by_rerun(last, start, a.length, **kw, ban_ids=m.ban_ids))
            same = fast == ['DUKE:' + m.vocab.decode(r) for r in slow]
            print(json.dumps(dict(model=name, n=n, length=a.length, compiled_chars_s=round(n * a.length / fast_s),
                                  rerun_chars_s=round(n * a.length / slow_s), ratio=round(slow_s / fast_s, 1),
                                  identical_texts=same, load1=round(os.getloadavg()[0], 2))), flush=True)

if __name__ == '__main__': main()
