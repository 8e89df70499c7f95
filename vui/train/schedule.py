"""Learning rates that follow the clock, for runs bounded by a time budget.

A step-count schedule (Keras' CosineDecay over N epochs) has to guess how many epochs fit the
budget. On a machine slower than the guess the time guard cuts the run mid-decay and it ends
at a high learning rate; on a faster one the rate reaches its floor early and the rest of the
budget is spent at it. (Seen: the same 2-core machine kind ran the demo's epochs at 250 audio
s/s one day and ~600 another.) A schedule over the fraction of the budget spent ends its decay
when the budget ends, whatever the machine. The price: two runs of the same seed on machines of
different speed take different steps, so such runs are not bit-for-bit repeatable.
"""
import dataclasses
import math
import time

import keras


@dataclasses.dataclass(frozen=True)
class CosineOverTime:
    """Keras' CosineDecay(peak, alpha=alpha) with the step fraction replaced by the fraction of
    the time budget spent (clipped to [0, 1])."""
    peak: float
    alpha: float = 0.05          # the floor, as a fraction of peak (CosineDecay's alpha)

    def __post_init__(self):
        if not self.peak > 0 or not 0 <= self.alpha <= 1:
            raise ValueError(f"CosineOverTime(peak={self.peak!r}, alpha={self.alpha!r}): "
                             "expected peak > 0 and alpha in [0, 1]")

    def __call__(self, fraction):
        f = min(max(float(fraction), 0.0), 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * f))
        return self.peak * ((1.0 - self.alpha) * cosine + self.alpha)


class TrainingClock(keras.callbacks.Callback):
    """Seconds spent training, a resumed run's earlier epochs included.

    Reads the finished epochs' times from the run's record at the start of training, so it must
    come after the callback that restores that record (vui.train.history.HistoryRecorder)."""

    def __init__(self, record):
        super().__init__()
        self.record = record
        self._before = 0.0
        self._start = time.perf_counter()

    def on_train_begin(self, logs=None):
        self._before = float(sum(self.record.get("epoch_times", [])))
        self._start = time.perf_counter()

    def elapsed(self):
        return self._before + time.perf_counter() - self._start

    def finished_epochs(self):
        return len(self.record.get("epoch_times", []))


class TimeBudgetSchedule(keras.callbacks.Callback):
    """Sets the optimizer's learning rate to `schedule(elapsed / seconds)` before every batch.

    The optimizer must have a plain (float) learning rate, not a LearningRateSchedule."""

    def __init__(self, schedule, seconds, clock):
        super().__init__()
        if not seconds or seconds <= 0:
            raise ValueError(f"a time schedule needs a time budget in seconds > 0, got {seconds!r}")
        self.schedule, self.seconds, self.clock = schedule, float(seconds), clock

    def on_train_begin(self, logs=None):
        if isinstance(self.model.optimizer._learning_rate,
                      keras.optimizers.schedules.LearningRateSchedule):
            raise TypeError("time_schedule sets the learning rate itself: build the optimizer "
                            "with a float learning_rate, not a LearningRateSchedule")

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.schedule(self.clock.elapsed() / self.seconds)


class TimeLimit(keras.callbacks.Callback):
    """Stops at the end of the epoch after which another epoch would overrun `seconds` of
    training as `clock` (a vui.train.schedule.TrainingClock, listed before this callback) counts it."""

    def __init__(self, seconds=None, clock=None):
        super().__init__()
        self.seconds, self.clock = seconds, clock
        self.reason = None

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is None or epoch + 1 >= self.params.get("epochs", math.inf):
            return                  # the run's last epoch: it ends anyway, nothing to stop
        elapsed = self.clock.elapsed()
        per_epoch = elapsed / max(1, self.clock.finished_epochs())
        if elapsed + per_epoch > self.seconds:   # stopped before the limit, not after it
            self.reason = (f"time limit of {self.seconds:g} s: {elapsed:.0f} s used, and another "
                           f"epoch (about {per_epoch:.0f} s) would pass it; stopped after epoch "
                           f"{epoch + 1}")
            print(f"\nStopping: {self.reason}.")
            self.model.stop_training = True
