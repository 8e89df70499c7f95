"""Speaker mean normalisation: shift each speaker's features to the training mean.

Why: a voice the model never heard differs from the training voices partly by a fixed colour
(spectral tilt, formant and channel offsets) that sits in every one of its frames. In the
model's normalised feature space the training frames average to zero by construction, so
subtracting a test speaker's own frame mean, pooled over all his utterances, moves him to where
the training voices sit: cepstral mean normalisation (Kaldi's per-speaker CMN). Applied at test
time to models trained without it, it brings the held-out families closer (also after each
warp of the warp search) but makes the training voices *worse*, which is why behind a model
gate only the speakers it sends to the augmented model are shifted
(docs/experiments/holdout.md, "2026-12-05, morning: test-time speaker mean normalisation").

Training with the shift (AudioGeneratorCached(speaker_norm=...); the model's record keeps it
and `vui.train.trained.model_info` reads it back, so evaluation shifts alike) removes that
in-family cost and keeps most of the held-out gain (docs/experiments/holdout.md, "2026-12-05,
afternoon: training with the shift"); the demo trains this way.

Per speaker, not per utterance: a speaker's pooled mean is steadier than one clip's and gains
more (the "2026-12-05, morning" section above), but needs the speaker labels a corpus index
has; per utterance needs none. `strength` < 1 shifts part of the way. No library applies CMN
to normalised features of a Keras model at test time; it is one subtraction per speaker.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

import utils

PER_CHOICES = ("speaker", "utterance")


@dataclass(frozen=True)
class SpeakerNormConfig:
    """Whose frames are pooled into one mean (a speaker's, or each utterance's alone), and
    how much of that mean is subtracted (1: all of it, classic CMN)."""
    per: str = "speaker"
    strength: float = 1.0

    def validate(self):
        if self.per not in PER_CHOICES:
            raise ValueError(f"speaker norm per={self.per!r}: expected one of {PER_CHOICES}")
        if not 0.0 < float(self.strength) <= 1.0:
            raise ValueError(f"speaker norm strength={self.strength!r}: expected a fraction "
                             f"in (0, 1] of each speaker's mean to subtract")
        return self


def as_config(speaker_norm) -> SpeakerNormConfig | None:
    """None/False: off; True: the defaults; "speaker"/"utterance": that grouping; or a config."""
    if speaker_norm is None or speaker_norm is False:
        return None
    if speaker_norm is True:
        return SpeakerNormConfig()
    if isinstance(speaker_norm, str):
        return SpeakerNormConfig(per=speaker_norm).validate()
    if isinstance(speaker_norm, SpeakerNormConfig):
        return speaker_norm.validate()
    raise TypeError(f"speaker_norm={speaker_norm!r}: expected None, True, one of "
                    f"{PER_CHOICES} or a SpeakerNormConfig")


def group_means(features, groups) -> dict:
    """{group: the mean feature vector over all its utterances' frames} (float64 sums, so a
    long clip counts by its frames, as in the training statistics). `features` may be any
    iterable (a training partition's are read one at a time)."""
    groups = list(groups)
    if hasattr(features, "__len__") and len(features) != len(groups):
        raise ValueError(f"{len(groups)} speaker labels for {len(features)} utterances")
    totals, counts, n = {}, defaultdict(int), 0
    for feats, group in zip(features, groups):
        feats = np.asarray(feats, np.float64)
        if feats.ndim != 2 or len(feats) == 0:
            raise ValueError(f"features of shape {feats.shape}: expected (time > 0, dim)")
        totals[group] = totals.get(group, 0.0) + feats.sum(axis=0)
        counts[group] += len(feats)
        n += 1
    if n != len(groups):
        raise ValueError(f"{len(groups)} speaker labels for {n} utterances")
    return {g: totals[g] / counts[g] for g in totals}


def utterance_shifts(features, speakers, config=None) -> list:
    """Per utterance, the float32 vector normalize_speakers subtracts from it: strength x its
    group's mean frame (groups: `speakers`, or each utterance with config.per "utterance")."""
    config = (config or SpeakerNormConfig()).validate()
    groups = list(range(len(speakers))) if config.per == "utterance" else list(speakers)
    means = group_means(features, groups)
    return [np.float32(config.strength) * means[g].astype(np.float32) for g in groups]


def one_utterance_input(raw, mean, std, config=None):
    """A trained model's input for one utterance heard alone: `raw` features normalised with
    the training statistics, then shifted by their own mean frame when the model was trained
    with a shift (`config`; None: no shift). Recognizer and the exported runtimes share it."""
    feats = utils.normalize_with(raw, mean, std)
    if config is None:
        return feats
    return feats - utterance_shifts([feats], [0], config)[0]


def normalize_speakers(features, speakers, config=None) -> list:
    """Each utterance's normalised features minus strength x its group's mean frame; groups
    are `speakers` (one label per utterance) or, with config.per "utterance", each utterance."""
    shifts = utterance_shifts(features, speakers, config)
    return [np.asarray(f, np.float32) - shift for f, shift in zip(features, shifts)]

