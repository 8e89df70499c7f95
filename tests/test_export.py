"""Export and runtimes (issue 41, parts 1, 2, 3 and 6): a tiny trained model exported as
SavedModel, ONNX and LiteRT; every runtime gives the Keras model's greedy transcripts on the
test partition and its probabilities within PROB_TOLERANCE; the ONNX and LiteRT paths import no
TensorFlow and print nothing; broken exports fail with the file named.

In CI all three formats run: tf2onnx, onnx, onnxruntime and ai-edge-litert install from the
package index (requirements.txt) and TensorFlow carries the LiteRT converter. A format is
skipped only when its converter or runtime package is missing, with that reason.
"""
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import models as M
from conftest import train_tiny, write_index
from vui.export.bundle import BUNDLE_FILE, FORMATS, ExportError, read_bundle
from vui.infer.recognizer import Recognizer
from vui.infer.transcribe import transcribe_files
from vui.infer.runtimes import (default_export_dir, keras_runtime, load_runtime, open_runtime,
                                transcribe_with_runtime)

ROOT = Path(__file__).resolve().parents[1]
PROB_TOLERANCE = 1e-5     # max |probability difference| from Keras on the same padded batch
TRAIN_EPOCHS = 25         # enough for the tiny model to emit letters, not only blanks
NEEDS = {"onnx": ("tf2onnx", "onnxruntime"), "litert": ("ai_edge_litert",), "savedmodel": ()}


def _skip_reason(fmt):
    import importlib.util
    missing = [m for m in NEEDS[fmt] if importlib.util.find_spec(m) is None]
    return f"{fmt}: {', '.join(missing)} not installed (pip install -r requirements.txt)" \
        if missing else None


@pytest.fixture(scope="module")
def trained(speech_corpus, tmp_path_factory):
    """The tiny model, its Recognizer, the test partition's files and one export per format
    (ONNX through `vui export`, the command line)."""
    base = tmp_path_factory.mktemp("export")
    corpus = base / "corpus"
    corpus.mkdir()
    for index in ("train_corpus.json", "valid_corpus.json", "test_corpus.json"):
        write_index(corpus / index, speech_corpus["entries"])
    model_path = train_tiny(str(corpus / "train_corpus.json"), base, "Export",  # emits letters
                            epochs=TRAIN_EPOCHS, bd_merge="concat", learning_rate=1e-2,
                            evaluate_after=False, spectrogram=False, mfcc_dim=26)
    test_files = [json.loads(line)["key"] for line in
                  (corpus / "test_corpus.json").read_text().splitlines()]
    recognizer = Recognizer.load(model_path)
    exports = {}
    for fmt in FORMATS:
        if _skip_reason(fmt) is None:
            exports[fmt] = _export(recognizer, model_path, fmt, base / "exports" / fmt)
    return {"model": model_path, "recognizer": recognizer, "files": test_files,
            "exports": exports, "base": base}


def _export(recognizer, model_path, fmt, out):
    if fmt == "onnx":
        from vui.cli import export as export_cli
        assert export_cli.main([str(model_path), "--format", fmt, "--out", str(out)]) == 0
    else:
        from vui.export.writers import export
        export(recognizer, out, fmt)
    return out


def _export_dir(trained, fmt):
    reason = _skip_reason(fmt)
    if reason:
        pytest.skip(reason)
    return trained["exports"][fmt]


def _copy(trained, fmt, tmp_path):
    target = tmp_path / fmt
    shutil.copytree(_export_dir(trained, fmt), target)
    return target


# ---- round trips ----

@pytest.mark.parametrize("fmt", FORMATS)
def test_runtime_matches_keras_on_the_test_partition(trained, fmt):
    recognizer, files = trained["recognizer"], trained["files"]
    runtime = open_runtime(_export_dir(trained, fmt))
    assert runtime.kind == fmt
    rows = runtime.transcribe(files)
    assert [r["transcript"] for r in rows] == recognizer.transcribe(files)
    want = recognizer.probabilities([recognizer.features(f) for f in files])
    got = runtime.probabilities([runtime.features(f) for f in files])
    assert [g.shape for g in got] == [w.shape for w in want]       # variable lengths survive
    assert max(np.abs(g - w).max() for g, w in zip(got, want)) <= PROB_TOLERANCE


def test_the_model_emits_letters_so_the_comparison_means_something(trained):
    transcripts = trained["recognizer"].transcribe(trained["files"])
    assert sum(bool(t.strip()) for t in transcripts) >= len(transcripts) // 2


def test_keras_runtime_equals_the_recognizer(trained):
    recognizer, files = trained["recognizer"], trained["files"]
    rows = keras_runtime(recognizer).transcribe(files)
    assert [r["transcript"] for r in rows] == recognizer.transcribe(files)


def test_bundle_describes_the_model(trained):
    recognizer = trained["recognizer"]
    bundle = read_bundle(_export_dir(trained, "onnx"))
    assert bundle.feature_config == recognizer.feature_config
    assert bundle.seconds_per_frame == pytest.approx(recognizer.seconds_per_frame)
    lengths = np.arange(1, 400)
    assert np.array_equal(bundle.output_length(lengths), recognizer.model.output_length(lengths))
    assert bundle.source["sha256"] and bundle.source["exported_dtype"] == "float32"
    from vui.infer import inference
    assert (bundle.max_batch, bundle.pad_frames_to) == (inference.PREDICT_BATCH,
                                                        inference.PAD_FRAMES_TO)


def test_words_with_times_and_an_error_row(trained, tmp_path):
    files = trained["files"][:2] + [str(tmp_path / "missing.wav")]
    rows = transcribe_with_runtime(files, _export_dir(trained, "onnx"), json=True)
    assert rows[2]["file"].endswith("missing.wav") and "no such file" in rows[2]["error"]
    for row in rows[:2]:
        assert row["runtime"] == "onnx" and row["seconds"] > 0
        for word in row["words"]:
            assert 0 <= word["start"] < word["end"] <= row["audio_seconds"] + 0.05
            assert 0 <= word["confidence"] <= 1


FRESH_PROCESS = """
import sys
from vui.infer.runtimes import transcribe_with_runtime
rows = transcribe_with_runtime(sys.argv[2:], sys.argv[1])
print(rows[0]["transcript"])
print(sorted(m for m in ("tensorflow", "keras", "scipy.signal") if m in sys.modules))
"""


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_fresh_process_imports_no_tensorflow_and_is_quiet(trained, fmt):
    files = trained["files"][:1]
    out = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(_export_dir(trained, fmt)),
                          *files], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[]"
    assert out.stdout.splitlines()[0] == trained["recognizer"].transcribe(files)[0]
    assert out.stderr == ""


def test_auto_picks_a_fresh_export_and_refuses_a_stale_one(trained, tmp_path):
    model = tmp_path / trained["model"].name
    shutil.copy(trained["model"], model)
    shutil.copy(trained["model"].with_suffix(".json"), model.with_suffix(".json"))
    assert load_runtime(model).kind == "keras"          # no export yet: the Keras model
    with pytest.raises(ExportError) as told:            # a command to paste, name quoted
        load_runtime(model, runtime="onnx")
    assert f"run `vui export {shlex.quote(str(model))} --format onnx`" in str(told.value)
    assert " " in model.name                            # the quoting was needed
    shutil.copytree(_export_dir(trained, "onnx"), default_export_dir(model, "onnx"))
    engine = load_runtime(model)
    assert engine.kind == "onnx"
    network_file = default_export_dir(model, "onnx") / "model.onnx"
    assert load_runtime(network_file).bundle.path == default_export_dir(model, "onnx") / \
        "vui_bundle.json"                                          # the export is its folder
    with pytest.raises(TypeError, match=r"transcribe takes a list .* pass \['a.wav'\]"):
        engine.transcribe("a.wav")                      # not the files 'a', '.', 'w', ...
    with pytest.raises(TypeError, match=r"item 0 is 'a.wav'"):
        engine.probabilities(["a.wav"])
    with pytest.raises(ValueError, match="onnx export"):
        load_runtime(default_export_dir(model, "onnx"), runtime="litert")
    with open(model, "ab") as f:            # the model file changes after its export
        f.write(b"\0")
    with pytest.raises(ExportError, match="earlier version"):
        load_runtime(model, runtime="onnx")


@pytest.mark.filterwarnings("ignore:language model")  # 6 sentences: fallback discounts
def test_an_export_made_before_the_lm_was_tuned_decodes_with_the_models_lm(
        trained, speech_corpus, tmp_path):
    from vui.decode.lm import build_arpa
    from vui.export.writers import update_language_model
    from vui.infer.runtimes import current_exports
    model = tmp_path / trained["model"].name
    shutil.copy(trained["model"], model)
    folder = default_export_dir(model, "onnx")
    shutil.copytree(_export_dir(trained, "onnx"), folder)
    assert current_exports(model) == [folder]
    with pytest.raises(ValueError, match="needs a language model: the export .* then export"):
        load_runtime(model).decoder("beam_lm")
    untuned = json.loads(trained["model"].with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps({**untuned, "lm": None}))
    with pytest.raises(ValueError, match=r"needs a language model: the model '.*' has none "
                                         r"\(tune one with `vui lm tune`\)$"):
        load_runtime(model, "keras").decoder("beam_lm")          # no export to speak of
    arpa = model.with_suffix(".arpa")                    # then the LM is tuned (vui lm tune)
    build_arpa([e["text"] for e in speech_corpus["entries"]], arpa)
    lm = {"path": str(arpa), "alpha": 0.7, "beta": 1.5}
    metadata = json.loads(trained["model"].with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps({**metadata, "lm": lm}))
    runtime = load_runtime(model)                        # the export, with the model's LM
    decoder = runtime.decoder("beam_lm")
    assert runtime.kind == "onnx" and (decoder.lm_path, decoder.alpha, decoder.beta) == \
        (str(arpa.resolve()), 0.7, 1.5)
    assert open_runtime(folder).bundle.lm_file is None   # the folder alone: none yet
    update_language_model(folder, lm)                    # what vui lm tune does to it
    decoder = open_runtime(folder).decoder("beam_lm")
    assert (decoder.alpha, decoder.beta) == (0.7, 1.5)
    assert Path(decoder.lm_path).parent == folder / "lm"
    assert Path(decoder.lm_path).read_bytes() == arpa.read_bytes()
    other = tmp_path / "other.arpa"                      # re-tuned on another text: replaced
    build_arpa([e["text"] for e in speech_corpus["entries"][:3]], other)
    update_language_model(folder, {"path": str(other), "alpha": 0.2, "beta": 0.0})
    assert sorted(p.name for p in (folder / "lm").iterdir()) == ["other.arpa"]
    assert open_runtime(folder).decoder("beam_lm").alpha == 0.2


@pytest.mark.filterwarnings("ignore:language model")  # 6 sentences: fallback discounts
def test_tuned_language_model_travels_with_the_export(trained, speech_corpus, tmp_path):
    from dataclasses import replace
    from vui.decode.lm import build_arpa
    from vui.export.writers import export
    recognizer = trained["recognizer"]
    arpa = tmp_path / "words.arpa"
    build_arpa([e["text"] for e in speech_corpus["entries"]], arpa)
    tuned = Recognizer(recognizer.model, replace(recognizer.info, lm={"path": str(arpa),
                                                                     "alpha": 0.7, "beta": 1.5}))
    hot = tuned.decoder("beam_lm", hotwords=["zebra:5"])    # the tuned LM, with hot words
    assert (hot.lm_path, hot.alpha, hot.beta) == (str(arpa), 0.7, 1.5)
    assert hot.hotwords == ["zebra"] and hot.hotword_weight == 5
    rows = transcribe_files(tuned, trained["files"][:1], decoder="beam_lm")   # its own LM too
    assert "beam+LM" in rows[0]["decoder"], rows
    folder = tmp_path / "with_lm"
    export(tuned, folder, "savedmodel")
    arpa.unlink()                                        # the export carries its own copy
    runtime = open_runtime(folder)
    decoder = runtime.decoder("beam_lm")
    assert (decoder.alpha, decoder.beta) == (0.7, 1.5)
    assert Path(decoder.lm_path).parent == folder / "lm"
    rows = runtime.transcribe(trained["files"][:2], decoder="beam_lm")
    assert all("beam+LM" in r["decoder"] for r in rows)


# ---- bad input: each a clear error naming the file ----

@pytest.mark.parametrize("fmt", FORMATS)
def test_bundle_of_another_width_names_bundle_and_network(trained, fmt, tmp_path):
    folder = _copy(trained, fmt, tmp_path)
    data = json.loads((folder / BUNDLE_FILE).read_text())
    data["features"]["config"]["mfcc_dim"] = 13
    data["input"]["feature_dim"] = 13
    data["normalization"]["mean"] = data["normalization"]["mean"][:13]
    data["normalization"]["std"] = data["normalization"]["std"][:13]
    (folder / BUNDLE_FILE).write_text(json.dumps(data))
    with pytest.raises(ExportError) as err:
        open_runtime(folder)
    message = str(err.value)
    assert str(folder / BUNDLE_FILE) in message and "13" in message and "26" in message
    assert str(folder / read_bundle(folder).network) in message


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_network_is_named(trained, fmt, tmp_path):
    folder = _copy(trained, fmt, tmp_path)
    network = read_bundle(folder).network_path
    victim = network / "saved_model.pb" if network.is_dir() else network
    victim.write_bytes(victim.read_bytes()[:victim.stat().st_size // 2])
    with pytest.raises(ExportError, match="truncated") as err:
        open_runtime(folder)
    assert str(network) in str(err.value)


@pytest.mark.parametrize("damage, expected", [
    ("delete", "missing"),
    ("truncate", "not valid JSON"),
    ("feature_version", "features of version"),
    ("unknown_setting", "unknown to this vui"),
    ("stats_width", "normalization.mean"),
    ("network_gone", "model.onnx is missing"),
    ("format_version", "format version 99"),
    ("lm_outside", "must be a name inside the export folder"),
])
def test_broken_bundle_is_named(trained, tmp_path, damage, expected):
    folder = _copy(trained, "onnx", tmp_path)
    path = folder / BUNDLE_FILE
    text = path.read_text()
    data = json.loads(text)
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_text(text[:len(text) // 2])
    elif damage == "network_gone":
        (folder / "model.onnx").unlink()
    else:
        if damage == "feature_version":
            data["features"]["feature_version"] += 1
        elif damage == "unknown_setting":
            data["features"]["config"]["pre_emphasis"] = 0.97
        elif damage == "stats_width":
            data["normalization"]["mean"].append(0.0)
        elif damage == "lm_outside":          # vui lm tune would delete what it names
            data["decoder"]["lm_path"] = str(tmp_path / "elsewhere.arpa")
            (tmp_path / "elsewhere.arpa").write_text("\\data\\\n")
        else:
            data["format_version"] = 99
        path.write_text(json.dumps(data))
    with pytest.raises(ExportError, match=expected) as err:
        open_runtime(folder)
    assert str(path) in str(err.value)


def test_a_folder_without_an_export_is_named(tmp_path):
    with pytest.raises(ExportError, match="vui_bundle.json: missing"):
        load_runtime(tmp_path)


def test_export_command_refuses_an_unknown_format(trained, capsys):
    from vui.cli import export as export_cli
    with pytest.raises(SystemExit):
        export_cli.main([str(trained["model"]), "--format", "pickle"])
    assert "invalid choice" in capsys.readouterr().err


# ---- what the writer fixes on its copy of the model ----

def test_portable_copy_is_float32_without_cudnn():
    from vui.export.portable import portable_model, precision
    builder = M.RNNModel(cnn_config=M.CNNConfig(filters=8, kernel_size=3, conv_stride=2,
                                                conv_border_mode="same"),
                         rnn_units=8, bd_merge="concat")
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = builder.build(26)
    finally:
        keras.config.set_dtype_policy("float32")
    copy = portable_model(model)
    assert precision(model) == "mixed_bfloat16" and precision(copy) == "float32"
    assert {w.dtype for w in copy.weights} == {"float32"}
    bidirectional = next(layer for layer in copy.layers if hasattr(layer, "forward_layer"))
    assert bidirectional.forward_layer.use_cudnn is False
    assert bidirectional.backward_layer.use_cudnn is False
    x = np.random.default_rng(0).standard_normal((2, 50, 26)).astype("float32")
    want = np.asarray(model(x, training=False), np.float32)
    assert np.abs(np.asarray(copy(x, training=False)) - want).max() < 1e-2   # bf16 rounding


@pytest.mark.parametrize("cnn", [
    dict(kernel_size=11, conv_stride=2, conv_border_mode="valid"),
    dict(kernel_size=3, conv_stride=1, conv_border_mode="causal", cnn_layers=3, dilation=2),
    dict(kernel_size=5, conv_stride=3, conv_border_mode="same", cnn_layers=2),
    dict(kernel_size=3, conv_stride=1, conv_border_mode="valid", cnn_layers=3, dilation=-2),
])
def test_output_length_rule_matches_the_builder(cnn):
    from vui.export.describe import output_rule
    builder = M.RNNModel(cnn_config=M.CNNConfig(filters=4, **cnn), rnn_units=4, bd_merge=None)
    model = builder.build(13)
    model.output_length = builder.output_length
    lengths = np.arange(1, 300)
    assert np.array_equal(output_rule(model)(lengths), builder.output_length(lengths))
