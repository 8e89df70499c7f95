"""Test-time vocal-tract-length normalisation: decode each utterance at the warp it fits best.

Why: a model trained on male recorded voices and formant synthesis hears the embedded corpus's
only female recorded talker (slt) as letter salad, and training-time warps buy held-out CER
only at an in-family cost (docs/experiments/holdout.md, "2026-12-02, night: vocal-tract warps on
the cached features"). Classic VTLN (Lee & Rose, 1996) goes the other way: it leaves the model
as it is and warps the *test* speaker's frequency axis by the factor under which the model
finds her most likely. Here the likelihood is the CTC output's best-path
log-probability per frame (what a greedy decoder reads off anyway), the warps are the cached
features' linear maps (vui.augment.feature_warp: one small matrix product per factor), and the factor
is chosen per utterance, or per speaker when an index says who spoke (several utterances
average out one clip's noise). No library does this for Keras CTC models.

Cost: one forward pass per candidate factor (9 by default), so the transcription real-time
factor grows about 9x; the warps themselves are negligible (measured in
docs/experiments/holdout.md, "2026-12-03: test-time warp search").
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from char_map import BLANK_INDEX
from vui.features.speaker_norm import PER_CHOICES
from vui.watched import shows_progress

DEFAULT_ALPHAS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)
SCORES = ("best_path", "speech_frames")
LOG_FLOOR = 1e-12


def best_path_score(probs: np.ndarray) -> float:
    """Mean over frames of the log-probability of each frame's most likely symbol: the greedy
    path's log-likelihood per frame."""
    p = np.asarray(probs, np.float64)
    return float(np.mean(np.log(np.maximum(p.max(axis=-1), LOG_FLOOR))))


def speech_frame_score(probs: np.ndarray, blank: int = BLANK_INDEX) -> float:
    """Like best_path_score but over the frames whose best symbol is not the blank (all frames
    when there are none): a warp that makes the model confidently silent earns nothing."""
    p = np.asarray(probs, np.float64)
    best = p.argmax(axis=-1)
    frames = p[best != blank] if np.any(best != blank) else p
    return float(np.mean(np.log(np.maximum(frames.max(axis=-1), LOG_FLOOR))))


SCORE_FUNCTIONS = {"best_path": best_path_score, "speech_frames": speech_frame_score}


def group_scores(scores: np.ndarray, frames: np.ndarray, groups) -> dict:
    """{group: (its utterances' indices, its frame-weighted mean score per candidate)} for
    `scores` of shape (candidates, utterances): a speaker's long clips count for more than
    his short ones, as they hold more of his frames."""
    scores = np.atleast_2d(np.asarray(scores, np.float64))
    if len(groups) != scores.shape[1]:
        raise ValueError(f"{len(groups)} group labels for {scores.shape[1]} utterances")
    members = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    frames = np.asarray(frames, np.float64)
    return {g: (rows, scores[:, rows] @ (frames[rows] / frames[rows].sum()))
            for g, rows in members.items()}


@dataclass(frozen=True)
class WarpSearchConfig:
    """Which factors to try, how to score them, and whether one factor is chosen per
    utterance or per speaker (per speaker is the better: docs/experiments/holdout.md,
    "2026-12-03: test-time warp search")."""
    alphas: tuple = DEFAULT_ALPHAS
    score: str = "speech_frames"
    per: str = "speaker"

    def validate(self):
        if not self.alphas or any(a <= 0 for a in self.alphas):
            raise ValueError(f"warp search alphas={self.alphas!r}: expected at least one warp "
                             f"factor, each > 0")
        if self.score not in SCORE_FUNCTIONS:
            raise ValueError(f"score={self.score!r}: expected one of {SCORES}")
        if self.per not in PER_CHOICES:
            raise ValueError(f"per={self.per!r}: expected one of {PER_CHOICES}")
        return self


@dataclass
class WarpSearch:
    """Every candidate factor's output for a set of utterances, and the choice among them."""
    alphas: tuple
    probs: dict                       # alpha -> [probs per utterance]
    scores: np.ndarray                # (n_alphas, n_utterances)
    frames: np.ndarray                # output frames per utterance (a speaker's weights)
    chosen: np.ndarray = field(default=None)   # index into alphas, per utterance

    def choose(self, groups=None) -> np.ndarray:
        """Per utterance (groups None) or per group (a label per utterance: its speaker),
        the factor with the highest frame-weighted mean score; sets and returns `chosen`."""
        best = np.argmax(self.scores, axis=0)
        if groups is not None:
            for rows, means in group_scores(self.scores, self.frames, groups).values():
                best[rows] = int(np.argmax(means))
        self.chosen = best
        return best

    def chosen_alphas(self) -> list:
        return [self.alphas[i] for i in self.chosen]

    def chosen_probs(self) -> list:
        return [self.probs[self.alphas[k]][i] for i, k in enumerate(self.chosen)]

    def averaged_probs(self) -> list:
        """Per utterance, the frame-wise mean of every factor's output (a warp only bends the
        frequency axis, so all factors give the same frames): an ensemble over warps instead
        of a choice, for a model whose confidence is a poor guide to the right warp."""
        per_utterance = zip(*(self.probs[a] for a in self.alphas))
        return [np.mean(outputs, axis=0) for outputs in per_utterance]


def search_warps(model, features, feature_config, mean, std, alphas=DEFAULT_ALPHAS,
                 score="speech_frames", verbose=0, known=None, transform=None) -> WarpSearch:
    """Run `model` on each normalised (time, dim) feature matrix warped by each factor.

    `mean`/`std` are the normalisation the features went through (the model's training
    statistics): the warp acts on un-normalised features, as in training (FeatureWarpAugmenter).
    `known` ({factor: outputs per utterance}) holds outputs the caller already has (the model
    gate's unwarped pass): those factors are not run again. `transform` (a function of the
    list of normalised features at one factor, returning the list to run) goes between the
    warp and the model: vui.features.speaker_norm's shift, taken after each warp, since a warp moves a
    speaker's mean too. The two do not mix: known outputs come from untransformed inputs.
    """
    from tqdm.auto import tqdm
    from vui.augment.feature_warp import warp_normalized
    from vui.infer.inference import predict_probabilities
    alphas = tuple(float(a) for a in alphas)
    WarpSearchConfig(alphas, score).validate()
    score_of = SCORE_FUNCTIONS[score]
    if known and transform is not None:
        raise ValueError("search_warps: known outputs with a transform; the known ones were "
                         "computed without it, so every factor must be run (pass known=None)")
    known = {float(a): p for a, p in (known or {}).items()}
    probs, scores = {}, []
    for alpha in tqdm(alphas, desc="warps", disable=not shows_progress(verbose), leave=False):
        if alpha in known:
            if len(known[alpha]) != len(features):
                raise ValueError(f"known outputs at warp {alpha}: {len(known[alpha])} for "
                                 f"{len(features)} utterances")
            probs[alpha] = list(known[alpha])
        else:
            warped = [warp_normalized(f, feature_config, alpha, mean, std) for f in features]
            if transform is not None:
                warped = transform(warped)
            probs[alpha] = predict_probabilities(model, warped)
        scores.append([score_of(p) for p in probs[alpha]])
    frames = np.array([len(p) for p in probs[alphas[0]]], np.float64)
    return WarpSearch(alphas, probs, np.array(scores), np.maximum(frames, 1.0))


def best_warped_probabilities(model, features, feature_config, mean, std, config=None,
                              speakers=None, verbose=0, known=None, transform=None):
    """(probs per utterance at its chosen factor, the chosen factors): search_warps, then the
    choice per utterance or, with config.per == "speaker", per label of `speakers`."""
    config = (config or WarpSearchConfig()).validate()
    search = search_warps(model, features, feature_config, mean, std, config.alphas,
                          config.score, verbose, known, transform)
    if config.per == "speaker" and speakers is None:
        raise ValueError("warp search per speaker needs a speaker label per utterance")
    search.choose(speakers if config.per == "speaker" else None)
    return search.chosen_probs(), search.chosen_alphas()
