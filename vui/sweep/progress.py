"""Each trial's epochs as Ray Tune results and as one printed line each.

Tune's schedulers (ASHA) decide on these reports, and a trial's last report is what the
sweep's table says of it. The callback runs after train_model's own ones, so when Tune stops
a trial while it waits in `report`, that epoch's backup and history are already written.
A run's last epoch (the final one, or one after which another callback stops it) is not
reported here: ASHA stops a trial that reaches its last rung, and a stop there would end the
process before train_model saves the model; the trial's summary report carries that epoch.
"""
import math
import time

import keras

EPOCH = "epoch"              # Tune's time axis for the scheduler: epochs of the run, resumed
                             # ones counted from the run's start, not from this process's
METRIC = "val_loss"
MODE = "min"


class TuneReport(keras.callbacks.Callback):
    """Reports {epoch, loss, val_loss, run} to Ray Tune after every epoch and prints a line."""

    def __init__(self, label, epochs, report=None):
        super().__init__()
        self.label, self.epochs = label, epochs
        self.report = report or _tune_report
        self.started_at_epoch = None          # None: training never started (a finished run)
        self.trained_epochs = 0
        self._start = None

    def on_train_begin(self, logs=None):
        self.started_at_epoch = getattr(self.model, "_initial_epoch", 0) or 0
        if self.started_at_epoch:
            print(f"{self.label}: resuming after epoch {self.started_at_epoch}", flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.trained_epochs += 1
        result = {EPOCH: epoch + 1, "loss": _number(logs.get("loss")),
                  METRIC: _number(logs.get(METRIC)), "seconds": time.perf_counter() - self._start}
        print(f"{self.label}: epoch {epoch + 1}/{self.epochs}  loss {result['loss']:.3f}  "
              f"val_loss {result[METRIC]:.3f}  ({result['seconds']:.1f} s)", flush=True)
        if epoch + 1 < self.epochs and not self.model.stop_training:
            self.report(result)


def _number(value):
    return math.nan if value is None else float(value)


def _tune_report(result):
    from ray import tune
    tune.report(result)
