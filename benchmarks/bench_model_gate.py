"""The model gate (vui.research.model_gate): greedy CER/WER of an unaugmented model, an augmented one,
and the two behind the gate, on each partition of a leave-one-family-out corpus.

    .venv/bin/python benchmarks/bench_model_gate.py \\
        --model results/holdout-rms-spec120/rms-spec-none \\
        --robust results/holdout-rms-spec120/rms-spec-voices+warp \\
        --corpus data/holdout-rms [--calibrate test] [--partitions valid holdout] \\
        [--quantile 0.05] [--per speaker|utterance] [--warp-search]
        [--speaker-norm speaker|utterance]

The threshold is set on the in-family `--calibrate` partition (default: test), so the valid
and holdout figures come from utterances the gate never looked at. A model is a .keras file
or a folder holding one (bench_holdout.py's results). `--warp-search` adds a row with each
speaker warp-searched under the model the gate gave him (9x the time of the row above it).
`--per utterance` routes (and calibrates on) each utterance alone, as `vui robust transcribe --gate`
does with files whose speakers it does not know. `--speaker-norm` adds rows with the routed
speakers' features shifted to the training mean (vui.features.speaker_norm), and with `--warp-search`
a row with both.
One run prints one table.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_families import INDEX_FILES  # noqa: E402  (this script's folder is on the path)
from vui.research.model_gate import DEFAULT_QUANTILE, PER_CHOICES, GateConfig  # noqa: E402
from vui.features.speaker_norm import PER_CHOICES as NORM_CHOICES  # noqa: E402
from vui.research.warp_search import SCORES  # noqa: E402


def model_path(arg):
    """A .keras path, a run's name, or a folder with exactly one .keras file in it."""
    from vui import results as R
    path = Path(arg)
    if path.is_dir():
        found = sorted(path.glob("*.keras"))
        if len(found) != 1:
            raise SystemExit(f"{arg}: expected one .keras model in the folder, found {len(found)}")
        return found[0]
    return R.resolve_model_path(arg)


def generator_for(model, corpus, partition):
    """A generator with `partition`'s index of `corpus` loaded as its test partition."""
    import data_generator as DG
    gen = DG.AudioGeneratorCached.for_features(model.vui_record["feature_config"])
    stats = model.vui_record["normalization"]
    gen.set_normalization(stats["mean"], stats["std"])
    gen.load_test_data(str(Path(corpus) / INDEX_FILES[partition]))
    return gen


def decodings(warp_search=False, speaker_norm=None):
    """(row label, who decodes: "model", "robust" or "gate", vui.research.strategies.strategy_for
    options) per row."""
    rows = [("unaugmented model", "model", {}), ("augmented model", "robust", {}),
            ("gate", "gate", {})]
    if warp_search:
        rows.append(("gate + warp search", "gate", dict(warp_search=True)))
    if speaker_norm:
        norm = dict(speaker_norm=speaker_norm)
        rows += [(f"augmented model + {speaker_norm} norm", "robust", norm),
                 (f"gate + {speaker_norm} norm", "gate", norm)]
        if warp_search:
            rows.append((f"gate + warp search + {speaker_norm} norm", "gate",
                         dict(norm, warp_search=True)))
    return rows


def partition_rows(model, robust, gate, corpus, partition, warp_search=False, speaker_norm=None):
    import train_utils as T
    from vui.research.strategies import gate_routed, strategy_for
    gen = generator_for(model, corpus, partition)
    n_speakers = len(set(gen.speakers("test")))
    rows = []
    for label, who, options in decodings(warp_search, speaker_norm):
        strategy = strategy_for(gate=gate if who == "gate" else None, **options)
        result = T.evaluate(robust if who == "robust" else model, gen, "test", verbose=0,
                            strategy=strategy)
        routed, sent = "", gate_routed(result)
        if sent is not None:
            speakers = {s for s, r in zip(gen.speakers("test"), sent) if r}
            routed = f"{len(speakers)} of {n_speakers}"
            if gate.per == "utterance":
                routed += f" ({sum(sent)} of {result.utterances} utterances)"
        rows.append((label, result.cer, result.wer, routed))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the unaugmented model")
    parser.add_argument("--robust", required=True, help="the augmented model")
    parser.add_argument("--corpus", required=True, help="a bench_holdout.py corpus folder")
    parser.add_argument("--calibrate", default="test", choices=sorted(INDEX_FILES))
    parser.add_argument("--partitions", nargs="+", default=["valid", "holdout"],
                        choices=sorted(INDEX_FILES))
    parser.add_argument("--quantile", type=float, default=DEFAULT_QUANTILE)
    parser.add_argument("--score", default="speech_frames", choices=SCORES)
    parser.add_argument("--per", default="speaker", choices=PER_CHOICES)
    parser.add_argument("--warp-search", action="store_true",
                        help="also the gate with the warp search on both models")
    parser.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                        help="also the augmented model and the gate with the routed speakers' "
                             "features shifted to the training mean (vui.features.speaker_norm)")
    args = parser.parse_args(argv)
    if args.calibrate in args.partitions:
        parser.error(f"--calibrate {args.calibrate} is also in --partitions: the gate would be "
                     f"scored on the speakers that set its threshold")

    import train_utils as T
    from vui.research.model_gate import ModelGate
    model, robust = (T.load_model(str(model_path(m))) for m in (args.model, args.robust))
    gate = ModelGate.calibrate(model, robust, generator_for(model, args.corpus, args.calibrate),
                               "test", GateConfig(args.quantile, args.score, args.per))
    print(f"unaugmented: {model.vui_record['name']}\naugmented:   {robust.vui_record['name']}\n"
          f"{args.corpus}: threshold {gate.threshold:.4f} ({args.score}, quantile "
          f"{args.quantile:g} of the {args.calibrate} partition's {args.per}s), greedy\n")
    print("| partition | decoding | CER | WER | speakers to the augmented model |\n"
          "|---|---|---|---|---|")
    for partition in args.partitions:
        for label, cer, wer, routed in partition_rows(model, robust, gate, args.corpus, partition,
                                                      args.warp_search, args.speaker_norm):
            print(f"| {partition} | {label} | {cer:.1%} | {wer:.1%} | {routed} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
