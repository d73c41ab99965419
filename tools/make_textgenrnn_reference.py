"""Regenerate ``textgen_course/fixtures/textgenrnn_reference.npz`` from the ORIGINAL textgenrnn code.

Dev-only tool.  It is NOT part of the library and is NOT run by the test-suite; the
committed ``.npz`` is what the tests use.  It exists so that anybody can re-derive the
fixture and see exactly how it was produced.

textgenrnn 2.0.0 no longer imports on TF >= 2.4 (``multi_gpu_model``,
``keras.backend.tensorflow_backend``, ``Adam(lr=...)``), and its CuDNNLSTM weights are
refused by Keras 3.  Legacy Keras 2 (``tf_keras``) still converts them on
``load_weights(..., by_name=True)``, so this script runs the original ``model.py``,
``AttentionWeightedAverage.py`` and the three generation helpers of ``utils.py`` on
top of ``tf_keras`` in a SEPARATE virtual environment (never the project's venv)::

    python3 -m venv /tmp/legacy
    /tmp/legacy/bin/pip install tensorflow==2.21.0 tf_keras==2.21.0 h5py numpy
    # textgenrnn itself is only needed as files, not installed/imported:
    pip download --no-deps --no-binary :all: textgenrnn==2.0.0 -d /tmp/tgr
    tar -xzf /tmp/tgr/textgenrnn-2.0.0.tar.gz -C /tmp/tgr
    /tmp/legacy/bin/python tools/make_textgenrnn_reference.py \\
        --textgenrnn-dir /tmp/tgr/textgenrnn-2.0.0/textgenrnn

``--textgenrnn-dir`` defaults to the location of an installed ``textgenrnn`` package
(found with ``importlib.util.find_spec`` WITHOUT importing it), falling back to
``/tmp/tgr/textgenrnn-2.0.0/textgenrnn``.

Patches applied to the original sources (textual, on the text read from that folder,
then ``exec``-ed; everything else is the original code verbatim):

1. ``model.py`` and ``AttentionWeightedAverage.py`` and ``utils.py``:
   ``tensorflow.keras`` -> ``tf_keras`` (Keras 3 cannot load the CuDNNLSTM weights).
2. ``model.py``: ``Adam(lr=4e-3)`` -> ``Adam(learning_rate=4e-3)`` (``lr`` was removed;
   the optimizer only matters for ``compile`` and never affects inference).
3. ``utils.py``: only its top-level imports and the functions ``textgenrnn_sample``,
   ``textgenrnn_generate`` and ``textgenrnn_encode_sequence`` are executed (selected
   with ``ast``); the ``sklearn`` and ``tqdm`` imports are dropped because those
   functions do not use them.
4. No patch is needed for ``from .AttentionWeightedAverage import ...``: the sources
   are executed as modules of a synthetic package ``_textgenrnn_orig``.

GPUs are hidden (``CUDA_VISIBLE_DEVICES=-1``) so ``new_rnn`` takes its CPU branch
(``LSTM(..., recurrent_activation='sigmoid')``) and the numbers are reproducible.

Fixture contents (all plain arrays; load with ``np.load(path)``, no pickle):

* ``prefixes``   (k,) unicode   - test prefixes; context tokens = ``['<s>'] + list(prefix)``
* ``contexts_json`` () unicode  - JSON list of the k token lists actually encoded
* ``inputs``     (k, 40) int32  - ``textgenrnn_encode_sequence(tokens[-40:], vocab, 40)``
* ``probs``      (k, 465) float32 - ``model.predict(inputs)`` (softmax of layer 'output')
* ``attention``  (k, 356) float32 - output of layer 'attention' for the same inputs
* ``gen_prefixes`` (g,) unicode - prefixes of the greedy generations ('' means None)
* ``gen_texts``  (g,) unicode   - what ``textgenrnn_generate(..., temperature=0.0,
  max_gen_length=80, prefix=...)`` returns (prefix included, '<s>' tokens removed)
* ``gen_ended``  (g,) bool      - the ``end`` flag returned with each text
* ``gen_max_length`` () int32   - 80
* ``versions``   () unicode     - JSON: tensorflow, tf_keras, numpy, h5py, textgenrnn,
  sha256 of the weights and vocab files
"""

import argparse
import ast
import hashlib
import importlib.util
import json
import os
import sys
import types
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

FALLBACK_DIR = Path("/tmp/tgr/textgenrnn-2.0.0/textgenrnn")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "textgen_course" / "fixtures" / "textgenrnn_reference.npz"

# textgenrnn.config defaults (textgenrnn.py)
CFG = {
    "rnn_layers": 2,
    "rnn_size": 128,
    "rnn_bidirectional": False,
    "max_length": 40,
    "max_words": 10000,
    "dim_embeddings": 100,
    "word_level": False,
    "single_text": False,
}
META_TOKEN = "<s>"

# Context = ['<s>'] + list(prefix).
TEST_PREFIXES = [
    "",                                                # just the meta token
    "I",                                               # single char
    "This movie was absolutely wonderful, the acting",  # movie review (>40 tokens)
    "Tabs\tand\nnewlines 中文 😂 are OOV",              # \t \n 中 文 😂 encode to 0
    "The quick brown fox jumps over the lazy dog while the cat sleeps",  # truncation
    "TIL that the Eiffel Tower",                       # Reddit-style title
    "What is the best way to",                         # AskReddit-style
    "Café naïve — “quoted” £5 ñ ü ＨＥＬＬＯ つ",        # in-vocab unicode
    "In 1969, 3 astronauts flew 384,400 km to",        # digits & punctuation
    "x" * 39,                                          # exactly 40 tokens: no padding
    "y" * 40,                                          # 41 tokens: '<s>' truncated away
    "WOW!!! Is this real?? @user #1 ~{}",              # punctuation / symbols
]
GEN_PREFIXES = [None, "The movie", "I hated", "What is"]
GEN_MAX_LENGTH = 80


# --------------------------------------------------------------------------- sources
def default_textgenrnn_dir():
    spec = importlib.util.find_spec("textgenrnn")  # locates, does not import
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return FALLBACK_DIR


def patch_source(src, name):
    """Apply the documented textual patches; fail loudly if a patch no longer applies."""
    assert "tensorflow.keras" in src, name
    src = src.replace("tensorflow.keras", "tf_keras")  # patch 1
    if name == "model.py":
        assert src.count("Adam(lr=4e-3)") == 1
        src = src.replace("Adam(lr=4e-3)", "Adam(learning_rate=4e-3)")  # patch 2
    return src


def load_original(tg_dir):
    """Exec the (patched) original sources as modules of a synthetic package."""
    pkg_name = "_textgenrnn_orig"
    pkg = types.ModuleType(pkg_name)
    pkg.__path__ = [str(tg_dir)]
    sys.modules[pkg_name] = pkg

    def exec_module(modname, src):
        mod = types.ModuleType(f"{pkg_name}.{modname}")
        mod.__package__ = pkg_name
        mod.__file__ = str(tg_dir / f"{modname}.py")
        sys.modules[mod.__name__] = mod
        setattr(pkg, modname, mod)
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)
        return mod

    read = lambda f: (tg_dir / f).read_text(encoding="utf8")
    exec_module("AttentionWeightedAverage",
                patch_source(read("AttentionWeightedAverage.py"), "AttentionWeightedAverage.py"))
    model_mod = exec_module("model", patch_source(read("model.py"), "model.py"))

    # utils.py: imports (minus sklearn/tqdm) + the three generation helpers (patch 3)
    tree = ast.parse(patch_source(read("utils.py"), "utils.py"))
    keep_fns = {"textgenrnn_sample", "textgenrnn_generate", "textgenrnn_encode_sequence"}
    body = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(m.split(".")[0] in ("sklearn", "tqdm") for m in mods):
                continue
            body.append(node)
        elif isinstance(node, ast.FunctionDef) and node.name in keep_fns:
            body.append(node)
    assert {n.name for n in body if isinstance(n, ast.FunctionDef)} == keep_fns
    tree.body = body
    utils_mod = types.ModuleType(f"{pkg_name}.utils")
    utils_mod.__package__ = pkg_name
    exec(compile(tree, str(tg_dir / "utils.py"), "exec"), utils_mod.__dict__)
    return model_mod, utils_mod


# --------------------------------------------------------------------------- checks
def lstm_keras3_from_cudnn(k, rk, b):
    """Numpy recipe the project uses to turn CuDNNLSTM weights into Keras LSTM weights."""
    k2 = np.hstack([blk.T.reshape(blk.shape, order="F") for blk in np.hsplit(k, 4)])
    rk2 = np.hstack([blk.T for blk in np.hsplit(rk, 4)])
    b2 = b[:512] + b[512:]
    return k2, rk2, b2


def check_conversion(model, weights_path):
    import h5py

    results = {}
    with h5py.File(weights_path, "r") as f:
        for name in ("rnn_1", "rnn_2"):
            g = f[name][name]
            k, rk, b = (np.asarray(g[w]) for w in ("kernel:0", "recurrent_kernel:0", "bias:0"))
            ours = lstm_keras3_from_cudnn(k, rk, b)
            loaded = model.get_layer(name).get_weights()
            for wname, a, ref in zip(("kernel", "recurrent_kernel", "bias"), ours, loaded):
                assert a.shape == ref.shape, (name, wname, a.shape, ref.shape)
                results[f"{name}/{wname}"] = (bool(np.array_equal(a, ref)),
                                              float(np.max(np.abs(a - ref))))
        # non-recurrent layers must be loaded verbatim
        for name, wnames in (("embedding", ["embeddings:0"]), ("attention", ["attention_W:0"]),
                             ("output", ["kernel:0", "bias:0"])):
            loaded = model.get_layer(name).get_weights()
            for wname, ref in zip(wnames, loaded):
                a = np.asarray(f[name][name][wname])
                results[f"{name}/{wname}"] = (bool(np.array_equal(a, ref)),
                                              float(np.max(np.abs(a - ref))))
    return results


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--textgenrnn-dir", type=Path, default=None,
                    help="folder holding textgenrnn's model.py, utils.py, weights and vocab")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    tg_dir = (args.textgenrnn_dir or default_textgenrnn_dir()).resolve()
    weights_path = tg_dir / "textgenrnn_weights.hdf5"
    vocab_path = tg_dir / "textgenrnn_vocab.json"
    for p in (weights_path, vocab_path, tg_dir / "model.py", tg_dir / "utils.py"):
        if not p.exists():
            sys.exit(f"missing {p}; pass --textgenrnn-dir (see the docstring)")

    import h5py
    import tensorflow as tf
    import tf_keras

    # silence the per-call progress bars of the original generate loop's model.predict
    tf_keras.utils.disable_interactive_logging()
    model_mod, utils_mod = load_original(tg_dir)

    # as in textgenrnn.__init__
    with open(vocab_path, "r", encoding="utf8", errors="ignore") as fh:
        vocab = json.load(fh)
    num_classes = len(vocab) + 1
    indices_char = dict((vocab[c], c) for c in vocab)
    assert num_classes == 465
    model = model_mod.textgenrnn_model(num_classes, cfg=CFG, weights_path=str(weights_path))
    maxlen = CFG["max_length"]

    # ---- single-step probabilities + attention vectors
    contexts = [[META_TOKEN] + list(p) for p in TEST_PREFIXES]
    inputs = np.concatenate([utils_mod.textgenrnn_encode_sequence(c[-maxlen:], vocab, maxlen)
                             for c in contexts]).astype(np.int32)
    probs = model.predict(inputs, verbose=0).astype(np.float32)
    att_model = tf_keras.models.Model(inputs=model.inputs, outputs=model.get_layer("attention").output)
    attention = att_model.predict(inputs, verbose=0).astype(np.float32)
    # batch-of-1 predictions (as the generator does) must agree with the batched ones
    single = np.concatenate([model.predict(inputs[i:i + 1], batch_size=1, verbose=0)
                             for i in range(len(inputs))])
    batch_vs_single = float(np.max(np.abs(single - probs)))

    # ---- greedy generations with the original loop
    gen_texts, gen_ended = [], []
    for p in GEN_PREFIXES:
        text, end = utils_mod.textgenrnn_generate(
            model, vocab, indices_char, temperature=0.0, maxlen=maxlen,
            meta_token=META_TOKEN, word_level=False, single_text=False,
            max_gen_length=GEN_MAX_LENGTH, interactive=False, top_n=3, prefix=p)
        gen_texts.append(text)
        gen_ended.append(end)

    conv = check_conversion(model, weights_path)

    versions = {
        "tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
        "numpy": np.__version__, "h5py": h5py.__version__, "python": sys.version.split()[0],
        "textgenrnn": "2.0.0" if "2.0.0" in str(tg_dir) else "unknown",
        "textgenrnn_weights.hdf5_sha256": sha256(weights_path),
        "textgenrnn_vocab.json_sha256": sha256(vocab_path),
    }
    pkg_info = tg_dir.parent / "PKG-INFO"
    if pkg_info.exists():
        for line in pkg_info.read_text(encoding="utf8").splitlines():
            if line.startswith("Version:"):
                versions["textgenrnn"] = line.split(":", 1)[1].strip()
                break

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        prefixes=np.array(TEST_PREFIXES, dtype=str),
        contexts_json=np.array(json.dumps(contexts, ensure_ascii=False)),
        inputs=inputs,
        probs=probs,
        attention=attention,
        gen_prefixes=np.array(["" if p is None else p for p in GEN_PREFIXES], dtype=str),
        gen_texts=np.array(gen_texts, dtype=str),
        gen_ended=np.array(gen_ended, dtype=bool),
        gen_max_length=np.array(GEN_MAX_LENGTH, dtype=np.int32),
        versions=np.array(json.dumps(versions, sort_keys=True)),
    )

    # ---- summary
    size = args.out.stat().st_size
    print(f"textgenrnn dir: {tg_dir}")
    print(f"wrote {args.out} ({size / 1024:.1f} KiB)")
    with np.load(args.out) as z:
        for key in z.files:
            print(f"  {key:15s} {str(z[key].dtype):8s} {z[key].shape}")
    print("versions:", json.dumps(versions, indent=1, sort_keys=True))
    print(f"probs row sums: min {probs.sum(1).min():.7f} max {probs.sum(1).max():.7f}")
    print(f"batched vs batch_size=1 predict: max abs diff {batch_vs_single:.3g}")
    for p, row in zip(TEST_PREFIXES, probs):
        top = np.argsort(row)[::-1][:3]
        print(f"  {p[-30:]!r:34s} -> " + ", ".join(f"{indices_char.get(i, '<pad>')!r}:{row[i]:.3f}" for i in top))
    print("greedy generations (temperature 0, max_gen_length 80):")
    for p, t, e in zip(GEN_PREFIXES, gen_texts, gen_ended):
        print(f"  prefix={p!r:12s} end={e!s:5s} -> {t!r}")
    print("CuDNN->Keras LSTM conversion recipe vs tf_keras-loaded weights:")
    for k, (eq, diff) in conv.items():
        print(f"  {k:28s} equal={eq!s:5s} max_abs_diff={diff:.3g}")
    assert size < 200 * 1024, size
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert all(eq for eq, _ in conv.values())


if __name__ == "__main__":
    main()
