"""TensorFlow's CPU thread pools, set for recurrent models on machines with few cores.

TensorFlow splits each op across all cores (intra-op) and runs independent ops side by side
(inter-op). A GRU's time loop is thousands of small matrix products that splitting across two
cores slows down, while the forward and backward directions of a bidirectional layer (and its
gradients) are independent and can run at once. On 2 cores, 2 inter-op threads and 1 intra-op
thread trained the demo model fastest of the settings tried, faster than TensorFlow's defaults
(docs/experiments/demo.md, "2026-12-02, evening: TensorFlow's CPU threads, a fourth BiGRU").
Larger machines keep TensorFlow's defaults: wide products do gain from intra-op threads there,
and this was not measured on one.

TensorFlow reads the two environment variables when its runtime starts (its first op, not its
import: measured), so `configure()` must run before TensorFlow's first op: the command line,
the demo and `utils.config_GPU()` call it (not on import: a user's notebook keeps TensorFlow's
defaults unless it asks); a user's own settings always win.
"""
import os

INTER_OP_VARIABLE = "TF_NUM_INTEROP_THREADS"
INTRA_OP_VARIABLE = "TF_NUM_INTRAOP_THREADS"
FEW_CORES = 4                 # at most this many cores: one intra-op thread, one inter-op per core
DISABLE_VARIABLE = "VUI_TF_DEFAULT_THREADS"   # set to 1 to keep TensorFlow's own choice


def chosen_threads(cores):
    """(inter-op, intra-op) thread counts for a machine with `cores` usable cores, or None to
    leave TensorFlow's defaults."""
    if cores is None or cores > FEW_CORES:
        return None
    return max(1, cores), 1


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not on Linux
        return os.cpu_count()


def configure(environ=None, cores=None):
    """Set TensorFlow's thread counts in `environ` (default os.environ) unless the user set
    either of them or DISABLE_VARIABLE; returns the (inter, intra) pair set, or None."""
    environ = os.environ if environ is None else environ
    if environ.get(DISABLE_VARIABLE) == "1":
        return None
    if INTER_OP_VARIABLE in environ or INTRA_OP_VARIABLE in environ:
        return None
    threads = chosen_threads(usable_cores() if cores is None else cores)
    if threads is not None:
        environ[INTER_OP_VARIABLE], environ[INTRA_OP_VARIABLE] = (str(n) for n in threads)
    return threads
