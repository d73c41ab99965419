"Tests for textgen_course.training: the window dataset, training runs kept in two checkpoint slots, and fit_run."
import math
from pathlib import Path
import numpy as np
import pytest
import tensorflow as tf
import keras
from textgen_course.modelfiles import ModelFileError, read_meta, save_model_files
from textgen_course.training import *
from conftest import snapshot_files, no_keras_backup

def windows(stream, length, starts, batch_size, **kw):
    "The batches of `window_dataset` as lists of windows (lists of ids)."
    return [b.numpy().tolist() for b in window_dataset(stream, length, starts, batch_size, **kw)]

def firsts(batches):
    "The first id of every window, batch by batch."
    return [[w[0] for w in b] for b in batches]

STREAM = np.arange(200)
STARTS = np.arange(30) * 6  # 30 windows, 8 batches of 4 (the last one of 2)

# ---------------------------------------------------------------- windows

def test_batches_per_epoch():
    "Batches in an epoch, with and without the last smaller batch."
    assert batches_per_epoch(10, 4) == 3 and batches_per_epoch(10, 4, drop_remainder=True) == 2
    assert batches_per_epoch(8, 4) == batches_per_epoch(8, 4, True) == 2

def test_order_depends_only_on_seed_and_epoch():
    "Each epoch's order depends only on (seed, epoch): a run resumed at epoch e, batch b yields exactly the batches left."
    kw = dict(seed=3, max_offset=5)
    full = windows(STREAM, 5, STARTS, 4, epochs=3, **kw)
    steps = batches_per_epoch(len(STARTS), 4)
    assert len(full) == 3 * steps == 24
    for e in range(3):
        for b in (0, 1, 5, steps - 1):
            assert windows(STREAM, 5, STARTS, 4, epochs=3, initial_epoch=e, skip=b, **kw) == full[e * steps + b:], (e, b)
        assert windows(STREAM, 5, STARTS, 4, epochs=e + 1, initial_epoch=e, **kw) == full[e * steps:(e + 1) * steps]
    assert windows(STREAM, 5, STARTS, 4, epochs=6, **kw)[:3 * steps] == full  # the number of epochs asked changes nothing before
    assert windows(STREAM, 5, STARTS, 4, epochs=3, **kw) == full  # the same seed, the same run
    assert windows(STREAM, 5, STARTS, 4, epochs=3, seed=4, max_offset=5) != full
    assert full[:steps] != full[steps:2 * steps]  # every epoch its own order

def test_each_epoch_uses_every_window_once():
    "A shuffled epoch is a permutation of the starts (all shifted by the epoch's offset), with every batch full but the last."
    batches = windows(STREAM, 5, STARTS, 4, epochs=4, seed=1, max_offset=3)
    for e in range(4):
        epoch = batches[e * 8:(e + 1) * 8]
        assert [len(b) for b in epoch] == [4] * 7 + [2]
        heads = sorted(h for b in firsts(epoch) for h in b)
        assert np.array_equal(np.array(heads) - heads[0], STARTS)  # the starts, each once, shifted by one offset
    dropped = windows(STREAM, 5, STARTS, 4, epochs=2, seed=1, max_offset=3, drop_remainder=True)
    assert [len(b) for b in dropped] == [4] * 14

def test_max_offset_shifts_all_windows_of_an_epoch_by_one_offset():
    "Every window of an epoch moves by the same offset in 0..max_offset; over many epochs every offset occurs."
    offsets = []
    for e in range(40):
        heads = sorted(h for b in firsts(windows(STREAM, 5, STARTS, 4, epochs=e + 1, initial_epoch=e, seed=7, max_offset=3)) for h in b)
        shift = set((np.array(heads) - STARTS).tolist())
        assert len(shift) == 1, (e, shift)
        offsets.append(shift.pop())
    assert set(offsets) == {0, 1, 2, 3}
    no_shift = windows(STREAM, 5, STARTS, 4, epochs=3, seed=7)
    assert sorted(h for b in firsts(no_shift) for h in b) == sorted(STARTS.tolist() * 3)

def test_windows_never_run_past_the_stream():
    "With the largest offset the stream allows, every window is a whole slice of the stream; one more is refused."
    n, length, starts = 100, 7, np.arange(0, 80, 10)
    max_offset = n - length - starts.max()  # the last window may end exactly at the stream's end
    ends = []
    for seed in range(6):
        for b in windows(np.arange(n), length, starts, 3, seed=seed, epochs=4, max_offset=max_offset):
            for w in b:
                assert w == list(range(w[0], w[0] + length)) and w[-1] < n
                ends.append(w[-1])
    assert max(ends) == n - 1  # the largest offset did occur: the bound is tight, not just safe
    with pytest.raises(ValueError, match=rf"offsets up to {max_offset + 1}\) run past the stream's 100 ids"):
        window_dataset(np.arange(n), length, starts, 3, max_offset=max_offset + 1)
    with pytest.raises(ValueError, match="run past the stream's 100 ids"): window_dataset(np.arange(n), length, [-1, 5])
    with pytest.raises(ValueError, match="run past the stream's 100 ids"): window_dataset(np.arange(n), length, [94])
    with pytest.raises(ValueError, match='no windows'): window_dataset(np.arange(n), length, [])
    with pytest.raises(ValueError, match='length must be an integer from 2 up, got 1'): window_dataset(np.arange(n), 1, [0])

def test_weights_windows_line_up_with_id_windows():
    "With `weights`, each batch is (id windows, weight windows) cut at the same places."
    w = STREAM.astype(np.float32) * 0.5 + 1000
    for ids, ws in window_dataset(STREAM, 5, STARTS, 4, epochs=2, seed=2, max_offset=4, weights=w):
        ids, ws = ids.numpy(), ws.numpy()
        assert ids.shape == ws.shape and ws.dtype == np.float32
        np.testing.assert_array_equal(ws, ids * 0.5 + 1000)

def test_in_order_windows_for_validation():
    "shuffle=False: the starts in the order given, no offset, the last smaller batch kept; `steps` caps the batches."
    got = windows(STREAM, 3, [9, 0, 3], 2, shuffle=False)
    assert got == [[[9, 10, 11], [0, 1, 2]], [[3, 4, 5]]]
    assert windows(STREAM, 3, [9, 0, 3], 2, shuffle=False, epochs=2) == got * 2
    assert windows(STREAM, 3, [9, 0, 3, 6, 12], 2, shuffle=False, steps=2) == [[[9, 10, 11], [0, 1, 2]], [[3, 4, 5], [6, 7, 8]]]

def test_data_digest():
    "The data digest changes with any id and with where one array ends and the next begins."
    a, b = np.array([1, 2, 3], np.int32), np.array([4, 5], np.int32)
    assert data_digest(a, b) == data_digest(a.copy(), b.copy()) and len(data_digest(a)) == 16
    assert data_digest(a, b) != data_digest(b, a)
    assert data_digest(a, b) != data_digest(np.array([1, 2], np.int32), np.array([3, 4, 5], np.int32))
    assert data_digest(a) != data_digest(np.array([1, 2, 4], np.int32))

# ---------------------------------------------------------------- runs

IDS = np.array(list(b'to be or not to be, that is the question. ' * 6)) - 32
RUN_STARTS = np.arange(0, len(IDS) - 17, 8)
STEPS = batches_per_epoch(len(RUN_STARTS), 4)
SETTINGS = dict(lr=1e-2, shape=(16, 8), data=data_digest(IDS))

def tiny(seed=0, metrics=()):
    "A small next-token model with dropout (its generator state is part of the run)."
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((None,), dtype='int32'), keras.layers.Embedding(96, 8), keras.layers.Dropout(0.1),
                          keras.layers.GRU(16, return_sequences=True), keras.layers.Dense(96)])
    m.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=list(metrics))
    return m

def accuracy(): return [keras.metrics.SparseCategoricalAccuracy(name='accuracy')]

def batches(initial_epoch, skip, epochs=6):
    ds = window_dataset(IDS, 17, RUN_STARTS, 4, epochs=epochs, initial_epoch=initial_epoch, skip=skip, max_offset=1)
    return ds.map(lambda w: (w[:, :-1], w[:, 1:]))

class Crash(keras.callbacks.Callback):
    "Die at the end of (epoch, batch) as a killed kernel would: that batch is trained but not checkpointed."
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
    def on_epoch_begin(self, epoch, logs=None): self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at: raise KeyboardInterrupt(f'killed at epoch {self.epoch}, batch {batch}')

class Script(keras.callbacks.Callback):
    "Set the monitored value of each epoch from a script (runs before the recorder, so the run sees it)."
    def __init__(self, values, key='val_loss'):
        super().__init__()
        self.values, self.key = values, key
    def on_epoch_end(self, epoch, logs=None): logs[self.key] = self.values[epoch]

def test_fit_run_in_memory():
    "Without a folder nothing is written; the history has one row per epoch."
    m = tiny()
    h = fit_run(m, batches, STEPS, 2, verbose=0)
    assert list(h) == ['loss'] and len(h['loss']) == 2 and all(map(math.isfinite, h['loss']))

def test_interrupted_mid_epoch_and_resumed_equals_straight(tmp_path):
    "A run killed at epoch 1, batch 3 and resumed (fresh model, other initial weights) ends with the straight run's weights."
    straight = tiny()
    h = fit_run(straight, batches, STEPS, 3, verbose=0)
    folder = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt, match='killed at epoch 1, batch 2'):
        fit_run(tiny(), batches, STEPS, 3, TrainingRun(folder, SETTINGS), every=1, callbacks=[Crash(1, 2)], verbose=0)
    run = TrainingRun(folder, SETTINGS, resume=True)
    assert (run.epoch, run.step, len(run.history['loss'])) == (1, 2, 1)  # the checkpoint after batch 2 of epoch 1
    resumed = tiny(seed=1)
    h2 = fit_run(resumed, batches, STEPS, 3, run, every=1, verbose=0)
    assert len(h2['loss']) == 3
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True): np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([h2['loss'][0], h2['loss'][2]], [h['loss'][0], h['loss'][2]], rtol=1e-5)
    assert no_keras_backup(folder)

def test_interrupted_epoch_keeps_its_whole_loss(tmp_path):
    "The history row of an epoch interrupted mid-way is that whole epoch's mean loss and accuracy, as in the straight run."
    h = fit_run(tiny(metrics=accuracy()), batches, STEPS, 2, verbose=0)
    folder = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt, match='killed at epoch 1, batch 3'):
        fit_run(tiny(metrics=accuracy()), batches, STEPS, 2, TrainingRun(folder, SETTINGS), every=1, callbacks=[Crash(1, 3)], verbose=0)
    h2 = fit_run(tiny(metrics=accuracy()), batches, STEPS, 2, TrainingRun(folder, SETTINGS, resume=True), every=1, verbose=0)
    assert set(h2) == set(h) == {'loss', 'accuracy'}
    for k in h: np.testing.assert_allclose(h2[k], h[k], rtol=1e-5, err_msg=k)

def test_run_folder_is_refused_without_resume_and_left_alone(tmp_path):
    "A folder holding a run is refused without resume=True (naming where it stands), and not one byte changes."
    folder = tmp_path/'run'
    fit_run(tiny(), batches, STEPS, 2, TrainingRun(folder, SETTINGS), verbose=0)
    before = snapshot_files(folder)
    with pytest.raises(ValueError, match=r'already holds a training run \(epoch 2 done\): pass resume=True'):
        TrainingRun(folder, SETTINGS)
    with pytest.raises(ValueError, match='already holds a training run'):
        fit_run(tiny(), batches, STEPS, 4, TrainingRun(folder, SETTINGS), verbose=0)
    assert snapshot_files(folder) == before

def test_settings_compare_in_json_form(tmp_path):
    "Settings are compared as JSON: a tuple and a list are the same; another value or a new key is refused, naming it."
    folder = tmp_path/'run'
    fit_run(tiny(), batches, STEPS, 1, TrainingRun(folder, SETTINGS), verbose=0)
    before = snapshot_files(folder)
    assert TrainingRun(folder, {**SETTINGS, 'shape': [16, 8]}, resume=True).epoch == 1
    with pytest.raises(ValueError, match=r"other data or settings, \(then, now\): \{'shape': \(\[16, 8\], \[16, 9\]\)\}"):
        TrainingRun(folder, {**SETTINGS, 'shape': (16, 9)}, resume=True)
    with pytest.raises(ValueError, match=r"\{'extra': \(None, 1\)\}"): TrainingRun(folder, {**SETTINGS, 'extra': 1}, resume=True)
    with pytest.raises(ValueError, match=r"'data': \('.{16}', '.{16}'\)"):
        TrainingRun(folder, {**SETTINGS, 'data': data_digest(IDS[::-1])}, resume=True)
    assert snapshot_files(folder) == before

def test_slots_alternate_and_the_newest_is_never_overwritten(tmp_path):
    "Checkpoints alternate between two slots; the newest one is found by its count; a finished run trains nothing more."
    folder = tmp_path/'run'
    m = tiny()
    h = fit_run(m, batches, STEPS, 3, TrainingRun(folder, SETTINGS), verbose=0)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ['checkpoint-a.model.json', 'checkpoint-a.weights.h5', 'checkpoint-b.model.json', 'checkpoint-b.weights.h5']
    states = {s: read_meta(folder/s, 'checkpoint')['train_state'] for s in SLOTS}
    assert sorted((st['count'], st['epoch']) for st in states.values()) == [(2, 2), (3, 3)]
    path, st = TrainingRun(folder, SETTINGS, resume=True).latest()
    assert path.name == SLOTS[3 % 2] and st['epoch'] == 3 and st['history'] == h
    again = tiny(seed=5)
    assert fit_run(again, batches, STEPS, 3, TrainingRun(folder, SETTINGS, resume=True), verbose=0) == h
    for a, b in zip(again.get_weights(), m.get_weights(), strict=True): np.testing.assert_array_equal(a, b)  # restored, not trained

def test_damaged_newest_slot_falls_back_to_the_older(tmp_path):
    "(d) A half-written newest checkpoint (truncated) is skipped: the run resumes from the older slot and completes."
    straight = tiny()
    h = fit_run(straight, batches, STEPS, 3, verbose=0)
    folder = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt, match='killed at epoch 2, batch 1'):
        fit_run(tiny(), batches, STEPS, 3, TrainingRun(folder, SETTINGS), callbacks=[Crash(2, 1)], verbose=0)
    newest, st = TrainingRun(folder, SETTINGS, resume=True).latest()
    assert st['epoch'] == 2
    w = newest.with_name(newest.name + '.weights.h5')
    w.write_bytes(w.read_bytes()[:len(w.read_bytes()) // 2])  # an interrupted save
    run = TrainingRun(folder, SETTINGS, resume=True)
    assert run.resumed_from != newest and run.epoch == 1 and len(run.history['loss']) == 1
    resumed = tiny(seed=3)
    h2 = fit_run(resumed, batches, STEPS, 3, run, verbose=0)
    assert len(h2['loss']) == 3
    np.testing.assert_allclose(h2['loss'], h['loss'], rtol=1e-5)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True): np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert no_keras_backup(folder)

def test_no_usable_checkpoint_is_a_clear_error(tmp_path):
    "Both slots damaged (empty, or JSON missing): a ModelFileError naming the folder and each problem."
    folder = tmp_path/'run'
    fit_run(tiny(), batches, STEPS, 2, TrainingRun(folder, SETTINGS), verbose=0)
    (folder/'checkpoint-a.weights.h5').write_bytes(b'')
    (folder/'checkpoint-b.model.json').unlink()
    with pytest.raises(ModelFileError, match=r'no usable checkpoint: .*checkpoint-a.weights.h5: the weights file is empty.*no such model JSON'):
        TrainingRun(folder, SETTINGS, resume=True)

def test_best_is_saved_only_when_the_monitored_loss_improves(tmp_path):
    "save_best is called at each new best only (epoch and value recorded); a resumed run knows the best so far."
    folder = tmp_path/'run'
    calls = []
    def save_best(path, **kw):
        calls.append(kw['trained'])
        save_model_files(path, lambda p: p.write_bytes(b'w'), 'toy', {}, **kw)
    h = fit_run(tiny(), batches, STEPS, 4, TrainingRun(folder, SETTINGS), save_best=save_best, callbacks=[Script([3.0, 2.0, 2.5, 1.0])], verbose=0)
    assert calls == [{'epoch': 1, 'val_loss': 3.0}, {'epoch': 2, 'val_loss': 2.0}, {'epoch': 4, 'val_loss': 1.0}]
    assert h['val_loss'] == [3.0, 2.0, 2.5, 1.0]
    best = (folder/'best.weights.h5').read_bytes(), (folder/'best.model.json').read_bytes()
    run = TrainingRun(folder, SETTINGS, resume=True)
    assert run.best == 1.0
    h = fit_run(tiny(), batches, STEPS, 6, run, save_best=save_best, callbacks=[Script([0, 0, 0, 0, 1.5, 1.2])], verbose=0)
    assert len(calls) == 3 and h['val_loss'] == [3.0, 2.0, 2.5, 1.0, 1.5, 1.2]
    assert ((folder/'best.weights.h5').read_bytes(), (folder/'best.model.json').read_bytes()) == best
    assert read_meta(folder/'best')['trained'] == {'epoch': 4, 'val_loss': min(h['val_loss'])}

def test_best_saved_before_a_lost_checkpoint_still_counts(tmp_path):
    "A best model saved just before a checkpoint that was never written still sets the bar for the resumed run."
    folder = tmp_path/'run'
    save_best = lambda path, **kw: save_model_files(path, lambda p: p.write_bytes(b'w'), 'toy', {}, **kw)
    fit_run(tiny(), batches, STEPS, 2, TrainingRun(folder, SETTINGS), save_best=save_best, callbacks=[Script([3.0, 2.0])], verbose=0)
    save_best(folder/'best', trained={'epoch': 3, 'val_loss': 0.5})  # epoch 3's best was saved, then the kernel died
    assert TrainingRun(folder, SETTINGS, resume=True).best == 0.5

def test_early_stopping_stops_and_the_history_matches(tmp_path):
    "EarlyStopping ends the run early; the history, the run and its last checkpoint all hold the epochs actually run."
    folder = tmp_path/'run'
    stop = keras.callbacks.EarlyStopping('loss', patience=1, min_delta=1e9)  # no epoch after the first counts as better
    run = TrainingRun(folder, SETTINGS)
    h = fit_run(tiny(), batches, STEPS, 6, run, callbacks=[stop], verbose=0)
    assert len(h['loss']) == 2 and run.epoch == 2
    path, st = run.latest()
    assert st['epoch'] == 2 and st['step'] == 0 and st['history'] == h

def test_resume_after_the_end_trains_more_epochs(tmp_path):
    "A finished run resumed with more epochs continues: its history grows to one row per epoch of the whole run."
    folder = tmp_path/'run'
    h = fit_run(tiny(), batches, STEPS, 2, TrainingRun(folder, SETTINGS), verbose=0)
    h2 = fit_run(tiny(seed=9), batches, STEPS, 4, TrainingRun(folder, SETTINGS, resume=True), verbose=0)
    assert len(h2['loss']) == 4 and h2['loss'][:2] == h['loss']
    straight = fit_run(tiny(), batches, STEPS, 4, verbose=0)
    np.testing.assert_allclose(h2['loss'], straight['loss'], rtol=1e-5)
