"""GPU check: training speed, peak memory and CER of the demo model on a bare GPU machine.

Made for a machine with Python 3.12, JAX (CUDA), PyTorch and numpy but no TensorFlow, Keras or
audio libraries, and no network. `prepare` (here, in the project's .venv) writes everything it
needs into one folder: Keras and the two dependencies such an image lacks as wheels, and the
corpus's normalised MFCC features as one .npz (float16), so nothing is downloaded or computed
from audio there. `run` imports only models (the builder), vui.model.ctc (the loss) and
char_map from the toolkit, and batches the carried features itself (the toolkit's generator
imports the audio libraries).

`run` measures each backend (JAX, then PyTorch) in a process of its own, the two sharing the
time budgets. For each it prints, then writes as JSON ($OUT/gpu_check_jax.json and
$OUT/gpu_check_torch.json when OUT is set, each as soon as its backend is done):
1. the matrix-product rate the device reaches (float32 and bfloat16), for scale;
2. per preset, precision and batch size: training audio seconds and utterances per second on
   batches of one shape (compiled first), and the peak device memory so far;
3. a short real training run of the demo preset on every carried utterance (lengths bucketed
   to a few shapes, each compiled once), its rate and the validation CER (greedy decoding).

    .venv/bin/python scripts/gpu_check.py prepare --corpus data/bench-2k --out data/gpu-check
    # on the GPU machine, from the repository root, data/gpu-check carried:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site data/gpu-check/wheels/*.whl
    PYTHONPATH=/tmp/site python3 scripts/gpu_check.py run --data data/gpu-check
    # here, on the CPU, as far as it goes (the bare machine's imports only; PyTorch where
    # it is installed beside the venv, e.g. PYTHONPATH=/tmp/torchsite):
    .venv/bin/python scripts/gpu_check.py run --data data/gpu-check --device cpu --quick --bare
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FEATURES_FILE = "features.npz"
WHEELS_DIR = "wheels"
# What the GPU image lacks for Keras 3 (it has numpy, absl-py, rich, h5py, ml-dtypes, packaging).
CARRIED_WHEELS = ("keras==3.15.1", "namex==0.1.0", "optree==0.20.0")
WHEEL_PYTHON = "3.12"
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                   "manylinux2014_x86_64")
FEATURE_PRESET = "mfcc26"                # vui.features.presets: the demo's MFCC 26
# Modules the bare GPU machine does not have: --bare makes importing them fail here too.
ABSENT_THERE = ("tensorflow", "soundfile", "soxr", "librosa", "python_speech_features", "jiwer",
                "data_generator", "utils")
FRAME_SECONDS = 0.010
LABEL_PAD = 16                  # label widths are rounded up to this
MATMUL_SIZE = {"gpu": 8192, "cpu": 1024}
MATMUL_REPEATS = 10
LEARNING_RATE = 2e-3            # the demo's Adam
CLIPNORM = 5.0
CHILD_STOP_SECONDS = 10         # a stopped run's backend gets this long to exit
DEFAULTS = {   # a run on a GPU, and --quick, a smoke test on a CPU; times for all backends together
    "full": dict(presets=["demo", "final"], precisions=["float32", "mixed_bfloat16"],
                 batch_sizes=[32, 64, 128], steps=12, train_seconds=80.0, train_batch=64,
                 pad=128, max_train=None, max_valid=None, budget_seconds=300.0),
    "quick": dict(presets=["demo"], precisions=["float32", "mixed_bfloat16"], batch_sizes=[8],
                  steps=3, train_seconds=0.0, train_batch=8, pad=128, max_train=64, max_valid=16,
                  budget_seconds=600.0),
}


# ---- prepare (here) ---------------------------------------------------------------------------
def prepare(corpus, out):
    """Features of `corpus`'s train and valid partitions and the wheels, into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_features(corpus, out / FEATURES_FILE)
    download_wheels(out / WHEELS_DIR)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {total / 2**20:.1f} MiB to carry")


def write_features(corpus, path):
    """Normalised features (training statistics), float16, concatenated per partition."""
    sys.path.insert(0, str(ROOT))
    import data_generator as DG
    gen = DG.AudioGeneratorCached.for_corpus(FEATURE_PRESET, corpus)
    arrays = {}
    for part in ("train", "validation"):
        paths, durations, texts = gen.partition_data(part)
        feats = [gen.get_features(part, i).astype(np.float16) for i in range(len(paths))]
        labels = gen.labels(part)
        arrays.update({f"{part}_x": np.concatenate(feats),
                       f"{part}_frames": np.array([len(f) for f in feats], np.int32),
                       f"{part}_labels": np.concatenate(labels).astype(np.int8),
                       f"{part}_label_lengths": np.array([len(a) for a in labels], np.int32),
                       f"{part}_durations": np.asarray(durations, np.float32),
                       f"{part}_texts": np.array(texts)})
    np.savez_compressed(path, **arrays)


def download_wheels(folder):
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", WHEEL_PYTHON,
                    "--implementation", "cp", *platforms, "-d", str(folder), *CARRIED_WHEELS],
                   check=True)


# ---- run (there) -------------------------------------------------------------------------------
class Corpus:
    """One partition's carried features: utterance i is x[starts[i]:starts[i] + frames[i]]."""

    def __init__(self, arrays, part, limit=None):
        n = len(arrays[f"{part}_frames"]) if limit is None else limit
        self.frames = arrays[f"{part}_frames"][:n]
        self.label_lengths = arrays[f"{part}_label_lengths"][:n]
        self.durations = arrays[f"{part}_durations"][:n]
        self.texts = [str(t) for t in arrays[f"{part}_texts"][:n]]
        starts = np.concatenate([[0], np.cumsum(arrays[f"{part}_frames"])])
        label_starts = np.concatenate([[0], np.cumsum(arrays[f"{part}_label_lengths"])])
        self.x = [arrays[f"{part}_x"][s:s + f] for s, f in zip(starts, self.frames)]
        self.labels = [arrays[f"{part}_labels"][s:s + n_]
                       for s, n_ in zip(label_starts, self.label_lengths)]

    def __len__(self):
        return len(self.frames)


def bucket_width(frames, pad):
    return int(np.ceil(max(int(frames), 1) / pad) * pad)


def make_batch(corpus, rows, width, label_width, output_length, batch_size=None):
    """(x, y) in the toolkit's format (docs/design.md), padded to fixed shapes; rows beyond
    the utterances (a short last batch) are copies of the first, so shapes stay static."""
    rows = list(rows)
    rows += [rows[0]] * ((batch_size or len(rows)) - len(rows))
    dim = corpus.x[0].shape[1]
    x = np.zeros((len(rows), width, dim), np.float32)
    y = np.full((len(rows), 2 + label_width), 28, np.int32)      # 28: the CTC blank
    for r, i in enumerate(rows):
        n = corpus.frames[i]
        x[r, :n] = corpus.x[i]
        y[r, 0] = output_length(n)
        y[r, 1] = corpus.label_lengths[i]
        y[r, 2:2 + corpus.label_lengths[i]] = corpus.labels[i]
    return x, y


def bucketed_batches(corpus, batch_size, pad, output_length, rng):
    """Batches within length buckets: one (width, label width) per bucket, so jit compiles one
    train step per bucket. Short last batches of a bucket are dropped in training."""
    widths = np.array([bucket_width(f, pad) for f in corpus.frames])
    batches = []
    for width in np.unique(widths):
        rows = rng.permutation(np.flatnonzero(widths == width))
        label_width = bucket_width(corpus.label_lengths[widths == width].max(), LABEL_PAD)
        for start in range(0, len(rows) - batch_size + 1, batch_size):
            batches.append((rows[start:start + batch_size], int(width), label_width))
    return [batches[i] for i in rng.permutation(len(batches))]


def dataset_class(keras):
    class Batches(keras.utils.PyDataset):
        """The batches of a plan, rebuilt in a new order each epoch."""

        def __init__(self, corpus, plan_fn, output_length):
            super().__init__()
            self.corpus, self.plan_fn, self.output_length = corpus, plan_fn, output_length
            self.plan = plan_fn()

        def __len__(self):
            return len(self.plan)

        def __getitem__(self, index):
            rows, width, label_width = self.plan[index]
            return make_batch(self.corpus, rows, width, label_width, self.output_length)

        def on_epoch_end(self):
            self.plan = self.plan_fn()

        def audio_seconds(self):
            return float(sum(self.corpus.durations[rows].sum() for rows, _, _ in self.plan))

    return Batches


def epoch_clock(keras):
    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return EpochClock()


def build(keras, preset, input_dim, precision):
    import models as M
    from vui.model.ctc import CTCLoss
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        model = getattr(M.presets, preset)().build(input_dim)
    finally:
        keras.config.set_dtype_policy(previous)
    optimizer = keras.optimizers.Adam(LEARNING_RATE, clipnorm=CLIPNORM)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=CTCLoss(),
                  jit_compile=keras.backend.backend() == "jax")
    return model


def throughput(keras, train, preset, precision, batch_size, steps, pad):
    """Training rate on `steps` batches of one shape (the utterances nearest the median
    length), timed on a second epoch after the first compiled the step."""
    model = build(keras, preset, train.x[0].shape[1], precision)
    order = np.argsort(np.abs(train.frames - np.median(train.frames)))
    rows = order[:batch_size * steps]
    width = bucket_width(train.frames[rows].max(), pad)
    label_width = bucket_width(train.label_lengths[rows].max(), LABEL_PAD)
    plan = [(rows[k * batch_size:(k + 1) * batch_size], width, label_width)
            for k in range(len(rows) // batch_size)]
    data = dataset_class(keras)(train, lambda: plan, model.output_length)
    clock = epoch_clock(keras)
    start = time.perf_counter()
    model.fit(data, epochs=2, verbose=0, callbacks=[clock])
    seconds = clock.times[-1]
    return {"preset": preset, "precision": precision, "batch": batch_size,
            "parameters": int(model.count_params()), "shape": [batch_size, width],
            "audio_s_per_s": data.audio_seconds() / seconds,
            "utterances_per_s": len(plan) * batch_size / seconds,
            "compile_and_first_epoch_s": time.perf_counter() - start - seconds,
            "peak_memory_gib": peak_memory_gib(keras)}


def real_run(keras, train, valid, precision, batch_size, pad, train_seconds, rng):
    """The demo preset on every carried training utterance for about `train_seconds` (at least
    two epochs), then greedy CER on the validation utterances."""
    model = build(keras, "demo", train.x[0].shape[1], precision)
    data = dataset_class(keras)(
        train, lambda: bucketed_batches(train, batch_size, pad, model.output_length, rng),
        model.output_length)
    clock = epoch_clock(keras)
    model.fit(data, epochs=1, verbose=0, callbacks=[clock])       # compiles every bucket
    epochs = 1
    while epochs < 2 or sum(clock.times) < train_seconds:
        history = model.fit(data, epochs=1, verbose=0, callbacks=[clock])
        epochs += 1
    steady = float(np.median(clock.times[1:]))
    cer, examples = greedy_cer(model, valid, batch_size, pad)
    return {"precision": precision, "batch": batch_size, "epochs": epochs,
            "train_utterances": len(train), "first_epoch_s": clock.times[0],
            "steady_epoch_s": steady, "audio_s_per_s": data.audio_seconds() / steady,
            "final_loss": float(history.history["loss"][-1]), "validation_cer": cer,
            "examples": examples}


def greedy_cer(model, valid, batch_size, pad):
    """Character error rate of best-path decoding over the validation utterances."""
    widths = np.array([bucket_width(f, pad) for f in valid.frames])
    label_width = bucket_width(valid.label_lengths.max(), LABEL_PAD)
    hypotheses = {}
    for width in np.unique(widths):
        rows = np.flatnonzero(widths == width)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            x, _ = make_batch(valid, chunk, int(width), label_width, model.output_length,
                              batch_size)
            probs = np.asarray(model.predict_on_batch(x))
            for r, i in enumerate(chunk):
                hypotheses[i] = best_path(probs[r, :model.output_length(valid.frames[i])])
    edits = sum(edit_distance(valid.texts[i], hypotheses[i]) for i in range(len(valid)))
    chars = sum(len(t) for t in valid.texts)
    return edits / chars, [(valid.texts[i], hypotheses[i]) for i in range(min(3, len(valid)))]


def best_path(probs):
    import char_map
    best = np.argmax(probs, axis=-1)
    keep = np.concatenate([[True], best[1:] != best[:-1]]) & (best != char_map.BLANK_INDEX)
    return char_map.int_sequence_to_text(best[keep].tolist())


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def peak_memory_gib(keras):
    """Peak device memory of the process so far (None on a CPU)."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax
            stats = jax.devices()[0].memory_stats() or {}
            peak = stats.get("peak_bytes_in_use")
        elif backend == "torch":
            import torch
            peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
        else:
            peak = None
    except Exception:                 # a device without memory statistics
        peak = None
    return None if peak is None else peak / 2**30


def matmul_rate(backend, device):
    """TFLOP/s of a square matrix product in float32 and bfloat16 on the backend's device."""
    n = MATMUL_SIZE["cpu" if device == "cpu" else "gpu"]
    rates = {}
    for dtype in ("float32", "bfloat16"):
        if backend == "jax":
            import jax
            import jax.numpy as jnp
            a = jnp.ones((n, n), dtype)
            product = jax.jit(lambda m: m @ m)
            product(a).block_until_ready()
            start = time.perf_counter()
            for _ in range(MATMUL_REPEATS):
                out = product(a)
            out.block_until_ready()
        else:
            import torch
            where = "cuda" if torch.cuda.is_available() else "cpu"
            a = torch.ones((n, n), dtype=getattr(torch, dtype), device=where)
            a @ a
            sync = torch.cuda.synchronize if where == "cuda" else (lambda: None)
            sync()
            start = time.perf_counter()
            for _ in range(MATMUL_REPEATS):
                a @ a
            sync()
        rates[dtype] = 2 * n**3 * MATMUL_REPEATS / (time.perf_counter() - start) / 1e12
    return {"size": n, "tflops": rates}


def forbid(modules):
    """Hide `modules` as the bare GPU machine lacks them: importing one fails, and probing for
    one (`importlib.util.find_spec`, as torch._dynamo does for TensorFlow) finds nothing. So
    every finder (the file finder, an editable install's) is wrapped to skip them, rather than
    a finder put first that raises."""
    def hidden(name):
        return any(name == m or name.startswith(m + ".") for m in modules)

    class Without:
        def __init__(self, finder):
            self.finder = finder

        def find_spec(self, name, path=None, target=None):
            find = getattr(self.finder, "find_spec", None)
            return None if hidden(name) or find is None else find(name, path, target)

        def invalidate_caches(self):
            getattr(self.finder, "invalidate_caches", lambda: None)()
    sys.meta_path[:] = [Without(finder) for finder in sys.meta_path]


def set_backend(backend, device):
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")   # honest peak memory
    if device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def settings_of(args):
    settings = dict(DEFAULTS["quick" if args.quick else "full"])
    settings.update({k: v for k, v in vars(args).items() if k in settings and v is not None})
    return settings


def run_each_backend(args, argv):
    """Every backend in a process of its own (Keras picks its backend once per process), one
    after the other, each with its share of the time; each writes its report as it ends, so a
    run cut short keeps what the earlier backends measured."""
    settings = settings_of(args)
    share = {k: settings[k] / len(args.backends) for k in ("budget_seconds", "train_seconds")}
    passed_on = strip_options(argv, ("--backends", "--json", "--budget-seconds",
                                     "--train-seconds"))
    # `timeout` stops this process with SIGTERM (a closed terminal: SIGHUP): stop the running
    # backend with it, so that it does not hold the GPU on alone.
    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {stop: signal.signal(stop, lambda number, _: sys.exit(128 + number))
                for stop in stops}
    try:
        return _run_children(args, share, passed_on)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _run_children(args, share, passed_on):
    failed = []
    for backend in args.backends:
        say(f"==== {backend}")
        report = backend_report_path(args.json, backend)
        command = [sys.executable, str(Path(__file__).resolve()), *passed_on,
                   "--backends", backend, *(["--json", str(report)] if report else []),
                   "--budget-seconds", str(share["budget_seconds"]),
                   "--train-seconds", str(share["train_seconds"])]
        child = subprocess.Popen(command)
        try:
            returncode = child.wait()
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait(CHILD_STOP_SECONDS)
        if returncode != 0:
            say(f"==== {backend} failed (its error is above); going on")
            failed.append(backend)
    return 1 if failed else 0


def strip_options(argv, options):
    """argv without `options` and their values (each runs until the next --option)."""
    kept, skipping = [], False
    for arg in argv:
        if arg.startswith("--"):
            skipping = arg.split("=")[0] in options
        if not skipping:
            kept.append(arg)
    return kept


def backend_report_path(path, backend):
    """--json's path, or $OUT/gpu_check.json, with the backend in its name (None: neither)."""
    if not path and not os.environ.get("OUT"):
        return None
    path = Path(path) if path else Path(os.environ["OUT"]) / "gpu_check.json"
    return path.with_name(f"{path.stem}_{backend}{path.suffix}")


def run(args):
    settings = settings_of(args)
    if args.bare:
        forbid(ABSENT_THERE)
    backend = args.backends[0]
    set_backend(backend, args.device)
    sys.path.insert(0, str(ROOT))
    import keras
    arrays = dict(np.load(Path(args.data) / FEATURES_FILE))
    train = Corpus(arrays, "train", settings["max_train"])
    valid = Corpus(arrays, "validation", settings["max_valid"])
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    report = {"backend": keras.backend.backend(), "keras": keras.__version__,
              "device": describe_device(backend), "settings": settings,
              "matmul": matmul_rate(backend, args.device), "throughput": []}
    say(f"{report['device']}; Keras {keras.__version__} on {report['backend']}; matrix products "
        + ", ".join(f"{k} {v:.1f} TFLOP/s" for k, v in report["matmul"]["tflops"].items())
        + f" (n={report['matmul']['size']})")
    deadline = time.perf_counter() + settings["budget_seconds"]
    for preset, precision, batch in configurations(settings):
        if time.perf_counter() > deadline:      # the training run below still gets its turn
            say(f"skipped (over --budget-seconds): {preset} {precision} batch {batch}")
            report["throughput"].append({"preset": preset, "precision": precision,
                                         "batch": batch, "skipped": True})
            continue
        row = throughput(keras, train, preset, precision, batch, settings["steps"],
                         settings["pad"])
        report["throughput"].append(row)
        say(describe_row(row))
    run_row = real_run(keras, train, valid, args.real_precision, settings["train_batch"],
                       settings["pad"], settings["train_seconds"], rng)
    report["training"] = run_row
    say(f"training run: demo {run_row['precision']}, batch {run_row['batch']}, "
        f"{run_row['train_utterances']} utterances x {run_row['epochs']} epochs: "
        f"{run_row['audio_s_per_s']:,.0f} audio s/s (first epoch {run_row['first_epoch_s']:.1f} s, "
        f"then {run_row['steady_epoch_s']:.2f} s), loss {run_row['final_loss']:.2f}, "
        f"validation CER {run_row['validation_cer']:.2%}")
    for truth, said in run_row["examples"]:
        say(f"  {truth!r} -> {said!r}")
    write_report(report, args.json)
    return 0


def describe_row(row):
    memory = "-" if row["peak_memory_gib"] is None else f"{row['peak_memory_gib']:.2f} GiB"
    return (f"{row['preset']:5s} {row['precision']:15s} batch {row['batch']:4d}: "
            f"{row['audio_s_per_s']:10,.0f} audio s/s, {row['utterances_per_s']:8,.1f} "
            f"utterances/s, peak {memory} (compile + first epoch "
            f"{row['compile_and_first_epoch_s']:.1f} s)")


def configurations(settings):
    """(preset, precision, batch) in the order they are timed: every preset at the middle batch
    size first, so that a run cut short by its budget still covers each preset."""
    sizes = settings["batch_sizes"]
    middle = sizes[len(sizes) // 2]
    ordered = [middle] + [b for b in sizes if b != middle]
    return [(preset, precision, batch) for batch in ordered for preset in settings["presets"]
            for precision in settings["precisions"]]


def describe_device(backend):
    if backend == "jax":
        import jax
        device = jax.devices()[0]
        return f"JAX {jax.__version__} on {device.platform}:{device.device_kind}"
    import torch
    if torch.cuda.is_available():
        return f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}"
    return f"PyTorch {torch.__version__} on cpu"


def say(text):
    print(text, flush=True)


def write_report(report, path):
    path = path or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else None)
    if path:
        Path(path).write_text(json.dumps(report, indent=1, default=float))
        say(f"wrote {path}")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="features and wheels to carry (here)")
    p.add_argument("--corpus", required=True, help="folder with train_/valid_corpus.json")
    p.add_argument("--out", required=True)
    r = sub.add_parser("run", help="the check (on the GPU machine)")
    r.add_argument("--data", required=True, help="the folder `prepare` wrote")
    r.add_argument("--backends", nargs="+", choices=("jax", "torch"), default=["jax", "torch"],
                   help="each in a process of its own, sharing the time budgets")
    r.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    r.add_argument("--quick", action="store_true", help="a smoke test's sizes (CPU)")
    r.add_argument("--bare", action="store_true",
                   help="refuse the imports the GPU machine lacks (a test here)")
    r.add_argument("--presets", nargs="+", choices=("demo", "final"))
    r.add_argument("--precisions", nargs="+",
                   choices=("float32", "mixed_bfloat16", "mixed_float16"))
    r.add_argument("--batch-sizes", dest="batch_sizes", nargs="+", type=int)
    r.add_argument("--steps", type=int, help="timed batches per configuration")
    r.add_argument("--train-seconds", dest="train_seconds", type=float)
    r.add_argument("--train-batch", dest="train_batch", type=int)
    r.add_argument("--real-precision", dest="real_precision", default="float32",
                   choices=("float32", "mixed_bfloat16", "mixed_float16"))
    r.add_argument("--pad", type=int, help="frames a length bucket spans")
    r.add_argument("--budget-seconds", dest="budget_seconds", type=float,
                   help="time for the throughput table; configurations past it are skipped")
    r.add_argument("--json", default=None, help="report path (default $OUT/gpu_check.json)")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.command == "prepare":
        prepare(args.corpus, args.out)
        return 0
    if len(args.backends) > 1:
        return run_each_backend(args, argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
