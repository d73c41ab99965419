"""Validation loss against training seconds on tiny-shakespeare: nanoGPT, lesson 02's GRU and lesson 07's GPT, in one run, at equal budgets.

Split: the first 90% trains, the last 10% validates (nanoGPT's `shakespeare_char` split). Every `--every` seconds of training
the validation loss is measured as `val64` (`gpt.window_loss`: all non-overlapping 64-character validation windows, each
read from a fresh start: the context budget of nanoGPT's CPU recipe). The time spent
measuring is not counted as training time. The learning rate follows a cosine over the training-time budget, so a busy
machine shortens a run instead of changing its schedule.

nanoGPT, same run (`--nanogpt PATH`, PATH a checkout of karpathy/nanoGPT, never copied into this repo): its `train.py` runs
with the README's CPU recipe (`config/train_shakespeare_char.py` with `--device=cpu --compile=False --block_size=64
--batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --dropout=0.0`), on the same split of the same text, in its own Python
with torch (`--torch_python`, e.g. a venv made with `pip install torch==2.13.0 numpy`). A short first run times its
iterations; the real run then gets `max_iters = lr_decay_iters` = the budget's worth of them, so its learning rate decays
over the same training time. Its own `estimate_loss` (200 random batches) is logged at the same times, and its final
checkpoint is scored with `val64` too (the same windows, in torch), so the two measures are compared, not assumed equal.

Usage (from the repo root; data through TEXTGEN_COURSE_DATA, the course cache or a download):
  python bench/bench_shakespeare.py                         # GRU, then GPT, 900 s each
  python bench/bench_shakespeare.py --only lstm,gru --budget 300   # the untuned LSTM lesson 02 starts from, against the GRU
  python bench/bench_shakespeare.py --only gpt --budget 300 --n_embd 192
  python bench/bench_shakespeare.py --only nanogpt,gru,gpt --nanogpt ~/nanoGPT --torch_python ~/torchenv/bin/python --budget 300
  python bench/bench_shakespeare.py --only nanogpt,gru,gpt15 --nanogpt ~/nanoGPT --torch_python ~/torchenv/bin/python --budget 900
Prints one JSON line per measurement, then a summary: val64 at equal times, time to 1.68 and 1.52 nats, throughput, and
each final model's val64 split by position in the window (the first characters are guessed with little context).
"""
import argparse, json, math, os, pickle, re, subprocess, tempfile, time
from pathlib import Path
import numpy as np

CONFIGS = {
    # the untuned starting point lesson 02 begins from: LSTM-512, batch 128, Adam 2e-3 at a constant rate (TF-tutorial-like embedding 256)
    'lstm': dict(kind='lstm', units=512, emb_dim=256, seq_len=100, dropout=0.0, batch=128, lr=2e-3, warmup=0, decay=False),
    # lesson 02's recommended GRU (the course's 2026-11 benchmark): GRU-512, dropout 0.2, batch 64, Adam 5e-3 + cosine
    'gru': dict(kind='gru', units=512, emb_dim=64, seq_len=100, dropout=0.2, batch=64, lr=5e-3, warmup=0),
    # lesson 07's GPT: nanoGPT's CPU shape; no dropout and batches of 16 won the 5-minute runs of 2026-12-05 (bench/README.md)
    'gpt': dict(kind='gpt', n_layer=4, n_head=4, n_embd=128, seq_len=64, dropout=0.0, batch=16, lr=2e-3, warmup=200, floor=0.1),
    # the same GPT with dropout 0.1: the 15-minute runs of 2026-12-06 (bench/README.md) found it best for a 15-minute budget
    'gpt15': dict(kind='gpt', n_layer=4, n_head=4, n_embd=128, seq_len=64, dropout=0.1, batch=16, lr=2e-3, warmup=200, floor=0.1),
}

def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='gru,gpt', help='comma-separated: nanogpt, lstm, gru, gpt, gpt15')
    ap.add_argument('--nanogpt', default='', help="a checkout of karpathy/nanoGPT (for 'nanogpt')")
    ap.add_argument('--torch_python', default='python3', help='a Python with torch and numpy, to run nanoGPT')
    ap.add_argument('--budget', type=float, default=900, help='training seconds per model')
    ap.add_argument('--every', type=float, default=60, help='training seconds between validation measurements')
    ap.add_argument('--out', default='', help='write all results as JSON here')
    for k in ('units', 'emb_dim', 'n_layer', 'n_head', 'n_embd', 'seq_len', 'batch', 'warmup'): ap.add_argument('--' + k, type=int)
    for k in ('dropout', 'lr'): ap.add_argument('--' + k, type=float)
    ap.add_argument('--floor', type=float, help="the GPT's learning rate at the end of the budget, as a fraction of its peak (default 0.1)")
    return ap.parse_args()

def new_model(cfg, train):
    from textgen_course.charrnn import CharRNN
    from textgen_course.gpt import GPT
    if cfg['kind'] in ('gru', 'lstm'):
        return CharRNN.new(train, cell=cfg['kind'], units=cfg['units'], emb_dim=cfg['emb_dim'], seq_len=cfg['seq_len'], dropout=cfg['dropout'], seed=0)
    return GPT.new(train, n_layer=cfg['n_layer'], n_head=cfg['n_head'], n_embd=cfg['n_embd'], seq_len=cfg['seq_len'], dropout=cfg['dropout'], seed=0)

def run(name, cfg, budget, every, train, valid):
    import keras
    from textgen_course.gpt import window_loss
    m = new_model(cfg, train)
    log, tokens_per_step = [], cfg['batch'] * cfg['seq_len']
    class Timed(keras.callbacks.Callback):
        "Count training seconds (not the measurements), measure val64 every `every` of them, schedule the learning rate by time."
        def on_train_begin(self, logs=None): self.t, self.train_s, self.next, self.steps = time.time(), 0.0, every, 0
        def on_train_batch_end(self, batch, logs=None):
            self.train_s += time.time() - self.t
            self.steps += 1
            frac = min(self.train_s / budget, 1.0)
            warm = min(1.0, (self.steps + 1) / cfg['warmup']) if cfg['warmup'] else 1.0
            floor = cfg.get('floor', 0.1)
            cosine = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)) if cfg.get('decay', True) else 1.0
            self.model.optimizer.learning_rate.assign(cfg['lr'] * warm * cosine)
            if self.train_s >= self.next or self.train_s >= budget:
                self.next += every
                rec = dict(model=name, train_s=round(self.train_s, 1), steps=self.steps, tok_per_s=round(self.steps * tokens_per_step / self.train_s),
                           val64=round(window_loss(m, valid), 4), train_loss=round(float(logs.get('loss', math.nan)), 4), load1=round(os.getloadavg()[0], 2))
                log.append(rec)
                print(json.dumps(rec), flush=True)
                if self.train_s >= budget: self.model.stop_training = True
            self.t = time.time()
    m.fit(train, None, epochs=10_000, batch_size=cfg['batch'], lr=cfg['lr'], sample_every=0, callbacks=[Timed()], verbose=0, seed=0)
    out = dict(model=name, cfg=cfg, budget=budget, params=m.model.count_params(), final_val64=log[-1]['val64'],
               best_val64=min(r['val64'] for r in log), final_by_position=by_position_summary(window_loss(m, valid, per_position=True)), log=log)
    print(json.dumps({k: v for k, v in out.items() if k != 'log'}), flush=True)
    return out

# nanoGPT README's CPU recipe, on top of its config/train_shakespeare_char.py (iterations and evaluations set per run)
NANOGPT_RECIPE = ['--device=cpu', '--compile=False', '--block_size=64', '--batch_size=12', '--n_layer=4', '--n_head=4', '--n_embd=128',
                  '--dropout=0.0', '--log_interval=1', '--always_save_checkpoint=True', '--out_dir=out']

# run by the torch Python: val64 of a nanoGPT checkpoint (argv: checkout, checkpoint, val.bin), the rule of `gpt.window_loss`
NANOGPT_VAL64 = """
import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from model import GPT, GPTConfig
ckpt = torch.load(sys.argv[2], map_location='cpu')
model = GPT(GPTConfig(**ckpt['model_args']))
model.load_state_dict({k.removeprefix('_orig_mod.'): v for k, v in ckpt['model'].items()})
model.eval()
ids = np.fromfile(sys.argv[3], dtype=np.uint16).astype(np.int64)
n = len(ids) // 65
windows = torch.from_numpy(ids[:n * 65].reshape(n, 65))
losses = []
with torch.no_grad():
    for i in range(0, n, 256):
        w = windows[i:i + 256]
        logits = model(w[:, :-1].contiguous(), w[:, 1:].contiguous())[0]
        losses.append(torch.nn.functional.cross_entropy(logits.transpose(1, 2), w[:, 1:], reduction='none').double())
print(json.dumps(torch.cat(losses).mean(0).tolist()))
"""

def nanogpt_data(work, train, valid):
    "nanoGPT's `shakespeare_char` files (train.bin, val.bin, meta.pkl) for the course's split of the text."
    data = work / 'data' / 'shakespeare_char'
    data.mkdir(parents=True)
    chars = sorted(set(train + valid))
    stoi = {c: i for i, c in enumerate(chars)}
    for name, text in (('train', train), ('val', valid)): np.array([stoi[c] for c in text], np.uint16).tofile(data / f'{name}.bin')
    (data / 'meta.pkl').write_bytes(pickle.dumps(dict(vocab_size=len(chars), itos=dict(enumerate(chars)), stoi=stoi)))  # nanoGPT's format
    return data

def nanogpt_train(path, python, work, iters, eval_interval, eval_iters):
    "Run nanoGPT's train.py in `work`; each iteration's milliseconds, and its validation estimates by iteration."
    cmd = [python, str(path / 'train.py'), str(path / 'config' / 'train_shakespeare_char.py'), *NANOGPT_RECIPE, f'--max_iters={iters}',
           f'--lr_decay_iters={iters}', f'--eval_interval={eval_interval}', f'--eval_iters={eval_iters}']
    out = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if out.returncode: raise SystemExit(f"nanoGPT's train.py failed:\n{out.stderr[-3000:]}")
    ms = {int(i): float(t) for i, t in re.findall(r'iter (\d+): loss [\d.]+, time ([\d.]+)ms', out.stdout)}
    evals = {int(i): float(v) for i, v in re.findall(r'step (\d+): train loss [\d.]+, val loss ([\d.]+)', out.stdout)}
    return ms, evals, float(re.search(r'number of parameters: ([\d.]+)M', out.stdout)[1]) * 1e6

def run_nanogpt(path, python, budget, every, train, valid):
    "nanoGPT for `budget` training seconds: its own estimates every `every` of them, the final checkpoint's val64."
    path = Path(path).expanduser().resolve()
    if not (path / 'train.py').is_file(): raise SystemExit(f'--nanogpt {path}: no train.py there (pass a checkout of karpathy/nanoGPT)')
    work = Path(tempfile.mkdtemp(prefix='nanogpt-'))
    data = nanogpt_data(work, train, valid)
    (work / 'configurator.py').symlink_to(path / 'configurator.py')  # train.py reads it from the working folder
    ms, _, _ = nanogpt_train(path, python, work, 60, 10**9, 1)  # a short run to time the iterations
    per_iter = float(np.median([ms[i] for i in range(10, 61)])) / 1000
    eval_interval = max(1, round(every / per_iter))
    iters = eval_interval * max(1, round(budget / every))
    ms, evals, params = nanogpt_train(path, python, work, iters, eval_interval, 200)
    typical = float(np.median(list(ms.values())))
    dt = np.array([typical if i in evals else ms[i] for i in range(iters)]) / 1000  # an evaluation's time is not training time
    seconds = np.r_[0.0, np.cumsum(dt)]  # training seconds before iteration i
    log = [dict(model='nanogpt', train_s=round(float(seconds[i]), 1), steps=i, tok_per_s=round(i * 12 * 64 / seconds[i]), estimate=v,
                load1=None) for i, v in sorted(evals.items()) if i]
    for rec in log: print(json.dumps(rec), flush=True)
    by_position = np.array(json.loads(subprocess.run([python, '-c', NANOGPT_VAL64, str(path), str(work / 'out' / 'ckpt.pt'), str(data / 'val.bin')],
                                 capture_output=True, text=True, check=True).stdout.splitlines()[-1]))  # model.py prints its size first
    log[-1]['val64'] = round(float(by_position.mean()), 4)
    out = dict(model='nanogpt', cfg=dict(recipe=' '.join(NANOGPT_RECIPE), iters=iters, eval_interval=eval_interval, ms_per_iter_timed=round(per_iter * 1e3, 2)),
               budget=budget, params=params, final_val64=log[-1]['val64'], final_estimate=log[-1]['estimate'], best_val64=log[-1]['val64'],
               final_by_position=by_position_summary(by_position), log=log)
    print(json.dumps({k: v for k, v in out.items() if k != 'log'}), flush=True)
    return out

def by_position_summary(losses):
    "val64 split by where in its window a character is guessed: the first ones have little context, the last ones up to 63 characters."
    spans = {'0': (0, 1), '1-7': (1, 8), '8-31': (8, 32), '32-63': (32, 64), 'all': (0, 64)}
    return {k: round(float(np.mean(losses[a:b])), 4) for k, (a, b) in spans.items()}

def curve(rec):
    "A measurement's validation loss: val64, or nanoGPT's own estimate where val64 was not measured."
    return rec.get('val64', rec.get('estimate'))

def time_to(log, target):
    "Training seconds at the first measurement at or below `target` (None if never)."
    return next((r['train_s'] for r in log if curve(r) <= target), None)

def main():
    a = parse()
    import tensorflow as tf
    from textgen_course.corpus import split_text
    from textgen_course.data import course_data
    train, valid = split_text(course_data('tinyshakespeare').read_text(encoding='utf-8'), 0.1)
    print(json.dumps(dict(machine=dict(cpus=os.cpu_count(), load_at_start=os.getloadavg(), tf=tf.__version__))), flush=True)
    res = {}
    for name in a.only.split(','):
        if name == 'nanogpt':
            res[name] = run_nanogpt(a.nanogpt, a.torch_python, a.budget, a.every, train, valid)
            continue
        cfg = {**CONFIGS[name], **{k: v for k, v in vars(a).items() if k in CONFIGS[name] and v is not None}}
        res[name] = run(name, cfg, a.budget, a.every, train, valid)
    summary = {name: {f'time_to_{t}': time_to(r['log'], t) for t in (2.0, 1.8, 1.68, 1.6, 1.52)} | dict(
        final_val64=r['final_val64'], best_val64=r['best_val64'], final_by_position=r['final_by_position'], tok_per_s=r['log'][-1]['tok_per_s'],
        params=r['params']) for name, r in res.items()}
    first = next(iter(res.values()))['log']
    nearest = lambda log, t: min(log, key=lambda y: abs(y['train_s'] - t))  # nanoGPT measures at its own iterations
    summary['at_equal_times'] = [dict(train_s=x['train_s'], **{n: (curve(y), y['train_s']) for n, r in res.items() for y in [nearest(r['log'], x['train_s'])]})
                                 for x in first]
    print(json.dumps(dict(summary=summary, load_at_end=os.getloadavg())), flush=True)
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
