"""The cached feature generator: corpus index -> features (memory + disk cache) -> padded batches.

Backend-agnostic on purpose (numpy and keras only, no tensorflow): the GPU machines we borrow run
JAX or PyTorch. Features are computed once per (file, settings) and kept as .npy files, so a
restarted notebook reloads them instead of recomputing; normalisation statistics come from the
training partition only and travel with trained models (`normalization_stats`).
"""
import collections
import hashlib
import math
import os
import multiprocessing
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict

import keras
import numpy as np
from tqdm.auto import tqdm

import char_map
import utils as U
from utils import STD_FLOOR, normalize_with  # noqa: F401  (DG.normalize_with, DG.STD_FLOOR: public)
from vui.corpus_index import read_index_lenient
from vui.speaker_norm import as_config, utterance_shifts

DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache", "features")
CACHE_ENV = "VUI_CACHE_DIR"
PAD_TO_MULTIPLE = 8         # frames; repeated shapes spare JAX/TF a recompilation per length
PARTITIONS = {"train": "train", "validation": "valid", "valid": "valid", "test": "test"}
DEFAULT_INDEXES = {"train": "train_corpus.json", "valid": "valid_corpus.json",
                   "test": "test_corpus.json"}
MAX_LISTED_SKIPS = 200      # a summary warning lists at most this many files per partition
# Keras (TensorFlow backend) fixes a PyDataset's output signature from its first batches: a
# dimension equal in all of them becomes fixed, and a later batch of another width crashes
# `fit` ("generator yielded an element of shape (24, 98) where (None, 82) was expected").
KERAS_PEEKED_BATCHES = 2
# sort_by_duration with shuffle: each epoch sorts by duration x exp(U(-j, j)), so batches hold
# utterances within about +-10% of one another's length (little padding) yet differ per epoch.
DURATION_JITTER = 0.1
# Batches are made by Keras' thread enqueuer (2 threads), not by its default single-worker path.
# On the TensorFlow backend that path feeds tf.data with AUTOTUNE prefetching, and destroying the
# finished epoch's iterator blocks on a tf.data thread: measured 15-19 s stalls at the start of
# about half the epochs (batch 48, 2 cores; py-spy: ~IteratorResource waiting in
# UnboundedThreadPool). The enqueuer path turns tf.data's autotuning off: no stall in 6 epochs.
DATASET_WORKERS = 2


PartitionData = collections.namedtuple("PartitionData", "audio_paths durations texts")


class AlignmentError(ValueError):
    """A transcript too long for the model's output frames (CTC has no valid path)."""


def repeated_adjacent(label):
    """How many adjacent equal characters a label has (each needs a blank between them in CTC)."""
    label = np.asarray(label)
    return int(np.sum(label[1:] == label[:-1])) if label.size > 1 else 0


def check_alignable(label, output_frames, utterance):
    """Raise AlignmentError naming the utterance unless CTC can align `label` in the frames."""
    needed = len(label) + repeated_adjacent(label)
    if len(label) == 0:
        raise AlignmentError(f"utterance {utterance!r} has an empty transcript; "
                             f"expected at least one character")
    if int(output_frames) < needed:
        raise AlignmentError(
            f"utterance {utterance!r}: transcript needs {needed} output frames ({len(label)} "
            f"characters + {needed - len(label)} repeated pairs) but the model gives only "
            f"{int(output_frames)}; expected output frames >= label length + repeats")


class FeatureCache:
    """Features per audio file: memory first, then one .npy per file on disk, then computed.

    A disk entry is keyed by the absolute path, size and modification time of the file and the
    feature settings, so an edited or replaced file is recomputed and settings never mix.
    """

    def __init__(self, config, cache_dir=None):
        self.config = config
        root = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
        self.dir = os.path.join(os.fspath(root), config.cache_key())
        self.memory = {}

    def disk_path(self, audio_path):
        stat = os.stat(audio_path)
        ident = f"{os.path.abspath(audio_path)}|{stat.st_size}|{stat.st_mtime_ns}"
        digest = hashlib.sha1(ident.encode()).hexdigest()
        return os.path.join(self.dir, digest[:2], digest + ".npy")

    def lookup(self, audio_path):
        """Cached features or None (never computes)."""
        if audio_path in self.memory:
            return self.memory[audio_path]
        try:
            disk = self.disk_path(audio_path)
        except OSError:
            return None
        if os.path.isfile(disk):
            try:
                feats = np.load(disk)
            except (OSError, ValueError):  # a truncated cache file: recompute it
                return None
            self.memory[audio_path] = feats
            return feats
        return None

    def store(self, audio_path, feats):
        self.memory[audio_path] = feats
        disk = self.disk_path(audio_path)
        os.makedirs(os.path.dirname(disk), exist_ok=True)
        tmp = f"{disk}.{os.getpid()}.{threading.get_ident()}.tmp.npy"  # batch-making threads
        np.save(tmp, feats)
        os.replace(tmp, disk)  # atomic: a killed run never leaves half a file

    def get(self, audio_path):
        """Features for one file, computing and storing them if needed; raises AudioError."""
        feats = self.lookup(audio_path)
        if feats is None:
            feats = U.features_from_file(audio_path, self.config)
            self.store(audio_path, feats)
        return feats

    def fill(self, audio_paths, n_jobs=1, desc="features"):
        """Compute every missing file once (tqdm bar); returns {path: error text} of failures.

        n_jobs > 1 uses a process pool started with "spawn" (forking a process that has
        loaded TensorFlow can deadlock); workers import only utils.
        """
        missing = [p for p in dict.fromkeys(audio_paths) if self.lookup(p) is None]
        errors = {}
        if not missing:
            return errors
        if n_jobs > 1 and len(missing) > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(n_jobs, mp_context=context) as pool:
                futures = {pool.submit(U.features_from_file, p, self.config): p for p in missing}
                for future in tqdm(as_completed(futures), total=len(missing), desc=desc):
                    self._collect(futures[future], future.result, errors)
        else:
            for path in tqdm(missing, desc=desc):
                self._collect(path, lambda: U.features_from_file(path, self.config), errors)
        return errors

    def _collect(self, path, compute, errors):
        try:
            self.store(path, compute())
        except U.AudioError as err:
            errors[path] = str(err)


def _round_up(n, multiple):
    return int(math.ceil(max(int(n), 1) / multiple) * multiple)


def apply_output_length(output_length, frames):
    """Model output frames for each utterance's input frames (identity when None)."""
    frames = np.asarray(frames, dtype=np.int64)
    if output_length is None:
        return frames
    try:
        out = np.asarray(output_length(frames))
        if out.shape == frames.shape:
            return out.astype(np.int64)
    except (TypeError, ValueError):
        pass  # a callable written for one int at a time
    return np.array([int(output_length(int(n))) for n in frames], dtype=np.int64)


class AudioGeneratorCached:
    """The seed's generator: loads partitions from corpus indexes and serves padded batches.

    raw=True overrides spectrogram; spectrogram=False selects MFCC with `mfcc_dim` coefficients;
    utterance_mean=True subtracts each utterance's own mean (utils.FeatureConfig).
    speaker_norm (vui.speaker_norm: "speaker", "utterance" or a SpeakerNormConfig) shifts every
    batch's features by their speaker's mean frame in the normalised space, every partition
    alike: per-speaker CMN in training, matched to the same shift at test time (the trained
    model's record keeps it, and vui.inference applies it).
    """

    def __init__(self, step=10, window=20, max_freq=8000, mfcc_dim=U.DEFAULT_MFCC_DIM, minibatch_size=20,
                 desc_file=None, spectrogram=True, raw=False, max_duration=10.0,
                 sort_by_duration=False, shuffle_data=True, cache_dir=None, seed=0,
                 pad_to_multiple=PAD_TO_MULTIPLE, n_jobs=1, utterance_mean=False,
                 speaker_norm=None):
        kind = "raw" if raw else ("spectrogram" if spectrogram else "mfcc")
        self.feature_config = U.FeatureConfig(kind, mfcc_dim=mfcc_dim, step_ms=step,
                                              window_ms=window, max_freq=max_freq,
                                              utterance_mean=utterance_mean)
        if int(minibatch_size) < 1:
            raise ValueError(f"minibatch_size must be >= 1, got {minibatch_size!r}")
        self.minibatch_size = int(minibatch_size)
        self.max_duration = float(max_duration)
        self.sort_by_duration, self.shuffle_data = bool(sort_by_duration), bool(shuffle_data)
        self.speaker_norm = as_config(speaker_norm)
        self.seed, self.pad_to_multiple, self.n_jobs = seed, int(pad_to_multiple), int(n_jobs)
        self.cache = FeatureCache(self.feature_config, cache_dir)
        self.feats_mean = self.feats_std = None
        self.skipped = {}
        self._labels, self._speakers = {}, {}
        for part in ("train", "valid", "test"):
            self._set_partition(part, [])
        if desc_file is not None:
            self.load_train_data(desc_file)

    @classmethod
    def for_features(cls, feature_config, **kwargs):
        """A generator computing the features a model was trained on (its record's
        `feature_config` dict, or a utils.FeatureConfig); kwargs as for the constructor."""
        cfg = feature_config if isinstance(feature_config, dict) else asdict(feature_config)
        return cls(step=cfg["step_ms"], window=cfg["window_ms"], max_freq=cfg["max_freq"],
                   mfcc_dim=cfg["mfcc_dim"], spectrogram=cfg["kind"] == "spectrogram",
                   raw=cfg["kind"] == "raw", utterance_mean=cfg.get("utterance_mean", False),
                   **kwargs)

    @classmethod
    def for_corpus(cls, feature_config, corpus_root, test_index=None, **kwargs):
        """for_features over a corpus directory's train and valid indexes, and `test_index`
        (any index: a held-out family's, LibriSpeech's) as the test partition when given."""
        gen = cls.for_features(feature_config, **kwargs)
        gen.load_train_data(os.path.join(corpus_root, "train_corpus.json"))
        gen.load_validation_data(os.path.join(corpus_root, "valid_corpus.json"))
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

    def _set_partition(self, part, rows):
        setattr(self, f"{part}_audio_paths", [r[0] for r in rows])
        setattr(self, f"{part}_texts", [r[1] for r in rows])
        setattr(self, f"{part}_durations", [r[2] for r in rows])
        self._labels[part] = [np.asarray(r[3], dtype=np.int32) for r in rows]
        self._speakers[part] = [r[4] for r in rows]

    def _load(self, part, desc_file):
        """Read an index, compute missing features once, skip and report bad utterances."""
        entries, skipped = read_index_lenient(desc_file)
        rows = []
        for entry in entries:
            key, duration = entry["key"], float(entry["duration"])
            if duration > self.max_duration:
                skipped.append((key, f"{duration:.2f} s is over max_duration={self.max_duration}"))
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
        errors = self.cache.fill([r[0] for r in rows], self.n_jobs,
                                 desc=f"{part} {self.feature_config.short_name} features")
        skipped += list(errors.items())
        self._set_partition(part, [r for r in rows if r[0] not in errors])
        self.skipped[part] = skipped
        if skipped:
            self._warn_skipped(part, desc_file, skipped, len(rows) + len(skipped) - len(errors))

    @staticmethod
    def _warn_skipped(part, desc_file, skipped, total):
        listed = "\n".join(f"  {key}: {reason}" for key, reason in skipped[:MAX_LISTED_SKIPS])
        more = len(skipped) - MAX_LISTED_SKIPS
        tail = f"\n  ... and {more} more (see .skipped[{part!r}])" if more > 0 else ""
        warnings.warn(f"{part} partition from {os.fspath(desc_file)!r}: skipped "
                      f"{len(skipped)} of {total} utterances, kept the rest:\n{listed}{tail}",
                      stacklevel=3)

    def partition_data(self, partition):
        """PartitionData(audio_paths, durations, texts) of "train", "validation"/"valid", "test".

        The order is the course toolkit's (audio_paths, durations, texts).
        """
        part = self._part(partition)
        return PartitionData(getattr(self, f"{part}_audio_paths"),
                             getattr(self, f"{part}_durations"), getattr(self, f"{part}_texts"))

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
        `speaker_norm` (its speaker's pooled mean frame), computed as vui.inference does at
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
        if not getattr(self, f"{part}_audio_paths"):
            raise ValueError(f"partition {partition!r} has no utterances: load it first "
                             f"(load_train_data / load_validation_data / load_test_data)")
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


class UtteranceDataset(keras.utils.PyDataset):
    """Padded batches of one partition.

    x: float32 (batch, time padded to a multiple, input_dim), zeros after the utterance.
    y: int32 (batch, 2 + label padded): [output frames, label length, labels, BLANK padding].
    Order per epoch: shuffle -> a new permutation from a seeded Generator; sort_by_duration ->
    batches are made of utterances adjacent in duration order; with shuffle too, the order of
    those batches is permuted and the durations are jittered by `duration_jitter` (log scale)
    before sorting, so batch contents change from epoch to epoch. Random batches of the
    embedded corpus are ~51% padding (the GRUs compute on it); jittered sorted ones ~9%.
    """

    def __init__(self, generator, part, output_length=None, shuffle=False,
                 sort_by_duration=False, augment=None, batch_size=20,
                 pad_to_multiple=PAD_TO_MULTIPLE, seed=0, distinct_peek_shapes=True,
                 duration_jitter=DURATION_JITTER):
        super().__init__(workers=DATASET_WORKERS, use_multiprocessing=False)
        if not 0 <= duration_jitter < 1:
            raise ValueError(f"duration_jitter must be in [0, 1), got {duration_jitter!r}")
        self.duration_jitter = float(duration_jitter)
        self.distinct_peek_shapes = bool(distinct_peek_shapes)
        self.gen, self.part = generator, part
        self.output_length, self.augment = output_length, augment
        self.shuffle, self.sort_by_duration = bool(shuffle), bool(sort_by_duration)
        self.batch_size, self.pad_to_multiple = int(batch_size), int(pad_to_multiple)
        self.seed = 0 if seed is None else int(seed)
        self.epoch = 0                            # counts on_epoch_end calls; seeds augmentation
        self.rng = np.random.default_rng(seed)    # batch order only (augmentation has its own)
        paths, durations, texts = generator.partition_data(part)
        labels = generator.labels(part)
        frames = np.array([generator.featurize(p).shape[0] for p in paths])
        out = apply_output_length(output_length, frames)
        keep, bad = [], []
        for i, (path, label, n_out) in enumerate(zip(paths, labels, out)):
            try:
                check_alignable(label, n_out, path)
                keep.append(i)
            except AlignmentError as err:
                bad.append(str(err))
        if bad:
            warnings.warn(f"{part}: left out {len(bad)} of {len(paths)} utterances whose "
                          f"transcript does not fit the model's output frames:\n  "
                          + "\n  ".join(bad), stacklevel=3)
        if not keep:
            raise AlignmentError(f"no utterance of the {part} partition can be aligned with "
                                 f"this model's output length")
        self.indices = np.array(keep)            # partition indices of the usable utterances
        self.paths, self.texts, self.labels = paths, texts, labels
        self.durations = np.asarray(durations, dtype=np.float64)
        self.shifts = self._speaker_shifts()
        self._plan()

    def _speaker_shifts(self):
        """generator.speaker_shifts of this partition, refused beside augmentation that
        changes the voice (waveform, precomputed variants, feature warps): an augmented copy
        is another voice, whose mean its speaker's clean frames do not give."""
        if self.gen.speaker_norm is None:
            return None
        if getattr(self.augment, "changes_voice", False) or any(
                getattr(self.augment, hook, None) is not None
                for hook in ("variant_features", "waveform")):
            raise ValueError(f"speaker_norm={self.gen.speaker_norm} with augmentation "
                             f"{getattr(self.augment, 'name', self.augment)!r} that changes the "
                             "voice: an augmented copy is another voice, whose speaker mean is "
                             "not known; use SpecAugment alone, or no speaker_norm")
        return self.gen.speaker_shifts(self.part)

    def _plan(self):
        """self.batches: arrays of partition indices (into generator.<part>_audio_paths)."""
        n = len(self.indices)
        if self.sort_by_duration:
            keys = self.durations[self.indices]
            if self.shuffle and self.duration_jitter:
                keys = keys * np.exp(self.rng.uniform(-self.duration_jitter,
                                                      self.duration_jitter, len(keys)))
            order = self.indices[np.argsort(keys, kind="stable")]
            batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
            if self.shuffle:
                batches = [batches[i] for i in self.rng.permutation(len(batches))]
        else:
            order = self.rng.permutation(self.indices) if self.shuffle else self.indices
            batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def on_epoch_end(self):
        self.epoch += 1
        if self.shuffle:
            self._plan()

    def augment_rng(self, i):
        """The augmentation Generator of partition utterance i in the current epoch.

        Seeded by (seed, epoch, i) rather than drawn from one running stream, so an utterance's
        augmentation does not depend on which batches were fetched before it (Keras may fetch
        out of order, and a resumed run starts mid-way); set `self.epoch` to resume exactly.
        """
        return np.random.default_rng((self.seed, self.epoch, int(i)))

    def _features(self, i):
        """Normalised features of utterance i, through the augmentation hooks if any.

        Hooks, each optional: `variant_features(path, rng)` -> un-normalised precomputed
        features or None (None: the clean ones); else `waveform(audio, rate, rng)` on the
        reloaded audio; then the speaker shift, if any; then `features(normalised, rng)`.
        Augmented audio that no longer fits the label in the model's output frames falls back
        to the clean features.
        """
        path, rng = self.paths[i], self.augment_rng(i)
        feats = self.gen.featurize(path)
        variant = getattr(self.augment, "variant_features", None)
        augmented = variant(path, rng) if variant is not None else None
        if augmented is not None:
            augmented = np.asarray(augmented, np.float32)
            if augmented.ndim != 2 or augmented.shape[1] != self.gen.input_dim:
                raise ValueError(f"variant_features({path!r}) returned shape "
                                 f"{augmented.shape}; expected (time, {self.gen.input_dim})")
        elif getattr(self.augment, "waveform", None) is not None:
            config = self.gen.feature_config
            audio = self.augment.waveform(U.load_audio(path, config.sample_rate),
                                          config.sample_rate, rng)
            augmented = U.compute_features(np.asarray(audio, np.float32), config, name=path)
        if augmented is not None and self._alignable(i, augmented.shape[0]):
            feats = augmented
        feats = self.gen.normalize(feats)
        if self.shifts is not None:
            feats = feats - self.shifts[i]
        spec = getattr(self.augment, "features", None)
        if spec is not None:
            feats = np.asarray(spec(feats, rng), np.float32)
        return feats

    def _alignable(self, i, frames):
        """Whether utterance i's label still fits the output frames of `frames` input frames
        (an augmentation that shortens audio must not make the label unalignable)."""
        n_out = apply_output_length(self.output_length, [frames])[0]
        try:
            check_alignable(self.labels[i], n_out, self.paths[i])
        except AlignmentError:
            return False
        return True

    def __getitem__(self, index):
        if not 0 <= index < len(self.batches):
            raise IndexError(f"batch {index} out of range for {len(self.batches)} batches")
        batch = self.batches[index]
        feats = [self._features(i) for i in batch]
        frames = np.array([f.shape[0] for f in feats])
        lengths = np.array([len(self.labels[i]) for i in batch])
        x = np.zeros((len(batch), self._padded(frames.max(), index), self.gen.input_dim),
                     np.float32)
        y = np.full((len(batch), 2 + self._padded(lengths.max(), index)),
                    char_map.BLANK_INDEX, np.int32)
        y[:, 0] = apply_output_length(self.output_length, frames)
        y[:, 1] = lengths
        for row, (i, f) in enumerate(zip(batch, feats)):
            x[row, :f.shape[0]] = f
            y[row, 2:2 + lengths[row]] = self.labels[i]
        return x, y

    def _padded(self, n, index):
        """n rounded up to the padding multiple; batch 0 to an even and batch 1 to an odd
        number of multiples, so the batches Keras peeks at always differ in width (their true
        lengths, in y[:, 0] and y[:, 1], are untouched: at most one multiple of extra padding
        on two batches an epoch)."""
        padded = _round_up(n, self.pad_to_multiple)
        if self.distinct_peek_shapes and len(self.batches) > KERAS_PEEKED_BATCHES - 1 and \
                index < KERAS_PEEKED_BATCHES and (padded // self.pad_to_multiple) % 2 != index:
            padded += self.pad_to_multiple
        return padded

    def batch_texts(self, index):
        """Transcripts of the utterances in batch `index` (for printing and checks)."""
        return [self.texts[i] for i in self.batches[index]]


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


def plot_raw_audio(vis_raw_audio, sample_rate=U.SAMPLE_RATE):
    """Waveform against time in seconds; returns the figure."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(12, 3))
    ax.plot(np.arange(len(vis_raw_audio)) / sample_rate, vis_raw_audio)
    ax.set(title="Audio Signal", xlabel="Time (s)", ylabel="Amplitude")
    return fig


def _plot_feature(feature, title, ylabel):
    import matplotlib.pyplot as plt
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    fig, ax = plt.subplots(figsize=(12, 5))
    image = ax.imshow(np.asarray(feature).T, cmap="jet", aspect="auto", origin="lower")
    ax.set(title=title, xlabel="Time (frames of 10 ms)", ylabel=ylabel)
    cax = make_axes_locatable(ax).append_axes("right", size="3%", pad=0.05)
    fig.colorbar(image, cax=cax)
    return fig


def plot_mfcc_feature(vis_mfcc_feature):
    """Normalised MFCC as an image (coefficients up, time across); returns the figure."""
    return _plot_feature(vis_mfcc_feature, "Normalized MFCC", "MFCC Coefficient")


def plot_spectrogram_feature(vis_spectrogram_feature):
    """Normalised log spectrogram as an image (frequency up, time across); returns the figure."""
    return _plot_feature(vis_spectrogram_feature, "Normalized Spectrogram", "Frequency bin")
