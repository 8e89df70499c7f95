"""Mixed precision: a run trains in bfloat16 / float16 arithmetic, its softmax and loss stay
float32, and what it saves loads and transcribes in float32 like any other model."""
import math

import keras
import numpy as np
import pytest

import char_map
import train_utils as T
from vui.train.precision import loss_scaled
from test_train_utils import adam, gen, tiny_builder  # noqa: F401 (gen: the fixture)
from vui import results as R
from vui.infer.recognizer import Recognizer

LOW_PRECISION = {"mixed_bfloat16", "mixed_float16", "bfloat16", "float16"}


def train(gen, results_dir, precision, epochs=1):
    return T.train_model(gen, tiny_builder(), epochs=epochs, minibatch_size=3, optimizer=adam,
                         verbose=0, results_dir=results_dir, precision=precision)


def layer_policies(model):
    return {layer.dtype_policy.name for layer in model.layers}


def test_the_output_layers_compute_in_float32_under_a_mixed_policy():
    with T.dtype_policy("mixed_bfloat16"):
        model = tiny_builder().build(161)
    assert keras.config.dtype_policy().name == "float32"       # put back after the block
    x = np.zeros((2, 40, 161), np.float32)
    assert keras.ops.convert_to_numpy(model(x)).dtype == np.float32
    assert model.get_layer("rnn1").compute_dtype == "bfloat16"
    assert model.get_layer("softmax").compute_dtype == "float32"
    assert model.get_layer("time_distributed_dense").compute_dtype == "float32"
    assert {w.dtype for w in model.weights} == {"float32"}    # weights stay float32


def test_bfloat16_trains_and_its_saved_model_transcribes_in_float32(gen, tmp_path):
    results_dir = tmp_path / "results"
    name = train(gen, results_dir, "mixed_bfloat16")
    assert name == T.model_name(gen, tiny_builder()) + " MP(bf16)"
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    record = R.load_pickle(pickle_path)
    assert record["precision"] == "mixed_bfloat16" and record["completed"]
    assert math.isfinite(record["loss"][0]) and math.isfinite(record["val_loss"][0])
    assert keras.config.dtype_policy().name == "float32"

    recognizer = Recognizer.load(model_path)
    assert not layer_policies(recognizer.model) & LOW_PRECISION
    probs = recognizer.probabilities([gen.get_features("validation", 0)])[0]
    assert probs.dtype == np.float32 and np.allclose(probs.sum(axis=-1), 1, atol=1e-4)
    transcripts = recognizer.transcribe(gen.valid_audio_paths[:2])
    assert all(isinstance(t, str) and set(t) <= set(char_map.ALPHABET) for t in transcripts)
    assert T.load_model(gen, tiny_builder(), results_dir, precision="mixed_bfloat16").name


def test_float16_scales_the_loss_and_continues_with_its_optimizer_state(gen, tmp_path):
    results_dir = tmp_path / "results"
    name = train(gen, results_dir, "mixed_float16")
    model_path = R.run_paths(name, results_dir)[1]
    saved = keras.saving.load_model(model_path, compile=False)
    assert not layer_policies(saved) & LOW_PRECISION
    train(gen, results_dir, "mixed_float16", epochs=2)          # continues from the saved file
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert len(record["loss"]) == 2 and all(math.isfinite(v) for v in record["loss"])


def test_loss_scaling_is_for_float16_only():
    sgd = keras.optimizers.SGD()
    assert isinstance(loss_scaled(sgd, "mixed_float16"), keras.optimizers.LossScaleOptimizer)
    assert loss_scaled(sgd, "mixed_bfloat16") is sgd
    assert loss_scaled(sgd, None) is sgd


def test_an_unknown_precision_is_refused_before_any_work(gen, tmp_path):
    with pytest.raises(ValueError, match="precision='float8'"):
        train(gen, tmp_path / "results", "float8")
    assert not (tmp_path / "results").exists()
