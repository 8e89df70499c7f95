"""From a trained model to transcripts and error rates.

A model carries its training record, read through `vui.train.trained.model_info` (feature
settings and the training partition's normalisation statistics), so features are normalised with the statistics the model
was trained with, whichever generator supplies the audio.

How the outputs are produced from those features is a Strategy (below): the default is the
model as trained; the unseen-voice methods (vui.research.strategies) plug in the same way, unknown here.
"""
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import numpy as np
from tqdm.auto import tqdm

import utils
from vui.features.speaker_norm import normalize_speakers, utterance_shifts
from vui.train.trained import keras_model, model_info

PREDICT_BATCH = 32
PAD_FRAMES_TO = 32          # pad batch lengths to a multiple of this: fewer distinct shapes to trace
RULE = "-" * 80


@dataclass
class Evaluation:
    """Error rates over a partition, and what it cost to get them."""
    cer: float
    wer: float
    utterances: int
    audio_seconds: float
    seconds: float
    decoder: str
    references: list = field(default_factory=list, repr=False)
    hypotheses: list = field(default_factory=list, repr=False)
    extras: dict = field(default_factory=dict, repr=False)  # the strategy's, per utterance
    speakers: list = field(default=None, repr=False)      # per utterance

    @property
    def real_time_factor(self):
        return self.seconds / max(self.audio_seconds, 1e-9)

    def interval(self, unit="char", baseline=None, **options):
        """95% bootstrap interval over speakers for the CER (unit "char") or WER ("word"), or
        with `baseline` (another Evaluation of the same utterances) for this one's rate minus
        the baseline's: vui.decode.metrics.speaker_interval. None with fewer than 2 speakers, where
        there is nothing to resample."""
        from vui.decode.metrics import speaker_interval
        if len(set(self.speakers or ())) < 2:
            return None
        if baseline is not None and baseline.references != self.references:
            raise ValueError("Evaluation.interval: the baseline evaluated other utterances "
                             f"({baseline.utterances} against {self.utterances}, or other "
                             "references); compare evaluations of one partition")
        return speaker_interval(self.references, self.hypotheses, self.speakers, unit=unit,
                                baseline=None if baseline is None else baseline.hypotheses,
                                **options)


def as_decoder(decoder, model=None, hotwords=None):
    """A decoder object from a name ("greedy", "beam", "beam_lm") or pass one through.

    For "beam_lm" the language model and the weights tuned for this model are read from its
    record (`record["lm"]`, written by the alpha/beta search) unless a decoder object is given.
    hotwords: words the beam decoders favour (vui.decode.decoders.parse_hotwords).
    """
    from vui.decode.decoders import make_decoder
    if decoder is None:
        decoder = "greedy"
    if not isinstance(decoder, str):
        return decoder
    options = {}
    if decoder == "beam_lm":
        lm = model_info(model).lm
        if not lm:
            raise ValueError("decoder 'beam_lm' needs a language model: this model's record has none; "
                             "run `vui lm tune` (or vui.decode.lm_tuning) first, or pass a decoder object")
        options = {"lm_path": lm["path"], "alpha": lm["alpha"], "beta": lm["beta"]}
    if hotwords:
        options["hotwords"] = hotwords
    return make_decoder(decoder, **options)


def check_generator(audio_gen, call):
    """An audio generator where `call` takes one, or a TypeError showing the call: evaluate
    takes the model first and get_predictions the generator first (as the seed had them), so
    the two are easily swapped."""
    if not hasattr(audio_gen, "partition_data"):
        raise TypeError(f"{call}: audio_gen is a {type(audio_gen).__name__}, not an audio "
                        "generator (DG.AudioGeneratorCached); are the arguments swapped?")


def check_features(model, audio_gen):
    """Refuse a generator whose features are not the model's: other kinds fail deep in numpy,
    and other settings of the same width (CMN on or off) would pass silently, decoded wrong."""
    theirs = model_info(model).feature_config
    if theirs is not None and (utils.feature_identity(theirs)
                               != utils.feature_identity(audio_gen.feature_config)):
        raise ValueError(f"model {model_info(model).name or ''} was trained on features {theirs}, "
                         f"but this generator computes {audio_gen.feature_config}: make the "
                         "generator with DG.AudioGeneratorCached.for_features(its feature_config)")


def normalized_features(model, audio_gen, partition, index):
    """The utterance's features normalised with the model's own training statistics."""
    stats = model_info(model).stats
    gen_stats = audio_gen.normalization_stats()
    if stats is None or _same_stats(stats, gen_stats):
        return audio_gen.get_features(partition, index)
    from utils import normalize_with
    paths = audio_gen.partition_data(partition)[0]
    return normalize_with(audio_gen.featurize(paths[index]), stats["mean"], stats["std"])


def partition_features(model, audio_gen, partition, n=None):
    """The first `n` (default: all) utterances of a partition, each through
    normalized_features."""
    if n is None:
        n = len(audio_gen.partition_data(partition)[0])
    return [normalized_features(model, audio_gen, partition, i) for i in range(n)]


def _same_stats(a, b):
    return all(np.allclose(np.asarray(a[k]), np.asarray(b[k])) for k in ("mean", "std"))


def batch_of(items, what, item_ndim=1):
    """`items` (a list, tuple or array of inputs) as a list. One input where a list of them is
    expected is refused by name: iterating it would read a path letter by letter and a waveform
    sample by sample. item_ndim: the dimensions of one input given as an array."""
    if isinstance(items, (str, bytes, os.PathLike)):
        one = str(os.fspath(items))          # np.str_ too, shown as plain text
        raise TypeError(f"{what} takes a list of inputs, one result each; got the single "
                        f"{one!r}: pass [{one!r}]")
    if isinstance(items, np.ndarray) and items.dtype.kind in "biufc" and items.ndim == item_ndim:
        raise TypeError(f"{what} takes a list of inputs, one result each; got a single array "
                        f"of shape {items.shape}: pass [it]")
    return list(items)


def feature_batch(features, what="probabilities"):
    """A list of (frames, dim) feature matrices, as features(path) gives them, or a TypeError
    naming the first thing that is not one (a path, say)."""
    features = batch_of(features, what, item_ndim=2)
    for i, f in enumerate(features):          # arrays, or tensors: what np.ndim can measure
        if isinstance(f, (str, bytes, os.PathLike)) or np.ndim(f) != 2:
            if isinstance(f, (str, os.PathLike)):
                shown = repr(str(os.fspath(f)))
            else:
                shown = type(f).__name__ + f" of {np.ndim(f)} dimensions"
            raise TypeError(f"{what} takes feature matrices (frames, dim), as features(path) "
                            f"gives them; item {i} is {shown}")
    return features


def predict_probabilities(model, features, verbose=0):
    """Softmax outputs for a list of (time, dim) feature matrices, each cut to its output length."""
    features = feature_batch(features)
    order = np.argsort([len(f) for f in features])
    out = [None] * len(features)
    batches = [order[i:i + PREDICT_BATCH] for i in range(0, len(order), PREDICT_BATCH)]
    for batch in tqdm(batches, desc="predict", disable=not verbose, leave=False):
        longest = max(len(features[i]) for i in batch)
        padded = -(-longest // PAD_FRAMES_TO) * PAD_FRAMES_TO
        x = np.zeros((len(batch), padded, features[batch[0]].shape[1]), dtype="float32")
        for row, i in enumerate(batch):
            x[row, :len(features[i])] = features[i]
        probs = np.asarray(model.predict_on_batch(x))
        for row, i in enumerate(batch):
            out[i] = probs[row, :int(model.output_length(len(features[i])))]
    return out


def evaluate(model, audio_gen, partition="validation", decoder="greedy", max_utterances=None,
             verbose=1, strategy=None):
    """CER and WER (jiwer) of `decoder` over a whole partition (or its first `max_utterances`);
    `model` a Recognizer or a model from T.train_model / T.load_model.

    `strategy` (a Strategy, e.g. one of vui.research.strategies) says how the model's outputs are
    produced from the utterances' features, grouped by the partition's `speakers`; None: the
    model as trained (AsTrained). What it reports per utterance lands in `extras`.
    """
    from vui.decode.metrics import cer_wer
    check_generator(audio_gen, "T.evaluate(model, audio_gen, partition)")
    main = as_decoder(decoder, model)        # a Recognizer's own LM settings, if it is one
    model = keras_model(model)
    check_features(model, audio_gen)
    audio_gen.check_loaded(partition)
    paths, durations, texts = audio_gen.partition_data(partition)
    n = len(paths) if max_utterances is None else min(max_utterances, len(paths))
    if n == 0:
        raise ValueError(f"max_utterances={max_utterances!r} leaves nothing to evaluate; "
                         "expected a number >= 1, or None for the whole partition")
    features = partition_features(model, audio_gen, partition, n)
    speakers = audio_gen.speakers(partition)[:n]
    context = _partition_context(audio_gen, partition, decoder, main, verbose)
    start = time.perf_counter()
    outcome = run_strategy(strategy, model, features, speakers, context)
    decoders = outcome.decoders_or(main)
    label = getattr(main, "kind", type(main).__name__)   # its name can be 150 characters
    hypotheses = [d.decode(p) for d, p in tqdm(list(zip(decoders, outcome.probs)),
                                               desc=f"decode ({label})",
                                               disable=not verbose, leave=False)]
    seconds = time.perf_counter() - start
    references = list(texts[:n])
    cer, wer = cer_wer(references, hypotheses)
    return Evaluation(cer=cer, wer=wer, utterances=n, audio_seconds=float(np.sum(durations[:n])),
                      seconds=seconds, decoder=main.name, references=references,
                      hypotheses=hypotheses, extras=outcome.extras, speakers=list(speakers))


def _partition_context(audio_gen, partition, name, decoder, verbose):
    """The Context of a partition's utterances (`name`: the decoder asked for, `decoder` its
    object for the main model)."""
    def features_for(other, rows):
        return [normalized_features(other, audio_gen, partition, i) for i in rows]
    return Context(audio_gen.feature_config, audio_gen.normalization_stats(), features_for,
                   lambda other: decoder_for_model(name, decoder, other), verbose=verbose)


def decoder_for_model(name, decoder, other):
    """The decoder for another model's outputs (a strategy that hands some utterances to a
    second model): with "beam_lm", that model's own tuned LM weights when its record has
    them; else `decoder`, the main model's."""
    if name == "beam_lm" and model_info(other).lm:
        return as_decoder(name, other)
    return decoder


# ---- strategies: how a model's outputs are produced (the research methods plug in here) ----

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


def get_predictions(audio_gen, model, partition, index, print_line=True, omit_true=False,
                    decoder="greedy"):
    """Print the true and decoded transcripts of one utterance, as the seed did; return its path.

    Default: the seed's long form. With `print_line=False` or `omit_true=True`, the compact
    form the seed's side-by-side listing uses ("TRUE: ..." / "PRED SPEC: ...").
    """
    check_generator(audio_gen, "T.get_predictions(audio_gen, model, partition, index)")
    model = keras_model(model)
    check_features(model, audio_gen)
    paths, _, texts = audio_gen.partition_data(partition)
    if not 0 <= index < len(paths):
        raise IndexError(f"index {index} is outside partition {partition!r} ({len(paths)} utterances)")
    probs = predict_probabilities(model, [_as_trained(model, audio_gen, partition, index)])[0]
    predicted = as_decoder(decoder, model).decode(probs)
    if print_line and not omit_true:
        print(f"{RULE}\nTrue transcription:\n\n{texts[index]}\n{RULE}\n"
              f"Predicted transcription:\n\n{predicted}\n{RULE}")
    else:
        if not omit_true:
            print(f"TRUE:      {texts[index]}")
        print(f"PRED {audio_gen.feature_config.short_name.upper()}: {predicted}")
        if print_line:
            print(RULE)
    return paths[index]


def _as_trained(model, audio_gen, partition, index):
    """One utterance's normalised features, shifted as the model's training inputs were (by
    its speaker's mean over the partition, as evaluate does), if they were."""
    features = normalized_features(model, audio_gen, partition, index)
    config = model_info(model).speaker_norm
    if config is None:
        return features
    speakers = audio_gen.speakers(partition)
    same = [i for i, s in enumerate(speakers) if s == speakers[index]] \
        if config.per == "speaker" else [index]
    group = [features if i == index else normalized_features(model, audio_gen, partition, i)
             for i in same]
    return features - utterance_shifts(group, [0] * len(group), config)[0]
