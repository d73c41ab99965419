"""Validation loss (nats/char) against training wall-clock seconds on tiny-shakespeare, for `textgen_course.charrnn`.

Split: first 90% train, last 10% validation (nanoGPT's `shakespeare_char` split). Every ~`--every` seconds of training the
validation loss is measured on ALL non-overlapping 64-character windows of the validation text, each from a zero state
(`val64`: the same context budget as nanoGPT's CPU recipe, block_size 64, so the figures are comparable; the eval time is
not counted as training time). At the end the whole validation text is also scored statefully (`CharRNN.evaluate`).

Usage (from the repo root):
  python bench/bench_charrnn_shakespeare.py                      # baseline (short budget) then the recommended config
  python bench/bench_charrnn_shakespeare.py --only rec --budget 900
  python bench/bench_charrnn_shakespeare.py --only custom --cell gru --units 512 --batch 64 --lr 3e-3 --budget 150
Prints one JSON line per measurement and a summary with ratios (time to reach a loss, recommended vs baseline).
"""
import argparse, json, math, os, time
from pathlib import Path
from textgen_course.corpus import course_data

CONFIGS = {
    # the untuned starting point quoted in the issue: LSTM-512, batch 128, seq 100, Adam 2e-3 (TF-tutorial-like embedding 256)
    'baseline': dict(cell='lstm', units=512, layers=1, emb_dim=256, seq_len=100, batch=128, lr=2e-3, decay=False, dropout=0.0),
    # the recommended configuration (see the closing note in nbs/02_charrnn.ipynb)
    'rec': dict(cell='gru', units=512, layers=1, emb_dim=64, seq_len=100, batch=64, lr=5e-3, decay=True, dropout=0.2),
}

def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='baseline,rec', help='comma-separated: baseline, rec, custom')
    ap.add_argument('--budget', type=float, default=900, help='training seconds for rec/custom')
    ap.add_argument('--baseline-budget', type=float, default=300, help='training seconds for the baseline')
    ap.add_argument('--every', type=float, default=30, help='training seconds between validation measurements')
    ap.add_argument('--threads', type=int, default=0, help='intra-op threads (0 = TF default)')
    ap.add_argument('--inter', type=int, default=0, help='inter-op threads (0 = TF default)')
    ap.add_argument('--jit', action='store_true', help='XLA-compile the training step')
    ap.add_argument('--out', default='', help='write all results as JSON here')
    ap.add_argument('--no-stateful', action='store_true', help='skip the final stateful scoring of the whole validation text')
    for k, v in CONFIGS['rec'].items():
        ap.add_argument('--' + k, type=(lambda s: s.lower() in ('1', 'true', 'yes')) if isinstance(v, bool) else type(v), default=None)
    return ap.parse_args()

def run(name, cfg, budget, every, jit, text, stateful=True):
    import tensorflow as tf, keras
    from textgen_course.corpus import split_text
    from textgen_course.charrnn import CharRNN, encode_corpus
    train, valid = split_text(text, 0.1)
    m = CharRNN.new(train, cell=cfg['cell'], units=cfg['units'], layers=cfg['layers'], emb_dim=cfg['emb_dim'],
                    seq_len=cfg['seq_len'], dropout=cfg['dropout'], seed=0)
    vids = encode_corpus(m.vocab, valid)[1:]  # the validation text without <bos>
    n = len(vids) // 65
    w = vids[:n * 65].reshape(n, 65)
    @tf.function(reduce_retracing=True)
    def val_nll(x, y):
        lg = m.model(x, training=False)
        return tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, lg, from_logits=True))
    def val64():
        tot = sum(float(val_nll(tf.constant(w[i:i + 512, :-1]), tf.constant(w[i:i + 512, 1:]))) for i in range(0, n, 512))
        return tot / (n * 64)
    tok_per_step = cfg['batch'] * cfg['seq_len']
    log = []
    class Timed(keras.callbacks.Callback):
        def on_train_begin(self, logs=None): self.t, self.train_s, self.next, self.steps, self.t0 = time.time(), 0.0, every, 0, time.time()
        def on_train_batch_end(self, batch, logs=None):
            now = time.time()
            self.train_s += now - self.t
            self.steps += 1
            if self.train_s >= self.next or self.train_s >= budget:
                self.next += every
                v = val64()
                rec = dict(config=name, train_s=round(self.train_s, 1), wall_s=round(time.time() - self.t0, 1), steps=self.steps,
                           tokens=self.steps * tok_per_step, tok_per_s=round(self.steps * tok_per_step / self.train_s),
                           val64=round(v, 4), train_loss=round(float(logs.get('loss', float('nan'))), 4),
                           load1=round(os.getloadavg()[0], 2))
                log.append(rec)
                print(json.dumps(rec), flush=True)
                if self.train_s >= budget: self.model.stop_training = True
            if cfg['decay']:  # cosine decay to 10% over the training-time budget (robust to a busy machine)
                frac = min(self.train_s / budget, 1.0)
                self.model.optimizer.learning_rate.assign(cfg['lr'] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))))
            self.t = time.time()
    m.fit(train, None, epochs=10_000, batch_size=cfg['batch'], lr=cfg['lr'], sample_every=0, callbacks=[Timed()], verbose=0,
          jit_compile=jit, seed=0)
    t = time.time()
    full = m.evaluate(valid) if stateful else {'loss': math.nan, 'bpc': math.nan, 'accuracy': math.nan}
    eval_s = time.time() - t
    out = dict(config=name, cfg=cfg, budget=budget, final_val64=log[-1]['val64'], best_val64=min(r['val64'] for r in log),
               stateful=dict(loss=round(full['loss'], 4), bpc=round(full['bpc'], 4), accuracy=round(full['accuracy'], 4)),
               stateful_eval_s=round(eval_s, 1), params=m.model.count_params(), log=log)
    print(json.dumps({k: v for k, v in out.items() if k != 'log'}), flush=True)
    return out

def time_to(log, target):
    "Training seconds at the first measurement at or below `target` (None if never)."
    return next((r['train_s'] for r in log if r['val64'] <= target), None)

def main():
    a = parse()
    import tensorflow as tf
    if a.threads: tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    if a.inter: tf.config.threading.set_inter_op_parallelism_threads(a.inter)
    text = course_data('tinyshakespeare').read_text(encoding='utf-8')  # TEXTGEN_COURSE_DATA, the cache, or a download
    print(json.dumps(dict(machine=dict(cpus=os.cpu_count(), load_at_start=os.getloadavg(), tf=tf.__version__,
                                       intra=tf.config.threading.get_intra_op_parallelism_threads(),
                                       inter=tf.config.threading.get_inter_op_parallelism_threads(), jit=a.jit))), flush=True)
    res = {}
    for name in a.only.split(','):
        cfg = dict(CONFIGS['rec' if name == 'custom' else name])
        for k in cfg:
            if getattr(a, k) is not None: cfg[k] = getattr(a, k)
        res[name] = run(name, cfg, a.baseline_budget if name == 'baseline' else a.budget, a.every, a.jit, text, not a.no_stateful)
    if 'baseline' in res and len(res) > 1:
        b = res['baseline']['log']
        for name, r in res.items():
            if name == 'baseline': continue
            summary = dict(compare=f'{name} vs baseline')
            for target in (2.0, 1.9, 1.78, 1.7):
                tb, tr = time_to(b, target), time_to(r['log'], target)
                summary[f'time_to_{target}'] = dict(baseline=tb, **{name: tr}, ratio=round(tb / tr, 2) if tb and tr else None)
            summary['val64_at_equal_time'] = dict(train_s=b[-1]['train_s'], baseline=b[-1]['val64'],
                                                  **{name: next((x['val64'] for x in reversed(r['log']) if x['train_s'] <= b[-1]['train_s'] + 1), None)})
            summary['throughput_ratio'] = round(r['log'][-1]['tok_per_s'] / b[-1]['tok_per_s'], 2)
            for target in (1.68, 1.52):
                summary[f'time_to_{target}'] = time_to(r['log'], target)
            print(json.dumps(summary), flush=True)
    print(json.dumps(dict(load_at_end=os.getloadavg())), flush=True)
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
