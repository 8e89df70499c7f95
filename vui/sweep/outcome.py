"""What became of each trial, and the sweep's table: the runs' comparison table plus a
`sweep` column (trained, resumed, loaded, early-stopped, failed).

Tune tells a finished trial by its last report (the trial's summary), a failed one by its
error, and a trial its scheduler stopped by neither: it ended in the middle of its epochs.
Such a run's record is marked here, so its results say it was stopped and a sweep re-run
with the scheduler leaves it stopped.
"""
import dataclasses
import warnings

import pandas as pd

from vui import results as R
from vui.sweep import progress
from vui.sweep.trial import SUMMARY
from vui.train.comparison import comparison_table

TRAINED, RESUMED, LOADED = "trained", "resumed", "loaded"
EARLY, FAILED, NOT_RUN = "early-stopped", "failed", "not run"
SCHEDULER = "ASHA"
EARLY_STOPPED = "early_stopped"     # the record key of a run the scheduler stopped
MAX_ERROR_CHARS = 160


@dataclasses.dataclass(frozen=True)
class TrialOutcome:
    name: str
    status: str
    detail: str = ""

    @property
    def label(self):
        return f"{self.status} ({self.detail})" if self.detail else self.status


def outcome(name, metrics, error):
    """A trial's outcome from its last Tune result (`metrics`) and its error, if any."""
    metrics = metrics or {}
    if error is not None:
        return TrialOutcome(name, FAILED, _short(error))
    if metrics.get(SUMMARY):
        return _finished(metrics.get("run") or name, metrics)
    if progress.EPOCH in metrics:
        return TrialOutcome(name, EARLY, f"{SCHEDULER}, after epoch {int(metrics[progress.EPOCH])}")
    return TrialOutcome(name, NOT_RUN)


def _finished(name, metrics):
    started = int(metrics.get("started_at_epoch", -1))
    if not metrics.get("trained_epochs"):
        return TrialOutcome(name, LOADED, "already trained")
    if started > 0:
        return TrialOutcome(name, RESUMED, f"after epoch {started}")
    return TrialOutcome(name, TRAINED)


def _short(error):
    text = f"{type(error).__name__}: {error}".replace("\n", " ")
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


def earlier_outcome(name, results_dir, epochs, retrain, keep_stopped):
    """The outcome of a run that needs no trial, or None: finished with at least `epochs`
    (train_model would load it: the same rule), or stopped by the scheduler in an earlier
    sweep when this one has the scheduler too (`keep_stopped`)."""
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    if retrain or not pickle_path.exists():
        return None
    try:
        record = R.load_pickle(pickle_path)
    except ValueError:
        return None                       # unreadable: the trial's train_model says why
    if record.get("completed") and model_path.exists() and \
            epochs <= record.get("epochs_requested", epochs):
        return TrialOutcome(name, LOADED, "already trained")
    if keep_stopped and record.get(EARLY_STOPPED) and not record.get("completed"):
        return TrialOutcome(name, EARLY, f"{SCHEDULER}, after epoch "
                                         f"{len(record.get('loss', []))} in an earlier sweep")
    return None


def mark_early_stopped(trial_outcome, results_dir):
    """Write into a stopped run's record that the scheduler stopped it, and when."""
    if trial_outcome.status != EARLY:
        return
    pickle_path = R.run_paths(trial_outcome.name, results_dir)[0]
    if not pickle_path.exists():
        return
    record = R.load_pickle(pickle_path)
    if record.get("completed") or record.get(EARLY_STOPPED):
        return
    record[EARLY_STOPPED] = SCHEDULER
    record["stopped"] = f"early-stopped by {SCHEDULER} after epoch {len(record.get('loss', []))}"
    R.save_record(pickle_path, record)


def sweep_table(outcomes, results_dir):
    """comparison_table's rows for the trials' runs (those that have a record), with the
    `sweep` column first; a trial without a record has its row of `sweep` alone."""
    names = [o.name for o in outcomes]
    present = [n for n in names if R.run_paths(n, results_dir)[0].exists()]
    table = pd.DataFrame(index=pd.Index(names, name="model"))
    if present:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # a record left unreadable: its row is blank
            runs = comparison_table(model_names=present, results_dir=results_dir)
        table = table.join(runs)
    table.insert(0, "sweep", [o.label for o in outcomes])
    return table
