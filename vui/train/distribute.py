"""One model trained on several devices or processes: Keras 3's own data parallelism.

`train_model(..., distribution="data_parallel")` calls `prepare` before the model is built:
it sets `keras.distribution.DataParallel` over every device JAX sees (all processes
together), so each variable is replicated and each global batch (`minibatch_size`) is split
along its first axis. The loss is then the mean over the global batch, and batch
normalisation's statistics are the global batch's too: one step is the same computation as on
one device, up to the order of float sums.

Only the JAX backend: in Keras 3.15 the PyTorch backend has no distribution library at all
(keras/src/backend/__init__.py sets `distribution_lib = None`), and TensorFlow's is a DTensor
prototype marked "DO NOT USE" that `fit` does not consult (it reads `tf.distribute`
strategies). Those strategies are no way out for us: MirroredStrategy with Keras 3 `fit`
(keras#21069) and MultiWorkerMirroredStrategy (keras#20585, broken since TensorFlow 2.16).

Several processes (hosts): `initialize` (or Keras' KERAS_DISTRIBUTION_* variables) before
any JAX computation; every process runs the same `train_model` call, because each step, each
variable created and each weight loaded under the distribution is a collective that all of
them must enter. So process 0 writes the run's files, and every other process runs the same
code against a private scratch copy of the run's folder, deleted when it exits: a save by
process 0 alone would create a variable under the distribution and wait forever for the
others. Each process feeds its own rows of every global batch (`ReplicaBatches`). Resuming
needs the results folder on storage every process sees; `results_dir_for` checks that all
processes found the same state and refuses to start otherwise.
"""
import atexit
import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

from vui import results as R

DATA_PARALLEL = "data_parallel"
BACKEND = "jax"
UNSUPPORTED_WHY = {
    "tensorflow": "Keras 3.15's TensorFlow distribution library is a DTensor prototype that "
                  "fit() does not use, and tf.distribute's strategies fail with Keras 3 "
                  "(MirroredStrategy: keras#21069; MultiWorkerMirroredStrategy: keras#20585)",
    "torch": "Keras 3.15 has no distribution library for PyTorch (keras.distribution is "
             "JAX-only there)",
}
SCRATCH_PREFIX = "vui-replica-"
BACKUP_METADATA = "training_metadata.json"   # Keras' BackupAndRestore: the epoch reached
ENV_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"

_ours = None          # the Distribution prepare() set, so a failed run's is not left behind


@dataclasses.dataclass(frozen=True)
class Plan:
    """Where a data-parallel run's work goes: `replicas` model copies (devices, all processes
    together), this process's index among `processes`."""
    replicas: int
    process_index: int = 0
    processes: int = 1

    @property
    def writer(self):
        return self.process_index == 0

    def rows(self, batch_rows):
        """This process's slice of a global batch of `batch_rows`, cut to a multiple of the
        replicas (None when the batch is smaller than that)."""
        usable = batch_rows // self.replicas * self.replicas
        if usable == 0:
            return None
        per_process = usable // self.processes
        start = self.process_index * per_process
        return slice(start, start + per_process)


def check_backend():
    """Refuse data parallelism where Keras 3.15 cannot do it, saying why and what to do."""
    backend = keras.backend.backend()
    if backend != BACKEND:
        why = UNSUPPORTED_WHY.get(backend, f"Keras 3.15 has no data parallelism for '{backend}'")
        raise ValueError(f"distribution='{DATA_PARALLEL}' needs the JAX backend (KERAS_BACKEND"
                         f"=jax); this process runs '{backend}': {why}")


def initialize(coordinator=None, num_processes=None, process_id=None):
    """Join a multi-process run (keras.distribution.initialize: JAX's coordinator at
    `coordinator` "host:port", run by process 0). Call it before anything computes with JAX;
    the KERAS_DISTRIBUTION_* environment variables may stand for the arguments."""
    check_backend()
    keras.distribution.initialize(coordinator, num_processes, process_id)


def process_index():
    """This process's index among the training processes: 0 alone, or without JAX."""
    if keras.backend.backend() != BACKEND:
        return 0
    import jax
    return jax.process_index()


def prepare(distribution, minibatch_size, time_limit=None):
    """Set the distribution for a run about to build its model, after checking it can work;
    returns its Plan, or None (and clears any distribution a failed run of ours left) when
    `distribution` is None. `distribution`: "data_parallel" or a keras DataParallel."""
    global _ours
    if distribution is None:
        release(None)
        return None
    _check_kind(distribution)            # what was asked first, then whether it can run here
    check_backend()
    dist = _data_parallel(distribution)
    plan = _plan(dist, minibatch_size, time_limit)
    keras.distribution.set_distribution(dist)
    _ours = dist
    return plan


def _check_kind(distribution):
    if not (distribution == DATA_PARALLEL
            or isinstance(distribution, keras.distribution.DataParallel)):
        raise ValueError(f"distribution={distribution!r}: expected '{DATA_PARALLEL}', a "
                         "keras.distribution.DataParallel, or None")


def _data_parallel(distribution):
    if isinstance(distribution, keras.distribution.DataParallel):
        distribution.auto_shard_dataset = False       # ReplicaBatches hands each its rows
        return distribution
    _initialize_from_environment()
    devices = keras.distribution.list_devices()
    return keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)


def _initialize_from_environment():
    """Join the processes Keras' environment variables describe, if not done yet."""
    if int(os.environ.get(ENV_PROCESSES, "1")) > 1:
        import jax
        if not jax.distributed.is_initialized():
            keras.distribution.initialize()


def _plan(dist, minibatch_size, time_limit):
    import jax
    replicas, processes = int(dist.device_mesh.devices.size), jax.process_count()
    if minibatch_size % replicas:
        raise ValueError(f"minibatch_size={minibatch_size} cannot be split over {replicas} "
                         f"devices: the global batch must be a multiple of {replicas}")
    if processes > 1 and time_limit is not None:
        raise ValueError("time_limit with several processes: each would read its own clock "
                         "and they could stop after different epochs; use epochs instead")
    if replicas == 1:
        warnings.warn("distribution='data_parallel' on one device: plain training",
                      stacklevel=3)
    return Plan(replicas=replicas, process_index=jax.process_index(), processes=processes)


def release(plan):
    """Unset the distribution this module set, after fit: saving, evaluating and predicting
    then run in this process alone on the replicated weights (a prediction batch need not be
    a multiple of the devices)."""
    global _ours
    if _ours is not None and keras.distribution.distribution() is _ours:
        keras.distribution.set_distribution(None)
    _ours = None


def split_batches(dataset, plan):
    """`dataset` for the plan's replicas and this process (unchanged without a plan)."""
    return dataset if plan is None else ReplicaBatches(dataset, plan)


class ReplicaBatches(keras.utils.PyDataset):
    """The global batches of a vui UtteranceDataset, each cut to a multiple of the replicas
    (the rows past it: at most replicas - 1 utterances an epoch, left out) and to this
    process's share. Every process pads a batch as the whole global batch needs, so their
    shares have one shape, which JAX requires to assemble the global array."""

    def __init__(self, dataset, plan):
        super().__init__(workers=getattr(dataset, "workers", 1), use_multiprocessing=False)
        self.dataset, self.plan = dataset, plan
        self._index()

    def _index(self):
        sizes = [len(b) for b in self.dataset.batches]
        self.kept = [i for i, n in enumerate(sizes) if self.plan.rows(n) is not None]
        if not self.kept:
            raise ValueError(f"no batch of the {self.dataset.part} partition has "
                             f"{self.plan.replicas} utterances to split over the devices")

    @property
    def epoch(self):            # vui.train.history.DatasetEpochSync sets it on a resumed run
        return self.dataset.epoch

    @epoch.setter
    def epoch(self, value):
        self.dataset.epoch = value

    def __len__(self):
        return len(self.kept)

    def __getitem__(self, index):
        x, y = self.dataset[self.kept[index]]
        rows = self.plan.rows(len(x))
        return x[rows], y[rows]

    def on_epoch_end(self):
        self.dataset.on_epoch_end()
        self._index()


def results_dir_for(plan, results_dir, name):
    """Where this process keeps run `name`'s files: the results folder for the writer; for
    the others a scratch copy of the run's files there (so they resume as it does), removed
    at exit. With several processes, all must have found the same run state."""
    if plan is None or plan.processes == 1:
        return results_dir
    pickle_path, model_path, backup_dir = R.run_paths(name, results_dir)
    _agree_on_state(_run_state(pickle_path, model_path, backup_dir), name)
    if plan.writer:
        return results_dir
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    atexit.register(shutil.rmtree, scratch, True)
    for path in (pickle_path, model_path, pickle_path.with_suffix(R.METADATA_SUFFIX)):
        if path.exists():
            shutil.copy2(path, scratch / path.name)
    if backup_dir.exists():
        shutil.copytree(backup_dir, scratch / R.BACKUP_SUBDIR / backup_dir.name)
    return scratch


def _run_state(pickle_path, model_path, backup_dir):
    """(epoch of the backup or -1, whether the record and the model exist), as numbers."""
    epoch = -1
    metadata = Path(backup_dir) / BACKUP_METADATA
    if metadata.exists():
        epoch = int(json.loads(metadata.read_text()).get("epoch", -1))
    return np.array([epoch, pickle_path.exists(), model_path.exists()], np.int32)


def _agree_on_state(state, name):
    from jax.experimental import multihost_utils
    states = np.asarray(multihost_utils.process_allgather(state))
    if not (states == states[0]).all():
        raise ValueError(f"run '{name}': the processes found different run states (backup "
                         f"epoch, record, model) {states.tolist()}: its results folder must be "
                         "one folder all of them see (shared storage)")
