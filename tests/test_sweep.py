"""Sweeps on Ray Tune, for real: three tiny builders on the speech corpus as Ray trials.

A two-node Ray cluster on localhost (two `ray start` processes, one CPU each), started once
for this file, runs two tests' sweeps: one in which a trial's worker process is killed with
SIGKILL after its first epoch (the sweep run again resumes that trial from its backup and
sends the finished ones nowhere, their files untouched, and the results compare like a
notebook's), and one with ASHA whose trials run on both nodes. Everything is bounded (a
SIGALRM deadline, subprocess timeouts) and Ray is shut down and its processes ended by their
ids even when a test fails. One cluster rather than a local Ray and a cluster: each start
takes about 16 s of this 2-core machine, with the machine to itself (docs/experiments/scale.md,
"The test suite on two workers").
"""
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before ray is imported (it reads them then): one line per epoch, not folded; and the token
# authentication Ray uses by default sent to an explicit address (the two-node cluster's).
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")

import keras  # noqa: E402
import pytest  # noqa: E402
import ray  # noqa: E402

import models as M  # noqa: E402
import train_utils as T  # noqa: E402
from vui import results as R  # noqa: E402
from vui.cli.sweep import SweepConfig  # noqa: E402
from vui.sweep import outcome as O  # noqa: E402
from vui.sweep.spec import GenSpec, builder_configs, check_distinct, run_name  # noqa: E402
from conftest import sharing_the_machine  # noqa: E402

EPOCHS = 2
SWEEP_DEADLINE = 420          # seconds for one test's sweeps; they take about 150 on 2 busy cores
RAY_START_TIMEOUT = 120
CLUSTER_START_ATTEMPTS = 2
RAY_AGENT_TIMEOUT = "Timed out waiting for file"     # the raylet's abort in ray#65983
UNITS = (8, 12, 16)


def tiny_builder(units):
    return M.RNNModel(cnn_config=M.CNNConfig(filters=16, kernel_size=5, conv_stride=2,
                                             conv_border_mode="same", cnn_dropout_rate=0.0),
                      rnn_type=M.RNNType.GRU, rnn_units=units, rnn_layers=1, bd_merge=None,
                      rnn_dropout_rate=0.0, dropout_rate=0.0, name_suffix="Tiny")


@contextlib.contextmanager
def deadline(seconds):
    """Raise TimeoutError in this (the main) thread after `seconds`: a sweep that hangs fails
    the test, and the caller's cleanup still runs."""
    def expire(*_):
        raise TimeoutError(f"sweep still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def spec(speech_corpus, tmp_path):
    return GenSpec(train_index=speech_corpus["index"], valid_index=speech_corpus["index"],
                   cache_dir=str(tmp_path / "cache"))


def sweep(spec, results_dir, **options):
    options.setdefault("epochs", EPOCHS)
    return T.sweep([tiny_builder(u) for u in UNITS], spec, minibatch_size=3,
                   optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                   results_dir=str(results_dir), verbose=0, **options)


def kill_once(marker):
    """A factory of Keras callbacks that SIGKILL their trial's worker process at the end of
    epoch 1, in the first trial to get there (the marker file says one did)."""
    def make():
        class KillOnce(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return
                os.kill(os.getpid(), signal.SIGKILL)
        return KillOnce()
    return make


# ---- without Ray --------------------------------------------------------------------------

def test_specs_and_builders_are_checked_before_any_work(speech_corpus, tmp_path):
    with pytest.raises(ValueError, match="unknown features"):
        GenSpec(features="mel", corpus=str(tmp_path))
    with pytest.raises(ValueError, match="corpus folder or both"):
        GenSpec(train_index=speech_corpus["index"])
    with pytest.raises(FileNotFoundError, match="no train index"):
        GenSpec(corpus=str(tmp_path)).resolved()
    configs = builder_configs(["model_0", tiny_builder(8), tiny_builder(8).to_config()])
    assert M.RNNModel.from_config(configs[0]) == M.presets.model_0()
    features = GenSpec(features="mfcc26", corpus=str(tmp_path)).feature_config()
    names = [run_name(features, c) for c in configs]
    assert names[0] == "MFCC " + M.presets.model_0().describe()
    with pytest.raises(ValueError, match="same run name"):
        check_distinct(names)
    with pytest.raises(ValueError, match="unknown preset"):
        builder_configs(["model_9"])


def test_outcomes_from_tune_results_and_asha_marks(tmp_path):
    summary = {"summary": True, "completed": True, "epoch": 2}
    trained = O.outcome("a", dict(summary, trained_epochs=2, started_at_epoch=0), None)
    assert trained.status == O.TRAINED
    assert O.outcome("a", dict(summary, trained_epochs=1, started_at_epoch=1), None).label == \
        "resumed (after epoch 1)"
    assert O.outcome("a", dict(summary, trained_epochs=0), None).status == O.LOADED
    died = O.outcome("a", {}, RuntimeError("worker died"))
    assert died.label == "failed (RuntimeError: worker died)"
    assert O.outcome("a", {}, None).status == O.NOT_RUN
    stopped = O.outcome("run", {"epoch": 1, "val_loss": 3.0}, None)
    assert stopped.label == "early-stopped (ASHA, after epoch 1)"
    R.save_record(tmp_path / "run.pickle", {"name": "run", "loss": [5.0], "val_loss": [6.0],
                                            "completed": False})
    O.mark_early_stopped(stopped, tmp_path)
    record = R.load_pickle(tmp_path / "run.pickle")
    assert record["stopped"] == "early-stopped by ASHA after epoch 1" and record["early_stopped"]
    assert O.earlier_outcome("run", tmp_path, 2, False, keep_stopped=True).status == O.EARLY
    assert O.earlier_outcome("run", tmp_path, 2, False, keep_stopped=False) is None  # resumes
    assert O.earlier_outcome("gone", tmp_path, 2, False, keep_stopped=True) is None


def test_cli_config_is_read_strictly(tmp_path):
    path = tmp_path / "sweep.json"
    path.write_text('{"builders": ["model_0"], "epochs": 3, "optimizer": "adam", "lr": 0.01}')
    config = SweepConfig.read(path)
    assert config.epochs == 3
    assert float(config.optimizer_spec()().learning_rate) == pytest.approx(0.01)
    assert config.gen_spec()["corpus"] == config.corpus
    path.write_text('{"builders": ["model_0"], "epoch": 3}')
    with pytest.raises(ValueError, match=r"unknown keys \['epoch'\]"):
        SweepConfig.read(path)


def test_the_help_shows_every_key_a_config_takes(tmp_path):
    import re
    from vui.cli import sweep as sweep_cli
    example = re.search(r"\n    (\{.*?\})\n\n", sweep_cli.__doc__, re.S).group(1)
    path = tmp_path / "example.json"
    path.write_text(example)
    assert SweepConfig.read(path).builders[0] == "model_0"           # it is a valid config
    assert set(json.loads(example)) == {f.name for f in dataclasses.fields(SweepConfig)}


# ---- a two-node cluster on localhost ------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


AGENT_PORT_OPTIONS = ("--dashboard-agent-grpc-port", "--dashboard-agent-listen-port",
                      "--metrics-export-port", "--runtime-env-agent-port")


def _ray_node(args, temp_dir):
    """`ray start --block ...` in its own session, so its processes can be ended together.

    Its agents get fixed free ports: a raylet waits at most 15 s for each port its agents
    choose themselves to appear in a file, and aborts when they are slower (ray-project/ray#65983,
    seen on a busy 2-core machine); fixed ports spare some of those waits, not all, so
    two_node_cluster also tries once more."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    ports = [f"{option}={_free_port()}" for option in AGENT_PORT_OPTIONS]
    return subprocess.Popen([ray_cli, "start", "--block", "--disable-usage-stats",
                             f"--temp-dir={temp_dir}", *ports, *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class NodeDied(RuntimeError):
    """A `ray start` node process exited while the test waited for its cluster."""


def _check_alive(nodes, temp_dir):
    """Fail at once, with the raylet's last words, when a node's `ray start` has exited
    (ray.init would otherwise wait on a dead head for ever)."""
    for proc in nodes:
        if proc.poll() is not None:
            logs = sorted(Path(temp_dir).glob("session_*/logs/raylet*.out"))
            fatal = [line for log in logs for line in log.read_text(errors="replace")
                     .splitlines() if " C " in line or "FATAL" in line]
            raise NodeDied(f"a Ray node exited with {proc.returncode}: {fatal[-1:]}")


def _end(procs):
    """End the nodes' sessions at once: SIGKILL to every process of them (ray start --block's
    processes were all still there 8 s after a SIGTERM, on this machine; the test only needs
    them gone, and their files go with temp_dir)."""
    sessions = {proc.pid for proc in procs}
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        with contextlib.suppress(OSError):
            if os.getsid(pid) in sessions:
                os.kill(pid, signal.SIGKILL)
    for proc in procs:
        proc.wait(timeout=RAY_START_TIMEOUT)


def _wait_for_port(port, nodes, temp_dir):
    start = time.monotonic()
    while time.monotonic() - start < RAY_START_TIMEOUT:
        _check_alive(nodes, temp_dir)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise TimeoutError(f"no Ray head listening on port {port}")


def _wait_for_nodes(address, count, nodes, temp_dir):
    """Until `count` nodes are alive (a head's port opens before it takes drivers)."""
    start = time.monotonic()
    while time.monotonic() - start < RAY_START_TIMEOUT:
        _check_alive(nodes, temp_dir)
        try:
            ray.init(address=address)
        except ConnectionError:
            time.sleep(2)
            continue
        try:
            if sum(n["Alive"] for n in ray.nodes()) >= count:
                return
        finally:
            ray.shutdown()
        time.sleep(2)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {count} nodes")


def record_node(folder):
    """A factory of callbacks that write the Ray node each trial runs on into `folder`."""
    def make():
        class Where(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                node = ray.get_runtime_context().get_node_id()
                (Path(folder) / f"{os.getpid()}").write_text(node)
        return Where()
    return make


@contextlib.contextmanager
def two_node_cluster(machine):
    """A head and a worker node on localhost, each with one CPU; yields the head's address.
    The nodes start with the machine to themselves (tests/conftest.py); a start whose raylet
    still aborted on Ray's agent port-file timeout (ray-project/ray#65983, a load-dependent Ray
    bug) is tried once more before the test fails."""
    for attempt in range(1, CLUSTER_START_ATTEMPTS + 1):
        port, temp_dir = _free_port(), tempfile.mkdtemp(prefix="vray", dir="/tmp")  # short paths
        address, nodes = f"127.0.0.1:{port}", []
        try:
            try:
                with machine.alone():
                    nodes.append(_ray_node(["--head", f"--port={port}", "--num-cpus=1",
                                            "--include-dashboard=false"], temp_dir))
                    _wait_for_port(port, nodes, temp_dir)
                    nodes.append(_ray_node([f"--address={address}", "--num-cpus=1"], temp_dir))
                    _wait_for_nodes(address, 2, nodes, temp_dir)
            except NodeDied as err:
                if attempt < CLUSTER_START_ATTEMPTS and RAY_AGENT_TIMEOUT in str(err):
                    continue
                raise
            yield address
            return
        finally:
            _end(nodes)
            shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The two-node cluster this file's sweeps run on; yields its address. A module's fixture
    starts before its first test takes a share of the machine, so it takes one for `alone()`
    and gives it back once the nodes are up (held on, it would keep another worker's `alone()`
    waiting until this file ends)."""
    assert not ray.is_initialized()
    subprocess.run([str(Path(sys.executable).with_name("ray")), "get-auth-token", "--generate"],
                   check=True, capture_output=True, timeout=RAY_START_TIMEOUT)  # if none yet
    with contextlib.ExitStack() as running:
        with sharing_the_machine(tmp_path_factory) as share:
            address = running.enter_context(two_node_cluster(share))
        yield address


def test_a_killed_trial_resumes_and_finished_ones_are_not_retrained(cluster, spec, tmp_path):
    results = tmp_path / "results"
    with deadline(SWEEP_DEADLINE):
        names, table = sweep(spec, results, address=cluster, cpus_per_trial=0.5,
                             callbacks=[kill_once(tmp_path / "killed")])
        statuses = dict(zip(names, table["sweep"]))
        killed = [n for n, s in statuses.items() if s.startswith("failed")]
        assert len(killed) == 1 and sorted(statuses.values()).count("trained") == 2, statuses
        record = R.load_pickle(R.run_paths(killed[0], results)[0])
        assert len(record["loss"]) == 1 and not record["completed"]
        finished = {n: R.run_paths(n, results)[0].stat().st_mtime_ns
                    for n in names if n not in killed}

        names2, table2 = sweep(spec, results, address=cluster, cpus_per_trial=0.5)
    assert not ray.is_initialized()
    assert names2 == names
    statuses = dict(zip(names, table2["sweep"]))
    assert statuses[killed[0]] == "resumed (after epoch 1)"
    assert all(statuses[n] == "loaded (already trained)" for n in finished), statuses
    assert {n: R.run_paths(n, results)[0].stat().st_mtime_ns for n in finished} == finished
    for name in names:
        record = R.load_pickle(R.run_paths(name, results)[0])
        assert record["completed"] and len(record["loss"]) == EPOCHS
    compared = T.comparison_table(model_names=names, results_dir=results)
    assert list(compared["epochs"]) == [EPOCHS] * 3
    assert table2.loc[names, "epochs"].tolist() == [EPOCHS] * 3
    T.plot_comparison(model_names=names, results_dir=results, show=False)
    assert (results / "comparison.png").exists()


@pytest.mark.slow
def test_a_two_node_cluster_on_localhost_runs_a_sweep_with_asha(cluster, spec, tmp_path):
    nodes_dir = tmp_path / "nodes"
    nodes_dir.mkdir()
    with deadline(SWEEP_DEADLINE):
        names, table = sweep(spec, tmp_path / "results", address=cluster, asha=True,
                             callbacks=[record_node(nodes_dir)], epochs=3)
    assert not ray.is_initialized()
    used = {p.read_text() for p in nodes_dir.iterdir()}
    assert len(used) == 2, "the trials ran on one node only"
    statuses = table["sweep"].tolist()
    print("SWEEP TABLE\n" + table[["sweep", "epochs", "best val loss"]].to_string())
    assert all(s == "trained" or s.startswith("early-stopped (ASHA") for s in statuses), statuses
    for name, status in zip(names, statuses):
        record = R.load_pickle(R.run_paths(name, tmp_path / "results")[0])
        assert record["completed"] == (status == "trained")
        if status != "trained":
            assert record["stopped"].startswith("early-stopped by ASHA")
