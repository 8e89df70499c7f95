"""Training-time augmentation: random waveform perturbations and SpecAugment masks.

Why: a model trained on one synthesiser's voices learns that synthesiser, not speech. Speed,
vocal-tract warping, room reverberation, noise, channel filters and gain widen the training
voices toward other engines and people; SpecAugment (Park et al. 2019) keeps the model from
leaning on any one frequency band or instant.

The object follows the data generator's hook (docs/design.md): `Augmenter.waveform(audio,
sample_rate, rng)` and `Augmenter.features(feats, rng)`, with `rng` a numpy Generator the dataset
seeds per (epoch, utterance); the same rng state gives the same output. Only the training
partition is ever passed through it.

Cost: on the fly, the default waveform chain with reloading and re-featurising costs about a
third of an epoch's time with the spectrogram and far more with MFCC, whose extraction alone
is costly; `light()` and SpecAugment cost much less (benchmarks/bench_augment.py;
docs/experiments/holdout.md, "2026-11-24: cost of each augmentation per audio second"). For the
default preset use vui.augment.precompute: K variants written once, then read back each epoch
for a small fraction of that through an optional third hook method,
`variant_features(audio_path, rng) -> un-normalised feats or None` (None: use the clean cached
features), implemented by PrecomputedAugmenter. The vocal-tract warp also runs on the cached
features (vui.augment.feature_warp, preset "warp"): a fresh factor per utterance and epoch for
one small matrix product, which lengthens the demo's epochs only a little
(docs/experiments/holdout.md, "2026-12-02, night: vocal-tract warps on the cached features").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from vui.augment import dsp

# SpecAugment mask value: features reach the hook normalised to zero mean, so 0 is "average".
SPEC_MASK_VALUE = 0.0
BANDLIMIT_FILTERS = ("telephone", "lowpass", "highpass")
NYQUIST_MARGIN = 0.45        # band-limit cutoffs stay below this fraction of the sample rate
FEATURE_WARP_PROB = 0.8      # the "warp" preset: a fifth of the utterances stay unwarped


class _Validated:
    """Sub-configurations check themselves on construction, so a bad value fails where it is
    written, naming the field."""

    def __post_init__(self) -> None:
        self.validate()


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}.prob must be in [0, 1], got {p}")


def _check_range(name: str, lo: float, hi: float, minimum: float | None = None,
                 strict: bool = False) -> None:
    if lo > hi:
        raise ValueError(f"{name}: minimum {lo} is above maximum {hi}")
    if minimum is not None and (lo <= minimum if strict else lo < minimum):
        raise ValueError(f"{name}: values must be {'>' if strict else '>='} {minimum}, got {lo}")


@dataclass(frozen=True)
class SpeedConfig(_Validated):
    """Speed perturbation factor range (Ko et al. 2015 use 0.9, 1.0, 1.1); 1 is the identity."""
    enabled: bool = True
    prob: float = 0.5
    min_factor: float = 0.9
    max_factor: float = 1.1

    def validate(self) -> None:
        _check_prob("speed", self.prob)
        _check_range("speed factor", self.min_factor, self.max_factor, 0.0, strict=True)


@dataclass(frozen=True)
class VTLPConfig(_Validated):
    """Frequency-warp factor range (Jaitly & Hinton 2013 use 0.9-1.1); 1 is the identity."""
    enabled: bool = True
    prob: float = 0.5
    min_alpha: float = 0.9
    max_alpha: float = 1.1
    boundary_hz: float = dsp.VTLP_BOUNDARY_HZ

    def validate(self) -> None:
        _check_prob("vtlp", self.prob)
        _check_range("vtlp alpha", self.min_alpha, self.max_alpha, 0.0, strict=True)


@dataclass(frozen=True)
class NoiseConfig(_Validated):
    """Additive noise at a signal-to-noise ratio drawn uniformly in dB; +inf dB is the identity."""
    enabled: bool = True
    prob: float = 0.5
    min_snr_db: float = 5.0
    max_snr_db: float = 30.0
    colours: tuple[str, ...] = ("white", "pink", "brown")

    def validate(self) -> None:
        _check_prob("noise", self.prob)
        _check_range("noise SNR dB", self.min_snr_db, self.max_snr_db)
        bad = [c for c in self.colours if c not in dsp.NOISE_COLOURS]
        if bad or not self.colours:
            raise ValueError(f"noise colours must be a non-empty subset of "
                             f"{sorted(dsp.NOISE_COLOURS)}, got {self.colours}")


@dataclass(frozen=True)
class ReverbConfig(_Validated):
    """Synthetic room: RT60 in seconds (0 is the identity) and direct-to-reverberant ratio in dB.

    Room size and talker distance show up as RT60 (bigger / barer room: longer) and DRR
    (farther talker: lower).
    """
    enabled: bool = True
    prob: float = 0.3
    min_rt60: float = 0.15
    max_rt60: float = 0.7
    min_drr_db: float = 0.0
    max_drr_db: float = 12.0

    def validate(self) -> None:
        _check_prob("reverb", self.prob)
        _check_range("reverb RT60", self.min_rt60, self.max_rt60, 0.0)
        _check_range("reverb DRR dB", self.min_drr_db, self.max_drr_db)


@dataclass(frozen=True)
class BandLimitConfig(_Validated):
    """Channel filters: telephone band-pass, low-pass or high-pass at random cutoffs."""
    enabled: bool = True
    prob: float = 0.3
    filters: tuple[str, ...] = BANDLIMIT_FILTERS
    telephone_hz: tuple[float, float] = dsp.TELEPHONE_BAND_HZ
    lowpass_hz: tuple[float, float] = (2500.0, 6000.0)
    highpass_hz: tuple[float, float] = (100.0, 500.0)

    def validate(self) -> None:
        _check_prob("bandlimit", self.prob)
        bad = [f for f in self.filters if f not in BANDLIMIT_FILTERS]
        if bad or not self.filters:
            raise ValueError(f"bandlimit filters must be a non-empty subset of "
                             f"{BANDLIMIT_FILTERS}, got {self.filters}")
        for name in ("telephone_hz", "lowpass_hz", "highpass_hz"):
            lo, hi = getattr(self, name)
            _check_range(f"bandlimit {name}", lo, hi, 0.0, strict=True)


@dataclass(frozen=True)
class GainConfig(_Validated):
    """Loudness change in dB drawn uniformly; 0 dB is the identity. The chain clips to [-1, 1]."""
    enabled: bool = True
    prob: float = 0.5
    min_db: float = -12.0
    max_db: float = 6.0

    def validate(self) -> None:
        _check_prob("gain", self.prob)
        _check_range("gain dB", self.min_db, self.max_db)


@dataclass(frozen=True)
class SpecAugmentConfig(_Validated):
    """Park et al. (2019) masks, adapted to short clips and to any feature size.

    F (the widest frequency mask) is a fraction of the feature dimension, so one setting serves
    161 spectrogram bins and 13 MFCCs (Park's LibriSpeech F=27 of 80 mel bins is 0.34; we use a
    milder 0.15). T is capped both in frames and as a fraction p of the clip (Park's p=0.2 for
    LD), so a 1-s clip never loses more than 20% of itself to one mask. Time warping is left out:
    Park et al. report it as the least useful part and the most expensive.
    """
    enabled: bool = True
    prob: float = 1.0
    freq_masks: int = 2          # mF
    max_freq_fraction: float = 0.15  # F / feature_dim
    time_masks: int = 2          # mT
    max_time_frames: int = 40    # T (frames: 0.4 s at a 10-ms step)
    max_time_fraction: float = 0.2   # p

    def validate(self) -> None:
        _check_prob("spec_augment", self.prob)
        if self.freq_masks < 0 or self.time_masks < 0 or self.max_time_frames < 0:
            raise ValueError(f"spec_augment mask counts and T must be >= 0, got mF="
                             f"{self.freq_masks}, mT={self.time_masks}, T={self.max_time_frames}")
        for name in ("max_freq_fraction", "max_time_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"spec_augment.{name} must be in [0, 1], "
                                 f"got {getattr(self, name)}")


WAVEFORM_KINDS = ("speed", "vtlp", "reverb", "noise", "bandlimit", "gain")


@dataclass(frozen=True)
class AugmentConfig:
    """Every augmentation kind with its switch, strength and probability.

    Waveform kinds run in the order of WAVEFORM_KINDS (talker, then room, then channel); each
    fires independently with its own probability.
    """
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    vtlp: VTLPConfig = field(default_factory=VTLPConfig)
    reverb: ReverbConfig = field(default_factory=ReverbConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    bandlimit: BandLimitConfig = field(default_factory=BandLimitConfig)
    gain: GainConfig = field(default_factory=GainConfig)
    spec_augment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    # The same warp on the cached features, per epoch and utterance (vui.augment.feature_warp): off
    # unless a preset turns it on, so the presets measured before it keep their meaning. Out
    # of the repr, which keys the precomputed waveform variants: they do not depend on it.
    feature_warp: VTLPConfig = field(default_factory=lambda: VTLPConfig(enabled=False),
                                     repr=False)

    def __post_init__(self) -> None:
        for kind in WAVEFORM_KINDS + ("spec_augment", "feature_warp"):
            getattr(self, kind).validate()

    @property
    def any_waveform(self) -> bool:
        return any(getattr(self, k).enabled and getattr(self, k).prob > 0 for k in WAVEFORM_KINDS)

    @classmethod
    def none(cls) -> "AugmentConfig":
        """Everything off: the Augmenter is the identity."""
        off = {k: dataclasses.replace(getattr(cls(), k), enabled=False)
               for k in WAVEFORM_KINDS + ("spec_augment", "feature_warp")}
        return cls(**off)

    @classmethod
    def light(cls) -> "AugmentConfig":
        """Mild settings: small speed / warp changes, clean-ish noise, one mask of each kind."""
        return cls(
            speed=SpeedConfig(prob=0.3, min_factor=0.95, max_factor=1.05),
            vtlp=VTLPConfig(prob=0.3, min_alpha=0.95, max_alpha=1.05),
            reverb=ReverbConfig(prob=0.15, max_rt60=0.4, min_drr_db=6.0),
            noise=NoiseConfig(prob=0.3, min_snr_db=15.0, max_snr_db=35.0),
            bandlimit=BandLimitConfig(prob=0.15),
            gain=GainConfig(prob=0.3, min_db=-6.0, max_db=3.0),
            spec_augment=SpecAugmentConfig(freq_masks=1, time_masks=1, max_time_frames=20,
                                           max_freq_fraction=0.1),
        )

    @classmethod
    def default(cls) -> "AugmentConfig":
        return cls()

    @classmethod
    def voices(cls) -> "AugmentConfig":
        """Talker variation, little channel: wider speed and vocal-tract warps (0.8-1.2 spans
        the male-female formant ratio), rare mild noise, no reverberation. For clean speech
        from unseen speakers, where `default`'s noisy, reverberant rooms never occur."""
        return cls(
            speed=SpeedConfig(prob=0.6, min_factor=0.85, max_factor=1.15),
            vtlp=VTLPConfig(prob=0.8, min_alpha=0.8, max_alpha=1.2),
            reverb=ReverbConfig(enabled=False),
            noise=NoiseConfig(prob=0.2, min_snr_db=20.0, max_snr_db=40.0),
            bandlimit=BandLimitConfig(prob=0.15),
            gain=GainConfig(prob=0.5, min_db=-6.0, max_db=6.0),
            spec_augment=SpecAugmentConfig(),
        )

    @classmethod
    def warp(cls) -> "AugmentConfig":
        """Vocal-tract warps alone, on the cached features (vui.augment.feature_warp): a fresh factor
        per utterance and epoch, nothing to precompute, no masks. 0.8-1.25 is symmetric on a log
        scale and spans the male-female formant ratio."""
        return dataclasses.replace(cls.none(), feature_warp=VTLPConfig(
            prob=FEATURE_WARP_PROB, min_alpha=0.8, max_alpha=1.25))

    @property
    def any_feature_warp(self) -> bool:
        return self.feature_warp.enabled and self.feature_warp.prob > 0

    @classmethod
    def spec_only(cls) -> "AugmentConfig":
        """SpecAugment alone (the default masks): no audio is reloaded, so it costs ~nothing
        per epoch and needs no precomputation."""
        return dataclasses.replace(cls.none(), spec_augment=SpecAugmentConfig())

    @classmethod
    def waveform_only(cls, kind: str, **strength) -> "AugmentConfig":
        """Only `kind` on, always applied, with its fields overridden by `strength` (for tests
        and per-kind benchmarks)."""
        if kind not in WAVEFORM_KINDS + ("spec_augment",):
            raise ValueError(f"unknown augmentation kind {kind!r}; "
                             f"expected one of {WAVEFORM_KINDS + ('spec_augment',)}")
        base = cls.none()
        sub = dataclasses.replace(getattr(cls(), kind), enabled=True, prob=1.0, **strength)
        return dataclasses.replace(base, **{kind: sub})


def _check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.asarray(audio)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"augment.waveform expects non-empty mono audio (1-D), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"augment.waveform expects float audio in [-1, 1], got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("augment.waveform got audio with NaN or infinite samples")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    return x.astype(np.float32, copy=False)


class Augmenter:
    """Applies an AugmentConfig; stateless apart from the config, so safe to share across
    workers (all randomness comes from the rng argument)."""

    def __init__(self, config: AugmentConfig | None = None):
        self.config = AugmentConfig.default() if config is None else config

    def __repr__(self) -> str:
        return f"Augmenter({self.config!r})"

    def _fires(self, kind: str, rng: np.random.Generator) -> bool:
        sub = getattr(self.config, kind)
        # Draw even when disabled so that switching one kind off leaves the others' draws alone.
        u = rng.random()
        return sub.enabled and u < sub.prob

    def waveform(self, audio: np.ndarray, sample_rate: int,
                 rng: np.random.Generator) -> np.ndarray:
        """The hook's waveform step: float32 mono in, float32 mono out (length changes only
        under speed perturbation), clipped to [-1, 1]."""
        x = _check_audio(audio, sample_rate)
        changed = False
        for kind in WAVEFORM_KINDS:
            if self._fires(kind, rng):
                x = getattr(self, f"_apply_{kind}")(x, sample_rate, rng)
                changed = True
        return np.clip(x, -1.0, 1.0) if changed else x

    def _apply_speed(self, x, sample_rate, rng):
        c = self.config.speed
        return dsp.speed_perturb(x, sample_rate, dsp.uniform_draw(rng, c.min_factor, c.max_factor))

    def _apply_vtlp(self, x, sample_rate, rng):
        c = self.config.vtlp
        return dsp.vtlp_warp(x, sample_rate, dsp.uniform_draw(rng, c.min_alpha, c.max_alpha), c.boundary_hz)

    def _apply_reverb(self, x, sample_rate, rng):
        c = self.config.reverb
        rt60 = dsp.uniform_draw(rng, c.min_rt60, c.max_rt60)
        return dsp.reverberate(x, sample_rate, rt60, dsp.uniform_draw(rng, c.min_drr_db, c.max_drr_db), rng)

    def _apply_noise(self, x, sample_rate, rng):
        c = self.config.noise
        colour = c.colours[rng.integers(len(c.colours))]
        return dsp.add_noise(x, dsp.uniform_draw(rng, c.min_snr_db, c.max_snr_db), colour, rng)

    def _apply_bandlimit(self, x, sample_rate, rng):
        c = self.config.bandlimit
        kind = c.filters[rng.integers(len(c.filters))]
        nyquist_margin = NYQUIST_MARGIN * sample_rate
        if kind == "telephone":
            lo, hi = c.telephone_hz
            return dsp.band_limit(x, sample_rate, "bandpass", (lo, min(hi, nyquist_margin)))
        lo, hi = c.lowpass_hz if kind == "lowpass" else c.highpass_hz
        cutoff = min(dsp.uniform_draw(rng, lo, hi), nyquist_margin)
        return dsp.band_limit(x, sample_rate, kind, cutoff)

    def _apply_gain(self, x, sample_rate, rng):
        c = self.config.gain
        return dsp.apply_gain(x, dsp.uniform_draw(rng, c.min_db, c.max_db))

    def features(self, feats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The hook's feature step: SpecAugment masks on normalised (time, feature_dim) features.

        Returns a new array; the input (possibly the generator's cache) is never modified.
        """
        f = np.asarray(feats)
        if f.ndim != 2:
            raise ValueError(f"augment.features expects (time, feature_dim) features, "
                             f"got shape {f.shape}")
        c = self.config.spec_augment
        if not self._fires("spec_augment", rng):
            return f
        return spec_augment(f, rng, c)


def spec_augment(feats: np.ndarray, rng: np.random.Generator,
                 config: SpecAugmentConfig) -> np.ndarray:
    """Frequency then time masks set to SPEC_MASK_VALUE (Park et al. 2019, no time warp).

    Hand-written: Keras 3.15 has no SpecAugment layer, and this runs on cached numpy features
    per utterance in the generator (seeded per epoch and utterance), not inside the model."""
    out = np.array(feats, copy=True)
    n_time, dim = out.shape
    max_f = int(round(config.max_freq_fraction * dim))
    for _ in range(config.freq_masks):
        width = int(rng.integers(0, max_f + 1))
        start = int(rng.integers(0, dim - width + 1))
        out[:, start:start + width] = SPEC_MASK_VALUE
    max_t = min(config.max_time_frames, int(config.max_time_fraction * n_time))
    for _ in range(config.time_masks):
        width = int(rng.integers(0, max_t + 1))
        start = int(rng.integers(0, n_time - width + 1))
        out[start:start + width, :] = SPEC_MASK_VALUE
    return out


class SpecAugmenter:
    """The hook object for feature masks only (no `waveform` hook, so the generator keeps
    serving its cached features and just masks them)."""

    def __init__(self, config: SpecAugmentConfig | None = None,
                 name: str | None = "specaugment"):
        self.spec = SpecAugmentConfig() if config is None else config
        self.name = name  # train_utils.model_name puts it in the run's name: "Aug(<name>)"

    def features(self, feats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not (self.spec.enabled and rng.random() < self.spec.prob):
            return np.asarray(feats)
        return spec_augment(np.asarray(feats), rng, self.spec)
