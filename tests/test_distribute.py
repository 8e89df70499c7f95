"""Data-parallel training on keras.distribution, for real, on CPU.

JAX runs in subprocesses (this suite's process runs TensorFlow): two virtual CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2) train a tiny model one step on one
global batch of the speech corpus's 6 utterances, and must reach the loss one device reaches
(TOLERANCE: the same computation, up to the order of float sums); an interrupted data-parallel
run resumes. Two processes on localhost (keras.distribution.initialize through
vui.train.distribute) agree, and only process 0 writes results, as an audit hook on every file
operation under the results folder shows.
"""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import data_generator as DG
import models as M
import train_utils as T
from vui.train import distribute

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-5              # relative; measured: identical training loss, val_loss 7e-8 apart
CHILD_TIMEOUT = 240           # seconds; a JAX child takes about 60 on 2 busy cores
BATCH = 6                     # the whole corpus: one step per epoch

CHILD_COMMON = r'''
import json, os, sys, time
args = json.loads(sys.argv[1])
import keras
import data_generator as DG, models as M, train_utils as T
from vui import results as R


def builder():
    return M.RNNModel(cnn_config=M.CNNConfig(filters=16, kernel_size=5, conv_stride=2,
                                             conv_border_mode="same", cnn_dropout_rate=0.0),
                      rnn_type=M.RNNType.GRU, rnn_units=16, rnn_layers=1, bd_merge=None,
                      rnn_dropout_rate=0.0, dropout_rate=0.0, name_suffix="Tiny")


def gen():
    g = DG.AudioGeneratorCached(minibatch_size=args["batch"], cache_dir=args["cache"])
    g.load_train_data(args["index"])
    g.load_validation_data(args["index"])
    return g


def sgd():
    return keras.optimizers.SGD(learning_rate=1e-3)


class Losses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append([float(logs["loss"]), float(logs["val_loss"])])


class Mesh(keras.callbacks.Callback):
    """The device mesh fit trains under (None: no distribution), so a run that silently
    ignored distribution="data_parallel" is caught."""
    shape = None

    def on_train_begin(self, logs=None):
        current = keras.distribution.distribution()
        self.shape = None if current is None else list(current.device_mesh.shape)
'''

CHILD_DEVICES = CHILD_COMMON + r'''
class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


def run(folder, distribution, epochs=1, callbacks=()):
    name = T.train_model(gen(), builder(), epochs=epochs, minibatch_size=args["batch"],
                         optimizer=sgd, verbose=0, results_dir=os.path.join(args["out"], folder),
                         distribution=distribution, evaluate_after=False, callbacks=callbacks)
    return R.load_pickle(R.run_paths(name, os.path.join(args["out"], folder))[0])


out = {"devices": keras.distribution.list_devices()}
meshes = [Mesh(), Mesh()]
one, two = run("one", None, callbacks=[meshes[0]]), run("two", "data_parallel", callbacks=[meshes[1]])
out["meshes"] = [m.shape for m in meshes]
out["one"], out["two"] = [one["loss"][0], one["val_loss"][0]], [two["loss"][0], two["val_loss"][0]]
try:
    run("resume", "data_parallel", epochs=2, callbacks=[Interrupt()])
except KeyboardInterrupt:
    out["interrupted"] = True
resumed = run("resume", "data_parallel", epochs=2)
out["resumed"] = [resumed["loss"], resumed["val_loss"]]
try:
    T.train_model(gen(), builder(), minibatch_size=5, distribution="data_parallel",
                  results_dir=os.path.join(args["out"], "odd"))
except ValueError as err:
    out["odd_batch"] = str(err)
print("RESULT " + json.dumps(out), flush=True)
'''

CHILD_PROCESS = r'''
import json, os, sys
args = json.loads(sys.argv[1])
results = os.path.realpath(args["results"])
writes = []


def audit(event, info):
    """Every file opened for writing, created, renamed or removed under the results folder."""
    if event not in ("open", "os.rename", "os.replace", "os.remove", "os.mkdir", "shutil.rmtree"):
        return
    path = info[0] if info and isinstance(info[0], (str, bytes, os.PathLike)) else None
    if path is None or not os.path.realpath(os.fsdecode(path)).startswith(results):
        return
    if event != "open" or any(c in str(info[1] or "r") for c in "wax+"):
        writes.append(f"{event} {os.fsdecode(path)}")


sys.addaudithook(audit)
from vui.train import distribute
distribute.initialize(f"127.0.0.1:{args['port']}", 2, args["pid"])
''' + CHILD_COMMON + r'''
losses, mesh = Losses(), Mesh()
T.train_model(gen(), builder(), epochs=1, minibatch_size=args["batch"], optimizer=sgd, verbose=0,
              results_dir=results, distribution="data_parallel", callbacks=[losses, mesh])
print("RESULT " + json.dumps({"writer": distribute.process_index() == 0, "writes": writes,
                              "losses": losses.seen, "mesh": mesh.shape}), flush=True)
'''


def tiny_builder():
    return M.RNNModel(cnn_config=M.CNNConfig(filters=16, kernel_size=5, conv_stride=2,
                                             conv_border_mode="same", cnn_dropout_rate=0.0),
                      rnn_type=M.RNNType.GRU, rnn_units=16, rnn_layers=1, bd_merge=None,
                      rnn_dropout_rate=0.0, dropout_rate=0.0, name_suffix="Tiny")


@pytest.fixture
def cache(speech_corpus, tmp_path):
    """The corpus's features computed once here, so the JAX children only read them."""
    folder = tmp_path / "cache"
    DG.AudioGeneratorCached(cache_dir=folder).load_train_data(speech_corpus["index"])
    return str(folder)


def _jax_env(devices=1):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    env.pop("XLA_FLAGS", None)
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _child(tmp_path, name, code):
    script = tmp_path / name
    script.write_text(code)
    return str(script)


def _result(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the child printed no result:\n{output[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- in this process (TensorFlow) -------------------------------------------------------------

def test_tensorflow_is_refused_with_the_reason(speech_corpus, cache, tmp_path):
    gen = DG.AudioGeneratorCached(minibatch_size=BATCH, cache_dir=cache)
    gen.load_train_data(speech_corpus["index"])
    gen.load_validation_data(speech_corpus["index"])
    with pytest.raises(ValueError, match=r"KERAS_BACKEND=jax.*keras#21069.*keras#20585"):
        T.train_model(gen, tiny_builder(), epochs=1, minibatch_size=BATCH,
                      distribution="data_parallel", results_dir=tmp_path / "results")
    assert not (tmp_path / "results").exists()            # refused before any work
    assert distribute.prepare(None, BATCH) is None and distribute.process_index() == 0
    with pytest.raises(ValueError, match=r"distribution='bogus': expected 'data_parallel'"):
        distribute.prepare("bogus", BATCH)                 # what was asked, before the backend


def test_a_plan_splits_global_batches_by_replica_and_process():
    alone = distribute.Plan(replicas=2)
    assert alone.rows(6) == slice(0, 6) and alone.rows(7) == slice(0, 6) and alone.rows(1) is None
    second = distribute.Plan(replicas=4, process_index=1, processes=2)
    assert second.rows(9) == slice(4, 8) and not second.writer


def test_replica_batches_drop_only_what_cannot_be_split(speech_corpus, cache):
    gen = DG.AudioGeneratorCached(cache_dir=cache)
    gen.load_train_data(speech_corpus["index"])
    data = gen.dataset("train", batch_size=4, shuffle=True)    # batches of 4 and 2
    second = distribute.Plan(replicas=2, process_index=1, processes=2)
    split = distribute.split_batches(data, second)
    assert len(split) == 2
    x, y = split[0]
    full_x, full_y = data[split.kept[0]]
    assert x.shape[0] == len(data.batches[split.kept[0]]) // 2 and x.shape[1:] == full_x.shape[1:]
    np.testing.assert_array_equal(y, full_y[x.shape[0]:])   # process 1: the second half
    split.epoch = 3
    assert data.epoch == 3
    assert len(distribute.split_batches(data, distribute.Plan(replicas=3))) == 1    # 2 < 3: out


# ---- JAX in subprocesses ----------------------------------------------------------------------

def test_two_virtual_devices_match_one_and_resume(speech_corpus, cache, tmp_path):
    args = {"cache": cache, "index": speech_corpus["index"], "out": str(tmp_path), "batch": BATCH}
    done = subprocess.run([sys.executable, _child(tmp_path, "devices.py", CHILD_DEVICES),
                           json.dumps(args)], env=_jax_env(devices=2), cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    out = _result(done.stdout + done.stderr)
    assert out["devices"] == ["cpu:0", "cpu:1"]
    assert out["meshes"] == [None, [2]]                  # the second run really was split
    np.testing.assert_allclose(out["two"], out["one"], rtol=TOLERANCE)
    assert out["interrupted"]
    loss, val_loss = out["resumed"]
    assert len(loss) == len(val_loss) == 2               # epoch 1 kept, epoch 2 trained
    np.testing.assert_allclose([loss[0], val_loss[0]], out["two"], rtol=TOLERANCE)
    assert "cannot be split over 2 devices" in out["odd_batch"]


@pytest.mark.slow
def test_two_processes_agree_and_only_process_0_writes(speech_corpus, cache, tmp_path):
    port, results = _free_port(), tmp_path / "results"
    script = _child(tmp_path, "process.py", CHILD_PROCESS)
    procs = []
    try:
        for pid in (0, 1):
            args = {"cache": cache, "index": speech_corpus["index"], "results": str(results),
                    "batch": BATCH, "port": port, "pid": pid}
            procs.append(subprocess.Popen([sys.executable, script, json.dumps(args)],
                                          env=_jax_env(), cwd=str(tmp_path), text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        outs = [_result(p.communicate(timeout=CHILD_TIMEOUT)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [o["writer"] for o in outs] == [True, False]
    assert [o["mesh"] for o in outs] == [[2], [2]]       # one device in each process
    np.testing.assert_allclose(outs[1]["losses"], outs[0]["losses"], rtol=0)   # one computation
    assert outs[0]["writes"] and outs[1]["writes"] == []
    written = sorted(p.suffix for p in results.iterdir() if p.is_file())
    assert written == [".json", ".keras", ".pickle"]
