"""Corpus speed figures on this machine (ratios measured in one run, not asserted anywhere).

1. Synthesis speed per engine (one process, incl. trimming/resampling/FLAC): audio s / wall s.
2. Festival: one batch script for N texts vs one festival process per text (why we batch).
3. LibriSpeech-style indexing: header-only durations vs decoding every file.
4. Optionally (--full) the default embedded corpus build, timed, in a temp folder.

    .venv/bin/python benchmarks/bench_corpus.py [--n 12] [--full]
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vui.data import corpus_plan as P  # noqa: E402
from vui.data import sentences as S
from vui.data import tts_corpus as T
from vui.data import tts_engines as E
from vui.data.librispeech import collect_entries  # noqa: E402

BENCH_VOICES = ("en-us+m3", "kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts", "slt", "awb")


def _jobs_for(voice, texts):
    spk = P.Speaker(100, "train", voice.engine, voice.name, voice.family, 1.0,
                    voice.base_f0 if voice.engine != "espeak-ng" else 50)
    return [P.Job(spk, i, t, 1.0, spk.pitch, None if spk.pitch is None else 20.0)
            for i, t in enumerate(texts)]


def bench_engines(texts, tmp):
    voices = {v.name: v for v in E.all_voices()}
    print(f"{'voice':28s} {'engine':10s} {'utts':>5s} {'audio s':>8s} {'wall s':>7s} {'x RT':>6s}")
    warm = os.path.join(tmp, "warm.wav")
    sf.write(warm, np.sin(np.arange(1600) / 5.0).astype(np.float32), 16000)
    T.finish_audio(warm, os.path.join(tmp, "warm.flac"))
    for name in BENCH_VOICES:
        jobs = _jobs_for(voices[name], texts)
        start = time.perf_counter()
        results = T.synthesize_chunk((os.path.join(tmp, name), jobs))
        wall = time.perf_counter() - start
        audio = sum(d for _, d, err in results if err is None)
        print(f"{name:28s} {voices[name].engine:10s} {len(jobs):5d} {audio:8.1f} {wall:7.2f} "
              f"{audio / wall:6.0f}")


def bench_festival_batching(texts, tmp):
    items = [(t, os.path.join(tmp, f"b{i}.wav"), 1.0, 97.0, 20.0) for i, t in enumerate(texts)]
    start = time.perf_counter()
    E.run_festival("kal_diphone", items, os.path.join(tmp, "batch.scm"))
    batch = time.perf_counter() - start
    start = time.perf_counter()
    for i, item in enumerate(items):
        E.run_festival("kal_diphone", [item], os.path.join(tmp, f"one{i}.scm"))
    single = time.perf_counter() - start
    print(f"festival kal_diphone, {len(items)} texts: one batch {batch:.2f} s, one process "
          f"per text {single:.2f} s, ratio {single / batch:.1f}x")


def bench_indexing(tmp, n_files=200):
    root = os.path.join(tmp, "ls", "1", "2")
    os.makedirs(root)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n_files):
        sf.write(os.path.join(root, f"1-2-{i:04d}.flac"),
                 (0.1 * rng.standard_normal(16000 * 5)).astype(np.float32), 16000)
        lines.append(f"1-2-{i:04d} SOME WORDS\n")
    with open(os.path.join(root, "1-2.trans.txt"), "w") as f:
        f.writelines(lines)
    start = time.perf_counter()
    entries, _ = collect_entries(os.path.join(tmp, "ls"), progress=False)
    header = time.perf_counter() - start
    start = time.perf_counter()
    for e in entries:
        sf.read(e["key"])
    decode = time.perf_counter() - start
    print(f"indexing {n_files} x 5 s FLAC: header-only {header:.3f} s, full decode "
          f"{decode:.3f} s, ratio {decode / header:.0f}x")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=12, help="utterances per voice")
    p.add_argument("--full", action="store_true", help="also time the default corpus build")
    a = p.parse_args(argv)
    texts = S.split_sentences(S.load_sentences(), {"b": a.n}, seed=0)["b"]
    with tempfile.TemporaryDirectory() as tmp:
        bench_engines(texts, tmp)
        bench_festival_batching(texts, tmp)
        bench_indexing(tmp)
        if a.full:
            r = T.build_embedded_corpus(os.path.join(tmp, "embedded"), T.CorpusConfig())
            print("default corpus: " + ", ".join(
                f"{k} {r.counts[k]} utts {r.hours[k]:.2f} h" for k in r.counts)
                + f"; built in {r.seconds:.0f} s with {T.CorpusConfig().workers} workers")


if __name__ == "__main__":
    main()
