"""Worker processes for the toolkit's pools (feature extraction, beam decoding).

Two gaps that concurrent.futures leaves, filled here once for every pool:
- A spawned child runs the parent's main script again (as __mp_main__) unless the script guards
  itself with `if __name__ == "__main__":`. A researcher's plain script that featurises a large
  corpus or tunes an LM would have every worker run the whole script (train its models) again
  and then fail ("bootstrapping phase"). Our workers run only functions of importable modules,
  so they are started as if __main__ were a bare module: nothing of the caller's runs twice.
  (Spawned, not forked: forking a process that has loaded TensorFlow can deadlock.)
- A pool left by an exception (Ctrl-C) waits for every job it was given, minutes for a large
  corpus, and can hang at exit. `worker_pool` stops the workers at once instead
  (ProcessPoolExecutor.terminate_workers() of Python 3.14, done by hand before it).
"""
import contextlib
import multiprocessing
import signal
import sys
import threading
import types
from concurrent.futures import ProcessPoolExecutor

TERMINATE_JOIN_SECONDS = 5
_STARTING = threading.Lock()
_BARE_MAIN = types.ModuleType("__main__")


class WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that does not import the caller's __main__ (see the module)."""

    def start(self):
        with _STARTING:
            main, sys.modules["__main__"] = sys.modules["__main__"], _BARE_MAIN
            try:
                super().start()
            finally:
                sys.modules["__main__"] = main


class WorkerContext(multiprocessing.context.SpawnContext):
    Process = WorkerProcess


def new_executor(workers, initializer=None):
    """A ProcessPoolExecutor of `workers` WorkerProcesses that ignore Ctrl-C (their owner
    stops them; each would otherwise print a KeyboardInterrupt traceback), then run
    `initializer`."""
    return ProcessPoolExecutor(workers, mp_context=WorkerContext(),
                               initializer=_worker_start, initargs=(initializer,))


@contextlib.contextmanager
def worker_pool(workers, initializer=None):
    """new_executor(...) for a with-block: on leaving it normally, the jobs finish; on an
    exception (Ctrl-C), the workers are stopped at once."""
    executor = new_executor(workers, initializer)
    try:
        yield executor
    except BaseException:
        terminate(executor)
        raise
    shutdown(executor)


def shutdown(executor):
    """Let the running jobs finish, then stop the workers; interrupted while waiting, stop
    them at once rather than at the program's exit."""
    try:
        executor.shutdown(wait=True, cancel_futures=True)
    except BaseException:
        terminate(executor)
        raise


def terminate(executor):
    """Kill and join the workers now, mid-job; pending jobs are cancelled."""
    if hasattr(executor, "terminate_workers"):       # Python 3.14
        executor.terminate_workers()
        return
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(TERMINATE_JOIN_SECONDS)


def _worker_start(initializer):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()
