"""CTC loss for models that end in a softmax, on the seed's scale (per-utterance NLL).

Batches carry their lengths inside `y_true` (see docs/design.md): column 0 is the model's output
frames for each utterance, column 1 the label length, the rest the labels. Packing them there keeps
`model.fit` standard on every backend.

On TensorFlow, `keras.ops.ctc_loss` hands dense labels to `tf.nn.ctc_loss`, which then takes a slow
scan (docs/experiments/summary.md, "Training: the CTC loss on TensorFlow, CPU threads"); this
module fills that gap by calling `tf.nn.ctc_loss` with sparse labels there. Both paths give the same values
(tests/test_ctc.py). Every other backend uses `keras.ops.ctc_loss` as it is.
"""
import keras
from keras import ops

from char_map import BLANK_INDEX

# Softmax outputs can underflow to exactly 0; log(0) would give -inf and NaN gradients.
PROBABILITY_FLOOR = 1e-7


def unpack_targets(y_true):
    """Split the packed target array into (labels, label_length, output_length), all int32."""
    y_true = ops.cast(y_true, "int32")
    return y_true[:, 2:], y_true[:, 1], y_true[:, 0]


def ctc_nll(y_true, y_pred):
    """Negative log-likelihood of each utterance's transcript; shape (batch,)."""
    labels, label_length, output_length = unpack_targets(y_true)
    log_probs = ops.log(ops.maximum(ops.cast(y_pred, "float32"), PROBABILITY_FLOOR))
    if keras.backend.backend() == "tensorflow":
        return _tf_sparse_ctc(labels, label_length, output_length, log_probs)
    return ops.ctc_loss(labels, log_probs, label_length, output_length, mask_index=BLANK_INDEX)


def _tf_sparse_ctc(labels, label_length, output_length, log_probs):
    import tensorflow as tf  # only on the TensorFlow backend

    # Indices come from the lengths, not from the values: the apostrophe is class 0, which
    # tf.sparse.from_dense would drop as "empty".
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1])
    indices = tf.where(mask)
    sparse = tf.SparseTensor(indices, tf.gather_nd(labels, indices),
                             tf.cast(tf.shape(labels), tf.int64))
    return tf.nn.ctc_loss(labels=sparse, logits=log_probs, label_length=None,
                          logit_length=output_length, logits_time_major=False,
                          blank_index=BLANK_INDEX)


@keras.saving.register_keras_serializable(package="vui")
class CTCLoss(keras.losses.Loss):
    """Keras loss wrapper: mean over the batch of the per-utterance CTC NLL."""

    def __init__(self, name="ctc", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ctc_nll(y_true, y_pred)
