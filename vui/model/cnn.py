"""The convolutional front end of the acoustic models: `CNNConfig` and the post-layer blocks.

Why a module of its own: the conv stack is a description with its own checks, seed-style name
and exact output length, and the activation / batch-norm / dropout block rule
(`block_order`) that the CNN and models.RNNModel's recurrent and TDD blocks share lives with
it. models.py re-exports `CNNConfig` (`M.CNNConfig` is this class), and this module is never
reloaded by the seed's `reload(M)`, so a CNNConfig made before the reload is still one after.

Backend-agnostic: only keras.layers / numpy; no tensorflow import.
"""
import dataclasses

import keras
import numpy as np

BORDER_MODES = ("valid", "same", "causal")
DEFAULT_ACTIVATION = "relu"


def check_int(value, field, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{field}={value!r}: expected an integer >= {minimum}")


def check_rate(value, field):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{field}={value!r}: expected a dropout rate in [0, 1)")


def check_activation(name, field):
    """A name keras.activations.get knows, checked when the model is described: the name goes
    into the run's name and layer names, and a typo would fail only at build, inside Keras."""
    try:
        known = isinstance(name, str) and keras.activations.get(name) is not None
    except ValueError:
        known = False
    if not known:
        raise ValueError(f"{field}={name!r}: expected the name of a Keras activation, such as "
                         "'relu', 'tanh', 'elu' or 'gelu'")


def fmt_rate(rate):
    return f"DO({float(rate):g})"


def block_order(activation, act_first, do_first, bn, dropout_rate):
    """The seed's post-layer block as a list of ("act"|"bn"|"do") steps.

    `do_first` orders dropout and batch norm; `act_first=False` puts the activation between the
    first and the second of them (after the only one when just one is present). This one rule
    reproduces every CNN and TDD ordering the seed prints (e.g. "DO relu BN", "BN relu DO").
    """
    norm = [s for s in (("do", "bn") if do_first else ("bn", "do"))
            if (s == "bn" and bn) or (s == "do" and dropout_rate > 0)]
    if act_first or not norm:
        return ["act"] + norm
    return norm[:1] + ["act"] + norm[1:]


def block_tokens(steps, activation, dropout_rate):
    names = {"act": activation, "bn": "BN", "do": fmt_rate(dropout_rate)}
    return " ".join(names[s] for s in steps)


def apply_block(x, steps, activation, dropout_rate, names, skip_act=False):
    """Apply the block's layers; `names` maps step -> layer name. skip_act: the activation
    already ran inside the preceding layer (the seed's Conv1D(activation='relu'))."""
    for step in steps:
        if step == "act" and not skip_act:
            x = keras.layers.Activation(activation, name=names["act"])(x)
        elif step == "bn":
            x = keras.layers.BatchNormalization(name=names["bn"])(x)
        elif step == "do":
            x = keras.layers.Dropout(dropout_rate, name=names["do"])(x)
    return x


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """The convolutional front end (the seed's knobs and defaults).

    dilation: 1 = none; d > 1 = layer i has dilation d**i (1, 2, 4, ... as in WaveNet);
    d < -1 = the seed's "inverse dilations", largest first (..., 4, 2, 1).
    cnn_dense: DenseNet-style, each conv layer's input is the concatenation of the CNN input
    and all earlier conv outputs (needs stride 1 and 'same'/'causal' padding so the time axes
    agree).
    """
    filters: int = 200
    kernel_size: int = 11
    conv_stride: int = 2
    conv_border_mode: str = "valid"
    cnn_layers: int = 1
    dilation: int = 1
    cnn_dropout_rate: float = 0.2
    cnn_bn: bool = True
    cnn_activation_before_bn_do: bool = True
    cnn_do_bn_order: bool = True
    cnn_dense: bool = False
    cnn_activation: str = DEFAULT_ACTIVATION

    def __post_init__(self):
        check_int(self.filters, "filters", 1)
        check_int(self.kernel_size, "kernel_size", 1)
        check_int(self.conv_stride, "conv_stride", 1)
        check_int(self.cnn_layers, "cnn_layers", 1)
        check_rate(self.cnn_dropout_rate, "cnn_dropout_rate")
        check_activation(self.cnn_activation, "cnn_activation")
        if self.conv_border_mode not in BORDER_MODES:
            raise ValueError(f"conv_border_mode={self.conv_border_mode!r}: expected one of "
                             f"{BORDER_MODES}")
        if isinstance(self.dilation, bool) or not isinstance(self.dilation, (int, np.integer)) \
                or self.dilation in (0, -1):
            raise ValueError(f"dilation={self.dilation!r}: expected 1 (none), an integer > 1 "
                             "(growing) or < -1 (inverse, largest first)")
        if self.conv_stride > 1 and max(self.dilations()) > 1:
            raise ValueError(f"conv_stride={self.conv_stride} with dilation={self.dilation}: "
                             "Keras convolutions cannot combine a stride > 1 with dilation > 1")
        if self.cnn_dense and (self.conv_stride != 1 or self.conv_border_mode == "valid"):
            raise ValueError("cnn_dense=True concatenates layer outputs along features, so every "
                             "layer must keep the time length: use conv_stride=1 and "
                             f"conv_border_mode 'same' or 'causal' (got stride {self.conv_stride},"
                             f" {self.conv_border_mode!r})")

    def dilations(self):
        n, d = self.cnn_layers, int(self.dilation)
        if d == 1:
            return [1] * n
        if d > 1:
            return [d ** i for i in range(n)]
        return [(-d) ** (n - 1 - i) for i in range(n)]

    def output_length(self, input_length):
        """Exact frames after the conv stack (int in -> int out, numpy array in -> array out)."""
        n = np.asarray(input_length, dtype=np.int64)
        s = self.conv_stride
        for d in self.dilations():
            if self.conv_border_mode == "valid":
                n = np.maximum(0, (n - (d * (self.kernel_size - 1) + 1)) // s + 1)
            else:  # 'same' and 'causal' (left padding of d*(k-1)) both give ceil(n / s)
                n = (n + s - 1) // s
        return int(n) if n.ndim == 0 else n

    def block_steps(self):
        return block_order(self.cnn_activation, self.cnn_activation_before_bn_do,
                            self.cnn_do_bn_order, self.cnn_bn, self.cnn_dropout_rate)

    def implied_border_mode(self):
        """The padding the seed's names imply without writing it: 'same' for undilated stride-1
        stacks, 'valid' otherwise (its (11,2) and dilated stacks)."""
        return "same" if self.conv_stride == 1 and self.dilation == 1 else "valid"

    def describe(self):
        """Seed style, e.g. "CNN(200 (3,1) relu DO(0.25) BN)x8". The padding is written only
        where it is not the one the seed's names imply, so every seed name is matched and two
        paddings never share a name (tests/test_seed_names.py)."""
        pad = ("" if self.conv_border_mode == self.implied_border_mode()
               else f",{self.conv_border_mode}")
        tokens = block_tokens(self.block_steps(), self.cnn_activation, self.cnn_dropout_rate)
        text = (f"CNN{'_DENSE' if self.cnn_dense else ''}"
                f"({self.filters} ({self.kernel_size},{self.conv_stride}{pad}) {tokens})")
        if self.cnn_layers > 1:
            text += f"x{self.cnn_layers}"
        if self.dilation != 1:
            text += f",d={self.dilation}"
        return text

    def build(self, x, final_block=False):
        """Conv stack on tensor x. final_block=True: the last conv is linear and un-normalised
        because the TDD block follows it directly (the seed's rnn_layers=0 models)."""
        features = [x]
        steps = self.block_steps()
        act_inside = self.cnn_activation_before_bn_do
        for i, d in enumerate(self.dilations()):
            last = final_block and i == self.cnn_layers - 1
            inp = x
            if self.cnn_dense and i > 0:
                inp = keras.layers.Concatenate(name=f"C_CAT_{i}")(features)
            x = keras.layers.Conv1D(
                self.filters, self.kernel_size, strides=self.conv_stride,
                padding=self.conv_border_mode, dilation_rate=d,
                activation=self.cnn_activation if act_inside and not last else None,
                name=f"conv1d{i + 1}")(inp)
            if not last:
                names = {"act": f"reluC{i}" if self.cnn_activation == DEFAULT_ACTIVATION
                         else f"{self.cnn_activation}C{i}",
                         "bn": f"C_BN_{i}", "do": f"C_DO_{i}"}
                x = apply_block(x, steps, self.cnn_activation, self.cnn_dropout_rate, names,
                                 skip_act=act_inside)
            features.append(x)
        return x

    def to_config(self):
        return dataclasses.asdict(self)
