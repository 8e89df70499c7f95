"""What keeps a training run whole whatever its environment does: one process per run, a
results folder checked before the first epoch, backups that are never half-written, a loss that
explodes stopping the run with its last good weights, and a restart that refuses to mix two
different runs under one name.

Each guard names the file or value at fault and what to do (docs/design.md, "Faults").
"""
import hashlib
import json
import math
import os
import shutil
import socket
import time
from pathlib import Path

import keras

import utils
from vui import atomic

LOCK_SUFFIX = ".lock"
PROBE_NAME = ".vui-write-probe"
BYTES_PER_PARAM = 4 * 3          # float32 weights + an optimizer's two moment slots (Adam)
CHECKPOINTS_AT_ONCE = 3          # the backup, its temporary successor, and the final .keras
STORAGE_MARGIN = 1 << 20         # archive overhead, the record, its JSON
AUTO_LOSS_FACTOR = 100.0         # "auto": no batch's loss above this many times the first's,
AUTO_EPOCH_FACTOR = 2.0          # and no epoch's mean loss above this many times the first's
RETRAIN_HINT = "pass retrain=True (vui train --retrain) to start over"
OWN_FOLDER_HINT = "give this setup its own results_dir (vui train --results)"


class RunError(RuntimeError):
    """A run cannot start or go on; the message says why and what to do."""


class RunLocked(RunError):
    pass


# ---- one process per run --------------------------------------------------------------------

class RunLock:
    """A lock file beside the run's backup: a second process training the same run is refused
    with who holds it; a lock left by a process that is gone (same host) is taken over."""

    def __init__(self, backup_dir, name):
        self.path = Path(backup_dir).with_suffix(LOCK_SUFFIX)
        self.name = name

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.ctime()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            return self
        raise RunLocked(f"run '{self.name}' is locked by {self.path} and the lock could not be "
                        "taken; delete it if no process is training this run")

    def _take_over_if_stale(self):
        holder = _read_lock(self.path)
        if holder and holder.get("host") == socket.gethostname() and _alive(holder.get("pid")):
            raise RunLocked(
                f"run '{self.name}' is being trained by process {holder['pid']} on "
                f"{holder['host']} (since {holder.get('started')}; lock {self.path}): wait for "
                "it to finish, or stop it; two processes cannot write one run's files")
        if holder and holder.get("host") != socket.gethostname():
            raise RunLocked(
                f"run '{self.name}' is locked by process {holder.get('pid')} on host "
                f"{holder.get('host')} ({self.path}); if that process is gone, delete the lock")
        self.path.unlink(missing_ok=True)       # its process is gone: a stale lock

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        return False


def _read_lock(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None        # unreadable or half-written: treated as stale


def _alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                  # another user's live process
    except (TypeError, ValueError, OverflowError):
        return False
    return True


# ---- the results folder ---------------------------------------------------------------------

def check_writable(folder):
    """Refuse to start when the results folder cannot be written: failing after the first
    epoch would waste it."""
    folder = Path(folder)
    if folder.is_file():
        raise RunError(f"results folder {folder} is a file; expected a folder (vui train "
                       "--results, results_dir) for the run's files")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(folder / PROBE_NAME, b"probe")
        (folder / PROBE_NAME).unlink()
    except OSError as err:
        raise RunError(f"results folder {folder} is not writable ({err.strerror or err}): "
                       "choose another results_dir (vui train --results) or fix its "
                       "permissions") from None


def check_space(folder, params):
    """Refuse to start when the results folder cannot hold the run's checkpoints."""
    needed = params * BYTES_PER_PARAM * CHECKPOINTS_AT_ONCE + STORAGE_MARGIN
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise RunError(f"results folder {folder} has {free / 1e6:.1f} MB free; this run's "
                       f"checkpoints need about {needed / 1e6:.1f} MB: free some space first")


# ---- backups --------------------------------------------------------------------------------

class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, with every write to a temporary file renamed over the old one,
    so a kill or a full disk at any moment leaves the last good backup (Keras writes in place),
    and a backup that cannot be read says what to do instead of failing deep in h5py."""

    def __init__(self, backup_dir, name):
        super().__init__(str(backup_dir))
        self.name = name

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except Exception as err:
            raise RunError(f"the backup of run '{self.name}' in {self.backup_dir} cannot be "
                           f"read ({type(err).__name__}: {err}); delete that folder to start "
                           f"over, or {RETRAIN_HINT}") from err

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        tmp = os.path.join(self.backup_dir, ".partial.weights.h5")
        try:
            self.model.save_weights(tmp, overwrite=True)
            os.replace(tmp, self._weights_path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        atomic.write_text(self._training_metadata_path,
                          json.dumps({"epoch": self._current_epoch,
                                      "batch": self._last_batch_seen}))


# ---- losses ---------------------------------------------------------------------------------

def check_loss_limit(limit):
    """None, "auto" or a positive number, else a ValueError naming it."""
    if limit is None or limit == "auto":
        return limit
    try:
        value = float(limit)
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0:
        raise ValueError(f"loss_limit must be a positive number or 'auto', got {limit!r}")
    return value


class LossGuard(keras.callbacks.Callback):
    """Stops a run whose training loss turns NaN or infinite or exceeds `limit` (a number, or
    "auto": a batch over AUTO_LOSS_FACTOR times this call's first batch loss, or an epoch's
    mean over AUTO_EPOCH_FACTOR times its first epoch's; a CTC loss starts at its highest, so
    either means the run diverges), and puts back the weights of the last epoch that ended
    well (or those it started with), so the model saved for the run is one that works."""

    def __init__(self, limit=None):
        super().__init__()
        self.limit, self.reason, self.good_epoch = check_loss_limit(limit), None, 0
        self.auto = self.limit == "auto"
        self._good, self._first_epoch_loss = None, None

    def on_train_begin(self, logs=None):
        self._good = [w.copy() for w in self.model.get_weights()]
        self.good_epoch = getattr(self.model, "_initial_epoch", 0) or 0

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if self.limit == "auto" and math.isfinite(loss):
            self.limit = AUTO_LOSS_FACTOR * max(loss, 1.0)     # this call's first batch
        if math.isfinite(loss) and (self.limit in (None, "auto") or loss <= float(self.limit)):
            return
        why = "is not finite" if not math.isfinite(loss) else \
            f"exceeds loss_limit={float(self.limit):g}"
        self.reason = f"training loss {loss} at batch {batch} {why}"
        print(f"\nStopping: {self.reason}; keeping the weights of epoch {self.good_epoch}.")
        self.model.set_weights(self._good)
        self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.reason is None and self.auto:
            self._check_epoch(epoch, float((logs or {}).get("loss", math.nan)))
        if self.reason is None:
            self._good = [w.copy() for w in self.model.get_weights()]
            self.good_epoch = epoch + 1

    def _check_epoch(self, epoch, loss):
        if self._first_epoch_loss is None:
            self._first_epoch_loss = loss
        elif loss > AUTO_EPOCH_FACTOR * self._first_epoch_loss:
            self.reason = (f"training loss rose to {loss:.4g} in epoch {epoch + 1}, over "
                           f"{AUTO_EPOCH_FACTOR:g}x its first epoch's {self._first_epoch_loss:.4g}")
            print(f"\nStopping: {self.reason}; keeping the weights of epoch {self.good_epoch}.")
            self.model.set_weights(self._good)
            self.model.stop_training = True


# ---- one run, one setup ---------------------------------------------------------------------

def training_setup(feature_config, train_paths, train_durations, optimizer, minibatch_size,
                   time_schedule):
    """What makes two trainings of one builder the same experiment, as plain values: the
    features, the training corpus (a digest of its files and durations), the optimizer's
    class and settings, the batch size and the time schedule."""
    corpus = hashlib.sha256()
    for path, duration in zip(train_paths, train_durations):
        corpus.update(f"{path}\t{float(duration):.3f}\n".encode())
    settings = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    return {"features": feature_config,
            "corpus": f"{len(train_paths)} utterances, sha256 {corpus.hexdigest()[:16]}",
            "optimizer": f"{type(optimizer).__name__} {json.dumps(settings, sort_keys=True, default=str)}",
            "minibatch_size": int(minibatch_size),
            "time_schedule": _schedule_identity(time_schedule)}


def _schedule_identity(schedule):
    """A time schedule as the same text in every process: a dataclass's repr (its settings),
    but a function's qualified name, as its repr holds its memory address."""
    if schedule is None:
        return None
    text = repr(schedule)
    if " at 0x" in text:
        kind = schedule if hasattr(schedule, "__qualname__") else type(schedule)
        return f"{kind.__module__}.{kind.__qualname__}"
    return text


def setup_differences(saved, current):
    """What differs between the setup a run was started with and this call's (fields the
    saved record lacks are not compared: runs from before they were recorded)."""
    def same(key):
        if key == "features" and saved[key] and current[key]:
            return utils.feature_identity(saved[key]) == utils.feature_identity(current[key])
        if key == "optimizer":
            changes = _optimizer_changes(saved[key], current[key])
            if changes is not None:
                return not changes
        return saved[key] == current[key]
    return [_optimizer_difference(saved[key], current[key]) if key == "optimizer"
            else f"{key}: was {saved[key]!r}, now {current[key]!r}"
            for key in current if key in saved and not same(key)]


def _parse_optimizer(text):
    """("Class", {settings}) of training_setup's optimizer text, or None (another format)."""
    try:
        name, settings = text.split(" ", 1)
        settings = json.loads(settings)
    except (ValueError, AttributeError, TypeError):
        return None
    return (name, settings) if isinstance(settings, dict) else None


def _optimizer_changes(saved, current):
    """[(setting, was, now)] between two optimizer texts (the class as "class"), or None when
    either cannot be read. A setting one Keras version adds as null (a run saved under an
    older one lacks it) is no change, nor is 1 against 1.0."""
    parsed = _parse_optimizer(saved), _parse_optimizer(current)
    if None in parsed:
        return None
    (saved_class, was), (current_class, now) = parsed
    if saved_class != current_class:
        return [("class", saved_class, current_class)]
    return [(k, was.get(k), now.get(k)) for k in sorted(was.keys() | now.keys())
            if was.get(k) != now.get(k)]


def _optimizer_difference(saved, current):
    """Two optimizers told by what differs: the class, else only the settings that changed
    (the whole configuration is a screenful)."""
    changes = _optimizer_changes(saved, current)
    if not changes:
        return f"optimizer: was {saved!r}, now {current!r}"
    if changes[0][0] == "class":
        return f"optimizer: was {changes[0][1]}, now {changes[0][2]}"
    return f"optimizer {_parse_optimizer(saved)[0]}: " + ", ".join(
        f"{k} was {a}, now {b}" for k, a, b in
        ((k, *_settings(was, now)) for k, was, now in changes))


def _settings(was, now):
    """Two settings as a person reads them: floats to 6 digits (0.001, not 0.0010000000474),
    in full where 6 digits would print them alike."""
    short = [f"{v:.6g}" if isinstance(v, float) else repr(v) for v in (was, now)]
    return short if short[0] != short[1] else [repr(was), repr(now)]


def check_same_setup(name, saved_record, current_setup, what):
    """Refuse to resume or continue run `name` with another corpus, features, optimizer or
    schedule: its history would mix two experiments."""
    differences = setup_differences(saved_record.get("setup") or {}, current_setup)
    if differences:
        raise RunError(f"run '{name}' cannot {what}: it was started with another setup ("
                       + "; ".join(differences) + f"); {RETRAIN_HINT}, or {OWN_FOLDER_HINT}")
