"""Cost of each augmentation per audio second, against feature extraction and training.

Makes a few espeak-ng clips, times every waveform kind (always applied), the presets (at their
probabilities), SpecAugment and feature extraction in one run, and prints ms per audio second
and ratios. The budget: training consumes an audio second in about 1/180 s = 5.6 ms on 2 cores
(../shared/NOTES.md), and augmentation may add at most 30% to an epoch, 1.7 ms per audio second.

Optional comparisons (skipped when not importable): audiomentations and pyroomacoustics, e.g.
`pip install --target /tmp/auglibs audiomentations pyroomacoustics numpy-minmax numpy-rms
python-stretch` and `PYTHONPATH=/tmp/auglibs`.

Run: .venv/bin/python benchmarks/bench_augment.py [--repeats 5]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from functools import partial

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import utils  # noqa: E402
from vui.augment.augmenter import WAVEFORM_KINDS, AugmentConfig, Augmenter  # noqa: E402
from vui.augment.precompute import precompute_variants  # noqa: E402

TRAIN_MS_PER_AUDIO_S = 1000.0 / 180.0   # ../shared/NOTES.md: 180 audio s per wall s
BUDGET_FRACTION = 0.30
SENTENCES = (
    ("en-us", "the quick brown fox jumps over the lazy dog near the river bank this morning"),
    ("en-gb", "she sells sea shells by the sea shore and the shells she sells are surely seashells"),
    ("en-sc", "pray help yourself to wine and tell me how the voyage went"),
    ("en-us+f3", "a great rascal put in north when the room was empty"),
)


def make_clips(folder):
    clips = []
    for i, (voice, text) in enumerate(SENTENCES):
        path = os.path.join(folder, f"clip{i}.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-w", path, text], check=True,
                       capture_output=True)
        clips.append((path, utils.load_audio(path)))  # resampled 22,050 -> 16,000 Hz
    return clips


def ms_per_audio_second(fn, clips, repeats, stat=min):
    """`stat` (min by default) of `repeats` passes over all clips. The machine is shared, so the
    minimum is the least disturbed figure for a fixed operation; the presets draw different
    kinds on each pass, so they use the mean (the expected cost)."""
    seconds = sum(len(a) for _, a in clips) / utils.SAMPLE_RATE
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        for i, (path, audio) in enumerate(clips):
            fn(path, audio, np.random.default_rng((r, i)))
        times.append(time.perf_counter() - t0)
    return 1000.0 * stat(times) / seconds


def library_rows(clips, repeats):
    rows = []
    try:
        import audiomentations as A
        for name, tr in [("AddColorNoise", A.AddColorNoise(p=1.0)),
                         ("BandPassFilter", A.BandPassFilter(p=1.0)),
                         ("PitchShift", A.PitchShift(p=1.0)),
                         ("RoomSimulator", A.RoomSimulator(p=1.0))]:
            rows.append((f"audiomentations.{name}", ms_per_audio_second(
                lambda p, a, rng, tr=tr: tr(a, sample_rate=utils.SAMPLE_RATE), clips, 1)))
    except ImportError:
        print("(audiomentations not importable: skipped)")
    try:
        import pyroomacoustics as pra

        def shoebox(path, audio, rng):
            absorption, max_order = pra.inverse_sabine(0.5, [6, 5, 3])
            room = pra.ShoeBox([6, 5, 3], fs=utils.SAMPLE_RATE, max_order=max_order,
                               materials=pra.Material(absorption))
            room.add_source([2, 3, 1.5], signal=audio)
            room.add_microphone([4, 2, 1.5])
            room.simulate()
        rows.append(("pyroomacoustics ShoeBox RT60 0.5", ms_per_audio_second(shoebox, clips, 1)))
    except ImportError:
        print("(pyroomacoustics not importable: skipped)")
    return rows


def precompute_rows(clips, folder, spec_cfg, n_variants=4):
    """One-off cost of K default-preset variants (2 spawn workers; the startup is included)
    and the per-epoch cost of reading one back."""
    paths = [p for p, _ in clips] * 3  # a dozen utterances: the workers' startup amortises
    copies = []
    for i, p in enumerate(paths):
        copy = os.path.join(folder, f"copy{i}.wav")
        if not os.path.exists(copy):
            os.link(p, copy)
        copies.append(copy)
    seconds = 3 * sum(len(a) for _, a in clips) / utils.SAMPLE_RATE
    rows = []
    for workers in (1, 2):
        t0 = time.perf_counter()
        store = precompute_variants(copies, n_variants, partial(utils.compute_features,
                                    config=spec_cfg), os.path.join(folder, f"v{workers}"),
                                    workers=workers)
        wall = time.perf_counter() - t0
        rows.append((f"precompute {n_variants} variants, workers={workers}: per variant, "
                     f"one-off", 1000.0 * wall / seconds / n_variants))
        print(f"precompute workers={workers}: {wall:.2f} s wall for {len(copies)} utterances x "
              f"{n_variants} variants (spawned workers start in ~2-3 s: amortised on a corpus)")
    t0 = time.perf_counter()
    for p in copies:
        store.load(p, 1)
    rows.append(("precomputed: read one variant per epoch",
                 1000.0 * (time.perf_counter() - t0) / seconds))
    return rows


def feature_warp_rows(clips, repeats, total_seconds):
    """vui.augment.feature_warp on cached features (always applied, a fresh factor per clip and pass:
    the first passes also build and cache the matrices, as a first epoch does)."""
    from vui.augment.feature_warp import FeatureWarpAugmenter
    rows = []
    for name, cfg in (("mfcc26", utils.FeatureConfig("mfcc", mfcc_dim=26)),
                      ("spectrogram", utils.FeatureConfig("spectrogram"))):
        feats = [utils.compute_features(a, cfg) for _, a in clips]
        dim = feats[0].shape[1]
        warp = FeatureWarpAugmenter(AugmentConfig.warp().feature_warp, cfg,
                                    np.zeros(dim, np.float32), np.ones(dim, np.float32))
        t0 = time.perf_counter()
        for r in range(repeats * 8):
            for i, f in enumerate(feats):
                warp.features(f, np.random.default_rng((r, i)))
        rows.append((f"feature warp, {name} (preset warp, cached features)",
                     1000.0 * (time.perf_counter() - t0) / (repeats * 8) / total_seconds))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clips = make_clips(folder)
        total = sum(len(a) for _, a in clips) / utils.SAMPLE_RATE
        print(f"{len(clips)} espeak-ng clips, {total:.1f} audio seconds, best of {args.repeats}")
        spec_cfg, mfcc_cfg = utils.FeatureConfig("spectrogram"), utils.FeatureConfig("mfcc")
        rows = [
            ("load_audio (read + resample)", ms_per_audio_second(
                lambda p, a, rng: utils.load_audio(p), clips, args.repeats)),
            ("features: spectrogram", ms_per_audio_second(
                lambda p, a, rng: utils.compute_features(a, spec_cfg), clips, args.repeats)),
            ("features: mfcc", ms_per_audio_second(
                lambda p, a, rng: utils.compute_features(a, mfcc_cfg), clips, args.repeats)),
        ]
        feature_ms = rows[1][1]
        for kind in WAVEFORM_KINDS:
            aug = Augmenter(AugmentConfig.waveform_only(kind))
            rows.append((f"{kind} (always)", ms_per_audio_second(
                lambda p, a, rng, aug=aug: aug.waveform(a, utils.SAMPLE_RATE, rng),
                clips, args.repeats)))
        feats = [(p, utils.compute_features(a, spec_cfg)) for p, a in clips]
        spec_aug = Augmenter(AugmentConfig.waveform_only("spec_augment"))
        t0 = time.perf_counter()
        for r in range(args.repeats):
            for i, (_, f) in enumerate(feats):
                spec_aug.features(f, np.random.default_rng((r, i)))
        rows.append(("spec_augment (always)",
                     1000.0 * (time.perf_counter() - t0) / args.repeats / total))
        rows += feature_warp_rows(clips, args.repeats, total)
        for name, preset in (("light", AugmentConfig.light()), ("default", AugmentConfig.default())):
            aug = Augmenter(preset)
            wave_ms = ms_per_audio_second(
                lambda p, a, rng, aug=aug: aug.waveform(a, utils.SAMPLE_RATE, rng),
                clips, args.repeats * 8, stat=np.mean)
            rows.append((f"preset {name}: waveform chain", wave_ms))
            rows.append((f"preset {name}: on the fly (load + chain + spectrogram)",
                         rows[0][1] + wave_ms + feature_ms))
        rows += precompute_rows(clips, folder, spec_cfg)
        rows += library_rows(clips, args.repeats)
    budget = BUDGET_FRACTION * TRAIN_MS_PER_AUDIO_S
    print(f"{'what':58s} {'ms/audio s':>10s} {'x spectrogram':>13s} {'% of training':>13s}")
    for name, ms in rows:
        print(f"{name:58s} {ms:10.3f} {ms / feature_ms:13.2f} {100 * ms / TRAIN_MS_PER_AUDIO_S:12.1f}%")
    print(f"training ~{TRAIN_MS_PER_AUDIO_S:.2f} ms per audio second; the 30% budget is "
          f"{budget:.2f} ms per audio second")


if __name__ == "__main__":
    main()
