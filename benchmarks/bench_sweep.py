"""A sweep of the notebook's comparison models on Ray Tune against the same models trained one
after another in one process (as the notebook does): wall time of each, and their ratio.

    python benchmarks/bench_sweep.py [--presets model_0 model_1 ...] [--units 64] [--epochs 2]
        [--corpus data/bench-sweep] [--n-train 120] [--cpus-per-trial 1] [--num-cpus 2]

The corpus is the embedded TTS corpus at a small size, built under --corpus if missing.
--units shrinks every model's recurrent width (and CNN filters) to keep a run short; 0 keeps
the presets as the seed had them. Both ways train every model from scratch (separate results
folders under --out, emptied first), with the same features, batch size, optimizer and epochs.
The sweep's time is given with and without starting Ray (a cluster already runs it).
"""
import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_PRESETS = ("model_0", "model_1", "model_2", "model_3", "model_4")
DEFAULT_CORPUS = "data/bench-sweep"
DEFAULT_OUT = "results/bench-sweep"


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS))
    p.add_argument("--units", type=int, default=64, help="recurrent units (0: the preset's)")
    p.add_argument("--features", default="mfcc26")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--corpus", default=DEFAULT_CORPUS)
    p.add_argument("--n-train", type=int, default=120, help="utterances, if the corpus is built")
    p.add_argument("--n-valid", type=int, default=24)
    p.add_argument("--cpus-per-trial", type=float, default=1.0)
    p.add_argument("--num-cpus", type=int, default=None, help="Ray's CPUs (default: the cores)")
    p.add_argument("--out", default=DEFAULT_OUT)
    return p.parse_args(argv)


def builders(presets, units):
    import models as M
    out = []
    for name in presets:
        builder = getattr(M.presets, name)()
        if units:
            cnn = builder.cnn_config and dataclasses.replace(builder.cnn_config, filters=units)
            builder = dataclasses.replace(builder, rnn_units=units, cnn_config=cnn,
                                          name_suffix=f"{name} u{units}")
        out.append(builder)
    return out


def ensure_corpus(args):
    root = Path(args.corpus)
    if not (root / "valid_corpus.json").exists():
        from vui.data import tts_corpus
        tts_corpus.main(["--root", str(root), "--n-train", str(args.n_train), "--n-valid",
                         str(args.n_valid), "--n-test", "0", "--no-progress"])
    return root


def sequential(args, models, spec, out):
    """One process, one generator, train_model per model: the notebook's way."""
    import train_utils as T
    from vui import cpu_threads
    cpu_threads.configure()
    gen = spec.build(args.batch_size)
    start = time.perf_counter()
    for builder in models:
        T.train_model(gen, builder, epochs=args.epochs, minibatch_size=args.batch_size,
                      optimizer=adam, results_dir=out, verbose=0)
    return time.perf_counter() - start


def adam():
    import keras
    return keras.optimizers.Adam(learning_rate=1e-3, clipnorm=5.0)


def swept(args, models, spec, out):
    """The same models as one Ray Tune sweep on a local Ray; (wall, Ray's start-up)."""
    import keras
    import ray
    import train_utils as T
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    start = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    ray_start = time.perf_counter() - start
    try:
        start = time.perf_counter()
        T.sweep(models, spec, epochs=args.epochs, minibatch_size=args.batch_size,
                optimizer=keras.optimizers.Adam(learning_rate=1e-3, clipnorm=5.0),
                results_dir=out, cpus_per_trial=args.cpus_per_trial, verbose=0)
        return time.perf_counter() - start, ray_start
    finally:
        ray.shutdown()


def main(argv=None):
    args = parse(argv)
    from vui.sweep.spec import GenSpec
    from vui import cpu_threads
    from vui import results as R
    corpus = ensure_corpus(args)
    spec = GenSpec(features=args.features, corpus=str(corpus)).resolved()
    spec.build(args.batch_size)                    # features cached before either timing
    models = builders(args.presets, args.units)
    seq_dir, sweep_dir = Path(args.out) / "sequential", Path(args.out) / "sweep"
    for folder in (seq_dir, sweep_dir):
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()[0]
    seq = sequential(args, models, spec, seq_dir)
    sweep, ray_start = swept(args, models, spec, sweep_dir)
    records = R.load_records(sorted(seq_dir.glob("*.pickle")))
    audio = records[0]["train_audio_seconds"]
    print(f"\nconditions: {cpu_threads.usable_cores()} cores, load average {load:.1f} at the "
          f"start, Keras backend {records[0]['backend']}, {records[0]['train_utterances']} "
          f"training utterances ({audio:.0f} audio s), features {args.features}, "
          f"{args.epochs} epochs, batch {args.batch_size}, Adam; sweep: Ray Tune, "
          f"{args.cpus_per_trial:g} CPU per trial, Ray with {args.num_cpus or 'all'} CPUs")
    print("models: " + "; ".join(f"{r['name']} ({r['params']:,} params)" for r in records))
    print("\n| way | wall s | vs one after another |\n|---|---|---|")
    print(f"| one after another, one process | {seq:.1f} | 1.00 |")
    print(f"| Ray Tune sweep (Ray running) | {sweep:.1f} | {seq / sweep:.2f}x |")
    print(f"| Ray Tune sweep + starting Ray | {sweep + ray_start:.1f} | "
          f"{seq / (sweep + ray_start):.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
