"""TensorFlow's retracing warning, kept for the functions it was meant for.

TensorFlow warns when five of a function's recent calls traced it anew, and it counts the calls
by the Python code behind the function, not by the function object. Keras' trainer makes new
train, test and predict functions for every model, all from the same code, so a kernel that
trains or evaluates several models (the seed notebook's whole method) is told "5 out of the last
9 calls to <function TensorFlowTrainer...> triggered tf.function retracing", with advice that
does not apply: each model traces its own functions once per batch shape (train_utils builds
the optimizer first so that a step is traced once: docs/experiments/scale.md, "One trace per
training step"). The filter drops that warning for Keras' trainer functions only; a function of
the user's own that retraces is still reported.
"""
import logging

TF_LOGGER = "tensorflow"          # tf_logging's Python logger
RETRACING_WARNING = "triggered tf.function retracing"
KERAS_TRAINER = "TensorFlowTrainer"   # in the function's name, as the warning prints it


class KerasTrainerRetracing(logging.Filter):
    """Drops TensorFlow's retracing warning about Keras' own trainer functions."""

    def filter(self, record):
        message = record.getMessage()
        return not (RETRACING_WARNING in message and KERAS_TRAINER in message)


def hush_keras_trainer_retracing():
    """Add the filter to TensorFlow's logger once (idempotent, also across `reload`)."""
    logger = logging.getLogger(TF_LOGGER)
    if not any(type(f).__name__ == KerasTrainerRetracing.__name__ for f in logger.filters):
        logger.addFilter(KerasTrainerRetracing())
