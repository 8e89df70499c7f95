"""The three acoustic feature kinds (spectrogram, MFCC, raw frames) of audio that
vui.data.audio loads (re-exported here: `U.load_audio`).

Every feature kind yields the same number of frames for the same clip (one per `step_ms`, a frame
for each full `window_ms` window), so a model's output length never depends on the feature kind
and the seed's (381, 161) spectrogram pairs with a (381, 26) MFCC of the same clip.
Features are returned un-normalised; normalisation statistics belong to the training partition
(see data_generator.py).
"""
import dataclasses
import functools
import hashlib
import os

import numpy as np
import python_speech_features
import scipy.fft
import scipy.sparse
from numpy.lib.stride_tricks import sliding_window_view

from vui.devices import config_GPU  # noqa: F401  (the seed calls U.config_GPU())
from vui.data.audio import (  # noqa: F401  (public: the seed's U.x, and the features' input)
    RESAMPLE_QUALITY, SAMPLE_RATE, SILENCE_PEAK, WAV_HEADER_SCAN, AudioError, load_audio,
    resample)

FEATURE_KINDS = ("spectrogram", "mfcc", "raw")
SHORT_NAMES = {"spectrogram": "Spec", "mfcc": "MFCC", "raw": "Raw"}
# The seed notebook's generator gave 26 MFCC coefficients (its summaries show 26 input features);
# the Udacity original's 13 is one argument away (mfcc_dim=13).
DEFAULT_MFCC_DIM = 26
# Floor on the per-feature std. The course toolkit divided by (std + 1e-14): a feature that is
# constant in training (a band silent in every training clip) then blew up to ~1e15 at test
# time. Real features have std >= ~0.05 (raw samples) to several units (log spectra, MFCC).
STD_FLOOR = 1e-3
SPECTROGRAM_EPS = 1e-14          # the course toolkit's log floor
MFCC_MIN_FILTERS = 26            # python_speech_features' default filter-bank size
MFCC_PREEMPHASIS = 0.97          # python_speech_features' defaults, kept so values match it
MFCC_LIFTER = 22
# Bump when the numbers a FeatureConfig produces change, so old disk caches are not reused;
# float32 rounding (MFCC moved off python_speech_features' float64 path: within 2e-4) is not a change.
FEATURE_VERSION = 1

def normalize_with(feature, mean, std):
    """(feature - mean) / max(std, STD_FLOOR) as float32: the one normalisation used in training
    and at inference (statistics saved with a model go through here too)."""
    std = np.maximum(np.asarray(std, np.float32), np.float32(STD_FLOOR))
    return (np.asarray(feature, np.float32) - np.asarray(mean, np.float32)) / std


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """What a feature matrix is; equal configs give identical numbers (and share a disk cache)."""
    kind: str = "spectrogram"
    mfcc_dim: int = DEFAULT_MFCC_DIM
    step_ms: float = 10
    window_ms: float = 20
    max_freq: float = 8000
    sample_rate: int = SAMPLE_RATE
    # Subtract each utterance's own mean per coefficient (cepstral mean normalisation): a fixed
    # channel or vocal-tract tilt is a constant offset in log/cepstral features, and removing it
    # per utterance takes part of what separates one voice from another out of the input.
    # The training-set normalisation is applied on top, as without it.
    utterance_mean: bool = False

    def __post_init__(self):
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"feature kind {self.kind!r} is not one of {FEATURE_KINDS}")
        if int(self.mfcc_dim) != self.mfcc_dim or self.mfcc_dim < 1:
            raise ValueError(f"mfcc_dim must be a positive integer, got {self.mfcc_dim!r}")
        if not 0 < self.step_ms <= self.window_ms:
            raise ValueError(f"need 0 < step_ms <= window_ms, got step_ms={self.step_ms}, "
                             f"window_ms={self.window_ms}")
        if not 0 < self.max_freq <= self.sample_rate / 2:
            raise ValueError(f"max_freq={self.max_freq} must be in (0, {self.sample_rate / 2}] "
                             f"(the Nyquist frequency of {self.sample_rate} Hz)")
        if self.hop_length < 1:
            raise ValueError(f"step_ms={self.step_ms} is shorter than one sample")

    @property
    def hop_length(self):
        return int(0.001 * self.step_ms * self.sample_rate)

    @property
    def window_length(self):
        return int(0.001 * self.window_ms * self.sample_rate)

    @functools.cached_property
    def spectrogram_bins(self):
        """Bins of the rfft at or below max_freq (161 for 320-sample windows and 8 kHz)."""
        freqs = self.sample_rate / self.window_length * np.arange(self.window_length // 2 + 1)
        return int(np.nonzero(freqs <= self.max_freq)[0][-1]) + 1

    @property
    def feature_dim(self):
        return {"spectrogram": self.spectrogram_bins, "mfcc": int(self.mfcc_dim),
                "raw": self.hop_length}[self.kind]

    @property
    def short_name(self):
        """The run name's feature prefix, as the seed wrote it ("Spec", "MFCC"); MFCC of another
        width than the default says its width ("MFCC(13)"), so the two never share results."""
        width = f"({self.mfcc_dim})" if self.kind == "mfcc" and self.mfcc_dim != DEFAULT_MFCC_DIM \
            else ""
        return SHORT_NAMES[self.kind] + width + ("-CMN" if self.utterance_mean else "")

    def num_frames(self, num_samples):
        """Frames for a clip of `num_samples`: one per hop with a full window (0 if too short)."""
        if num_samples < self.window_length:
            return 0
        return 1 + (num_samples - self.window_length) // self.hop_length

    def shortest_clip_seconds(self, frames):
        """The shortest clip that gives `frames` frames (num_frames' inverse), in seconds: a
        clip's features tell at least this much of its length."""
        return (self.window_length + max(frames - 1, 0) * self.hop_length) / self.sample_rate

    def cache_key(self):
        """A short stable string naming these settings (and the feature code version)."""
        fields = dataclasses.asdict(self)
        if self.kind != "mfcc":
            fields.pop("mfcc_dim")
        if not self.utterance_mean:       # keys (and disk caches) from before the option stay
            fields.pop("utterance_mean")
        text = repr(sorted(fields.items())) + f"|v{FEATURE_VERSION}"
        return f"{self.kind}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def feature_identity(config):
    """The settings that decide a feature matrix's numbers, as a dict (from a FeatureConfig or
    its saved dict): mfcc_dim only for MFCC, since the seed's generators pass it with
    spectrograms too, and a run or model must not be refused over a setting it never used."""
    settings = dict(config) if isinstance(config, dict) else dataclasses.asdict(config)
    if settings.get("kind") != "mfcc":
        settings.pop("mfcc_dim", None)
    return settings


@functools.lru_cache(maxsize=16)
def _window_and_scale(fft_length, sample_rate, bins):
    """Hann window and per-bin scale (computed once per setting: short clips are common).

    The scale is matplotlib specgram's convention as in the course toolkit: |X|^2 divided by
    window energy * sample rate, doubled for every bin except DC and Nyquist.
    """
    window = np.hanning(fft_length)
    scale = np.full(fft_length // 2 + 1, 2.0 / (np.sum(window ** 2) * sample_rate))
    scale[[0, -1]] /= 2.0
    return window.astype(np.float32), scale[:bins].astype(np.float32)


def spectrogram(audio, config=None, eps=SPECTROGRAM_EPS):
    """Log power spectrogram (time, bins) float32: the seed's 20 ms Hann / 10 ms hop / 8 kHz.

    Hand-written rather than librosa.stft + scaling because this runs faster than that
    (docs/experiments/scale.md, "Features and the cold cache"): frames are a strided view (no copy), one float32 rfft over
    all frames, in-place power/scale/log on only the kept bins. Float32 stays within 0.01
    (natural log) of a float64 computation.
    """
    config = config or FeatureConfig()
    _check_long_enough(audio, config)
    window, scale = _window_and_scale(config.window_length, config.sample_rate,
                                      config.spectrogram_bins)
    audio = np.asarray(audio, dtype=np.float32)
    frames = sliding_window_view(audio, config.window_length)[::config.hop_length]
    spectrum = scipy.fft.rfft(frames * window, axis=1)[:, :len(scale)]
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power *= scale
    power += np.float32(eps)
    return np.log(power, out=power)


def spectrogram_from_file(filename, step=10, window=20, max_freq=8000, eps=SPECTROGRAM_EPS):
    """The course toolkit's entry point, kept for notebooks that call it."""
    config = FeatureConfig("spectrogram", step_ms=step, window_ms=window, max_freq=max_freq)
    return spectrogram(load_audio(filename, config.sample_rate), config, eps)


@functools.lru_cache(maxsize=16)
def _mel_bank(nfilt, nfft, sample_rate):
    """python_speech_features' own mel filter bank as a sparse (nfilt, bins) matrix, built once
    per setting (each FFT bin feeds at most two triangular filters)."""
    return scipy.sparse.csr_matrix(
        python_speech_features.get_filterbanks(nfilt, nfft, sample_rate).astype(np.float32))


@functools.lru_cache(maxsize=16)
def _lifter(numcep):
    n = np.arange(numcep)
    return (1 + (MFCC_LIFTER / 2) * np.sin(np.pi * n / MFCC_LIFTER)).astype(np.float32)


def mfcc(audio, config=None):
    """MFCC (time, mfcc_dim) float32: python_speech_features.mfcc's definition and values.

    The window is `window_ms` (not the library's 25 ms default) and the audio is cut to whole
    frames, so the time axis matches the spectrogram's frame for frame.
    Hand-written around the library's filter bank because the library rebuilds that bank in a
    Python loop and gathers frames by index in float64 on every call: the same steps on a
    strided float32 view with the bank cached run several times faster
    (benchmarks/bench_features.py) within 2e-4 of its output (tests/test_features.py). No step
    uses BLAS (the bank is sparse, the DCT is an FFT), so the numbers do not depend on how many
    BLAS threads a process runs: a pool worker and the main process agree bit for bit.
    """
    config = config or FeatureConfig("mfcc")
    _check_long_enough(audio, config)
    n = config.num_frames(len(audio))
    used = np.asarray(audio[:(n - 1) * config.hop_length + config.window_length], np.float32)
    nfft = 1 << (config.window_length - 1).bit_length()
    numcep = int(config.mfcc_dim)
    bank = _mel_bank(max(MFCC_MIN_FILTERS, numcep), nfft, config.sample_rate)
    emphasized = np.empty_like(used)
    emphasized[0] = used[0]
    np.subtract(used[1:], np.float32(MFCC_PREEMPHASIS) * used[:-1], out=emphasized[1:])
    frames = sliding_window_view(emphasized, config.window_length)[::config.hop_length]
    spectrum = scipy.fft.rfft(frames, n=nfft, axis=1)
    power = np.square(spectrum.real)
    power += np.square(spectrum.imag)
    power *= np.float32(1.0 / nfft)
    energy = power.sum(axis=1)
    mel = np.ascontiguousarray((bank @ power.T).T)
    for values in (energy, mel):          # the library's floor: log(0) becomes log(float eps)
        values[values == 0] = np.finfo(np.float64).eps
    cepstra = scipy.fft.dct(np.log(mel, out=mel), type=2, norm="ortho", axis=1)
    feats = cepstra[:, :numcep] * _lifter(numcep)
    feats[:, 0] = np.log(energy)
    return feats


def raw_frames(audio, config=None):
    """Raw samples as (time, hop_length) non-overlapping frames, one per feature step."""
    config = config or FeatureConfig("raw")
    _check_long_enough(audio, config)
    n = config.num_frames(len(audio))
    return np.asarray(audio[:n * config.hop_length], np.float32).reshape(n, config.hop_length)


def _check_long_enough(audio, config, name=None):
    if len(audio) < config.window_length:
        where = f"audio {name!r}" if name else "audio"
        raise AudioError(f"{where} has {len(audio)} samples, shorter than one "
                         f"{config.window_ms} ms window ({config.window_length} samples)")


_FEATURE_FUNCTIONS = {"spectrogram": spectrogram, "mfcc": mfcc, "raw": raw_frames}


def compute_features(audio, config, name=None):
    """Un-normalised features (time, config.feature_dim) float32 of a mono waveform.

    `name` (a file path) only serves error messages.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"expected a mono waveform (1-D array) for {name or 'audio'}, "
                         f"got shape {audio.shape}")
    _check_long_enough(audio, config, name)
    feats = _FEATURE_FUNCTIONS[config.kind](audio, config)
    if config.utterance_mean:
        feats -= feats.mean(axis=0, dtype=np.float64).astype(np.float32)
    return feats


def features_of(audio, config, name=None):
    """Un-normalised features of a file path or a waveform at config's sample rate (`name`:
    the waveform's, for error messages): what a trained model's inference starts from."""
    if isinstance(audio, (str, os.PathLike)):
        return features_from_file(audio, config)
    return compute_features(np.asarray(audio, np.float32), config, name=name)


def features_from_file(path, config):
    """Load a file and compute its features; raises AudioError naming the file.

    Lives here (not in data_generator) so that process-pool workers import only this light
    module, not keras.
    """
    path = os.fspath(path)
    return compute_features(load_audio(path, config.sample_rate), config, name=path)
