"""The `vui` command: what a user does outside Jupyter.

    vui corpus embedded|librispeech ...   build a corpus index
    vui train      train a preset on a corpus
    vui evaluate   CER/WER of a saved model on a partition
    vui compare    loss curves (PNG) and the results table of saved runs
    vui transcribe transcribe audio files (one line each, or --json)
    vui lm         build an n-gram language model / tune its weights for a model
    vui demo       the whole pipeline on the embedded corpus

Heavy imports (Keras) happen inside the commands so `--help` answers at once.
"""
import argparse
import json
import sys
from pathlib import Path

from vui.cli_common import (DECODER_CHOICES, DEFAULT_CORPUS, FEATURE_CHOICES,
                            corpus_generator, model_path)


def _preset(name):
    import models as M
    factory = getattr(M.presets, name, None)
    if factory is None or name.startswith("_"):
        raise SystemExit(f"unknown preset {name!r}; try one of: demo, model_0 .. model_4, final")
    return factory()


def cmd_corpus(args, rest):
    if args.kind == "embedded":
        from vui import tts_corpus
        return tts_corpus.main(rest)
    from vui import librispeech
    return librispeech.main(rest)


def cmd_train(args, _):
    import train_utils as T
    gen = corpus_generator(args.corpus, args.features, args.batch_size)
    if args.speaker_norm:
        from vui.speaker_norm import as_config
        gen.speaker_norm = as_config(args.speaker_norm)
    augment = None
    if args.augment != "none":
        from vui.augment_presets import training_augmenter
        augment = training_augmenter(gen, preset=args.augment, n_variants=args.augment_variants)
    name = T.train_model(gen, _preset(args.preset), epochs=args.epochs,
                         minibatch_size=args.batch_size, optimizer=_optimizer(args),
                         sort_by_duration=args.sort_by_duration, time_limit=args.time_limit,
                         retrain=args.retrain, augment=augment)
    print(name)


def _optimizer(args):
    import keras
    if args.optimizer == "sgd":
        return None if args.lr is None else (lambda: __import__("train_utils").seed_optimizer(args.lr))
    return lambda: keras.optimizers.Adam(learning_rate=args.lr or 1e-3, clipnorm=5.0)


def cmd_evaluate(args, _):
    import train_utils as T
    if args.save_gate and not args.robust_model:
        raise SystemExit("--save-gate needs --robust-model: the gate is the pair of models")
    if args.robust_model and args.calibrate_on == args.partition:
        raise SystemExit(f"--calibrate-on {args.calibrate_on} is --partition too: the gate's "
                         f"threshold must come from other speakers than the ones it is scored on")
    model = T.load_model(model_path(args.model))
    calibration = (args.calibrate_on,) if args.robust_model else ()
    gen = corpus_generator(args.corpus, model.vui_record["feature_config"],
                     partitions=("train", args.partition, *calibration))
    gate = _model_gate(model, gen, args) if args.robust_model else None
    result = T.evaluate(model, gen, args.partition, decoder=args.decoder,
                        warp_search=args.warp_search, gate=gate,
                        speaker_norm=False if args.speaker_norm == "off" else args.speaker_norm)
    print(f"{args.partition}: CER {result.cer:.2%}  WER {result.wer:.2%}  ({result.utterances} "
          f"utterances, decoder {result.decoder}, real-time factor {result.real_time_factor:.4f})")
    print(_interval_line(result))
    if gate is not None:
        speakers = gen.speakers(args.partition)[:result.utterances]
        routed = {s for s, r in zip(speakers, result.gate_routed) if r}
        print(f"gate: threshold {gate.threshold:.4f} (set on {args.calibrate_on}, per "
              f"{gate.per}); {sum(result.gate_routed)} of {result.utterances} utterances, "
              f"{len(routed)} of {len(set(speakers))} speakers, decoded by {args.robust_model}")
    if args.save_gate:
        _save_gate(gate, gen, args)


def _interval_line(result):
    """The 95% speaker-bootstrap intervals, or why there are none (a single speaker)."""
    n = len(set(result.speakers))
    cer, wer = result.interval("char"), result.interval("word")
    if cer is None:
        return f"(no confidence interval: {n} speaker; it resamples speakers)"
    return (f"95% interval over {n} speakers (bootstrap): CER {cer[0]:.2%}-{cer[1]:.2%}  "
            f"WER {wer[0]:.2%}-{wer[1]:.2%}")


def _save_gate(gate, gen, args):
    from vui.model_gate import save_gate
    calibration = {"corpus": str(args.corpus), "partition": args.calibrate_on,
                   "speakers": len(set(gen.speakers(args.calibrate_on)))}
    save_gate(gate, args.save_gate, model_path(args.model), model_path(args.robust_model),
              calibration)
    print(f"gate saved to {args.save_gate} (vui transcribe --gate {args.save_gate})")


def _model_gate(model, gen, args):
    import train_utils as T
    from vui.model_gate import GateConfig, ModelGate
    robust = T.load_model(model_path(args.robust_model))
    return ModelGate.calibrate(model, robust, gen, args.calibrate_on, GateConfig(per=args.gate_per))


def cmd_compare(args, _):
    import pandas as pd
    import train_utils as T
    names = args.names or None
    T.plot_comparison(model_names=names, save_path=args.out, show=False,
                      min_loss=args.min_loss, max_loss=args.max_loss)
    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(T.comparison_table(model_names=names))
    print(f"plot: {args.out or 'results/comparison.png'}")


def cmd_transcribe(args, _):
    from vui.transcribe import existing_files, transcribe_files
    paths = existing_files(args.files)
    model, config, gate = _transcription_models(args)
    rows = transcribe_files(model, config, paths, decoder=args.decoder,
                            warp_search=args.warp_search or (args.one_speaker
                                                             and not args.speaker_norm),
                            one_speaker=args.one_speaker, gate=gate,
                            speaker_norm=args.speaker_norm)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif "error" in row:
            print(f"error: {row['error']}", file=sys.stderr)
        else:
            print(row["transcript"])
    return 1 if any("error" in r for r in rows) else 0


def _transcription_models(args):
    """(model, its feature settings, a ModelGate or None) from --model or --gate."""
    from vui.transcribe import feature_config_of, load_for_inference
    if args.gate and args.model:
        raise SystemExit("give --model or --gate, not both: the gate's threshold belongs to "
                         "the model it was set with, which its file names")
    if not args.gate:
        return (*load_for_inference(model_path(args.model)), None)
    from vui.model_gate import gate_from_record, read_gate_file
    from vui.transcribe import check_gate_for_one_speaker
    record = read_gate_file(args.gate)
    try:
        check_gate_for_one_speaker(record["per"], args.one_speaker)
    except ValueError as error:
        raise SystemExit(f"{args.gate}: {error} (--one-speaker)") from None
    model, gate = gate_from_record(record)
    return model, feature_config_of(model), gate


def cmd_lm(args, rest):
    from vui import lm_cli
    return lm_cli.main(rest)


def cmd_demo(args, _):
    from vui import demo
    return demo.run(minutes=args.minutes, corpus_root=args.corpus, fresh=args.fresh)


def build_parser():
    parser = argparse.ArgumentParser(prog="vui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("corpus", help="build a corpus index (embedded TTS corpus or LibriSpeech)",
                       description="vui corpus embedded --help / vui corpus librispeech --help")
    p.add_argument("kind", choices=("embedded", "librispeech"))
    p.set_defaults(func=cmd_corpus, passthrough=True)

    p = sub.add_parser("train", help="train a preset model on a corpus")
    p.add_argument("--preset", default="demo", help="demo, model_0 .. model_4, final")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="folder with *_corpus.json")
    p.add_argument("--features", default="spectrogram", choices=sorted(FEATURE_CHOICES))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="sgd: the seed's (lr 0.02, Nesterov, clipnorm 5)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--sort-by-duration", action="store_true")
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--retrain", action="store_true")
    from vui.augment_presets import preset_names
    p.add_argument("--augment", default="none", choices=preset_names(),
                   help="training-time augmentation: SpecAugment masks only, precomputed "
                   "waveform variants + SpecAugment (light, default, or voices: talker variation "
                   "without rooms or noise), or vocal-tract warps of the cached features (warp; "
                   "'+warp' adds them to another preset)")
    p.add_argument("--augment-variants", type=int, default=4, help="variants per utterance")
    from vui.speaker_norm import PER_CHOICES as NORM_CHOICES
    p.add_argument("--speaker-norm", default=None, choices=NORM_CHOICES,
                   help="train on features shifted by each speaker's (or utterance's) mean "
                        "frame, every partition alike (per-speaker CMN, vui.speaker_norm); "
                        "the model's record keeps it, so evaluate and transcribe shift too; "
                        "not with --augment presets that change the voice")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="CER/WER of a saved model on a partition")
    p.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's model)")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    p.add_argument("--partition", default="validation", choices=("validation", "test"))
    p.add_argument("--decoder", default="greedy", choices=DECODER_CHOICES)
    p.add_argument("--warp-search", action="store_true",
                   help="decode each speaker at the vocal-tract warp its output is most "
                        "confident under (vui.warp_search)")
    p.add_argument("--speaker-norm", default=None, choices=(*NORM_CHOICES, "off"),
                   help="shift each speaker's (or utterance's) features to the training mean "
                        "before decoding (vui.speaker_norm; with --warp-search, after each "
                        "warp); with --robust-model, only the speakers the gate routes. "
                        "Default: as the model was trained; off: no shift")
    p.add_argument("--robust-model", default=None, metavar="PATH",
                   help="an augmented model: the speakers --model is unusually unsure of are "
                        "decoded by it instead (vui.model_gate)")
    p.add_argument("--calibrate-on", default="test", choices=("validation", "test"),
                   help="the in-family partition whose speakers set the gate's threshold "
                        "(default test; not --partition)")
    from vui.model_gate import PER_CHOICES
    p.add_argument("--gate-per", default="speaker", choices=PER_CHOICES,
                   help="route (and calibrate) whole speakers, or each utterance alone: what "
                        "vui transcribe --gate does with files of unknown speakers")
    p.add_argument("--save-gate", default=None, metavar="JSON",
                   help="write the calibrated gate (both models' paths and the threshold) for "
                        "vui transcribe --gate")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="plot loss curves and print the results table")
    p.add_argument("names", nargs="*", help="model names (default: every run under results/)")
    p.add_argument("--out", default=None, help="PNG path (default results/comparison.png)")
    p.add_argument("--min-loss", type=float, default=None)
    p.add_argument("--max-loss", type=float, default=None)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("transcribe", help="transcribe audio files, one line each")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's model)")
    p.add_argument("--decoder", default="greedy", choices=DECODER_CHOICES)
    p.add_argument("--json", action="store_true", help="one JSON object a line: file, transcript, timing")
    p.add_argument("--warp-search", action="store_true",
                   help="decode each file at the vocal-tract warp (0.8-1.2) the model is most "
                        "confident under: for talkers unlike the training voices; 9x the model's time")
    p.add_argument("--one-speaker", action="store_true",
                   help="the files are one talker's: one warp for all of them (implies "
                        "--warp-search unless --speaker-norm; then one pooled mean), and "
                        "one gate decision with a per-speaker --gate")
    p.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="shift each file's features (with --one-speaker: all files' pooled) "
                        "to the training mean (vui.speaker_norm; with --warp-search, after "
                        "each warp): for talkers unlike the training voices; with --gate, only "
                        "the files it routes. Default: as the model was trained")
    p.add_argument("--gate", default=None, metavar="JSON",
                   help="a model gate from vui evaluate --save-gate: its unaugmented model, and "
                        "its augmented one for the files that model is unusually unsure of")
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("lm", help="n-gram language model: build, tune (vui lm --help)",
                       description="vui lm build --help / vui lm tune --help")
    p.set_defaults(func=cmd_lm, passthrough=True)

    p = sub.add_parser("demo", help="generate the embedded corpus, train the default model, report")
    p.add_argument("--minutes", type=float, default=None, help="training time budget")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    p.add_argument("--fresh", action="store_true", help="retrain even if the demo model exists")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    from vui import cpu_threads
    cpu_threads.configure()      # before any command starts TensorFlow's runtime
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in ("corpus", "lm"):
        # These hand everything after their first word to the module's own parser.
        if argv[0] == "corpus":
            args = parser.parse_args(argv[:2] if len(argv) > 1 else argv)
            return args.func(args, argv[2:]) or 0
        return cmd_lm(None, argv[1:]) or 0
    args = parser.parse_args(argv)
    return args.func(args, []) or 0


if __name__ == "__main__":
    sys.exit(main())
