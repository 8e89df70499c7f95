"""HoistedGRU (vui/fast_gru.py) against keras.layers.GRU: training steps of the demo model.

    python benchmarks/bench_gru.py [--batch 48] [--frames 225] [--steps 12] [--rounds 3]

Builds M.presets.demo() twice on MFCC 26 input, once with Keras's GRU and once with HoistedGRU
(same weights), and times train_on_batch on one synthetic batch of the corpus's mean length
(2.25 s = 225 frames, 35-character labels), alternating the two for --rounds rounds so a busy
machine slows both alike. Prints ms per step, audio seconds per wall second and the ratio.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABEL_LENGTH = 35
FEATURE_DIM = 26
FRAMES_PER_SECOND = 100


def build(gru_class, seed=0):
    import keras
    import models as M
    from vui.ctc import CTCLoss
    original = M.HoistedGRU
    M.HoistedGRU = gru_class
    try:
        keras.utils.set_random_seed(seed)
        model = M.presets.demo().build(FEATURE_DIM)
    finally:
        M.HoistedGRU = original
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0), loss=CTCLoss())
    return model


def batch(model, size, frames, rng):
    x = rng.standard_normal((size, frames, FEATURE_DIM)).astype("float32")
    labels = rng.integers(2, 28, (size, LABEL_LENGTH))
    out_frames = np.full((size, 1), int(model.output_length(frames)))
    # packed targets (vui.ctc.unpack_targets): output length, label length, labels
    y = np.concatenate([out_frames, np.full((size, 1), LABEL_LENGTH), labels], axis=1)
    return x, y.astype("float32")


def seconds_per_step(model, x, y, steps):
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=48)
    parser.add_argument("--frames", type=int, default=225)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    from vui.fast_gru import HoistedGRU
    models = {"keras GRU": build(keras.layers.GRU), "HoistedGRU": build(HoistedGRU)}
    x, y = batch(models["keras GRU"], args.batch, args.frames, np.random.default_rng(0))
    times = {name: [] for name in models}
    for model in models.values():
        seconds_per_step(model, x, y, 2)          # tracing
    for _ in range(args.rounds):
        for name, model in models.items():
            times[name].append(seconds_per_step(model, x, y, args.steps))
    audio = args.batch * args.frames / FRAMES_PER_SECOND
    for name, t in times.items():
        best = min(t)
        print(f"{name:10s}: {1000 * best:6.0f} ms/step (best of {args.rounds}; all "
              f"{', '.join(f'{1000 * v:.0f}' for v in t)}), {audio / best:5.0f} audio s/s")
    print(f"HoistedGRU / keras GRU speed: {min(times['keras GRU']) / min(times['HoistedGRU']):.2f}x "
          f"(backend {keras.backend.backend()}, batch {args.batch}, {args.frames} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
