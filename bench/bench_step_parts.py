"""Where the GPT's training step loses to nanoGPT's: the same step timed part by part in both frameworks, in one run.

At nanoGPT's CPU shape (4 blocks x 4 heads x 128 features, context 64, batch 12, no dropout), each part is timed as the
fastest of `--repeats` runs of `--steps` calls, after a warm-up:
- `forward`: the loss of one batch (training mode);
- `forward + backward`: the loss and the gradients of every weight;
- `whole step`: the same, plus the optimizer update (AdamW as each side configures it: weight decay 0.1, beta_2 0.99);
- `16 matmuls`: sixteen (768 x 128) @ (128 x 384) float32 products (each with its own right-hand matrix) summed, the shape of
  the attention's query/key/value projection for a batch: the matrix-multiply speed, with one call's overhead spread over 16.
The course's side runs lesson 07's Keras model (`GPT.new`) in a `tf.function`, with and without XLA (`jit_compile`);
nanoGPT's side runs its own `model.GPT` from a checkout (`--nanogpt PATH`, never copied here) in PyTorch, in its own Python
(`--torch_python`, e.g. a venv made with `pip install torch==2.13.0 numpy`). Ratios are against nanoGPT's part.

Usage: python bench/bench_step_parts.py --nanogpt ~/nanoGPT --torch_python ~/torchenv/bin/python [--steps 40] [--repeats 5]
"""
import argparse, json, os, subprocess, sys, tempfile, time

SHAPE = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch=12, vocab_size=65)

def fastest(fn, steps:int, repeats:int) -> float:
    "Milliseconds per call: the fastest of `repeats` runs of `steps` calls, after two warm-up calls."
    fn()
    fn()
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps): fn()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3

TORCH_SIDE = r'''
import json, sys, torch
sys.path[:0] = [sys.argv[1], sys.argv[5]]   # nanoGPT's checkout (its model.py), this folder (`fastest`)
from model import GPT, GPTConfig
from bench_step_parts import fastest
s, steps, repeats = json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
m = GPT(GPTConfig(n_layer=s['n_layer'], n_head=s['n_head'], n_embd=s['n_embd'], block_size=s['block_size'], vocab_size=s['vocab_size'],
                  dropout=0.0, bias=False))
m.train()
opt = m.configure_optimizers(0.1, 1e-3, (0.9, 0.99), 'cpu')
x = torch.randint(0, s['vocab_size'], (s['batch'], s['block_size']))
y = torch.randint(0, s['vocab_size'], (s['batch'], s['block_size']))
def forward(): m(x, y)
def backward():
    m(x, y)[1].backward()
    m.zero_grad(set_to_none=True)
def step():
    m(x, y)[1].backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
a, bs = torch.randn(768, 128), [torch.randn(128, 384) for _ in range(16)]
def matmul(): sum(a @ b for b in bs)
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(),
                  **{name: fastest(fn, steps, repeats) for name, fn in
                     {'forward': forward, 'forward + backward': backward, 'whole step': step, '16 matmuls': matmul}.items()}}))
'''

def torch_parts(path:str, python:str, steps:int, repeats:int) -> dict:
    "nanoGPT's parts, timed in its own Python."
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f: f.write(TORCH_SIDE)
    try:
        r = subprocess.run([python, f.name, path, json.dumps(SHAPE), str(steps), str(repeats), os.path.dirname(os.path.abspath(__file__))],
                           capture_output=True, text=True, check=True)
    finally: os.unlink(f.name)
    return json.loads(r.stdout.strip().split('\n')[-1])

def keras_parts(jit:bool, steps:int, repeats:int) -> dict:
    "Lesson 07's GPT's parts, each in a `tf.function` (with XLA if `jit`)."
    import numpy as np, tensorflow as tf, keras
    from textgen_course.gpt import GPT
    from textgen_course.samples import sample_text
    m = GPT.new(sample_text(1), n_layer=SHAPE['n_layer'], n_head=SHAPE['n_head'], n_embd=SHAPE['n_embd'], seq_len=SHAPE['block_size'],
                dropout=0.0, seed=0)
    net, loss_fn = m.model, keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = m._optimizer(1e-3, 1.0)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.integers(0, len(m.vocab), (SHAPE['batch'], SHAPE['block_size'])), tf.int32)
    y = tf.constant(rng.integers(0, len(m.vocab), (SHAPE['batch'], SHAPE['block_size'])), tf.int32)
    def grads():
        with tf.GradientTape() as tape: loss = loss_fn(y, net(x, training=True))
        return tape.gradient(loss, net.trainable_variables)
    def forward(): return loss_fn(y, net(x, training=True))
    def update(): opt.apply_gradients(zip(grads(), net.trainable_variables))
    a, bs = tf.random.normal((768, 128)), [tf.random.normal((128, 384), seed=i) for i in range(16)]
    def matmul(): return tf.add_n([a @ b for b in bs])
    parts = {'forward': forward, 'forward + backward': grads, 'whole step': update, '16 matmuls': matmul}
    return {name: fastest(tf.function(fn, jit_compile=jit), steps, repeats) for name, fn in parts.items()}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--nanogpt', required=True, help='a checkout of karpathy/nanoGPT')
    ap.add_argument('--torch_python', default='python3', help='a Python with torch and numpy')
    ap.add_argument('--steps', type=int, default=40)
    ap.add_argument('--repeats', type=int, default=5)
    a = ap.parse_args()
    import tensorflow as tf
    print(json.dumps(dict(machine=dict(cpus=os.cpu_count(), load_at_start=os.getloadavg(), tf=tf.__version__))), flush=True)
    torch_side = torch_parts(a.nanogpt, a.torch_python, a.steps, a.repeats)
    print(json.dumps(dict(torch=torch_side.pop('torch'), torch_threads=torch_side.pop('threads'))), flush=True)
    rows = {'nanoGPT (PyTorch)': torch_side,
            'GPT, Keras plain': keras_parts(False, a.steps, a.repeats), 'GPT, Keras + XLA': keras_parts(True, a.steps, a.repeats)}
    base = rows['nanoGPT (PyTorch)']
    for name, parts in rows.items():
        print(json.dumps(dict(side=name, **{k: round(v, 2) for k, v in parts.items()},
                              vs_nanogpt={k: round(base[k] / parts[k], 2) for k in ('forward', 'forward + backward', 'whole step', '16 matmuls')},
                              load1=round(os.getloadavg()[0], 2))), flush=True)
    chars = SHAPE['batch'] * SHAPE['block_size']
    print('characters per second of the whole step:', {n: round(chars / p['whole step'] * 1e3) for n, p in rows.items()})

if __name__ == '__main__': main()
