"""`vui lm build` (an ARPA word n-gram model from text) and `vui lm tune` (its weights for a model)."""
import argparse

from vui.argtypes import positive_int
from vui.cli.common import SCORED_PARTITIONS
from vui.data.tts_corpus import EMBEDDED_ROOT


def build_parser():
    parser = argparse.ArgumentParser(prog="vui lm", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("build", help="estimate a modified Kneser-Ney ARPA model")
    p.add_argument("--text", default=None,
                   help="a text file (one sentence a line) or a corpus index; "
                        "default: the corpus's training transcripts")
    p.add_argument("--corpus", default=str(EMBEDDED_ROOT),
                   help="corpus folder whose train_corpus.json gives the text when --text is "
                        "not given (default %(default)s)")
    p.add_argument("--order", type=positive_int, default=3, help="n-gram order (default 3)")
    p.add_argument("--out", required=True, help="ARPA file to write")
    p = sub.add_parser("tune", help="build the LM and pick alpha/beta on the validation partition")
    p.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's model)")
    p.add_argument("--corpus", default=None,
                   help="corpus folder (default: the model's training corpus, else the embedded)")
    p.add_argument("--text", default=None, help="LM text instead of the training transcripts")
    p.add_argument("--order", type=positive_int, default=3, help="n-gram order (default 3)")
    p.add_argument("--alphas", type=float, nargs="+", default=None,
                   help="LM weights to try (default: vui.decode.lm_tuning.DEFAULT_ALPHAS)")
    p.add_argument("--betas", type=float, nargs="+", default=None,
                   help="word bonuses to try (default: vui.decode.lm_tuning.DEFAULT_BETAS)")
    p.add_argument("--partition", default="test", choices=SCORED_PARTITIONS,
                   help="where to report greedy / beam / beam+LM after tuning (default "
                   "%(default)s)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.action == "build":
        from vui.decode import lm
        from vui.data.corpus_index import index_path
        source = args.text or index_path(args.corpus, "train")
        print(lm.build_lm_from_index(source, args.out, order=args.order))
        return 0
    from vui.cli.common import corpus_for, corpus_generator, model_path
    import train_utils as T
    from vui.train.trained import model_info
    model = T.load_model(model_path(args.model))
    info = model_info(model)
    gen = corpus_generator(corpus_for(args.corpus, info), info.feature_settings,
                           partitions=("train", "validation", args.partition))
    T.tune_language_model(model, gen, lm_text=args.text, order=args.order, alphas=args.alphas,
                          betas=args.betas)
    for kind, row in T.compare_decoders(model, gen, args.partition).items():
        print(f"{args.partition} {kind:8s} CER {row['cer']:.2%}  WER {row['wer']:.2%}  "
              f"RTF {row['real_time_factor']:.4f}")
    return 0
