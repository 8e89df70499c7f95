"""Can the batch pipeline keep a GPU busy? Its own rate beside the model's training rate.

Pipeline: `AudioGeneratorCached.dataset(...)` batches of the training partition from a warm
feature cache, no model, in audio seconds of the batches' utterances per wall second:
- one thread calling `dataset[i]` (what each of Keras' workers does);
- through the iterator `model.fit` reads (Keras' PyDataset adapter, the dataset's own worker
  threads and queue), as numpy batches, and on TensorFlow also as the tf.data dataset fit makes;
- one thread again with the memory cache emptied, so every feature comes from its .npy file.
Shapes: the distinct (x, y) batch shapes of each epoch and of all epochs together; XLA (JAX,
TensorFlow with jit) compiles the train step once per shape.
Training: the demo model's train steps (`train_on_batch`, CTC) on the same batches on this CPU;
the first batches, which trace the step, are left out.

    .venv/bin/python benchmarks/bench_pipeline.py --corpus data/embedded
        [--features mfcc26 spectrogram] [--epochs 3] [--batch-size 48] [--train-batches 24]
        [--random-batches] [--epoch-seconds 40000]

A small corpus for it: `vui corpus embedded --root data/bench-2k --n-train 2000 --n-valid 200
--n-test 50` (about 90 s on 2 cores).
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vui.features.presets import FEATURE_PRESETS  # noqa: E402  (after the sys.path line)

TARGET_RATE = 20_000          # audio seconds per wall second, 2 cores, warm cache (issue 39)
TARGET_RATIO = 20             # the pipeline alone at least this many times the training rate
WARMUP_BATCHES = 3            # train steps left out of the training rate: they trace the step
DEMO_BATCH = 48               # vui.demo's batch size, without importing the demo's Keras
DEFAULT_CORPUS = "data/embedded"
# A smaller corpus's training index is repeated up to an epoch about as long as the embedded
# corpus's (11 hours), so that the per-epoch costs (worker start, queue drain) weigh as there.
EPOCH_AUDIO_SECONDS = 40_000
PAD_MULTIPLES = (8, 16, 32, 64)   # time and label padding multiples whose shape counts are listed


def make_generator(corpus, features, batch_size, epoch_seconds=EPOCH_AUDIO_SECONDS):
    """The training partition's generator with every feature in memory (the cache is warm),
    its index repeated up to `epoch_seconds` of audio."""
    import data_generator as DG
    gen = DG.AudioGeneratorCached(minibatch_size=batch_size, **FEATURE_PRESETS[features])
    with tempfile.TemporaryDirectory() as tmp:
        gen.load_train_data(repeated_index(Path(corpus) / "train_corpus.json", epoch_seconds,
                                           Path(tmp) / "train_corpus.json"))
    return gen


def repeated_index(index, epoch_seconds, out):
    """`index`'s lines repeated until they hold `epoch_seconds` of audio, written to `out`."""
    lines = [line for line in Path(index).read_text().splitlines() if line.strip()]
    seconds = sum(json.loads(line)["duration"] for line in lines)
    copies = max(1, math.ceil(epoch_seconds / seconds))
    out.write_text("\n".join(lines * copies) + "\n")
    return str(out)


def make_dataset(gen, builder, random_batches):
    """Batches as the demo trains on them: jittered duration buckets, shuffled (or random)."""
    return gen.dataset("train", output_length=builder.output_length, shuffle=True,
                       sort_by_duration=not random_batches)


def batch_seconds(ds, index):
    return float(ds.durations[ds.batches[index]].sum())


class Tally:
    """Audio seconds, wall seconds and the distinct batch shapes of some epochs."""

    def __init__(self):
        self.audio = self.wall = 0.0
        self.per_epoch, self.all_shapes = [], set()

    def epoch(self, audio, wall, shapes):
        self.audio += audio
        self.wall += wall
        self.per_epoch.append(len(shapes))
        self.all_shapes |= shapes

    @property
    def rate(self):
        return self.audio / max(self.wall, 1e-9)


def run_direct(ds, epochs):
    """One thread, `ds[i]` in order: the per-worker cost of a batch."""
    tally = Tally()
    for _ in range(epochs):
        audio = sum(batch_seconds(ds, i) for i in range(len(ds)))
        shapes, start = set(), time.perf_counter()
        for i in range(len(ds)):
            x, y = ds[i]
            shapes.add((x.shape, y.shape))
        tally.epoch(audio, time.perf_counter() - start, shapes)
        ds.on_epoch_end()
    return tally


def run_keras(ds, epochs, tf_dataset=False):
    """Through Keras' PyDataset adapter, as `model.fit` reads it: the dataset's worker threads
    and queue, numpy batches (JAX, PyTorch) or TensorFlow's tf.data wrapper."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter
    adapter = PyDatasetAdapter(ds, shuffle=False)
    tally = Tally()
    for _ in range(epochs):
        audio = sum(batch_seconds(ds, i) for i in range(len(ds)))
        shapes, start = set(), time.perf_counter()
        adapter.on_epoch_begin()
        batches = adapter.get_tf_dataset() if tf_dataset else adapter.get_numpy_iterator()
        for x, y in batches:
            shapes.add((tuple(x.shape), tuple(y.shape)))
        tally.epoch(audio, time.perf_counter() - start, shapes)
        adapter.on_epoch_end()
    return tally


def run_from_disk(gen, ds):
    """One epoch, one thread, with the memory cache emptied: features read from .npy files."""
    saved = dict(gen.cache.memory)
    gen.cache.memory.clear()
    try:
        return run_direct(ds, 1)
    finally:
        gen.cache.memory.update(saved)


def training_rate(gen, ds, builder, n_batches):
    """Audio seconds per wall second of the demo model's training on this machine: `model.fit`
    over the dataset's first `n_batches` batches, the first WARMUP_BATCHES (tracing) left out."""
    import keras

    from vui.model.ctc import CTCLoss
    model = builder.build(gen.input_dim)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=CTCLoss(),
                  jit_compile=keras.backend.backend() == "jax")
    n_batches = min(n_batches, len(ds))

    class BatchClock(keras.callbacks.Callback):
        """When each training batch ended."""

        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

    clock = BatchClock()
    history = model.fit(ds, epochs=1, steps_per_epoch=n_batches, verbose=0, callbacks=[clock])
    audio = sum(batch_seconds(ds, i) for i in range(WARMUP_BATCHES, n_batches))
    wall = clock.ends[-1] - clock.ends[WARMUP_BATCHES - 1]
    loss = history.history["loss"][-1]
    if not np.isfinite(loss):
        print(f"  warning: the training loss is {loss}")
    return audio / max(wall, 1e-9), keras.backend.backend()


def shapes_by_padding(gen, builder, random_batches, multiples, epochs):
    """{multiple: (distinct shapes per epoch, over all epochs)} from each batch's longest
    utterance and label, as the dataset pads them (no batch is built)."""
    frames = {p: gen.featurize(p).shape[0] for p in gen.train_audio_paths}
    counts = {}
    for multiple in multiples:
        ds = gen.dataset("train", output_length=builder.output_length, shuffle=True,
                         sort_by_duration=not random_batches, pad_to_multiple=multiple)
        per_epoch, union = [], set()
        for _ in range(epochs):
            shapes = {(ds._padded(max(frames[ds.paths[i]] for i in batch), k),
                       ds._padded(max(len(ds.labels[i]) for i in batch), k))
                      for k, batch in enumerate(ds.batches)}
            per_epoch.append(len(shapes))
            union |= shapes
            ds.on_epoch_end()
        counts[multiple] = (per_epoch, len(union))
    return counts


def describe_shapes(tally):
    widths = sorted({x[1] for x, _ in tally.all_shapes})
    labels = sorted({y[1] for _, y in tally.all_shapes})
    return (f"{tally.per_epoch} per epoch, {len(tally.all_shapes)} over {len(tally.per_epoch)} "
            f"epochs ({len(widths)} time widths {widths[0]}..{widths[-1]}, {len(labels)} label "
            f"widths {labels[0]}..{labels[-1]})")


def report(features, args):
    import models as M
    builder = M.presets.demo()
    gen = make_generator(args.corpus, features, args.batch_size, args.epoch_seconds)
    ds = make_dataset(gen, builder, args.random_batches)
    seconds = float(np.sum(gen.train_durations))
    order = "random batches" if args.random_batches else "jittered duration buckets"
    print(f"\n== {features} ({gen.input_dim} dims), batch {args.batch_size}, "
          f"{len(gen.train_audio_paths)} utterances ({seconds:.0f} audio s), {order}, "
          f"time padded to multiples of {ds.pad_to_multiple} frames, {os.cpu_count()} CPUs")
    run_direct(ds, 1)                                   # touch every array once
    direct = run_direct(ds, args.epochs)
    print(f"pipeline, one thread (dataset[i]):        {direct.rate:9,.0f} audio s/s")
    keras_numpy = run_keras(ds, args.epochs)
    print(f"pipeline, fit's iterator ({ds.workers} threads, numpy): "
          f"{keras_numpy.rate:9,.0f} audio s/s")
    import keras
    if keras.backend.backend() == "tensorflow":
        keras_tf = run_keras(ds, args.epochs, tf_dataset=True)
        print(f"pipeline, fit's iterator (tf.data):       {keras_tf.rate:9,.0f} audio s/s")
    disk = run_from_disk(gen, ds)
    print(f"pipeline, one thread, from the disk cache: {disk.rate:9,.0f} audio s/s")
    print(f"distinct batch shapes: {describe_shapes(direct)}")
    for multiple, (per_epoch, union) in shapes_by_padding(gen, builder, args.random_batches,
                                                         PAD_MULTIPLES, args.epochs).items():
        print(f"  padded to multiples of {multiple:2d} frames and labels: {per_epoch} per epoch, "
              f"{union} over {args.epochs} epochs")
    if args.train_batches:
        rate, backend = training_rate(gen, ds, builder, args.train_batches)
        best = max(direct.rate, keras_numpy.rate)
        print(f"training, demo model ({backend}, CPU), {args.train_batches - WARMUP_BATCHES} "
              f"steps: {rate:9,.0f} audio s/s")
        print(f"pipeline / training: {best / rate:,.0f}x (target >= {TARGET_RATIO}x); pipeline "
              f"{'meets' if best >= TARGET_RATE else 'misses'} {TARGET_RATE:,} audio s/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="folder with train_corpus.json")
    parser.add_argument("--features", nargs="+", default=["mfcc26", "spectrogram"],
                        choices=sorted(FEATURE_PRESETS))
    parser.add_argument("--epochs", type=int, default=3, help="pipeline epochs timed")
    parser.add_argument("--batch-size", type=int, default=DEMO_BATCH)
    parser.add_argument("--epoch-seconds", type=float, default=EPOCH_AUDIO_SECONDS,
                        help="repeat the training index up to this much audio an epoch")
    parser.add_argument("--train-batches", type=int, default=24,
                        help="demo-model train steps timed (0: no training)")
    parser.add_argument("--random-batches", action="store_true",
                        help="shuffled batches of any lengths instead of duration buckets")
    args = parser.parse_args(argv)
    from vui import cpu_threads
    cpu_threads.configure()          # TensorFlow's threads as `vui train` sets them
    for features in args.features:
        report(features, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
