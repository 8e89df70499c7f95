"""What the `vui` commands share: where the model and the corpus come from, the option menus.

Its own module so that command modules (vui.cli.main, vui.cli.lm) import it and never each other.
Heavy imports (Keras) happen inside the functions so `--help` answers at once.
"""
import argparse
import functools
from pathlib import Path

from vui.argtypes import count, positive_float
from vui.features.presets import FEATURE_PRESETS
from vui.data.corpus_index import DEFAULT_MAX_DURATION, index_path
from vui.decode.decoders import DECODER_KINDS
from vui.decode.parallel import MAX_DEFAULT_WORKERS, check_workers
from vui.data.tts_corpus import EMBEDDED_ROOT

DEFAULT_CORPUS = EMBEDDED_ROOT
FEATURE_CHOICES = FEATURE_PRESETS
DECODER_CHOICES = DECODER_KINDS
OPTIMIZERS = ("sgd", "adam")
SCORED_PARTITIONS = ("validation", "test", "holdout")   # --partition of evaluate and lm tune
ADAM_DEFAULT_LR = 1e-3
ADAM_CLIPNORM = 5.0


def model_path(model):
    """--model: a .keras path, its .pickle or a run's name; None: the demo's model."""
    from vui import results as R
    return R.default_model() if model is None else R.resolve_model_path(model)


def corpus_generator(corpus, features, **options):
    """DG.AudioGeneratorCached.for_corpus: the corpus folder's partitions, with `features` a
    FEATURE_CHOICES name or a trained model's feature settings; a missing index's error says
    which option names another folder."""
    import data_generator as DG
    from vui.data.corpus_index import MissingIndexError
    try:
        return DG.AudioGeneratorCached.for_corpus(features, corpus, **options)
    except MissingIndexError as err:
        raise MissingIndexError(f"{err}; --corpus names another folder") from err


def optimizer_factory(name, lr=None):
    """--optimizer and --lr as train_model takes them: None (the seed's SGD at its rate), or a
    factory of a fresh optimizer (Keras 3 optimizers cannot be shared by two models)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r}: expected one of {OPTIMIZERS}")
    if name == "sgd":
        import train_utils as T
        return None if lr is None else functools.partial(T.seed_optimizer, lr)
    import keras
    return functools.partial(keras.optimizers.Adam, learning_rate=lr or ADAM_DEFAULT_LR,
                             clipnorm=ADAM_CLIPNORM)


def corpus_for(corpus, info):
    """--corpus, or where the model was trained (its train index's folder, if that is a
    corpus folder still), else the embedded corpus; said on stderr when not given."""
    import sys
    if corpus is not None:
        return corpus
    trained_on = Path(info.train_index).parent if info.train_index else None
    if trained_on is not None and Path(index_path(trained_on, "train")).is_file():
        print(f"corpus: {trained_on} (where the model was trained; --corpus to choose)",
              file=sys.stderr)
        return str(trained_on)
    print(f"corpus: {DEFAULT_CORPUS} (the embedded default; --corpus to choose)", file=sys.stderr)
    return str(DEFAULT_CORPUS)


def loss_limit(text):
    """An argparse type: a loss limit (a number > 0), 'auto', or 'off' (None: no limit)."""
    if text == "off":
        return None
    return "auto" if text == "auto" else positive_float(text)


def is_user_error(err):
    """An error a user can fix from its message (a file, a value, a run's state), as opposed
    to a bug: the toolkit raises these with what was expected."""
    import sys
    guards = sys.modules.get("vui.train.guards")
    run_error = (guards.RunError,) if guards else ()
    return isinstance(err, (ValueError, OSError, *run_error))


def add_evaluate_arguments(p):
    """The options of `vui evaluate`, which `vui robust evaluate` has too."""
    p.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's model)")
    p.add_argument("--corpus", default=None,
                   help="corpus folder (default: the model's training corpus, else the embedded)")
    p.add_argument("--partition", default="validation", choices=SCORED_PARTITIONS,
                   help="default %(default)s; holdout: the voice families `vui corpus "
                        "embedded --holdout-families` kept out")
    p.add_argument("--decoder", default="greedy", choices=DECODER_CHOICES)
    p.add_argument("--decode-workers", type=decode_workers, default=None,
                   help="processes that share beam searches (default: one per core, at most "
                        f"{MAX_DEFAULT_WORKERS}; 0: this process, whose real-time factor is "
                        "the decoder's own)")
    add_max_duration_argument(p)


def decode_workers(text):
    """--decode-workers: a whole number from 0 to the usable cores."""
    try:
        return check_workers(count(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_max_duration_argument(p):
    p.add_argument("--max-duration", type=positive_float, default=DEFAULT_MAX_DURATION,
                   help=f"seconds; longer utterances are left out and counted (default "
                        f"{DEFAULT_MAX_DURATION:g}, the seed's)")


def add_transcribe_arguments(p):
    """The options of `vui transcribe`, which `vui robust transcribe` has too (its --model
    may be left out for a --gate's)."""
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's model)")
    p.add_argument("--decoder", default="greedy", choices=DECODER_CHOICES)
    p.add_argument("--json", action="store_true", help="one JSON object a line: file, transcript, timing")


def print_evaluation(result, partition):
    """An evaluation's error rates, cost and 95% speaker-bootstrap intervals."""
    print(f"{partition}: CER {result.cer:.2%}  WER {result.wer:.2%}  ({result.utterances} "
          f"utterances, decoder {result.decoder}, real-time factor {result.real_time_factor:.4f}"
          f"{_shared(result.decode_workers)})")
    print(interval_line(result))


def _shared(workers):
    """Which real-time factor it is: with a pool, its start and its processes' are in it."""
    return f" with {workers} decoding process{'es' if workers > 1 else ''}" if workers else ""


def interval_line(result):
    """The 95% speaker-bootstrap intervals, or why there are none (a single speaker)."""
    n = len(set(result.speakers))
    cer, wer = result.interval("char"), result.interval("word")
    if cer is None:
        return f"(no confidence interval: {n} speaker; it resamples speakers)"
    return (f"95% interval over {n} speakers (bootstrap): CER {cer[0]:.2%}-{cer[1]:.2%}  "
            f"WER {wer[0]:.2%}-{wer[1]:.2%}")


def print_transcripts(rows, as_json):
    """Every input a line, in order: a JSON object, or (plain) the transcript, labelled
    `FILE<TAB>` when there are several files so a failed one shifts no line; a failure is an
    `error: ...` row. An empty transcript stays an empty line (one line per input), with a
    note on stderr so that a person does not take it for a hang or a crash. The exit status:
    1 if any file failed."""
    import json
    import sys
    labelled = len(rows) > 1
    for row in rows:
        text = f"error: {row['error']}" if "error" in row else row["transcript"]
        if not (text or as_json):
            print(f"note: no words recognised in {row['file']}", file=sys.stderr)
        if as_json:
            print(json.dumps(row))
        elif labelled:
            print(f"{row['file']}\t{text}")
        elif "error" in row:
            print(text, file=sys.stderr)
        else:
            print(text)
    return 1 if any("error" in r for r in rows) else 0
