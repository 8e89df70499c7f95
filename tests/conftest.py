"""Shared fixtures: real speech made with espeak-ng, written as files plus a JSON-lines index.

Audio generation is session-scoped (espeak-ng takes ~0.1 s per sentence); tests that modify files
copy them first. Other test files may add fixtures here; keep each one small and general.
"""
import contextlib
import fcntl
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


def frames(*specs, floor=1e-4, dtype=np.float32):
    """Softmax outputs by hand, one row per spec: {char: prob} with the rest of the mass on
    the blank ("" = blank)."""
    from char_map import BLANK_INDEX, NUM_CLASSES, char_map
    probs = np.full((len(specs), NUM_CLASSES), floor)
    for row, spec in zip(probs, specs):
        for ch, p in spec.items():
            row[BLANK_INDEX if ch == "" else char_map[ch]] = p
        row[BLANK_INDEX] += 1 - row.sum()
    assert np.all(probs >= 0)
    return probs.astype(dtype)


def write_index(path, entries):
    """Write a JSON-lines index: one {"key", "duration", "text", ...} object a line."""
    with open(path, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry) + "\n")
    return str(path)


def train_tiny(index, base, name_suffix, epochs=1, bd_merge=None, learning_rate=1e-3,
               evaluate_after=True, **features):
    """A CNN + GRU(16) trained on `index` under `base` (its results/ and cache/); returns the
    .keras path. One epoch gives garbage transcripts, but real ones, with words, times and
    confidences, in about ten seconds on 2 cores. `features`: AudioGeneratorCached's."""
    import keras
    import data_generator as DG
    import models as M
    import train_utils as T
    from vui import results as R
    gen = DG.AudioGeneratorCached(minibatch_size=3, cache_dir=base / "cache", **features)
    gen.load_train_data(index)
    gen.load_validation_data(index)
    builder = M.RNNModel(cnn_config=M.CNNConfig(filters=16, kernel_size=5, conv_stride=2,
                                                conv_border_mode="same"),
                         rnn_units=16, bd_merge=bd_merge, name_suffix=name_suffix)
    name = T.train_model(gen, builder, epochs=epochs, minibatch_size=3, verbose=0,
                         optimizer=lambda: keras.optimizers.Adam(learning_rate),
                         results_dir=base / "results", evaluate_after=evaluate_after)
    return R.run_paths(name, base / "results")[1]


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


# ------------------------------------------------ the order files start in
# The files that take longest, longest first (docs/experiments/scale.md, "The test suite"),
# start first, so that the suite does not end on one of them while the other worker is idle.
# The two notebooks' set-ups come first, side by side. The sweeps' Ray start waits for them
# (`alone()`, below), so train_utils goes between: the worker that ends its notebook first
# takes it, and the sweeps start when the other notebook has ended, not while it runs.
LONGEST_FILES = ("test_notebook.py", "test_seed_replay.py", "test_train_utils.py",
                 "test_sweep.py", "test_faults.py", "test_distribute.py", "test_export.py",
                 "test_serve.py", "test_models.py", "test_cli.py", "test_word_timing_audio.py",
                 "test_backends.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: the rest as found


# ------------------------------------------------ moments that need the machine to themselves
# The suite runs on pytest-xdist workers (pyproject's addopts). Ray's raylet aborts when its
# agents start slower than it allows (ray-project/ray#65983), which a second worker's training
# on 2 cores can cause; so a test starts Ray inside `machine.alone()`: it waits until the other
# workers are between tests, keeps them from starting another, and lets them go on once Ray is
# up. Two flock files: every test holds the room shared, passing a turnstile to enter it;
# `alone()` leaves the room, takes the turnstile (no test enters) and then the room alone.
# A module's set-up happens outside any test, so the long ones (the notebooks' runs) take their
# share with `sharing_the_machine`; what starts inside `alone()` also runs ahead of the rest.
ALONE_NICENESS = -10   # a CFS weight ~9.5x a niceness-0 thread's (docs/experiments/scale.md,
                       # "Ray's start on a busy machine")


@contextlib.contextmanager
def ahead_of_the_rest():
    """Processes started in this block inherit ALONE_NICENESS (raising priority needs root;
    without it the block changes nothing)."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, ALONE_NICENESS)
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


class MachineShare:
    def __init__(self, turnstile=None, room=None):
        self.turnstile, self.room = turnstile, room

    @contextlib.contextmanager
    def alone(self):
        with ahead_of_the_rest():
            if self.room is None:           # one process: no other test runs
                yield
                return
            with self._room_to_itself():
                yield

    @contextlib.contextmanager
    def _room_to_itself(self):
        fcntl.flock(self.room, fcntl.LOCK_UN)      # first, so two alone() calls cannot deadlock
        fcntl.flock(self.turnstile, fcntl.LOCK_EX)
        fcntl.flock(self.room, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.room, fcntl.LOCK_SH)
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)


@contextlib.contextmanager
def sharing_the_machine(tmp_path_factory, queue=True):
    """A share of the machine, as a test holds it: yields a MachineShare. A module fixture that
    runs for minutes holds one too (queue=False), so that another worker's `alone()` waits for
    it to end rather than start Ray beside it (a notebook's training made the raylet abort).
    queue=False enters without the turnstile: a fixture may start inside its own worker's
    share, which an `alone()` holding the turnstile would be waiting on. Release it before
    the module's tests run: a test of the same worker calling `alone()` would wait on it."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield MachineShare()
        return
    shared = tmp_path_factory.getbasetemp().parent     # the same folder for every worker
    with open(shared / "turnstile.lock", "w") as turnstile, open(shared / "room.lock", "w") as room:
        if queue:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(room, fcntl.LOCK_SH)
        if queue:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield MachineShare(turnstile, room)
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def machine(tmp_path_factory):
    """Every test's share of the machine; `with machine.alone():` for a moment alone."""
    with sharing_the_machine(tmp_path_factory) as share:
        yield share

