"""The Keras backend's devices: config_GPU, which the seed's first cell calls as U.config_GPU()
(utils re-exports it). Setting up a backend's GPU memory is not reading audio or computing
features, so it lives apart from utils.
"""
import os
import shutil
import subprocess
import sys
import warnings

# config_GPU's memory settings. JAX reads its two variables when it first starts a backend;
# PyTorch reads its allocator's when it first touches CUDA.
JAX_PREALLOCATE_VARIABLE = "XLA_PYTHON_CLIENT_PREALLOCATE"
JAX_MEMORY_FRACTION_VARIABLE = "XLA_PYTHON_CLIENT_MEM_FRACTION"
TORCH_ALLOCATOR_VARIABLE = "PYTORCH_CUDA_ALLOC_CONF"
TORCH_GROWTH_SETTING = "expandable_segments:True"

_unseen_warned = set()     # backends already warned about a GPU they do not see


def config_GPU(allow_growth=True, gpu_memory_fraction=None):
    """Make the Keras backend share the GPU politely; returns the names of the devices it
    computes on (its GPUs, else its CPU), and prints them as the seed's first cell did.

    TensorFlow grabs all GPU memory unless told to grow; JAX preallocates 75% unless told
    otherwise before it first touches the GPU; PyTorch allocates on demand (expandable segments
    keep its cache from fragmenting) and can be capped. Where nvidia-smi sees a GPU the backend
    does not (a CPU build installed), it says so: that is `bash scripts/setup.sh --gpu`'s job.
    It also sets TensorFlow's CPU threads for few cores (vui.cpu_threads), which takes effect
    when called, as the seed does, before the first model runs.
    """
    from vui import cpu_threads
    cpu_threads.configure()
    import keras  # deferred: importing keras with TensorFlow takes seconds
    backend = keras.backend.backend()
    configure = _GPU_CONFIGURERS.get(backend)
    devices = configure(allow_growth, gpu_memory_fraction) if configure else ["cpu:0"]
    _warn_if_gpu_unseen(backend, devices)
    print(", ".join(devices))
    return devices


def _config_tensorflow(allow_growth, gpu_memory_fraction):
    import tensorflow as tf  # only reached under the TensorFlow backend
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, bool(allow_growth))
        except RuntimeError as err:  # the GPU was already initialised by earlier work
            warnings.warn(f"could not set memory growth on {gpu.name}: {err}")
    if gpu_memory_fraction is not None and gpus:
        warnings.warn("gpu_memory_fraction is not supported under TensorFlow 2; "
                      "memory growth is used instead")
    return ([d.name for d in tf.config.list_logical_devices("GPU")]
            or [d.name for d in tf.config.list_logical_devices("CPU")])


def _config_jax(allow_growth, gpu_memory_fraction):
    wanted = {}
    if allow_growth:
        wanted[JAX_PREALLOCATE_VARIABLE] = os.environ.get(JAX_PREALLOCATE_VARIABLE, "false")
    if gpu_memory_fraction is not None:
        wanted[JAX_MEMORY_FRACTION_VARIABLE] = str(float(gpu_memory_fraction))
    if _jax_started() and any(os.environ.get(k) != v for k, v in wanted.items()):
        warnings.warn("JAX already holds its devices: its GPU memory settings apply from the "
                      "next process (call U.config_GPU() before the first model)")
    os.environ.update(wanted)
    import jax
    return [f"{d.platform}:{d.id}" for d in jax.devices()]


def _jax_started():
    """Whether JAX has created its backends (after which its memory variables are not read)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def _config_torch(allow_growth, gpu_memory_fraction):
    if allow_growth:
        os.environ.setdefault(TORCH_ALLOCATOR_VARIABLE, TORCH_GROWTH_SETTING)
    import torch
    if not torch.cuda.is_available():
        return ["cpu:0"]
    if gpu_memory_fraction is not None:
        for i in range(torch.cuda.device_count()):
            torch.cuda.set_per_process_memory_fraction(float(gpu_memory_fraction), i)
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


_GPU_CONFIGURERS = {"tensorflow": _config_tensorflow, "jax": _config_jax, "torch": _config_torch}


def _warn_if_gpu_unseen(backend, devices):
    """One warning when the driver reports a GPU but the backend computes on the CPU."""
    if backend in _unseen_warned or any("GPU" in d.upper() or "CUDA" in d.upper()
                                        for d in devices):
        return
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return
    if "GPU" in listed:
        _unseen_warned.add(backend)
        warnings.warn(f"nvidia-smi lists a GPU but Keras' {backend} backend computes on the "
                      f"CPU: its CPU build is installed; run `bash scripts/setup.sh --gpu` for "
                      f"the CUDA builds (requirements-gpu.txt)", stacklevel=2)
