"""vui: a small speech-recognition research toolkit (Keras 3, CTC).

The user-facing modules live at the top level (models, train_utils, data_generator, utils,
char_map) because that is how the seed notebook imports them; this package holds the rest:
corpora, decoders, language models, augmentation and the command line.
"""
from vui import cpu_threads as _cpu_threads

_cpu_threads.configure()   # before anything starts TensorFlow's runtime: vui.cpu_threads
