"""Worker processes for the toolkit's pools (feature extraction, beam decoding, TTS, variants).

Three gaps that concurrent.futures leaves, filled here once for every pool:
- A spawned child runs the parent's main script again (as __mp_main__) unless the script guards
  itself with `if __name__ == "__main__":`. A researcher's plain script that featurises a large
  corpus or tunes an LM would have every worker run the whole script (train its models) again
  and then fail ("bootstrapping phase"). A pool whose jobs are the toolkit's own functions does
  not need the caller's script, so its workers start without it: multiprocessing's preparation
  data for them leaves out the main module. A pool that runs a caller's function defined in
  that script (`defined_in_main`) imports it as plain spawn does.
  (Spawned, not forked: forking a process that has loaded TensorFlow can deadlock.)
- A pool left by an exception (Ctrl-C) waits for every job it was given, minutes for a large
  corpus, and can hang at exit. `worker_pool` stops the workers at once instead
  (ProcessPoolExecutor.terminate_workers() of Python 3.14, done by hand before it).
- A caller waiting on a future without a timeout misses a Ctrl-C that the kernel hands to one of
  the pool's threads: `result` and `as_completed` wait in slices, so the main thread sees it.
"""
import contextlib
import multiprocessing
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import spawn

TERMINATE_JOIN_SECONDS = 5
WAIT_SLICE_SECONDS = 0.25      # how soon a Ctrl-C is seen while waiting for a worker (result)
MAIN_MODULE_KEYS = ("init_main_from_name", "init_main_from_path")
_installed = threading.Lock()
_stdlib_preparation_data = None


class VuiWorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process whose preparation data leaves out the caller's __main__ (its
    default name, "VuiWorkerProcess-N", is how _preparation_data tells it apart)."""

    def start(self):
        _install_preparation_filter()
        super().start()


class WorkerContext(multiprocessing.context.SpawnContext):
    Process = VuiWorkerProcess


def _install_preparation_filter():
    """Wrap multiprocessing.spawn.get_preparation_data, once, at the first worker's start
    (not at import: importing vui changes nothing). Other processes' data is unchanged; the
    wrapper, unlike swapping sys.modules["__main__"] while a worker starts, races with no
    thread that pickles the caller's objects meanwhile."""
    global _stdlib_preparation_data
    with _installed:
        if _stdlib_preparation_data is None:
            _stdlib_preparation_data = spawn.get_preparation_data
            spawn.get_preparation_data = _preparation_data


def _preparation_data(name):
    data = _stdlib_preparation_data(name)
    if name.startswith(VuiWorkerProcess.__name__):
        for key in MAIN_MODULE_KEYS:
            data.pop(key, None)
    return data


def defined_in_main(*objects):
    """Whether any of `objects` (functions, partials, instances) is defined in the caller's
    __main__: a worker must then import that script to unpickle it."""
    for obj in objects:
        target = getattr(obj, "func", obj)          # functools.partial
        if "__main__" in (getattr(target, "__module__", None), type(target).__module__):
            return True
    return False


def new_executor(workers, initializer=None, needs_main=False):
    """A ProcessPoolExecutor of `workers` spawned processes (WorkerContext's, or plain spawn
    where the jobs need the caller's __main__) that let their owner handle Ctrl-C, then run
    `initializer`."""
    context = multiprocessing.get_context("spawn") if needs_main else WorkerContext()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start,
                               initargs=(initializer,))


@contextlib.contextmanager
def worker_pool(workers, initializer=None, needs_main=False):
    """new_executor(...) for a with-block: on leaving it normally, the jobs finish; on an
    exception (Ctrl-C), the workers are stopped at once."""
    executor = new_executor(workers, initializer, needs_main)
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


def result(future):
    """future.result(), waited for in slices. A wait without a timeout blocks the main thread in
    one lock acquire; a Ctrl-C that the kernel hands to another thread (the pool's manager or
    feeder) then never reaches it, since Python runs signal handlers only in the main thread,
    between bytecodes: the caller hung with its worker decoding on (tests/test_decoding.py)."""
    while not future.done():
        wait([future], timeout=WAIT_SLICE_SECONDS)
    return future.result()


def as_completed(futures):
    """concurrent.futures.as_completed, waited for in slices (see result)."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=WAIT_SLICE_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


def terminate(executor):
    """Kill and join the workers now, mid-job; pending jobs are cancelled."""
    manager = getattr(executor, "_executor_manager_thread", None)
    if hasattr(executor, "terminate_workers"):       # Python 3.14
        executor.terminate_workers()
    else:
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(TERMINATE_JOIN_SECONDS)
    if manager is not None:
        # it closes the pool's queues once it sees the workers gone; a program that exits
        # before that is told of "leaked semaphore objects" by multiprocessing
        manager.join(TERMINATE_JOIN_SECONDS)


def _ignore_interrupt(_signum, _frame):
    """Ctrl-C reaches the workers too, but their owner stops them: without this each would
    print a KeyboardInterrupt traceback. A Python handler, not SIG_IGN, because SIG_IGN would
    pass to the programs a worker runs (espeak-ng, ffmpeg), which then outlive a Ctrl-C."""


def _worker_start(initializer):
    signal.signal(signal.SIGINT, _ignore_interrupt)
    if initializer is not None:
        initializer()
