"""What a sweep's trials need to know, as plain data that pickles to any Ray worker.

A generator holds its features in memory and cannot be sent to another process; a `GenSpec`
says how to build one (feature settings, index files, cache folder), and each trial builds
its own from it. Builders travel as `RNNModel.to_config()` dicts.
"""
import dataclasses
import os
from pathlib import Path

import models
import utils as U
from vui.data.corpus_index import DEFAULT_MAX_DURATION, index_path
from vui.features.presets import FEATURE_PRESETS

SWEEP_PARTITIONS = ("train", "valid", "test")


@dataclasses.dataclass(frozen=True)
class GenSpec:
    """How a trial builds its data_generator.AudioGeneratorCached.

    `features`: a FEATURE_PRESETS name ("spectrogram", "mfcc26", ...) or a FeatureConfig dict
    (a trained model's `feature_config`). Indexes: `corpus` (a folder with train_corpus.json
    and valid_corpus.json) or `train_index` and `valid_index` (any index files; explicit ones
    win). `cache_dir`: the feature cache, best on storage every node sees (default: the
    user's cache folder on each node).
    """
    features: object = "spectrogram"
    corpus: str = None
    train_index: str = None
    valid_index: str = None
    test_index: str = None
    cache_dir: str = None
    max_duration: float = DEFAULT_MAX_DURATION
    n_jobs: int = 1

    def __post_init__(self):
        self.feature_config()                     # refuses unknown presets and bad settings
        if not (self.train_index or self.corpus) or not (self.valid_index or self.corpus):
            raise ValueError("GenSpec needs a corpus folder or both train_index and valid_index")

    def feature_config(self):
        """The utils.FeatureConfig these settings compute."""
        if isinstance(self.features, dict):
            return U.FeatureConfig(**self.features)
        if self.features not in FEATURE_PRESETS:
            raise ValueError(f"unknown features {self.features!r}; expected one of "
                             f"{sorted(FEATURE_PRESETS)} or a FeatureConfig dict")
        return _preset_config(FEATURE_PRESETS[self.features])

    def index(self, part):
        """The index file of partition `part` ("train", "valid", "test"), or None."""
        explicit = {"train": self.train_index, "valid": self.valid_index,
                    "test": self.test_index}[part]
        if explicit:
            return explicit
        if self.corpus and (part != "test" or Path(index_path(self.corpus, part)).exists()):
            return str(index_path(self.corpus, part))
        return None

    def resolved(self):
        """The same spec with absolute paths and the indexes named: a Ray trial runs in
        another working directory, maybe on another node."""
        paths = {part: self.index(part) for part in SWEEP_PARTITIONS}
        for part in ("train", "valid"):
            if not Path(paths[part]).exists():
                raise FileNotFoundError(f"no {part} index {paths[part]}: build a corpus first "
                                        "(vui corpus embedded)")
        absolute = {f"{p}_index": os.path.abspath(v) if v else None for p, v in paths.items()}
        cache = os.path.abspath(os.path.expanduser(self.cache_dir)) if self.cache_dir else None
        return dataclasses.replace(self, corpus=None, cache_dir=cache, **absolute)

    def build(self, minibatch_size):
        """The generator, its training and validation (and test) partitions loaded."""
        import data_generator as DG
        gen = DG.AudioGeneratorCached.for_features(
            dataclasses.asdict(self.feature_config()), minibatch_size=minibatch_size,
            max_duration=self.max_duration, cache_dir=self.cache_dir, n_jobs=self.n_jobs)
        gen.load_train_data(self.index("train"))
        gen.load_validation_data(self.index("valid"))
        if self.index("test"):
            gen.load_test_data(self.index("test"))
        return gen


def _preset_config(options):
    """A FEATURE_PRESETS entry (AudioGeneratorCached arguments) as a FeatureConfig."""
    kind = "raw" if options.get("raw") else (
        "spectrogram" if options.get("spectrogram", True) else "mfcc")
    return U.FeatureConfig(kind, mfcc_dim=options.get("mfcc_dim", U.DEFAULT_MFCC_DIM),
                           utterance_mean=options.get("utterance_mean", False))


def builder_configs(builders_or_configs):
    """Each entry (an RNNModel, a models.presets name, or an RNNModel config dict) as a
    config dict, checked by building the description (not the Keras model)."""
    if isinstance(builders_or_configs, (str, dict, models.RNNModel)):
        builders_or_configs = [builders_or_configs]
    configs = [_as_builder(entry).to_config() for entry in builders_or_configs]
    if not configs:
        raise ValueError("a sweep needs at least one builder")
    return configs


def _as_builder(entry):
    if isinstance(entry, models.RNNModel):
        return entry
    if isinstance(entry, dict):
        return models.RNNModel.from_config(entry)
    factory = getattr(models.presets, str(entry), None)
    if factory is None or str(entry).startswith("_"):
        raise ValueError(f"unknown preset {entry!r}; try one of: demo, model_0 .. model_4, "
                         "final, or pass an RNNModel or its to_config() dict")
    return factory()


def run_name(feature_config, builder_config):
    """The run name train_model gives this builder on these features (train_utils.model_name,
    without augmentation, precision or speaker shift, which sweeps do not set)."""
    return f"{feature_config.short_name} {models.RNNModel.from_config(builder_config).describe()}"


def check_distinct(names):
    """Two trials with one run name would fight over its files (the second is refused)."""
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"these builders give the same run name: {duplicates}; give one of "
                         "each a name_suffix")
