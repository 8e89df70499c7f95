"""Decoding on every core: worker processes that build each decoder from its DecoderSpec once.

pyctcdecode's beam search is pure Python, so in one process beam decodes run on one core
however many threads ask, and they hold the interpreter lock the caller needs: a server's event
loop answered even GET /health in seconds under concurrent beam decodes
(docs/experiments/serving.md, "Beam decoding in worker processes"). pyctcdecode's own
`decode_batch(pool, ...)` forks a pool the caller made, which is unsafe once TensorFlow's
threads run, and rebuilds nothing per worker; here the workers are vui.processes' (spawned,
never importing the caller's __main__, stopped at once on Ctrl-C) and keep the decoders they
have built, keyed by their settings without the LM weights
(vui.decode.decoders.DecoderSpec), so a language model loads once per worker and a weight grid
(vui.decode.lm_tuning) only resets the weights. Greedy decoding is a few numpy calls and stays
in the calling process. A worker that dies (killed, out of memory) costs its job one retry on a
fresh pool, not the caller.
"""
import math
import numbers
import threading
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

import numpy as np

from char_map import NUM_CLASSES
from vui import cpu_threads, processes
from vui.decode.decoders import BeamDecoder, BeamLMDecoder

DECODER_CACHE_SIZE = 16          # decoders kept per worker (a server's hot-word sets)
MAX_DEFAULT_WORKERS = 4          # the default is one per core, up to this many
CHUNKS_PER_WORKER = 4            # decode_all's share of a list per job: balances long and short
WARM_UP_FRAMES = 20
WARM_UP_SECONDS_PER_FRAME = 0.02
WEIGHTS = ("alpha", "beta")      # what set_weights changes without reloading the LM
HOTWORD_OPTIONS = ("hotwords", "hotword_weight")   # what set_hotwords changes, per decode
POOLED = (BeamDecoder, BeamLMDecoder)   # exactly these: a DecoderSpec rebuilds them


def pooled(decoder):
    """Whether `decoder` goes to the workers: only beam searches (greedy decoding is a few
    numpy calls), and only the classes a DecoderSpec rebuilds there (not a caller's subclass)."""
    return type(decoder) in POOLED


def default_workers():
    """One decoding process per core this process may use (up to MAX_DEFAULT_WORKERS)."""
    return max(1, min(MAX_DEFAULT_WORKERS, cpu_threads.usable_cores() or 1))


def check_workers(workers):
    """`workers` if it is a whole number from 0 to the usable cores: beam search is CPU-bound,
    so more processes than cores only add memory (and thousands would exhaust the machine)."""
    cores = cpu_threads.usable_cores() or 1
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) \
            or not 0 <= workers <= cores:
        raise ValueError(f"decode workers {workers!r}: expected a whole number from 0 to "
                         f"{cores} (this machine's usable cores; 0 decodes in the calling "
                         "thread)")
    return int(workers)        # a numpy integer too


class DecodePool:
    """Beam decodes in `workers` spawned processes (None: one per core; 0: in the calling
    thread, as the decoder itself would): `decode_words` for one utterance (a server's request),
    `decode_all` for a list (a weight grid's pass over the validation outputs)."""

    def __init__(self, workers=None):
        self.workers = default_workers() if workers is None else check_workers(workers)
        self._lock = threading.Lock()
        self._executor = self._new_executor() if self.workers else None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_exc):
        if exc_type is None:
            self.close()
        else:          # Ctrl-C or an error: nobody waits for the jobs still running
            self.terminate()

    def _new_executor(self):
        return processes.new_executor(self.workers)

    def _in_thread(self, decoder):
        return self._executor is None or not pooled(decoder)

    def warm_up(self, decoder):
        """Start the workers and build `decoder` in each that takes a job (its LM loads), so
        the first requests do not pay for the start-up."""
        if self._in_thread(decoder):
            return
        probs = np.full((WARM_UP_FRAMES, NUM_CLASSES), 1.0 / NUM_CLASSES, np.float32)
        job = (_words_job, decoder.spec(), probs, WARM_UP_SECONDS_PER_FRAME, None)
        for future in [self._submit(job) for _ in range(self.workers)]:
            processes.result(future)

    def decode_words(self, decoder, probs, seconds_per_frame, speech=None):
        """decoder.decode_words(probs, seconds_per_frame, speech=speech), in a worker."""
        if self._in_thread(decoder):
            return decoder.decode_words(probs, seconds_per_frame, speech=speech)
        return self._run([(_words_job, decoder.spec(), probs, seconds_per_frame, speech)])[0]

    def decode_all(self, decoder, probs_list, progress=None):
        """[decoder.decode(p) for p in probs_list], the list shared out among the workers;
        `progress(n)` (optional) hears of every n utterances decoded, in order."""
        probs_list = list(probs_list)
        if self._in_thread(decoder):
            texts = []
            for probs in probs_list:
                texts.append(decoder.decode(probs))
                if progress:
                    progress(1)
            return texts
        size = max(1, math.ceil(len(probs_list) / (self.workers * CHUNKS_PER_WORKER)))
        spec = decoder.spec()
        jobs = [(_texts_job, spec, probs_list[i:i + size])
                for i in range(0, len(probs_list), size)]
        report = (lambda chunk: progress(len(chunk))) if progress else None
        return [text for chunk in self._run(jobs, report) for text in chunk]

    def _run(self, jobs, report=None):
        """Each job's result, in order (`report` hears of each as it is taken); on a dead
        worker, the jobs not yet taken once more on a fresh pool."""
        with self._lock:
            executor = self._executor
        if executor is None:
            raise RuntimeError("the decoding pool is closed")
        results = []
        try:
            _take([executor.submit(*job) for job in jobs], results, report)
        except BrokenProcessPool:
            self._replace(executor)
            _take([self._submit(job) for job in jobs[len(results):]], results, report)
        return results

    def _submit(self, job):
        with self._lock:
            return self._executor.submit(*job)

    def _replace(self, broken):
        with self._lock:
            if self._executor is broken:     # not yet replaced by another caller
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()

    def close(self):
        """Let the running jobs finish, then stop the workers; decodes asked for later run in
        the calling thread."""
        executor = self._take_executor()
        if executor is not None:
            processes.shutdown(executor)

    def terminate(self):
        """Stop the workers now, mid-job."""
        executor = self._take_executor()
        if executor is not None:
            processes.terminate(executor)

    def _take_executor(self):
        with self._lock:
            executor, self._executor = self._executor, None
        return executor


def _take(futures, results, report):
    """Append each future's result to `results`, in order, as it comes."""
    for future in futures:
        results.append(processes.result(future))
        if report:
            report(results[-1])


@lru_cache(maxsize=DECODER_CACHE_SIZE)
def _built(spec):
    return spec.build()


def decoders_built():
    """In a worker: how many decoders it keeps built (for tests and inspection)."""
    return _built.cache_info().currsize


def _decoder_for(spec):
    """In a worker: the decoder of `spec`, built (its LM loaded) once per setting other than
    the LM weights and the hot words, which it sets for this job (a worker runs one at a
    time): a server's clients choosing hot words do not each load an LM."""
    options = dict(spec.options)
    weights = {k: options.pop(k) for k in WEIGHTS if k in options}
    hot = {k: options.pop(k) for k in HOTWORD_OPTIONS if k in options}
    decoder = _built(type(spec)(spec.kind, tuple(options.items())))
    if weights:
        decoder.set_weights(**weights)
    if hot:
        decoder.set_hotwords(**hot)
    return decoder


def _words_job(spec, probs, seconds_per_frame, speech):
    return _decoder_for(spec).decode_words(probs, seconds_per_frame, speech=speech)


def _texts_job(spec, probs_list):
    decoder = _decoder_for(spec)
    return [decoder.decode(p) for p in probs_list]
