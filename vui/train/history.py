"""What a run keeps of its epochs: the history in its pickle, rewritten after each one.

`HistoryRecorder` appends each epoch's losses, time and learning rate to the run's record and
saves it atomically, and on a resumed run first reads back the epochs already done, so the
curves continue. `DatasetEpochSync` puts the dataset's epoch counter (which seeds
augmentation) where a resumed run starts. train_model installs both (train_utils).
"""
import math
import time

import keras

from vui import results as R


class DatasetEpochSync(keras.callbacks.Callback):
    """A resumed run starts at BackupAndRestore's epoch; the dataset's epoch counter (which seeds
    per-utterance augmentation) follows, so epoch k draws the same augmentation either way."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_train_begin(self, logs=None):
        if hasattr(self.dataset, "epoch"):
            self.dataset.epoch = getattr(self.model, "_initial_epoch", 0) or 0


class HistoryRecorder(keras.callbacks.Callback):
    """Keeps the run's history in its pickle, rewritten atomically after every epoch.

    On a resumed run (BackupAndRestore put the model back at `_initial_epoch`) the history of the
    epochs already finished is read back, so the curves continue instead of restarting.
    """

    def __init__(self, record, pickle_path):
        super().__init__()
        self.record, self.pickle_path = record, pickle_path
        self._epoch_start = None

    def on_train_begin(self, logs=None):
        done = getattr(self.model, "_initial_epoch", 0) or 0
        starts = []
        if done and self.pickle_path.exists():
            previous = R.load_pickle(self.pickle_path)
            for key in ("loss", "val_loss", "epoch_times", "learning_rate"):
                self.record[key] = list(previous.get(key, []))[:done]
            starts = [i for i in previous.get("session_starts", [0]) if i < done]
            print(f"Resuming '{self.record['name']}' after epoch {done}.")
        # epochs that paid a fresh process's tracing: steady_epoch_seconds leaves them out
        self.record["session_starts"] = starts + [done]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.record["loss"].append(float(logs.get("loss", math.nan)))
        self.record["val_loss"].append(float(logs.get("val_loss", math.nan)))
        self.record["epoch_times"].append(time.perf_counter() - self._epoch_start)
        self.record["learning_rate"].append(_current_learning_rate(self.model.optimizer))
        R.save_record(self.pickle_path, self.record)


def _current_learning_rate(optimizer):
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:  # a schedule object that is not evaluated as a variable
        return math.nan
