"""The same code on each Keras backend: training, greedy decoding and a saved model's transcription.

Keras picks its backend once per process (KERAS_BACKEND, read at import), so each backend runs in
a subprocess of its own: this file, run as a script, trains one epoch of the tiny CNN + GRU on
the tests' speech corpus, evaluates it with the greedy decoder, opens the saved model as a
Recognizer and transcribes, then prints one JSON line the test reads. TensorFlow, the default
backend, is what every other test runs on. PyTorch runs only where it is installed (CI does not
install it: its wheel is several GB).
"""
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import char_map
from vui.decode.metrics import cer_wer

ROOT = Path(__file__).resolve().parents[1]
OTHER_BACKENDS = {"jax": "jax", "torch": "torch"}      # backend -> the module it needs
RESULT_PREFIX = "BACKEND-RESULT "
SUBPROCESS_TIMEOUT = 300                             # seconds; JAX compiles each batch shape
BACKEND_ENV_NOISE = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def run_on_backend(index, work_dir):
    """Train, decode and transcribe on this process's backend; returns what the test checks."""
    import keras

    import data_generator as DG
    import train_utils as T
    from test_train_utils import adam, tiny_builder
    from vui import results as R
    from vui.infer.recognizer import Recognizer

    gen = DG.AudioGeneratorCached(minibatch_size=3, cache_dir=Path(work_dir) / "cache")
    gen.load_train_data(index)
    gen.load_validation_data(index)
    results_dir = Path(work_dir) / "results"
    name = T.train_model(gen, tiny_builder(), epochs=1, minibatch_size=3, optimizer=adam,
                         verbose=0, results_dir=results_dir)
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    record = R.load_pickle(pickle_path)
    greedy = T.evaluate(T.load_model(model_path), gen, "validation", verbose=0)
    transcripts = Recognizer.load(model_path).transcribe(gen.valid_audio_paths[:2])
    return {"backend": keras.backend.backend(), "record_backend": record["backend"],
            "loss": record["loss"][0], "val_loss": record["val_loss"][0],
            "cer": greedy.cer, "hypotheses": list(greedy.hypotheses), "transcripts": transcripts,
            "references": list(greedy.references)}


def installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(OTHER_BACKENDS))
def test_training_decoding_and_transcription_run_on_the_backend(backend, speech_corpus, tmp_path):
    if not installed(OTHER_BACKENDS[backend]):
        pytest.skip(f"{OTHER_BACKENDS[backend]} is not installed")
    env = dict(os.environ, KERAS_BACKEND=backend, **BACKEND_ENV_NOISE)
    done = subprocess.run([sys.executable, __file__, speech_corpus["index"], str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    assert result["backend"] == result["record_backend"] == backend
    assert math.isfinite(result["loss"]) and math.isfinite(result["val_loss"])
    assert len(result["hypotheses"]) == 6
    assert result["cer"] == pytest.approx(cer_wer(result["references"], result["hypotheses"])[0])
    assert result["transcripts"] == result["hypotheses"][:2]     # one file = its batch's row
    alphabet = set(char_map.ALPHABET)
    for text in result["transcripts"] + result["hypotheses"]:
        assert isinstance(text, str) and set(text) <= alphabet


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    outcome = run_on_backend(sys.argv[1], sys.argv[2])
    print(RESULT_PREFIX + json.dumps(outcome), flush=True)


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gpu_checks_batches_buckets_and_decoding(rng):
    """scripts/gpu_check.py batches carried features itself: static shapes per bucket, the
    toolkit's y layout, and its own greedy decoding and edit distance."""
    check = load_gpu_check()
    frames = np.array([90, 100, 130, 250, 260, 255])
    arrays = {"train_x": rng.standard_normal((frames.sum(), 26)).astype(np.float16),
              "train_frames": frames, "train_labels": np.arange(60, dtype=np.int8) % 28,
              "train_label_lengths": np.array([10] * 6), "train_durations": frames / 100,
              "train_texts": np.array(["x"] * 6)}
    corpus = check.Corpus(arrays, "train")
    plan = check.bucketed_batches(corpus, 2, 128, lambda n: n // 2, rng)
    assert sorted(width for _, width, _ in plan) == [128, 256]   # 384's one utterance: no batch
    for rows, width, label_width in plan:
        x, y = check.make_batch(corpus, rows, width, label_width, lambda n: n // 2)
        assert x.shape == (2, width, 26) and y.shape == (2, 2 + label_width)
        for r, i in enumerate(rows):
            np.testing.assert_array_equal(x[r, :frames[i]], corpus.x[i].astype(np.float32))
            assert not x[r, frames[i]:].any() and y[r, 0] == frames[i] // 2 and y[r, 1] == 10
    probs = np.eye(29)[[5, 5, 28, 5, 1, 2, 2]]
    assert check.best_path(probs) == "dd a"          # repeats merged, blanks (28) dropped
    assert check.edit_distance("kitten", "sitting") == 3


def test_the_gpu_check_runs_each_backend_with_its_share_of_the_time(tmp_path, monkeypatch):
    """`run` hands each backend to a process of its own: the same options, less the shared
    ones, which it divides; each report's name says its backend."""
    check = load_gpu_check()
    argv = ["run", "--data", "d", "--budget-seconds=100", "--backends", "jax", "torch",
            "--quick", "--train-seconds", "8"]
    assert check.strip_options(argv, ("--backends", "--budget-seconds", "--train-seconds")) \
        == ["run", "--data", "d", "--quick"]
    monkeypatch.delenv("OUT", raising=False)
    assert check.backend_report_path(None, "jax") is None
    assert check.backend_report_path(str(tmp_path / "r.json"), "torch") == tmp_path / "r_torch.json"
    monkeypatch.setenv("OUT", str(tmp_path))
    assert check.backend_report_path(None, "jax") == tmp_path / "gpu_check_jax.json"
    commands = []

    class Child:
        def __init__(self, command):
            commands.append(command)

        def wait(self):
            return 0 if "jax" in commands[-1] else 1      # as if PyTorch were not installed

        def poll(self):
            return 0
    monkeypatch.setattr(check.subprocess, "Popen", Child)
    parsed = check.build_parser().parse_args(argv)
    before = signal.getsignal(signal.SIGTERM)
    assert check.run_each_backend(parsed, argv) == 1          # one backend failed: not 0
    assert signal.getsignal(signal.SIGTERM) is before         # this process's handler is back
    assert [c[c.index("--backends") + 1] for c in commands] == ["jax", "torch"]
    for command in commands:
        assert command[command.index("--budget-seconds") + 1] == "50.0"
        assert command[command.index("--train-seconds") + 1] == "4.0"
        assert "--quick" in command and command.count("--data") == 1


def test_the_gpu_checks_bare_mode_hides_modules_from_imports_and_probes():
    """--bare makes the GPU machine's missing modules missing here: an import fails and
    importlib.util.find_spec (torch._dynamo probes TensorFlow so) finds nothing."""
    code = ("import importlib.util, runpy, sys; "
            f"check = runpy.run_path({str(ROOT / 'scripts' / 'gpu_check.py')!r}); "
            "check['forbid'](('json', 'vui')); sys.modules.pop('json', None); "
            "[sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] == 'vui']; "
            "assert importlib.util.find_spec('json') is None; "
            "assert importlib.util.find_spec('vui') is None; "   # an editable install's too
            "assert importlib.util.find_spec('csv') is not None\n"
            "try:\n    import json\nexcept ModuleNotFoundError as e:\n    print('hidden:', e)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "hidden: No module named 'json'" in done.stdout
