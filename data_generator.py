"""The cached feature generator: corpus index -> features (memory + disk cache) -> padded batches.

Backend-agnostic on purpose (numpy and keras only, no tensorflow): the GPU machines we borrow run
JAX or PyTorch. Features are computed once per (file, settings) and kept as .npy files, so a
restarted notebook reloads them instead of recomputing; normalisation statistics come from the
training partition only and travel with trained models (`normalization_stats`).

The seed's entry module (`import data_generator as DG`): loading indexes, normalisation and the
speaker shift live here (`AudioGeneratorCached`), with the seed's `test_gen` and
`vis_train_features`; the feature cache is vui.features.cache, the batches vui.generator.batches and the
plots vui.generator.seed_plots, re-exported under the seed's names.
"""
import collections
import os
import warnings
from dataclasses import asdict

import numpy as np

import char_map
import utils as U
from vui.argtypes import as_float
from utils import STD_FLOOR, normalize_with  # noqa: F401  (DG.normalize_with, DG.STD_FLOOR: public)
from vui.generator.batches import (  # noqa: F401  (public: the seed's DG.x)
    DATASET_WORKERS, DURATION_JITTER, KERAS_PEEKED_BATCHES, PAD_TO_MULTIPLE, AlignmentError,
    UtteranceDataset, apply_output_length, check_alignable, repeated_adjacent)
from vui.data.audio import MISSING_AUDIO
from vui.data.corpus_index import (DEFAULT_MAX_DURATION, INDEX_FILES, MissingIndexError,
                                   index_path, read_index_lenient)
from vui.features.cache import (  # noqa: F401  (public: the seed's DG.x)
    CACHE_ENV, DEFAULT_CACHE_DIR, FeatureCache)
from vui.features.presets import FEATURE_PRESETS
from vui.features.speaker_norm import as_config, utterance_shifts
from vui.generator.seed_plots import (  # noqa: F401  (public: the seed's DG.x)
    plot_mfcc_feature, plot_raw_audio, plot_spectrogram_feature)

PARTITIONS = {"train": "train", "validation": "valid", "valid": "valid", "test": "test",
              "holdout": "holdout"}      # holdout: voice families kept out of the corpus
DEFAULT_INDEXES = {part: INDEX_FILES[part] for part in ("train", "valid", "test")}
MAX_LISTED_SKIPS = 200      # a summary warning lists at most this many files per partition


PartitionData = collections.namedtuple("PartitionData", "audio_paths durations texts")


def _positive_seconds(value, name):
    """A number of seconds > 0, inf for no limit (the command line refuses others as it
    reads them)."""
    seconds = as_float(value)
    if not seconds > 0:             # NaN too
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    return seconds


class AudioGeneratorCached:
    """The seed's generator: loads partitions from corpus indexes and serves padded batches.

    raw=True overrides spectrogram; spectrogram=False selects MFCC with `mfcc_dim` coefficients;
    utterance_mean=True subtracts each utterance's own mean (utils.FeatureConfig).
    n_jobs: processes for the first featurisation (vui.features.cache.FeatureCache.fill; None:
    every core for a large corpus).
    speaker_norm (vui.features.speaker_norm: "speaker", "utterance" or a SpeakerNormConfig) shifts every
    batch's features by their speaker's mean frame in the normalised space, every partition
    alike: per-speaker CMN in training, matched to the same shift at test time (the trained
    model's record keeps it, and vui.infer.strategy applies it).
    """

    def __init__(self, step=10, window=20, max_freq=8000, mfcc_dim=U.DEFAULT_MFCC_DIM, minibatch_size=20,
                 desc_file=None, spectrogram=True, raw=False, max_duration=DEFAULT_MAX_DURATION,
                 sort_by_duration=False, shuffle_data=True, cache_dir=None, seed=0,
                 pad_to_multiple=PAD_TO_MULTIPLE, n_jobs=None, utterance_mean=False,
                 speaker_norm=None):
        kind = "raw" if raw else ("spectrogram" if spectrogram else "mfcc")
        self.feature_config = U.FeatureConfig(kind, mfcc_dim=mfcc_dim, step_ms=step,
                                              window_ms=window, max_freq=max_freq,
                                              utterance_mean=utterance_mean)
        if int(minibatch_size) < 1:
            raise ValueError(f"minibatch_size must be >= 1, got {minibatch_size!r}")
        self.minibatch_size = int(minibatch_size)
        self.max_duration = _positive_seconds(max_duration, "max_duration")
        self.sort_by_duration, self.shuffle_data = bool(sort_by_duration), bool(shuffle_data)
        self.speaker_norm = as_config(speaker_norm)
        self.seed, self.pad_to_multiple, self.n_jobs = seed, int(pad_to_multiple), n_jobs
        self.cache = FeatureCache(self.feature_config, cache_dir)
        self.feats_mean = self.feats_std = None
        self.skipped = {}
        self._labels, self._speakers = {}, {}
        self.index_files = {}          # partition -> the index it was loaded from (absolute)
        for part in ("train", "valid", "test", "holdout"):
            self._set_partition(part, [])
        if desc_file is not None:
            self.load_train_data(desc_file)

    @classmethod
    def for_features(cls, feature_config, **kwargs):
        """A generator computing the features a model was trained on (its record's
        `feature_config` dict, or a utils.FeatureConfig), or a FEATURE_PRESETS name
        ("spectrogram", "mfcc26", ...); kwargs as for the constructor."""
        if isinstance(feature_config, str):
            if feature_config not in FEATURE_PRESETS:
                raise ValueError(f"features {feature_config!r}: expected one of "
                                 f"{sorted(FEATURE_PRESETS)} or a model's feature settings")
            return cls(**{**FEATURE_PRESETS[feature_config], **kwargs})
        cfg = feature_config if isinstance(feature_config, dict) else asdict(feature_config)
        return cls(step=cfg["step_ms"], window=cfg["window_ms"], max_freq=cfg["max_freq"],
                   mfcc_dim=cfg["mfcc_dim"], spectrogram=cfg["kind"] == "spectrogram",
                   raw=cfg["kind"] == "raw", utterance_mean=cfg.get("utterance_mean", False),
                   **kwargs)

    @classmethod
    def for_corpus(cls, features, corpus_root, test_index=None, partitions=("train", "valid"),
                   stats=None, **kwargs):
        """for_features(features, **kwargs) over a corpus folder's indexes: the one way the
        command line, the demo and the benchmarks open a corpus.

        partitions: the folder's indexes to load (index_path's names); `test_index` (any
        index: a held-out family's, LibriSpeech's) loads as the test partition. stats: a
        trained model's normalisation statistics, standing in for the training partition's,
        which is then loaded only if named (scoring 50 test files should not featurise 2,000
        training ones); without them the training partition is loaded first, for its own."""
        if os.path.isfile(corpus_root):
            raise MissingIndexError(f"corpus folder {corpus_root} is a file; expected the "
                                    "folder that holds train_corpus.json, valid_corpus.json ...")
        gen = cls.for_features(features, **kwargs)
        asked = {}                  # each partition once, by the name it was first asked by
        for part in partitions:
            asked.setdefault(cls._part(part), part)     # "validation" and "valid" are one
        if stats is not None and "train" not in asked:
            gen.set_normalization(stats["mean"], stats["std"])
        else:
            asked = {"train": "train", **asked}
        for part in asked.values():
            index = index_path(corpus_root, part)
            if not os.path.isfile(index):
                raise MissingIndexError(f"no {part} index {index} in corpus folder {corpus_root} "
                                        "(`vui corpus embedded` or `vui corpus librispeech` "
                                        "builds one)")
            gen.load_partition(part, index)
        if test_index is not None:
            gen.load_test_data(os.fspath(test_index))
        return gen

    @property
    def input_dim(self):
        return self.feature_config.feature_dim

    # ---- loading ------------------------------------------------------------------------
    def load_train_data(self, desc_file=DEFAULT_INDEXES["train"]):
        """Load the training partition and fit the normalisation statistics on it."""
        self._load("train", desc_file)
        self._fit_normalization()

    def load_validation_data(self, desc_file=DEFAULT_INDEXES["valid"]):
        self._load("valid", desc_file)

    def load_test_data(self, desc_file=DEFAULT_INDEXES["test"]):
        self._load("test", desc_file)

    def load_holdout_data(self, desc_file=INDEX_FILES["holdout"]):
        """The voices `vui corpus embedded --holdout-families` kept out of every partition."""
        self._load("holdout", desc_file)

    def load_partition(self, partition, desc_file):
        """Load `partition` (any name PARTITIONS knows) from an index: the training one fits
        the normalisation statistics too, as load_train_data does."""
        if self._part(partition) == "train":
            self.load_train_data(desc_file)
        else:
            self._load(self._part(partition), desc_file)

    def _set_partition(self, part, rows):
        setattr(self, f"{part}_audio_paths", [r[0] for r in rows])
        setattr(self, f"{part}_texts", [r[1] for r in rows])
        setattr(self, f"{part}_durations", [r[2] for r in rows])
        self._labels[part] = [np.asarray(r[3], dtype=np.int32) for r in rows]
        self._speakers[part] = [r[4] for r in rows]

    def _load(self, part, desc_file):
        """Read an index, compute missing features once, skip and report bad utterances."""
        entries, skipped = read_index_lenient(desc_file)
        self.index_files[part] = os.path.abspath(os.fspath(desc_file))
        rows, too_long = [], 0
        for entry in entries:
            key, duration = entry["key"], float(entry["duration"])
            if duration > self.max_duration:
                skipped.append((key, f"{duration:.2f} s is over max_duration={self.max_duration}"))
                too_long += 1
                continue
            try:
                label = char_map.text_to_int_sequence(entry["text"], utterance=key)
            except char_map.TranscriptError as err:
                skipped.append((key, str(err)))
                continue
            if not label:
                skipped.append((key, "empty transcript; expected at least one character"))
                continue
            rows.append((key, char_map.normalize_text(entry["text"]), duration, label,
                         str(entry.get("speaker", key))))
        total = len(rows) + len(skipped)
        errors = self.cache.fill([r[0] for r in rows], self.n_jobs,
                                 desc=f"{part} {self.feature_config.short_name} features")
        skipped += list(errors.items())
        kept, longer = self._within_max_as_measured([r for r in rows if r[0] not in errors])
        skipped += longer
        too_long += len(longer)
        if skipped and not kept:
            first = "; ".join(f"{key}: {reason}" for key, reason in skipped[:3])
            raise ValueError(f"{part} partition from {os.fspath(desc_file)!r}: none of its "
                             f"{len(skipped)} utterances can be used (first: {first}); "
                             f"expected {self._what_was_expected(skipped, too_long)}")
        self._set_partition(part, kept)
        self.skipped[part] = skipped
        if skipped:
            self._warn_skipped(part, desc_file, skipped, total)

    def _what_was_expected(self, skipped, too_long):
        """What a partition none of whose utterances could be used lacked, by its reasons."""
        if too_long == len(skipped):
            return f"a max_duration (--max-duration) above {self.max_duration:g} s"
        if all(MISSING_AUDIO in reason for _, reason in skipped):
            return ("its audio files where the index says they are: an index holds absolute "
                    "paths, so a corpus moved since needs indexing again where it lies now")
        return "a corpus index of JSON lines with key, duration and text"

    def _within_max_as_measured(self, rows):
        """Rows whose audio, as its features measure it, is within max_duration, and (key,
        reason) of those the index called shorter than they are: an index's `duration` is a
        claim, and one clip far over the limit can exhaust memory or fail to align."""
        kept, longer = [], []
        for row in rows:
            frames = self.cache.lookup(row[0]).shape[0]
            seconds = self.feature_config.shortest_clip_seconds(frames)
            if seconds > self.max_duration:
                longer.append((row[0], f"its audio is {seconds:.2f} s, over max_duration="
                                       f"{self.max_duration}, though its index says "
                                       f"{row[2]:.2f} s"))
            else:
                kept.append(row)
        return kept, longer

    @staticmethod
    def _warn_skipped(part, desc_file, skipped, total):
        listed = "\n".join(f"  {key}: {reason}" for key, reason in skipped[:MAX_LISTED_SKIPS])
        more = len(skipped) - MAX_LISTED_SKIPS
        tail = f"\n  ... and {more} more (see .skipped[{part!r}])" if more > 0 else ""
        warnings.warn(f"{part} partition from {os.fspath(desc_file)!r}: skipped "
                      f"{len(skipped)} of {total} utterances, kept the rest:\n{listed}{tail}",
                      stacklevel=3)

    def partition_data(self, partition):
        """PartitionData(audio_paths, durations, texts) of "train", "validation"/"valid", "test",
        "holdout".

        The order is the course toolkit's (audio_paths, durations, texts).
        """
        part = self._part(partition)
        return PartitionData(getattr(self, f"{part}_audio_paths"),
                             getattr(self, f"{part}_durations"), getattr(self, f"{part}_texts"))

    def check_loaded(self, partition):
        """A ValueError, saying how to load it, for a partition with no utterances."""
        if not getattr(self, f"{self._part(partition)}_audio_paths"):
            raise ValueError(f"partition {partition!r} has no utterances: load it first "
                             f"(gen.load_partition({partition!r}, INDEX), or load_train_data / "
                             "load_validation_data / load_test_data)")

    @staticmethod
    def _part(partition):
        if partition not in PARTITIONS:
            raise ValueError(f"unknown partition {partition!r}; expected one of "
                             f"{sorted(PARTITIONS)}")
        return PARTITIONS[partition]

    # ---- features and normalisation --------------------------------------------------
    def featurize(self, audio_path):
        """Un-normalised features (time, input_dim) of any audio file (cached)."""
        return self.cache.get(os.fspath(audio_path))

    def _fit_normalization(self):
        """Per-feature mean/std over every training frame (float64 sums: no big concatenation)."""
        if not self.train_audio_paths:
            raise ValueError("the training partition is empty after skipping bad utterances "
                             f"({len(self.skipped.get('train', []))} skipped); cannot fit "
                             "normalisation statistics")
        total = np.zeros(self.input_dim)
        squares = np.zeros(self.input_dim)
        count = 0
        for path in self.train_audio_paths:
            feats = self.featurize(path).astype(np.float64)
            total += feats.sum(axis=0)
            squares += np.square(feats).sum(axis=0)
            count += feats.shape[0]
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
        self.set_normalization(mean, std)

    def normalization_stats(self):
        """{"mean", "std"} copies, to save with a trained model."""
        self._require_stats()
        return {"mean": self.feats_mean.copy(), "std": self.feats_std.copy()}

    def set_normalization(self, mean, std):
        """Install statistics (e.g. restored from a trained model's results) for inference."""
        mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        for name, value in (("mean", mean), ("std", std)):
            if value.shape != (self.input_dim,):
                raise ValueError(f"normalisation {name} has shape {value.shape}; expected "
                                 f"({self.input_dim},) for {self.feature_config.kind} features")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"normalisation {name} holds NaN or infinite values")
        if np.any(std < 0):
            raise ValueError("normalisation std must not be negative")
        self.feats_mean, self.feats_std = mean, std

    def _require_stats(self):
        if self.feats_mean is None:
            raise RuntimeError("no normalisation statistics yet: call load_train_data(...) "
                               "first, or set_normalization(mean, std) with the statistics "
                               "saved with a trained model")

    def normalize(self, feature):
        """(feature - training mean) / max(training std, STD_FLOOR), float32."""
        self._require_stats()
        feature = np.asarray(feature, np.float32)
        if feature.ndim != 2 or feature.shape[1] != self.input_dim:
            raise ValueError(f"feature matrix has shape {feature.shape}; expected "
                             f"(time, {self.input_dim})")
        return normalize_with(feature, self.feats_mean, self.feats_std)

    def get_features(self, partition, index):
        """Normalised features of one utterance of a loaded partition."""
        paths = self.partition_data(partition)[0]
        return self.normalize(self.featurize(paths[index]))

    def labels(self, partition):
        return self._labels[self._part(partition)]

    def speaker_shifts(self, partition):
        """Per utterance of a loaded partition, the vector its normalised features lose under
        `speaker_norm` (its speaker's pooled mean frame), computed as vui.infer.evaluation does at
        test time; None without speaker_norm."""
        if self.speaker_norm is None:
            return None
        paths = self.partition_data(partition)[0]
        return utterance_shifts((self.normalize(self.featurize(p)) for p in paths),
                                self.speakers(partition), self.speaker_norm)

    def speakers(self, partition):
        """Who spoke each utterance: the index's `speaker` field (the embedded corpus and
        LibriSpeech indexes have one), or the audio path where an entry names none."""
        return self._speakers[self._part(partition)]

    # ---- batches ----------------------------------------------------------------------
    def dataset(self, partition, output_length=None, shuffle=None, sort_by_duration=None,
                augment=None, batch_size=None, pad_to_multiple=None, seed=None,
                distinct_peek_shapes=True, duration_jitter=DURATION_JITTER):
        """A keras.utils.PyDataset of (x, y) batches for `model.fit` (see docs/design.md).

        distinct_peek_shapes: pad batches 0 and 1 so that their time and label widths differ
        (see KERAS_PEEKED_BATCHES); off only where exact shapes are printed (test_gen).
        """
        part = self._part(partition)
        if augment is not None and part != "train":
            raise ValueError(f"augmentation is for the training partition only, not {partition!r}")
        self.check_loaded(partition)
        self._require_stats()
        return UtteranceDataset(
            self, part, output_length=output_length,
            shuffle=self.shuffle_data if shuffle is None else shuffle,
            sort_by_duration=self.sort_by_duration if sort_by_duration is None
            else sort_by_duration,
            augment=augment, batch_size=batch_size or self.minibatch_size,
            pad_to_multiple=pad_to_multiple or self.pad_to_multiple,
            seed=self.seed if seed is None else seed, distinct_peek_shapes=distinct_peek_shapes,
            duration_jitter=duration_jitter)


# ---- the seed notebook's helpers ---------------------------------------------------------
def test_gen(desc_file=DEFAULT_INDEXES["train"], num_batches=30, spectrogram=True, raw=False,
             cache_dir=None):
    """Print shapes and transcripts of the shortest training utterances, one a batch.

    Shapes are the true (unpadded) ones, as in the seed: `(1, 229, 161) (1, 27) a great ...`.
    """
    gen = AudioGeneratorCached(minibatch_size=1, sort_by_duration=True, shuffle_data=False,
                               spectrogram=spectrogram, raw=raw, cache_dir=cache_dir)
    gen.load_train_data(desc_file)
    batches = gen.dataset("train", pad_to_multiple=1, distinct_peek_shapes=False)
    lines = []
    for i in range(min(num_batches, len(batches))):
        x, y = batches[i]
        lines.append(f"{x.shape} {y[:, 2:].shape} {batches.batch_texts(i)[0]}")
        print(lines[-1])
    return lines


def vis_train_features(index=0, mfcc_classes=U.DEFAULT_MFCC_DIM, desc_file=DEFAULT_INDEXES["train"],
                       cache_dir=None):
    """(text, raw 16 kHz audio, normalised MFCC, normalised spectrogram, path) of one utterance.

    The seed's copy returned librosa's 22,050 Hz audio; this one returns the 16 kHz waveform
    the features are computed from.
    """
    spec_gen = AudioGeneratorCached(spectrogram=True, cache_dir=cache_dir)
    spec_gen.load_train_data(desc_file)
    mfcc_gen = AudioGeneratorCached(spectrogram=False, mfcc_dim=mfcc_classes,
                                    cache_dir=cache_dir)
    mfcc_gen.load_train_data(desc_file)
    paths = spec_gen.train_audio_paths
    if not -len(paths) <= index < len(paths):
        raise IndexError(f"index {index} out of range: {desc_file!r} has {len(paths)} usable "
                         f"training examples")
    path = paths[index]
    print(f"There are {len(paths)} total training examples.")
    mfcc = mfcc_gen.normalize(mfcc_gen.featurize(path))
    return (spec_gen.train_texts[index], U.load_audio(path), mfcc,
            spec_gen.get_features("train", index), path)
