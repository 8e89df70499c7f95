"""Padded batches of one partition for `model.fit`: the Keras PyDataset and its CTC checks.

Why a module of its own: everything between a loaded partition and the arrays Keras sees lives
here: the order of batches per epoch (shuffle, duration sort with jitter), padding to repeated
shapes, `y`'s length columns, the check that CTC can align each transcript in the model's
output frames, and where augmentation and the speaker shift apply. data_generator (loading and
normalisation) makes one with `AudioGeneratorCached.dataset`; the seed's names
(`DG.UtteranceDataset`, `DG.check_alignable`, `DG.PAD_TO_MULTIPLE`, ...) are re-exported there.
"""
import math
import warnings

import keras
import numpy as np

import char_map
import utils as U

PAD_TO_MULTIPLE = 8         # frames; repeated shapes spare JAX/TF a recompilation per length
# Keras (TensorFlow backend) fixes a PyDataset's output signature from its first batches: a
# dimension equal in all of them becomes fixed, and a later batch of another width crashes
# `fit` ("generator yielded an element of shape (24, 98) where (None, 82) was expected").
KERAS_PEEKED_BATCHES = 2
# sort_by_duration with shuffle: each epoch sorts by duration x exp(U(-j, j)), so batches hold
# utterances within about +-10% of one another's length (little padding) yet differ per epoch.
DURATION_JITTER = 0.1
# Batches are made by Keras' thread enqueuer (2 threads), not by its default single-worker path.
# On the TensorFlow backend that path feeds tf.data with AUTOTUNE prefetching, and destroying the
# finished epoch's iterator blocks on a tf.data thread, which stalled the start of many epochs.
# The enqueuer path turns tf.data's autotuning off, and the stalls went (docs/experiments/demo.md,
# "2026-11-25: spectrogram, step schedule").
DATASET_WORKERS = 2
MAX_LISTED_UNALIGNABLE = 20   # the warning names this many; a whole corpus may not fit


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


def _longest_case(frames, out, labels):
    """What the longest utterance of a partition none of which fits gets and needs: the model's
    convolutions shrink time too much, or the transcripts are too long for their audio."""
    if not len(frames):
        return ""
    i = int(np.argmax(frames))
    needed = len(labels[i]) + repeated_adjacent(labels[i])
    return (f": the longest ({int(frames[i])} frames) gives {int(out[i])} output frames and its "
            f"transcript needs {needed}; the convolutions' kernel, stride or dilation shrink "
            "time too much for this corpus, or its transcripts are too long for their audio")


def _round_up(n, multiple):
    return int(math.ceil(max(int(n), 1) / multiple) * multiple)


def _filled(lengths, width):
    """(rows, width) mask of the first lengths[row] places of each row."""
    return np.arange(width) < np.asarray(lengths)[:, None]


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


class UtteranceDataset(keras.utils.PyDataset):
    """Padded batches of one partition.

    x: float32 (batch, time padded to a multiple, input_dim), zeros after the utterance.
    y: int32 (batch, 2 + label padded): [output frames, label length, labels, BLANK padding].
    Order per epoch: shuffle -> a new permutation from a seeded Generator; sort_by_duration ->
    batches are made of utterances adjacent in duration order; with shuffle too, the order of
    those batches is permuted and the durations are jittered by `duration_jitter` (log scale)
    before sorting, so batch contents change from epoch to epoch. Random batches of the
    embedded corpus carry much padding, which the GRUs compute on; jittered sorted ones little
    (docs/experiments/demo.md, "2026-11-25: spectrogram, step schedule").
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
            more = len(bad) - MAX_LISTED_UNALIGNABLE
            warnings.warn(f"{part}: left out {len(bad)} of {len(paths)} utterances whose "
                          f"transcript does not fit the model's output frames:\n  "
                          + "\n  ".join(bad[:MAX_LISTED_UNALIGNABLE])
                          + (f"\n  ... and {more} more" if more > 0 else ""), stacklevel=3)
        if not keep:
            raise AlignmentError(f"no utterance of the {part} partition can be aligned with "
                                 f"this model's output length" + _longest_case(frames, out, labels))
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
        path = self.paths[i]
        rng = None if self.augment is None else self.augment_rng(i)   # seeding costs ~20 us
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
        plain = self.augment is None and self.shifts is None
        feats = [self.gen.featurize(self.paths[i]) if plain else self._features(i)
                 for i in batch]
        frames = np.array([f.shape[0] for f in feats])
        lengths = np.array([len(self.labels[i]) for i in batch])
        x = self._padded_x(feats, frames, self._padded(frames.max(), index), plain)
        y = np.full((len(batch), 2 + self._padded(lengths.max(), index)),
                    char_map.BLANK_INDEX, np.int32)
        y[:, 0] = apply_output_length(self.output_length, frames)
        y[:, 1] = lengths
        labels = np.concatenate([self.labels[i] for i in batch])
        y[:, 2:][_filled(lengths, y.shape[1] - 2)] = labels   # row-major: concatenation order
        return x, y

    def _padded_x(self, feats, frames, width, normalize):
        """x: each utterance's frames, normalised if asked (plain batches take the cached,
        un-normalised arrays), then zeros to `width`.

        Normalising straight into x is one pass over the data where a normalised copy and then
        a copy into x were two, with their temporary arrays; and without augmentation no
        per-utterance random generator is seeded.
        """
        bad = next((f for f in feats if f.ndim != 2 or f.shape[1] != self.gen.input_dim), None)
        if bad is not None:
            self.gen.normalize(bad)                   # raises, naming the expected width
        x = np.empty((len(feats), width, self.gen.input_dim), np.float32)
        mean, std = self._normalization() if normalize else (None, None)
        for row, (f, n) in enumerate(zip(feats, frames)):
            out = x[row, :n]
            if normalize:     # utils.normalize_with's float32 operations: the same numbers
                np.subtract(np.asarray(f, np.float32), mean, out=out)
                np.divide(out, std, out=out)
            else:
                out[...] = f
            x[row, n:] = 0
        return x

    def _normalization(self):
        """The generator's (mean, floored std) as float32, as utils.normalize_with uses them."""
        self.gen._require_stats()
        mean = np.asarray(self.gen.feats_mean, np.float32)
        return mean, np.maximum(np.asarray(self.gen.feats_std, np.float32),
                                np.float32(U.STD_FLOOR))

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
