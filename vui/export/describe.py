"""A trained model -> the Bundle that describes it (vui.export.bundle), read off the model.

The output-length rule is read from the network's own convolution and pooling layers and then
checked against the model's exact `output_length` on many lengths, so a layer that changes the
time axis some other way is refused at export instead of mis-cutting outputs at run time.
No Keras import: the layers' class names and configs are enough.
"""
import hashlib
from pathlib import Path

import numpy as np

import utils
from vui.export.bundle import (Bundle, ConvStep, DecoderDefaults, ExportError,
                               OutputLengthRule)
from vui.export.portable import precision
from vui.train.trained import check_network

CHECK_LENGTHS = (*range(1, 130), 255, 256, 257, 1000, 1001, 4099, 10_000)
TIME_LAYERS = {"Conv1D": ("kernel_size", "dilation_rate"),
               "MaxPooling1D": ("pool_size", None), "AveragePooling1D": ("pool_size", None)}
HASH_CHUNK = 1 << 20


def bundle_for(recognizer, fmt, network, lm_path=None):
    """The Bundle of a Recognizer's model exported as `fmt` to `network` (a name in the
    export folder); `lm_path`: its language model's name there (the writer copies it)."""
    info, model = recognizer.info, recognizer.model
    check_network(model, info, f"model {info.name}", error=ExportError)
    lm = info.lm or {}
    decoder = DecoderDefaults(lm_path=lm_path, alpha=lm.get("alpha") if lm_path else None,
                              beta=lm.get("beta") if lm_path else None)
    return Bundle(
        format=fmt, network=network, model_name=info.name or model.name,
        feature_config=info.feature_config, mean=np.asarray(info.mean, np.float32),
        std=np.maximum(np.asarray(info.std, np.float32), np.float32(utils.STD_FLOOR)),
        output_length=output_rule(model), seconds_per_frame=recognizer.seconds_per_frame,
        input_shift=info.speaker_norm, decoder=decoder,
        source=source_of(model))


def output_rule(model):
    """The OutputLengthRule of a Keras model's layers, checked against model.output_length."""
    steps = []
    for layer in model.layers:
        names = TIME_LAYERS.get(type(layer).__name__)
        if names is None:
            continue
        config = layer.get_config()
        size_key, dilation_key = names
        steps.append(ConvStep(kernel_size=_first(config[size_key]),
                              stride=_first(config["strides"] or config[size_key]),
                              padding=config["padding"],
                              dilation=_first(config[dilation_key]) if dilation_key else 1))
    rule = OutputLengthRule(tuple(steps))
    _check_rule(model, rule)
    return rule


def _first(value):
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _check_rule(model, rule):
    exact = getattr(model, "output_length", None)
    if exact is None:
        return
    lengths = np.asarray(CHECK_LENGTHS)
    wrong = lengths[np.asarray(exact(lengths)) != rule(lengths)]
    if wrong.size:
        n = int(wrong[0])
        raise ExportError(f"model {model.name}: its convolutions give {rule(n)} output frames "
                          f"for {n} input frames, but the model gives {exact(n)}; a layer "
                          "changes the time axis in a way the export cannot describe")


def source_of(model):
    """Where the exported model came from: its .keras file and that file's sha256 (a runtime
    compares it to tell a stale export), its dtype policy."""
    source = {"dtype_policy": precision(model), "exported_dtype": "float32"}
    record_path = getattr(model, "vui_pickle_path", None)
    keras_path = None if record_path is None else Path(record_path).with_suffix(".keras")
    if keras_path is not None and keras_path.is_file():
        source.update(model_file=keras_path.name, sha256=file_sha256(keras_path))
    return source


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
