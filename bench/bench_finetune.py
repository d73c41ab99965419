"""Fine-tuning speed: held-out bits per char against training time, textgenrnn's original objective vs `mode='all_positions'`.

Usage: python bench/bench_finetune.py [--train 120] [--valid 40] [--every 10]
Data: the real IMDb rating-1 train reviews (found by `corpus.course_data('imdb')`: set TEXTGEN_COURSE_DATA to the course's
data folder, or let it download), split by document as in every lesson (`corpus.course_reviews`);
the training reviews are subsampled (--train) so that one original epoch fits this machine, identically for both modes.
Both modes start from the pretrained weights with Adam 4e-3. Every `--every` batches the run pauses (the clock too) and
scores the held-out reviews with `evaluate` (the generation context rule). Prints the time each mode needs to reach the
original objective's one-epoch held-out loss. Not a test; figures depend on the machine and its load.
"""
import argparse, os, time, warnings
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import keras
from textgen_course.corpus import course_reviews
from textgen_course.textgenrnn import TextGenRNN

class Probe(keras.callbacks.Callback):
    "Every `every` batches: stop the clocks, score the held-out set, restart the clocks; stop when `budget` seconds are spent."
    def __init__(self, tg, valid, every, budget, target=None):
        super().__init__()
        self.tg, self.valid, self.every, self.budget, self.target = tg, valid, every, budget, target
        self.wall = self.cpu = 0.0
        self.log = []
        self.hit = None
    def on_train_begin(self, logs=None):
        self.log.append((0.0, 0.0, self._bpc()))
        self._t, self._c = time.perf_counter(), time.process_time()
    def _bpc(self):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return self.tg.evaluate(self.valid)['bpc']
    def _pause(self):
        self.wall += time.perf_counter() - self._t
        self.cpu += time.process_time() - self._c
    def probe(self):
        self._pause()
        b = self._bpc()
        self.log.append((self.wall, self.cpu, b))
        print(f'  {self.wall:7.1f} s wall {self.cpu:7.1f} s CPU  held-out {b:.4f} bpc  (load {os.getloadavg()[0]:.1f})', flush=True)
        if self.target is not None and self.hit is None and b <= self.target: self.hit = (self.wall, self.cpu)
        if self.wall >= self.budget: self.model.stop_training = True
        self._t, self._c = time.perf_counter(), time.process_time()
    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every == 0: self.probe()

def run(mode, train, valid, every, budget, target=None, epochs=1, **kw):
    tg = TextGenRNN()
    p = Probe(tg, valid, every, budget, target)
    tg.train_on_texts(train, num_epochs=epochs, mode=mode, gen_epochs=0, verbose=0, callbacks=[p], **kw)
    if p.log[-1][0] < p.wall - 1e-9 or len(p.log) == 1: p.probe()
    return p

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--train', type=int, default=120)
    ap.add_argument('--valid', type=int, default=40)
    ap.add_argument('--every', type=int, default=25)
    ap.add_argument('--chunk-len', type=int, default=10)
    ap.add_argument('--data', default=None, help='the IMDb archive or folder (default: found by course_data)')
    a = ap.parse_args()
    train, valid = course_reviews(1, path=a.data)
    n_reviews = len(train) + len(valid)
    train, valid = train[:a.train], valid[:a.valid]
    print(f'{n_reviews} rating-1 train reviews; using {len(train)} for training ({sum(map(len, train)):,} chars), '
          f'{len(valid)} held out ({sum(map(len, valid)):,} chars). load average {os.getloadavg()}')
    print('original objective, 1 epoch (one 40-char window per target, batch 128):')
    orig = run('original', train, valid, a.every, budget=float('inf'))
    target = orig.log[-1][2]
    print(f'-> one-epoch held-out {target:.4f} bpc after {orig.wall:.1f} s wall / {orig.cpu:.1f} s CPU of training')
    print(f"all_positions (last {a.chunk_len} positions of each window, {128 // 4} windows per batch), budget = the original's epoch time:")
    fast = run('all_positions', train, valid, max(1, a.every // 2), budget=orig.wall, target=target, epochs=3, chunk_len=a.chunk_len)
    print(f'-> after {fast.wall:.1f} s wall: held-out {fast.log[-1][2]:.4f} bpc (best {min(b for *_, b in fast.log):.4f}) '
          f'vs the original objective {target:.4f} bpc after {orig.wall:.1f} s')
    if fast.hit:
        print(f'RESULT: all_positions reached the original one-epoch loss ({target:.4f} bpc) in {fast.hit[0]:.1f} s wall / '
              f'{fast.hit[1]:.1f} s CPU = {fast.hit[0] / orig.wall:.3f} of the original epoch time ({orig.wall / fast.hit[0]:.1f}× faster; '
              f'CPU {orig.cpu / fast.hit[1]:.1f}×)')
    else: print(f'RESULT: all_positions did not reach {target:.4f} bpc within the budget')
    print(f'load average after: {os.getloadavg()}')
