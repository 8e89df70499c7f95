"""CPU step time of the preset acoustic models (forward and forward+backward).

Prints, per preset: parameters, ms per inference batch, ms per training step, and audio seconds
processed per wall second in training (10 ms feature frames). The training step uses a
cross-entropy against random frame labels: the same graph cost as CTC training minus the loss
itself, so the figure isolates the model. Run: .venv/bin/python benchmarks/bench_models.py
"""
import argparse
import time

import keras
import numpy as np
from tqdm import tqdm

import models as M

FRAME_SECONDS = 0.010
DEFAULT_PRESETS = ("demo", "model_2", "final")
INPUT_DIM = {"final": 26}                  # the seed's final model ran on 26 MFCC features


def _time(fn, repeats):
    fn()                                   # trace / compile outside the timing
    start = time.perf_counter()
    for _ in tqdm(range(repeats), leave=False):
        fn()
    return (time.perf_counter() - start) / repeats


def bench(name, batch, frames, repeats):
    builder = getattr(M.presets, name)()
    input_dim = INPUT_DIM.get(name, 161)
    model = builder.build(input_dim)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, frames, input_dim)).astype("float32")
    y = rng.integers(0, M.NUM_CLASSES, size=(batch, builder.output_length(frames)))
    infer = _time(lambda: model.predict_on_batch(x), repeats)
    train = _time(lambda: model.train_on_batch(x, y), repeats)
    audio = batch * frames * FRAME_SECONDS
    print(f"{name:8s} params={model.count_params():>9,d} batch={batch}x{frames} frames | "
          f"infer {infer * 1e3:7.1f} ms | train step {train * 1e3:7.1f} ms | "
          f"train {audio / train:6.1f} audio s per s | cuDNN-eligible={builder.cudnn_eligible}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"backend={keras.backend.backend()}")
    for name in args.presets:
        bench(name, args.batch, args.frames, args.repeats)


if __name__ == "__main__":
    main()
