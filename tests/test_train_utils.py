"""Training works for real: loss falls, results are written, a run resumes, a model reloads."""

import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import data_generator as DG
import models as M
import train_utils as T
from vui import results as R
from vui.decode.parallel import default_workers

EPOCHS = 6


def tiny_builder(units=32):
    return M.RNNModel(cnn_config=M.CNNConfig(filters=32, kernel_size=5, conv_stride=2,
                                             conv_border_mode="same", cnn_dropout_rate=0.0),
                      rnn_type=M.RNNType.GRU, rnn_units=units, rnn_layers=1, bd_merge=None,
                      rnn_dropout_rate=0.0, dropout_rate=0.0, name_suffix="Tiny")


def adam():
    return keras.optimizers.Adam(learning_rate=3e-3)


@pytest.fixture
def gen(speech_corpus, tmp_path):
    g = DG.AudioGeneratorCached(minibatch_size=3, cache_dir=tmp_path / "cache")
    g.load_train_data(speech_corpus["index"])
    g.load_validation_data(speech_corpus["index"])
    return g


@pytest.fixture
def results_dir(tmp_path):
    return tmp_path / "results"


def train(gen, results_dir, builder=None, **kwargs):
    kwargs.setdefault("epochs", EPOCHS)
    return T.train_model(gen, builder or tiny_builder(), minibatch_size=3, optimizer=adam,
                         verbose=0, results_dir=results_dir, **kwargs)


def test_training_lowers_the_loss_and_writes_results(gen, results_dir, speech_corpus):
    name = train(gen, results_dir)
    assert name == "Spec " + tiny_builder().describe()
    pickle_path, model_path, backup_dir = R.run_paths(name, results_dir)
    record = R.load_pickle(pickle_path)
    assert len(record["loss"]) == len(record["val_loss"]) == len(record["epoch_times"]) == EPOCHS
    assert record["loss"][-1] < 0.8 * record["loss"][0]
    assert record["completed"]
    again = T.evaluate(T.load_model(str(model_path)), gen, "validation", verbose=0)
    assert (record["cer"], record["wer"]) == pytest.approx((again.cer, again.wer))
    assert record["feature_config"]["kind"] == "spectrogram"
    assert record["train_index"] == str(Path(speech_corpus["index"]).resolve())   # --corpus default
    np.testing.assert_allclose(record["normalization"]["mean"], gen.normalization_stats()["mean"])
    assert M.RNNModel.from_config(record["model_config"]) == tiny_builder()
    assert model_path.exists() and not backup_dir.exists()


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing")
def test_the_training_step_is_traced_once_for_one_batch_shape(gen, results_dir, monkeypatch):
    """Keras on TensorFlow leaves the optimizer's variables to the first traced step, and a
    step that creates variables is traced twice; train_model builds them first."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer
    traced, step = [], TensorFlowTrainer.train_step

    def counted(model, data):
        traced.append(tuple(data[0].shape))          # Python runs only while tracing
        return step(model, data)
    monkeypatch.setattr(TensorFlowTrainer, "train_step", counted)
    T.train_model(gen, tiny_builder(), epochs=2, minibatch_size=len(gen.train_texts),
                  optimizer=adam, verbose=0, results_dir=results_dir)
    assert len(traced) == 1, traced


def test_a_finished_run_is_loaded_not_retrained(gen, results_dir, capsys):
    name = train(gen, results_dir, epochs=1)
    pickle_path = R.run_paths(name, results_dir)[0]
    before = pickle_path.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # the same setup: nothing to warn of
        assert train(gen, results_dir, epochs=1) == name
    assert "already trained" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="another setup .*minibatch_size: was 3, now 2.*kept"):
        T.train_model(gen, tiny_builder(), epochs=1, minibatch_size=2, optimizer=adam,
                      verbose=0, results_dir=results_dir)     # the name omits the batch size
    assert pickle_path.stat().st_mtime_ns == before
    loading = DG.AudioGeneratorCached(spectrogram=True)       # no training data: not "another corpus"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert train(loading, results_dir, epochs=1) == name


class Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after_epoch:
            raise KeyboardInterrupt


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


class OptimizerSteps(keras.callbacks.Callback):
    """The optimizer's step count when fit starts and ends (its state goes with it)."""
    def on_train_begin(self, logs=None):
        self.at_start = int(self.model.optimizer.iterations)

    def on_train_end(self, logs=None):
        self.at_end = int(self.model.optimizer.iterations)


def test_an_interrupted_run_resumes_with_its_history(gen, results_dir, capsys):
    with pytest.raises(KeyboardInterrupt):
        train(gen, results_dir, epochs=4, callbacks=[Interrupt(after_epoch=2)])
    name = "Spec " + tiny_builder().describe()
    interrupted = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert len(interrupted["loss"]) == 2 and not interrupted["completed"]

    counter = EpochCounter()
    train(gen, results_dir, epochs=4, callbacks=[counter])
    assert counter.epochs == [2, 3]
    assert "Resuming" in capsys.readouterr().out
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert len(record["loss"]) == 4 and record["completed"]
    assert record["loss"][:2] == interrupted["loss"]


class CapturePredictions(keras.callbacks.Callback):
    def __init__(self, x):
        super().__init__()
        self.x, self.probs = x, None

    def on_train_end(self, logs=None):
        self.probs = np.asarray(self.model.predict_on_batch(self.x))


def test_a_run_named_in_its_folder_is_found_without_its_suffix(tmp_path, monkeypatch):
    name = "Spec CuDNNGRU(8 x1) relu BN DO(0.2) TD(D) _err"      # its "suffix": ".2) TD(D) _err"
    saved = R.run_paths(name, tmp_path)[1]
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(b"a model")
    assert R.resolve_model_path(str(tmp_path / name)) == saved
    assert R.resolve_model_path(tmp_path / "gone") == tmp_path / "gone.keras"   # named as given
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path)   # a run's name with a "/" is still a name
    slashed = R.run_paths("Spec GRU(8 x1) Aug(lr 1/2)", tmp_path)[1]
    slashed.write_bytes(b"another model")
    assert R.resolve_model_path("Spec GRU(8 x1) Aug(lr 1/2)") == slashed


def test_a_saved_model_loads_and_decodes_the_same(gen, results_dir, tmp_path):
    x, _ = gen.dataset("validation", shuffle=False)[0]
    capture = CapturePredictions(x)
    name = train(gen, results_dir, epochs=2, callbacks=[capture])
    model = T.load_model(str(R.run_paths(name, results_dir)[1]))
    np.testing.assert_allclose(np.asarray(model.predict_on_batch(x)), capture.probs, atol=1e-5)
    assert model.output_length(100) == tiny_builder().output_length(100)
    again = T.load_model(gen, tiny_builder(), results_dir=results_dir)
    assert T.evaluate(again, gen, verbose=0).hypotheses == T.evaluate(model, gen, verbose=0).hypotheses
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    copied = tmp_path / "copied" / model_path.name          # the model and its JSON, no pickle
    copied.parent.mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(model_path.with_suffix(suffix), copied.with_suffix(suffix))
    assert T.load_model(str(copied)).vui_record["name"] == name
    record = R.load_pickle(pickle_path)                     # another run's record beside it
    record["feature_config"] = dict(record["feature_config"], kind="mfcc", mfcc_dim=26)
    R.save_record(copied.with_suffix(".pickle"), record)
    with pytest.raises(ValueError, match=r"its network takes 161 features a frame, but its "
                                         r"record .* gives 26; the .keras file and its"):
        T.load_model(str(copied))


def test_an_optimizer_by_name_is_taken_and_anything_else_refused_before_work(gen, results_dir):
    from vui.train.optimizers import fresh_optimizer
    assert isinstance(fresh_optimizer("adam"), keras.optimizers.Adam)
    assert fresh_optimizer("adam") is not fresh_optimizer("adam")      # one per model
    for bad, message in ((42, "optimizer: expected a keras.optimizers.Optimizer"),
                         ("adamm", r"optimizer 'adamm' is not a Keras optimizer's name; "
                                   r"expected one of .*adam, .*sgd")):
        with pytest.raises(ValueError, match=message):
            T.train_model(gen, tiny_builder(), epochs=1, optimizer=bad, results_dir=results_dir)
    assert not results_dir.exists()


def test_loss_limit_stops_the_run_and_says_so(gen, results_dir, capsys):
    name = train(gen, results_dir, epochs=3, loss_limit=1e-3)
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert len(record["loss"]) == 1 and "loss_limit" in record["stopped"]
    assert "Stopping" in capsys.readouterr().out


def test_plot_and_table_compare_runs(gen, results_dir):
    names = [train(gen, results_dir, tiny_builder(units), epochs=2) for units in (16, 24)]
    fig = T.plot_comparison(model_names=names, results_dir=results_dir, show=False)
    assert (results_dir / "comparison.png").stat().st_size > 10_000
    assert [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")] == names
    table = T.comparison_table(model_names=names, results_dir=results_dir)
    assert list(table.index) == names
    assert {"best val loss", "best epoch", "CER", "WER", "params", "s/epoch"} <= set(table.columns)
    assert table.loc[names[0], "params"] < table.loc[names[1], "params"]
    record = R.load_pickle(R.run_paths(names[0], results_dir)[0])
    assert table.loc[names[0], "s/epoch"] == round(record["epoch_times"][1], 1)


def test_steady_epoch_seconds_leaves_out_the_first_epoch():
    assert R.steady_epoch_seconds([40.0, 30.0, 31.0, 90.0]) == 31.0    # median of the later ones
    assert R.steady_epoch_seconds([40.0]) == 40.0                      # one epoch: itself
    assert np.isnan(R.steady_epoch_seconds([]))


def test_get_predictions_prints_the_seed_format(gen, results_dir, capsys):
    name = train(gen, results_dir, epochs=1)
    model = T.load_model(str(R.run_paths(name, results_dir)[1]))
    path = T.get_predictions(gen, model, "validation", 0)
    out = capsys.readouterr().out
    assert path == gen.valid_audio_paths[0]
    assert "True transcription:" in out and gen.valid_texts[0] in out and "Predicted transcription:" in out
    T.get_predictions(gen, model, "train", 1, print_line=False)
    assert capsys.readouterr().out.startswith(f"TRUE:      {gen.train_texts[1]}\nPRED SPEC: ")
    with pytest.raises(IndexError, match="outside partition"):
        T.get_predictions(gen, model, "validation", 99)
    # the seed's two orders, easily swapped: (gen, model) here, (model, gen) in evaluate
    with pytest.raises(TypeError, match=r"T.get_predictions\(audio_gen, model, partition, "
                                        r"index\): audio_gen is a Functional.*swapped"):
        T.get_predictions(model, gen, "validation", 0)
    with pytest.raises(TypeError, match=r"T.evaluate\(model, audio_gen, partition\): audio_gen "
                                        r"is a Functional, not an audio generator"):
        T.evaluate(gen, model, "validation")
    mfcc = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=13, cache_dir=gen.cache.dir)
    mfcc.load_validation_data(gen.index_files["valid"])
    with pytest.raises(ValueError, match=r"trained on features .*spectrogram.* make the generator"):
        T.get_predictions(mfcc, model, "validation", 0)


def test_language_model_tuning_and_decoder_columns(gen, results_dir):
    name = train(gen, results_dir, epochs=2)
    model = T.load_model(str(R.run_paths(name, results_dir)[1]))
    lm = T.tune_language_model(model, gen, alphas=(0.0, 0.5), betas=(0.0, 1.0), beam_width=8, verbose=0)
    assert {"alpha", "beta", "wer", "cer", "path"} <= set(lm) and len(lm["grid"]) == 4
    rows = T.compare_decoders(model, gen, "validation", verbose=0)
    assert set(rows) == {"greedy", "beam", "beam_lm"}
    reloaded = T.load_model(str(R.run_paths(name, results_dir)[1]))
    assert reloaded.vui_record["lm"]["alpha"] == lm["alpha"]       # saved with the results
    table = T.comparison_table(model_names=[name], results_dir=results_dir)
    assert {"WER greedy", "WER beam", "WER beam_lm"} <= set(table.columns)
    assert table.loc[name, "decoded on"] == "validation"         # which partition they scored
    # beam searches shared among worker processes give the one-process transcripts
    alone = T.evaluate(model, gen, "validation", decoder="beam_lm", verbose=0)
    shared = T.evaluate(model, gen, "validation", decoder="beam_lm", verbose=0, decode_workers=None)
    assert (alone.decode_workers, shared.decode_workers) == (0, default_workers())
    assert shared.hypotheses == alone.hypotheses and shared.cer == alone.cer
    # greedy decoding stays in this process whatever is asked
    assert T.evaluate(model, gen, "validation", verbose=0, decode_workers=None).decode_workers == 0
    with pytest.raises(ValueError, match=r"decode workers -1: expected a whole number from 0"):
        T.evaluate(model, gen, "validation", decode_workers=-1)


def test_initial_weights_start_a_run_from_a_trained_model(gen, results_dir, tmp_path):
    first = train(gen, results_dir, epochs=3)
    source = R.run_paths(first, results_dir)[1]
    again = tmp_path / "warm"
    name = train(gen, again, epochs=1, initial_weights=source)
    warm = R.load_pickle(R.run_paths(name, again)[0])
    cold = R.load_pickle(R.run_paths(first, results_dir)[0])
    assert warm["initial_weights"] == str(source)
    # one more epoch from the trained weights starts where the first run ended, not from scratch
    assert warm["loss"][0] < 0.8 * cold["loss"][0]


def test_initial_weights_of_another_architecture_are_refused(gen, results_dir, tmp_path):
    source = R.run_paths(train(gen, results_dir, epochs=1), results_dir)[1]
    with pytest.raises(ValueError, match="same architecture"):
        train(gen, tmp_path / "other", builder=tiny_builder(units=16), epochs=1,
              initial_weights=source)


def test_initial_weights_of_other_features_are_refused(gen, speech_corpus, results_dir, tmp_path):
    source = R.run_paths(train(gen, results_dir, epochs=1), results_dir)[1]
    mfcc = DG.AudioGeneratorCached(minibatch_size=3, spectrogram=False, mfcc_dim=13,
                                   cache_dir=tmp_path / "cache")
    mfcc.load_train_data(speech_corpus["index"])
    mfcc.load_validation_data(speech_corpus["index"])
    with pytest.raises(ValueError, match="trained on features"):
        train(mfcc, tmp_path / "other", epochs=1, initial_weights=source)


def test_more_epochs_continue_a_finished_run_and_its_history(gen, results_dir, capsys):
    """The seed reruns a finished configuration with more epochs (200 after 100) and expects
    training to go on from where it stopped; equal or fewer epochs load it."""
    steps = OptimizerSteps()
    name = train(gen, results_dir, epochs=2, callbacks=[steps])
    first = R.load_pickle(R.run_paths(name, results_dir)[0])
    weights_after_2 = T.load_model(gen, tiny_builder(), results_dir=results_dir).get_weights()
    first_steps = steps.at_end

    counter, steps = EpochCounter(), OptimizerSteps()
    assert train(gen, results_dir, epochs=4, callbacks=[counter, steps]) == name
    assert counter.epochs == [2, 3]
    assert first_steps > 0 and steps.at_start == first_steps      # Adam's moments went on too
    record = R.load_pickle(R.run_paths(name, results_dir)[0])
    assert len(record["loss"]) == 4 and record["completed"] and record["epochs_requested"] == 4
    assert record["loss"][:2] == first["loss"]
    assert record["loss"][2] < first["loss"][0]          # went on from trained weights
    assert record["session_starts"] == [0, 2]            # each paid its own tracing:
    assert R.steady_epoch_seconds([9.0, 1.0, 8.0, 2.0], record["session_starts"]) == 1.5
    continued = T.load_model(gen, tiny_builder(), results_dir=results_dir).get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(continued, weights_after_2))

    capsys.readouterr()
    counter = EpochCounter()
    train(gen, results_dir, epochs=3, callbacks=[counter])
    assert counter.epochs == [] and "already trained" in capsys.readouterr().out


def test_results_are_files_named_as_the_seed_opens_them(gen, results_dir):
    """The seed's helper opens "results/" + name + ".pickle" for the name train_model gave."""
    name = train(gen, results_dir, epochs=1)
    assert (results_dir / f"{name}.pickle").exists() and (results_dir / f"{name}.keras").exists()
    fig = T.plot_comparison(pickles=[str(results_dir / f"{name}.pickle")],
                            results_dir=results_dir, show=False)
    assert fig.axes[0].get_legend_handles_labels()[1] == [name]
    model = T.load_model(str(results_dir / f"{name}.keras"))
    assert model.vui_record["name"] == name


def test_runs_saved_under_the_older_safe_stem_still_load_and_plot(gen, results_dir):
    name = train(gen, results_dir, epochs=1)
    legacy = R.safe_filename(name)
    for suffix in (".pickle", ".keras"):
        (results_dir / f"{name}{suffix}").rename(results_dir / f"{legacy}{suffix}")
    assert R.run_paths(name, results_dir)[0] == results_dir / f"{legacy}.pickle"
    assert T.load_model(gen, tiny_builder(), results_dir=results_dir).vui_record["name"] == name
    T.plot_comparison(pickles=[str(results_dir / f"{name}.pickle")], results_dir=results_dir,
                      show=False)
    with pytest.warns(UserWarning, match="1 of 2 runs have no results file"):
        T.comparison_table(pickles=[str(results_dir / f"{name}.pickle"),
                                    str(results_dir / "never trained.pickle")])
    with pytest.raises(FileNotFoundError, match="never trained"):
        T.plot_comparison(pickles=[str(results_dir / "never trained.pickle")], show=False)


def test_a_recognizer_opens_a_run_from_its_json_alone_and_transcribes_as_evaluate_does(
        gen, results_dir, speech_corpus, monkeypatch):
    """Everything inference needs is in the JSON beside the model: opening it unpickles
    nothing, and its transcripts equal evaluate's on the same files."""
    from vui.infer.recognizer import Recognizer
    name = train(gen, results_dir, epochs=2)
    pickle_path, model_path, _ = R.run_paths(name, results_dir)
    metadata = R.load_metadata(model_path)
    assert metadata["name"] == name and metadata["completed"]
    np.testing.assert_allclose(metadata["normalization"]["mean"], gen.normalization_stats()["mean"])

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was opened")
    monkeypatch.setattr(R, "load_pickle", refuse)
    recognizer = Recognizer.load(model_path)
    assert recognizer.name == name and recognizer.feature_config == gen.feature_config
    monkeypatch.undo()

    paths = [e["key"] for e in speech_corpus["entries"]]
    expected = T.evaluate(T.load_model(str(model_path)), gen, "validation", verbose=0)
    assert recognizer.transcribe(paths) == expected.hypotheses
    assert T.evaluate(recognizer, gen, "validation", verbose=0).hypotheses == expected.hypotheses
    from vui.infer.transcribe import transcribe_files
    assert [r["transcript"] for r in transcribe_files(recognizer, paths)] == expected.hypotheses
    # the output frames of 30 s of input span those 30 s, to within one output frame
    frames = recognizer.model.output_length(3000)
    spf = recognizer.seconds_per_frame
    assert spf >= gen.feature_config.step_ms / 1000 and abs(frames * spf - 30.0) <= spf
    np.testing.assert_allclose(recognizer.features(paths[0]), gen.get_features("validation", 0),
                               atol=1e-5)
    # one input where a list is expected is named, not read letter by letter or row by row
    with pytest.raises(TypeError, match=rf"transcribe takes a list .* pass \['{paths[0]}'\]"):
        recognizer.transcribe(paths[0])
    with pytest.raises(TypeError, match=r"a single array of shape \(\d+, 161\): pass \[it\]"):
        recognizer.probabilities(recognizer.features(paths[0]))
    with pytest.raises(TypeError, match=rf"feature matrices .* item 0 is '{paths[0]}'"):
        recognizer.probabilities([paths[0]])
    with pytest.raises(TypeError, match=rf"pass \['{paths[0]}'\]"):
        transcribe_files(recognizer, paths[0])
    assert recognizer.transcribe(np.array(paths)) == expected.hypotheses   # an array of paths
    with pytest.raises(ValueError, match="not the JSON a trained model's metadata"):
        model_path.with_suffix(".json").write_text("{oops")
        Recognizer.load(model_path)
