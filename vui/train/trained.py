"""A trained model back from results/, and what it is: its `ModelInfo`.

Below inference and training both, so neither has to import the other to load a model (the
seed's `T.load_model` calls this). The Keras model carries its run's record (`vui_record`,
the dict train_model keeps and saves); everything else reads that record through
`model_info(model)`, a typed view, so one function knows the record's layout.
"""
import zipfile
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

import numpy as np

import utils
from vui import results as R
from vui.features.speaker_norm import SpeakerNormConfig


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """What inference needs to know about a trained model besides its weights: the features
    it was trained on, the training partition's normalisation statistics, the input shift it
    was trained with (None: none), its tuned language model (None: none), its builder's
    configuration, the index it was trained on (an absolute path; None: not recorded). Every
    field is None for a bare Keras model without a record."""
    name: str | None = None
    feature_config: utils.FeatureConfig | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    speaker_norm: SpeakerNormConfig | None = None
    lm: dict | None = None
    model_config: dict | None = None
    train_index: str | None = None

    @classmethod
    def from_record(cls, record):
        stats = record.get("normalization") or {}
        features = record.get("feature_config")
        if is_dataclass(features):
            features = asdict(features)
        shift = record.get("speaker_norm")
        return cls(name=record.get("name"),
                   feature_config=utils.FeatureConfig(**features) if features else None,
                   mean=_array(stats.get("mean")), std=_array(stats.get("std")),
                   speaker_norm=SpeakerNormConfig(**shift).validate() if shift else None,
                   lm=record.get("lm") or None, model_config=record.get("model_config"),
                   train_index=record.get("train_index"))

    @property
    def stats(self):
        """The normalisation statistics as the generator gives them ({"mean", "std"}), or None."""
        return None if self.mean is None else {"mean": self.mean, "std": self.std}

    @property
    def feature_settings(self):
        """The feature settings as a plain dict (a generator's `for_features` takes it)."""
        return None if self.feature_config is None else asdict(self.feature_config)


def _array(values):
    return None if values is None else np.asarray(values, np.float32)


def model_info(model) -> ModelInfo:
    """The ModelInfo of a model that carries its record (T.train_model's, T.load_model's), or
    of a Recognizer; an empty one for a bare Keras model."""
    info = getattr(model, "info", None)
    if isinstance(info, ModelInfo):
        return info
    return ModelInfo.from_record(getattr(model, "vui_record", None) or {})


def keras_model(model):
    """The Keras model of a Recognizer (its `.model`), or `model` itself: evaluation and
    transcription take either."""
    return model.model if isinstance(getattr(model, "info", None), ModelInfo) else model


def load_model(model_path, history=True):
    """The model saved at `model_path` (a `.keras` path, its `.pickle`, or a run's name), with
    `model.vui_record` (the run's record) and `model.output_length` (the builder's).

    history=False: the record is the JSON metadata beside the model (what inference needs,
    no loss history), so nothing is unpickled; runs saved before it existed fall back to
    their pickle.
    """
    import keras
    import models
    model_path = R.resolve_model_path(model_path)
    pickle_path = model_path.with_suffix(".pickle")
    if not Path(model_path).exists():
        raise FileNotFoundError(_no_model_message(model_path, pickle_path))
    record = _record(model_path, pickle_path, history)
    if record.get("lm"):
        record["lm"] = R.tuned_lm(record["lm"], model_path)
    model = _read_keras(keras, model_path)
    check_network(model, ModelInfo.from_record(record), model_path)
    model.output_length = models.RNNModel.from_config(record["model_config"]).output_length
    attach_record(model, record, R.existing_run_file(pickle_path) or pickle_path)
    return model


def _record(model_path, pickle_path, history):
    """The run's record: its pickle (with the loss history) when `history`, else the JSON
    metadata; either one stands in when the other was not copied with the model."""
    pickle_found = R.existing_run_file(pickle_path)
    record = None if history and pickle_found else R.load_metadata(model_path)
    if record is None:
        if pickle_found is None:
            raise FileNotFoundError(
                f"{model_path} has neither its metadata ({model_path.with_suffix('.json')}) "
                f"nor its record ({pickle_path}) beside it; a model is saved with them "
                "(copy all three files of a run)")
        record = R.load_pickle(pickle_found)
    return record


def check_network(model, info, source, error=ValueError):
    """The network must take the features its record names: a .keras file copied beside
    another run's record would otherwise fail deep in Keras, at the first batch (or be
    exported with the wrong features). `source` names the model in the message."""
    width = int(model.input_shape[-1])
    if info.feature_config is not None and width != info.feature_config.feature_dim:
        raise error(f"{source}: its network takes {width} features a frame, but its record "
                    f"({info.name!r}) gives {info.feature_config.feature_dim}; the .keras file "
                    "and its .json/.pickle come from different runs")


def _no_model_message(model_path, pickle_path):
    """Why there is no model file: never trained, or a run stopped before its end (its
    record is there, its model is saved when it finishes)."""
    try:
        record = R.load_pickle(pickle_path)
    except (OSError, ValueError):
        record = None
    if record is None or record.get("completed"):
        return f"no trained model at {model_path}: train it first (T.train_model, or `vui train`)"
    epochs = len(record.get("loss") or [])
    return (f"no trained model at {model_path}: its run '{record.get('name')}' stopped after "
            f"epoch {epochs} of {record.get('epochs_requested', '?')} (interrupted?); its last "
            "epoch's weights are in its backup. Run the same T.train_model call or `vui train` "
            "command again to finish it (it resumes) and save the model"
            + (f", or with epochs={epochs} (--epochs {epochs}) to save it as it is now"
               if epochs else ""))


def _read_keras(keras, model_path):
    """The Keras model in `model_path`; a damaged archive is named as such (Keras reports a
    truncated .keras, or any file that is no zip, as "File not found")."""
    try:
        open(model_path, "rb").close()           # is_zipfile says False for a file it cannot open
    except OSError as err:
        raise ValueError(f"{model_path}: cannot be read ({err.strerror or err})") from None
    if not zipfile.is_zipfile(model_path):
        raise ValueError(f"{model_path}: cannot be read as a Keras model: it is not a zip "
                         "archive, as a .keras file is (truncated, or another kind of file): "
                         "copy or train it again")
    try:
        return keras.saving.load_model(model_path, compile=False)
    except Exception as err:   # Keras raises ValueError, OSError, zipfile errors...
        raise ValueError(f"{model_path}: cannot be read as a Keras model ({type(err).__name__}: "
                         f"{err}); the archive may be damaged: copy or train it again") from None


def attach_record(model, record, pickle_path):
    """Give the model its results record. object.__setattr__ keeps Keras from wrapping the dict
    in its attribute tracker (a tracked dict holds a reference to the layer and cannot be
    pickled)."""
    object.__setattr__(model, "vui_record", record)
    object.__setattr__(model, "vui_pickle_path", Path(pickle_path))
