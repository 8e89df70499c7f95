"""The unseen-voice methods as strategies: plug-ins of vui.infer.evaluation.evaluate and
vui.infer.transcribe.transcribe_files (`strategy=`), which know none of them by name.

A strategy (vui.infer.strategy.Strategy) gets the model, the utterances' normalised features,
their speaker groups and a Context, and returns an Outcome: outputs per utterance, extras
("warp", "routed": read back from an Evaluation with chosen_warps and gate_routed) and, where
a second model decodes, its decoders. They compose:

    SpeakerShift("speaker")         each speaker shifted to the training mean (test-time CMN)
    WarpSearch(config, shift=None)  each speaker decoded at his best warp, shifted after each
    Gate(gate, routed=WarpSearch(shift="speaker"), kept=WarpSearch())
                                    the speakers `model` is unsure of go to gate.robust
    OneSpeaker(inner)               every utterance one talker's (a transcription's files)

`shift` is everywhere a vui.features.speaker_norm setting: True, "speaker", "utterance" or a
SpeakerNormConfig shifts; False shifts nothing, not even as the model was trained; None (the
default) shifts as the model was trained (its ModelInfo's speaker_norm), which is what the
core does without a strategy.
"""
import numpy as np

from vui.infer.inference import predict_probabilities
from vui.infer.strategy import AsTrained, Outcome, run_strategy
from vui.research.model_gate import check_same_features
from vui.features.speaker_norm import as_config, normalize_speakers
from vui.train.trained import model_info
from vui.research.warp_search import WarpSearchConfig, best_warped_probabilities

WARP, ROUTED = "warp", "routed"        # the extras' names: a value per utterance


def chosen_warps(result):
    """Per utterance, the warp factor a WarpSearch chose; None where none ran. `result`: an
    Evaluation (vui.infer.evaluation), whose extras the strategies fill."""
    return result.extras.get(WARP)


def gate_routed(result):
    """Per utterance, whether a Gate sent it to its robust model; None where none ran."""
    return result.extras.get(ROUTED)


class SpeakerShift(AsTrained):
    """Each group's features shifted by its pooled mean frame before the model (per-speaker
    CMN at test time, vui.features.speaker_norm); SpeakerShift(False): no shift at all, even for a
    model trained with one; SpeakerShift(None): as trained."""

    def __init__(self, config=True):
        self.as_trained = config is None
        self.config = None if config is None else as_config(config)

    def shift(self, model):
        return model_info(model).speaker_norm if self.as_trained else self.config


class WarpSearch:
    """Test-time vocal-tract warp search (vui.research.warp_search): each utterance, or each group
    (config.per "speaker"), decoded at the warp its output is most confident under; `shift`
    (as SpeakerShift's) taken after each warp, since a warp moves a speaker's mean. Unshifted,
    the context's known outputs are the factor 1.0's (a model gate's pass is not run again).
    Extras: "warp", the factor per utterance."""

    def __init__(self, config=None, shift=None):
        config = WarpSearchConfig() if config is None or config is True else config
        self.config = config.validate()
        self.shift = SpeakerShift(shift)

    def apply(self, model, features, groups, context):
        shift = self.shift.shift(model)
        stats = context.stats(model)
        known = {1.0: context.known} if context.known is not None and shift is None else None
        transform = None if shift is None else \
            (lambda warped: normalize_speakers(warped, groups, shift))
        probs, alphas = best_warped_probabilities(
            model, features, context.feature_config, stats["mean"], stats["std"], self.config,
            groups, context.verbose, known, transform)
        return Outcome(probs, {WARP: alphas})


class Gate:
    """Two models behind a confidence gate (vui.research.model_gate.ModelGate): `model`'s unshifted,
    unwarped outputs decide, per group (or per utterance, gate.per), who goes to gate.robust.
    The routed utterances: `routed` (a strategy; default as trained) under gate.robust, with
    its own normalisation, decoded with its own tuned LM weights (Context.decoder_for). The
    kept ones: `kept` (default as trained) under `model`, given the gate's pass as known
    outputs. Extras: "routed" per utterance, and the sides' own."""

    def __init__(self, gate, routed=None, kept=None):
        self.gate = gate
        self.routed_strategy = SpeakerShift(None) if routed is None else routed
        self.kept_strategy = SpeakerShift(None) if kept is None else kept

    def apply(self, model, features, groups, context):
        robust = self.gate.robust
        check_same_features(model, robust)
        probs = predict_probabilities(model, features, verbose=context.verbose)
        routed = np.asarray(self.gate.routed(probs, groups), bool)
        outcome = Outcome(list(probs), {ROUTED: routed.tolist()}, [None] * len(features))
        rows = np.flatnonzero(routed)
        if len(rows):
            side = run_strategy(self.routed_strategy, robust, context.features_for(robust, rows),
                                [groups[i] for i in rows], context.subset(rows))
            _merge(outcome, rows, side,
                   context.decoder_for(robust) if context.decoder_for else None)
        rows = np.flatnonzero(~routed)
        if len(rows):
            side = run_strategy(self.kept_strategy, model, [features[i] for i in rows],
                                [groups[i] for i in rows],
                                context.subset(rows, known=[probs[i] for i in rows]))
            _merge(outcome, rows, side, None)
        return outcome


def _merge(outcome, rows, side, decoder):
    """One side's Outcome into the whole one at `rows` (its decoders, else `decoder`)."""
    for name, values in side.extras.items():
        column = outcome.extras.setdefault(name, [None] * len(outcome.probs))
        for i, value in zip(rows, values):
            column[i] = value
    for i, probs, own in zip(rows, side.probs, side.decoders or [None] * len(rows)):
        outcome.probs[i] = probs
        outcome.decoders[i] = decoder if own is None else own


def check_gate_for_one_speaker(gate_per, one_speaker=True):
    """A gate calibrated per utterance has a threshold for one clip's score; a talker's pooled
    score over many clips is steadier and sits elsewhere, so routing them together on it would
    misuse the threshold."""
    if one_speaker and gate_per == "utterance":
        raise ValueError("the gate was calibrated per utterance: its threshold is for one file's "
                         "score, not for one speaker's files together; calibrate it per speaker "
                         "(vui robust evaluate --gate-per speaker --save-gate) or leave out "
                         "one_speaker")


class OneSpeaker:
    """Every utterance one talker's (vui robust transcribe --one-speaker: the files given):
    `inner` (default as trained) pools them as one group: one shift, one warp, one gate
    decision. Refuses a gate calibrated per utterance (check_gate_for_one_speaker)."""

    def __init__(self, inner=None):
        if isinstance(inner, Gate):
            check_gate_for_one_speaker(inner.gate.per)
        self.inner = SpeakerShift(None) if inner is None else inner

    def regroup(self, labels):
        return [0] * len(labels)

    def apply(self, model, features, groups, context):
        return run_strategy(self.inner, model, features, self.regroup(groups), context)


def strategy_for(warp_search=None, speaker_norm=None, gate=None, one_speaker=False):
    """The strategy the command line's (and the benchmarks') options spell: `warp_search` (a
    WarpSearchConfig, or True for its defaults), `speaker_norm` (a shift as above; with `gate`
    only the routed side's: the kept speakers are, by the gate's test, like the training
    voices), `gate` (a ModelGate), `one_speaker` (OneSpeaker around it all)."""
    def side(shift):
        return WarpSearch(warp_search, shift) if warp_search else SpeakerShift(shift)
    strategy = side(speaker_norm) if gate is None else \
        Gate(gate, routed=side(speaker_norm), kept=side(False))
    return OneSpeaker(strategy) if one_speaker else strategy
