"""Validation loss against training seconds on tiny-shakespeare: lesson 02's GRU and lesson 07's GPT, in one run, at equal budgets.

Split: the first 90% trains, the last 10% validates (nanoGPT's `shakespeare_char` split). Every `--every` seconds of training
the validation loss is measured as `val64` (`gpt.window_loss`: all non-overlapping 64-character validation windows, each
read from a fresh start: the context budget of nanoGPT's CPU recipe, so the figures compare with its 1.52). The time spent
measuring is not counted as training time. The learning rate follows a cosine over the training-time budget, so a busy
machine shortens a run instead of changing its schedule.

Usage (from the repo root; data through TEXTGEN_COURSE_DATA, the course cache or a download):
  python bench/bench_shakespeare.py                         # GRU, then GPT, 900 s each
  python bench/bench_shakespeare.py --only lstm,gru --budget 300   # the untuned LSTM lesson 02 starts from, against the GRU
  python bench/bench_shakespeare.py --only gpt --budget 300 --n_embd 192
Prints one JSON line per measurement, then a summary: val64 at equal times, time to 1.68 and 1.52 nats, throughput.
"""
import argparse, json, math, os, time
from pathlib import Path

CONFIGS = {
    # the untuned starting point lesson 02 begins from: LSTM-512, batch 128, Adam 2e-3 at a constant rate (TF-tutorial-like embedding 256)
    'lstm': dict(kind='lstm', units=512, emb_dim=256, seq_len=100, dropout=0.0, batch=128, lr=2e-3, warmup=0, decay=False),
    # lesson 02's recommended GRU (the course's 2026-11 benchmark): GRU-512, dropout 0.2, batch 64, Adam 5e-3 + cosine
    'gru': dict(kind='gru', units=512, emb_dim=64, seq_len=100, dropout=0.2, batch=64, lr=5e-3, warmup=0),
    # lesson 07's GPT
    'gpt': dict(kind='gpt', n_layer=4, n_head=4, n_embd=128, seq_len=64, dropout=0.1, batch=32, lr=2e-3, warmup=200),
}

def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='gru,gpt', help='comma-separated: lstm, gru, gpt')
    ap.add_argument('--budget', type=float, default=900, help='training seconds per model')
    ap.add_argument('--every', type=float, default=60, help='training seconds between validation measurements')
    ap.add_argument('--out', default='', help='write all results as JSON here')
    for k in ('units', 'emb_dim', 'n_layer', 'n_head', 'n_embd', 'seq_len', 'batch', 'warmup'): ap.add_argument('--' + k, type=int)
    for k in ('dropout', 'lr'): ap.add_argument('--' + k, type=float)
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
            cosine = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)) if cfg.get('decay', True) else 1.0
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
               best_val64=min(r['val64'] for r in log), log=log)
    print(json.dumps({k: v for k, v in out.items() if k != 'log'}), flush=True)
    return out

def time_to(log, target):
    "Training seconds at the first measurement at or below `target` (None if never)."
    return next((r['train_s'] for r in log if r['val64'] <= target), None)

def main():
    a = parse()
    import tensorflow as tf
    from textgen_course.corpus import split_text
    from textgen_course.data import course_data
    train, valid = split_text(course_data('tinyshakespeare').read_text(encoding='utf-8'), 0.1)
    print(json.dumps(dict(machine=dict(cpus=os.cpu_count(), load_at_start=os.getloadavg(), tf=tf.__version__))), flush=True)
    res = {}
    for name in a.only.split(','):
        cfg = {**CONFIGS[name], **{k: v for k, v in vars(a).items() if k in CONFIGS[name] and v is not None}}
        res[name] = run(name, cfg, a.budget, a.every, train, valid)
    summary = {name: {f'time_to_{t}': time_to(r['log'], t) for t in (2.0, 1.8, 1.68, 1.6, 1.52)} | dict(
        final_val64=r['final_val64'], best_val64=r['best_val64'], tok_per_s=r['log'][-1]['tok_per_s'], params=r['params']) for name, r in res.items()}
    if len(res) == 2:
        (n1, r1), (n2, r2) = res.items()
        summary['val64_at_equal_times'] = [dict(train_s=x['train_s'], **{n1: x['val64']}, **{n2: next((y['val64'] for y in r2['log'] if y['train_s'] >= x['train_s'] - 1), None)}) for x in r1['log']]
    print(json.dumps(dict(summary=summary, load_at_end=os.getloadavg())), flush=True)
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
