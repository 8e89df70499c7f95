"""Which optimizer a run gets: the seed's SGD by default, else the user's optimizer, a
zero-argument factory of one, or a Keras optimizer's name; always a fresh one per model, since
Keras 3 cannot share an optimizer between two models."""
import keras

SEED_LEARNING_RATE = 0.02
SEED_MOMENTUM = 0.9
SEED_CLIPNORM = 5.0


def seed_optimizer(learning_rate=SEED_LEARNING_RATE):
    """The seed's optimizer (Keras 2's `decay=1e-6` is gone in Keras 3 and is left out)."""
    return keras.optimizers.SGD(learning_rate=learning_rate, momentum=SEED_MOMENTUM,
                                nesterov=True, clipnorm=SEED_CLIPNORM)


def check_optimizer(optimizer):
    """None, a Keras optimizer, a zero-argument factory of one, or a name Keras knows
    ("adam"): anything else fails here, not after the model is built."""
    if isinstance(optimizer, str):
        try:
            keras.optimizers.get(optimizer)
        except ValueError:
            raise ValueError(f"optimizer {optimizer!r} is not a Keras optimizer's name; "
                             f"expected one of {', '.join(_optimizer_names())}") from None
    elif not (optimizer is None or isinstance(optimizer, keras.optimizers.Optimizer)
              or callable(optimizer)):
        raise ValueError(f"optimizer: expected a keras.optimizers.Optimizer, a zero-argument "
                         f"function returning one, or a name such as 'adam'; got {optimizer!r}")


def _optimizer_names():
    """The names keras.optimizers.get takes alone (not the wrappers that need an optimizer)."""
    names = []
    for name, cls in sorted(vars(keras.optimizers).items()):
        if isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer):
            try:
                keras.optimizers.get(name.lower())
            except Exception:       # a wrapper: its config needs an inner optimizer
                continue
            names.append(name.lower())
    return names


def fresh_optimizer(optimizer):
    """Keras 3 optimizers cannot be shared by two models: build a fresh one per model."""
    if optimizer is None:
        return seed_optimizer()
    if isinstance(optimizer, str):
        return keras.optimizers.get(optimizer)    # a new one, Keras' defaults
    if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer()
    return optimizer.__class__.from_config(optimizer.get_config())
