"""Vocal-tract-length perturbation on cached features: one linear map per warp factor.

Why: the waveform warp (vui.augment.dsp.vtlp_warp) must reload and re-featurise every clip
(docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per audio second"), so
waveform variants are precomputed, a few per utterance,
and every epoch sees the same few. A warp of the frequency axis is linear on log band energies,
and the DCT and lifter of an MFCC are linear too, so for a warp factor alpha the warped features
are `feats @ M(alpha).T` with M a (feature_dim x feature_dim) matrix: every utterance of every
epoch gets a fresh alpha for the cost of one small matrix product on the cached features.
Hand-written because no library does this for python_speech_features' cepstra (torchaudio and
audiomentations warp waveforms or linear spectrograms); the warp itself is Jaitly & Hinton's
piecewise-linear one, shared with the waveform path (vui.augment.dsp).

Conventions: alpha > 1 moves formants up (a shorter vocal tract: male toward female); alpha 1
is the identity. For MFCC the cepstrum is taken back to log mel energies through the
orthonormal DCT (exact when mfcc_dim == number of filters, the cepstrally smoothed envelope
when it is smaller), warped, and transformed again; coefficient 0 (python_speech_features puts
the frame's log energy there) is kept as it is.
"""
from __future__ import annotations

import functools

import numpy as np
import python_speech_features
import scipy.fft

from vui.augment.dsp import VTLP_BOUNDARY_HZ, uniform_draw, vtlp_forward

ALPHA_STEP = 1e-3          # warp factors are rounded to this, so their matrices can be cached
INVERSION_GRID = 2049      # points on which the monotonic warp is inverted


def band_frequencies(feature_config) -> np.ndarray:
    """Centre frequency in Hz of each log band the features are made from: the spectrogram's
    FFT bins, or the MFCC's mel filters (python_speech_features' spacing)."""
    return _band_frequencies(*_geometry(feature_config))


def _geometry(c):
    """What shapes the bands of a utils.FeatureConfig, as a hashable tuple (the matrix cache's
    key); raises for a feature kind that has no bands to warp (raw frames)."""
    if c.kind not in ("spectrogram", "mfcc"):
        raise ValueError(f"feature warping needs spectrogram or MFCC features, not {c.kind!r}")
    bins = c.spectrogram_bins if c.kind == "spectrogram" else 0
    return c.kind, bins, c.sample_rate, c.window_length, int(c.mfcc_dim)


def _band_frequencies(kind, bins, sample_rate, window_length, mfcc_dim):
    if kind == "spectrogram":
        return np.arange(bins) * (sample_rate / window_length)
    import utils
    n_filters = max(utils.MFCC_MIN_FILTERS, mfcc_dim)
    mels = np.linspace(0.0, python_speech_features.hz2mel(sample_rate / 2), n_filters + 2)
    return python_speech_features.mel2hz(mels[1:-1])


def band_warp_matrix(freqs_hz: np.ndarray, sample_rate: int, alpha: float,
                     boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """(n, n) interpolation matrix on log band energies: output band k reads the input at the
    frequency that the warp sends to its centre (linear between neighbouring bands; beyond
    the outermost centres, the edge band). Rows sum to 1, so a flat spectrum stays flat."""
    freqs = np.asarray(freqs_hz, np.float64)
    grid = np.linspace(0.0, sample_rate / 2.0, INVERSION_GRID)
    source = np.interp(freqs, vtlp_forward(grid, sample_rate, alpha, boundary_hz), grid)
    position = np.interp(source, freqs, np.arange(len(freqs)))
    low = np.minimum(np.floor(position).astype(int), len(freqs) - 2)
    frac = position - low
    matrix = np.zeros((len(freqs), len(freqs)))
    rows = np.arange(len(freqs))
    matrix[rows, low] = 1.0 - frac
    matrix[rows, low + 1] += frac
    return matrix


def _cepstral_maps(n_filters: int, n_ceps: int):
    """(to_log_mel, to_cepstrum): python_speech_features' DCT-II (orthonormal, first n_ceps
    rows) and lifter, and their (pseudo-)inverse."""
    dct = scipy.fft.dct(np.eye(n_filters), type=2, norm="ortho", axis=0)[:n_ceps]
    import utils
    ceplifter = utils.MFCC_LIFTER       # utils.mfcc's lifter
    lift = 1.0 + (ceplifter / 2.0) * np.sin(np.pi * np.arange(n_ceps) / ceplifter)
    return dct.T / lift, lift[:, None] * dct


@functools.lru_cache(maxsize=4096)
def _cached_matrix(kind, bins, sample_rate, window_length, mfcc_dim, alpha, boundary_hz):
    freqs = _band_frequencies(kind, bins, sample_rate, window_length, mfcc_dim)
    warp = band_warp_matrix(freqs, sample_rate, alpha, boundary_hz)
    if kind == "spectrogram":
        return warp.astype(np.float32)
    to_log_mel, to_cepstrum = _cepstral_maps(len(warp), mfcc_dim)
    matrix = to_cepstrum @ warp @ to_log_mel
    matrix[0, :] = 0.0
    matrix[0, 0] = 1.0          # coefficient 0 holds the frame's log energy: kept
    return matrix.astype(np.float32)


def feature_warp_matrix(feature_config, alpha: float,
                        boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """M (feature_dim x feature_dim, float32) with warped = feats @ M.T for un-normalised
    features of `feature_config` (utils.FeatureConfig); alpha is rounded to ALPHA_STEP."""
    if alpha <= 0:
        raise ValueError(f"warp factor alpha must be > 0, got {alpha}")
    alpha = round(round(alpha / ALPHA_STEP) * ALPHA_STEP, 6)
    return _cached_matrix(*_geometry(feature_config), alpha, float(boundary_hz))


def warp_features(feats: np.ndarray, feature_config, alpha: float,
                  boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """Un-normalised (time, feature_dim) features as if the talker's vocal tract were 1/alpha
    as long; a new float32 array."""
    f = np.asarray(feats, np.float32)
    if f.ndim != 2 or f.shape[1] != feature_config.feature_dim:
        raise ValueError(f"warp_features expects (time, {feature_config.feature_dim}) features, "
                         f"got shape {f.shape}")
    return f @ feature_warp_matrix(feature_config, alpha, boundary_hz).T


def warp_normalized(feats: np.ndarray, feature_config, alpha: float, mean, std,
                    boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """warp_features for features normalised with (mean, std): undoes the normalisation (the
    generator's own, std floor included, so the round trip is exact), warps, normalises again.
    alpha 1 returns the features unchanged."""
    from utils import normalize_with, STD_FLOOR
    f = np.asarray(feats, np.float32)
    if alpha == 1.0:
        return f
    mean = np.asarray(mean, np.float32)
    std = np.maximum(np.asarray(std, np.float32), np.float32(STD_FLOOR))
    return normalize_with(warp_features(f * std + mean, feature_config, alpha, boundary_hz),
                          mean, std)


class FeatureWarpAugmenter:
    """The data generator's augmentation hook (vui.augment.augmenter's protocol) for feature warping.

    `features(normalised, rng)` draws whether to warp (config.prob) and alpha (uniform in
    [config.min_alpha, config.max_alpha]) from `rng`, undoes the training normalisation, warps,
    normalises again, and then passes the result to `inner`'s own `features` hook (SpecAugment
    masks, say). `inner`'s waveform or precomputed-variant hooks, if it has them, are exposed
    unchanged, so the warp stacks on top of any other augmentation.
    """

    changes_voice = True     # a warped copy is another voice (data_generator's speaker shift)

    def __init__(self, config, feature_config, mean, std, inner=None, name="warp"):
        _geometry(feature_config)   # fails now, naming the kind, for raw frames
        config.validate()
        self.config, self.feature_config, self.inner, self.name = config, feature_config, inner, name
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def __getattr__(self, attr):
        if attr in ("waveform", "variant_features") and self.__dict__.get("inner") is not None:
            return getattr(self.inner, attr)
        raise AttributeError(attr)

    def __repr__(self) -> str:
        return f"FeatureWarpAugmenter({self.config!r}, inner={self.inner!r})"

    def features(self, feats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f = np.asarray(feats, np.float32)
        c = self.config
        fires = rng.random() < c.prob          # both draws always taken: stable rng streams
        alpha = uniform_draw(rng, c.min_alpha, c.max_alpha)
        if c.enabled and fires:
            f = warp_normalized(f, self.feature_config, alpha, self.mean, self.std, c.boundary_hz)
        inner = getattr(self.inner, "features", None)
        return np.asarray(inner(f, rng), np.float32) if inner is not None else f
