"""Augmentation: each kind's shape, determinism under a seed, effect and identity at strength 0."""
import dataclasses
import os

import numpy as np
import pytest
import scipy.signal as ss

from vui.augment import dsp
from vui.augment.augmenter import (WAVEFORM_KINDS, AugmentConfig, Augmenter, NoiseConfig,
                         SPEC_MASK_VALUE, SpecAugmentConfig, SpeedConfig, spec_augment)
from vui.augment.precompute import PrecomputedAugmenter, precompute_variants
from utils import FeatureConfig, compute_features, load_audio, spectrogram

SR = 16000


def tone(freq, seconds=1.0, sr=SR, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x, sr=SR):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * sr / len(x)


def band_power(x, lo, hi, sr=SR):
    f, p = ss.welch(x, fs=sr, nperseg=1024)
    return p[(f >= lo) & (f < hi)].sum()


@pytest.fixture(scope="module")
def speech(speech_corpus):
    return load_audio(speech_corpus["entries"][1]["key"])


# ---------------------------------------------------------------- every waveform kind, generic
@pytest.mark.parametrize("kind", WAVEFORM_KINDS)
def test_kind_shape_dtype_determinism_and_change(kind, speech):
    aug = Augmenter(AugmentConfig.waveform_only(kind))
    a = aug.waveform(speech, SR, np.random.default_rng(7))
    b = aug.waveform(speech, SR, np.random.default_rng(7))
    assert a.dtype == np.float32 and a.ndim == 1
    np.testing.assert_array_equal(a, b)
    if kind != "speed":
        assert a.shape == speech.shape
    else:
        assert 0.85 * len(speech) < len(a) < 1.15 * len(speech)
    n = min(len(a), len(speech))
    assert np.sqrt(np.mean((a[:n] - speech[:n]) ** 2)) > 1e-3, f"{kind} did not change the audio"
    assert np.max(np.abs(a)) <= 1.0
    # Other seeds give other draws (band-limit's telephone filter is fixed, so try a few).
    others = [aug.waveform(speech, SR, np.random.default_rng(s)) for s in range(8, 12)]
    assert any(len(c) != len(a) or not np.array_equal(a, c) for c in others)


@pytest.mark.parametrize("kind, neutral", [
    ("speed", dict(min_factor=1.0, max_factor=1.0)),
    ("vtlp", dict(min_alpha=1.0, max_alpha=1.0)),
    ("reverb", dict(min_rt60=0.0, max_rt60=0.0)),
    ("noise", dict(min_snr_db=np.inf, max_snr_db=np.inf)),
    ("gain", dict(min_db=0.0, max_db=0.0)),
])
def test_strength_zero_is_identity(kind, neutral, speech):
    aug = Augmenter(AugmentConfig.waveform_only(kind, **neutral))
    np.testing.assert_array_equal(aug.waveform(speech, SR, np.random.default_rng(0)), speech)


@pytest.mark.parametrize("kind", WAVEFORM_KINDS + ("spec_augment",))
def test_disabled_or_prob_zero_is_identity(kind, speech):
    base = AugmentConfig.default()
    for change in (dict(enabled=False), dict(prob=0.0)):
        sub = dataclasses.replace(getattr(base, kind), **change)
        others_off = {k: dataclasses.replace(getattr(base, k), enabled=False)
                      for k in WAVEFORM_KINDS + ("spec_augment",) if k != kind}
        aug = Augmenter(AugmentConfig(**{kind: sub}, **others_off))
        np.testing.assert_array_equal(aug.waveform(speech, SR, np.random.default_rng(0)), speech)
        feats = np.random.default_rng(1).standard_normal((50, 13)).astype(np.float32)
        np.testing.assert_array_equal(aug.features(feats, np.random.default_rng(0)), feats)


def test_none_preset_is_identity_and_default_changes(speech):
    feats = np.ones((120, 161), np.float32)
    none = Augmenter(AugmentConfig.none())
    np.testing.assert_array_equal(none.waveform(speech, SR, np.random.default_rng(3)), speech)
    np.testing.assert_array_equal(none.features(feats, np.random.default_rng(3)), feats)
    assert not AugmentConfig.none().any_waveform
    for preset in (AugmentConfig.light(), AugmentConfig.default()):
        aug = Augmenter(preset)
        outs = [aug.waveform(speech, SR, np.random.default_rng(s)) for s in range(8)]
        assert any(len(o) != len(speech) or not np.array_equal(o, speech) for o in outs)
        masked = [aug.features(feats, np.random.default_rng(s)) for s in range(8)]
        assert any((m == 0).any() for m in masked)


# ---------------------------------------------------------------- each kind against physics
@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_scales_length_and_pitch(factor):
    y = dsp.speed_perturb(tone(440.0), SR, factor)
    assert abs(len(y) - SR / factor) <= 2
    assert peak_hz(y) == pytest.approx(440.0 * factor, abs=3.0)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_vtlp_moves_low_frequencies_by_alpha(alpha):
    x = tone(1000.0)
    y = dsp.vtlp_warp(x, SR, alpha)
    assert y.shape == x.shape
    assert peak_hz(y[2000:-2000]) == pytest.approx(1000.0 * alpha, abs=20.0)


def estimated_warp(x, y):
    """The frequency scale s that best maps x's long-term log spectrum onto y's (200-4000 Hz)."""
    lx, ly = (np.log(np.exp(spectrogram(a)).mean(axis=0)) for a in (x, y))
    f = np.arange(len(lx)) * 50.0
    band = (f > 200) & (f < 4000)
    scales = np.arange(0.85, 1.151, 0.005)
    score = [np.corrcoef(ly[band], np.interp(f[band] / s, f, lx))[0, 1] for s in scales]
    return scales[int(np.argmax(score))]


@pytest.mark.parametrize("alpha", [0.9, 0.95, 1.05, 1.1])
def test_vtlp_on_speech_warps_the_spectrum_by_alpha_and_keeps_level(alpha, speech):
    y = dsp.vtlp_warp(speech, SR, alpha)
    assert np.std(y) == pytest.approx(np.std(speech), rel=1e-3)
    assert estimated_warp(speech, y) == pytest.approx(alpha, abs=0.015)
    assert estimated_warp(speech, speech) == pytest.approx(1.0)


def test_vtlp_warp_is_monotonic_and_keeps_the_band_edges():
    for alpha in (0.85, 0.9, 1.1, 1.2):
        src = dsp.vtlp_source_bins(257, SR, alpha)
        assert np.all(np.diff(src) > 0)
        assert src[0] == pytest.approx(0.0) and src[-1] == pytest.approx(256.0)


@pytest.mark.parametrize("colour", ["white", "pink", "brown"])
@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
def test_noise_hits_the_requested_snr(colour, snr_db, speech):
    y = dsp.add_noise(speech, snr_db, colour, np.random.default_rng(0))
    noise = y.astype(np.float64) - speech
    measured = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.05)


def test_noise_colours_have_their_spectral_slopes():
    n = 64000
    lo_hi = {c: band_power(dsp.coloured_noise(n, c, np.random.default_rng(0)), 100, 500)
             / band_power(dsp.coloured_noise(n, c, np.random.default_rng(0)), 4000, 8000)
             for c in dsp.NOISE_COLOURS}
    # Power per Hz: white flat (ratio ~ band widths 400/4000), pink and brown much steeper.
    assert lo_hi["white"] == pytest.approx(0.1, rel=0.3)
    assert lo_hi["pink"] > 5 * lo_hi["white"]
    assert lo_hi["brown"] > 5 * lo_hi["pink"]


def test_unknown_noise_colour_is_a_clear_error():
    with pytest.raises(ValueError, match="violet"):
        dsp.coloured_noise(100, "violet", np.random.default_rng(0))
    with pytest.raises(ValueError, match="colours"):
        NoiseConfig(colours=("violet",))


@pytest.mark.parametrize("rt60", [0.2, 0.5])
def test_reverb_impulse_response_decays_over_rt60(rt60):
    ir = dsp.synthetic_impulse_response(SR, rt60, drr_db=6.0, rng=np.random.default_rng(0))
    tail = ir[1:].astype(np.float64)
    # Schroeder backward integration; the slope between -5 and -25 dB gives T20 -> RT60.
    edc = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail ** 2))
    t = np.arange(len(edc)) / SR
    i5, i25 = np.argmax(edc < -5), np.argmax(edc < -25)
    measured = 3 * (t[i25] - t[i5])
    assert measured == pytest.approx(rt60, rel=0.15)
    drr = 10 * np.log10(ir[0] ** 2 / np.sum(tail ** 2))
    assert drr == pytest.approx(6.0, abs=0.01)


def test_reverb_keeps_length_and_level_and_smears_in_time():
    burst = np.zeros(SR, np.float32)
    burst[1000:1400] = tone(1000.0, 400 / SR)
    y = dsp.reverberate(burst, SR, rt60=0.5, drr_db=0.0, rng=np.random.default_rng(0))
    assert y.shape == burst.shape
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(burst ** 2)), rel=1e-3)
    assert np.mean(y[3000:5000] ** 2) > 1e-4 and np.all(burst[3000:5000] == 0)


def test_telephone_band_cuts_low_and_high_frequencies():
    lo, mid, hi = tone(100.0), tone(1000.0), tone(6000.0)
    f = lambda x: dsp.band_limit(x, SR, "bandpass", (300.0, 3400.0))[4000:]
    gain_db = lambda x: 10 * np.log10(np.mean(f(x) ** 2) / np.mean(x[4000:] ** 2))
    assert gain_db(mid) > -1.0
    assert gain_db(lo) < -20.0 and gain_db(hi) < -20.0


def test_lowpass_and_highpass_cutoffs():
    low = dsp.band_limit(tone(6000.0), SR, "lowpass", 2500.0)
    assert np.mean(low[4000:] ** 2) < 1e-3 * np.mean(tone(6000.0) ** 2)
    high = dsp.band_limit(tone(60.0), SR, "highpass", 400.0)
    assert np.mean(high[4000:] ** 2) < 1e-3 * np.mean(tone(60.0) ** 2)
    with pytest.raises(ValueError, match="9000"):
        dsp.band_limit(tone(60.0), SR, "lowpass", 9000.0)


def test_gain_scales_by_decibels_and_the_chain_clips():
    x = tone(300.0, amp=0.1)
    np.testing.assert_allclose(dsp.apply_gain(x, -6.0), x * 10 ** (-6 / 20), rtol=1e-6)
    loud = Augmenter(AugmentConfig.waveform_only("gain", min_db=20.0, max_db=20.0))
    y = loud.waveform(tone(300.0, amp=0.5), SR, np.random.default_rng(0))
    assert np.max(np.abs(y)) == pytest.approx(1.0)


# ---------------------------------------------------------------- SpecAugment
def test_spec_augment_masks_bounded_bands_and_keeps_input():
    feats = np.random.default_rng(0).standard_normal((200, 161)).astype(np.float32) + 5.0
    before = feats.copy()
    cfg = SpecAugmentConfig(freq_masks=2, max_freq_fraction=0.15, time_masks=2,
                            max_time_frames=40, max_time_fraction=0.2)
    out = spec_augment(feats, np.random.default_rng(3), cfg)
    np.testing.assert_array_equal(feats, before)
    assert out.shape == feats.shape and out.dtype == feats.dtype
    masked_cols = np.where((out == 0).all(axis=0))[0]
    masked_rows = np.where((out == 0).all(axis=1))[0]
    assert len(masked_cols) <= 2 * round(0.15 * 161)
    assert len(masked_rows) <= 2 * 40
    # Everything not in a masked row or column is untouched.
    keep = np.ones_like(out, bool)
    keep[masked_rows] = False
    keep[:, masked_cols] = False
    np.testing.assert_array_equal(out[keep], feats[keep])
    assert (out == 0).sum() == (~keep).sum()
    np.testing.assert_array_equal(out, spec_augment(feats, np.random.default_rng(3), cfg))


def test_spec_augment_caps_time_masks_on_short_clips():
    cfg = SpecAugmentConfig(freq_masks=0, time_masks=1, max_time_frames=100,
                            max_time_fraction=0.2)
    feats = np.ones((30, 13), np.float32)
    widths = [int((spec_augment(feats, np.random.default_rng(s), cfg) == 0).all(axis=1).sum())
              for s in range(200)]
    assert max(widths) == 6 and min(widths) == 0  # p * 30 frames


def test_spec_augment_widths_follow_F_and_T():
    cfg = SpecAugmentConfig(freq_masks=1, max_freq_fraction=0.5, time_masks=0)
    feats = np.ones((50, 20), np.float32)
    widths = {int((spec_augment(feats, np.random.default_rng(s), cfg) == 0).all(axis=0).sum())
              for s in range(300)}
    assert widths == set(range(0, 11))


def test_features_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(time, feature_dim\)"):
        Augmenter().features(np.zeros(10, np.float32), np.random.default_rng(0))


# ---------------------------------------------------------------- configuration and input checks
@pytest.mark.parametrize("bad, match", [
    (lambda: SpeedConfig(prob=1.5), "speed.prob"),
    (lambda: SpeedConfig(min_factor=1.2, max_factor=1.0), "above maximum"),
    (lambda: SpeedConfig(min_factor=0.0), "> 0"),
    (lambda: SpecAugmentConfig(max_freq_fraction=2.0), "max_freq_fraction"),
    (lambda: AugmentConfig.waveform_only("echo"), "echo"),
])
def test_bad_config_is_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.parametrize("audio, match", [
    (np.zeros((2, 100), np.float32), "mono"),
    (np.zeros(0, np.float32), "mono"),
    (np.arange(100, dtype=np.int16), "float"),
    (np.full(100, np.nan, np.float32), "NaN"),
])
def test_bad_audio_is_a_clear_error(audio, match):
    with pytest.raises(ValueError, match=match):
        Augmenter().waveform(audio, SR, np.random.default_rng(0))


def test_default_chain_is_deterministic_per_rng_and_varies_across_seeds(speech):
    aug = Augmenter(AugmentConfig.default())
    outs = [aug.waveform(speech, SR, np.random.default_rng((5, i))) for i in range(6)]
    again = [aug.waveform(speech, SR, np.random.default_rng((5, i))) for i in range(6)]
    for a, b in zip(outs, again):
        np.testing.assert_array_equal(a, b)
    distinct = {(len(o), float(np.sum(o, dtype=np.float64))) for o in outs}
    assert len(distinct) >= 5


# ---------------------------------------------------------------- precomputed variants
def _spec_features(audio):
    return compute_features(audio, FeatureConfig("spectrogram"))


@pytest.fixture(scope="module")
def variant_paths(speech_corpus):
    return [e["key"] for e in speech_corpus["entries"][:3]]


def test_precompute_writes_deterministic_distinct_variants(variant_paths, tmp_path):
    store = precompute_variants(variant_paths, 2, _spec_features, str(tmp_path / "a"),
                                workers=1, seed=3)
    again = precompute_variants(variant_paths, 2, _spec_features, str(tmp_path / "b"),
                                workers=1, seed=3)
    def differ(a, b):
        return a.shape != b.shape or not np.array_equal(a, b)

    changed = pairs_differ = 0
    for p in variant_paths:
        clean = _spec_features(load_audio(p))
        v0, v1 = store.load(p, 0), store.load(p, 1)
        np.testing.assert_array_equal(v0, again.load(p, 0))
        np.testing.assert_array_equal(v1, again.load(p, 1))
        assert v0.dtype == np.float32 and v0.shape[1] == clean.shape[1]
        assert 0.85 * len(clean) <= len(v0) <= 1.15 * len(clean)
        changed += differ(v0, clean) + differ(v1, clean)
        pairs_differ += differ(v0, v1)
    # Each variant is left untouched when no kind fires (3% under the default preset, and the
    # seeds follow the fixture's temporary paths): ask for most, not all, to differ.
    assert changed >= 2 * len(variant_paths) - 2 and pairs_differ >= len(variant_paths) - 1
    other = precompute_variants(variant_paths, 2, _spec_features, str(tmp_path / "a"),
                                workers=1, seed=4)
    assert other.root != store.root


def test_precompute_resumes_and_workers_match_serial(variant_paths, tmp_path):
    serial = precompute_variants(variant_paths, 1, _spec_features, str(tmp_path / "s"), workers=1)
    first = serial.path(variant_paths[0], 0)
    stamp = os.stat(first).st_mtime_ns
    precompute_variants(variant_paths, 1, _spec_features, str(tmp_path / "s"), workers=1)
    assert os.stat(first).st_mtime_ns == stamp  # kept, not rewritten
    parallel = precompute_variants(variant_paths, 1, _spec_features, str(tmp_path / "p"),
                                   workers=2)
    for p in variant_paths:
        np.testing.assert_array_equal(serial.load(p, 0), parallel.load(p, 0))


def test_precompute_reports_bad_files(variant_paths, tmp_path):
    missing = str(tmp_path / "missing.wav")
    with pytest.warns(UserWarning, match="missing.wav"):
        store = precompute_variants(variant_paths[:1] + [missing], 1, _spec_features,
                                    str(tmp_path / "c"), workers=1)
    assert store.has(variant_paths[0]) and not store.has(missing)
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        store.load(missing, 0)
    with pytest.raises(ValueError, match="n_variants"):
        precompute_variants(variant_paths, 0, _spec_features, str(tmp_path / "d"))


def test_precomputed_augmenter_picks_variants_or_clean(variant_paths, tmp_path):
    store = precompute_variants(variant_paths[:1], 3, _spec_features, str(tmp_path / "v"),
                                workers=1)
    hook = PrecomputedAugmenter(store, clean_prob=0.25)
    p = variant_paths[0]
    picks = [hook.variant_features(p, np.random.default_rng(s)) for s in range(40)]
    n_clean = sum(x is None for x in picks)
    assert 3 <= n_clean <= 20
    stored = [store.load(p, k) for k in range(3)]
    seen = {next(k for k in range(3) if np.array_equal(x, stored[k])) for x in picks
            if x is not None}
    assert seen == {0, 1, 2}
    again = hook.variant_features(p, np.random.default_rng(5))
    first = picks[5]
    assert (again is None and first is None) or np.array_equal(again, first)
    feats = np.ones((100, 161), np.float32)
    assert (hook.features(feats, np.random.default_rng(0)) == 0).any()
    assert PrecomputedAugmenter(store, clean_prob=1.0).variant_features(
        p, np.random.default_rng(0)) is None


# ---------------------------------------------------------------- the data generator's hook
class RecordingAugmenter(Augmenter):
    """The real default chain, counting every call it gets."""

    def __init__(self):
        super().__init__(AugmentConfig.default())
        self.calls = []

    def waveform(self, audio, sample_rate, rng):
        self.calls.append("waveform")
        return super().waveform(audio, sample_rate, rng)

    def features(self, feats, rng):
        self.calls.append("features")
        return super().features(feats, rng)


def test_generator_augments_training_batches_and_never_validation(speech_corpus, tmp_path):
    import data_generator as DG  # imports keras: only this test pays for it
    gen = DG.AudioGeneratorCached(minibatch_size=3, cache_dir=str(tmp_path / "cache"))
    gen.load_train_data(speech_corpus["index"])
    gen.load_validation_data(speech_corpus["index"])  # the same clips in both partitions
    spy = RecordingAugmenter()
    train = gen.dataset("train", shuffle=False, augment=spy, seed=11)
    augmented = [train[i] for i in range(len(train))]
    assert spy.calls.count("waveform") == spy.calls.count("features") == len(gen.train_audio_paths)
    spy.calls.clear()
    with pytest.raises(ValueError, match="training partition only"):
        gen.dataset("validation", augment=spy)
    valid = gen.dataset("validation", shuffle=False)
    for i in range(len(valid)):
        x, y = valid[i]
        for row, j in enumerate(valid.batches[i]):
            clean = gen.normalize(gen.featurize(gen.valid_audio_paths[j]))
            np.testing.assert_array_equal(x[row, :len(clean)], clean)
    assert spy.calls == []
    # The training batches did change, and the same seed gives the same batches.
    plain = gen.dataset("train", shuffle=False)
    assert any(a[0].shape != p[0].shape or not np.allclose(a[0], p[0])
               for a, p in zip(augmented, (plain[i] for i in range(len(plain)))))
    again = gen.dataset("train", shuffle=False, augment=Augmenter(AugmentConfig.default()),
                        seed=11)
    for (xa, ya), i in zip(augmented, range(len(again))):
        xb, yb = again[i]
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


class VariantOnly:
    """A hook object with only variant_features: returns `table[path]` (None: clean)."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def variant_features(self, audio_path, rng):
        self.calls.append(audio_path)
        return self.table.get(audio_path)


@pytest.fixture
def spec_gen(speech_corpus, tmp_path):
    import data_generator as DG  # imports keras: only the generator tests pay for it
    gen = DG.AudioGeneratorCached(minibatch_size=2, cache_dir=str(tmp_path / "cache"))
    gen.load_train_data(speech_corpus["index"])
    return gen


def _rows(dataset):
    """{partition index: unpadded x rows} over every batch of a dataset."""
    out = {}
    for b in range(len(dataset)):
        x, y = dataset[b]
        for row, i in enumerate(dataset.batches[b]):
            out[int(i)] = x[row, :int(y[row, 0])]
    return out


def test_generator_uses_variant_features_or_falls_back_to_clean(spec_gen):
    paths = spec_gen.train_audio_paths
    clean = [spec_gen.featurize(p) for p in paths]
    # 0: a louder variant (used); 1: None (clean); 2: too short for its label (clean fallback).
    table = {paths[0]: clean[0] + 1.5, paths[2]: clean[2][:3]}
    hook = VariantOnly(table)
    rows = _rows(spec_gen.dataset("train", shuffle=False, augment=hook))
    assert sorted(hook.calls) == sorted(paths)
    np.testing.assert_allclose(rows[0], spec_gen.normalize(clean[0] + 1.5), atol=1e-6)
    for i in range(1, len(paths)):
        np.testing.assert_array_equal(rows[i], spec_gen.normalize(clean[i]))
    bad = VariantOnly({paths[0]: clean[0][:, :10]})
    with pytest.raises(ValueError, match=r"variant_features\(.*utt-00.*expected \(time, 161\)"):
        spec_gen.dataset("train", shuffle=False, augment=bad)[0]


def test_augmentation_rng_is_per_seed_epoch_and_utterance(spec_gen):
    aug = Augmenter(AugmentConfig.default())
    forward = _rows(spec_gen.dataset("train", shuffle=True, augment=aug, seed=5))
    backward_ds = spec_gen.dataset("train", shuffle=True, augment=aug, seed=5)
    backward = {}
    for b in reversed(range(len(backward_ds))):  # fetch order must not matter
        x, y = backward_ds[b]
        for row, i in enumerate(backward_ds.batches[b]):
            backward[int(i)] = x[row, :int(y[row, 0])]
    assert forward.keys() == backward.keys()
    for i in forward:
        np.testing.assert_array_equal(forward[i], backward[i])
    # A new epoch draws new augmentations; a dataset set to that epoch reproduces them.
    backward_ds.on_epoch_end()
    second = _rows(backward_ds)
    assert any(forward[i].shape != second[i].shape or not np.array_equal(forward[i], second[i])
               for i in forward)
    resumed = spec_gen.dataset("train", shuffle=True, augment=aug, seed=5)
    resumed.epoch = 1
    for i, row in _rows(resumed).items():
        np.testing.assert_array_equal(row, second[i])
    # Another seed, other augmentations.
    other = _rows(spec_gen.dataset("train", shuffle=True, augment=aug, seed=6))
    assert any(forward[i].shape != other[i].shape or not np.array_equal(forward[i], other[i])
               for i in forward)


def test_training_augmenter_precomputes_the_training_partition_once(spec_gen, tmp_path):
    from vui.augment.presets import training_augmenter
    root = str(tmp_path / "variants")
    aug = training_augmenter(spec_gen, preset="light", n_variants=2, workers=1, cache_dir=root)
    assert isinstance(aug, PrecomputedAugmenter) and aug.name == "light x2"
    assert aug.spec == AugmentConfig.light().spec_augment
    assert all(aug.store.has(p) for p in spec_gen.train_audio_paths)
    files = sorted(os.listdir(aug.store.root))
    assert len(files) == 1 + 2 * len(spec_gen.train_audio_paths)  # manifest + K per utterance
    variants = [(aug.store.load(p, k), spec_gen.featurize(p))
                for p in spec_gen.train_audio_paths for k in range(2)]
    assert all(v.dtype == np.float32 and v.shape[1] == spec_gen.input_dim for v, _ in variants)
    # light() may leave a variant untouched (every kind can miss), but not most of them.
    changed = sum(v.shape != c.shape or not np.array_equal(v, c) for v, c in variants)
    assert changed >= len(variants) // 2
    stamps = {f: os.stat(os.path.join(aug.store.root, f)).st_mtime_ns for f in files}
    again = training_augmenter(spec_gen, preset="light", n_variants=2, workers=1, cache_dir=root)
    assert again.store.root == aug.store.root
    assert all(os.stat(os.path.join(root, again.store.root, f)).st_mtime_ns == t
               for f, t in stamps.items() if f != "manifest.json")
    # The dataset serves variants (or clean features) with SpecAugment; validation stays clean.
    x, _ = spec_gen.dataset("train", shuffle=False, augment=aug, seed=1)[0]
    assert x.shape[0] == 2
    with pytest.raises(ValueError, match="training partition only, not 'validation'"):
        spec_gen.dataset("validation", augment=aug)
    assert training_augmenter(spec_gen, preset="none") is None
    with pytest.raises(ValueError, match="unknown augmentation preset 'heavy'"):
        training_augmenter(spec_gen, preset="heavy")


def test_specaugment_preset_masks_cached_features_without_reloading_audio(spec_gen, tmp_path):
    from vui.augment.augmenter import SpecAugmenter
    from vui.augment.presets import training_augmenter
    aug = training_augmenter(spec_gen, preset="specaugment", cache_dir=str(tmp_path / "v"))
    assert isinstance(aug, SpecAugmenter) and aug.name == "specaugment"
    assert not hasattr(aug, "waveform") and not os.path.exists(tmp_path / "v")
    data = spec_gen.dataset("train", shuffle=False, augment=aug, seed=3)
    clean = spec_gen.dataset("train", shuffle=False)
    x_aug, y_aug = data[0]
    x_clean, y_clean = clean[0]
    assert x_aug.shape == x_clean.shape
    np.testing.assert_array_equal(y_aug, y_clean)
    changed = x_aug != x_clean
    assert changed.any() and np.all(x_aug[changed] == SPEC_MASK_VALUE)   # masks, nothing else
    np.testing.assert_array_equal(x_aug, spec_gen.dataset("train", shuffle=False, augment=aug,
                                                          seed=3)[0][0])


def test_first_two_batches_differ_in_width_so_keras_fit_accepts_later_widths(speech_corpus,
                                                                              tmp_path):
    """Keras (TF backend) fixes the batch signature from batches 0 and 1; augmentation and
    shuffling give later batches other widths, which must not crash fit."""
    import keras

    import data_generator as DG
    from vui.model.ctc import CTCLoss
    from tests.conftest import write_index
    entries = speech_corpus["entries"]
    short, long_ = min(entries, key=lambda e: e["duration"]), max(entries, key=lambda e: e["duration"])
    index = write_index(tmp_path / "index.json", [short] * 4 + [long_] * 2)
    gen = DG.AudioGeneratorCached(minibatch_size=2, cache_dir=str(tmp_path / "cache"))
    gen.load_train_data(index)
    ds = gen.dataset("train", shuffle=False)
    (x0, y0), (x1, y1), (x2, y2) = ds[0], ds[1], ds[2]
    assert x0.shape[1] != x1.shape[1] and y0.shape[1] != y1.shape[1]
    assert x0.shape[1] % 8 == 0 and (x0.shape[1] // 8) % 2 == 0 and (x1.shape[1] // 8) % 2 == 1
    np.testing.assert_array_equal(y0[:, :2], y1[:, :2])  # true lengths untouched
    n = int(y0[0, 0])
    np.testing.assert_array_equal(x0[0, :n], x1[0, :n])
    assert not x1[:, n:].any() and (y1[:, 2 + int(y1[0, 1]):] == DG.char_map.BLANK_INDEX).all()
    plain = gen.dataset("train", shuffle=False, distinct_peek_shapes=False)
    assert plain[0][0].shape == plain[1][0].shape  # what Keras would have fixed

    inputs = keras.Input((None, gen.input_dim))
    model = keras.Model(inputs, keras.layers.Dense(29, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss=CTCLoss())
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(Exception, match="shape"):
            model.fit(plain, epochs=1, verbose=0)


def test_precompute_redoes_variants_of_a_changed_file(speech_corpus, tmp_path):
    import shutil
    entries = speech_corpus["entries"]
    clip = str(tmp_path / "clip.wav")
    shutil.copy(entries[0]["key"], clip)
    store = precompute_variants([clip], 1, _spec_features, str(tmp_path / "v"), workers=1)
    before = store.load(clip, 0)
    shutil.copy(entries[3]["key"], clip)  # the same path, other audio (a regenerated corpus)
    os.utime(clip, ns=(os.stat(clip).st_atime_ns, os.stat(clip).st_mtime_ns + 10**9))
    assert not store.has(clip)
    store = precompute_variants([clip], 1, _spec_features, str(tmp_path / "v"), workers=1)
    after = store.load(clip, 0)
    assert after.shape != before.shape or not np.array_equal(after, before)


def test_voices_preset_varies_the_talker_not_the_room():
    from vui.augment.presets import PRESETS
    voices, default = PRESETS["voices"](), AugmentConfig.default()
    assert not voices.reverb.enabled and voices.noise.min_snr_db > default.noise.min_snr_db
    assert voices.vtlp.min_alpha < default.vtlp.min_alpha < default.vtlp.max_alpha < \
        voices.vtlp.max_alpha
    assert voices.any_waveform
    rng = np.random.default_rng(0)
    audio = np.sin(2 * np.pi * 220 * np.arange(16000) / 16000).astype(np.float32)
    out = Augmenter(AugmentConfig.waveform_only("vtlp", min_alpha=0.8, max_alpha=0.8)).waveform(
        audio, 16000, rng)
    assert out.shape == audio.shape and not np.allclose(out, audio, atol=1e-3)
