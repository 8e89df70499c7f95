"""Behaviour of the acoustic-model builder: lengths, shapes, names, config round trips, cuDNN."""
import dataclasses
import json
import pathlib
import random

import keras
import numpy as np
import pytest

import char_map
import models as M
from models import BidirectionalMerge, CNNConfig, RNNModel, RNNType


def _random_cnn(rng):
    mode = rng.choice(M.BORDER_MODES)
    layers = rng.randint(1, 4)
    stride = rng.choice([1, 1, 2, 3])
    dilation = 1 if stride > 1 or layers == 1 else rng.choice([1, 2, 3, -2])
    dense = stride == 1 and mode != "valid" and rng.random() < 0.3
    return CNNConfig(filters=rng.randint(2, 5), kernel_size=rng.randint(1, 6), conv_stride=stride,
                     conv_border_mode=mode, cnn_layers=layers, dilation=dilation,
                     cnn_dense=dense, cnn_dropout_rate=rng.choice([0, 0.1]),
                     cnn_bn=rng.random() < 0.5,
                     cnn_activation_before_bn_do=rng.random() < 0.5)


def _conv_reference_length(n, kernel, stride, dilation, mode):
    """Textbook formulas (independent of models.py) for one Conv1D."""
    if mode == "valid":
        span = dilation * (kernel - 1) + 1
        return max(0, -(-(n - span + 1) // stride))      # ceil((n - span + 1) / stride)
    return -(-n // stride)                                # 'same' and 'causal': ceil(n/stride)


def test_output_length_matches_real_model_for_random_configs():
    rng = random.Random(1234)
    checked = 0
    for _ in range(24):
        cnn = _random_cnn(rng)
        builder = RNNModel(cnn_config=cnn, rnn_layers=rng.choice([0, 1]), rnn_units=3,
                           bd_merge=rng.choice([None, BidirectionalMerge.sum]))
        model = builder.build(4)
        span = sum(d * (cnn.kernel_size - 1) for d in cnn.dilations()) + 1
        lengths = sorted({span + rng.randint(0, 4), span + 17, 40 + rng.randint(0, 9)})
        for n in lengths:
            x = np.zeros((2, n, 4), dtype="float32")
            got = model(x, training=False).shape[1]
            assert got == model.output_length(n) == builder.output_length(n), (cnn, n)
            expected = n
            for d in cnn.dilations():
                expected = _conv_reference_length(expected, cnn.kernel_size, cnn.conv_stride, d,
                                                  cnn.conv_border_mode)
            assert got == expected
            checked += 1
    assert checked >= 60


def test_output_length_accepts_numpy_arrays_and_clamps_at_zero():
    cnn = CNNConfig(kernel_size=11, conv_stride=2, conv_border_mode="valid")
    lengths = np.array([0, 5, 11, 12, 13, 100])
    np.testing.assert_array_equal(cnn.output_length(lengths), [0, 0, 1, 1, 2, 45])
    assert isinstance(cnn.output_length(100), int)
    assert RNNModel(cnn_config=None).output_length(np.array([3, 7])).tolist() == [3, 7]
    assert RNNModel(cnn_config=None).output_length(12) == 12


@pytest.mark.parametrize("dilation, expected", [(1, [1, 1, 1, 1]), (2, [1, 2, 4, 8]),
                                                (3, [1, 3, 9, 27]), (-2, [8, 4, 2, 1])])
def test_dilation_schedules_reach_the_conv_layers(dilation, expected):
    cnn = CNNConfig(kernel_size=3, conv_stride=1, cnn_layers=4, dilation=dilation, filters=4)
    assert cnn.dilations() == expected
    model = RNNModel(cnn_config=cnn, rnn_units=3).build(5)
    rates = [model.get_layer(f"conv1d{i + 1}").dilation_rate[0] for i in range(4)]
    assert rates == expected


def test_dense_output_shape_is_right_at_several_lengths_in_one_process():
    """Guards the TimeDistributed bug (NOTES.md): retracing for new lengths must keep time."""
    builder = RNNModel(cnn_config=CNNConfig(filters=8, kernel_size=5, conv_stride=2),
                       rnn_units=6, rnn_layers=2)
    model = builder.build(13)
    for n in (50, 73, 20, 121):
        probs = model.predict(np.random.default_rng(n).normal(size=(4, n, 13)).astype("float32"),
                              verbose=0)
        assert probs.shape == (4, builder.output_length(n), char_map.NUM_CLASSES)
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
        assert (probs >= 0).all()
    assert not any(isinstance(layer, keras.layers.TimeDistributed) for layer in model.layers)
    assert not any(isinstance(layer, keras.layers.Masking) for layer in model.layers)


def test_model_contract_names_and_output():
    model = M.presets.demo().build(161)
    assert model.layers[0].name == "the_input"
    assert model.layers[-1].name == "softmax"
    assert model.output.shape[-1] == char_map.NUM_CLASSES
    assert callable(model.output_length) and model.output_length(200) == 67  # ceil(200/3)


def test_without_time_distributed_dense_the_last_rnn_is_the_29_class_output():
    model = RNNModel(bd_merge=None, rnn_type=RNNType.SimpleRNN, time_distributed_dense=False,
                     rnn_layers=2, rnn_units=7).build(26)
    assert model.get_layer("rnn2").units == char_map.NUM_CLASSES
    assert model.get_layer("rnn1").units == 7
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers)
    assert model.output.shape[-1] == char_map.NUM_CLASSES


@pytest.mark.parametrize("bd_layers", [1, 2, 3])
def test_only_the_first_bd_layers_are_bidirectional(bd_layers):
    model = RNNModel(rnn_units=5, rnn_layers=3, bd_layers=bd_layers, rnn_dense=True).build(6)
    wrapped = [isinstance(model.get_layer(name), keras.layers.Bidirectional)
               for name in ("bidirectional_rnn1", "bidirectional_rnn2", "bidirectional_rnn3",
                            "rnn1", "rnn2", "rnn3") if _has_layer(model, name)]
    assert wrapped == [True] * bd_layers + [False] * (3 - bd_layers)


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def test_dense_connections_concatenate_all_earlier_outputs():
    model = RNNModel(cnn_config=CNNConfig(filters=10, kernel_size=3, conv_stride=1,
                                          conv_border_mode="same", cnn_layers=3, cnn_dense=True),
                     rnn_units=4, rnn_layers=3, bd_merge=BidirectionalMerge.concat,
                     rnn_dense=True).build(7)
    assert model.get_layer("C_CAT_1").output.shape[-1] == 7 + 10
    assert model.get_layer("C_CAT_2").output.shape[-1] == 7 + 10 + 10
    assert model.get_layer("R_CAT_1").output.shape[-1] == 10 + 8      # CNN out + BiGRU(4)
    assert model.get_layer("R_CAT_2").output.shape[-1] == 10 + 8 + 4


def test_seed_example_name_and_final_preset():
    builder = RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                             cnn_layers=8, cnn_dropout_rate=0.25),
        rnn_type=RNNType.GRU, rnn_dense=True, rnn_units=250, rnn_layers=4,
        rnn_dropout_rate=0.2, dropout_rate=0.3, activation_before_bn_do=False,
        name_suffix="Final")
    assert "Spec " + builder.describe() == (
        "Spec CNN(200 (3,1) relu DO(0.25) BN)x8 BD(concat) CuDNNGRU_DENSE(250 x4 BN relu "
        "DO(0.2)(:-1)) BN relu DO(0.3) TD(D) Final")
    assert M.presets.final().describe() == (
        "CNN(200 (3,1) relu DO(0.25) BN)x12 BD(concat) CuDNNGRU_DENSE(250 x4 BN relu "
        "DO(0.2)(:-1)) BN relu DO(0.3) TD(D) Final")


@pytest.mark.parametrize("builder, expected", [
    (RNNModel(cnn_config=CNNConfig(cnn_activation_before_bn_do=False, cnn_do_bn_order=False),
              rnn_type=RNNType.GRU),
     "CNN(200 (11,2) BN relu DO(0.2)) BD(concat) CuDNNGRU(200 x1) relu BN DO(0.2) TD(D)"),
    (RNNModel(cnn_config=CNNConfig(kernel_size=3, conv_stride=1, cnn_layers=4, dilation=-2),
              rnn_layers=4, rnn_bn=False, rnn_dropout_rate=0),
     "CNN(200 (3,1) relu DO(0.2) BN)x4,d=-2 BD(concat) CuDNNGRU(200 x4 relu(:-1)) "
     "relu BN DO(0.2) TD(D)"),
    (RNNModel(bd_merge=BidirectionalMerge.sum, rnn_type=RNNType.LSTM, rnn_layers=2,
              dropout_rate=0, bn=False),
     "BD(sum) CuDNNLSTM(200 x2 BN relu DO(0.2)(:-1)) relu TD(D)"),
])
def test_describe_in_seed_style(builder, expected):
    assert builder.describe() == expected


def test_padding_is_written_where_it_departs_from_the_seeds_implied_one():
    described = {mode: CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode=mode).describe()
                 for mode in ("same", "valid", "causal")}
    assert described == {"same": "CNN(200 (3,1) relu DO(0.2) BN)",
                         "valid": "CNN(200 (3,1,valid) relu DO(0.2) BN)",
                         "causal": "CNN(200 (3,1,causal) relu DO(0.2) BN)"}
    assert CNNConfig(conv_border_mode="same").describe() == "CNN(200 (11,2,same) relu DO(0.2) BN)"


def _random_builder(rng):
    cnn = _random_cnn(rng) if rng.random() < 0.7 else None
    rnn_layers = rng.randint(0 if cnn else 1, 3)
    return RNNModel(
        cnn_config=cnn, rnn_type=rng.choice(list(RNNType)), rnn_units=rng.choice([3, 4]),
        rnn_layers=rnn_layers, bd_merge=rng.choice([None, *BidirectionalMerge]),
        rnn_bn=rng.random() < 0.5, rnn_dropout_rate=rng.choice([0, 0.2]),
        rnn_dense=rng.random() < 0.5, activation_before_bn_do=rng.random() < 0.5,
        do_bn_order=rng.random() < 0.5, dropout_rate=rng.choice([0, 0.3]),
        bn=rng.random() < 0.5, rnn_activation=rng.choice(["tanh", "tanh", "relu"]),
        recurrent_dropout=rng.choice([0, 0, 0.1]))


def _architecture(model):
    """Everything about a built model except its name."""
    return [(type(layer).__name__, layer.name, json.dumps(layer.get_config(), sort_keys=True,
                                                          default=str))
            for layer in model.layers]


def test_distinct_configurations_get_distinct_names_and_file_names():
    rng = random.Random(7)
    builders = {_random_builder(rng) for _ in range(300)}
    by_name = {}
    for builder in builders:
        by_name.setdefault(builder.describe(), []).append(builder)
    shared = {name: sharing for name, sharing in by_name.items() if len(sharing) > 1}
    for name, sharing in shared.items():        # one name: settings that build one model
        built = [_architecture(b.build(5)) for b in sharing]
        assert all(arch == built[0] for arch in built), name
    assert len(by_name) > 250
    assert len({M.safe_filename(name) for name in by_name}) == len(by_name)


# one alternative value per field, to vary a builder one setting at a time
ALTERNATIVES = {
    "rnn_type": [RNNType.LSTM, RNNType.SimpleRNN], "rnn_units": [5], "rnn_layers": [1, 3],
    "bd_merge": [None, BidirectionalMerge.ave], "bd_layers": [2], "rnn_bn": [False],
    "rnn_dropout_rate": [0.0], "rnn_dense": [True], "time_distributed_dense": [False],
    "activation_before_bn_do": [False], "do_bn_order": [True], "dropout_rate": [0.0, 0.5],
    "bn": [False], "activation": ["elu"], "rnn_activation": ["relu"],
    "recurrent_dropout": [0.25],
}
CNN_ALTERNATIVES = {
    "filters": [3], "kernel_size": [2], "conv_stride": [2], "conv_border_mode": ["valid"],
    "cnn_layers": [3], "dilation": [2, -2], "cnn_dropout_rate": [0.0], "cnn_bn": [False],
    "cnn_activation_before_bn_do": [False], "cnn_do_bn_order": [False], "cnn_dense": [True],
    "cnn_activation": ["tanh"],
}


def _variants(base):
    for field, values in ALTERNATIVES.items():
        for value in values:
            try:
                yield dataclasses.replace(base, **{field: value})
            except ValueError:
                pass            # an invalid combination, refused by validation
    for field, values in CNN_ALTERNATIVES.items():
        for value in values:
            try:
                yield dataclasses.replace(
                    base, cnn_config=dataclasses.replace(base.cnn_config, **{field: value}))
            except ValueError:
                pass


def test_name_changes_exactly_when_the_built_model_changes():
    """describe() is injective on what gets built: vary one setting at a time and compare the
    name with the Keras architecture (layer types, names and configs). name_suffix is a
    label on top and is left out here."""
    base = RNNModel(cnn_config=CNNConfig(filters=4, kernel_size=3, conv_stride=1,
                                         conv_border_mode="same", cnn_layers=2),
                    rnn_units=3, rnn_layers=2)
    base_arch = _architecture(base.build(5))
    changed = 0
    for variant in _variants(base):
        same_model = _architecture(variant.build(5)) == base_arch
        same_name = variant.describe() == base.describe()
        assert same_model == same_name, (variant, variant.describe())
        changed += not same_name
    assert changed >= 30


def test_safe_filename_is_file_system_safe_and_bounded(tmp_path):
    name = "Spec " + M.presets.final().describe()
    stem = M.safe_filename(name)
    assert set(stem) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert stem.startswith("Spec_CNN_200_3-1_relu")
    (tmp_path / f"{stem}.pickle").write_bytes(b"x")
    long_name = "Spec " + " ".join([M.presets.final().describe()] * 10)
    assert len(M.safe_filename(long_name) + ".pickle") < 255
    assert M.safe_filename("a b") != M.safe_filename("a_b")     # the hash tells them apart
    with pytest.raises(ValueError, match="non-empty"):
        M.safe_filename("  ")


@pytest.mark.parametrize("name", ["model_0", "model_1", "model_2", "model_3", "model_4",
                                  "final", "demo"])
def test_config_round_trip_is_json_safe(name):
    builder = getattr(M.presets, name)()
    config = builder.to_config()
    restored = RNNModel.from_config(json.loads(json.dumps(config)))
    assert restored == builder
    assert restored.describe() == builder.describe()
    assert isinstance(config["rnn_type"], str)
    assert config["cnn_config"] is None or isinstance(config["cnn_config"], dict)


def test_random_configs_round_trip():
    rng = random.Random(3)
    for _ in range(50):
        builder = _random_builder(rng)
        assert RNNModel.from_config(json.loads(json.dumps(builder.to_config()))) == builder


def test_from_config_rejects_unknown_keys():
    config = RNNModel().to_config()
    config["rnn_unitz"] = 3
    with pytest.raises(ValueError, match="rnn_unitz"):
        RNNModel.from_config(config)


def test_gru_and_lstm_are_configured_for_cudnn():
    model = RNNModel(rnn_layers=2, rnn_units=4).build(5)
    forward = model.get_layer("bidirectional_rnn1").forward_layer
    for layer in (forward, model.get_layer("rnn2")):
        assert isinstance(layer, keras.layers.GRU)
        assert layer.cell.reset_after and layer.use_cudnn == "auto" and not layer.unroll
        assert layer.cell.activation is keras.activations.tanh
        assert layer.cell.recurrent_activation is keras.activations.sigmoid
        assert layer.cell.recurrent_dropout == 0 and layer.cell.use_bias
    lstm = RNNModel(bd_merge=None, rnn_type="LSTM", rnn_units=4).build(5).get_layer("rnn1")
    assert lstm.use_cudnn == "auto" and lstm.cell.activation is keras.activations.tanh


@pytest.mark.parametrize("kwargs, cudnn, prefix", [
    ({}, True, "CuDNNGRU(200 x1)"),
    ({"rnn_type": RNNType.LSTM}, True, "CuDNNLSTM(200 x1)"),
    ({"rnn_type": RNNType.SimpleRNN}, False, "SimpleRNN(200 x1)"),
    ({"rnn_type": "lstm"}, True, "CuDNNLSTM(200 x1)"),          # a name, in any case
    ({"rnn_type": "simplernn"}, False, "SimpleRNN(200 x1)"),
    ({"rnn_activation": "relu"}, False, "GRU(200 x1 cell=relu)"),
    ({"recurrent_dropout": 0.1}, False, "GRU(200 x1 rDO(0.1))"),
])
def test_name_says_cudnn_only_when_eligible(kwargs, cudnn, prefix):
    builder = RNNModel(bd_merge=None, **kwargs)
    assert builder.cudnn_eligible is cudnn
    assert builder.describe().startswith(prefix)


def test_generic_kernel_configuration_is_what_the_name_says():
    layer = RNNModel(bd_merge=None, rnn_activation="relu", recurrent_dropout=0.1,
                     rnn_units=3).build(4).get_layer("rnn1")
    assert layer.cell.activation is keras.activations.relu
    assert layer.cell.recurrent_dropout == pytest.approx(0.1)


def test_rnn_layers_zero_puts_the_tdd_block_on_the_last_conv():
    cnn = CNNConfig(filters=6, kernel_size=3, conv_stride=1, conv_border_mode="same",
                    cnn_layers=2)
    model = RNNModel(cnn_config=cnn, rnn_layers=0).build(5)
    assert model.get_layer("conv1d2").activation is keras.activations.linear
    assert [layer.name for layer in model.layers] == [
        "the_input", "conv1d1", "C_DO_0", "C_BN_0", "conv1d2", "relu", "TDD_BN", "TDD_DO",
        "time_distributed_dense", "softmax"]


@pytest.mark.parametrize("make, message", [
    (lambda: CNNConfig(conv_border_mode="full"), "conv_border_mode='full'"),
    (lambda: CNNConfig(dilation=0), "dilation=0"),
    (lambda: CNNConfig(cnn_layers=3, dilation=2, conv_stride=2), "stride"),
    (lambda: CNNConfig(cnn_dense=True), "cnn_dense"),
    (lambda: CNNConfig(filters=0), "filters=0"),
    (lambda: CNNConfig(cnn_dropout_rate=1.5), "cnn_dropout_rate=1.5"),
    (lambda: RNNModel(rnn_layers=0), "rnn_layers=0"),
    (lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=0, time_distributed_dense=False),
     "time_distributed_dense"),
    (lambda: RNNModel(time_distributed_dense=False), "concat"),
    (lambda: RNNModel(rnn_type="Transformer"), "rnn_type='Transformer'"),
    (lambda: RNNModel(bd_merge="max"), "bd_merge='max'"),
    (lambda: RNNModel(activation="reluu"), "activation='reluu': expected the name of a Keras"),
    (lambda: RNNModel(rnn_activation="tanhh"), "rnn_activation='tanhh'"),
    (lambda: CNNConfig(cnn_activation=None), "cnn_activation=None"),
    (lambda: RNNModel(rnn_layers=2, bd_layers=3), "bd_layers=3"),
    (lambda: RNNModel(cnn_config={"filters": 10, "kernal_size": 3}), "kernal_size"),
    (lambda: RNNModel().build(0), "input_dim=0"),
])
def test_bad_configuration_is_a_clear_error(make, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        make()


def test_presets_build_and_match_the_seed_models():
    assert M.presets.model_0().build(161).count_params() == 29 * (161 + 29) + 29
    assert "SimpleRNN" in M.presets.model_0().describe()
    assert M.presets.model_4().describe().startswith("BD(concat) CuDNNLSTM(200 x2")
    demo = M.presets.demo()
    assert demo.cudnn_eligible and demo.rnn_layers == demo.bd_layers == 4
    # The demo preset on MFCC 26: Conv1D 26 x 11 x 200 + 200 and its BN 800 = 58,200; a
    # BiGRU(160) on 200 inputs 2 x 3 x (160 x 360 + 320) = 347,520, on 320 inputs 462,720,
    # each followed by a BN of 1,280; the softmax Dense 320 x 29 + 29 = 9,309.
    assert demo.build(26).count_params() == 1_808_309
    assert demo.output_length(1000) == 334          # stride 3: 33 frames per second of audio


def test_models_module_is_backend_agnostic():
    model_layer = pathlib.Path(M.__file__).parent / "vui" / "model"   # ctc.py: the loss, apart
    for path in [pathlib.Path(M.__file__), model_layer / "rnn.py", model_layer / "cnn.py"]:
        source = path.read_text()
        assert "import tensorflow" not in source and "from tensorflow" not in source, path


def _bench_models():
    from conftest import load_benchmark
    return load_benchmark("bench_models")


def test_forward_flops_count_every_matrix_product_at_its_own_frame_rate():
    """bench_models' FLOP count against a hand count: conv (stride 2), BiGRU, GRU, LSTM, Dense."""
    bench = _bench_models()
    builder = RNNModel(cnn_config=CNNConfig(filters=6, kernel_size=3, conv_stride=2,
                                            conv_border_mode="same"),
                       rnn_type=RNNType.GRU, rnn_units=5, rnn_layers=2, bd_layers=1)
    model = builder.build(4)
    frames = 20
    steps = builder.output_length(frames)          # 10: the stride halves the time axis
    conv = steps * 2 * 3 * 4 * 6
    bigru = 2 * steps * 2 * 3 * 5 * (6 + 5)        # two directions, three gates
    gru = steps * 2 * 3 * 5 * (10 + 5)             # input: the BiGRU's concat, 10 wide
    dense = steps * 2 * 5 * M.NUM_CLASSES
    assert steps == 10
    assert bench.forward_flops(model, 4, frames) == conv + bigru + gru + dense
    lstm = RNNModel(rnn_type=RNNType.LSTM, rnn_units=3, rnn_layers=1, bd_merge=None).build(2)
    assert bench.forward_flops(lstm, 2, 7) == 7 * 2 * 4 * 3 * (2 + 3) + 7 * 2 * 3 * M.NUM_CLASSES


RELOAD_SCRIPT = """
import importlib
import data_generator as DG, models as M, train_utils as T, utils as U
builder = M.RNNModel(bd_merge=None, rnn_type=M.RNNType.GRU)
simple = M.RNNModel(bd_merge=None, rnn_type=M.RNNType.SimpleRNN, time_distributed_dense=False)
cnn, merge = M.CNNConfig(), M.BidirectionalMerge.sum
for module in (U, DG, M, T):
    importlib.reload(module)
assert isinstance(builder, M.RNNModel) and isinstance(cnn, M.CNNConfig)   # one class throughout
assert builder.rnn_type == M.RNNType.GRU and builder.cudnn_eligible, builder
assert "CuDNNGRU" in builder.describe(), builder.describe()
layers = {type(layer).__name__ for layer in builder.build(26).layers}
assert "GRU" in layers and "LSTM" not in layers, layers
assert "SimpleRNN" in {type(layer).__name__ for layer in simple.build(26).layers}
rebuilt = M.RNNModel(cnn_config=cnn, bd_merge=merge, rnn_layers=2)
assert isinstance(rebuilt.cnn_config, M.CNNConfig)
assert rebuilt.build(161).get_layer("bidirectional_rnn1").merge_mode == "sum"
assert M.RNNModel.from_config(builder.to_config()).to_config() == builder.to_config()
print("ok")
"""


def test_builders_survive_reloading_the_seed_modules():
    """The seed notebook builds a builder, then `reload(M); reload(T)` (and runs %autoreload)
    before training: members of the reloaded enums must still select the same layers (they
    once fell through to LSTM). In a subprocess, so the reload touches no other test."""
    import subprocess
    import sys
    from pathlib import Path
    done = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_records_with_retired_options_at_their_defaults_still_load():
    config = {**RNNModel().to_config(), "frames_per_step": 1, "rnn_residual": False}
    assert RNNModel.from_config(config) == RNNModel()
    with pytest.raises(ValueError, match="frames_per_step=2: this option was removed"):
        RNNModel.from_config({**config, "frames_per_step": 2})


def test_tensorflows_retracing_warning_is_hushed_for_keras_trainer_functions_only():
    """Every new model's trainer functions share Keras' code, which TensorFlow's retracing
    detector counts by (vui.model.tracing); a user's own retracing function is still told."""
    import logging
    heard = []

    class Ear(logging.Handler):
        def emit(self, record):
            heard.append(record.getMessage())
    logger = logging.getLogger("tensorflow")
    ear = Ear()
    logger.addHandler(ear)
    try:
        logger.warning("5 out of the last 9 calls to <function TensorFlowTrainer._make_function."
                       "<locals>.multi_step_on_iterator at 0x7f04> triggered tf.function "
                       "retracing. Tracing is expensive")
        logger.warning("5 out of the last 5 calls to <function my_step at 0x7f05> triggered "
                       "tf.function retracing. Tracing is expensive")
        logger.warning("something else from TensorFlowTrainer")
    finally:
        logger.removeHandler(ear)
    assert [m[:40] for m in heard] == ["5 out of the last 5 calls to <function m",
                                       "something else from TensorFlowTrainer"]
