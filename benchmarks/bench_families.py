"""CER/WER of a trained model per speaker family (espeak, kal, ked, slt, awb, rms) of a partition.

    python benchmarks/bench_families.py [--model results/NAME.keras] [--corpus data/embedded]
                                        [--partition valid] [--decoder greedy]

One overall figure hides where a model fails: the embedded corpus's validation and test
partitions mix espeak-ng formant voices with recorded speakers (festival/flite), and this table
says which of them the model hears. The family of each utterance comes from the corpus index.
A second table splits the word errors by whether the reference word occurs in the training
transcripts: a character model must spell an unseen word from its sound alone.
"""
import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vui.data.tts_corpus import EMBEDDED_ROOT  # noqa: E402

from vui.data.corpus_index import INDEX_FILES  # noqa: E402,F401  (bench_* import it from here)


GROUPINGS = ("family", "voice")


def family_of(index_path, by="family"):
    """{audio path: group} from a corpus index ("?" where the index has none): the speaker
    family, or with by="voice" the engine and voice ("flite:slt"), which splits a family that
    two engines speak."""
    from vui.data.corpus_index import read_index
    if by not in GROUPINGS:
        raise ValueError(f"by={by!r}: expected one of {GROUPINGS}")
    if by == "voice":
        return {entry["key"]: f"{entry.get('engine', '?')}:{entry.get('voice', '?')}"
                for entry in read_index(index_path)}
    return {entry["key"]: entry.get("family", "?") for entry in read_index(index_path)}


def per_family(paths, references, hypotheses, families):
    """[(family, utterances, cer, wer)], worst CER first, with an "all" row at the end."""
    from vui.decode.metrics import cer_wer
    groups = defaultdict(lambda: ([], []))
    for path, ref, hyp in zip(paths, references, hypotheses):
        refs, hyps = groups[families.get(path, "?")]
        refs.append(ref)
        hyps.append(hyp)
    rows = [(family, len(refs), *cer_wer(refs, hyps)) for family, (refs, hyps) in groups.items()]
    rows.sort(key=lambda row: -row[2])
    return rows + [("all", len(references), *cer_wer(references, hypotheses))]


def training_vocabulary(corpus):
    """The words of a corpus's training transcripts."""
    from char_map import normalize_text
    from vui.data.corpus_index import read_index
    return {word for entry in read_index(Path(corpus) / INDEX_FILES["train"])
            for word in normalize_text(entry["text"]).split()}


def print_seen_unseen(split):
    print("\n| reference words | words | word errors | WER |\n|---|---|---|---|")
    for kind in ("seen", "unseen"):
        words, errors = split[kind]
        print(f"| {kind} in training | {words} | {errors} | {errors / max(words, 1):.1%} |")
    print(f"(plus {split['inserted']} inserted words)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the demo's model")
    parser.add_argument("--corpus", default=str(EMBEDDED_ROOT))
    parser.add_argument("--partition", default="valid", choices=sorted(INDEX_FILES))
    parser.add_argument("--decoder", default="greedy", help="greedy, beam or beam_lm")
    parser.add_argument("--by", default="family", choices=GROUPINGS,
                        help="rows per speaker family or per engine:voice")
    args = parser.parse_args(argv)

    import data_generator as DG
    import train_utils as T
    from vui import results as R
    model_path = R.default_model() if args.model is None else R.resolve_model_path(args.model)
    model = T.load_model(str(model_path))
    index = Path(args.corpus) / INDEX_FILES[args.partition]
    gen = DG.AudioGeneratorCached.for_features(model.vui_record["feature_config"])
    gen.load_test_data(str(index))
    stats = model.vui_record["normalization"]
    gen.set_normalization(stats["mean"], stats["std"])
    result = T.evaluate(model, gen, "test", decoder=args.decoder, verbose=1)
    paths = gen.partition_data("test")[0]
    families = family_of(index, args.by)
    print(f"{model.vui_record['name']}\n{index} ({args.decoder} decoding)\n")
    print(f"| {args.by} | utterances | CER | WER |\n|---|---|---|---|")
    for family, n, cer, wer in per_family(paths, result.references, result.hypotheses, families):
        print(f"| {family} | {n} | {cer:.1%} | {wer:.1%} |")
    from vui.decode.metrics import seen_word_errors
    print_seen_unseen(seen_word_errors(result.references, result.hypotheses,
                                       training_vocabulary(args.corpus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
