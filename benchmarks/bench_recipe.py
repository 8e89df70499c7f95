"""The demo's recipe under one change at a time: features and conv stride, at a fixed budget.

    python benchmarks/bench_recipe.py --features mfcc26 --stride 3 --minutes 6

Trains `M.presets.demo()` (with `--stride`, `--units`, `--layers` overriding its CNN stride,
GRU width and number of BiGRU layers; `--dropout` all its dropout rates; `--batch`, `--lr` the
batch size and peak learning rate; `--seed` the weights, dropout and batch order)
on the embedded corpus (or `--corpus ROOT`, e.g. one made with `vui corpus embedded --n-train`)
with `vui.demo.train` (Adam + a cosine over the time budget, like-length batches, the demo's
augmentation unless --augment says otherwise), then prints the epochs, the training throughput
and the greedy validation CER/WER. Each configuration gets its own results directory
(results/bench_recipe/), so a rerun reloads instead of retraining. Run one configuration at a
time: the figures are only comparable with the cores to themselves.
"""
import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS_DIR = Path("results/bench_recipe")


def threads_tag():
    """The TensorFlow thread counts in the tag (vui.cpu_threads's choice or --threads): runs
    under TensorFlow's defaults (before vui.cpu_threads, 2026-12-02) have none."""
    from vui import cpu_threads as C
    inter, intra = (os.environ.get(v) for v in (C.INTER_OP_VARIABLE, C.INTRA_OP_VARIABLE))
    return f"-t{inter}x{intra}" if inter or intra else ""


def main(argv=None):
    from vui import demo
    from vui.cli.common import DEFAULT_CORPUS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", choices=sorted(demo.FEATURE_CHOICES),
                        default=demo.DEMO_FEATURES)
    parser.add_argument("--stride", type=int, default=None, help="default: the preset's")
    parser.add_argument("--units", type=int, default=None, help="GRU units (default: preset's)")
    parser.add_argument("--layers", type=int, default=None,
                        help="bidirectional GRU layers (default: preset's)")
    parser.add_argument("--dropout", type=float, default=None,
                        help="every dropout rate of the model (default: the preset's, 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="weights and batch order")
    parser.add_argument("--batch", type=int, default=demo.DEMO_BATCH)
    parser.add_argument("--lr", type=float, default=demo.DEMO_LEARNING_RATE,
                        help="peak learning rate of the cosine")
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--augment", default=demo.DEMO_AUGMENT, help="a vui.augment.presets preset")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS),
                        help="a corpus root; one other than the default gets its own results")
    parser.add_argument("--threads", default=None, metavar="INTER,INTRA",
                        help="TensorFlow's inter-op and intra-op thread counts (default: "
                             "vui.cpu_threads's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        from vui import cpu_threads as C
        inter, intra = (int(n) for n in args.threads.split(","))
        os.environ.update({C.INTER_OP_VARIABLE: str(inter), C.INTRA_OP_VARIABLE: str(intra)})

    import models as M
    import train_utils as T
    from vui import results as R
    from vui.augment.presets import training_augmenter

    gen = demo.demo_generator(args.corpus, args.features, seed=args.seed)
    builder = M.presets.demo()
    if args.stride is not None:
        builder = dataclasses.replace(builder, cnn_config=dataclasses.replace(
            builder.cnn_config, conv_stride=args.stride))
    if args.units is not None:
        builder = dataclasses.replace(builder, rnn_units=args.units)
    if args.layers is not None:
        builder = dataclasses.replace(builder, rnn_layers=args.layers, bd_layers=args.layers)
    if args.dropout is not None:
        builder = dataclasses.replace(
            builder, rnn_dropout_rate=args.dropout, dropout_rate=args.dropout,
            cnn_config=dataclasses.replace(builder.cnn_config, cnn_dropout_rate=args.dropout))
    augment = training_augmenter(gen, preset=args.augment)
    dropout = "" if args.dropout is None else f"do{args.dropout:g}-"
    layers = "" if args.layers is None else f"x{args.layers}"
    corpus = "" if Path(args.corpus).resolve() == DEFAULT_CORPUS.resolve() \
        else f"-{Path(args.corpus).name}"
    tag = f"{args.features}-s{builder.cnn_config.conv_stride}-u{builder.rnn_units}{layers}-" \
          f"{dropout}{args.augment}-b{args.batch}-lr{args.lr:g}-{args.minutes:g}min" \
          + (f"-seed{args.seed}" if args.seed else "") + corpus \
          + threads_tag()
    results_dir = RESULTS_DIR / tag
    start = time.perf_counter()
    name = demo.train(gen, builder, minutes=args.minutes, batch=args.batch,
                      learning_rate=args.lr, augment=augment, results_dir=results_dir,
                      seed=args.seed)
    wall = time.perf_counter() - start
    model = T.load_model(R.run_paths(name, results_dir)[1])
    result = T.evaluate(model, gen, "validation")
    rec = model.vui_record
    times = np.asarray(rec["epoch_times"])
    audio = rec["train_audio_seconds"]
    later = R.run_epoch_seconds(rec)
    print(f"| {tag} | {rec['params']:,} | {len(times)} x {later:.0f} s | "
          f"{audio / later:.0f} | {np.nanmin(rec['val_loss']):.1f} | "
          f"{result.cer:.1%} / {result.wer:.1%} | {wall / 60:.1f} min |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
