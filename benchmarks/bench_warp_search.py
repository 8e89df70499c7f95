"""Test-time warp search (vui.research.warp_search): greedy CER/WER of a model on each partition at no
warp, at the factor chosen per utterance and per speaker, averaged over all factors, and at
each fixed factor.

    python benchmarks/bench_warp_search.py --model results/NAME.keras --corpus data/holdout-slt \
        [--partitions valid holdout] [--score speech_frames] [--alphas 0.8 0.85 ... 1.2]

The "oracle" row picks each utterance's factor by its true CER: the most any choice of factor
could give, to show how much of it the model's confidence finds. One run prints one table.
"""
import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_families import INDEX_FILES  # noqa: E402  (this script's folder is on the path)
from vui.data.tts_corpus import EMBEDDED_ROOT  # noqa: E402
from vui.research.warp_search import DEFAULT_ALPHAS, SCORES  # noqa: E402


def greedy_texts(probs_list):
    from vui.decode.decoders import make_decoder
    decoder = make_decoder("greedy")
    return [decoder.decode(p) for p in probs_list]


def oracle_choice(texts, alphas, references):
    """Per utterance, the factor whose greedy transcript has the fewest character errors."""
    import jiwer
    import numpy as np
    errors = np.array([[jiwer.cer(r, texts[a][i]) if r else 0.0
                        for i, r in enumerate(references)] for a in alphas])
    return np.argmin(errors, axis=0)


def partition_rows(model, corpus, partition, alphas, score):
    import data_generator as DG
    from vui.decode.metrics import cer_wer
    from vui.research.warp_search import search_warps
    index = Path(corpus) / INDEX_FILES[partition]
    gen = DG.AudioGeneratorCached.for_features(model.vui_record["feature_config"])
    gen.load_test_data(str(index))
    stats = model.vui_record["normalization"]
    gen.set_normalization(stats["mean"], stats["std"])
    paths, _, references = gen.partition_data("test")
    features = [gen.get_features("test", i) for i in range(len(paths))]
    search = search_warps(model, features, gen.feature_config, stats["mean"], stats["std"],
                          alphas, score=score, verbose=1)
    texts = {a: greedy_texts(search.probs[a]) for a in search.alphas}   # each factor decoded once

    def chosen_texts():
        return [texts[a][i] for i, a in enumerate(search.chosen_alphas())]

    rows = []
    if 1.0 in search.alphas:
        rows.append(("no warp", *cer_wer(references, texts[1.0]), ""))
    for label, groups in (("per utterance", None), ("per speaker", gen.speakers("test"))):
        search.choose(groups)
        counts = Counter(search.chosen_alphas())
        spread = ", ".join(f"{a:g}: {n}" for a, n in sorted(counts.items()))
        rows.append((f"chosen {label}", *cer_wer(references, chosen_texts()), spread))
    rows.append(("averaged over factors",
                 *cer_wer(references, greedy_texts(search.averaged_probs())), ""))
    search.chosen = oracle_choice(texts, search.alphas, references)
    rows.append(("oracle per utterance", *cer_wer(references, chosen_texts()), ""))
    for a in search.alphas:
        rows.append((f"fixed {a:g}", *cer_wer(references, texts[a]), ""))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the demo's model")
    parser.add_argument("--corpus", default=str(EMBEDDED_ROOT))
    parser.add_argument("--partitions", nargs="+", default=["valid"], choices=sorted(INDEX_FILES))
    parser.add_argument("--alphas", nargs="+", type=float, default=list(DEFAULT_ALPHAS))
    parser.add_argument("--score", default="speech_frames", choices=SCORES)
    args = parser.parse_args(argv)

    import train_utils as T
    from vui import results as R
    model_path = R.default_model() if args.model is None else R.resolve_model_path(args.model)
    model = T.load_model(str(model_path))
    print(f"{model.vui_record['name']}\n{args.corpus} (greedy decoding, score {args.score})\n")
    print("| partition | decoding | CER | WER | factors chosen |\n|---|---|---|---|---|")
    for partition in args.partitions:
        for label, cer, wer, spread in partition_rows(model, args.corpus, partition,
                                                      args.alphas, args.score):
            print(f"| {partition} | {label} | {cer:.1%} | {wer:.1%} | {spread} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
