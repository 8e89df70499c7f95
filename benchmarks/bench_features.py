"""Feature-extraction speed in audio seconds per wall second, ours beside the libraries.

Makes its own espeak-ng clips (16 kHz), decodes them once, then times each feature function on
the same in-memory waveforms on one core (BLAS/OpenMP threads pinned to 1). Also times the
disk feature cache (hit vs compute) and its cold path: one process against the pool on every
core, on the clips or, with --corpus, on a real corpus's files (a pool pays only on many files).

    .venv/bin/python benchmarks/bench_features.py [--clips 24] [--repeats 3]
    .venv/bin/python benchmarks/bench_features.py --corpus data/bench-2k/train_corpus.json
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import sys
import tempfile
import time

import librosa
import numpy as np
import python_speech_features as psf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import utils as U  # noqa: E402
from conftest import SENTENCES, speak  # noqa: E402

EXTRA_SENTENCES = (
    "the quick brown fox jumps over the lazy dog while the farmer watches from the gate",
    "she sells sea shells by the sea shore and the shells she sells are surely sea shells",
    "a journey of a thousand miles begins with a single step taken in the morning light",
    "mister verloc was fully responsive now and spoke of the evening's events at length",
)


def make_clips(folder, count):
    texts = (SENTENCES + EXTRA_SENTENCES) * (count // 10 + 1)
    paths = []
    for i, text in enumerate(texts[:count]):
        path = os.path.join(folder, f"clip-{i:03d}.wav")
        speak(text, path, speed=140 + 10 * (i % 5))
        paths.append(path)
    return paths


def librosa_spectrogram(audio):
    """The seed's log spectrogram through librosa's STFT (same window, no centring)."""
    window = np.hanning(320)
    power = np.abs(librosa.stft(audio, n_fft=320, hop_length=160, window=window,
                                center=False)) ** 2
    power[1:-1] *= 2.0 / (np.sum(window ** 2) * 16000)
    power[[0, -1]] /= np.sum(window ** 2) * 16000
    return np.log(power[:161].T + 1e-14)


def psf_mfcc26(audio):
    """What utils.mfcc computed before it was hand-written: the library on the same frames."""
    n = 1 + (len(audio) - 320) // 160
    return psf.mfcc(audio[:(n - 1) * 160 + 320].astype(np.float64), samplerate=16000,
                    winlen=0.02, winstep=0.01, numcep=26, nfilt=26, nfft=512).astype(np.float32)


def contenders():
    spec, mfcc26 = U.FeatureConfig(), U.FeatureConfig("mfcc")
    return [
        ("ours spectrogram (numpy strides)", lambda a: U.spectrogram(a, spec)),
        ("librosa.stft spectrogram", librosa_spectrogram),
        ("ours MFCC-26 (psf's values, 20 ms)", lambda a: U.mfcc(a, mfcc26)),
        ("python_speech_features.mfcc, same settings", psf_mfcc26),
        ("python_speech_features.mfcc (defaults)", lambda a: psf.mfcc(a, 16000)),
        ("librosa.feature.mfcc (13, n_fft 512)",
         lambda a: librosa.feature.mfcc(y=a, sr=16000, n_mfcc=13, n_fft=512, win_length=320,
                                        hop_length=160, n_mels=26)),
        ("ours raw frames", lambda a: U.raw_frames(a)),
    ]


def bench_functions(audios, seconds, repeats, label):
    """Best wall time of each contender, round-robin so that load from other users of the
    shared cores hits every contender alike."""
    best = {name: float("inf") for name, _ in contenders()}
    for _ in range(repeats):
        for name, fn in contenders():
            start = time.perf_counter()
            for audio in audios:
                fn(audio)
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"\n{label}: {seconds:.1f} audio s, one core (best of {repeats}, round-robin):")
    for name, wall in best.items():
        print(f"  {name:42s} {seconds / wall:9.0f} audio s / wall s")
    return best


def bench_cache(paths, seconds):
    """FeatureCache.fill in this process vs its pool on every core, and a warm disk cache,
    per feature kind (the cold path: a corpus's first featurisation)."""
    from data_generator import FeatureCache
    from vui.features.cache import pool_workers
    cores = max(2, pool_workers(None, len(paths)))
    print(f"\nfeature cache on {len(paths)} files, {seconds:.0f} audio s (n_jobs=None pools "
          f"{pool_workers(None, len(paths))} here; timed: one process and a pool of {cores}):")
    for config in (U.FeatureConfig(), U.FeatureConfig("mfcc")):
        with tempfile.TemporaryDirectory() as cache_dir:
            walls = {}
            for n_jobs in (1, cores):
                cache = FeatureCache(config, os.path.join(cache_dir, f"jobs{n_jobs}"))
                start = time.perf_counter()
                cache.fill(paths, n_jobs=n_jobs, desc=f"{config.kind} n_jobs={n_jobs}")
                walls[f"load+{config.kind}+save, n_jobs={n_jobs}"] = time.perf_counter() - start
            reload = FeatureCache(config, os.path.join(cache_dir, "jobs1"))
            start = time.perf_counter()
            for p in paths:
                reload.get(p)
            walls[f"{config.kind} disk cache hit"] = time.perf_counter() - start
        for name, wall in walls.items():
            print(f"  {name:42s} {seconds / wall:9.0f} audio s / wall s  ({wall:.2f} s)")
        serial, pooled, hit = walls.values()
        print(f"  {config.kind}: pool of {cores} vs serial {serial / pooled:.2f}x; "
              f"cache hit vs compute {serial / hit:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--corpus", help="a corpus index (JSON lines): time the cache's cold "
                        "path on its files instead of the clips")
    parser.add_argument("--files", type=int, default=1000, help="files read from --corpus")
    args = parser.parse_args()
    if args.corpus:
        with open(args.corpus) as index:
            rows = [json.loads(line) for line in index][:args.files]
        bench_cache([r["key"] for r in rows], sum(r["duration"] for r in rows))
        return
    with tempfile.TemporaryDirectory() as folder:
        paths = make_clips(folder, args.clips)
        start = time.perf_counter()
        audios = [U.load_audio(p) for p in paths]
        load_wall = time.perf_counter() - start
        seconds = sum(len(a) for a in audios) / U.SAMPLE_RATE
        print(f"{len(paths)} espeak-ng clips, {seconds:.1f} s of audio; "
              f"load_audio: {seconds / load_wall:.0f} audio s / wall s")
        short = bench_functions(audios, seconds, args.repeats, f"{len(audios)} short clips")
        long = bench_functions([np.concatenate(audios)], seconds, args.repeats, "one long clip")
        for name, results in (("short", short), ("long", long)):
            ratio = results["librosa.stft spectrogram"] / results["ours spectrogram (numpy strides)"]
            print(f"ours / librosa spectrogram speed, {name} clips: {ratio:.2f}x")
            ratio = (results["python_speech_features.mfcc, same settings"]
                     / results["ours MFCC-26 (psf's values, 20 ms)"])
            print(f"ours / python_speech_features MFCC speed, {name} clips: {ratio:.2f}x")
        bench_cache(paths, seconds)


if __name__ == "__main__":
    main()
