"""Shared fixtures: real speech made with espeak-ng, written as files plus a JSON-lines index.

Audio generation is session-scoped (espeak-ng takes ~0.1 s per sentence); tests that modify files
copy them first. Other test files may add fixtures here; keep each one small and general.
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

os.environ.setdefault("MPLBACKEND", "Agg")

ESPEAK_RATE = 22050          # espeak-ng's native output rate
SENTENCES = (
    "a great rascal put in north",
    "the room was empty when he entered",
    "italian rusks",
    "he was going home after victory",
    "pray help yourself to wine",
    "dry and of magnificent bouquet",
)


def speak(text, path, sample_rate=16000, voice="en-us", speed=175):
    """Write `text` spoken by espeak-ng to `path` (mono, 16-bit) at `sample_rate`.

    Returns the duration in seconds.
    """
    native = f"{path}.native.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", native, text],
                   check=True, capture_output=True)
    audio, rate = soundfile.read(native, dtype="float32")
    os.remove(native)
    if rate != sample_rate:
        import soxr
        audio = soxr.resample(audio, rate, sample_rate)
    soundfile.write(path, audio, sample_rate, subtype="PCM_16")
    return len(audio) / sample_rate


def load_benchmark(name):
    """A script of benchmarks/ (not a package) imported as a module, so tests can call it."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_index(path, entries):
    """Write a JSON-lines index: one {"key", "duration", "text", ...} object a line."""
    with open(path, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory):
    """Six espeak-ng utterances at 16 kHz and their index: dict(dir, index, entries)."""
    root = tmp_path_factory.mktemp("speech")
    entries = []
    for i, text in enumerate(SENTENCES):
        path = root / f"utt-{i:02d}.wav"
        duration = speak(text, str(path))
        entries.append({"key": str(path), "duration": duration, "text": text,
                        "speaker": "espeak-en-us"})
    return {"dir": root, "index": write_index(root / "index.jsonl", entries),
            "entries": entries}


@pytest.fixture
def corpus_copy(speech_corpus, tmp_path):
    """A private copy of speech_corpus (files and index) that a test may modify or break."""
    root = tmp_path / "corpus"
    shutil.copytree(speech_corpus["dir"], root)
    entries = [dict(e, key=str(root / os.path.basename(e["key"])))
               for e in speech_corpus["entries"]]
    return {"dir": root, "index": write_index(root / "index.jsonl", entries),
            "entries": entries}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ------------------------------------------------ tests that need the machine to themselves
# The suite runs on pytest-xdist workers (pyproject's addopts). A test marked `exclusive`
# waits until no other worker is inside a test and keeps the others out until it ends: Ray's
# raylet aborts when its agents start slower than it allows (ray-project/ray#65983), which a
# second worker's training on 2 cores can cause. Two flock files make a lock with writer
# priority: every test passes the turnstile; an exclusive test holds it while it waits for and
# then holds the room alone, so no other test starts meanwhile.
@pytest.fixture(autouse=True)
def _machine_share(request, tmp_path_factory):
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    import fcntl
    shared = tmp_path_factory.getbasetemp().parent     # the same folder for every worker
    exclusive = request.node.get_closest_marker("exclusive") is not None
    with open(shared / "turnstile.lock", "w") as turnstile, open(shared / "room.lock", "w") as room:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(room, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)
