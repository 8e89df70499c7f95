"""Features per audio file, computed once: memory, then one .npy per file on disk, then utils.

Why a module of its own: the cache alone decides when features are recomputed (the disk key is
the file's path, size and modification time and the feature settings), and it needs nothing but
utils: `FeatureCache.fill`'s "spawn" workers are handed `utils.features_from_file` and import
nothing else. data_generator's AudioGeneratorCached keeps one per generator; the seed's name
`DG.FeatureCache` is re-exported there.
"""
import contextlib
import hashlib
import os
import threading
import warnings

import numpy as np
import threadpoolctl
from tqdm.auto import tqdm

import utils as U
from vui import cpu_threads, processes
from vui.watched import watched

# Fewer missing files are computed in this process: the pool's start-up (about 1.2 s on 2 cores)
# costs more than it saves below about this many (docs/experiments/scale.md, "Cold cache").
POOL_MIN_FILES = 1000
POOL_CHUNK = 16           # files per pool task: one round trip per file cost more than a clip

# Where features are cached when no cache_dir is passed: a per-user cache folder, because
# the old default (.cache/features beside data_generator.py) put gigabytes into the source tree
# and, for an installed package, into site-packages. Resolved when a cache is made, so setting
# the variables after import works (tests and notebooks do).
CACHE_ENV = "VUI_CACHE_DIR"             # the whole feature cache folder
XDG_CACHE_ENV = "XDG_CACHE_HOME"        # the user's cache root (XDG Base Directory spec)
HOME_CACHE = os.path.join("~", ".cache")   # the spec's fallback when XDG_CACHE_HOME is unset
CACHE_SUBDIR = os.path.join("vui", "features")


def user_cache_dir(environ=None):
    """$XDG_CACHE_HOME/vui/features, or ~/.cache/vui/features.

    A relative or empty XDG_CACHE_HOME is ignored, as the XDG spec says, so the cache does not
    move with the working directory."""
    environ = os.environ if environ is None else environ
    root = environ.get(XDG_CACHE_ENV, "")
    if not os.path.isabs(root):
        root = os.path.expanduser(HOME_CACHE)
    return os.path.join(root, CACHE_SUBDIR)


def default_cache_dir(environ=None):
    """$VUI_CACHE_DIR if set (and not empty), else user_cache_dir()."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(CACHE_ENV, "")
    return os.path.expanduser(explicit) if explicit else user_cache_dir(environ)


# The per-user folder as resolved at import, kept because data_generator re-exports the name
# (DG.DEFAULT_CACHE_DIR); FeatureCache itself calls default_cache_dir() each time.
DEFAULT_CACHE_DIR = user_cache_dir()


class FeatureCache:
    """Features per audio file: memory first, then one .npy per file on disk, then computed.

    A disk entry is keyed by the absolute path, size and modification time of the file and the
    feature settings, so an edited or replaced file is recomputed and settings never mix.
    """

    def __init__(self, config, cache_dir=None):
        self.config = config
        root = cache_dir or default_cache_dir()
        self.dir = os.path.join(os.fspath(root), config.cache_key())
        self.memory = {}
        self.disk_error = None     # why the disk cache could not be written, once it could not

    def disk_path(self, audio_path):
        stat = os.stat(audio_path)
        ident = f"{os.path.abspath(audio_path)}|{stat.st_size}|{stat.st_mtime_ns}"
        digest = hashlib.sha1(ident.encode()).hexdigest()
        return os.path.join(self.dir, digest[:2], digest + ".npy")

    def lookup(self, audio_path):
        """Cached features or None (never computes)."""
        if audio_path in self.memory:
            return self.memory[audio_path]
        try:
            disk = self.disk_path(audio_path)
        except OSError:
            return None
        if os.path.isfile(disk):
            try:
                feats = np.load(disk)
            except (OSError, ValueError):  # a truncated cache file: recompute it
                return None
            if not self._usable(feats):    # damaged or foreign: recompute it
                return None
            self.memory[audio_path] = feats
            return feats
        return None

    def _usable(self, feats):
        """A cache file's matrix is one these settings compute: (frames, feature_dim) of finite
        floats. Anything else (a file written by other code, bytes damaged on disk) would reach
        the model as NaN losses or a shape error naming no file."""
        return (feats.ndim == 2 and feats.shape[1] == self.config.feature_dim
                and feats.dtype.kind == "f" and bool(np.isfinite(feats).all()))

    def store(self, audio_path, feats):
        """Keep the features in memory and, while the cache folder takes them, on disk: a
        folder that cannot be written (read-only, full, not a folder) costs the next process
        their computation, not this run."""
        self.memory[audio_path] = feats
        if self.disk_error is not None:
            return
        disk = self.disk_path(audio_path)
        tmp = f"{disk}.{os.getpid()}.{threading.get_ident()}.tmp.npy"  # batch-making threads
        try:
            os.makedirs(os.path.dirname(disk), exist_ok=True)
            np.save(tmp, feats)
            os.replace(tmp, disk)  # atomic: a killed run never leaves half a file
        except OSError as err:
            self._disk_failed(err, tmp)

    def _disk_failed(self, err, tmp):
        self.disk_error = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        with contextlib.suppress(OSError):
            os.remove(tmp)
        warnings.warn(f"cannot write the feature cache in {self.dir} ({self.disk_error}); "
                      "features are kept in memory only, so the next run computes them again; "
                      f"set {CACHE_ENV} (or cache_dir=) to a writable folder", stacklevel=3)

    def get(self, audio_path):
        """Features for one file, computing and storing them if needed; raises AudioError."""
        feats = self.lookup(audio_path)
        if feats is None:
            feats = U.features_from_file(audio_path, self.config)
            self.store(audio_path, feats)
        return feats

    def fill(self, audio_paths, n_jobs=None, desc="features"):
        """Compute every missing file once (tqdm bar); returns {path: error text} of failures.

        n_jobs=None uses every usable core when at least POOL_MIN_FILES files are missing (a
        pool's start-up costs more than it saves on fewer), else one; an int forces that many.
        Workers are vui.processes' (spawned, since forking one that has loaded TensorFlow can
        deadlock; never importing the caller's __main__; stopped at once on Ctrl-C) that import
        only utils, compute POOL_CHUNK files per task and run BLAS on one thread each, since
        two pools of threads on the same cores slow each other down.
        """
        missing = [p for p in dict.fromkeys(audio_paths) if self.lookup(p) is None]
        errors = {}
        workers = pool_workers(n_jobs, len(missing))
        if workers <= 1:
            for path in tqdm(missing, desc=desc, disable=not (missing and watched())):
                self._keep(*_features_of_files([path], self.config)[0], errors)
            return errors
        chunks = [missing[i:i + POOL_CHUNK] for i in range(0, len(missing), POOL_CHUNK)]
        with processes.worker_pool(workers, initializer=_one_blas_thread) as pool, \
                tqdm(total=len(missing), desc=desc, disable=not watched()) as bar:
            futures = [pool.submit(_features_of_files, chunk, self.config) for chunk in chunks]
            for future in processes.as_completed(futures):
                for path, feats, error in future.result():
                    self._keep(path, feats, error, errors)
                    bar.update()
        return errors

    def _keep(self, path, feats, error, errors):
        """Store one file's features, or note its error."""
        if error is None:
            self.store(path, feats)
        else:
            errors[path] = error


def pool_workers(n_jobs, missing):
    """Processes FeatureCache.fill uses for `missing` files (see fill)."""
    if n_jobs is None:
        return cpu_threads.usable_cores() if missing >= POOL_MIN_FILES else 1
    return max(1, min(int(n_jobs), missing))


def _one_blas_thread():
    threadpoolctl.threadpool_limits(1)


def _features_of_files(paths, config):
    """A pool task: (path, features, None) or (path, None, the AudioError's text) per file."""
    results = []
    for path in paths:
        try:
            results.append((path, U.features_from_file(path, config), None))
        except U.AudioError as err:
            results.append((path, None, str(err)))
    return results
