"""One thread owns the model; requests that arrive while it is busy share its next call.

Keras models are not meant to be called from many threads at once, and on a 2-core machine
concurrent calls would only fight over the cores anyway. A recurrent model's cost grows with
the number of time steps far more than with the batch size, so running the requests that queued
up during one call together as one padded batch raises throughput under load at almost no cost
to a lone request (a batch of one).
"""
import queue
import threading
from concurrent.futures import Future

DEFAULT_MAX_BATCH = 8
_STOP = object()


class Batcher:
    """Calls fn(list_of_items) -> list_of_results in one background thread, on batches of up
    to max_batch items taken from whatever is waiting; `submit(item)` returns a Future."""

    def __init__(self, fn, max_batch=DEFAULT_MAX_BATCH, name="vui-serve-model"):
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch!r}")
        self._fn = fn
        self._max_batch = int(max_batch)
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item) -> Future:
        future = Future()
        self._queue.put((item, future))
        return future

    def close(self, timeout=5.0):
        """Finish what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self):
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._call(batch)
            if stop:
                return

    def _next_batch(self):
        """Block for one item, then take what else is already waiting (up to max_batch)."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _call(self, batch):
        """Run the batch; if it fails, run its items one by one so that only the item at
        fault gets the exception."""
        try:
            results = self._fn([item for item, _ in batch])
        except Exception as err:
            if len(batch) == 1:
                batch[0][1].set_exception(err)
                return
            for one in batch:
                self._call([one])
            return
        for (_, future), result in zip(batch, results):
            future.set_result(result)
