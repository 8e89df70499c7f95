"""What models builds on: the RNNModel builder (rnn), its CNN front end (cnn), the CTC loss (ctc).

Importing it hushes TensorFlow's retracing warning about Keras' trainer functions, which every
new model trips in a kernel that trains several (vui.model.tracing)."""
from vui.model.tracing import hush_keras_trainer_retracing

hush_keras_trainer_retracing()
