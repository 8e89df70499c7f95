"""Hostile but fair: faults done for real (kill -9 mid-backup, a full or read-only disk, two
processes on one run, a malicious pickle, truncated files, exploding losses, bad arguments),
each showing what the user now sees. Subprocesses and mounts are bounded in time and removed.
"""
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import data_generator as DG
import models as M
import train_utils as T
from test_train_utils import adam, gen, results_dir, tiny_builder, train  # noqa: F401
from vui import results as R
from vui.cli import main as cli
from vui.train import guards

ROOT = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 180            # for a subprocess to reach the point a test kills it at

WORKER = """
import os, sys, time
sys.path[:0] = [{root!r}, {tests!r}]
import keras
import data_generator as DG
import train_utils as T
from test_train_utils import adam, tiny_builder
index, cache, results, epochs, mode, marker = sys.argv[1:7]
gen = DG.AudioGeneratorCached(minibatch_size=3, cache_dir=cache)
gen.load_train_data(index)
gen.load_validation_data(index)

class Started(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        open(marker + ".started", "w").close()
    def on_train_batch_end(self, batch, logs=None):
        if mode == "slow":
            time.sleep(1.0)

if mode == "pause-in-backup":          # stop between writing a backup and putting it in place
    real = keras.Model.save_weights
    calls = []
    def save_weights(self, path, *args, **kwargs):
        real(self, path, *args, **kwargs)
        calls.append(path)
        if ".partial" in str(path) and len(calls) == 2:
            open(marker, "w").close()
            time.sleep(600)
    keras.Model.save_weights = save_weights

T.train_model(gen, tiny_builder(), epochs=int(epochs), minibatch_size=3, optimizer=adam,
              verbose=0, results_dir=results, evaluate_after=False, callbacks=[Started()])
"""


def _worker(tmp_path, speech_corpus, gen, results_dir, epochs, mode):  # noqa: F811
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(root=str(ROOT), tests=str(ROOT / "tests")))
    marker = tmp_path / f"marker-{mode}"
    proc = subprocess.Popen([sys.executable, str(script), speech_corpus["index"],
                             str(tmp_path / "cache"),      # the gen fixture's: features cached
                             str(results_dir), str(epochs), mode, str(marker)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return proc, marker


def _wait_for(path, proc):
    deadline = time.monotonic() + WAIT_SECONDS
    while not Path(path).exists():
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}) before {path}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {path}")
        time.sleep(0.1)


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


# ---- kills, locks, restarts -----------------------------------------------------------------

def test_kill_during_the_backup_write_then_a_restart_resumes(gen, results_dir, tmp_path,  # noqa: F811
                                                              speech_corpus, capsys):
    """kill -9 after the second epoch's backup is written but before it replaces the first:
    the first stays readable, the stale lock is taken over, and the rerun resumes from it."""
    proc, marker = _worker(tmp_path, speech_corpus, gen, results_dir, 3, "pause-in-backup")
    _wait_for(marker, proc)
    _kill(proc)
    name = "Spec " + tiny_builder().describe()
    _, model_path, backup_dir = R.run_paths(name, results_dir)
    assert (backup_dir / "latest.weights.h5").exists()
    assert json.loads((backup_dir / "training_metadata.json").read_text())["epoch"] == 1
    assert backup_dir.with_suffix(guards.LOCK_SUFFIX).exists()      # left by the killed run
    train(gen, results_dir, epochs=3, evaluate_after=False)
    assert "Resuming" in capsys.readouterr().out
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert record["completed"] and len(record["loss"]) == 3 and model_path.exists()
    assert not backup_dir.with_suffix(guards.LOCK_SUFFIX).exists()


def test_a_second_process_on_the_same_run_is_refused(gen, results_dir, tmp_path,  # noqa: F811
                                                     speech_corpus):
    proc, marker = _worker(tmp_path, speech_corpus, gen, results_dir, 50, "slow")
    try:
        _wait_for(str(marker) + ".started", proc)
        with pytest.raises(guards.RunLocked, match=rf"process {proc.pid} .*wait for it"):
            train(gen, results_dir, epochs=1)
    finally:
        _kill(proc)


def test_a_restart_with_another_optimizer_is_refused_unless_retrained(gen, results_dir):  # noqa: F811
    name = train(gen, results_dir, epochs=1, evaluate_after=False)
    other = dict(optimizer=lambda: keras.optimizers.SGD(learning_rate=0.01))
    with pytest.raises(guards.RunError, match=r"optimizer: was Adam, now SGD\); .*retrain=True.*"
                                              r"vui train --results"):
        T.train_model(gen, tiny_builder(), epochs=2, minibatch_size=3, verbose=0,
                      results_dir=results_dir, evaluate_after=False, **other)
    T.train_model(gen, tiny_builder(), epochs=2, minibatch_size=3, verbose=0, retrain=True,
                  results_dir=results_dir, evaluate_after=False, **other)
    assert len(R.load_pickle(R.run_paths(name, results_dir)[0])["loss"]) == 2


def test_an_optimizer_of_the_same_class_is_told_by_the_settings_that_differ():
    def setup(optimizer):
        return guards.training_setup({}, [], [], optimizer, 3, None)
    slow, fast = (setup(keras.optimizers.Adam(learning_rate=lr)) for lr in (1e-3, 1e-2))
    assert guards.setup_differences(slow, fast) == [
        "optimizer Adam: learning_rate was 0.001, now 0.01"]
    assert guards.setup_differences(slow, slow) == []
    newer = dict(slow, optimizer=slow["optimizer"].replace("{", '{"added_later": null, ', 1))
    assert guards.setup_differences(slow, newer) == []   # a newer Keras's null setting: no change
    whole = dict(slow, optimizer=slow["optimizer"].replace('"beta_1": 0.9', '"beta_1": 0.9000001'))
    assert guards.setup_differences(slow, whole) == [
        "optimizer Adam: beta_1 was 0.9, now 0.9000001"]    # in full where 6 digits agree


def test_an_unreadable_backup_says_what_to_do(gen, results_dir):  # noqa: F811
    name = "Spec " + tiny_builder().describe()
    backup_dir = R.run_paths(name, results_dir)[2]
    backup_dir.mkdir(parents=True)
    (backup_dir / "latest.weights.h5").write_bytes(b"\x89HDF\r\n half a file")
    with pytest.raises(guards.RunError, match=r"cannot be read .*delete that folder.*retrain"):
        train(gen, results_dir, epochs=1)


def test_a_failed_write_mid_run_keeps_the_last_backup_and_a_rerun_resumes(
        gen, results_dir, monkeypatch, capsys):  # noqa: F811
    real = keras.Model.save_weights
    calls = []

    def full_disk(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"partial")
            raise OSError(28, "Unable to synchronously create file (file write failed: "
                          "errno = 28,\n error message = 'No space left on device')", str(path))
        return real(self, path, *args, **kwargs)
    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    with pytest.raises(guards.RunError, match=r"No space left.*last good backup is kept") as err:
        train(gen, results_dir, epochs=3, evaluate_after=False)
    assert "\n" not in str(err.value)           # h5py's line break: the message is one line
    monkeypatch.undo()
    train(gen, results_dir, epochs=3, evaluate_after=False)
    assert "Resuming" in capsys.readouterr().out
    name = "Spec " + tiny_builder().describe()
    assert len(R.load_pickle(R.run_paths(name, results_dir)[0])["loss"]) == 3


# ---- the results folder ---------------------------------------------------------------------

def _mount_tmpfs(target, options):
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}): needs root")


@pytest.fixture
def mounted(tmp_path):
    mounts = []

    def mount(name, options):
        target = tmp_path / name
        _mount_tmpfs(target, options)
        mounts.append(target)
        return target
    yield mount
    for target in mounts:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_full_disk_is_refused_before_the_first_epoch(gen, mounted):  # noqa: F811
    small = mounted("small", "size=256k")
    with pytest.raises(guards.RunError, match=r"has 0\.\d MB free; .* need about"):
        train(gen, small / "results", epochs=1)


def test_a_read_only_results_folder_is_refused_before_the_first_epoch(gen, mounted, tmp_path):  # noqa: F811
    frozen = mounted("frozen", "ro,size=1m")
    with pytest.raises(guards.RunError, match=r"frozen is not writable .*Read-only"):
        train(gen, frozen, epochs=1)


# ---- losses ---------------------------------------------------------------------------------

class Poison(keras.callbacks.Callback):
    """Turns the weights NaN in the second epoch, as an exploding update does."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 1 and batch == 1:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


class FirstEpochWeights(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.weights = [w.copy() for w in self.model.get_weights()]


def test_a_diverging_run_keeps_its_last_good_weights(gen, results_dir, capsys):  # noqa: F811
    good = FirstEpochWeights()
    name = train(gen, results_dir, epochs=3, callbacks=[good, Poison()])
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert record["diverged"] and "is not finite" in record["stopped"]
    assert len(record["loss"]) == 2 and record["completed"]
    assert "keeping the weights of epoch 1" in capsys.readouterr().out
    model = T.load_model(str(R.run_paths(name, results_dir)[1]))
    saved = model.get_weights()
    assert len(saved) == len(good.weights)
    for kept, first in zip(saved, good.weights):               # epoch 1's, not the NaNs
        np.testing.assert_array_equal(kept, first)


def guarded_model(limit):
    """A Dense model under a LossGuard, as fit would drive it."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.stop_training = False
    guard = guards.LossGuard(limit)
    guard.set_model(model)
    guard.on_train_begin()
    return model, guard


def test_the_auto_loss_limit_stops_a_batch_100x_its_first_and_restores_the_weights():
    model, guard = guarded_model("auto")
    start = [w.copy() for w in model.get_weights()]
    guard.on_train_batch_end(0, {"loss": 5.0})
    guard.on_train_batch_end(1, {"loss": 499.0})            # under 100 x 5: goes on
    assert guard.reason is None and not model.stop_training
    model.set_weights([w + 1 for w in start])               # an update, then a blow-up
    guard.on_train_batch_end(2, {"loss": 600.0})
    assert "exceeds loss_limit=500" in guard.reason and model.stop_training
    for now, then in zip(model.get_weights(), start):
        np.testing.assert_array_equal(now, then)


def test_the_auto_loss_limit_stops_an_epoch_twice_its_first_and_keeps_the_last_good_one():
    model, guard = guarded_model("auto")
    guard.on_train_batch_end(0, {"loss": 50.0})
    guard.on_epoch_end(0, {"loss": 10.0})
    model.set_weights([w + 1 for w in model.get_weights()])
    good = [w.copy() for w in model.get_weights()]
    guard.on_epoch_end(1, {"loss": 19.0})                    # under 2 x 10: epoch 2 ended well
    assert guard.reason is None and guard.good_epoch == 2
    model.set_weights([w + 1 for w in good])
    guard.on_epoch_end(2, {"loss": 21.0})
    assert "rose to 21 in epoch 3, over 2x its first epoch's 10" in guard.reason
    assert model.stop_training
    for now, then in zip(model.get_weights(), good):
        np.testing.assert_array_equal(now, then)


def test_vui_train_exits_1_and_says_why_when_its_run_diverged(monkeypatch, tmp_path, capsys):
    results = tmp_path / "results"

    def diverging_run(gen, builder, results_dir, **options):
        R.save_record(R.run_paths("blown", results_dir)[0],
                      {"diverged": True, "stopped": "training loss nan at batch 3 is not finite"})
        return "blown"
    monkeypatch.setattr(cli, "corpus_generator", lambda *args, **kwargs: object())
    monkeypatch.setattr(T, "train_model", diverging_run)
    assert cli.main(["train", "--corpus", str(tmp_path), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "training loss nan at batch 3 is not finite" in err and "--lr" in err


def test_impossible_training_arguments_are_refused_before_any_work(gen, results_dir):  # noqa: F811
    for bad in (dict(epochs=0), dict(minibatch_size=0), dict(loss_limit=-1)):
        with pytest.raises(ValueError, match="epochs|minibatch_size|loss_limit"):
            T.train_model(gen, tiny_builder(), verbose=0, results_dir=results_dir,
                          **{"minibatch_size": 3, **bad})
    with pytest.raises(TypeError, match=r"got 'demo'; for the preset, pass M.presets.demo\(\)"):
        T.train_model(gen, "demo", results_dir=results_dir)
    with pytest.raises(TypeError, match=r"got <class .*RNNModel'>; the class: make one, "
                                        r"RNNModel\(...\)"):
        T.train_model(gen, M.RNNModel, results_dir=results_dir)
    assert not Path(results_dir).exists()


def test_the_cli_refuses_bad_numbers_and_presets_before_computing_features(monkeypatch, capsys):
    monkeypatch.setattr(cli, "corpus_generator", lambda *a, **k: pytest.fail("features made"))
    for argv in (["--epochs", "0"], ["--batch-size", "0"], ["--lr", "inf"], ["--lr", "-1"],
                 ["--loss-limit", "nan"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(["train", *argv])
        assert stop.value.code == 2
    assert cli.main(["train", "--preset", "model_9"]) == 2
    assert "error: unknown preset 'model_9'" in capsys.readouterr().err


# ---- received files -------------------------------------------------------------------------

class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_and_does_not_run(gen, results_dir, tmp_path, capsys):  # noqa: F811
    name = train(gen, results_dir, epochs=1, evaluate_after=False)
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    marker = tmp_path / "pwned"
    record = R.load_pickle(pickle_path)
    record["loss"] = Payload(marker)
    pickle_path.write_bytes(pickle.dumps(record))
    with pytest.raises(ValueError, match=re.escape(f"{pickle_path.name}: refused to load posix.system")):
        R.load_pickle(pickle_path)
    with pytest.raises(ValueError, match="refused"):
        T.load_model(str(model_path))
    wav = gen.valid_audio_paths[0]
    assert cli.main(["transcribe", "--model", str(model_path), wav]) == 0   # JSON: no pickle
    assert not marker.exists()


def test_truncated_files_are_named(gen, results_dir, capsys):  # noqa: F811
    names = [train(gen, results_dir, tiny_builder(units), epochs=1, evaluate_after=False)
             for units in (16, 24)]
    bad_pickle, bad_model, _ = R.run_paths(names[0], results_dir)
    bad_pickle.write_bytes(bad_pickle.read_bytes()[:50])
    with pytest.warns(UserWarning, match=rf"1 runs could not be read.*{re.escape(bad_pickle.name)}.*truncated"):
        table = T.comparison_table(model_names=names, results_dir=results_dir)
    assert len(table) == 1
    bad_model.write_bytes(bad_model.read_bytes()[:1000])
    assert cli.main(["transcribe", "--model", str(bad_model), gen.valid_audio_paths[0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot be read as a Keras model" in err \
        and str(bad_model) in err and "Traceback" not in err
    assert "it is not a zip archive" in err and "File not found" not in err   # it is there
    good_model = R.run_paths(names[1], results_dir)[1]
    good_model.with_suffix(".json").unlink()
    good_model.with_suffix(".pickle").unlink()
    assert cli.main(["transcribe", "--model", str(good_model), gen.valid_audio_paths[0]]) == 2
    assert "neither its metadata" in capsys.readouterr().err
    # a folder is taken for an export, and named as not being one
    assert cli.main(["transcribe", "--model", str(results_dir), gen.valid_audio_paths[0]]) == 2
    assert "vui_bundle.json: missing; an export folder holds" in capsys.readouterr().err
    with pytest.raises(IsADirectoryError, match="is a folder; expected a trained model"):
        T.load_model(str(results_dir))


def test_transcribe_gives_every_input_a_row(gen, results_dir, tmp_path, capsys):  # noqa: F811
    name = train(gen, results_dir, epochs=1, evaluate_after=False)
    model = str(R.run_paths(name, results_dir)[1])
    wav = gen.valid_audio_paths[0]
    inputs = [str(tmp_path / "missing.wav"), str(tmp_path), wav]
    assert cli.main(["transcribe", "--model", model, *inputs]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == inputs
    assert "error: no such file" in lines[0] and "is a folder" in lines[1]
    assert not lines[2].split("\t")[1].startswith("error")


def test_a_truncated_wav_is_read_with_a_warning(tmp_path):
    import soundfile
    import utils
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, 0.5 * np.sin(np.arange(32000) / 10.0), 16000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:32044])            # the header + 1 s of 2 s
    with pytest.warns(UserWarning, match=r"cut.wav' is truncated: its header declares 2.00 s, "
                                         r"the file holds 1.00 s"):
        audio = utils.load_audio(cut)
    assert len(audio) == 16000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(utils.load_audio(whole)) == 32000


def test_an_mfcc_size_never_used_does_not_refuse_a_run_or_a_model():
    """The seed's generators pass mfcc_dim with spectrograms too (our notebook passes 13): a run
    or a model is not refused over it, only over settings that change the numbers."""
    from dataclasses import asdict
    import utils as U
    from vui.infer.inference import check_features
    spec13, spec26 = (asdict(U.FeatureConfig("spectrogram", mfcc_dim=d)) for d in (13, 26))
    mfcc13, mfcc26 = (asdict(U.FeatureConfig("mfcc", mfcc_dim=d)) for d in (13, 26))
    assert guards.setup_differences({"features": spec13}, {"features": spec26}) == []
    assert guards.setup_differences({"features": mfcc13}, {"features": mfcc26}) != []

    class Trained:
        def __init__(self, features):
            self.vui_record = {"feature_config": features}

    class Generator:
        feature_config = U.FeatureConfig("spectrogram", mfcc_dim=26)
    check_features(Trained(spec13), Generator())
    with pytest.raises(ValueError, match="was trained on features"):
        check_features(Trained(asdict(U.FeatureConfig("spectrogram", max_freq=4000))),
                       Generator())


def test_evaluating_a_partition_never_loaded_says_how_to_load_it(gen):  # noqa: F811
    model = tiny_builder().build(gen.input_dim)
    said = r"partition 'holdout' has no utterances: load it first \(gen.load_partition\('holdout'"
    with pytest.raises(ValueError, match=said):
        T.evaluate(model, gen, "holdout", verbose=0)
    with pytest.raises(ValueError, match=said):         # the same words, wherever it is found
        gen.dataset("holdout")


def test_a_results_folder_or_corpus_folder_that_is_a_file_is_named_so(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(guards.RunError, match=r"a-file is a file; expected a folder"):
        guards.check_writable(tmp_path / "a-file")
    with pytest.raises(DG.MissingIndexError, match=r"a-file is a file; expected the folder "
                                                   r"that holds train_corpus.json"):
        DG.AudioGeneratorCached.for_corpus("mfcc13", tmp_path / "a-file")
