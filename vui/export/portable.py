"""A copy of a trained Keras model that every exporter can trace: float32, no cuDNN-only ops.

Two pitfalls of exporting recurrent models, both fixed on a copy so the user's model is
untouched:
- On a GPU, Keras's GRU and LSTM (`use_cudnn="auto"`) trace to CudnnRNN ops, which tf2onnx and
  the LiteRT converter cannot convert (keras#21799). `use_cudnn` is not part of a layer's
  config, and Bidirectional copies it onto its inner layers when built (keras#21533), so it is
  switched off on every recurrent layer, inner ones included, after cloning.
- A float16 / bfloat16 (or mixed) model exports its low-precision arithmetic, which the ONNX
  exporter refuses and most CPU runtimes emulate slowly; the copy computes in float32 with the
  weights cast up, so a runtime's outputs are the model's within the low format's rounding.
"""
import numpy as np

LOW_PRECISION_POLICIES = {"float16", "bfloat16", "mixed_float16", "mixed_bfloat16"}
FLOAT32 = "float32"


def portable_model(model):
    """A float32, cuDNN-free functional copy of `model` with the same weights."""
    import keras

    def clone(layer):
        return type(layer).from_config(_float32_config(layer.get_config()))

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights([np.asarray(w, np.float32) if _is_float(w) else w
                      for w in model.get_weights()])
    for layer in _all_layers(copy):
        if hasattr(layer, "use_cudnn"):
            layer.use_cudnn = False
    return copy


def _float32_config(config):
    """The layer config (nested configs too) with every low-precision dtype policy -> float32."""
    if isinstance(config, list):
        return [_float32_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    out = {}
    for key, value in config.items():
        if key == "dtype" and _policy_name(value) in LOW_PRECISION_POLICIES:
            out[key] = FLOAT32
        else:
            out[key] = _float32_config(value)
    return out


def _policy_name(value):
    if isinstance(value, dict):                       # a serialized DTypePolicy
        return (value.get("config") or {}).get("name")
    return value if isinstance(value, str) else None


def _is_float(weights):
    kind = np.asarray(weights).dtype
    return kind.kind == "f" or kind.name == "bfloat16"


def _all_layers(model):
    """Every layer, with the inner layers of Bidirectional wrappers."""
    for layer in model.layers:
        yield layer
        for inner in ("forward_layer", "backward_layer", "layer"):
            if getattr(layer, inner, None) is not None:
                yield getattr(layer, inner)


def precision(model):
    """The model's lowest-precision layer policy ("mixed_bfloat16", ...), or "float32"."""
    names = {getattr(getattr(layer, "dtype_policy", None), "name", FLOAT32)
             for layer in _all_layers(model)}
    return next(iter(sorted(names & LOW_PRECISION_POLICIES)), FLOAT32)
