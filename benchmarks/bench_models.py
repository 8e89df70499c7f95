"""CPU step time of the preset acoustic models (forward and forward+backward).

Prints, per preset: parameters, ms per inference batch, ms per training step, and audio seconds
processed per wall second in training (10 ms feature frames). The training step uses a
cross-entropy against random frame labels: the same graph cost as CTC training minus the loss
itself, so the figure isolates the model. Run: .venv/bin/python benchmarks/bench_models.py

--utilisation adds, per preset, the arithmetic rate of its training step (the layers' matrix
products counted from their shapes, x3 for forward + backward) next to the rate this machine's
matrix products reach in one large product and at the recurrent layers' own shapes: how far
a faster kernel could still take training (docs/experiments/summary.md, "Demo").
"""
import argparse
import concurrent.futures
import os
import time

import keras
import numpy as np
from tqdm import tqdm

import models as M

FRAME_SECONDS = 0.010
DEFAULT_PRESETS = ("demo", "model_2", "final")
INPUT_DIM = {"final": 26, "demo": 26}      # the seed's final model and the demo run on MFCC 26
TRAIN_FLOPS_PER_FORWARD = 3                # backward ~ twice the forward's products
PEAK_MATMUL_SIZE = 1536                    # a square product large enough to reach the peak


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
    return model, train


def _recurrent_cell(layer):
    """(cell layer, directions) of a recurrent or Bidirectional layer, else (None, 0)."""
    if isinstance(layer, keras.layers.Bidirectional):
        return layer.forward_layer, 2
    if isinstance(layer, keras.layers.RNN):
        return layer, 1
    return None, 0


def _gates(cell):
    """Weight blocks per recurrent step: GRU 3, LSTM 4, SimpleRNN 1."""
    return {"GRU": 3, "LSTM": 4}.get(type(cell).__name__, 1)


def _layer_flops(layer, in_width, steps):
    """Multiply-add FLOPs of one layer's forward pass over `steps` time steps of one utterance
    (matrix products only: the element-wise work is a few percent of them)."""
    cell, directions = _recurrent_cell(layer)
    if cell is not None:
        return directions * steps * 2 * _gates(cell) * cell.units * (in_width + cell.units)
    if isinstance(layer, keras.layers.Conv1D):
        return steps * 2 * layer.kernel_size[0] * in_width * layer.filters
    if isinstance(layer, keras.layers.Dense):
        return steps * 2 * in_width * layer.units
    return 0


def forward_flops(model, input_dim, frames):
    """Forward FLOPs of `model` on one utterance of `frames` feature frames; each layer's time
    steps are read off one batch-of-one pass (strided convolutions shorten them)."""
    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    probe = keras.Model(model.inputs, [l.output for l in layers])
    outputs = probe.predict_on_batch(np.zeros((1, frames, input_dim), "float32"))
    return sum(_layer_flops(l, l.input.shape[-1], o.shape[1])
               for l, o in zip(layers, outputs) if not isinstance(l.input, list))


def matmul_gflops(rows, inner, cols, repeats, parallel):
    """GFLOP/s of float32 keras.ops.matmul at one shape, `parallel` threads each running
    `repeats` products at once: the eager op releases the GIL, so every core is busy whatever
    the backend's intra-op thread setting (vui.cpu_threads gives TensorFlow one per op)."""
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.normal(size=(rows, inner)).astype("float32"))
    b = keras.ops.convert_to_tensor(rng.normal(size=(inner, cols)).astype("float32"))

    def products():
        for _ in range(repeats):
            keras.ops.convert_to_numpy(keras.ops.matmul(a, b))

    products()                             # warm-up outside the timing
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        for future in [pool.submit(products) for _ in range(parallel)]:
            future.result()
    return parallel * repeats * 2 * rows * inner * cols / (time.perf_counter() - start) / 1e9


def utilisation(name, model, batch, frames, train_seconds, repeats):
    """Prints the training step's GFLOP/s against the machine's matrix-product rates."""
    input_dim = INPUT_DIM.get(name, 161)
    step_flops = TRAIN_FLOPS_PER_FORWARD * batch * forward_flops(model, input_dim, frames)
    achieved = step_flops / train_seconds / 1e9
    cores = os.cpu_count()
    peak = matmul_gflops(PEAK_MATMUL_SIZE, PEAK_MATMUL_SIZE, PEAK_MATMUL_SIZE, repeats * 4, cores)
    cells = [_recurrent_cell(l)[0] for l in model.layers]
    rnn = [(c, l) for c, l in zip(cells, model.layers) if c is not None]
    if rnn:   # the last recurrent layer's input and recurrent products of one step, as one
        cell, layer = rnn[-1]
        width, out = layer.input.shape[-1] + cell.units, _gates(cell) * cell.units
        small = matmul_gflops(batch, width, out, repeats * 200, cores)
        small_text = f" | one recurrent step's product ({batch}x{width}x{out}) " \
                     f"{small:6.1f} GFLOP/s"
    else:
        small_text = ""
    print(f"{name:8s} training step {achieved:6.1f} GFLOP/s = {achieved / peak:.0%} of "
          f"{PEAK_MATMUL_SIZE}^3 products' {peak:6.1f} GFLOP/s on {cores} cores{small_text}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--utilisation", action="store_true",
                        help="also the training step's GFLOP/s against the machine's matmul rate")
    args = parser.parse_args()
    print(f"backend={keras.backend.backend()}")
    for name in args.presets:
        model, train_seconds = bench(name, args.batch, args.frames, args.repeats)
        if args.utilisation:
            utilisation(name, model, args.batch, args.frames, train_seconds, args.repeats)


if __name__ == "__main__":
    main()
