"""Ship a trained model: its network in a portable format and a JSON of what inference needs.

    vui.export.writers.export(recognizer, out_dir, fmt)   write savedmodel | onnx | litert
    vui.export.bundle.read_bundle(export_dir)             the JSON read back, checked
    vui.export.networks.open_network(bundle)              the network, ready to run on numpy

An export folder holds the network (`saved_model/`, `model.onnx` or `model.tflite`), the
language model if the model has tuned one (`lm/`), and `vui_bundle.json`, written last: feature
settings, normalisation statistics, input shift, alphabet, output-length rule, frame duration,
decoder defaults. vui.infer.runtimes transcribes with it (numpy features; for ONNX and LiteRT
without importing Keras or TensorFlow).

Nothing is imported here, so reading a bundle does not import Keras.
"""
