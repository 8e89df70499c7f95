"""Waveform augmentations as pure functions: one signal in, one signal out, parameters explicit.

Each function is the identity at its neutral strength (factor 1, alpha 1, SNR +inf, RT60 0,
gain 0 dB) and returns float32. Randomness is passed in as a numpy Generator so the caller
(`vui.augment.augmenter.Augmenter`) controls determinism.

Why scipy / soxr and not audiomentations or pyroomacoustics: audiomentations' noise and filters
are thin wrappers with the same cost as scipy, while its pitch shift and room simulator, and
pyroomacoustics' rooms, cost many times the synthetic decaying-noise impulse response below;
the room simulators alone would cost more than training spends on the same audio
(benchmarks/bench_augment.py; docs/experiments/holdout.md, "2026-11-24: cost of each
augmentation per audio second").
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft
import soxr

# Frequency warping (VTLP): STFT geometry. 32 ms windows with 75% overlap resynthesise cleanly.
VTLP_NPERSEG = 512
VTLP_HOP = 128
# Jaitly & Hinton (2013) keep the top of the band anchored: warping is linear up to this
# boundary frequency (scaled by alpha) and then linear down to Nyquist.
VTLP_BOUNDARY_HZ = 4800.0

# Noise colours: exponent of 1/f in the noise power spectral density.
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}

# Reverb: amplitude decays 60 dB over RT60, i.e. exp(-ln(1000) * t / RT60).
_LN_1000 = float(np.log(1000.0))
REVERB_PREDELAY_S = 0.003  # the first reflection arrives a few ms after the direct sound

BANDLIMIT_ORDER = 4  # Butterworth order (per band edge) for telephone / low-pass / high-pass
TELEPHONE_BAND_HZ = (300.0, 3400.0)


def _signal():
    """scipy.signal, imported when an effect first needs it: its import takes over a second
    on 2 cores, and the command line imports this package to list --augment's presets."""
    import scipy.signal
    return scipy.signal


def uniform_draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    """rng.uniform that always consumes one draw and returns lo exactly when lo == hi (so a
    neutral strength such as +inf dB SNR is exact, and draw order never depends on it)."""
    u = rng.random()
    return lo if lo == hi else lo + (hi - lo) * u


def _as_float32(audio: np.ndarray) -> np.ndarray:
    return np.asarray(audio, dtype=np.float32)


def speed_perturb(audio: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Kaldi-style speed perturbation: play the clip `factor` times faster (tempo and pitch).

    The clip is treated as if it had been sampled at sample_rate * factor and resampled to
    sample_rate with soxr, so its length becomes len / factor.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be > 0, got {factor}")
    if factor == 1.0:
        return _as_float32(audio)
    out = soxr.resample(_as_float32(audio), sample_rate * factor, sample_rate, quality="HQ")
    return _as_float32(out)


def vtlp_forward(freqs: np.ndarray, sample_rate: int, alpha: float,
                 boundary_hz: float) -> np.ndarray:
    """Jaitly & Hinton's piecewise-linear warp f -> f': alpha * f below
    f0 = boundary * min(alpha, 1) / alpha, then a straight line onto Nyquist (which stays put)."""
    nyquist = sample_rate / 2.0
    f0 = min(boundary_hz * min(alpha, 1.0) / alpha, nyquist * 0.999)
    freqs = np.clip(freqs, 0.0, nyquist)
    upper_slope = (nyquist - alpha * f0) / (nyquist - f0)
    return np.minimum(freqs * alpha, nyquist - upper_slope * (nyquist - freqs)) if alpha > 1 \
        else np.maximum(freqs * alpha, nyquist - upper_slope * (nyquist - freqs))


def vtlp_source_bins(n_bins: int, sample_rate: int, alpha: float,
                     boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """For each output STFT bin, the (fractional) input bin it reads: the inverse of the warp,
    which is monotonic, so np.interp inverts it on the bin grid."""
    freqs = np.linspace(0.0, sample_rate / 2.0, n_bins)
    warped = vtlp_forward(freqs, sample_rate, alpha, boundary_hz)
    return np.interp(freqs, warped, freqs) / (sample_rate / 2.0) * (n_bins - 1)


def _warped_phase(spec: np.ndarray, nearest: np.ndarray, sample_rate: int, alpha: float,
                  boundary_hz: float) -> np.ndarray:
    """Phase-vocoder phases for the warped bins: each output bin takes its source bin's
    instantaneous frequency, warps it, and integrates it over the hops. (Copying the source
    phase instead keeps the source frequency: a warped tone comes out near its old pitch,
    smeared between bins.) float32 throughout, which keeps the phase error small; both checked
    in docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per audio second"."""
    two_pi = np.float32(2.0 * np.pi)
    phase = np.angle(spec[nearest])
    bin_hz = (nearest.astype(np.float32) * np.float32(sample_rate / VTLP_NPERSEG))[:, None]
    hop_rad_per_hz = np.float32(2.0 * np.pi * VTLP_HOP / sample_rate)
    dphi = np.diff(phase, axis=1) - bin_hz * hop_rad_per_hz
    dphi -= two_pi * np.round(dphi / two_pi)
    inst_hz = bin_hz + dphi / hop_rad_per_hz
    steps = vtlp_forward(inst_hz, sample_rate, alpha, boundary_hz).astype(np.float32)
    steps *= hop_rad_per_hz
    steps -= two_pi * np.floor(steps / two_pi)  # keeps the running sum small
    out = np.empty_like(phase)
    out[:, 0] = phase[:, 0]
    np.cumsum(steps, axis=1, out=out[:, 1:])
    out[:, 1:] += phase[:, :1]
    return out


def vtlp_warp(audio: np.ndarray, sample_rate: int, alpha: float,
              boundary_hz: float = VTLP_BOUNDARY_HZ) -> np.ndarray:
    """Vocal-tract-length perturbation on the waveform: warp the STFT's frequency axis.

    Done on the waveform (not on features) so it serves every feature kind (spectrogram, MFCC,
    raw); the hand-written warp fills a gap: librosa and audiomentations offer only pitch shifts
    (timed in docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per audio
    second"), which move all frequencies by one ratio and not along Jaitly & Hinton's warp.
    Magnitudes are interpolated between neighbouring bins and phases are re-integrated at the
    warped frequencies; the length is unchanged.
    """
    if alpha <= 0:
        raise ValueError(f"VTLP alpha must be > 0, got {alpha}")
    x = _as_float32(audio)
    if alpha == 1.0 or len(x) < VTLP_NPERSEG:
        return x
    noverlap = VTLP_NPERSEG - VTLP_HOP
    _, _, spec = _signal().stft(x, fs=sample_rate, nperseg=VTLP_NPERSEG, noverlap=noverlap)
    src = vtlp_source_bins(spec.shape[0], sample_rate, alpha, boundary_hz)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, spec.shape[0] - 1)
    w = (src - lo).astype(np.float32)[:, None]
    mag = np.abs(spec)
    new_mag = (1.0 - w) * mag[lo] + w * mag[hi]
    phase = _warped_phase(spec, np.rint(src).astype(np.intp), sample_rate, alpha, boundary_hz)
    warped = np.empty(spec.shape, np.complex64)
    warped.real = new_mag * np.cos(phase)
    warped.imag = new_mag * np.sin(phase)
    _, y = _signal().istft(warped, fs=sample_rate, nperseg=VTLP_NPERSEG, noverlap=noverlap)
    y = y[: len(x)]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    # Re-integrated phases lose the coherence between neighbouring bins, and overlap-add then
    # loses level (docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per
    # audio second"): restore the clip's level, since loudness is the gain augmentation's job.
    return _match_rms(y, x)


def _match_rms(y: np.ndarray, reference: np.ndarray) -> np.ndarray:
    rms_ref = np.sqrt(np.mean(np.square(reference, dtype=np.float64)))
    rms_y = np.sqrt(np.mean(np.square(y, dtype=np.float64)))
    return _as_float32(y * (rms_ref / rms_y) if rms_y > 0.0 else y)


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise whose power spectral density falls as 1/f^k (white 0, pink 1, brown 2)."""
    if colour not in NOISE_COLOURS:
        raise ValueError(f"noise colour must be one of {sorted(NOISE_COLOURS)}, got {colour!r}")
    exponent = NOISE_COLOURS[colour]
    if exponent == 0.0:
        noise = rng.standard_normal(n, dtype=np.float32)
    else:
        # A fast FFT length: a prime-sized FFT of a clip costs many times more
        # (docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per audio second").
        size = sfft.next_fast_len(n, real=True)
        spectrum = sfft.rfft(rng.standard_normal(size, dtype=np.float32))
        k = np.arange(spectrum.shape[0], dtype=np.float32)
        k[0] = 1.0
        spectrum *= k ** np.float32(-exponent / 2.0)
        spectrum[0] = 0.0
        noise = sfft.irfft(spectrum, size)[:n]
    power = float(np.mean(np.square(noise, dtype=np.float64)))
    return _as_float32(noise / np.sqrt(max(power, 1e-20)))


def add_noise(audio: np.ndarray, snr_db: float, colour: str,
              rng: np.random.Generator) -> np.ndarray:
    """Add noise so that mean signal power / mean noise power = snr_db (over the whole clip)."""
    x = _as_float32(audio)
    if np.isposinf(snr_db):
        return x
    signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    if signal_power == 0.0:
        return x
    noise = coloured_noise(len(x), colour, rng)
    scale = np.sqrt(signal_power / 10.0 ** (snr_db / 10.0))
    return _as_float32(x + np.float32(scale) * noise)


def synthetic_impulse_response(sample_rate: int, rt60: float, drr_db: float,
                               rng: np.random.Generator) -> np.ndarray:
    """A direct-path impulse plus an exponentially decaying Gaussian-noise tail.

    The tail's energy is set so direct / reverberant energy = drr_db: a small DRR is a far
    talker in a big room, a large DRR a close microphone.
    """
    n_tail = max(int(rt60 * sample_rate), 1)
    delay = int(REVERB_PREDELAY_S * sample_rate)
    t = np.arange(n_tail, dtype=np.float32) / sample_rate
    tail = rng.standard_normal(n_tail, dtype=np.float32) * np.exp(-_LN_1000 * t / rt60)
    tail_energy = float(np.sum(np.square(tail, dtype=np.float64)))
    tail *= np.float32(np.sqrt(10.0 ** (-drr_db / 10.0) / max(tail_energy, 1e-20)))
    ir = np.zeros(delay + n_tail, dtype=np.float32)
    ir[0] = 1.0
    ir[delay:] += tail
    return ir


def reverberate(audio: np.ndarray, sample_rate: int, rt60: float, drr_db: float,
                rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic room response; keep the clip's length and RMS level."""
    x = _as_float32(audio)
    if rt60 <= 0.0:
        return x
    ir = synthetic_impulse_response(sample_rate, rt60, drr_db, rng)
    return _match_rms(_signal().fftconvolve(x, ir)[: len(x)], x)


def band_limit(audio: np.ndarray, sample_rate: int, kind: str,
               cutoff_hz: float | tuple[float, float]) -> np.ndarray:
    """Causal Butterworth filtering, as a telephone line or a cheap microphone would do it.

    kind: "bandpass" (cutoff a (low, high) pair), "lowpass" or "highpass" (one cutoff).
    """
    x = _as_float32(audio)
    nyquist = sample_rate / 2.0
    edges = np.atleast_1d(np.asarray(cutoff_hz, dtype=np.float64))
    if kind not in ("bandpass", "lowpass", "highpass"):
        raise ValueError(f"band-limit kind must be bandpass, lowpass or highpass, got {kind!r}")
    if np.any(edges <= 0) or np.any(edges >= nyquist):
        raise ValueError(f"band-limit cutoff {cutoff_hz} Hz must lie in (0, {nyquist}) Hz "
                         f"at sample rate {sample_rate}")
    sos = _signal().butter(BANDLIMIT_ORDER, edges if kind == "bandpass" else edges[0], btype=kind,
                    fs=sample_rate, output="sos")
    return _as_float32(_signal().sosfilt(sos, x))


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """Scale by gain_db decibels (clipping is left to the caller, after the whole chain)."""
    x = _as_float32(audio)
    if gain_db == 0.0:
        return x
    return _as_float32(x * np.float32(10.0 ** (gain_db / 20.0)))
