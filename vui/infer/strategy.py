"""How a model's outputs are produced from a partition's features: a Strategy.

The default is the model as trained (AsTrained: its inputs shifted as its training inputs
were). The unseen-voice methods (vui.research.strategies) plug in the same way, unknown here:
a strategy gets the model, the utterances' normalised features, a group label per utterance
(its speaker) and a Context, and returns an Outcome (docs/design.md, Contracts, "Strategy").
"""
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

from vui.features.speaker_norm import normalize_speakers
from vui.infer.inference import predict_probabilities
from vui.train.trained import model_info


class Strategy(Protocol):
    """Given the model, the utterances' normalised features, a group label per utterance
    (its speaker) and a Context, the outputs to decode (an Outcome). Optionally
    `regroup(labels)` relabels who is pooled with whom (vui.research.strategies.OneSpeaker)."""

    def apply(self, model, features, groups, context) -> "Outcome":
        ...


@dataclass(frozen=True)
class Context:
    """What a strategy may use besides the features: the feature settings, the model's
    statistics (`stats(model)`; the generator's for a model without them), the same
    utterances (by row) normalised for ANOTHER model (`features_for(model, rows)`), the
    decoder for another model's outputs (`decoder_for(model)`), and `known`: the model's
    outputs on these exact features when the caller has them already (reuse, not rerun)."""
    feature_config: object
    fallback_stats: dict = None
    features_for: Callable = None
    decoder_for: Callable = None
    known: list = None
    verbose: int = 0

    def stats(self, model):
        stats = model_info(model).stats or self.fallback_stats
        if stats is None:
            raise ValueError("the model carries no normalisation statistics (no results record)")
        return stats

    def subset(self, rows, known=None):
        """The context of utterances `rows` of this one (a strategy's sub-call)."""
        rows = [int(r) for r in rows]
        parent = self.features_for
        return replace(self, known=known,
                       features_for=lambda model, sub: parent(model, [rows[j] for j in sub]))


@dataclass
class Outcome:
    """Per utterance: the outputs to decode; extras by name ("warp", "routed": a value per
    utterance); and optionally its decoder (None: the caller's)."""
    probs: list
    extras: dict = field(default_factory=dict)
    decoders: list = None

    def decoders_or(self, default):
        return [default if d is None else d
                for d in (self.decoders or [None] * len(self.probs))]


class AsTrained:
    """The default strategy: the model's inputs shifted as its training inputs were
    (its ModelInfo's speaker_norm: part of the model), nothing else."""

    def shift(self, model):
        return model_info(model).speaker_norm

    def apply(self, model, features, groups, context):
        return Outcome(shifted_probabilities(model, features, groups, context, self.shift(model)))


def shifted_probabilities(model, features, groups, context, shift):
    """The model's outputs on `features`, each group shifted by its mean first (`shift`, a
    SpeakerNormConfig, or None: unshifted, and then context.known is reused)."""
    if shift is None and context.known is not None:
        return list(context.known)
    if shift is not None:
        features = normalize_speakers(features, groups, shift)
    return predict_probabilities(model, features, verbose=context.verbose)


def regroup(strategy, labels):
    """The group labels `strategy` pools the utterances by (its `regroup`, or `labels`)."""
    relabel = getattr(strategy, "regroup", None)
    return list(labels) if relabel is None else list(relabel(labels))


def run_strategy(strategy, model, features, labels, context):
    """`strategy` (None: AsTrained) applied, its groups from `labels`; the Outcome checked."""
    strategy, features = AsTrained() if strategy is None else strategy, list(features)
    outcome = strategy.apply(model, features, regroup(strategy, labels), context)
    sizes = [len(outcome.probs), *(len(v) for v in outcome.extras.values()),
             *([len(outcome.decoders)] if outcome.decoders is not None else [])]
    if any(size != len(features) for size in sizes):
        raise ValueError(f"strategy {type(strategy).__name__}: {sizes} outputs, extras or "
                         f"decoders for {len(features)} utterances")
    return outcome
