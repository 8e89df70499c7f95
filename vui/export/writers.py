"""Write an export folder: the network in one format, its language model, then the bundle.

Keras 3's `model.export(path, format=...)` writes all three formats (tf2onnx inside it for ONNX,
with its numpy-2 patch; TensorFlow's converter for LiteRT). What it leaves to us:
- the copy it traces: float32 and without cuDNN-only ops (vui.export.portable);
- LiteRT with a dynamic batch keeps a GRU's time loop as TensorFlow TensorList ops, which only
  TensorFlow's interpreter runs (select TF ops); with the batch fixed at 1 the converter lowers
  the loop to LiteRT's built-in WHILE, which the small ai-edge-litert interpreter runs. We try
  that first and fall back to select TF ops, recording which in the bundle;
- a check that the written network gives the Keras model's outputs on probe inputs of two
  lengths (a wrong conversion fails here, not in a user's transcripts);
- the order of writing: the old bundle goes first and the new one is written last, so a folder
  whose export was interrupted has no bundle and is refused by name.
"""
import logging
import os
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from vui import atomic
from vui.export.bundle import (BUNDLE_FILE, FORMATS, LM_FOLDER, NETWORK_FILES, ExportError,
                               read_bundle, write_bundle)
from vui.export.describe import bundle_for
from vui.export.networks import open_network
from vui.export.portable import portable_model

PROBE_FRAMES = (67, 160)              # two lengths: the time axis must stay dynamic
PROBE_TOLERANCE = 1e-4                # max |probability difference| from the Keras model
PROBE_SEED = 0
QUIET_LOGGERS = ("tf2onnx", "absl", "tensorflow")


def export(recognizer, out_dir, fmt="onnx"):
    """Export a Recognizer (or a model from T.load_model) to `out_dir` as `fmt` (savedmodel,
    onnx or litert); returns the Bundle written beside the network."""
    from vui.infer.recognizer import Recognizer
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    recognizer = Recognizer.from_model(recognizer)
    out_dir = make_export_folder(out_dir)
    (out_dir / BUNDLE_FILE).unlink(missing_ok=True)
    # Described first: a model the bundle cannot describe is refused before the slow part.
    bundle = bundle_for(recognizer, fmt, NETWORK_FILES[fmt],
                        lm_path=_copy_lm(recognizer.info.lm, out_dir))
    model = portable_model(recognizer.model)
    with _quiet():
        batch, select_tf_ops = WRITERS[fmt](model, out_dir / NETWORK_FILES[fmt])
    bundle = replace(bundle, input_batch=batch, select_tf_ops=select_tf_ops, directory=out_dir)
    _check_outputs(model, bundle)
    write_bundle(bundle, out_dir)
    return bundle


def check_export_folder(out_dir):
    """Refuse, before any work and without making it, a folder that cannot be made: a file in
    its place or above it, or a folder above it that is not writable."""
    out_dir = Path(out_dir)
    blocker = atomic.folder_blocker(out_dir)
    if blocker is None:
        return out_dir
    existing, why = blocker
    if why == atomic.NOT_A_FOLDER:
        raise ExportError(f"export folder {out_dir}: {existing} is a file; expected a folder "
                          "(vui export --out) for the network and its JSON")
    raise ExportError(f"export folder {out_dir}: {existing} is not writable; choose "
                      "another (vui export --out)")


def make_export_folder(out_dir):
    """The checked export folder, made (with its parents)."""
    out_dir = check_export_folder(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot make the export folder {out_dir} ({err.strerror or err}); "
                          "choose another (vui export --out)") from None
    return out_dir


def _spec(model, batch=None):
    """The input signature: time always dynamic, the batch dynamic unless given; the input
    keeps the model's name for it."""
    import keras
    return [keras.InputSpec(shape=(batch, None, int(model.input_shape[-1])), dtype="float32",
                            name=model.inputs[0].name)]


def write_savedmodel(model, path):
    _replace_with(path, lambda tmp: model.export(str(tmp), format="tf_saved_model",
                                                 verbose=False, input_signature=_spec(model)))
    return None, False


def write_onnx(model, path):
    try:
        import onnx  # noqa: F401  (tf2onnx needs it; say so before tracing)
        import tf2onnx  # noqa: F401
    except ImportError as err:
        raise ExportError(f"ONNX export needs tf2onnx and onnx ({err}): "
                          "pip install tf2onnx onnx") from None
    _replace_with(path, lambda tmp: model.export(str(tmp), format="onnx", verbose=False,
                                                 input_signature=_spec(model)))
    return None, False


def write_litert(model, path):
    """Built-in ops with batch 1 when the converter manages it, else select TF ops."""
    import tensorflow as tf
    builtins = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    try:
        _replace_with(path, lambda tmp: model.export(str(tmp), format="litert", verbose=False,
                                                     input_signature=_spec(model, batch=1),
                                                     target_spec=builtins))
        return 1, False
    except Exception as err:   # tf.lite's ConverterError, from the MLIR legaliser
        logging.getLogger(__name__).info("LiteRT built-in ops failed (%s); using select TF "
                                         "ops", str(err).splitlines()[0])
    _replace_with(path, lambda tmp: model.export(str(tmp), format="litert", verbose=False,
                                                 input_signature=_spec(model)))
    return None, True


WRITERS = {"savedmodel": write_savedmodel, "onnx": write_onnx, "litert": write_litert}


def _replace_with(path, write):
    """Write to a temporary name beside `path` (same suffix: Keras checks it), then rename,
    so a failed write leaves no half network under the real name."""
    tmp = path.with_name(f".tmp-{path.name}")
    _remove(tmp)
    try:
        write(tmp)
        _remove(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def update_language_model(export_dir, lm):
    """Give an export its model's newly tuned language model (`vui lm tune` calls this): the
    network is the same, so only the LM file and the decoder's weights change. As in export(),
    the bundle goes first and is written last. Returns the new Bundle."""
    export_dir = Path(export_dir)
    bundle = read_bundle(export_dir)
    (export_dir / BUNDLE_FILE).unlink()
    old_lm = bundle.lm_file
    lm_path = _copy_lm(lm, export_dir)
    if old_lm is not None and (lm_path is None or Path(old_lm) != export_dir / lm_path):
        Path(old_lm).unlink(missing_ok=True)
    decoder = replace(bundle.decoder, lm_path=lm_path,
                      alpha=lm.get("alpha") if lm_path else None,
                      beta=lm.get("beta") if lm_path else None)
    bundle = replace(bundle, decoder=decoder)
    write_bundle(bundle, export_dir)
    return bundle


def _copy_lm(lm, out_dir):
    """The tuned language model copied into the export (its name there), or None."""
    if not lm or not lm.get("path"):
        return None
    source = Path(lm["path"])
    if not source.is_file():
        warnings.warn(f"the model's language model {source} is missing; the export has none "
                      "(decoder beam_lm will not be available)", stacklevel=3)
        return None
    target = out_dir / LM_FOLDER / source.name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(source, target)
    return f"{LM_FOLDER}/{source.name}"


def _check_outputs(model, bundle):
    """The written network's outputs on random features of two lengths against the Keras
    copy's; a difference above PROBE_TOLERANCE refuses the export."""
    network = open_network(bundle)
    rng = np.random.default_rng(PROBE_SEED)
    for frames in PROBE_FRAMES:
        x = rng.standard_normal((1, frames, bundle.feature_dim)).astype(np.float32)
        want = np.asarray(model(x, training=False))     # eager: no retracing per length
        got = network.run(x)
        if got.shape != want.shape or np.abs(got - want).max() > PROBE_TOLERANCE:
            diff = np.abs(got - want).max() if got.shape == want.shape else "n/a"
            raise ExportError(f"{bundle.network_path}: its outputs differ from the Keras "
                              f"model's for {frames} frames (shape {got.shape} against "
                              f"{want.shape}, max difference {diff}); the conversion is wrong")


@contextmanager
def _quiet():
    """tf2onnx and TensorFlow's converter log at INFO level and warn about numpy 2's np.object;
    an export prints only what goes wrong."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
