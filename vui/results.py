"""Where a run's results live, and how they are written without ever leaving half a file.

One run = `results/<name>.pickle` (history, configuration, normalisation statistics, timings,
metrics) + `results/<name>.keras` (the model), where <name> is the run's name itself, as the seed
notebook's helper builds its paths (`"results/" + name + ".pickle"`). A name a file system cannot
hold (a "/", too long) is stored under `safe_filename(name)`, as every run was before 2026-12-06;
lookups try both, so older results keep loading. The pickle is rewritten after every epoch so a
killed run keeps everything it finished; writes go to a temporary file that is renamed over the old
one, which is atomic on POSIX file systems.
"""
import hashlib
import json
import os
import pickle
import re
import warnings
from pathlib import Path

import numpy as np

from vui import atomic

RESULTS_DIR = Path(os.environ.get("VUI_RESULTS_DIR", "results"))
BACKUP_SUBDIR = ".backup"
DEFAULT_MODEL_FILE = "DEFAULT_MODEL"   # names the model `vui transcribe` uses without --model
MAX_FILENAME_BYTES = 255                # NAME_MAX of ext4, xfs, btrfs, tmpfs
LONGEST_SUFFIX = ".pickle"
MAX_FILENAME_SLUG = 180                 # keeps "<slug>-<hash>.pickle" under 255 bytes
FILENAME_HASH_CHARS = 10
# Characters Windows refuses in file names; POSIX refuses only "/" and NUL.
WINDOWS_RESERVED = set('<>:"\\|?*')


def safe_filename(name):
    """A file-system-safe, shell-friendly stem for a model name: a readable slug of
    [A-Za-z0-9._-] plus a short hash of the full name, so names that differ only in
    punctuation (which the slug folds) still get different files."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model name {name!r}: expected a non-empty string")
    slug = name.replace("(", "_").replace(")", "").replace(",", "-").replace("=", "")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", slug)
    slug = re.sub(r"_+", "_", slug).strip("._-")[:MAX_FILENAME_SLUG]
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:FILENAME_HASH_CHARS]
    return f"{slug}-{digest}" if slug else digest


def file_stem(name):
    """The stem of a run's files: the name itself where this file system can hold it (the seed
    notebook opens `results/<name>.pickle`), else `safe_filename(name)`."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model name {name!r}: expected a non-empty string")
    fits = (len((name + LONGEST_SUFFIX).encode("utf-8")) <= MAX_FILENAME_BYTES
            and "/" not in name and "\0" not in name and not name.startswith(".")
            and name == name.strip() and not (os.name == "nt" and WINDOWS_RESERVED & set(name)))
    return name if fits else safe_filename(name)


def run_paths(name, results_dir=None):
    """(pickle path, model path, backup dir) of the run called `name`: under its own name, or
    under its older safe_filename stem where only that run exists (so it loads and resumes)."""
    base = Path(results_dir or RESULTS_DIR)
    stem = file_stem(name)
    legacy = safe_filename(name)
    if not (base / f"{stem}.pickle").exists() and (base / f"{legacy}.pickle").exists():
        stem = legacy
    return base / f"{stem}.pickle", base / f"{stem}.keras", base / BACKUP_SUBDIR / stem


def existing_run_file(path):
    """`path` if it exists, else the same run's file under the other stem: a results path built
    from a run's name (`results/<name>.pickle`, as the seed's helper does) also finds a run saved
    under its safe_filename, and a name with stray spaces finds the run. None if neither."""
    path = Path(path)
    if path.exists():
        return path
    name, suffix = path.name[:-len(path.suffix)] if path.suffix else path.name, path.suffix
    for stem in dict.fromkeys((name.strip(), safe_filename(name), safe_filename(name.strip()))):
        candidate = path.with_name(stem + suffix)
        if candidate.exists():
            return candidate
    return None


def load_records(paths):
    """The results records of the runs at `paths` (pickle paths or names' paths); a run that is
    not there is named in one warning and left out, and none found is an error."""
    found = {str(p): existing_run_file(p) for p in paths}
    missing = [p for p, real in found.items() if real is None]
    if missing and len(missing) == len(found):
        raise FileNotFoundError(f"no results file at {', '.join(missing)}: train the model "
                                "first (T.train_model)")
    if missing:
        warnings.warn(f"{len(missing)} of {len(found)} runs have no results file, left out: "
                      f"{', '.join(missing)}", stacklevel=3)
    records, unreadable = [], []
    for real in (real for real in found.values() if real is not None):
        try:
            records.append(load_pickle(real))
        except ValueError as err:        # truncated or unsafe: one bad file spoils no comparison
            unreadable.append(str(err))
    if unreadable and not records:
        raise ValueError("no run could be read: " + "; ".join(unreadable))
    if unreadable:
        warnings.warn(f"{len(unreadable)} runs could not be read, left out: "
                      + "; ".join(unreadable), stacklevel=3)
    return records


# What inference needs from a run's record, kept as JSON beside the model (NAME.json) so that a
# model can be opened without unpickling anything (a pickle can run its author's code).
INFERENCE_FIELDS = ("name", "model_config", "feature_config", "normalization", "speaker_norm",
                    "lm", "completed", "cer", "wer", "train_index")
METADATA_SUFFIX = ".json"


def save_record(pickle_path, record):
    """The run's whole record as its pickle, and what inference needs as JSON beside it."""
    save_pickle(pickle_path, record)
    metadata = {k: record.get(k) for k in INFERENCE_FIELDS}
    metadata["normalization"] = {k: np.asarray(v).tolist()
                                 for k, v in (record.get("normalization") or {}).items()}
    atomic.write_bytes(Path(pickle_path).with_suffix(METADATA_SUFFIX),
                       json.dumps(metadata, indent=1).encode("utf-8"))


def load_metadata(model_path):
    """The JSON beside a model (save_record's), with its statistics as float32 arrays; None
    for a run saved before there was one."""
    path = Path(model_path).with_suffix(METADATA_SUFFIX)
    if not path.exists():
        return None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not the JSON a trained model's metadata should be "
                         f"({err})") from None
    missing = [k for k in ("model_config", "feature_config", "normalization") if k not in metadata]
    if missing:
        raise ValueError(f"{path} lacks {missing}: expected a model's metadata (train_model "
                         "writes it)")
    metadata["normalization"] = {k: np.asarray(v, np.float32)
                                 for k, v in metadata["normalization"].items()}
    return metadata


def tuned_lm(lm, model_path):
    """A run's tuned language model (its record's "lm") with "path" where the file lies now.

    `vui lm tune` records the path it wrote (absolute since 2026-12-07, relative to the current
    folder before); a results folder copied elsewhere carries the file beside the model
    (NAME.arpa), so that is used when the recorded path is gone. None: no tuned LM."""
    if not lm:
        return None
    beside = Path(model_path).with_suffix(".arpa")
    if lm.get("path") and not Path(lm["path"]).is_file() and beside.is_file():
        return {**lm, "path": str(beside.resolve())}
    return lm


def save_pickle(path, obj):
    atomic.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


# What a results record is made of: containers, numbers and strings are pickle opcodes, not
# globals; numpy arrays and scalars need these constructors. Anything else in a pickle is
# refused, so opening a received results file cannot run its author's code.
SAFE_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("collections", "OrderedDict"),
}


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A results pickle holds something other than plain data."""


class _RecordUnpickler(pickle.Unpickler):
    def __init__(self, file, path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self.path}: refused to load {module}.{name}: a results file holds plain data "
            "(dicts, lists, numbers, strings, numpy arrays) only, and loading anything else "
            "could run code from whoever wrote the file")


def load_pickle(path):
    """A run's record from its pickle, through an unpickler that admits plain data only."""
    path = existing_run_file(path) or Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results file {path}: train the model first (T.train_model)")
    with open(path, "rb") as f:
        try:
            return _RecordUnpickler(f, path).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, KeyError) as err:
            raise ValueError(f"{path}: not a readable results pickle ({type(err).__name__}: "
                             f"{err}); it may be truncated: retrain the run or delete the "
                             "file") from None


def steady_epoch_seconds(epoch_times, session_starts=(0,)):
    """Median epoch time without the first epoch of each training session (a run's record
    lists them as "session_starts"), which also pays tracing and the feature cache: the one
    figure every benchmark and the results table quote as seconds per epoch (the median,
    because a shared machine's occasional stall should not move it). NaN with no epochs."""
    times, starts = [float(t) for t in epoch_times], set(session_starts)
    later = [t for i, t in enumerate(times) if i not in starts] or times
    return float(np.median(later)) if later else float("nan")


def run_epoch_seconds(record, key="epoch_times"):
    """steady_epoch_seconds of a run's record (`key`: its "epoch_times", or another list of
    per-epoch seconds it keeps); a record from before session_starts was kept has one session."""
    return steady_epoch_seconds(record[key], record.get("session_starts", (0,)))


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
    """A .keras path, its .pickle, or a run's name (alone, or in its folder: results/NAME) ->
    the .keras path (under either stem)."""
    path = Path(model)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; expected a trained model "
                                "(results/NAME.keras) or a run's name")
    if path.suffix == ".pickle":
        path = path.with_suffix(".keras")
    elif path.suffix != ".keras":
        if path.is_file():            # a run's name is no file; this one is something else
            raise ValueError(f"{path} is not a trained model; expected results/NAME.keras "
                             "(or its .pickle), or a run's name")
        by_name = run_paths(str(model))[1]       # a run's name may itself hold a "/"
        if path.parent != Path(".") and existing_run_file(by_name) is None:
            return run_paths(path.name, path.parent)[1]    # results/NAME: that folder's run
        return by_name
    return existing_run_file(path) or path
