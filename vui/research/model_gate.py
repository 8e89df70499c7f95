"""Two models behind a confidence gate: the unaugmented model for voices like its training
voices, the augmented one for the speakers it is unsure of.

Why: training-time augmentation buys an unseen voice family many points of CER and costs the
training voices several (docs/experiments/holdout.md, "2026-12-04, midday: the unaugmented
baseline for rms at 120 minutes"), and the unaugmented model's confidence tells the two kinds
of speaker apart: its per-speaker best-path score (vui.research.warp_search) for the unseen
family sits below nearly every in-family speaker's (holdout.md, "2026-12-04, afternoon: both
models behind a confidence gate"). So each speaker is decoded by the unaugmented model unless
that score falls below a low quantile of the in-family speakers' scores on a calibration
partition, and then by the augmented one. Only in-family speakers set the threshold: nothing
about an unseen family is looked at. Raw scores cannot choose between the two models
directly: the unaugmented one is the more confident on every speaker, seen or not.

Cost: the unaugmented model runs on everything, the augmented one on the routed speakers only
(1x-2x the time of one model); the strategy vui.research.strategies.Gate does the routing, in
vui.infer.evaluation.evaluate and vui.infer.transcribe.transcribe_files. No library gates Keras CTC models
this way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vui.features.speaker_norm import PER_CHOICES
from vui.research.warp_search import SCORE_FUNCTIONS, SCORES, group_scores

# The share of in-family speakers that would be sent to the augmented model: each one sent
# costs what augmentation costs in family, each unseen speaker kept costs far more.
DEFAULT_QUANTILE = 0.05
GATE_FILE_KEYS = ("model", "robust_model", "threshold", "score")


@dataclass(frozen=True)
class GateConfig:
    """Where the threshold sits among the calibration speakers' scores, which score, and
    whether a whole speaker or each utterance alone is routed (and calibrated on): per
    utterance needs no speaker labels, but one clip's score is noisier than a speaker's."""
    quantile: float = DEFAULT_QUANTILE
    score: str = "speech_frames"
    per: str = "speaker"

    def validate(self):
        if not 0.0 <= self.quantile <= 1.0:
            raise ValueError(f"gate quantile={self.quantile!r}: expected a number in [0, 1]")
        if self.score not in SCORE_FUNCTIONS:
            raise ValueError(f"gate score={self.score!r}: expected one of {SCORES}")
        if self.per not in PER_CHOICES:
            raise ValueError(f"gate per={self.per!r}: expected one of {PER_CHOICES}")
        return self


def speaker_scores(probs, speakers, score="speech_frames") -> dict:
    """{speaker: the frame-weighted mean score of a model's outputs on his utterances}."""
    if len(probs) != len(speakers):
        raise ValueError(f"{len(speakers)} speaker labels for {len(probs)} utterances")
    score_of = SCORE_FUNCTIONS[score]
    scores = [score_of(p) for p in probs]
    frames = [max(len(p), 1) for p in probs]
    return {s: float(means[0]) for s, (_, means) in group_scores(scores, frames, speakers).items()}


@dataclass
class ModelGate:
    """The augmented model, and the score under which a speaker is routed to it."""
    robust: object
    threshold: float
    score: str = "speech_frames"
    per: str = "speaker"

    @classmethod
    def calibrate(cls, model, robust, audio_gen, partition, config=None, verbose=0):
        """The gate for `model` (unaugmented) and `robust` (augmented), its threshold the
        config.quantile of `model`'s per-speaker (or, config.per "utterance", per-utterance)
        scores on an in-family `partition` of `audio_gen` (use one that the reported figures
        do not come from)."""
        from vui.infer.inference import partition_features, predict_probabilities
        config = (config or GateConfig()).validate()
        check_same_features(model, robust)
        features = partition_features(model, audio_gen, partition)
        speakers = audio_gen.speakers(partition)
        if len(set(speakers)) < 2:
            raise ValueError(f"partition {partition!r} has {len(set(speakers))} speaker(s): the "
                             f"gate needs at least 2 in-family speakers to calibrate on")
        scores = speaker_scores(predict_probabilities(model, features, verbose),
                                routing_groups(config.per, speakers), config.score)
        threshold = float(np.quantile(list(scores.values()), config.quantile))
        return cls(robust, threshold, config.score, config.per)

    def routed(self, probs, speakers) -> np.ndarray:
        """Per utterance, True where `probs` (the unaugmented model's) put its speaker (or,
        per utterance, itself alone) below the threshold."""
        groups = routing_groups(self.per, speakers)
        scores = speaker_scores(probs, groups, self.score)
        return np.array([scores[g] < self.threshold for g in groups], bool)


def routing_groups(per, speakers) -> list:
    """The label each utterance is scored (and routed) under: its speaker, or per "utterance"
    its own index."""
    return list(speakers) if per == "speaker" else list(range(len(speakers)))


def check_same_features(model, robust):
    """Both models must read the same kind of features: the gate passes one generator's audio
    to both (each with its own normalisation statistics), unshifted: its threshold and its
    kept side are for models trained without a speaker shift (vui.features.speaker_norm)."""
    from vui.train.trained import model_info
    ours, theirs = (_feature_config(m) for m in (model, robust))
    if ours != theirs:
        raise ValueError(f"model gate: the unaugmented model reads features {ours} but the "
                         f"augmented one reads {theirs}: expected the same feature settings")
    for side, m in (("unaugmented", model), ("augmented", robust)):
        if model_info(m).speaker_norm is not None:
            raise ValueError(f"model gate: the {side} model was trained with a speaker shift "
                             f"({model_info(m).speaker_norm}); the gate takes models trained without "
                             "one (it shifts the routed side at test time with speaker_norm)")


def _feature_config(model):
    from vui.train.trained import model_info
    return model_info(model).feature_settings


def save_gate(gate, path, model_path, robust_path, calibrated_on=None):
    """Write the gate as JSON: both models' paths, the threshold and its score, and where the
    threshold was set, so `vui robust transcribe --gate` can route files outside any corpus (the
    threshold belongs to the unaugmented model it was set with)."""
    record = {"model": str(Path(model_path).resolve()),
              "robust_model": str(Path(robust_path).resolve()),
              "threshold": float(gate.threshold), "score": gate.score, "per": gate.per,
              "calibrated_on": calibrated_on or {}}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2) + "\n")
    return record


def read_gate_file(path):
    """The checked JSON record of a save_gate file, without loading its models, so a caller
    can refuse a gate it cannot use before paying for two model loads."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model gate file at {path}: write one with `vui robust "
                                f"evaluate --robust-model PATH --save-gate {path}`")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"model gate file {path} is not JSON ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"model gate file {path} holds a {type(record).__name__}; expected a "
                         "JSON object written by vui robust evaluate --save-gate")
    missing = [k for k in GATE_FILE_KEYS if k not in record]
    if missing:
        raise ValueError(f"model gate file {path} lacks {missing}: expected the keys "
                         f"{list(GATE_FILE_KEYS)} (written by vui robust evaluate --save-gate)")
    record.setdefault("per", "speaker")
    GateConfig(score=record["score"], per=record["per"]).validate()
    return record


def load_gate(path):
    """(the unaugmented model, its ModelGate) from a save_gate file; both models loaded."""
    return gate_from_record(read_gate_file(path))


def gate_from_record(record):
    """load_gate for a record read_gate_file already checked, so it is read only once."""
    from vui.train.trained import load_model
    model = load_model(record["model"])
    robust = load_model(record["robust_model"])
    check_same_features(model, robust)
    return model, ModelGate(robust, float(record["threshold"]), record["score"], record["per"])
