"""`run_sweep`: one Ray Tune trial per builder, as many at once as the resources allow.

Ray Tune rather than a home-made pool (or Dask): it places trials on every node of a cluster
by their CPU and GPU needs, retries a trial whose worker died (`max_failures`), and has the
early-stopping schedulers (ASHA) built in. The trials need nothing of Ray Train: each is a
plain function around train_model, whose own backups are the checkpoints, so a sweep run again
loads what finished and resumes what died, whoever ran it before.

Ray must be told little: results_dir (and the feature cache) on storage all nodes see, and
the package importable on every node (installed, as on the head).
"""
import copy
import dataclasses
import os
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from vui import results as R
from vui.sweep import cluster
from vui.sweep import outcome as O
from vui.sweep import progress
from vui.sweep.spec import GenSpec, builder_configs, check_distinct, run_name
from vui.sweep.trial import FunctionRef, TrialSettings, run_trial

SWEEP_SUBDIR = ".sweep"              # Ray Tune's experiment folders, inside results_dir
ASHA_GRACE_EPOCHS = 1
ASHA_REDUCTION = 3


class SweepResult(NamedTuple):
    """The runs' names (results/<name>.pickle), in the order given, and the sweep's table."""
    names: list
    table: pd.DataFrame


@dataclasses.dataclass(frozen=True)
class Asha:
    """Ray Tune's ASHA scheduler on the validation loss: at epochs grace, grace x reduction,
    ... a trial continues only if it is in the best 1/reduction of those that got there."""
    grace_period: int = ASHA_GRACE_EPOCHS
    reduction_factor: float = ASHA_REDUCTION


@dataclasses.dataclass(frozen=True)
class SweepOptions:
    """What every trial shares (train_model's arguments) and how the sweep runs.

    `optimizer`: None (the seed's SGD), a Keras optimizer (sent as its config), a
    keras.optimizers.serialize dict, or a zero-argument factory. `callbacks`: extra Keras
    callbacks, or zero-argument factories of them, made afresh in every trial.
    `cpus_per_trial`, `gpus_per_trial` (None: one GPU each where the cluster has GPUs, else
    none; a fraction shares one GPU), `address`: a Ray cluster's ("auto", "host:6379"),
    `num_cpus`: a local Ray's CPUs when neither Ray runs nor an address is given.
    `asha`: True or an Asha for early stopping (off by default). `max_failures`: Tune's
    retries of a trial whose worker died (0: the next run of the sweep resumes it).
    `verbose`: Ray Tune's own table (0-2; default 1 where a person watches a terminal, else 0).
    `prepare_features`: compute the features once here, before the trials start.
    """
    epochs: int = 20
    minibatch_size: int = 20
    optimizer: object = None
    results_dir: str = None
    retrain: bool = False
    loss_limit: object = None
    evaluate_after: bool = True
    callbacks: tuple = ()
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = None
    address: str = None
    num_cpus: int = None
    asha: object = False
    max_failures: int = 0
    name: str = "sweep"
    verbose: int = None
    prepare_features: bool = True

    def __post_init__(self):
        for field in ("epochs", "minibatch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be a whole number >= 1, got {value!r}")
        if not self.cpus_per_trial > 0 or (self.gpus_per_trial or 0) < 0:
            raise ValueError(f"cpus_per_trial must be > 0 and gpus_per_trial >= 0, got "
                             f"{self.cpus_per_trial!r}, {self.gpus_per_trial!r}")

    @property
    def scheduler(self):
        return Asha() if self.asha is True else (self.asha or None)


def run_sweep(train_fn, builders_or_configs, gen_spec, **options):
    """Train every builder with `train_fn` (train_utils.train_model) as a Ray Tune trial.

    `builders_or_configs`: RNNModels, models.presets names or RNNModel config dicts.
    `gen_spec`: a GenSpec or its fields as a dict (features, corpus or index files, cache).
    `options`: SweepOptions' fields. Returns SweepResult(names, table).
    """
    opts = SweepOptions(**options)
    spec = (gen_spec if isinstance(gen_spec, GenSpec) else GenSpec(**gen_spec)).resolved()
    configs = builder_configs(builders_or_configs)
    names = [run_name(spec.feature_config(), c) for c in configs]
    check_distinct(names)
    results_dir = Path(opts.results_dir or R.RESULTS_DIR).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    keep_stopped = opts.scheduler is not None
    outcomes = {i: O.earlier_outcome(n, results_dir, opts.epochs, opts.retrain, keep_stopped)
                for i, n in enumerate(names)}
    todo = [i for i, found in outcomes.items() if found is None]
    for i in sorted(set(outcomes) - set(todo)):
        print(f"[{i + 1}/{len(names)}] {names[i]}: {outcomes[i].label}; not sent to Ray")
    if todo:
        if opts.prepare_features:
            spec.build(opts.minibatch_size)   # bad indexes and audio show here, not in N trials
        trials = [{"index": i, "name": names[i], "builder": configs[i]} for i in todo]
        outcomes.update(_run_trials(train_fn, spec, results_dir, opts, trials, len(names)))
    ordered = [outcomes[i] for i in range(len(names))]
    return SweepResult([o.name for o in ordered], O.sweep_table(ordered, results_dir))


def _run_trials(train_fn, spec, results_dir, opts, trials, total):
    """Run `trials` on Ray; their outcomes by index. Ray is left as found."""
    started = cluster.connect(opts.address, opts.num_cpus)
    try:
        settings = _settings(train_fn, spec, results_dir, opts, total)
        cluster.clear_locks_of_departed_nodes([t["name"] for t in trials], results_dir)
        grid = _tuner(settings, trials, opts).fit()
        return _outcomes(grid, trials, results_dir)
    finally:
        if started:
            import ray
            ray.shutdown()


def _settings(train_fn, spec, results_dir, opts, total):
    import ray
    gpus = opts.gpus_per_trial
    if gpus is None:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
    return TrialSettings(
        train_fn=FunctionRef.of(train_fn), gen_spec=spec, results_dir=str(results_dir),
        epochs=opts.epochs, minibatch_size=opts.minibatch_size, total=total,
        optimizer=_optimizer_spec(opts.optimizer), retrain=opts.retrain,
        loss_limit=opts.loss_limit, evaluate_after=opts.evaluate_after,
        callbacks=tuple(_factory(c) for c in opts.callbacks), cpus_per_trial=opts.cpus_per_trial,
        gpus_per_trial=gpus, backend=_backend(), workdir=os.getcwd())


def _optimizer_spec(optimizer):
    if optimizer is None or callable(optimizer) or isinstance(optimizer, dict):
        return optimizer
    import keras
    return keras.optimizers.serialize(optimizer)


class _Copies:
    """A factory of fresh copies of one Keras callback (each trial gets its own)."""

    def __init__(self, callback):
        self.callback = callback

    def __call__(self):
        return copy.deepcopy(self.callback)


def _factory(callback):
    return callback if callable(callback) else _Copies(callback)


def _backend():
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras else os.environ.get("KERAS_BACKEND")


def _tuner(settings, trials, opts):
    from ray import tune
    trainable = tune.with_resources(tune.with_parameters(run_trial, settings=settings),
                                    {"cpu": opts.cpus_per_trial, "gpu": settings.gpus_per_trial})
    scheduler = opts.scheduler
    tune_options = dict(reuse_actors=False, trial_dirname_creator=_trial_dirname,
                        trial_name_creator=_trial_dirname)
    if scheduler is not None:
        from ray.tune.schedulers import ASHAScheduler
        tune_options.update(metric=progress.METRIC, mode=progress.MODE, scheduler=ASHAScheduler(
            time_attr=progress.EPOCH, max_t=opts.epochs, grace_period=scheduler.grace_period,
            reduction_factor=scheduler.reduction_factor))
    verbose = opts.verbose if opts.verbose is not None else int(sys.stdout.isatty())
    storage = str(Path(settings.results_dir) / SWEEP_SUBDIR)
    run_config = tune.RunConfig(name=opts.name, storage_path=storage, verbose=verbose,
                                failure_config=tune.FailureConfig(max_failures=opts.max_failures))
    return tune.Tuner(trainable, param_space={"trial": tune.grid_search(trials)},
                      tune_config=tune.TuneConfig(**tune_options), run_config=run_config)


def _trial_dirname(trial):
    return f"trial_{trial.config['trial']['index']:03d}_{trial.trial_id}"


def _outcomes(grid, trials, results_dir):
    """Each trial's outcome by index; a run the scheduler stopped is marked so."""
    found = {t["index"]: O.TrialOutcome(t["name"], O.NOT_RUN) for t in trials}
    for result in grid:
        trial = result.config["trial"]
        found[trial["index"]] = O.outcome(trial["name"], result.metrics, result.error)
    for trial_outcome in found.values():
        O.mark_early_stopped(trial_outcome, results_dir)
    return found
