"""The recurrent acoustic model's builder: `RNNModel`, a *description* of a model.

`RNNModel(...)` is what the seed's `train_model(M.RNNModel(...))` cells pass;
`builder.build(input_dim)` turns it into a Keras 3 model that maps features `(batch, time,
input_dim)` to softmax probabilities over the 29 classes of `char_map`. Keeping the description
separate from the Keras graph lets the trainer name result files, pickle the configuration and
rebuild the exact model later without Keras objects in the pickle.

Semantics follow the seed's printed model summaries (layer order of each knob, which layer is
bidirectional, where dropout and batch norm sit); where the seed's code changed over time the
defaults reproduce the majority of its printouts (see `RNNModel` for the conflicts).

Why here and not in models.py: models.py is the seed's module, which its notebook reloads
(`reload(M)`, `%autoreload`); a class defined there changes identity on every reload, so a
builder made before a reload would no longer be an `M.RNNModel` after it. models.py re-exports
these names (`M.RNNModel` is this class) and keeps the presets.

Backend-agnostic: only keras.layers / keras.ops / numpy; no tensorflow import.
"""
import dataclasses
import enum
import warnings

import keras
import numpy as np

import char_map
from vui.model.cnn import (DEFAULT_ACTIVATION, CNNConfig, apply_block, block_order,
                           block_tokens, check_activation, check_int, check_rate, fmt_rate)
from vui.results import safe_filename

NUM_CLASSES = char_map.NUM_CLASSES          # softmax width: 28 characters + CTC blank
# cuDNN GRU/LSTM kernels exist only for these two activations (Keras checks them by identity).
CUDNN_ACTIVATION = "tanh"
CUDNN_RECURRENT_ACTIVATION = "sigmoid"
# Options of older versions, removed with their only users; records saved with their
# defaults still load.
RETIRED_FIELDS = {"frames_per_step": 1, "rnn_residual": False}
INPUT_NAME = "the_input"
OUTPUT_NAME = "softmax"
# The output Dense and softmax compute in float32 under any mixed-precision policy: a bfloat16
# softmax rounds small probabilities to zero, and the CTC loss takes their logarithm.
OUTPUT_DTYPE = "float32"
NO_CUDNN_UNDER_JAX = (
    "Keras' JAX backend has no cuDNN GRU: this model's GRU layers run as a lax.scan loop, several "
    "times slower on a GPU ('CuDNN' in its name says only that the layers qualify). LSTM, or "
    "KERAS_BACKEND=tensorflow / torch, run on cuDNN.")
_SAID_NO_CUDNN = False


# String-valued enums compared with ==, never `is`: a notebook that reloads this module (the
# seed's `reload(M)`, `%autoreload`) holds members of the old class, which `is` would not match
# (a GRU builder built an LSTM). str members compare equal by value across reloads.
class RNNType(str, enum.Enum):
    SimpleRNN = "SimpleRNN"
    GRU = "GRU"
    LSTM = "LSTM"


class BidirectionalMerge(str, enum.Enum):
    concat = "concat"
    sum = "sum"
    ave = "ave"
    mul = "mul"


def _enum_member(enum_cls, value, field):
    """This module's member for a member (of this or a reloaded copy of the class) or its name
    in any case (configs and CLIs hand us strings: "gru" is GRU)."""
    if isinstance(value, enum.Enum):
        value = value.name
    if isinstance(value, str):
        by_folded_name = {name.casefold(): name for name in enum_cls.__members__}
        if value.casefold() in by_folded_name:
            return enum_cls[by_folded_name[value.casefold()]]
    raise ValueError(f"{field}={value!r} is not one of {list(enum_cls.__members__)}")


def _from_reloaded_module(value, cls):
    """True for an instance of an older copy of `cls` (made before `reload(models)`)."""
    return (not isinstance(value, cls) and dataclasses.is_dataclass(value)
            and type(value).__qualname__ == cls.__qualname__)


@dataclasses.dataclass(frozen=True)
class RNNModel:
    """Builder of CNN + RNN + time-distributed-dense acoustic models (the seed's knobs).

    Layout: [CNN] -> rnn1 .. rnnN -> [TDD block -> Dense(29)] -> softmax.
    - Only the first `bd_layers` recurrent layers are bidirectional (the seed's printouts: one,
      the others unidirectional; the demo preset uses 4).
    - Between recurrent layers (all but the last, the seed's "(:-1)"): [BN] activation [DO],
      layers R_BN_i, reluR{i}, R_DO_i.
    - rnn_dense: each recurrent layer's input is the concatenation of the stack's input and all
      earlier block outputs.
    - After the last recurrent layer, the TDD block (bn / activation / dropout_rate ordered by
      activation_before_bn_do and do_bn_order, same rule as the CNN) and a Dense(29).
      time_distributed_dense=False: no block, the last recurrent layer has 29 units itself.
    - rnn_layers=0: CNN straight into the TDD block (the seed's rnn_layers=0 cell).

    Defaults are those that reproduce most of the seed's printouts. Conflicts (the seed's own
    code changed between cells): rnn_type printed CuDNNLSTM in 5 early cells and GRU in ~25 later
    ones -> GRU; the TDD block printed "relu BN DO" in 72 cells and "BN relu DO" in 32 later ones
    (the final model among them) -> activation_before_bn_do=True, do_bn_order=False, and the
    final preset passes activation_before_bn_do=False; early multi-layer cells had only dropout
    between recurrent layers, later ones BN relu DO -> rnn_bn=True.
    """
    cnn_config: CNNConfig = None
    rnn_type: RNNType = RNNType.GRU
    rnn_units: int = 200
    rnn_layers: int = 1
    bd_merge: BidirectionalMerge = BidirectionalMerge.concat
    bd_layers: int = 1
    rnn_bn: bool = True
    rnn_dropout_rate: float = 0.2
    rnn_dense: bool = False
    time_distributed_dense: bool = True
    activation_before_bn_do: bool = True
    do_bn_order: bool = False
    dropout_rate: float = 0.2
    bn: bool = True
    activation: str = DEFAULT_ACTIVATION
    rnn_activation: str = CUDNN_ACTIVATION
    recurrent_dropout: float = 0.0
    name_suffix: str = ""

    def __post_init__(self):
        if isinstance(self.cnn_config, dict):
            object.__setattr__(self, "cnn_config", CNNConfig(**self.cnn_config))
        elif _from_reloaded_module(self.cnn_config, CNNConfig):
            object.__setattr__(self, "cnn_config", CNNConfig(**dataclasses.asdict(self.cnn_config)))
        if self.cnn_config is not None and not isinstance(self.cnn_config, CNNConfig):
            raise ValueError(f"cnn_config={self.cnn_config!r}: expected a CNNConfig or None")
        object.__setattr__(self, "rnn_type", _enum_member(RNNType, self.rnn_type, "rnn_type"))
        if self.bd_merge is not None:
            object.__setattr__(self, "bd_merge", _enum_member(BidirectionalMerge, self.bd_merge,
                                                              "bd_merge"))
        object.__setattr__(self, "name_suffix", self.name_suffix or "")
        self._validate()

    def _validate(self):
        check_int(self.rnn_units, "rnn_units", 1)
        check_int(self.rnn_layers, "rnn_layers", 0)
        check_int(self.bd_layers, "bd_layers", 1)
        for field in ("rnn_dropout_rate", "dropout_rate", "recurrent_dropout"):
            check_rate(getattr(self, field), field)
        for field in ("activation", "rnn_activation"):
            check_activation(getattr(self, field), field)
        if self.rnn_layers == 0 and self.cnn_config is None:
            raise ValueError("rnn_layers=0 without a cnn_config leaves no layers to build")
        if self.rnn_layers == 0 and not self.time_distributed_dense:
            raise ValueError("rnn_layers=0 needs time_distributed_dense=True: the Dense layer "
                             f"is what maps the CNN features to the {NUM_CLASSES} classes")
        if self.bd_merge is not None and self.rnn_layers and self.bd_layers > self.rnn_layers:
            raise ValueError(f"bd_layers={self.bd_layers} exceeds rnn_layers={self.rnn_layers}")
        if (not self.time_distributed_dense and self.bd_merge == BidirectionalMerge.concat
                and self.bd_layers >= self.rnn_layers):
            raise ValueError("time_distributed_dense=False makes the last recurrent layer the "
                             f"{NUM_CLASSES}-class output; a bidirectional concat there would "
                             f"give {2 * NUM_CLASSES}: use sum/ave/mul, fewer bd_layers, or TDD")

    # ---- description --------------------------------------------------------------------
    @property
    def cudnn_eligible(self):
        """True when Keras may run the recurrent layers on the cuDNN kernels (GPU permitting):
        GRU/LSTM with tanh/sigmoid, no recurrent dropout; we always pass reset_after=True,
        unroll=False, use_bias=True and use_cudnn='auto'. SimpleRNN has no cuDNN kernel."""
        return (self.rnn_type in (RNNType.GRU, RNNType.LSTM)
                and self.rnn_activation == CUDNN_ACTIVATION and self.recurrent_dropout == 0)

    def _tdd_steps(self):
        return block_order(self.activation, self.activation_before_bn_do, self.do_bn_order,
                            self.bn, self.dropout_rate)

    def _inter_steps(self):
        return (["bn"] if self.rnn_bn else []) + ["act"] + (
            ["do"] if self.rnn_dropout_rate > 0 else [])

    def _describe_rnn(self):
        kind = ("CuDNN" if self.cudnn_eligible else "") + self.rnn_type.value + (
            "_DENSE" if self.rnn_dense else "")
        inner = f"{self.rnn_units} x{self.rnn_layers}"
        if self.rnn_activation != CUDNN_ACTIVATION:
            inner += f" cell={self.rnn_activation}"
        if self.recurrent_dropout:
            inner += f" r{fmt_rate(self.recurrent_dropout)}"
        if self.rnn_layers > 1:
            inner += " " + block_tokens(self._inter_steps(), self.activation,
                                         self.rnn_dropout_rate) + "(:-1)"
        text = f"{kind}({inner})"
        if self.bd_merge is not None:
            times = f"x{self.bd_layers}" if self.bd_layers > 1 else ""
            text = f"BD({self.bd_merge.value}){times} {text}"
        return text

    def describe(self):
        """The seed-style name without the feature prefix ("Spec "/"MFCC ": train_utils adds it),
        e.g. 'CNN(200 (3,1) relu DO(0.25) BN)x8 BD(concat) CuDNNGRU_DENSE(250 x4 BN relu
        DO(0.2)(:-1)) BN relu DO(0.3) TD(D) Final'. Settings that change the model show up."""
        parts = []
        if self.cnn_config is not None:
            parts.append(self.cnn_config.describe())
        if self.rnn_layers:
            parts.append(self._describe_rnn())
        if self.time_distributed_dense:
            parts += [block_tokens(self._tdd_steps(), self.activation, self.dropout_rate),
                      "TD(D)"]
        else:
            parts.append(f"noTD({NUM_CLASSES})")
        if self.name_suffix:
            parts.append(self.name_suffix)
        return " ".join(parts)

    def output_length(self, input_length):
        """Model output frames for `input_length` input frames (int or numpy int array)."""
        if self.cnn_config is None:
            n = np.asarray(input_length, dtype=np.int64)
        else:
            n = np.asarray(self.cnn_config.output_length(input_length), dtype=np.int64)
        return int(n) if n.ndim == 0 else n

    # ---- serialisation ------------------------------------------------------------------
    def to_config(self):
        """Plain JSON/pickle-safe dict: enums by name, the CNNConfig as a nested dict."""
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        config["cnn_config"] = None if self.cnn_config is None else self.cnn_config.to_config()
        config["rnn_type"] = self.rnn_type.name
        config["bd_merge"] = None if self.bd_merge is None else self.bd_merge.name
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for field, default in RETIRED_FIELDS.items():
            if config.get(field, default) != default:
                raise ValueError(f"{field}={config[field]!r}: this option was removed from "
                                 "RNNModel; a model trained with it cannot be rebuilt here")
            config.pop(field, None)
        unknown = set(config) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown RNNModel config keys {sorted(unknown)}")
        return cls(**config)

    # ---- Keras graph --------------------------------------------------------------------
    def _recurrent_layer(self, units, index):
        common = dict(units=units, return_sequences=True, activation=self.rnn_activation,
                      recurrent_dropout=self.recurrent_dropout, name=f"rnn{index + 1}")
        if self.rnn_type == RNNType.SimpleRNN:
            return keras.layers.SimpleRNN(**common)
        common.update(recurrent_activation=CUDNN_RECURRENT_ACTIVATION, use_bias=True,
                      unroll=False, use_cudnn="auto")
        if self.rnn_type == RNNType.GRU:
            return keras.layers.GRU(reset_after=True, **common)
        # Keras' LSTM has one bias vector; the seed's CuDNNLSTM had two (input and recurrent),
        # so our LSTM layers have 4 * units fewer parameters per direction than its printouts.
        return keras.layers.LSTM(**common)

    def _build_rnn(self, x):
        features = [x]
        inter = self._inter_steps()
        for i in range(self.rnn_layers):
            last = i == self.rnn_layers - 1
            units = NUM_CLASSES if last and not self.time_distributed_dense else self.rnn_units
            layer = self._recurrent_layer(units, i)
            if self.bd_merge is not None and i < self.bd_layers:
                layer = keras.layers.Bidirectional(layer, merge_mode=self.bd_merge.value,
                                                   name=f"bidirectional_rnn{i + 1}")
            inp = x
            if self.rnn_dense and i > 0:
                inp = keras.layers.Concatenate(name=f"R_CAT_{i}")(features)
            out = layer(inp)
            x = out
            if not last:
                names = {"act": f"{self.activation}R{i}", "bn": f"R_BN_{i}", "do": f"R_DO_{i}"}
                x = apply_block(x, inter, self.activation, self.rnn_dropout_rate, names)
            features.append(x)
        return x

    def build(self, input_dim):
        """The Keras model for features of width `input_dim` (161 spectrogram, 13/26 MFCC);
        `model.output_length` is attached (the same callable as `self.output_length`)."""
        check_int(input_dim, "input_dim", 1)
        inputs = keras.Input(shape=(None, int(input_dim)), name=INPUT_NAME)
        x = inputs
        if self.cnn_config is not None:
            x = self.cnn_config.build(x, final_block=self.rnn_layers == 0)
        if self.rnn_layers:
            x = self._build_rnn(x)
        if self.time_distributed_dense:
            names = {"act": self.activation, "bn": "TDD_BN", "do": "TDD_DO"}
            x = apply_block(x, self._tdd_steps(), self.activation, self.dropout_rate, names)
            # A plain Dense on the 3-D tensor is the per-time-step dense layer; Keras 3.15.1's
            # TimeDistributed(Dense) mis-maps a variable time axis on TensorFlow (NOTES.md).
            x = keras.layers.Dense(NUM_CLASSES, name="time_distributed_dense",
                                   dtype=OUTPUT_DTYPE)(x)
        outputs = keras.layers.Activation("softmax", name=OUTPUT_NAME, dtype=OUTPUT_DTYPE)(x)
        model = keras.Model(inputs, outputs, name=safe_filename(self.describe()))
        model.output_length = self.output_length
        self._say_if_no_cudnn()
        return model

    def _say_if_no_cudnn(self):
        """Keras' JAX backend runs a GRU as a lax.scan loop, never cuDNN: say so once on a GPU,
        since the model's name (which must not change with the backend) says 'CuDNN'."""
        global _SAID_NO_CUDNN
        if _SAID_NO_CUDNN or keras.backend.backend() != "jax" or not self.rnn_layers \
                or self.rnn_type != RNNType.GRU or not self.cudnn_eligible:
            return
        import jax
        if jax.default_backend() == "gpu":
            _SAID_NO_CUDNN = True
            warnings.warn(NO_CUDNN_UNDER_JAX, stacklevel=3)
