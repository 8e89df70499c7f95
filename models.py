"""Acoustic models: one configurable builder for every architecture the seed notebook trains.

The seed's module (`import models as M`): `M.RNNModel` and `M.CNNConfig` describe a model
(vui.model.rnn, vui.model.cnn: there so that the seed's `reload(M)` leaves their classes
alone), `M.presets` names the seed's Models 0-4, its final model and the CPU demo model.

Backend-agnostic: only keras.layers / keras.ops / numpy; no tensorflow import.
"""
from vui.model.cnn import (  # noqa: F401  (public: the seed's M.x)
    BORDER_MODES, DEFAULT_ACTIVATION, CNNConfig)
from vui.model.rnn import (  # noqa: F401  (public: the seed's M.x)
    CUDNN_ACTIVATION, CUDNN_RECURRENT_ACTIVATION, INPUT_NAME, NO_CUDNN_UNDER_JAX, NUM_CLASSES,
    OUTPUT_DTYPE, OUTPUT_NAME, RETIRED_FIELDS, BidirectionalMerge, RNNModel, RNNType)
from vui.results import safe_filename  # noqa: F401  (M.safe_filename: public since the seed days)


class _Presets:
    """The seed's Models 0-4, its final model and the CPU demo model, by name.

    Models 0-4 pass the seed cells' arguments, plus the rnn_type those cells printed where the
    seed's default has changed since (they printed CuDNNLSTM).
    """

    @staticmethod
    def model_0():
        """Model 0: one SimpleRNN layer straight into the softmax (seed In[5])."""
        return RNNModel(bd_merge=None, rnn_type=RNNType.SimpleRNN, time_distributed_dense=False)

    @staticmethod
    def model_1():
        """Model 1: RNN + time-distributed dense (seed In[7])."""
        return RNNModel(bd_merge=None, rnn_type=RNNType.LSTM)

    @staticmethod
    def model_2():
        """Model 2: CNN + RNN + time-distributed dense (seed In[11])."""
        return RNNModel(cnn_config=CNNConfig(), bd_merge=None, rnn_type=RNNType.LSTM)

    @staticmethod
    def model_3():
        """Model 3: deeper RNN, two recurrent layers (seed In[12])."""
        return RNNModel(bd_merge=None, rnn_type=RNNType.LSTM, rnn_layers=2)

    @staticmethod
    def model_4():
        """Model 4: bidirectional RNN (seed In[20]; its first layer is the bidirectional one)."""
        return RNNModel(bd_merge=BidirectionalMerge.concat, rnn_type=RNNType.LSTM, rnn_layers=2)

    @staticmethod
    def final():
        """The seed's final model (12 x CNN, BiGRU + 3 GRU, dense RNN connections)."""
        return RNNModel(
            cnn_config=CNNConfig(kernel_size=3, conv_stride=1, conv_border_mode="same",
                                 cnn_layers=12, cnn_dropout_rate=0.25,
                                 cnn_activation_before_bn_do=True, cnn_do_bn_order=True),
            bd_merge=BidirectionalMerge.concat, rnn_type=RNNType.GRU, rnn_dense=True,
            rnn_units=250, rnn_layers=4, rnn_dropout_rate=0.2, dropout_rate=0.3,
            activation_before_bn_do=False, name_suffix="Final")

    @staticmethod
    def demo():
        """Small model that trains on 2 CPU cores in minutes: CNN(200,(11,3)) + 4 x BiGRU(160),
        1.81 M parameters on MFCC 26.

        Stride 3 leaves a third of the input frames to the recurrent layers (33 a second), two
        thirds of stride 2's recurrent steps. The third BiGRU pays once the corpus has 18,000
        utterances, though its epochs are longer (docs/experiments/demo.md, "2026-12-02,
        later: twice the sentences, a third BiGRU"); the fourth pays once TensorFlow's threads
        are set for 2 cores (vui.cpu_threads; same file, "2026-12-02, evening: TensorFlow's CPU
        threads, a fourth BiGRU"), with fewer epochs in the same 14 minutes. CTC still aligns:
        the embedded corpus's most crowded transcript needs 0.82 of the frames it gets
        (characters + repeats), its median 0.49."""
        return RNNModel(
            cnn_config=CNNConfig(filters=200, kernel_size=11, conv_stride=3,
                                 conv_border_mode="same", cnn_dropout_rate=0.1),
            rnn_type=RNNType.GRU, rnn_units=160, rnn_layers=4,
            bd_merge=BidirectionalMerge.concat, bd_layers=4, rnn_bn=True, rnn_dropout_rate=0.1,
            activation_before_bn_do=False, dropout_rate=0.1, name_suffix="Demo")


presets = _Presets()
