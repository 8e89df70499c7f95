"""GET /runs: the trained runs under results/ with their metrics and loss histories.

A run is found by its JSON metadata (`results/NAME.json`, which train_model rewrites after
every epoch, so runs still training show up too): name, CER and WER come from there, nothing
unpickled. The loss histories exist only in the run's pickle, read in `_load_history` alone (a
restricted unpickler may replace load_pickle; this is the one call to change). Results are
cached per file modification time, so the page can poll without re-reading every pickle.
"""
import json
import math
import threading
from pathlib import Path

from vui import results as R

METADATA_GLOB = "*" + R.METADATA_SUFFIX
RUN_KEYS = ("model_config", "feature_config")   # JSON without these is not a run's metadata


class RunCatalog:
    """The runs of one results folder, re-read only when their files change."""

    def __init__(self, results_dir):
        self.results_dir = Path(results_dir)
        self._cache = {}
        self._lock = threading.Lock()

    def list(self):
        """{"results_dir", "runs": [run, ...] by name, "skipped": [{"file", "error"}]}."""
        runs, skipped = [], []
        for path in sorted(self.results_dir.glob(METADATA_GLOB)):
            try:
                run = self._cached(path)
            except (OSError, ValueError, KeyError, TypeError) as err:
                skipped.append({"file": path.name, "error": f"{type(err).__name__}: {err}"})
                continue
            if run is not None:
                runs.append(run)
        runs.sort(key=lambda run: run["name"])
        return {"results_dir": str(self.results_dir), "runs": runs, "skipped": skipped}

    def _cached(self, path):
        pickle_path = path.with_suffix(".pickle")
        key = (_stamp(path), _stamp(pickle_path))
        with self._lock:
            hit = self._cache.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        run = read_run(path)
        with self._lock:
            self._cache[path] = (key, run)
        return run


def _stamp(path):
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def read_run(metadata_path):
    """One run as the page shows it; None for a JSON file that is not a run's metadata."""
    metadata = json.loads(Path(metadata_path).read_text(encoding="utf-8"))
    if not isinstance(metadata, dict) or any(k not in metadata for k in RUN_KEYS):
        return None
    history = _load_history(Path(metadata_path).with_suffix(".pickle"))
    loss, val_loss = _numbers(history.get("loss")), _numbers(history.get("val_loss"))
    finite_val = [v for v in val_loss if v is not None]
    return {
        "name": metadata.get("name") or Path(metadata_path).stem,
        "file": Path(metadata_path).stem,
        "completed": bool(metadata.get("completed")),
        "cer": _number(metadata.get("cer")),
        "wer": _number(metadata.get("wer")),
        "epochs": len(loss),
        "best_val_loss": min(finite_val) if finite_val else None,
        "loss": loss,
        "val_loss": val_loss,
        "decoders": history.get("decoders") or {},
    }


def _load_history(pickle_path):
    """The run's loss histories and per-decoder scores from its pickle ({} if it has none)."""
    if not pickle_path.exists():
        return {}
    record = R.load_pickle(pickle_path)
    decoders = {kind: {"cer": _number(s.get("cer")), "wer": _number(s.get("wer"))}
                for kind, s in (record.get("decoders") or {}).items() if isinstance(s, dict)}
    return {"loss": record.get("loss"), "val_loss": record.get("val_loss"), "decoders": decoders}


def _number(value):
    """A finite float, or None (JSON has no NaN; a run without a metric has None)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _numbers(values):
    return [_number(v) for v in (values or [])]
