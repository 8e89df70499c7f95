"""The `vui` command: what a user does outside Jupyter.

    vui corpus embedded|librispeech ...   build a corpus index
    vui train      train a preset on a corpus
    vui evaluate   CER/WER of a saved model on a partition
    vui compare    loss curves (PNG) and the results table of saved runs
    vui transcribe transcribe audio files (one line each, or --json)
    vui robust     evaluate / transcribe with the unseen-voice methods (warp search, speaker
                   shift, model gate: vui.research.strategies)
    vui lm         build an n-gram language model / tune its weights for a model
    vui export     a trained model as ONNX / LiteRT / SavedModel, with what inference needs
    vui serve      a transcription service (HTTP, WebSocket) and its web page
    vui sweep      train many models at once on Ray Tune
    vui demo       the whole pipeline on the embedded corpus

Heavy imports (Keras) happen inside the commands so `--help` answers at once.
"""
import argparse
import contextlib
import shlex
import sys
import warnings

QUIET_TF_LOG_LEVEL = "3"        # TensorFlow's C++ logs: errors only
RUNTIME_CHOICES = ("auto", "keras", "onnx", "litert", "savedmodel")
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

from vui.argtypes import finite_float, positive_float, positive_int
from vui.cli.common import (DEFAULT_CORPUS, FEATURE_CHOICES, OPTIMIZERS, add_evaluate_arguments,
                            add_max_duration_argument, add_transcribe_arguments, corpus_for,
                            corpus_generator, is_user_error, loss_limit, model_path,
                            optimizer_factory, print_evaluation, print_transcripts)
from vui.demo import DEMO_TOTAL_MINUTES, DEMO_TRAIN_MINUTES


def _preset(name):
    import models as M
    factory = getattr(M.presets, name, None)
    if factory is None or name.startswith("_"):
        raise ValueError(f"unknown preset {name!r}; try one of: demo, model_0 .. model_4, final")
    return factory()


def cmd_corpus(args, rest):
    if args.kind == "embedded":
        from vui.data import tts_corpus
        return tts_corpus.main(rest)
    from vui.data import librispeech
    return librispeech.main(rest)


def cmd_train(args, _):
    import train_utils as T
    from vui import results as R
    builder = _preset(args.preset)         # before any feature is computed
    gen = corpus_generator(args.corpus, args.features, minibatch_size=args.batch_size,
                           max_duration=args.max_duration)
    if args.speaker_norm:
        from vui.features.speaker_norm import as_config
        gen.speaker_norm = as_config(args.speaker_norm)
    augment = None
    if args.augment != "none":
        from vui.augment.presets import training_augmenter
        augment = training_augmenter(gen, preset=args.augment, n_variants=args.augment_variants)
    name = T.train_model(gen, builder, epochs=args.epochs, minibatch_size=args.batch_size,
                         optimizer=optimizer_factory(args.optimizer, args.lr),
                         sort_by_duration=args.sort_by_duration, time_limit=args.time_limit,
                         retrain=args.retrain, augment=augment, loss_limit=args.loss_limit,
                         results_dir=args.results, precision=args.precision,
                         distribution="data_parallel" if args.data_parallel else None,
                         verbose=1 if sys.stdout.isatty() else 2)   # a bar only where watched
    print(name)
    pickle_path, keras_path, _ = R.run_paths(name, args.results)
    print(f"model: {shlex.quote(str(keras_path))}", file=sys.stderr)   # ready to paste
    record = R.load_pickle(pickle_path)
    if record.get("diverged"):
        print(f"error: {record['stopped']}; the run keeps the weights of its last good epoch "
              "(try a lower --lr)", file=sys.stderr)
        return 1
    return 0


def cmd_evaluate(args, _):
    import train_utils as T
    from vui.train.trained import model_info
    model = T.load_model(model_path(args.model))
    info = model_info(model)
    gen = corpus_generator(corpus_for(args.corpus, info), info.feature_settings,
                           partitions=(args.partition,), stats=info.stats,
                           max_duration=args.max_duration)
    print_evaluation(T.evaluate(model, gen, args.partition, decoder=args.decoder,
                                decode_workers=args.decode_workers), args.partition)


def cmd_compare(args, _):
    from pathlib import Path

    import pandas as pd
    import train_utils as T
    from vui import results as R
    from vui.train.comparison import DEFAULT_PLOT_FILE
    names = args.names or None
    if None not in (args.min_loss, args.max_loss) and args.min_loss >= args.max_loss:
        raise ValueError(f"--min-loss {args.min_loss:g} is not below --max-loss {args.max_loss:g}")
    T.plot_comparison(model_names=names, results_dir=args.results, save_path=args.out,
                      show=False, min_loss=args.min_loss, max_loss=args.max_loss)
    with warnings.catch_warnings():          # the same runs: the plot has named any left out
        warnings.filterwarnings("ignore", message=r".*(could not be read|no results file)")
        table = T.comparison_table(model_names=names, results_dir=args.results)
    rates = {c: _percent for c in table.columns if c.split(" ")[0] in ("CER", "WER")}
    table = table.astype({c: float for c in rates})    # a column of Nones would print "None"
    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(table.to_string(formatters=rates, na_rep="-"))   # rates as train and evaluate
                                                                # print them; none: "-"
    if "decoded on" in table.columns:
        print("CER, WER: validation, greedy, as training ended; CER greedy/beam/beam_lm: "
              "vui lm tune's scores, on the partition in 'decoded on'")
    print(f"plot: {args.out or Path(args.results or R.RESULTS_DIR) / DEFAULT_PLOT_FILE}")
    return 0


def _percent(rate):
    return f"{rate:.2%}"       # a run not evaluated (interrupted, say) has none: pandas' na_rep


def cmd_transcribe(args, _):
    from vui.infer.runtimes import transcribe_with_runtime
    # --model as given (an export folder is welcome); None: the default model and its exports
    rows = transcribe_with_runtime(args.files, args.model, runtime=args.runtime,
                                   decoder=args.decoder, json=args.json, hotwords=args.hotword)
    return print_transcripts(rows, args.json)


def cmd_sweep(args, rest):
    from vui.cli import sweep as sweep_cli
    return sweep_cli.main(rest)


def cmd_export(args, rest):
    from vui.cli import export as export_cli
    return export_cli.main(rest)


def cmd_lm(args, rest):
    from vui.cli import lm as lm_cli
    return lm_cli.main(rest)


def cmd_robust(args, rest):
    from vui.cli import robust as robust_cli
    return robust_cli.main(rest)


def cmd_serve(args, rest):
    from vui.cli import serve
    return serve.main(rest)


def cmd_demo(args, _):
    from vui import demo
    return demo.run(minutes=args.minutes, corpus_root=args.corpus, fresh=args.fresh)


# Commands that hand everything after their name to their own module's parser:
# name -> (function, help line, description).
PASSTHROUGH_HELP = {
    "robust": (cmd_robust, "evaluate / transcribe with the unseen-voice methods: warp search, "
               "speaker shift, model gate (vui robust --help)",
               "vui robust evaluate --help / vui robust transcribe --help"),
    "lm": (cmd_lm, "n-gram language model: build, tune (vui lm --help)",
           "vui lm build --help / vui lm tune --help"),
    "serve": (cmd_serve, "a transcription service and web page (vui serve --help)",
              "vui serve --help"),
    "sweep": (cmd_sweep, "train many models at once on Ray Tune (vui sweep --help)",
              "vui sweep --help"),
    "export": (cmd_export, "a model as savedmodel / onnx / litert (vui export --help)",
               "vui export --help"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="vui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus", help="build a corpus index (embedded TTS corpus or LibriSpeech)",
                       description="vui corpus embedded --help / vui corpus librispeech --help")
    p.add_argument("kind", choices=("embedded", "librispeech"))
    p.set_defaults(func=cmd_corpus, passthrough=True)
    _add_train_parser(sub)
    p = sub.add_parser("evaluate", help="CER/WER of a saved model on a partition")
    add_evaluate_arguments(p)
    p.set_defaults(func=cmd_evaluate)
    _add_compare_parser(sub)
    _add_transcribe_parser(sub)
    for name, (func, help_text, description) in PASSTHROUGH_HELP.items():
        p = sub.add_parser(name, help=help_text, description=description)
        p.set_defaults(func=func, passthrough=True)
    p = sub.add_parser("demo", help="generate the embedded corpus, train the default model, report")
    p.add_argument("--minutes", type=positive_float, default=None,
                   help=f"training time budget (default {DEMO_TRAIN_MINUTES:g}, less where making "
                   f"the corpus took long, so that the demo ends within {DEMO_TOTAL_MINUTES:g})")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="default: %(default)s")
    p.add_argument("--fresh", action="store_true", help="retrain even if the demo model exists")
    p.set_defaults(func=cmd_demo)
    return parser


def _add_train_parser(sub):
    from vui.augment.presets import preset_names
    from vui.features.speaker_norm import PER_CHOICES as NORM_CHOICES
    p = sub.add_parser("train", help="train a preset model on a corpus")
    p.add_argument("--preset", default="demo", help="demo, model_0 .. model_4, final "
                   "(default %(default)s)")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS),
                   help="folder with *_corpus.json (default %(default)s)")
    p.add_argument("--features", default="spectrogram", choices=sorted(FEATURE_CHOICES),
                   help="default %(default)s")
    p.add_argument("--epochs", type=positive_int, default=20, help="default %(default)s")
    p.add_argument("--batch-size", type=positive_int, default=20, help="default %(default)s")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="sgd (the default): the seed's (lr 0.02, Nesterov, clipnorm 5)")
    p.add_argument("--lr", type=positive_float, default=None)
    p.add_argument("--sort-by-duration", action="store_true")
    add_max_duration_argument(p)
    p.add_argument("--time-limit", type=positive_float, default=None, help="seconds")
    p.add_argument("--loss-limit", type=loss_limit, default="auto",
                   help="stop when the training loss exceeds this (or turns NaN), keeping the "
                        "last good epoch's weights; 'auto' (the default): 100x the first "
                        "batch's loss; 'off': never")
    p.add_argument("--results", default=None,
                   help="results folder (default results/, or $VUI_RESULTS_DIR)")
    p.add_argument("--data-parallel", action="store_true",
                   help="one model on every device JAX sees (KERAS_BACKEND=jax; keras.distribution)")
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16", "mixed_float16"),
                   default="float32", help="mixed precision (float32 weights, softmax and CTC "
                   "loss; float16 is loss-scaled); the model is saved in float32")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--augment", default="none", choices=preset_names(),
                   help="training-time augmentation (default none): SpecAugment masks only, "
                   "precomputed waveform variants + SpecAugment (light, default, or voices: "
                   "talker variation without rooms or noise), or vocal-tract warps of the cached "
                   "features (warp; '+warp' adds them to another preset)")
    p.add_argument("--augment-variants", type=positive_int, default=4,
                   help="variants per utterance (default %(default)s)")
    p.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                   help="train on features shifted by each speaker's (or utterance's) mean "
                        "frame, every partition alike (per-speaker CMN, vui.features.speaker_norm); "
                        "the model's record keeps it, so evaluate and transcribe shift too; "
                        "not with --augment presets that change the voice")
    p.set_defaults(func=cmd_train)


def _add_compare_parser(sub):
    p = sub.add_parser("compare", help="plot loss curves and print the results table")
    p.add_argument("names", nargs="*", help="model names (default: every run under results/)")
    p.add_argument("--results", default=None,
                   help="results folder (default results/, or $VUI_RESULTS_DIR)")
    p.add_argument("--out", default=None, help="PNG path (default RESULTS/comparison.png)")
    p.add_argument("--min-loss", type=finite_float, default=None, help="the plot's lowest loss")
    p.add_argument("--max-loss", type=finite_float, default=None, help="the plot's highest loss")
    p.set_defaults(func=cmd_compare)


def _add_transcribe_parser(sub):
    p = sub.add_parser("transcribe", help="transcribe audio files, one line each")
    add_transcribe_arguments(p)
    p.add_argument("--runtime", default="auto", choices=RUNTIME_CHOICES,
                   help="auto: the fastest up-to-date export of the model (vui export), else Keras")
    p.add_argument("--hotword", action="append", default=None, metavar="WORD[:WEIGHT]",
                   help="boost a word in beam search (repeatable; one weight for all)")
    p.set_defaults(func=cmd_transcribe)


def main(argv=None):
    """Run a command; a user's mistake (a missing file, a bad value, a locked run) is one
    `error:` line and exit status 2, a traceback only for a bug or with --debug."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        with command_line_warnings(debug):
            return _dispatch(argv)
    except KeyboardInterrupt:
        resumes = argv[:1] in (["train"], ["sweep"], ["demo"])
        print("interrupted" + ("; the same command again resumes after the last finished epoch"
                               if resumes else ""), file=sys.stderr)
        return 130
    except Exception as err:
        if debug or not is_user_error(err):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def command_line_warnings(debug=False):
    """Warnings as a command-line tool says them (one_line_warning; --debug: Python's format),
    and at a terminal written above any progress bar (tqdm.write) rather than into its line,
    where the next redraw would overwrite them. Restored afterwards: main() may run
    in-process (a notebook)."""
    python_format, python_show = warnings.formatwarning, warnings.showwarning
    if not debug:
        warnings.formatwarning = one_line_warning
    if sys.stderr.isatty():       # where bars are redrawn; elsewhere Python's own display
        warnings.showwarning = _show_above_bars
    try:
        yield
    finally:
        warnings.formatwarning, warnings.showwarning = python_format, python_show


def _show_above_bars(message, category, filename, lineno, file=None, line=None):
    from tqdm import tqdm
    text = warnings.formatwarning(message, category, filename, lineno, line)
    tqdm.write(text.rstrip("\n"), file=file or sys.stderr)


def one_line_warning(message, category, filename, lineno, line=None):
    """A warning as a command-line tool says it: `warning: ...`, without the source line that
    raised it (--debug: Python's own format)."""
    return f"warning: {message}\n"


def _dispatch(argv):
    import os
    # A command line tool does not print its backend's start-up logs (TensorFlow's C++ ones).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_LOG_LEVEL)
    from vui import backend_logs, cpu_threads
    backend_logs.hold_startup_lines()   # the lines TensorFlow prints before it reads the level
    cpu_threads.configure()      # before any command starts TensorFlow's runtime
    if not {"-h", "--help"} & set(argv):
        check_backend_installed(os.environ.get("KERAS_BACKEND", "tensorflow"))
    parser = build_parser()
    if argv and argv[0] in PASSTHROUGH:
        # These hand everything after their first word to the module's own parser.
        if argv[0] == "corpus":
            args = parser.parse_args(argv[:2] if len(argv) > 1 else argv)
            return args.func(args, argv[2:]) or 0
        return PASSTHROUGH[argv[0]](None, argv[1:]) or 0
    args = parser.parse_args(argv)
    return args.func(args, []) or 0


def check_backend_installed(backend):
    """One clear line, not Keras' import traceback, when KERAS_BACKEND names a missing package
    (PyTorch is not in requirements.txt: README's first lines)."""
    import importlib.util
    package = BACKEND_PACKAGES.get(backend)
    if package and importlib.util.find_spec(package) is None:
        raise ValueError(f"KERAS_BACKEND={backend}, but {package} is not installed for "
                         f"{sys.executable}: pip install {package}, or unset KERAS_BACKEND "
                         "for TensorFlow")


PASSTHROUGH = {"corpus": cmd_corpus, **{name: entry[0] for name, entry in PASSTHROUGH_HELP.items()}}


if __name__ == "__main__":
    sys.exit(main())
