"""Beam searches in worker processes, so that they run on every core and the server stays quick.

pyctcdecode's beam search is pure Python: in the server's threads, concurrent beam decodes took
turns on one interpreter lock, used one core between them, and kept the event loop waiting for
the lock, so even GET /health answered in seconds under load (docs/experiments/serving.md,
"Beam decoding in worker processes"). Here each beam decode runs in one of `workers` processes
(spawned, not forked: the server's process holds TensorFlow's threads), which keep the decoders
they have built, keyed by their settings (vui.decode.decoders.DecoderSpec), so a language model
loads once per worker. Greedy decoding is a few numpy calls and stays in the calling thread.
A worker that dies (killed, out of memory) costs its requests one retry on a fresh pool, not
the service.
"""
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

import numpy as np

from char_map import NUM_CLASSES
from vui.decode.decoders import GreedyDecoder

DECODER_CACHE_SIZE = 16          # decoders kept per worker, as the engine keeps them
MAX_DEFAULT_WORKERS = 4          # the default is one per core, up to this many
WARM_UP_FRAMES = 20
WARM_UP_SECONDS_PER_FRAME = 0.02


def default_workers():
    """One decoding process per core (up to MAX_DEFAULT_WORKERS): the model's thread and the
    event loop wait on the network or run in TensorFlow's own threads most of the time."""
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


class DecodePool:
    """decode_words(decoder, probs, seconds_per_frame, speech) as decoder.decode_words does it,
    with beam decoders run in worker processes (workers=0: in the calling thread)."""

    def __init__(self, workers=None):
        workers = default_workers() if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"decode workers must be a whole number >= 0, got {workers!r}")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor = self._new_executor() if workers else None

    def _new_executor(self):
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_ignore_interrupts)

    def warm_up(self, decoder):
        """Start the workers and build `decoder` in each that takes a job (its LM loads), so
        the first requests do not pay for the start-up."""
        if self._executor is None or isinstance(decoder, GreedyDecoder):
            return
        probs = np.full((WARM_UP_FRAMES, NUM_CLASSES), 1.0 / NUM_CLASSES, np.float32)
        job = (decoder.spec(), probs, WARM_UP_SECONDS_PER_FRAME, None)
        for future in [self._submit(job) for _ in range(self.workers)]:
            future.result()

    def decode_words(self, decoder, probs, seconds_per_frame, speech=None):
        if self._executor is None or isinstance(decoder, GreedyDecoder):
            return decoder.decode_words(probs, seconds_per_frame, speech=speech)
        job = (decoder.spec(), probs, seconds_per_frame, speech)
        with self._lock:
            executor = self._executor
        try:
            return executor.submit(decode_words_job, *job).result()
        except BrokenProcessPool:    # a worker died: once more on a fresh pool
            self._replace(executor)
            return self._submit(job).result()

    def _submit(self, job):
        with self._lock:
            return self._executor.submit(decode_words_job, *job)

    def _replace(self, broken):
        with self._lock:
            if self._executor is broken:     # not yet replaced by another request
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()

    def close(self):
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts():
    """Ctrl-C in the server's terminal reaches its workers too; the server shuts them down,
    so they should not each print a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@lru_cache(maxsize=DECODER_CACHE_SIZE)
def _decoder_for(spec):
    return spec.build()


def decode_words_job(spec, probs, seconds_per_frame, speech):
    """In a worker: the words of one utterance with the decoder `spec` describes."""
    return _decoder_for(spec).decode_words(probs, seconds_per_frame, speech=speech)
