"""Mixed-precision training (`train_model(precision=...)`): the dtype policy while a model is
built, loss scaling for float16, and the float32 copy that is saved.

Keras' global dtype policy is set only while the model is built (its output layers stay
float32: models.OUTPUT_DTYPE, so the softmax and the CTC loss are float32). Mixed runs are
named apart from float32 ones, so a comparison of the two never loads the other's files.
"""
import contextlib

import keras

from vui.model.ctc import CTCLoss

FLOAT32 = "float32"
PRECISIONS = (FLOAT32, "mixed_bfloat16", "mixed_float16")
PRECISION_TAGS = {"mixed_bfloat16": "MP(bf16)", "mixed_float16": "MP(fp16)"}


def check_precision(precision):
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: expected one of {PRECISIONS}, or None "
                         "(float32)")


@contextlib.contextmanager
def dtype_policy(precision):
    """Keras' global dtype policy set to `precision` (None: float32) inside the block, then
    put back: layers take the policy when they are made, and one left set globally would make
    every later model of the process mixed too."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision or FLOAT32)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build(builder, input_dim, precision):
    with dtype_policy(precision):
        return builder.build(input_dim)


def loss_scaled(optimizer, precision):
    """float16's smallest normal number is 6e-5: without scaling the loss up (and the gradients
    back down) small gradients underflow to zero. bfloat16 has float32's range and needs none."""
    if precision == "mixed_float16" and not isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def float32_model(model, builder, input_dim, precision):
    """The trained model as float32 layers with its weights (mixed precision keeps the weights
    in float32) and its optimizer: a .keras file restores each layer's dtype policy whatever the
    loader's, so this copy is what gets saved. Every loader (T.load_model, Recognizer, export)
    then computes in float32, and a continued run still finds the optimizer's state."""
    if (precision or FLOAT32) == FLOAT32:
        return model
    copy = build(builder, input_dim, None)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=model.optimizer, loss=CTCLoss())
    return copy
