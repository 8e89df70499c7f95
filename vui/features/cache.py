"""Features per audio file, computed once: memory, then one .npy per file on disk, then utils.

Why a module of its own: the cache alone decides when features are recomputed (the disk key is
the file's path, size and modification time and the feature settings), and it needs nothing but
utils: `FeatureCache.fill`'s "spawn" workers are handed `utils.features_from_file` and import
nothing else. data_generator's AudioGeneratorCached keeps one per generator; the seed's name
`DG.FeatureCache` is re-exported there.
"""
import hashlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from tqdm.auto import tqdm

import utils as U

# <repository root>/.cache/features: beside data_generator.py, as before this module moved
# into vui/ (an installed copy: beside data_generator.py in site-packages).
DEFAULT_CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 ".cache", "features")
CACHE_ENV = "VUI_CACHE_DIR"


class FeatureCache:
    """Features per audio file: memory first, then one .npy per file on disk, then computed.

    A disk entry is keyed by the absolute path, size and modification time of the file and the
    feature settings, so an edited or replaced file is recomputed and settings never mix.
    """

    def __init__(self, config, cache_dir=None):
        self.config = config
        root = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
        self.dir = os.path.join(os.fspath(root), config.cache_key())
        self.memory = {}

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
            self.memory[audio_path] = feats
            return feats
        return None

    def store(self, audio_path, feats):
        self.memory[audio_path] = feats
        disk = self.disk_path(audio_path)
        os.makedirs(os.path.dirname(disk), exist_ok=True)
        tmp = f"{disk}.{os.getpid()}.{threading.get_ident()}.tmp.npy"  # batch-making threads
        np.save(tmp, feats)
        os.replace(tmp, disk)  # atomic: a killed run never leaves half a file

    def get(self, audio_path):
        """Features for one file, computing and storing them if needed; raises AudioError."""
        feats = self.lookup(audio_path)
        if feats is None:
            feats = U.features_from_file(audio_path, self.config)
            self.store(audio_path, feats)
        return feats

    def fill(self, audio_paths, n_jobs=1, desc="features"):
        """Compute every missing file once (tqdm bar); returns {path: error text} of failures.

        n_jobs > 1 uses a process pool started with "spawn" (forking a process that has
        loaded TensorFlow can deadlock); workers import only utils.
        """
        missing = [p for p in dict.fromkeys(audio_paths) if self.lookup(p) is None]
        errors = {}
        if not missing:
            return errors
        if n_jobs > 1 and len(missing) > 1:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(n_jobs, mp_context=context) as pool:
                futures = {pool.submit(U.features_from_file, p, self.config): p for p in missing}
                for future in tqdm(as_completed(futures), total=len(missing), desc=desc):
                    self._collect(futures[future], future.result, errors)
        else:
            for path in tqdm(missing, desc=desc):
                self._collect(path, lambda: U.features_from_file(path, self.config), errors)
        return errors

    def _collect(self, path, compute, errors):
        try:
            self.store(path, compute())
        except U.AudioError as err:
            errors[path] = str(err)
