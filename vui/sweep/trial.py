"""The function each Ray worker runs for one trial: build the generator, train, report.

It receives the training function (train_utils.train_model, handed over by the runner) by
reference: `FunctionRef` names its module, which the worker imports when the trial starts,
so the sweep package never imports train_utils (the import layers) and nothing heavy travels.
"""
import copy
import dataclasses
import importlib
import math
import os

from vui import cpu_threads
from vui import results as R
from vui.sweep import progress
from vui.sweep.spec import GenSpec

SUMMARY = "summary"           # marks a trial's last report: the run's state after train_fn
GPU_GROWTH_ENV = {"TF_FORCE_GPU_ALLOW_GROWTH": "true",      # trials sharing one GPU must not
                  "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}  # each claim all its memory


@dataclasses.dataclass(frozen=True)
class FunctionRef:
    """A module-level function by name, imported where it is called."""
    module: str
    qualname: str

    @classmethod
    def of(cls, fn):
        """A reference to `fn` if it can be imported by name, else `fn` itself (pickled)."""
        qualname = getattr(fn, "__qualname__", "")
        if "<" in qualname or not getattr(fn, "__module__", None) or fn.__module__ == "__main__":
            return fn
        return cls(fn.__module__, qualname)

    def load(self):
        target = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            target = getattr(target, part)
        return target


@dataclasses.dataclass(frozen=True)
class TrialSettings:
    """What every trial of a sweep shares (sent to the workers once)."""
    train_fn: object                  # a FunctionRef or a picklable callable
    gen_spec: GenSpec
    results_dir: str
    epochs: int
    minibatch_size: int
    total: int                        # trials in the sweep, for the progress lines
    optimizer: object = None          # None, a keras.optimizers.serialize dict, or a factory
    retrain: bool = False
    loss_limit: object = None
    evaluate_after: bool = True
    callbacks: tuple = ()             # zero-argument factories of extra Keras callbacks
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    backend: str = None               # the driver's Keras backend
    workdir: str = None               # the driver's working directory


def run_trial(config, settings):
    """Train `config["trial"]`'s builder with settings.train_fn and report the outcome."""
    trial = config["trial"]
    _prepare_process(settings)
    label = f"[{trial['index'] + 1}/{settings.total}] {trial['name']}"
    import models
    train_fn = settings.train_fn.load() if isinstance(settings.train_fn, FunctionRef) \
        else settings.train_fn
    reporter = progress.TuneReport(label, settings.epochs)
    name = train_fn(settings.gen_spec.build(settings.minibatch_size),
                    models.RNNModel.from_config(trial["builder"]), epochs=settings.epochs,
                    minibatch_size=settings.minibatch_size,
                    optimizer=optimizer_factory(settings.optimizer),
                    results_dir=settings.results_dir, retrain=settings.retrain, verbose=0,
                    evaluate_after=settings.evaluate_after, loss_limit=settings.loss_limit,
                    callbacks=[reporter, *(make() for make in settings.callbacks)])
    if reporter.started_at_epoch is None:
        print(f"{label}: already trained; loaded", flush=True)
    _report_summary(name, settings.results_dir, reporter)


def _prepare_process(settings):
    """The worker as the driver ran: its working directory (relative paths in indexes), its
    Keras backend, TensorFlow's threads for this trial's cores, GPU memory shared."""
    if settings.workdir and os.path.isdir(settings.workdir):
        os.chdir(settings.workdir)
    import keras
    if settings.backend and keras.backend.backend() != settings.backend:
        raise RuntimeError(f"this Ray worker runs Keras on '{keras.backend.backend()}', the "
                           f"sweep on '{settings.backend}': start the Ray cluster with "
                           f"KERAS_BACKEND={settings.backend}")
    cpu_threads.configure(cores=max(1, math.ceil(settings.cpus_per_trial)))
    if 0 < settings.gpus_per_trial < 1:
        for key, value in GPU_GROWTH_ENV.items():
            os.environ.setdefault(key, value)


def optimizer_factory(spec):
    """train_model's `optimizer` from a sweep's: None (the seed's SGD), a factory, or a
    keras.optimizers.serialize dict (a fresh optimizer per call)."""
    if spec is None or callable(spec):
        return spec
    import keras
    return lambda: keras.optimizers.deserialize(copy.deepcopy(spec))


def _report_summary(name, results_dir, reporter):
    """The run's state after train_fn, as the trial's last Tune result (the sweep's table
    tells trained, resumed and loaded runs apart by it)."""
    pickle_path = R.run_paths(name, results_dir)[0]
    record = R.load_pickle(pickle_path) if pickle_path.exists() else {}
    loss, val = record.get("loss") or [math.nan], record.get("val_loss") or [math.nan]
    result = {SUMMARY: True, "run": name, progress.EPOCH: len(record.get("loss") or []),
              "loss": float(loss[-1]), progress.METRIC: float(val[-1]),
              "completed": bool(record.get("completed")),
              "trained_epochs": reporter.trained_epochs,
              "started_at_epoch": -1 if reporter.started_at_epoch is None
              else reporter.started_at_epoch,
              "cer": _or_nan(record.get("cer")), "wer": _or_nan(record.get("wer"))}
    progress._tune_report(result)


def _or_nan(value):
    return math.nan if value is None else float(value)
