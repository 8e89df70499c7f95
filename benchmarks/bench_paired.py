"""Are two models really different on a partition? CER/WER with 95% speaker-bootstrap intervals,
and each model's paired difference from the first, on the same utterances.

The tables in docs/experiments/holdout.md compare one run per cell on 20 held-out speakers; this says which
of their gaps the test set alone can tell apart (vui.decode.metrics.speaker_interval: speakers are
resampled, as one talker's utterances fail together). It does not measure training noise: for
that, train again with another seed (bench_holdout.py --train-seed) and compare the runs here.

  .venv/bin/python benchmarks/bench_paired.py --corpus data/holdout-awb \
      --eval-index data/holdout-awb/holdout_corpus.json \
      --models results/holdout-awb-spec135/awb-spec-voices+warp/M.keras \
               results/holdout-awb-warm/awb-spec-voices+warp/M.keras
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vui import atomic  # noqa: E402  (after the sys.path line)
from vui.features.speaker_norm import PER_CHOICES as NORM_CHOICES  # noqa: E402

PARTITIONS = ("test", "validation")
COLUMNS = ("model (its directory)", "CER", "95% interval", "WER", "95% interval",
           "CER - first", "95% interval", "WER - first", "95% interval")


def evaluate_models(model_paths, corpus, eval_index, partition, decoder, warp_search,
                    speaker_norm=None):
    """([row label per evaluation], [vui.infer.evaluation.Evaluation]), all over the same utterances:
    one per model, and with `speaker_norm` ("speaker"/"utterance") a second per model with
    its features speaker-normalised (vui.features.speaker_norm). A model trained with a speaker shift
    is first evaluated as trained, shifted (its label says so), and gets no second row for
    that same shift."""
    import data_generator as DG
    import train_utils as T
    from vui.features.speaker_norm import as_config
    from vui.train.trained import model_info
    from vui.research.strategies import strategy_for
    labels, evaluations = [], []
    for path in model_paths:
        model = T.load_model(str(path))
        gen = DG.AudioGeneratorCached.for_corpus(model.vui_record["feature_config"], corpus,
                                                 eval_index)
        label = os.path.relpath(Path(path).parent)
        trained = model_info(model).speaker_norm
        if trained is not None:
            label += f" (trained and tested with {trained.per} norm)"
        norms = (None, speaker_norm) if speaker_norm and as_config(speaker_norm) != trained \
            else (None,)
        for norm in norms:
            labels.append(label if norm is None else f"{label} + {norm} norm")
            strategy = strategy_for(warp_search=warp_search or None, speaker_norm=norm)
            evaluations.append(T.evaluate(model, gen, partition, decoder=decoder, verbose=1,
                                          strategy=strategy))
    return labels, evaluations


def rows(labels, evaluations):
    """Per evaluation: rates, their intervals, and the paired differences from the first."""
    first = evaluations[0]
    out = []
    for label, ev in zip(labels, evaluations):
        row = {"model": label, "cer": ev.cer, "wer": ev.wer,
               "cer_interval": ev.interval("char"), "wer_interval": ev.interval("word"),
               "speakers": len(set(ev.speakers)), "utterances": ev.utterances}
        if ev is not first:
            row.update(cer_difference=ev.cer - first.cer, wer_difference=ev.wer - first.wer,
                       cer_difference_interval=ev.interval("char", baseline=first),
                       wer_difference_interval=ev.interval("word", baseline=first))
        out.append(row)
    return out


def markdown_table(table):
    def pct(x):
        return f"{100 * x:.1f}%"

    def span(pair):
        return "-" if pair is None else f"{100 * pair[0]:.1f} to {100 * pair[1]:.1f}"

    def signed(x):
        return f"{100 * x:+.1f}"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in table:
        cells = [r["model"], pct(r["cer"]), span(r["cer_interval"]), pct(r["wer"]),
                 span(r["wer_interval"])]
        if "cer_difference" in r:
            cells += [signed(r["cer_difference"]), span(r["cer_difference_interval"]),
                      signed(r["wer_difference"]), span(r["wer_difference_interval"])]
        else:
            cells += ["", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, metavar="KERAS",
                   help="saved models; differences are taken from the first")
    p.add_argument("--corpus", required=True, help="corpus directory (train/valid indexes)")
    p.add_argument("--eval-index", default=None,
                   help="index evaluated as the test partition (default: the corpus's test)")
    p.add_argument("--partition", default="test", choices=PARTITIONS)
    p.add_argument("--decoder", default="greedy", choices=("greedy", "beam"))
    p.add_argument("--warp-search", action="store_true")
    p.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                   help="also each model with each speaker's (or utterance's) features "
                        "shifted to the training mean (vui.features.speaker_norm)")
    p.add_argument("--out", default=None, help="also write the rows as JSON here")
    a = p.parse_args(argv)
    for path in a.models:
        if not os.path.isfile(path):
            p.error(f"--models: no saved model {path}")
    a.eval_index = a.eval_index or os.path.join(a.corpus, "test_corpus.json")
    return a


def main(argv=None):
    a = parse_args(argv)
    labels, evaluations = evaluate_models(a.models, a.corpus, a.eval_index, a.partition,
                                          a.decoder, a.warp_search, a.speaker_norm)
    table = rows(labels, evaluations)
    print(f"{a.partition} ({a.eval_index if a.partition == 'test' else a.corpus}), "
          f"{a.decoder}{' + warp search' if a.warp_search else ''}"
          f"{f' (second rows: + {a.speaker_norm} norm)' if a.speaker_norm else ''}, "
          f"{table[0]['utterances']} utterances of {table[0]['speakers']} speakers; "
          "intervals: 95%, speakers resampled (points)")
    print(markdown_table(table))
    if a.out:
        atomic.write_text(a.out, json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
