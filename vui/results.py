"""Where a run's results live, and how they are written without ever leaving half a file.

One run = `results/<safe name>.pickle` (history, configuration, normalisation statistics, timings,
metrics) + `results/<safe name>.keras` (the model). The pickle is rewritten after every epoch so a
killed run keeps everything it finished; writes go to a temporary file that is renamed over the old
one, which is atomic on POSIX file systems.
"""
import os
import pickle
from pathlib import Path

import numpy as np

from vui import atomic

RESULTS_DIR = Path(os.environ.get("VUI_RESULTS_DIR", "results"))
BACKUP_SUBDIR = ".backup"
DEFAULT_MODEL_FILE = "DEFAULT_MODEL"   # names the model `vui transcribe` uses without --model


def safe_filename(name):
    """A file-system-safe form of a model name (models.safe_filename when available)."""
    import models
    return models.safe_filename(name)


def run_paths(name, results_dir=None):
    """(pickle path, model path, backup dir) of the run called `name`."""
    base = Path(results_dir or RESULTS_DIR)
    stem = safe_filename(name)
    return base / f"{stem}.pickle", base / f"{stem}.keras", base / BACKUP_SUBDIR / stem


def save_pickle(path, obj):
    atomic.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def load_pickle(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results file {path}: train the model first (T.train_model)")
    with open(path, "rb") as f:
        return pickle.load(f)


def steady_epoch_seconds(epoch_times):
    """Median epoch time after the first, which also pays tracing and the feature cache: the
    one figure every benchmark and the results table quote as seconds per epoch (the median,
    because a shared machine's occasional stall should not move it). NaN with no epochs."""
    times = [float(t) for t in epoch_times]
    later = times[1:] or times
    return float(np.median(later)) if later else float("nan")


def save_model_atomically(model, path):
    """Keras writes .keras files in place; write next to the target and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def set_default_model(model_path, results_dir=None):
    base = Path(results_dir or RESULTS_DIR)
    atomic.write_bytes(base / DEFAULT_MODEL_FILE, (str(Path(model_path).resolve()) + "\n").encode())


def default_model(results_dir=None):
    marker = Path(results_dir or RESULTS_DIR) / DEFAULT_MODEL_FILE
    if not marker.exists():
        raise FileNotFoundError(
            f"no default model ({marker} is missing): run the demo (`vui demo`) or pass --model")
    return Path(marker.read_text().strip())


def resolve_model_path(model):
    """A .keras path, its .pickle, or a run's name -> the .keras path."""
    path = Path(model)
    if path.suffix == ".pickle":
        return path.with_suffix(".keras")
    if path.suffix == ".keras":
        return path
    return RESULTS_DIR / f"{safe_filename(str(model))}.keras"
