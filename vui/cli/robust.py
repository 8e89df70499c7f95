"""`vui robust evaluate` / `vui robust transcribe`: `vui evaluate` and `vui transcribe` with the
unseen-voice methods (vui.research.strategies): the warp search, the test-time speaker shift, the model
gate and, for transcription, one talker's files taken together. Each option names one
strategy; together they compose as vui.research.strategies.strategy_for says.

Heavy imports (Keras) happen inside the commands so `--help` answers at once.
"""
import argparse

from vui.cli.common import (add_evaluate_arguments, add_transcribe_arguments, corpus_for,
                            corpus_generator, model_path, print_evaluation, print_transcripts)

WARP_HELP = ("decode each speaker (in transcription: each file, or with --one-speaker all of "
             "them) at the vocal-tract warp (0.8-1.2) the model is most confident under "
             "(vui.research.warp_search): for talkers unlike the training voices; 9x the model's time")


def cmd_evaluate(args):
    import train_utils as T
    from vui.research.strategies import gate_routed, strategy_for
    from vui.train.trained import model_info
    if args.save_gate and not args.robust_model:
        raise ValueError("--save-gate needs --robust-model: the gate is the pair of models")
    if args.robust_model and args.calibrate_on == args.partition:
        raise ValueError(f"--calibrate-on {args.calibrate_on} is --partition too: the gate's "
                         f"threshold must come from other speakers than the ones it is scored on")
    model = T.load_model(model_path(args.model))
    info = model_info(model)
    args.corpus = corpus_for(args.corpus, info)
    calibration = (args.calibrate_on,) if args.robust_model else ()
    gen = corpus_generator(args.corpus, info.feature_settings,
                           partitions=(args.partition, *calibration), stats=info.stats,
                           max_duration=args.max_duration)
    gate = _model_gate(model, gen, args) if args.robust_model else None
    strategy = strategy_for(args.warp_search, False if args.speaker_norm == "off"
                            else args.speaker_norm, gate)
    result = T.evaluate(model, gen, args.partition, decoder=args.decoder, strategy=strategy,
                        decode_workers=args.decode_workers)
    print_evaluation(result, args.partition)
    if gate is not None:
        speakers = gen.speakers(args.partition)[:result.utterances]
        sent = gate_routed(result)
        routed = {s for s, r in zip(speakers, sent) if r}
        print(f"gate: threshold {gate.threshold:.4f} (set on {args.calibrate_on}, per "
              f"{gate.per}); {sum(sent)} of {result.utterances} utterances, "
              f"{len(routed)} of {len(set(speakers))} speakers, decoded by {args.robust_model}")
    if args.save_gate:
        _save_gate(gate, gen, args)


def _model_gate(model, gen, args):
    import train_utils as T
    from vui.research.model_gate import GateConfig, ModelGate
    robust = T.load_model(model_path(args.robust_model))
    return ModelGate.calibrate(model, robust, gen, args.calibrate_on, GateConfig(per=args.gate_per))


def _save_gate(gate, gen, args):
    from vui.research.model_gate import save_gate
    calibration = {"corpus": str(args.corpus), "partition": args.calibrate_on,
                   "speakers": len(set(gen.speakers(args.calibrate_on)))}
    save_gate(gate, args.save_gate, model_path(args.model), model_path(args.robust_model),
              calibration)
    print(f"gate saved to {args.save_gate} (vui robust transcribe --gate {args.save_gate})")


def cmd_transcribe(args):
    from vui.research.strategies import strategy_for
    from vui.infer.transcribe import transcribe_files
    paths = args.files
    recognizer, gate = _transcription_models(args)
    strategy = strategy_for(args.warp_search, args.speaker_norm, gate, args.one_speaker)
    rows = transcribe_files(recognizer, paths, decoder=args.decoder, strategy=strategy)
    return print_transcripts(rows, args.json)


def _transcription_models(args):
    """(the model's Recognizer, a ModelGate or None) from --model or --gate."""
    from vui.infer.recognizer import Recognizer
    from vui.infer.transcribe import load_for_inference
    if args.gate and args.model:
        raise ValueError("give --model or --gate, not both: the gate's threshold belongs to "
                         "the model it was set with, which its file names")
    if not args.gate:
        return load_for_inference(model_path(args.model)), None
    from vui.research.model_gate import gate_from_record, read_gate_file
    from vui.research.strategies import check_gate_for_one_speaker
    record = read_gate_file(args.gate)
    try:      # before two model loads
        check_gate_for_one_speaker(record["per"], args.one_speaker)
    except ValueError as error:
        raise ValueError(f"{args.gate}: {error} (--one-speaker)") from None
    model, gate = gate_from_record(record)
    return Recognizer.from_model(model), gate


def build_parser():
    from vui.features.speaker_norm import PER_CHOICES      # the gate groups as the shift does
    parser = argparse.ArgumentParser(prog="vui robust", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("evaluate", help="vui evaluate with the unseen-voice methods")
    add_evaluate_arguments(p)
    p.add_argument("--warp-search", action="store_true", help=WARP_HELP)
    p.add_argument("--speaker-norm", default=None, choices=(*PER_CHOICES, "off"),
                   help="shift each speaker's (or utterance's) features to the training mean "
                        "before decoding (vui.features.speaker_norm; with --warp-search, after each "
                        "warp); with --robust-model, only the speakers the gate routes. "
                        "Default: as the model was trained; off: no shift")
    p.add_argument("--robust-model", default=None, metavar="PATH",
                   help="an augmented model: the speakers --model is unusually unsure of are "
                        "decoded by it instead (vui.research.model_gate)")
    p.add_argument("--calibrate-on", default="test", choices=("validation", "test"),
                   help="the in-family partition whose speakers set the gate's threshold "
                        "(default test; not --partition)")
    p.add_argument("--gate-per", default="speaker", choices=PER_CHOICES,
                   help="route (and calibrate) whole speakers, or each utterance alone: what "
                        "vui robust transcribe --gate does with files of unknown speakers")
    p.add_argument("--save-gate", default=None, metavar="JSON",
                   help="write the calibrated gate (both models' paths and the threshold) for "
                        "vui robust transcribe --gate")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("transcribe", help="vui transcribe with the unseen-voice methods")
    add_transcribe_arguments(p)
    p.add_argument("--warp-search", action="store_true", help=WARP_HELP)
    p.add_argument("--speaker-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="shift each file's features (with --one-speaker: all files' pooled) "
                        "to the training mean (vui.features.speaker_norm; with --warp-search, after "
                        "each warp); with --gate, only the files it routes. Default: as the "
                        "model was trained; --no-speaker-norm: no shift")
    p.add_argument("--gate", default=None, metavar="JSON",
                   help="a model gate from vui robust evaluate --save-gate: its unaugmented "
                        "model, and its augmented one for the files that model is unusually "
                        "unsure of")
    p.add_argument("--one-speaker", action="store_true",
                   help="the files are one talker's: one pooled shift, one warp (with "
                        "--warp-search) and one gate decision (a per-speaker --gate) for all")
    p.set_defaults(func=cmd_transcribe)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args) or 0
