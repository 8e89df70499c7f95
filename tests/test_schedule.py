"""Learning rates over a time budget (vui.train.schedule) and their use in train_model."""
import keras
import numpy as np
import pytest

import train_utils as T
from vui import results as R
from vui.train.schedule import CosineOverTime, TimeBudgetSchedule, TrainingClock

from test_train_utils import gen, results_dir, tiny_builder  # noqa: F401 (fixtures)


def test_cosine_over_time_is_keras_cosine_decay_over_the_fraction_spent():
    schedule = CosineOverTime(peak=2e-3, alpha=0.05)
    reference = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=1000, alpha=0.05)
    for step in (0, 1, 250, 500, 999, 1000):
        expected = float(keras.ops.convert_to_numpy(reference(step)))
        assert schedule(step / 1000) == pytest.approx(expected, rel=1e-6)
    assert schedule(-0.5) == schedule(0.0) == pytest.approx(2e-3)      # clipped to [0, 1]
    assert schedule(3.0) == schedule(1.0) == pytest.approx(2e-3 * 0.05)


@pytest.mark.parametrize("peak, alpha", [(0.0, 0.05), (1e-3, 1.5)])
def test_cosine_over_time_rejects_bad_settings(peak, alpha):
    with pytest.raises(ValueError, match="expected peak > 0"):
        CosineOverTime(peak, alpha)


class FakeClock:
    def __init__(self, seconds):
        self.seconds = seconds

    def elapsed(self):
        return self.seconds


def test_the_callback_sets_the_learning_rate_from_the_clock():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1.0), loss="mse")
    clock = FakeClock(30.0)
    callback = TimeBudgetSchedule(CosineOverTime(1e-2, 0.0), seconds=60.0, clock=clock)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_train_batch_begin(0)
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert lr == pytest.approx(0.5e-2, rel=1e-5)                       # half-way: cos(pi/2)
    clock.seconds = 60.0
    callback.on_train_batch_begin(1)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.0)


def test_the_callback_refuses_an_optimizer_with_its_own_schedule():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    own = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.5)
    model.compile(optimizer=keras.optimizers.Adam(own), loss="mse")
    callback = TimeBudgetSchedule(CosineOverTime(1e-2), seconds=60.0, clock=FakeClock(0.0))
    callback.set_model(model)
    with pytest.raises(TypeError, match="float learning_rate"):
        callback.on_train_begin()
    with pytest.raises(ValueError, match="time budget"):
        TimeBudgetSchedule(CosineOverTime(1e-2), seconds=None, clock=FakeClock(0.0))


def test_the_clock_counts_a_resumed_runs_finished_epochs():
    clock = TrainingClock({"epoch_times": [10.0, 12.0]})
    clock.on_train_begin()
    assert 22.0 <= clock.elapsed() < 23.0 and clock.finished_epochs() == 2


def test_train_model_decays_the_learning_rate_over_its_time_limit(gen, results_dir):  # noqa: F811
    schedule = CosineOverTime(peak=3e-3, alpha=0.1)
    name = T.train_model(gen, tiny_builder(), epochs=4, minibatch_size=3, verbose=0,
                         optimizer=lambda: keras.optimizers.Adam(3e-3), results_dir=results_dir,
                         time_limit=3600, time_schedule=schedule)
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    rates = np.asarray(record["learning_rate"])
    assert len(rates) == 4 and np.all(np.diff(rates) <= 0)             # falls with the clock
    assert schedule(1.0) < rates[-1] < 3e-3                              # inside the schedule
    assert record["time_schedule"] == repr(schedule)


def test_train_model_needs_a_time_limit_for_a_time_schedule(gen, results_dir):  # noqa: F811
    with pytest.raises(ValueError, match="time_limit"):
        T.train_model(gen, tiny_builder(), epochs=1, verbose=0, results_dir=results_dir,
                      time_schedule=CosineOverTime(1e-3))


def halving(fraction):
    return 0.01 * 0.5 ** fraction


def test_a_schedule_is_recorded_the_same_in_every_process():
    """A run's setup names its schedule; a function's repr holds its address, which another
    process (a resumed run) would not share, so the function is named instead."""
    from vui.train.guards import training_setup
    optimizer = keras.optimizers.Adam()

    def schedule_of(schedule):
        return training_setup({}, [], [], optimizer, 3, schedule)["time_schedule"]
    assert schedule_of(halving) == "test_schedule.halving"
    cosine = CosineOverTime(peak=1e-3)
    assert schedule_of(cosine) == repr(cosine) and "0x" not in repr(cosine)
    assert schedule_of(None) is None


class FixedClock:
    """A TrainingClock's answers, fixed: `elapsed` seconds over `epochs` finished epochs."""

    def __init__(self, elapsed, epochs):
        self._elapsed, self._epochs = elapsed, epochs

    def elapsed(self):
        return self._elapsed

    def finished_epochs(self):
        return self._epochs


@pytest.mark.parametrize("epochs, elapsed, stops", [(4, 3.0, True), (4, 1.0, False),
                                                    (1, 3.0, False)])
def test_the_time_limit_stops_before_an_epoch_that_would_pass_it(epochs, elapsed, stops, capsys):
    """5 s allowed, one epoch done: after 3 s another would pass the limit, after 1 s it would
    not; and the run's last epoch ends the run anyway, so it says nothing."""
    from vui.train.schedule import TimeLimit
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.stop_training = False                      # as model.fit starts it
    limit = TimeLimit(5, FixedClock(elapsed, 1))
    limit.set_model(model)
    limit.set_params({"epochs": epochs})
    limit.on_epoch_end(0)
    assert model.stop_training is stops
    said = capsys.readouterr().out
    if stops:
        assert limit.reason == ("time limit of 5 s: 3 s used, and another epoch (about 3 s) "
                                "would pass it; stopped after epoch 1") and limit.reason in said
    else:
        assert limit.reason is None and said == ""
