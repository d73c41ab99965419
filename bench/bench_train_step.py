"""Where a training step's time goes: lesson 07's GPT and lesson 02's GRU, each variant timed in one run, ratios against the plain step.

Each variant compiles the course's Keras model (`GPT.new` / `CharRNN.new`, the kind's own optimizer and loss) and trains it on
tiny-shakespeare windows from the course's pipeline (`lm_windows`). After a warm-up fit (tracing and XLA compilation), the same
number of steps is timed `--repeats` times and the fastest is kept (this 2-core machine is noisy). Variants:

- `plain`: `model.compile(...)` as Keras does by default on a CPU (no XLA);
- `xla`: `jit_compile=True` (what `GPT.jit_train` turns on);
- `xla, one-device strategy`: the same under `tf.distribute.OneDeviceStrategy('/cpu:0')`;
- `xla, fused attention`: the attention as one `keras.ops.dot_product_attention` call, heads kept in (batch, time, heads, size)
  order so no transposes (no dropout on the attention weights; tried here, not used by the course);
- `xla, SGD`: a plain SGD step instead of AdamW: what the optimizer costs;
- `xla, 16 steps per call`: `steps_per_execution=16`: what Keras's per-step Python costs.

Usage: python bench/bench_train_step.py [--steps 60] [--repeats 5] [--only gpt12,gpt32,gru,textgenrnn]
  gpt12: nanoGPT's CPU shape (batch 12, no dropout); gpt32: lesson 07's (batch 32, dropout 0.1); gru: lesson 02's GRU-512;
  textgenrnn: lesson 01's fine-tuning model (the pretrained weights, 'original' mode: batches of 128 windows of 40).
"""
import argparse, json, os, time

def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=60, help='timed steps per repeat')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--only', default='gpt12,gpt32,gru,textgenrnn')
    return ap.parse_args()

def fused_attention():
    "Swap the GPT's attention for one `dot_product_attention` call (heads last but one, no transposes); returns an undo."
    from keras import ops
    from textgen_course.gpt import CausalSelfAttention
    saved = CausalSelfAttention._heads, CausalSelfAttention._attend
    def heads(self, x):
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        qkv = ops.reshape(self.qkv(x), (b, t, 3, self.n_head, self.n_embd // self.n_head))
        return [qkv[:, :, i] for i in range(3)]
    def attend(self, q, k, v, visible, training=False):
        y = ops.dot_product_attention(q, k, v, is_causal=True)
        return self.drop(self.proj(ops.reshape(y, (ops.shape(y)[0], ops.shape(y)[1], self.n_embd))), training=training)
    CausalSelfAttention._heads, CausalSelfAttention._attend = heads, attend
    def undo(): CausalSelfAttention._heads, CausalSelfAttention._attend = saved
    return undo

def new_model(kind, train, strategy=None):
    from textgen_course.charrnn import CharRNN
    from textgen_course.gpt import GPT
    if kind == 'gru': return CharRNN.new(train, cell='gru', units=512, emb_dim=64, seq_len=100, dropout=0.2, seed=0, strategy=strategy)
    return GPT.new(train, n_layer=4, n_head=4, n_embd=128, seq_len=64, dropout=0.0 if kind == 'gpt12' else 0.1, seed=0, strategy=strategy)

def fastest_fit(model, data, steps, repeats, warmup):
    "Milliseconds per step: the fastest of `repeats` timed fits of `steps` steps, after a warm-up fit (tracing, XLA compilation)."
    model.fit(data, steps_per_epoch=warmup, epochs=1, verbose=0)
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3

def textgenrnn_step(steps, repeats, jit):
    "Milliseconds per fine-tuning step of the pretrained textgenrnn ('original' mode), plain or with XLA."
    import numpy as np, keras, tensorflow as tf
    from textgen_course.textgenrnn import TextGenRNN
    tg = TextGenRNN()
    model = tg._train_model('original', 0.0, 4e-3)
    model.compile(keras.optimizers.Adam(4e-3), 'sparse_categorical_crossentropy', jit_compile=jit)
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, len(tg.vocab), (128 * 16, 40)), rng.integers(1, len(tg.vocab), 128 * 16)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(128).repeat()
    return fastest_fit(model, data, steps, repeats, warmup=8), 128 * 40

def time_variant(kind, train, steps, repeats, jit, strategy=None, fused=False, sgd=False, per_call=1):
    "Milliseconds per training step (the fastest of `repeats` timed fits after a warm-up one)."
    import keras
    from textgen_course.windowlm import encode_corpus, lm_windows
    undo = fused_attention() if fused else None
    try:
        m = new_model(kind, train, strategy)
        with m.strategy.scope():
            opt = keras.optimizers.SGD(1e-3) if sgd else m._optimizer(1e-3, 5.0)
            m.model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit, steps_per_execution=per_call,
                            metrics=[keras.metrics.SparseCategoricalAccuracy(name='accuracy')])
        batch, seq_len = (12, 64) if kind == 'gpt12' else (32, 64) if kind == 'gpt32' else (64, 100)
        data = lm_windows(encode_corpus(m.vocab, train), seq_len, batch, seed=0, epochs=1)[0].repeat()
        return fastest_fit(m.model, data, steps, repeats, warmup=32), batch * seq_len
    finally:
        if undo: undo()

VARIANTS = {  # name: keyword arguments of `time_variant`
    'plain': dict(jit=False), 'xla': dict(jit=True), 'xla, one-device strategy': dict(jit=True, strategy='one'),
    'xla, fused attention': dict(jit=True, fused=True), 'xla, SGD': dict(jit=True, sgd=True), 'xla, 16 steps per call': dict(jit=True, per_call=16)}

def main():
    a = parse()
    import tensorflow as tf
    from textgen_course.corpus import split_text
    from textgen_course.data import course_data
    train = split_text(course_data('tinyshakespeare').read_text(encoding='utf-8'), 0.1)[0]
    print(json.dumps(dict(machine=dict(cpus=os.cpu_count(), load_at_start=os.getloadavg(), tf=tf.__version__))), flush=True)
    for kind in a.only.split(','):
        names = ['plain', 'xla'] if kind in ('gru', 'textgenrnn') else list(VARIANTS)
        base = None
        for name in names:
            kw = dict(VARIANTS[name])
            if kw.get('strategy') == 'one': kw['strategy'] = tf.distribute.OneDeviceStrategy('/cpu:0')
            if kind == 'textgenrnn': ms, chars = textgenrnn_step(a.steps // 4, a.repeats, kw['jit'])
            else: ms, chars = time_variant(kind, train, a.steps // (4 if kind == 'gru' else 1), a.repeats, **kw)
            base = base or ms
            print(json.dumps(dict(model=kind, variant=name, ms_per_step=round(ms, 1), chars_per_s=round(chars / ms * 1e3), vs_plain=round(base / ms, 2),
                                  load1=round(os.getloadavg()[0], 2))), flush=True)

if __name__ == '__main__': main()
