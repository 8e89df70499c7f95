"""vui: a small speech-recognition research toolkit (Keras 3, CTC).

The user-facing modules live at the top level (models, train_utils, data_generator, utils,
char_map) because that is how the seed notebook imports them; this package holds the rest:
corpora, decoders, language models, augmentation and the command line.

Importing it changes nothing: TensorFlow's CPU threads are set by an explicit call
(`vui.cpu_threads.configure()`), which the command line (`vui demo` included) and
`utils.config_GPU()` make.
"""
