"""A Keras GRU whose input projection runs once per sequence instead of once per time step.

Keras 3.15's GRU on the TensorFlow backend runs cuDNN on a GPU; everywhere else (every CPU) it
falls back to a loop that calls GRUCell at each step, and GRUCell multiplies that step's input by
the input kernel inside the loop: T small (batch, input_dim) x (input_dim, 3 units) products
forward, and as many in the backward pass. For the demo's layers that product is 55-67% of the
loop's arithmetic. `HoistedGRU` computes it for all steps as one (batch * T, input_dim) x
(input_dim, 3 units) product before the loop, which a CPU runs far more efficiently, and leaves
only the recurrent product inside (benchmarks/bench_gru.py measures the gain). This fills a gap
in the library: Keras's own JAX and PyTorch GRUs already hoist it (keras/src/backend/jax/rnn.py)
and are used unchanged here, as is cuDNN. Same variables, same numbers (tests/test_models.py
checks outputs and gradients against keras.layers.GRU), same saved weights. Cases it does not
cover (masks, dropout inside the layer, reset_after=False, unroll) go to keras.layers.GRU.
"""
import keras
from keras import ops
from keras.src import backend as keras_backend   # backend.gru / backend.rnn: Keras's own loops


@keras.saving.register_keras_serializable(package="vui")
class HoistedGRU(keras.layers.GRU):
    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        if (mask is not None or self.recurrent_dropout or self.dropout or not cell.reset_after
                or not cell.use_bias or self.unroll):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(initial_state, (list, tuple)):
            initial_state = initial_state[0]
        if self.use_cudnn in ("auto", True):
            try:      # cuDNN (TensorFlow on a GPU), or the JAX / PyTorch backends' own GRU;
                      # TensorFlow without a GPU raises NotImplementedError
                out = keras_backend.gru(
                    sequences, initial_state, None, kernel=cell.kernel,
                    recurrent_kernel=cell.recurrent_kernel, bias=cell.bias,
                    activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                    return_sequences=self.return_sequences, go_backwards=self.go_backwards,
                    unroll=False, reset_after=True)
                if keras.backend.backend() == "tensorflow":
                    self.supports_jit = False     # as keras.layers.GRU: cuDNN ops are not XLA
                return out
            except NotImplementedError:
                pass
        return self._hoisted_loop(sequences, initial_state)

    def _hoisted_loop(self, sequences, initial_state):
        cell = self.cell
        units = cell.units
        input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        # The update and reset gates' recurrent biases add outside the reset product, so they
        # join the input bias here; the candidate's stays inside the loop (reset_after).
        gate_bias = input_bias + ops.concatenate(
            [recurrent_bias[:2 * units], ops.zeros_like(recurrent_bias[2 * units:])])
        projected = ops.matmul(sequences, cell.kernel) + gate_bias      # (batch, T, 3 units)
        candidate_bias = recurrent_bias[2 * units:]

        def step(x_t, states):       # as GRUCell (reset_after), in fewer ops per step
            h = states[0]
            inner = ops.matmul(h, cell.recurrent_kernel)
            gates = cell.recurrent_activation(x_t[:, :2 * units] + inner[:, :2 * units])
            z, r = gates[:, :units], gates[:, units:]
            candidate = cell.activation(x_t[:, 2 * units:]
                                        + r * (inner[:, 2 * units:] + candidate_bias))
            h = candidate + z * (h - candidate)       # = z * h + (1 - z) * candidate
            return h, [h]

        return keras_backend.rnn(step, projected, [initial_state],
                                 go_backwards=self.go_backwards, mask=None, unroll=False,
                                 input_length=sequences.shape[1],
                                 zero_output_for_mask=self.zero_output_for_mask,
                                 return_all_outputs=self.return_sequences)
