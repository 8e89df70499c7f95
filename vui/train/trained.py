"""A trained model back from results/: the Keras model, its results record and its exact
`output_length`. Below inference and training both, so neither has to import the other to
load a model (the seed's `T.load_model` calls this).
"""
from pathlib import Path

from vui import results as R


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
    if not Path(model_path).exists():
        raise FileNotFoundError(f"no trained model at {model_path}: train it first with "
                                "T.train_model")
    pickle_path = model_path.with_suffix(".pickle")
    record = None if history else R.load_metadata(model_path)
    if record is None:
        record = R.load_pickle(pickle_path)
    model = keras.saving.load_model(model_path, compile=False)
    model.output_length = models.RNNModel.from_config(record["model_config"]).output_length
    attach_record(model, record, R.existing_run_file(pickle_path) or pickle_path)
    return model


def attach_record(model, record, pickle_path):
    """Give the model its results record. object.__setattr__ keeps Keras from wrapping the dict
    in its attribute tracker (a tracked dict holds a reference to the layer and cannot be
    pickled)."""
    object.__setattr__(model, "vui_record", record)
    object.__setattr__(model, "vui_pickle_path", Path(pickle_path))
