"""The Ray a sweep runs on: this process's, a cluster's at an address, or one started here;
and the run locks that nodes which left the cluster leave behind."""
import json
import logging
import os

from vui import results as R
from vui.train.guards import RunLock

# Ray folds log lines that differ only in numbers ("[repeated 3x across cluster]"), which
# would swallow the trials' one-line-per-epoch progress.
RAY_LOG_ENV = {"RAY_DEDUP_LOGS": "0"}
# Ray's own start-up lines ("Started a local Ray instance", Tune's TensorBoard hint) are not the
# sweep's output; its warnings and errors still show. The trials' lines are workers' stdout.
RAY_DRIVER_LOG_LEVEL = logging.WARNING
# What the workers must see as this process does: the Keras backend above all.
FORWARDED_ENV = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "VUI_CACHE_DIR", "XLA_FLAGS",
                 "VUI_TF_DEFAULT_THREADS")

# Ray 2.60 starts clusters with token authentication when a token exists (~/.ray/auth_token),
# but ray.init(address=HOST:PORT) sends it only with RAY_AUTH_MODE=token (on purpose: an
# explicit address never receives the token unasked); without it the connection fails.
AUTH_HINT = ("if the cluster uses token authentication (Ray's default), set RAY_AUTH_MODE=token "
             "with its token in ~/.ray/auth_token or RAY_AUTH_TOKEN, or pass address 'auto' "
             "on one of its nodes")


def connect(address=None, num_cpus=None):
    """Use the Ray this process already runs, or join `address`, or start one here with
    `num_cpus`; returns whether it started or joined one (the caller then shuts it down)."""
    for key, value in RAY_LOG_ENV.items():
        os.environ.setdefault(key, value)
    import ray
    if ray.is_initialized():
        return False
    runtime_env = {"env_vars": {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}}
    if address:
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=True,
                     logging_level=RAY_DRIVER_LOG_LEVEL)
        except ConnectionError as err:
            raise ConnectionError(f"{err}: is a Ray head running there? {AUTH_HINT}") from err
    else:
        ray.init(num_cpus=num_cpus, runtime_env=runtime_env, include_dashboard=False,
                 logging_level=RAY_DRIVER_LOG_LEVEL)
    return True


def clear_locks_of_departed_nodes(names, results_dir):
    """A trial on a node that left the cluster leaves its run locked by a process that is
    gone, on another host, which RunLock cannot check: remove such locks, and only those (a
    host Ray lists as dead and not as alive)."""
    import ray
    nodes = ray.nodes()
    alive = {n.get("NodeManagerHostname") for n in nodes if n.get("Alive")}
    departed = {n.get("NodeManagerHostname") for n in nodes if not n.get("Alive")} - alive
    for name in names:
        lock = RunLock(R.run_paths(name, results_dir)[2], name).path
        try:
            holder = json.loads(lock.read_text())
        except (OSError, ValueError):
            continue
        if holder.get("host") in departed:
            print(f"run '{name}': its lock names host {holder['host']}, which left the Ray "
                  "cluster; removing it so the run resumes")
            lock.unlink(missing_ok=True)
