"""Augmented feature variants computed once, read back each epoch.

Why: the default waveform chain plus reloading and re-featurising an utterance can cost, on
the fly, a third of an epoch's time, and far more with MFCC
(benchmarks/bench_augment.py; docs/experiments/holdout.md, "2026-11-24: cost of each
augmentation per audio second"). Writing K variants per training utterance once (two worker
processes) costs K times that, once, and each epoch then only reads a variant from disk, a
small fraction of the budget (same section).

`PrecomputedAugmenter` hands the variants to the data generator through the hook's optional
`variant_features(audio_path, rng)` method (see the module docstring of vui.augment.augmenter).
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from vui import processes
from vui.augment.augmenter import AugmentConfig, Augmenter, SpecAugmentConfig, SpecAugmenter
from vui.watched import watched

MANIFEST = "manifest.json"
SAMPLE_RATE = 16000
JOBS_PER_TASK = 4           # utterances a worker takes at a time (fewer round trips)


def _digest(text: str, n: int = 16) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def _utterance_seed(seed: int, audio_path: str, variant: int) -> tuple[int, int, int]:
    """Seeds depend on the path's text, not on list order or worker, so any run rebuilds the
    same variant for the same utterance."""
    return (int(seed), int(_digest(os.path.abspath(audio_path), 15), 16), int(variant))


def _file_ident(audio_path: str) -> str:
    """Absolute path, size and modification time: an edited or regenerated file gets new
    variants, as in the generator's feature cache (a missing file: the path alone)."""
    path = os.path.abspath(audio_path)
    try:
        stat = os.stat(path)
    except OSError:
        return path
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def _default_load(path: str) -> np.ndarray:
    import utils  # the toolkit's loader: resampling, mix-down and clear AudioErrors
    return utils.load_audio(path, SAMPLE_RATE)


def _function_key(fn: Callable) -> str:
    """A stable text naming a feature function (functools.partial reprs name their arguments;
    a plain function's repr holds a memory address, so use its qualified name)."""
    if hasattr(fn, "func"):
        return repr(fn)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class VariantStore:
    """A folder of `<file digest>_<k>.npy` feature variants and a manifest describing them."""

    def __init__(self, root: str):
        manifest = os.path.join(root, MANIFEST)
        if not os.path.isfile(manifest):
            raise FileNotFoundError(f"{root!r} holds no {MANIFEST}: not a variant store "
                                    f"written by precompute_variants")
        with open(manifest, encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.root = root
        self.n_variants = int(self.manifest["n_variants"])

    def path(self, audio_path: str, variant: int) -> str:
        if not 0 <= variant < self.n_variants:
            raise IndexError(f"variant {variant} out of range: the store holds "
                             f"{self.n_variants} per utterance")
        return os.path.join(self.root, f"{_digest(_file_ident(audio_path))}_{variant}.npy")

    def has(self, audio_path: str) -> bool:
        return all(os.path.isfile(self.path(audio_path, k)) for k in range(self.n_variants))

    def load(self, audio_path: str, variant: int) -> np.ndarray:
        """Un-normalised (time, feature_dim) float32 features of one variant."""
        path = self.path(audio_path, variant)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no variant {variant} of {audio_path!r} in {self.root!r} "
                                    f"(expected {path}); run precompute_variants on it")
        return np.load(path)


def _make_variants(job):
    """One utterance, all its variants (the audio is read once). Runs in a worker process."""
    audio_path, todo, seed, augmenter, feature_fn, load_fn, root = job
    try:
        audio = load_fn(audio_path)
        for k, target in todo:
            rng = np.random.default_rng(_utterance_seed(seed, audio_path, k))
            feats = np.asarray(feature_fn(augmenter.waveform(audio, SAMPLE_RATE, rng)),
                               np.float32)
            tmp = f"{target}.{os.getpid()}.tmp.npy"
            np.save(tmp, feats)
            os.replace(tmp, target)  # atomic: a killed run never leaves half a variant
    except Exception as err:  # report and go on, as the generator does for bad files
        return f"{audio_path}: {type(err).__name__}: {err}"
    return None


def precompute_variants(paths: Sequence[str], n_variants: int, feature_fn: Callable,
                        cache_dir: str, augmenter: Augmenter | None = None, seed: int = 0,
                        workers: int = 2, load_fn: Callable | None = None,
                        feature_key: str | None = None) -> VariantStore:
    """Write `n_variants` augmented feature matrices per utterance under `cache_dir`.

    feature_fn(audio) -> un-normalised (time, dim) features, e.g.
    functools.partial(utils.compute_features, config=feature_config); with workers > 1 it,
    load_fn and the augmenter must be picklable (module-level functions, partials). The store
    lives in a sub-folder named by the augmentation config, feature function and seed, so a
    changed setting never reads stale variants; existing variants are kept (resumable).
    Files that fail to load are left out with one warning naming them.
    """
    if n_variants < 1:
        raise ValueError(f"n_variants must be >= 1, got {n_variants}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    augmenter = augmenter or Augmenter(AugmentConfig.default())
    load_fn = load_fn or _default_load
    key = feature_key or _function_key(feature_fn)
    description = {"augment": repr(augmenter.config), "features": key, "seed": int(seed),
                   "n_variants": int(n_variants), "sample_rate": SAMPLE_RATE}
    root = os.path.join(cache_dir, "variants-" + _digest(json.dumps(description, sort_keys=True)))
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(description, f, indent=1)
    store = VariantStore(root)
    jobs = []
    for p in paths:
        todo = [(k, store.path(p, k)) for k in range(n_variants)
                if not os.path.isfile(store.path(p, k))]
        if todo:
            jobs.append((p, todo, seed, augmenter, feature_fn, load_fn, root))
    failures = _run(jobs, workers)
    if failures:
        warnings.warn(f"precompute_variants: left out {len(failures)} of {len(paths)} "
                      f"utterances:\n  " + "\n  ".join(failures), stacklevel=2)
    return store


def _make_chunk(jobs):
    return [_make_variants(job) for job in jobs]


def _run(jobs, workers):
    bar = dict(total=len(jobs), desc="augmented variants", unit="utt",
               disable=not (jobs and watched()))
    if workers == 1 or len(jobs) <= 1:
        results = [_make_variants(j) for j in tqdm(jobs, **bar)]
    else:
        # vui.processes: spawned (the parent may hold TensorFlow's threads, which fork can
        # deadlock), stopped at once on Ctrl-C, and importing the caller's script only where
        # the augmenter or a function it passed is defined there.
        _, _, _, augmenter, feature_fn, load_fn, _ = jobs[0]
        needs_main = processes.defined_in_main(augmenter, feature_fn, load_fn)
        chunks = [jobs[i:i + JOBS_PER_TASK] for i in range(0, len(jobs), JOBS_PER_TASK)]
        with processes.worker_pool(workers, needs_main=needs_main) as pool, tqdm(**bar) as shown:
            results = []
            for future in [pool.submit(_make_chunk, chunk) for chunk in chunks]:
                results += processes.result(future)       # in order, as Executor.map was
                shown.update(len(results) - shown.n)
    return [r for r in results if r is not None]


class PrecomputedAugmenter(SpecAugmenter):
    """The hook object for precomputed variants: `variant_features` picks one of the K
    variants (or, with probability clean_prob, none: the generator then uses its cached clean
    features) and `features` (SpecAugmenter's) applies SpecAugment on top."""

    def __init__(self, store: VariantStore, spec: SpecAugmentConfig | None = None,
                 clean_prob: float = 0.2, name: str | None = None):
        if not 0.0 <= clean_prob <= 1.0:
            raise ValueError(f"clean_prob must be in [0, 1], got {clean_prob}")
        super().__init__(spec, name=name)
        self.store, self.clean_prob = store, clean_prob

    def variant_features(self, audio_path: str, rng: np.random.Generator) -> np.ndarray | None:
        clean = rng.random() < self.clean_prob
        k = int(rng.integers(self.store.n_variants))
        if clean or not self.store.has(audio_path):
            return None
        return self.store.load(audio_path, k)
