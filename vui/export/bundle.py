"""The JSON beside an exported network: everything a runtime needs besides the network itself.

A runtime that has only this file and the network must compute the same inputs the model was
trained on and read its outputs the same way: the feature settings (and the feature code's
version: other numbers from the same settings would be decoded silently wrong), the training
partition's normalisation statistics, the input shift the model was trained with, the alphabet
and blank, the rule from input frames to output frames (the convolutions' kernel, stride,
padding and dilation, so a runtime needs no Keras to know where an utterance's outputs end),
the duration of an output frame (word times), the batching the Keras path uses (so outputs
match it) and the decoder defaults with the tuned language model.

Reading checks everything a runtime relies on and names the file and what is wrong in it, so
a mismatched, hand-edited or truncated export fails at load with a sentence, not later in numpy.
"""
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

import utils
from char_map import ALPHABET, BLANK_INDEX, NUM_CLASSES
from vui import atomic
from vui.decode.decoders import DECODER_KINDS
from vui.features.speaker_norm import SpeakerNormConfig

BUNDLE_FILE = "vui_bundle.json"
FORMAT_VERSION = 1
NETWORK_FILES = {"savedmodel": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
FORMATS = tuple(NETWORK_FILES)
PADDINGS = ("valid", "same", "causal")
LM_FOLDER = "lm"
# The Keras path's batching (vui.infer.inference: PREDICT_BATCH, PAD_FRAMES_TO). A bidirectional
# layer reads the padding too, so runtimes pad alike to give the same outputs.
DEFAULT_MAX_BATCH = 32
DEFAULT_PAD_FRAMES_TO = 32


class ExportError(ValueError):
    """An export that cannot be used as it is; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ConvStep:
    """One convolution along time: how it changes the number of frames."""
    kernel_size: int
    stride: int = 1
    padding: str = "valid"
    dilation: int = 1

    def frames(self, n):
        """Output frames for `n` input frames (int or integer array), as Keras's Conv1D."""
        n = np.asarray(n, np.int64)
        if self.padding == "valid":
            span = self.dilation * (self.kernel_size - 1) + 1
            return np.maximum(0, (n - span) // self.stride + 1)
        return (n + self.stride - 1) // self.stride      # same, causal: ceil(n / stride)


@dataclass(frozen=True)
class OutputLengthRule:
    """Input frames -> output frames: the convolutions applied in order (none: unchanged)."""
    convolutions: tuple = ()

    def __call__(self, n):
        for step in self.convolutions:
            n = step.frames(n)
        n = np.asarray(n, np.int64)
        return int(n) if n.ndim == 0 else n

    def to_json(self):
        return [asdict(step) for step in self.convolutions]


@dataclass(frozen=True)
class DecoderDefaults:
    """The decoder a runtime uses unless told otherwise, and the tuned language model (its
    file relative to the export folder, copied there by the writer)."""
    kind: str = "greedy"
    beam_width: int = 32
    lm_path: str | None = None
    alpha: float | None = None
    beta: float | None = None


@dataclass(frozen=True, eq=False)
class Bundle:
    """What a runtime needs to turn audio into transcripts with an exported network."""
    format: str
    network: str                          # file or folder, relative to the export folder
    model_name: str
    feature_config: utils.FeatureConfig
    mean: np.ndarray                      # float32, per feature
    std: np.ndarray                       # float32, already floored (utils.STD_FLOOR)
    output_length: OutputLengthRule
    seconds_per_frame: float
    input_shift: SpeakerNormConfig | None = None
    input_batch: int | None = None        # None: any batch size; 1: one utterance a call
    select_tf_ops: bool = False           # LiteRT: needs TensorFlow's ops (its interpreter)
    decoder: DecoderDefaults = field(default_factory=DecoderDefaults)
    max_batch: int = DEFAULT_MAX_BATCH
    pad_frames_to: int = DEFAULT_PAD_FRAMES_TO
    source: dict = field(default_factory=dict)   # the .keras file, its sha256, its dtype
    directory: Path | None = None         # where it was read from (not written)

    @property
    def feature_dim(self):
        return self.feature_config.feature_dim

    @property
    def path(self):
        return Path(self.directory or ".") / BUNDLE_FILE

    @property
    def network_path(self):
        return Path(self.directory or ".") / self.network

    @property
    def lm_file(self):
        """The language model's path on this machine, or None."""
        lm = self.decoder.lm_path
        return None if lm is None else str(Path(self.directory or ".") / lm)

    def to_json(self):
        return {
            "format_version": FORMAT_VERSION,
            "format": self.format,
            "network": self.network,
            "model_name": self.model_name,
            "source": self.source,
            "input": {"feature_dim": self.feature_dim, "batch": self.input_batch,
                      "dtype": "float32", "time": "dynamic"},
            "features": {"config": asdict(self.feature_config),
                         "feature_version": utils.FEATURE_VERSION},
            "normalization": {"mean": self.mean.tolist(), "std": self.std.tolist(),
                              "rule": "(features - mean) / std"},
            "input_shift": None if self.input_shift is None else asdict(self.input_shift),
            "alphabet": {"labels": list(ALPHABET), "blank": BLANK_INDEX},
            "output_length": {"convolutions": self.output_length.to_json(),
                              "rule": "per convolution in order: valid: max(0, (n - dilation * "
                                      "(kernel_size - 1) - 1) // stride + 1); same, causal: "
                                      "ceil(n / stride)"},
            "seconds_per_frame": self.seconds_per_frame,
            "select_tf_ops": self.select_tf_ops,
            "batching": {"max_batch": self.max_batch, "pad_frames_to": self.pad_frames_to},
            "decoder": asdict(self.decoder),
        }


def write_bundle(bundle, out_dir):
    """The bundle as `out_dir/vui_bundle.json` (atomically); returns its path."""
    path = Path(out_dir) / BUNDLE_FILE
    atomic.write_text(path, json.dumps(bundle.to_json(), indent=1) + "\n")
    return path


def read_bundle(export_dir):
    """The checked Bundle of an export folder (or of its vui_bundle.json)."""
    export_dir = Path(export_dir)
    path = export_dir if export_dir.name == BUNDLE_FILE else export_dir / BUNDLE_FILE
    if not path.is_file():
        raise ExportError(f"{path}: missing; an export folder holds {BUNDLE_FILE} beside its "
                          "network (write one with `vui export MODEL --format onnx --out DIR`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ExportError(f"{path}: not valid JSON ({err}); the export may be truncated: "
                          "export the model again") from None
    return _parse(_Reader(data, path), path.parent)


@dataclass
class _Reader:
    """Required fields of the JSON, each checked for its type; errors name the file."""
    data: dict
    path: Path

    def fail(self, message):
        raise ExportError(f"{self.path}: {message}")

    def get(self, dotted, kind):
        value = self.data
        for key in dotted.split("."):
            if not isinstance(value, dict) or key not in value:
                self.fail(f"no {dotted!r}; expected the bundle `vui export` writes")
            value = value[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(f"{dotted!r} is {value!r}; expected {_kind_name(kind)}")
        return value


def _kind_name(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def _parse(r, directory):
    if not isinstance(r.data, dict):
        r.fail("expected a JSON object")
    version = r.get("format_version", int)
    if version != FORMAT_VERSION:
        r.fail(f"format version {version}; this vui reads version {FORMAT_VERSION} "
               "(export the model again with this vui)")
    fmt = r.get("format", str)
    if fmt not in FORMATS:
        r.fail(f"unknown format {fmt!r}; expected one of {FORMATS}")
    _check_alphabet(r)
    config = _feature_config(r)
    mean, std = _statistics(r, config.feature_dim)
    return Bundle(
        format=fmt, network=_network(r, directory), model_name=r.get("model_name", str),
        feature_config=config, mean=mean, std=std, output_length=_output_rule(r),
        seconds_per_frame=_positive(r, "seconds_per_frame"), input_shift=_input_shift(r),
        input_batch=_batch(r),
        select_tf_ops=r.get("select_tf_ops", bool), decoder=_decoder(r),
        max_batch=int(_positive(r, "batching.max_batch")),
        pad_frames_to=int(_positive(r, "batching.pad_frames_to")),
        source=r.get("source", dict), directory=directory)


def _inside(name):
    """Whether a path in a bundle names something inside its folder (no absolute path, no
    ..): a received bundle must not point a runtime, or `vui lm tune`, elsewhere."""
    return not Path(name).is_absolute() and ".." not in Path(name).parts


def _network(r, directory):
    name = r.get("network", str)
    if not _inside(name):
        r.fail(f"network {name!r} must be a name inside the export folder")
    if not (directory / name).exists():
        r.fail(f"its network {directory / name} is missing: the export is incomplete; "
               "export the model again")
    return name


def _check_alphabet(r):
    labels, blank = r.get("alphabet.labels", list), r.get("alphabet.blank", int)
    if "".join(map(str, labels)) != ALPHABET or blank != BLANK_INDEX:
        r.fail(f"alphabet {''.join(map(str, labels))!r} with blank {blank}; this vui decodes "
               f"{ALPHABET!r} with blank {BLANK_INDEX} ({NUM_CLASSES} classes)")


def _feature_config(r):
    """The FeatureConfig, refused when this vui cannot reproduce the features exactly."""
    settings = r.get("features.config", dict)
    known = {f.name for f in fields(utils.FeatureConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        r.fail(f"feature settings {unknown} are unknown to this vui: it cannot compute "
               "these features (a newer vui wrote the export)")
    version = r.get("features.feature_version", int)
    if version != utils.FEATURE_VERSION:
        r.fail(f"features of version {version}; this vui computes version "
               f"{utils.FEATURE_VERSION}, whose numbers differ: use the vui that exported it")
    try:
        config = utils.FeatureConfig(**settings)
    except (TypeError, ValueError) as err:
        r.fail(f"feature settings {settings}: {err}")
    width = r.get("input.feature_dim", int)
    if width != config.feature_dim:
        r.fail(f"input.feature_dim is {width}, but its feature settings give "
               f"{config.feature_dim} features a frame")
    return config


def _statistics(r, width):
    arrays = []
    for key in ("mean", "std"):
        values = np.asarray(r.get(f"normalization.{key}", list), dtype=np.float32)
        if values.shape != (width,) or not np.all(np.isfinite(values)):
            r.fail(f"normalization.{key} has shape {values.shape} (finite: "
                   f"{bool(np.all(np.isfinite(values)))}); the features have {width} values "
                   "a frame")
        arrays.append(values)
    if np.any(arrays[1] <= 0):
        r.fail("normalization.std has values <= 0")
    return arrays


def _output_rule(r):
    steps = []
    for i, item in enumerate(r.get("output_length.convolutions", list)):
        try:
            step = ConvStep(**item)
        except TypeError as err:
            r.fail(f"output_length.convolutions[{i}] = {item!r}: {err}")
        if step.padding not in PADDINGS or min(step.kernel_size, step.stride, step.dilation) < 1:
            r.fail(f"output_length.convolutions[{i}] = {item!r}: expected positive kernel_size, "
                   f"stride, dilation and a padding in {PADDINGS}")
        steps.append(step)
    return OutputLengthRule(tuple(steps))


def _batch(r):
    batch = r.get("input.batch", (int, type(None)))
    if batch is not None and batch < 1:
        r.fail(f"input.batch is {batch}; expected a positive batch size or null (any)")
    return batch


def _positive(r, key):
    value = float(r.get(key, (int, float)))
    if not (math.isfinite(value) and value > 0):
        r.fail(f"{key!r} is {value!r}; expected a positive number")
    return value


def _input_shift(r):
    shift = r.get("input_shift", (dict, type(None)))
    if shift is None:
        return None
    try:
        return SpeakerNormConfig(**shift).validate()
    except (TypeError, ValueError) as err:
        r.fail(f"input_shift {shift!r}: {err}")


def _decoder(r):
    settings = r.get("decoder", dict)
    try:
        decoder = DecoderDefaults(**settings)
    except TypeError as err:
        r.fail(f"decoder {settings!r}: {err}")
    if decoder.kind not in DECODER_KINDS:
        r.fail(f"decoder kind {decoder.kind!r}; expected one of {DECODER_KINDS}")
    if decoder.lm_path is not None and not _inside(decoder.lm_path):
        r.fail(f"language model {decoder.lm_path!r} must be a name inside the export folder")
    if decoder.lm_path is not None and not (r.path.parent / decoder.lm_path).is_file():
        r.fail(f"its language model {r.path.parent / decoder.lm_path} is missing")
    return decoder
