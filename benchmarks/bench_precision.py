"""Mixed precision against float32 on the same recipe: training speed and validation CER.

Trains one preset for the same number of epochs once per precision (same seed, corpus, batches
and optimizer), then evaluates each saved model (float32 at inference, as train_model saves it)
on the validation partition with the greedy decoder. Prints per precision: median steady epoch
time (the first epoch, which traces, left out), training audio seconds per wall second and per
CPU second of the process (the second is steadier on a machine shared with other work), CER and
WER with their 95% speaker-bootstrap intervals, and the paired CER difference from float32.

    .venv/bin/python benchmarks/bench_precision.py --corpus data/bench-2k [--preset demo]
        [--epochs 4] [--precisions float32 mixed_bfloat16] [--features mfcc26]

On a CPU only bfloat16 is worth timing (float16 arithmetic is emulated there).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vui.features.presets import FEATURE_PRESETS  # noqa: E402  (after the sys.path line)

DEFAULT_PRECISIONS = ("float32", "mixed_bfloat16")
DEMO_BATCH = 48                 # vui.demo's batch size and learning rate
DEMO_LEARNING_RATE = 2e-3


def make_generator(corpus, features, batch_size):
    import data_generator as DG
    return DG.AudioGeneratorCached.for_corpus(features, corpus, minibatch_size=batch_size)


def cpu_clock():
    """A Keras callback keeping each epoch's process CPU seconds (all threads)."""
    import keras

    class CPUClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.process_time() - self._start)

    return CPUClock()


def train_one(gen, builder, precision, epochs, batch_size, results_dir):
    """One run; returns (its record with its epochs' CPU seconds, its saved model evaluated
    on validation)."""
    import keras

    import train_utils as T
    from vui import results as R
    clock = cpu_clock()
    name = T.train_model(gen, builder, epochs=epochs, minibatch_size=batch_size,
                         optimizer=lambda: keras.optimizers.Adam(DEMO_LEARNING_RATE, clipnorm=5.0),
                         sort_by_duration=True, verbose=0, results_dir=results_dir,
                         retrain=True, evaluate_after=False, precision=precision,
                         callbacks=[clock])
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    model = T.load_model(model_path)
    record = dict(R.load_pickle(pickle_path), epoch_cpu_seconds=clock.seconds)
    return record, T.evaluate(model, gen, "validation", verbose=0)


def row(precision, record, evaluation, baseline):
    from vui import results as R
    steady = R.run_epoch_seconds(record)
    rate = record["train_audio_seconds"] / steady
    cpu_rate = record["train_audio_seconds"] / R.run_epoch_seconds(record, "epoch_cpu_seconds")
    low, high = evaluation.interval("char") or (np.nan, np.nan)
    text = (f"{precision:15s} epoch {steady:6.1f} s  {rate:6.0f} audio s/s "
            f"({cpu_rate:5.0f} per CPU s)  "
            f"loss {record['loss'][-1]:7.2f}  CER {evaluation.cer:6.2%} [{low:.2%}, {high:.2%}]  "
            f"WER {evaluation.wer:6.2%}")
    if baseline is not None:
        d_low, d_high = evaluation.interval("char", baseline=baseline) or (np.nan, np.nan)
        text += (f"  CER - float32 {evaluation.cer - baseline.cer:+.2%} "
                 f"[{d_low:+.2%}, {d_high:+.2%}]")
    return text, (rate, cpu_rate)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="data/embedded")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--features", default="mfcc26", choices=sorted(FEATURE_PRESETS))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=DEMO_BATCH)
    parser.add_argument("--precisions", nargs="+", default=list(DEFAULT_PRECISIONS))
    args = parser.parse_args(argv)
    from vui import cpu_threads
    cpu_threads.configure()
    import keras

    import models as M
    builder = getattr(M.presets, args.preset)()
    gen = make_generator(args.corpus, args.features, args.batch_size)
    print(f"{args.preset} on {args.features}, {len(gen.train_audio_paths)} training utterances "
          f"({np.sum(gen.train_durations):.0f} audio s), {len(gen.valid_audio_paths)} validation, "
          f"{args.epochs} epochs, batch {args.batch_size}, backend {keras.backend.backend()}")
    baseline, rates = None, {}
    with tempfile.TemporaryDirectory() as results_dir:
        for precision in args.precisions:
            record, evaluation = train_one(gen, builder, precision, args.epochs,
                                           args.batch_size, results_dir)
            text, rates[precision] = row(precision, record, evaluation, baseline)
            print(text, flush=True)
            baseline = baseline or evaluation
    first = args.precisions[0]
    for precision in args.precisions[1:]:
        (wall, cpu), (wall0, cpu0) = rates[precision], rates[first]
        print(f"speed {precision} / {first}: {wall / wall0:.2f}x by the wall clock, "
              f"{cpu / cpu0:.2f}x by CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
