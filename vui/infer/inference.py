"""From a trained model and features to its outputs, and the decoder it uses.

A model carries its training record, read through `vui.train.trained.model_info` (feature
settings, the training partition's normalisation statistics, its tuned LM), so features are
normalised with the statistics the model was trained with, whichever generator supplies the
audio, and "beam_lm" means the model's own LM and weights. How a partition's outputs are produced
is a strategy (vui.infer.strategy); what they score is an Evaluation (vui.infer.evaluation).
"""
import os

import numpy as np
from tqdm.auto import tqdm

import utils
from vui.train.trained import model_info
from vui.watched import shows_progress

PREDICT_BATCH = 32
PAD_FRAMES_TO = 32          # pad batch lengths to a multiple of this: fewer distinct shapes to trace


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
    for batch in tqdm(batches, desc="predict", disable=not shows_progress(verbose), leave=False):
        longest = max(len(features[i]) for i in batch)
        padded = -(-longest // PAD_FRAMES_TO) * PAD_FRAMES_TO
        x = np.zeros((len(batch), padded, features[batch[0]].shape[1]), dtype="float32")
        for row, i in enumerate(batch):
            x[row, :len(features[i])] = features[i]
        probs = np.asarray(model.predict_on_batch(x))
        for row, i in enumerate(batch):
            out[i] = probs[row, :int(model.output_length(len(features[i])))]
    return out


def decoder_for_model(name, decoder, other):
    """The decoder for another model's outputs (a strategy that hands some utterances to a
    second model): with "beam_lm", that model's own tuned LM weights when its record has
    them; else `decoder`, the main model's."""
    if name == "beam_lm" and model_info(other).lm:
        return as_decoder(name, other)
    return decoder
