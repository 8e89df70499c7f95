"""The embedded corpus: a LibriSpeech-shaped tree of English spoken by Debian's TTS engines.

    <root>/<partition>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac   (16 kHz mono 16-bit)
    <root>/<partition>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt     (UPPER CASE)
    <root>/{train,valid,test[,holdout]}_corpus.json, voices.json, corpus_config.json

It is the default corpus when a user has no LibriSpeech. Who speaks what is planned in
vui.data.corpus_plan (held-out speakers and sentences), the voices are in vui.data.tts_engines, the
sentences in vui.data.sentences. A rerun with the same configuration reuses every readable FLAC;
each FLAC is written to a temp file and renamed, so an interrupted run leaves no truncated file.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from vui import atomic, processes

from vui.data import corpus_plan

from vui.data import sentences as sentence_sources

from vui.data import tts_engines
from vui.data.corpus_index import IndexReport, audio_duration, write_index
from vui.watched import shows_progress

EMBEDDED_ROOT = Path("data/embedded")   # the default corpus of the demo, CLI and benchmarks
SAMPLE_RATE = 16000
TRIM_TOP_DB = 40          # below the peak: what counts as silence when trimming
KEEP_SILENCE_S = 0.15     # silence kept at each end after trimming
CHUNK_SIZE = 25           # utterances per worker task (one festival process per chunk)
CONFIG_FILE = "corpus_config.json"
CONFIG_VERSION = 1


@dataclass
class CorpusConfig:
    """Sizes are utterances per partition; everything but `workers` fixes the audio."""
    n_train: int = 18000      # better than 9,000: docs/experiments/demo.md, "2026-12-02, later"
    n_valid: int = 400
    n_test: int = 400
    n_holdout: int = 400      # used only when holdout_families is not empty
    seed: int = 0
    holdout_families: tuple = ()
    sources: tuple = sentence_sources.SOURCES
    high_pitch_share: float = 0.0   # corpus_plan.raise_pitches; 0 = the plan as before
    workers: int = 2

    def sizes(self):
        sizes = {"train": self.n_train, "valid": self.n_valid, "test": self.n_test}
        if self.holdout_families:
            sizes[corpus_plan.HOLDOUT] = self.n_holdout
        return sizes

    def fingerprint(self, voices):
        d = asdict(self)
        d.pop("workers")
        if not self.high_pitch_share:
            d.pop("high_pitch_share")   # corpora built before the field keep their fingerprint
        d.update(version=CONFIG_VERSION, holdout_families=sorted(self.holdout_families),
                 sources=list(self.sources), voices=sorted(f"{v.engine}:{v.name}" for v in voices))
        return d


@dataclass
class BuildResult:
    root: str
    indexes: dict                  # partition -> index path
    counts: dict                   # partition -> utterances
    hours: dict                    # partition -> hours of audio
    generated: int = 0
    reused: int = 0
    seconds: float = 0.0
    report: IndexReport = field(default_factory=IndexReport)


def finish_audio(wav_path, flac_path):
    """Trim silence (keeping KEEP_SILENCE_S), resample to 16 kHz, write FLAC atomically."""
    import librosa   # imported here: workers need it, `--help` should not wait for it
    import soxr
    audio, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if audio.size == 0 or not np.any(audio):
        raise ValueError(f"engine wrote no sound to {wav_path}")
    _, (start, end) = librosa.effects.trim(audio, top_db=TRIM_TOP_DB, frame_length=512,
                                          hop_length=128)
    margin = int(KEEP_SILENCE_S * rate)
    audio = audio[max(0, start - margin):end + margin]
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE)
    audio = np.clip(audio, -1.0, 1.0)
    os.makedirs(os.path.dirname(flac_path), exist_ok=True)
    tmp = flac_path + ".part"
    sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    os.replace(tmp, flac_path)
    return len(audio) / SAMPLE_RATE


def _synthesize_one(job, wav_path):
    s = job.speaker
    if s.engine == "espeak-ng":
        tts_engines.run_espeak(s.voice, job.text, wav_path, job.rate, job.pitch, job.intonation)
    elif s.engine == "flite":
        tts_engines.run_flite(s.voice, job.text, wav_path, job.rate, job.pitch, job.intonation)
    else:
        raise ValueError(f"engine {s.engine!r} is synthesised in batches")


def _festival_chunk(chunk, tmp):
    """Synthesise a festival batch; after a failure, retry the items after the failing one."""
    pending, failed = list(chunk), {}
    while pending:
        items = [(j.text, os.path.join(tmp, f"{j.utt_id}.wav"), j.rate, j.pitch, j.intonation)
                 for j in pending]
        try:
            tts_engines.run_festival(pending[0].speaker.voice, items,
                                     os.path.join(tmp, "batch.scm"))
        except tts_engines.EngineError as err:
            failed_reason = str(err)
        else:
            failed_reason = "festival wrote no audio"
        missing = [j for j in pending if not os.path.exists(os.path.join(tmp, f"{j.utt_id}.wav"))]
        if not missing:
            break
        failed[missing[0].utt_id] = failed_reason
        pending = missing[1:]
    return failed


def synthesize_chunk(args):
    """Worker: (root, jobs) -> [(utt_id, duration or None, error or None)]."""
    root, chunk = args
    results = []
    with tempfile.TemporaryDirectory(prefix="vui-tts-") as tmp:
        failed = _festival_chunk(chunk, tmp) if chunk[0].speaker.engine == "festival" else {}
        for job in chunk:
            wav = os.path.join(tmp, f"{job.utt_id}.wav")
            try:
                if job.utt_id in failed:
                    raise tts_engines.EngineError(failed[job.utt_id])
                if job.speaker.engine != "festival":
                    _synthesize_one(job, wav)
                results.append((job.utt_id, finish_audio(wav, os.path.join(root, job.relpath())),
                                 None))
            except (tts_engines.EngineError, ValueError, RuntimeError, OSError) as err:
                results.append((job.utt_id, None, f"{job.speaker.voice}: {err}"))
    return results


def _chunks(jobs):
    """Same-voice chunks for festival (one voice load each), festival first (slowest)."""
    groups = defaultdict(list)
    for job in jobs:
        key = job.speaker.voice if job.speaker.engine == "festival" else job.speaker.engine
        groups[(job.speaker.engine != "festival", key)].append(job)
    return [group[i:i + CHUNK_SIZE] for _, group in sorted(groups.items())
            for i in range(0, len(group), CHUNK_SIZE)]


def _existing_duration(path):
    try:
        return audio_duration(path) if os.path.isfile(path) else None
    except ValueError:
        return None


def run_jobs(root, jobs, workers, progress=True):
    """{utt_id: duration} for jobs done (reused or new), and [(path, reason)] failures."""
    durations, todo, failures = {}, [], []
    for job in jobs:
        found = _existing_duration(os.path.join(root, job.relpath()))
        if found is None:
            todo.append(job)
        else:
            durations[job.utt_id] = found
    chunks = [(root, c) for c in _chunks(todo)]
    bar = tqdm(total=len(todo), desc="synthesising", unit="utt",
               disable=not shows_progress(progress))
    by_id = {j.utt_id: j for j in todo}
    if workers > 1 and len(chunks) > 1:
        with processes.worker_pool(workers) as pool:
            done = processes.as_completed([pool.submit(synthesize_chunk, chunk)
                                           for chunk in chunks])
            _collect((future.result() for future in done), root, by_id, durations, failures,
                     bar)
    else:
        _collect(map(synthesize_chunk, chunks), root, by_id, durations, failures, bar)
    bar.close()
    return durations, failures, len(jobs) - len(todo)


def _collect(results, root, by_id, durations, failures, bar):
    for chunk_results in results:
        for utt_id, duration, error in chunk_results:
            if error is None:
                durations[utt_id] = duration
            else:
                failures.append((os.path.join(root, by_id[utt_id].relpath()), error))
        bar.update(len(chunk_results))


def _write_text(path, text):
    atomic.write_text(path, text)


def write_outputs(root, speakers, jobs, durations):
    """trans.txt per chapter, one index per partition, voices.json; returns index paths."""
    chapters, entries = defaultdict(list), defaultdict(list)
    for job in jobs:
        if job.utt_id not in durations:
            continue
        s = job.speaker
        chapters[os.path.dirname(os.path.join(root, job.relpath()))].append(
            f"{job.utt_id} {job.text.upper()}\n")
        entries[s.partition].append({
            "key": os.path.abspath(os.path.join(root, job.relpath())),
            "duration": round(durations[job.utt_id], 4), "text": job.text,
            "speaker": s.speaker_id, "engine": s.engine, "voice": s.voice, "family": s.family,
            "variant": job.variant()})
    for chapter_dir, lines in chapters.items():
        name = os.path.basename(os.path.dirname(chapter_dir)) + "-" + os.path.basename(chapter_dir)
        _write_text(os.path.join(chapter_dir, name + ".trans.txt"), "".join(sorted(lines)))
    indexes = {}
    for part in speakers:
        indexes[part] = os.path.join(root, f"{part}_corpus.json")
        write_index(indexes[part], entries[part])
    voices = {str(s.speaker_id): {"partition": s.partition, "engine": s.engine, "voice": s.voice,
                                  "family": s.family, "rate": s.rate, "pitch": s.pitch}
              for part in speakers.values() for s in part}
    _write_text(os.path.join(root, "voices.json"), json.dumps(voices, indent=1) + "\n")
    return indexes, entries


def _saved_fingerprint(root):
    """The fingerprint a corpus under `root` was built with, or None."""
    path = os.path.join(root, CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_config(root, fingerprint):
    """Refuse to mix audio from two different plans under one root (names would collide)."""
    old = _saved_fingerprint(root)
    if old is not None and old != fingerprint:
        diff = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
        raise ValueError(f"{root!r} holds a corpus built with other settings (differing: "
                         f"{diff}); choose another --root or delete that folder")
    os.makedirs(root, exist_ok=True)
    _write_text(os.path.join(root, CONFIG_FILE), json.dumps(fingerprint, indent=1) + "\n")


def saved_settings(root):
    """The CorpusConfig fields a corpus under `root` was built with ({} if none there), so a
    caller can reuse or complete that corpus whatever its sizes."""
    old = _saved_fingerprint(root) or {}
    names = {f.name for f in fields(CorpusConfig)} - {"workers"}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in old.items() if k in names}


def build_embedded_corpus(root=EMBEDDED_ROOT, config=None, progress=True, voices=None, **kw):
    """Generate (or complete) the corpus under `root`; keyword arguments override CorpusConfig."""
    config = config or CorpusConfig(**kw)
    start = time.perf_counter()
    voices = voices if voices is not None else tts_engines.all_voices()
    unknown = set(config.holdout_families) - {v.family for v in voices}
    if unknown:
        raise ValueError(f"holdout_families {sorted(unknown)} match no installed voice; "
                         f"families: {sorted({v.family for v in voices})}")
    _check_config(root, config.fingerprint(voices))
    sizes = config.sizes()
    texts = sentence_sources.split_sentences(
        sentence_sources.load_sentences(config.sources), sizes, config.seed)
    speakers = corpus_plan.plan_speakers(voices, sizes, config.holdout_families, config.seed)
    if config.high_pitch_share:
        speakers = corpus_plan.raise_pitches(speakers, config.high_pitch_share, config.seed)
    jobs = corpus_plan.plan_jobs(speakers, texts, config.seed)
    durations, failures, reused = run_jobs(root, jobs, config.workers, progress)
    indexes, entries = write_outputs(root, speakers, jobs, durations)
    result = BuildResult(root, indexes, {p: len(e) for p, e in entries.items()},
                         {p: sum(x["duration"] for x in e) / 3600 for p, e in entries.items()},
                         generated=len(durations) - reused, reused=reused,
                         seconds=time.perf_counter() - start)
    for path, reason in failures:
        result.report.skip(path, reason)
    result.report.kept = len(durations)
    result.report.kept_seconds = sum(durations.values())
    return result


def build_parser():
    c = CorpusConfig()
    p = argparse.ArgumentParser(
        prog="vui corpus embedded",
        description="Generate the embedded English corpus with espeak-ng, festival and flite "
                    "(LibriSpeech-shaped FLAC tree + train/valid/test JSON-lines indexes).")
    p.add_argument("--root", default=str(EMBEDDED_ROOT), help="output folder (default %(default)s)")
    p.add_argument("--n-train", type=int, default=c.n_train, help="default %(default)s")
    p.add_argument("--n-valid", type=int, default=c.n_valid, help="default %(default)s")
    p.add_argument("--n-test", type=int, default=c.n_test, help="default %(default)s")
    p.add_argument("--n-holdout", type=int, default=c.n_holdout,
                   help="holdout partition size when --holdout-families is given")
    p.add_argument("--seed", type=int, default=c.seed, help="default %(default)s")
    p.add_argument("--holdout-families", nargs="*", default=[],
                   help="speaker families kept out of train/valid/test, e.g. slt kal espeak")
    p.add_argument("--sources", nargs="+", default=list(c.sources),
                   choices=sentence_sources.SOURCES, help="sentence sources")
    p.add_argument("--high-pitch-share", type=float, default=c.high_pitch_share,
                   help="share of the festival/flite training speakers raised 1.4-1.9x in "
                        "pitch, into the female range (default %(default)s)")
    p.add_argument("--workers", type=int, default=c.workers, help="processes (default 2)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    config = CorpusConfig(a.n_train, a.n_valid, a.n_test, a.n_holdout, a.seed,
                          tuple(a.holdout_families), tuple(a.sources), a.high_pitch_share,
                          a.workers)
    try:
        r = build_embedded_corpus(a.root, config, progress=not a.no_progress)
    except (ValueError, FileNotFoundError, tts_engines.EngineError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for part, path in r.indexes.items():
        print(f"{path}: {r.counts[part]} utterances, {r.hours[part]:.2f} h")
    print(f"generated {r.generated}, reused {r.reused} in {r.seconds:.0f} s")
    if r.report.skipped:
        print(r.report.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
