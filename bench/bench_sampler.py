"""Generation speed: the course's compiled samplers vs the plain loop that re-runs the model on the whole text so far for
every new token (`sampling.generate_by_rerun`).

Models of the recommended sizes (the weights do not matter for speed): lesson 02's GRU-512 (the stateful sampler) and lesson
07's GPT (4 blocks, 128 features, context 256; the key/value cache). Same seeds, same run: characters per second for both,
the ratio, and whether the texts are identical draw for draw.

Usage (from the repo root): python bench/bench_sampler.py [--length 200] [--n 1,32] [--models charrnn,gpt]
"""
import argparse, json, os, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

def models(names):
    "Fresh course models of the recommended sizes, on the embedded sample play's characters."
    from textgen_course.samples import sample_text
    from textgen_course.charrnn import CharRNN
    from textgen_course.gpt import GPT
    text = sample_text(1)
    make = {'charrnn': lambda: CharRNN.new(text, cell='gru', units=512, emb_dim=64, seed=0),
            'gpt': lambda: GPT.new(text, n_layer=4, n_head=4, n_embd=128, seq_len=256, seed=0)}
    return {name: make[name]() for name in names}

def rerun_fn(m):
    "`next_logits(ids)`: the model on the whole text so far (at most its context), compiled once for any length."
    import tensorflow as tf
    context = m.config.get('seq_len') if type(m).__name__ == 'GPT' else None
    return tf.function(lambda ids: m.model(ids if context is None else ids[:, -context:])[:, -1], reduce_retracing=True)

def timed(f):
    "(result, seconds) of one call."
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--length', type=int, default=200, help='new characters per text')
    ap.add_argument('--n', default='1,32', help='batch sizes (texts generated together)')
    ap.add_argument('--models', default='charrnn,gpt')
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
