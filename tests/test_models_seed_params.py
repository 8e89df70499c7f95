"""The builder against the seed notebook's own printed Keras summaries.

Each case is a seed cell's `M.RNNModel(...)` call (the seed's line number in
shared/seed/000_6a47bd71cffcd1ef.txt), the feature width it ran on, and the total parameter
count the seed printed. Conv1D, BatchNormalization, SimpleRNN, GRU (reset_after, as CuDNNGRU)
and Dense count the same in Keras 3, so the totals must agree exactly; LSTM counts differ by
cuDNN's second bias vector and are checked against our own formula.
"""
import pytest

import models as M
from models import BidirectionalMerge, CNNConfig, RNNModel, RNNType

CONCAT = BidirectionalMerge.concat
FINAL_CNN = dict(kernel_size=3, conv_stride=1, conv_border_mode="same", cnn_dropout_rate=0.25,
                 cnn_activation_before_bn_do=True, cnn_do_bn_order=True)

# (seed line, input_dim, printed total, builder)
SEED_CASES = [
    (673, 161, 850829, lambda: RNNModel(cnn_config=CNNConfig(), bd_merge=CONCAT,
                                        rnn_type=RNNType.GRU, rnn_layers=1)),
    (735, 161, 850029, lambda: RNNModel(cnn_config=CNNConfig(cnn_bn=False), bd_merge=CONCAT,
                                        rnn_type=RNNType.GRU, rnn_layers=1)),
    (764, 161, 850829, lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0),
                                        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (826, 161, 850029, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_activation_before_bn_do=False, cnn_bn=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (943, 161, 1291829, lambda: RNNModel(cnn_config=CNNConfig(cnn_layers=2), bd_merge=CONCAT,
                                         rnn_type=RNNType.GRU, rnn_layers=1)),
    (1148, 161, 858629, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=5, conv_stride=1, conv_border_mode="same",
                             cnn_layers=2, cnn_activation_before_bn_do=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (1653, 161, 2408229, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                             cnn_layers=16, cnn_activation_before_bn_do=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (2604, 161, 1935533, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                             cnn_layers=12, cnn_dense=True, filters=76), rnn_layers=1)),
    (3073, 161, 3665597, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                             cnn_layers=18, cnn_dense=True, filters=76), rnn_layers=1)),
    (3295, 161, 2133479, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                             cnn_layers=12, cnn_dense=True, filters=90), rnn_layers=0)),
    (3450, 161, 587629, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=5, conv_stride=1, conv_border_mode="same",
                             cnn_layers=2, cnn_dense=True, filters=100,
                             cnn_activation_before_bn_do=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (3771, 161, 714229, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="valid",
                             cnn_layers=2, dilation=2, cnn_activation_before_bn_do=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (4090, 161, 1291829, lambda: RNNModel(
        cnn_config=CNNConfig(kernel_size=11, conv_stride=1, conv_border_mode="valid",
                             cnn_layers=2, dilation=-2, cnn_activation_before_bn_do=False),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_layers=1)),
    (5396, 161, 1687829, lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=4, rnn_bn=False,
                                          rnn_dropout_rate=0)),
    (5438, 161, 1691029, lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=4, rnn_bn=True,
                                          rnn_dropout_rate=0)),
    (5800, 161, 1207029, lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=2,
                                          rnn_dropout_rate=0.2)),
    (6044, 161, 3627029, lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=12,
                                          rnn_dropout_rate=0.2)),
    (6412, 161, 1690229, lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0.25),
                                          rnn_layers=4, rnn_dropout_rate=0.2,
                                          activation_before_bn_do=True, bn=False)),
    (6464, 161, 1691029, lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0.25),
                                          rnn_layers=4, rnn_dropout_rate=0.2,
                                          activation_before_bn_do=False, dropout_rate=0)),
    (6943, 161, 2401429, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=1, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.GRU, rnn_layers=8, rnn_dropout_rate=0.2, dropout_rate=0.3)),
    (7872, 161, 4681429, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=6, cnn_dense=True,
                             **{**FINAL_CNN, "cnn_dropout_rate": 0.35}),
        bd_merge=CONCAT, rnn_type=RNNType.GRU, rnn_dense=True, rnn_layers=4,
        rnn_dropout_rate=0.3, dropout_rate=0.3)),
    (8109, 161, 6132329, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=12, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.GRU, rnn_dense=True, rnn_units=300, rnn_layers=4,
        rnn_dropout_rate=0.3, dropout_rate=0.3, name_suffix="Final")),
    (8379, 161, 4566429, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=12, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.GRU, rnn_dense=True, rnn_layers=5, rnn_dropout_rate=0.2,
        dropout_rate=0.3)),
    (8918, 26, 4258379, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=8, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.GRU, rnn_dense=True, rnn_units=250, rnn_layers=4,
        rnn_dropout_rate=0.2, dropout_rate=0.3, name_suffix="Final")),
    # the final model, MFCC (26) and spectrogram (161) versions, as the seed passed it
    (9220, 26, 4742379, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=12, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.GRU, rnn_dense=True, rnn_units=250, rnn_layers=4,
        rnn_dropout_rate=0.2, dropout_rate=0.3, name_suffix="Final")),
    (9084, 161, 4823379, lambda: M.presets.final()),
    (9220, 26, 4742379, lambda: M.presets.final()),
]


@pytest.mark.parametrize("line, input_dim, seed_total, make",
                         SEED_CASES, ids=[f"seed-line{c[0]}-dim{c[1]}" for c in SEED_CASES])
def test_parameter_count_matches_seed_printout(line, input_dim, seed_total, make):
    assert make().build(input_dim).count_params() == seed_total


def _lstm_params(units, input_dim):
    """Keras 3 LSTM: one bias vector (cuDNN's CuDNNLSTM had two: + 4 * units)."""
    return 4 * (units * (input_dim + units) + units)


# LSTM cells: seed total minus cuDNN's second bias (4 * units) for every LSTM direction.
LSTM_CASES = [
    # seed In[7] (line 383): rnn1 CuDNNLSTM(200) on 161 features, one direction
    (297029, 1, lambda: RNNModel(bd_merge=None, rnn_type=RNNType.LSTM)),
    # seed In[11] (line 423), Model 2
    (683429, 1, lambda: M.presets.model_2()),
    # seed line 8542: BiLSTM(250) + 3 LSTM(250), dense connections: 5 directions
    (5466879, 5, lambda: RNNModel(
        cnn_config=CNNConfig(cnn_layers=8, **FINAL_CNN), bd_merge=CONCAT,
        rnn_type=RNNType.LSTM, rnn_dense=True, rnn_units=250, rnn_layers=4,
        rnn_dropout_rate=0.2, dropout_rate=0.3, name_suffix="Final")),
]


@pytest.mark.parametrize("seed_total, directions, make", LSTM_CASES)
def test_lstm_count_is_seed_minus_cudnn_second_bias(seed_total, directions, make):
    builder = make()
    assert builder.build(161).count_params() == seed_total - directions * 4 * builder.rnn_units


def test_lstm_layer_count_formula():
    model = RNNModel(bd_merge=None, rnn_type=RNNType.LSTM, rnn_units=37).build(13)
    assert model.get_layer("rnn1").count_params() == _lstm_params(37, 13)


ABBR = {"InputLayer": "In", "Conv1D": "C", "Dropout": "DO", "BatchNormalization": "BN",
        "Activation": "A", "Bidirectional": "BI", "GRU": "GRU", "Concatenate": "CAT",
        "Dense": "D"}

# Layer classes in order, as the seed printed them (TimeDistributed(Dense) -> Dense,
# CuDNNGRU -> GRU); the seed's Conv1D carries its relu when the activation comes first.
ORDER_CASES = [
    (704, "In C BN DO BI A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_do_bn_order=False), bd_merge=CONCAT,
                      rnn_type=RNNType.GRU)),
    (857, "In C BN A DO BI A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_activation_before_bn_do=False,
                                           cnn_do_bn_order=False),
                      bd_merge=CONCAT, rnn_type=RNNType.GRU)),
    (891, "In C BN A BI A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_activation_before_bn_do=False,
                                           cnn_do_bn_order=False, cnn_dropout_rate=0),
                      bd_merge=CONCAT, rnn_type=RNNType.GRU)),
    (1148, "In C DO A BN C DO A BN BI A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(kernel_size=5, conv_stride=1, conv_border_mode="same",
                                           cnn_layers=2, cnn_activation_before_bn_do=False),
                      bd_merge=CONCAT, rnn_type=RNNType.GRU)),
    (5396, "In C DO BN BI A GRU A GRU A GRU A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=4, rnn_bn=False, rnn_dropout_rate=0)),
    (5486, "In C DO BN BI A DO GRU A DO GRU A DO GRU A BN DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(), rnn_layers=4, rnn_bn=False,
                      rnn_dropout_rate=0.2)),
    (6250, "In C DO BN BI BN A DO GRU BN A DO GRU BN A DO GRU DO A BN D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0.25), rnn_layers=4,
                      activation_before_bn_do=False, do_bn_order=True)),
    (6358, "In C DO BN BI BN A DO GRU BN A DO GRU BN A DO GRU A DO BN D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0.25), rnn_layers=4,
                      activation_before_bn_do=True, do_bn_order=True)),
    (6412, "In C DO BN BI BN A DO GRU BN A DO GRU BN A DO GRU A DO D A",
     lambda: RNNModel(cnn_config=CNNConfig(cnn_dropout_rate=0.25), rnn_layers=4, bn=False)),
    (9220, "In" + " C DO BN" * 12 + " BI BN A DO CAT GRU BN A DO CAT GRU BN A DO CAT GRU"
     " BN A DO D A", lambda: M.presets.final()),
]


@pytest.mark.parametrize("line, expected, make", ORDER_CASES,
                         ids=[f"seed-line{c[0]}" for c in ORDER_CASES])
def test_layer_order_matches_seed_printout(line, expected, make):
    model = make().build(161)
    assert " ".join(ABBR[type(layer).__name__] for layer in model.layers) == expected
