"""What the `vui` commands share: where the model and the corpus come from, the option menus.

Its own module so that command modules (vui.cli, vui.lm_cli) import it and never each other.
Heavy imports (Keras) happen inside the functions so `--help` answers at once.
"""
from pathlib import Path

from vui.feature_presets import FEATURE_PRESETS
from vui.tts_corpus import EMBEDDED_ROOT

DEFAULT_CORPUS = EMBEDDED_ROOT
FEATURE_CHOICES = FEATURE_PRESETS
DECODER_CHOICES = ("greedy", "beam", "beam_lm")


def model_path(model):
    """--model: a .keras path, its .pickle or a run's name; None: the demo's model."""
    from vui import results as R
    return R.default_model() if model is None else R.resolve_model_path(model)


def corpus_generator(corpus, features, minibatch_size=20, partitions=("train", "validation"),
               max_duration=10.0):
    """A generator over a corpus's partitions; `features` a FEATURE_CHOICES key or a trained
    model's saved feature_config (dict)."""
    import data_generator as DG
    options = dict(minibatch_size=minibatch_size, max_duration=max_duration)
    if isinstance(features, dict):
        gen = DG.AudioGeneratorCached.for_features(features, **options)
    else:
        gen = DG.AudioGeneratorCached(**FEATURE_CHOICES[features], **options)
    files = {"train": "train_corpus.json", "validation": "valid_corpus.json",
             "test": "test_corpus.json"}
    loaders = {"train": gen.load_train_data, "validation": gen.load_validation_data,
               "test": gen.load_test_data}
    for part in ("train", *[p for p in partitions if p != "train"]):
        index = Path(corpus) / files[part]
        if not index.exists():
            raise SystemExit(f"no {part} index {index}: build a corpus first (vui corpus embedded)")
        loaders[part](str(index))
    return gen
