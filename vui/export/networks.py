"""An exported network, opened by the runtime library of its format: numpy in, numpy out.

Every network takes float32 (batch, time, features) and returns the softmax (batch, frames, 29);
`input_dim` is the width it was exported for, `batch` a fixed batch size (None: any). The
libraries are imported when a network is opened: onnxruntime for ONNX; ai-edge-litert for LiteRT
(TensorFlow's own interpreter only for an export that needs TensorFlow's ops); TensorFlow for a
SavedModel. A file that a library cannot read is reported as an ExportError naming it.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vui.export.bundle import ExportError

ORT_QUIET = 3                    # onnxruntime's log severity: errors only


def default_threads():
    """onnxruntime's intra-op threads: 1 on a machine of few cores, as vui.cpu_threads sets
    TensorFlow's: a GRU step's products are too small to split, and on 2 shared cores one
    thread ran the demo model's export as fast as two and much faster than onnxruntime's
    default, whose idle threads spin (docs/experiments/inference.md); None (the library's
    choice) on larger machines, where this was not measured."""
    from vui import cpu_threads
    chosen = cpu_threads.chosen_threads(cpu_threads.usable_cores())
    return None if chosen is None else chosen[1]


def open_network(bundle, threads=None):
    """The network of a Bundle read from its export folder, checked against its input width."""
    opener = {"onnx": OnnxNetwork, "litert": LiteRTNetwork,
              "savedmodel": SavedModelNetwork}.get(bundle.format)
    if opener is None:
        raise ExportError(f"{bundle.path}: no runtime for format {bundle.format!r}")
    network = opener(bundle.network_path, threads=threads, select_tf_ops=bundle.select_tf_ops)
    if network.input_dim is not None and network.input_dim != bundle.feature_dim:
        raise ExportError(f"{bundle.path}: its features are {bundle.feature_dim} values a frame, "
                          f"but the network {bundle.network_path} takes {network.input_dim}: the "
                          "JSON belongs to another model; export the model again")
    return network


def _unreadable(path, kind, err):
    return ExportError(f"{path}: cannot be read as {kind} ({type(err).__name__}: "
                       f"{str(err).strip()[:300]}); the export may be truncated or damaged: "
                       "export the model again")


def _missing_library(kind, package):
    return ExportError(f"running a {kind} export needs the {package} package: "
                       f"pip install {package}")


class OnnxNetwork:
    """An ONNX file in onnxruntime (CPU)."""

    def __init__(self, path, threads=None, **_):
        try:
            import onnxruntime as ort
        except ImportError:
            raise _missing_library("ONNX", "onnxruntime") from None
        self.path = Path(path)
        options = ort.SessionOptions()
        options.log_severity_level = ORT_QUIET
        threads = default_threads() if threads is None else threads
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:      # onnxruntime raises its own Fail / InvalidProtobuf types
            raise _unreadable(self.path, "an ONNX model", err) from None
        spec = self.session.get_inputs()[0]
        self.input_name = spec.name
        self.input_dim = spec.shape[-1] if isinstance(spec.shape[-1], int) else None
        self.batch = spec.shape[0] if isinstance(spec.shape[0], int) else None

    def run(self, x):
        return self.session.run(None, {self.input_name: x})[0]


class LiteRTNetwork:
    """A .tflite file in LiteRT's interpreter; the input is resized only when its shape
    changes, and a batch-1 network runs a batch one row at a time."""

    def __init__(self, path, threads=None, select_tf_ops=False, **_):
        self.path = Path(path)
        interpreter = _litert_interpreter(select_tf_ops)
        try:
            with _quiet_stderr():      # LiteRT prints an INFO line when it adds XNNPACK
                self.interpreter = interpreter(model_path=str(self.path), num_threads=threads)
        except Exception as err:       # LiteRT raises ValueError / RuntimeError
            raise _unreadable(self.path, "a LiteRT model", err) from None
        spec = self.interpreter.get_input_details()[0]
        self.input_index = spec["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        signature = [int(n) for n in spec["shape_signature"]]
        self.input_dim = signature[-1] if signature[-1] > 0 else None
        self.batch = signature[0] if signature[0] > 0 else None
        self.shape = None

    def run(self, x):
        if self.batch == 1 and len(x) > 1:
            return np.concatenate([self.run(x[i:i + 1]) for i in range(len(x))])
        if x.shape != self.shape:
            self.interpreter.resize_tensor_input(self.input_index, x.shape)
            with _quiet_stderr():
                self.interpreter.allocate_tensors()
            self.shape = x.shape
        self.interpreter.set_tensor(self.input_index, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)


def _litert_interpreter(select_tf_ops):
    """LiteRT's standalone interpreter; TensorFlow's (which carries the select TF ops) when
    the export needs those ops or ai-edge-litert is not installed."""
    if not select_tf_ops:
        try:
            from ai_edge_litert.interpreter import Interpreter
            return Interpreter
        except ImportError:
            pass
    try:
        import tensorflow as tf
    except ImportError:
        raise _missing_library("LiteRT", "ai-edge-litert") from None
    return tf.lite.Interpreter


@contextmanager
def _quiet_stderr():
    """Hand-written: LiteRT's C++ logging has no switch in its Python API, so its INFO line
    is kept off the terminal by pointing file descriptor 2 at /dev/null meanwhile."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class SavedModelNetwork:
    """A SavedModel's `serve` endpoint (Keras's export) under TensorFlow: one concrete function
    with a dynamic batch and time axis, so no shape retraces it."""

    def __init__(self, path, **_):
        try:
            import tensorflow as tf
        except ImportError:
            raise _missing_library("SavedModel", "tensorflow") from None
        self.path = Path(path)
        try:
            self.loaded = tf.saved_model.load(str(self.path))
            self.serve = self.loaded.serve
        except Exception as err:       # TensorFlow raises OSError, ValueError, DecodeError...
            raise _unreadable(self.path, "a SavedModel", err) from None
        spec = self.serve.input_signature[0]
        spec = spec[0] if isinstance(spec, (list, tuple)) else spec
        self.input_dim = spec.shape[-1]
        self.batch = spec.shape[0]
        self.tf = tf

    def run(self, x):
        return self.serve(self.tf.constant(x)).numpy()


class KerasNetwork:
    """A Keras model in memory (the `keras` runtime, and the reference in checks)."""

    def __init__(self, model):
        self.model = model
        self.path = None
        self.input_dim = int(model.input_shape[-1])
        self.batch = None

    def run(self, x):
        return np.asarray(self.model.predict_on_batch(x))
