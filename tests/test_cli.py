"""The `vui` command: help everywhere, transcription lines and JSON, clear errors."""
import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data_generator as DG
import train_utils as T
from conftest import train_tiny
from vui.cli import main as cli
from vui import results as R
from vui.infer.recognizer import Recognizer
from vui.infer.runtimes import default_export_dir

ROOT = Path(__file__).resolve().parents[1]

SUBCOMMANDS = ("corpus", "train", "evaluate", "compare", "transcribe", "robust", "lm", "demo")


def test_console_script_is_installed_and_answers_help():
    exe = Path(sys.executable).with_name("vui")
    if not exe.exists():
        exe = shutil.which("vui")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in SUBCOMMANDS:
        assert name in out.stdout


def test_the_command_line_starts_without_its_heavy_libraries():
    """`vui --help` and `vui transcribe` on an export start in about a second: building the
    parser imports neither the backend nor scipy.signal (over a second on 2 cores; only the
    augmentation effects need it)."""
    code = ("import sys; from vui.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'scipy.signal') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [[c, "--help"] for c in SUBCOMMANDS if c not in ("corpus", "lm")]
                         + [["corpus", "embedded", "--help"], ["corpus", "librispeech", "--help"],
                            ["lm", "build", "--help"], ["lm", "tune", "--help"],
                            ["robust", "evaluate", "--help"], ["robust", "transcribe", "--help"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def corpus_with_speakers(speech_corpus, tmp_path, speakers):
    """The test corpus as train, valid and test, its utterances dealt to `speakers` in turn."""
    from conftest import write_index
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    entries = [dict(e, speaker=speakers[i % len(speakers)])
               for i, e in enumerate(speech_corpus["entries"])]
    for index in ("train_corpus.json", "valid_corpus.json", "test_corpus.json"):
        write_index(corpus / index, entries)
    return corpus


@pytest.fixture(scope="module")
def trained_model(speech_corpus, tmp_path_factory):
    return train_tiny(speech_corpus["index"], tmp_path_factory.mktemp("cli"), "CLI")


def test_transcribe_prints_one_line_per_file(trained_model, speech_corpus, capsys):
    files = [e["key"] for e in speech_corpus["entries"][:2]]
    assert cli.main(["transcribe", "--model", str(trained_model), *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == files       # labelled: several files
    assert all(set(line.split("\t")[1]) <= set("' abcdefghijklmnopqrstuvwxyz") for line in lines)
    assert cli.main(["transcribe", "--model", str(trained_model), files[0]]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0].split("\t")[1]]   # one: text alone


def test_the_train_command_guards_the_loss_unless_told_off():
    from vui.cli.common import loss_limit
    args = cli.build_parser().parse_args(["train"])
    assert args.loss_limit == "auto"
    assert [loss_limit(v) for v in ("off", "auto", "50")] == [None, "auto", 50.0]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--loss-limit", "never"])


def test_a_warning_at_a_terminal_is_written_above_the_progress_bar(monkeypatch):
    import io
    import warnings
    from tqdm import tqdm

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    python_show, python_format = warnings.showwarning, warnings.formatwarning
    with cli.command_line_warnings():
        bar = tqdm(total=3, file=terminal, desc="features")
        bar.update()
        warnings.warn("'a.flac' is sampled at 8000 Hz")
        bar.update(2)
        bar.close()
    shown = terminal.getvalue()
    cleared, _, after = shown.partition("warning: 'a.flac' is sampled at 8000 Hz\n")
    assert after.startswith("\rfeatures:")               # the bar is drawn again below it
    assert cleared.rstrip(" \r").endswith("it/s]") and cleared.endswith(" \r")  # line wiped
    assert (warnings.showwarning, warnings.formatwarning) == (python_show, python_format)


def test_an_empty_transcript_is_an_empty_line_and_a_note(capsys):
    from vui.cli.common import print_transcripts
    assert print_transcripts([{"file": "quiet.wav", "transcript": ""}], as_json=False) == 0
    out, err = capsys.readouterr()
    assert out == "\n" and "note: no words recognised in quiet.wav" in err
    rows = [{"file": "a.wav", "transcript": "hi"}, {"file": "b.wav", "transcript": ""}]
    print_transcripts(rows, as_json=False)
    out, err = capsys.readouterr()
    assert out.splitlines() == ["a.wav\thi", "b.wav\t"] and "in b.wav" in err
    print_transcripts(rows[1:], as_json=True)                 # JSON says it itself
    assert capsys.readouterr().err == ""


def test_transcribe_takes_hot_words_for_beam_search_only(trained_model, speech_corpus, capsys):
    wav = speech_corpus["entries"][0]["key"]
    base = ["transcribe", "--model", str(trained_model), "--json"]
    assert cli.main([*base, "--decoder", "beam", "--hotword", "zebra:5", wav]) == 0
    row = json.loads(capsys.readouterr().out)
    assert "hot words zebra weight 5" in row["decoder"] and "words" in row
    assert cli.main([*base, "--hotword", "zebra", wav]) == 2          # greedy has no search
    assert "error: " in capsys.readouterr().err


def test_transcribe_json_has_file_transcript_and_timing(trained_model, speech_corpus, capsys):
    wav = speech_corpus["entries"][0]["key"]
    cli.main(["transcribe", "--json", "--model", str(trained_model), wav])
    row = json.loads(capsys.readouterr().out)
    assert row["file"] == wav
    assert row["transcript"] == Recognizer.load(trained_model).transcribe([wav])[0]
    assert row["seconds"] > 0 and row["audio_seconds"] == pytest.approx(
        speech_corpus["entries"][0]["duration"], abs=0.01)


def test_transcribe_warp_search_per_file_and_for_one_speaker(trained_model, speech_corpus, capsys):
    from vui.research.strategies import WarpSearch
    from vui.infer.transcribe import load_for_inference, transcribe_files
    from vui.research.warp_search import DEFAULT_ALPHAS, WarpSearchConfig
    files = [e["key"] for e in speech_corpus["entries"][:3]]
    robust = ["robust", "transcribe", "--json", "--model", str(trained_model)]
    cli.main([*robust, "--warp-search", *files])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == files and all(r["warp"] in DEFAULT_ALPHAS for r in rows)
    cli.main([*robust, "--one-speaker", "--warp-search", *files])
    shared = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len({r["warp"] for r in shared}) == 1
    cli.main([*robust, "--one-speaker", *files])          # no warp search unless asked
    assert all("warp" not in json.loads(line) for line in capsys.readouterr().out.splitlines())
    model = load_for_inference(trained_model)
    plain = transcribe_files(model, files)
    identity = transcribe_files(model, files,
                                strategy=WarpSearch(WarpSearchConfig(alphas=(1.0,))))
    assert [r["transcript"] for r in identity] == [r["transcript"] for r in plain]


def test_transcribe_names_a_missing_file(trained_model, capsys):
    assert cli.main(["transcribe", "--model", str(trained_model), "nope.wav"]) == 1
    assert 'nope.wav' in capsys.readouterr().err


def test_evaluate_names_a_corpus_folder_without_its_index(trained_model, tmp_path, capsys):
    args = ["evaluate", "--model", str(trained_model), "--corpus", str(tmp_path)]
    assert cli.main([*args, "--partition", "test"]) == 2
    err = capsys.readouterr().err
    assert f"no test index {tmp_path / 'test_corpus.json'}" in err and "--corpus names" in err


def test_evaluate_leaves_out_utterances_over_max_duration(trained_model, speech_corpus, tmp_path,
                                                         capsys):
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    durations = sorted(e["duration"] for e in speech_corpus["entries"])
    args = ["evaluate", "--model", str(trained_model), "--corpus", str(corpus)]
    assert cli.main(args) == 0
    assert f"({len(durations)} utterances" in capsys.readouterr().out
    limit = durations[1] + 1e-3
    with pytest.warns(UserWarning, match="is over max_duration"):      # named, not silent
        assert cli.main([*args, "--max-duration", str(limit)]) == 0
    assert f"({sum(d <= limit for d in durations)} utterances" in capsys.readouterr().out
    assert cli.main([*args, "--max-duration", "0.5"]) == 2              # every one too long
    assert "expected a max_duration (--max-duration) above 0.5 s" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*args, "--max-duration", "-1"])
    assert "--max-duration: expected a finite number > 0, got '-1'" in capsys.readouterr().err


def test_transcribe_reports_a_corrupt_file_and_goes_on(trained_model, speech_corpus, tmp_path, capsys):
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF not really audio")
    good = speech_corpus["entries"][0]["key"]
    assert cli.main(["transcribe", "--model", str(trained_model), str(bad), good]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(bad), good]
    assert lines[0].split("\t")[1].startswith("error: ") and "corrupt.wav" in lines[0]


def test_transcribe_without_a_default_model_says_what_to_do(tmp_path, monkeypatch, speech_corpus,
                                                            capsys):
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path)
    assert cli.main(["transcribe", speech_corpus["entries"][0]["key"]]) == 2
    assert 'vui demo' in capsys.readouterr().err


def test_a_mean_normalised_model_is_served_its_own_features(speech_corpus, tmp_path):
    """transcribe and evaluate rebuild features from the model's record, CMN included."""
    import numpy as np
    from vui.infer.transcribe import load_for_inference
    import utils as U
    path = train_tiny(speech_corpus["index"], tmp_path, "CMN", evaluate_after=False,
                      spectrogram=False, mfcc_dim=26, utterance_mean=True)
    recognizer = load_for_inference(path)
    assert recognizer.name.startswith("MFCC-CMN ")
    expected = U.FeatureConfig("mfcc", mfcc_dim=26, utterance_mean=True)
    config = recognizer.feature_config
    assert config == expected
    wav = speech_corpus["entries"][0]["key"]
    served = U.compute_features(U.load_audio(wav, config.sample_rate), config)
    plain = U.compute_features(U.load_audio(wav, config.sample_rate),
                               U.FeatureConfig("mfcc", mfcc_dim=26))
    np.testing.assert_allclose(served, plain - plain.mean(axis=0), atol=1e-4)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index in ("train_corpus.json", "valid_corpus.json"):
        shutil.copy(speech_corpus["index"], corpus / index)
    assert cli.corpus_generator(corpus, recognizer.info.feature_settings).feature_config == expected


def test_a_command_writes_neither_backend_logs_nor_bars_into_a_log(trained_model, speech_corpus,
                                                                  tmp_path):
    """`vui evaluate ... 2> log`: no TensorFlow start-up lines (not even those it prints before
    reading TF_CPP_MIN_LOG_LEVEL, vui.backend_logs) and no progress bars (nobody watches a log,
    vui.watched); what the command itself says still comes through."""
    import os
    import re
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run([sys.executable, "-m", "vui.cli", "evaluate", "--model",
                           str(trained_model), "--corpus", str(corpus), "--decoder", "beam"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("validation: CER ")
    assert not re.search(r"oneDNN|absl|tensorflow|cuda|it/s|\r", done.stderr, re.I), done.stderr


def test_evaluate_shares_beam_searches_among_worker_processes(trained_model, speech_corpus,
                                                               tmp_path, capsys):
    """`vui evaluate --decode-workers N`: the same error rates as one process, the processes
    named; more than the usable cores is refused when the command line is read."""
    from vui import cpu_threads
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    args = ["evaluate", "--model", str(trained_model), "--corpus", str(corpus), "--decoder", "beam"]
    cores = cpu_threads.usable_cores()
    lines = {}
    for workers in (0, min(2, cores)):
        assert cli.main([*args, "--decode-workers", str(workers)]) in (0, None)
        lines[workers] = capsys.readouterr().out.splitlines()[0]
    plain, shared = lines.values()
    assert plain.split("(")[0] == shared.split("(")[0]       # the same CER and WER
    assert "decoding process" not in plain
    assert shared.endswith("with 2 decoding processes)" if cores > 1 else "with 1 decoding process)")
    with pytest.raises(SystemExit):
        cli.main([*args, "--decode-workers", str(cores + 1)])
    assert (f"argument --decode-workers: decode workers {cores + 1}: expected a whole number "
            f"from 0 to {cores}") in capsys.readouterr().err


def test_evaluate_with_a_robust_model_reports_the_gate(trained_model, speech_corpus, tmp_path, capsys):
    """`vui robust evaluate --robust-model`: the gate calibrated on the other partition; with the
    model as its own robust model the error rates cannot change, whoever is routed."""
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    cli.main(["evaluate", "--model", str(trained_model), "--corpus", str(corpus)])
    plain, interval = capsys.readouterr().out.splitlines()[:2]
    assert interval.startswith("95% interval over 2 speakers (bootstrap): CER ")
    cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
              "--robust-model", str(trained_model)])
    gated, _, gate_line = capsys.readouterr().out.splitlines()[:3]
    assert gated.split("(")[0] == plain.split("(")[0]          # the same CER and WER
    assert gate_line.startswith("gate: threshold ") and "(set on test, per speaker)" in gate_line
    assert "3 of 6 utterances, 1 of 2 speakers, decoded by " in gate_line   # the lower one
    cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
              "--robust-model", str(trained_model), "--gate-per", "utterance"])
    gated, _, gate_line = capsys.readouterr().out.splitlines()[:3]
    assert gated.split("(")[0] == plain.split("(")[0] and "per utterance" in gate_line
    assert "1 of 6 utterances" in gate_line   # the 5% quantile of 6: only the lowest is below
    assert cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
                              "--robust-model", str(trained_model), "--calibrate-on", "validation"]) == 2
    assert '--calibrate-on validation is --partition too' in capsys.readouterr().err


def test_a_gate_saved_by_evaluate_serves_transcribe(trained_model, speech_corpus, tmp_path, capsys):
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    gate_file = tmp_path / "gate.json"
    assert cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
                              "--save-gate", str(gate_file)]) == 2
    assert '--save-gate needs --robust-model' in capsys.readouterr().err
    cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
              "--robust-model", str(trained_model), "--save-gate", str(gate_file)])
    assert f"gate saved to {gate_file}" in capsys.readouterr().out
    saved = json.loads(gate_file.read_text())
    assert saved["calibrated_on"] == {"corpus": str(corpus), "partition": "test", "speakers": 2}
    files = [e["key"] for e in speech_corpus["entries"][:3]]
    cli.main(["transcribe", "--json", "--model", str(trained_model), *files])
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert cli.main(["robust", "transcribe", "--json", "--gate", str(gate_file), *files]) == 0
    gated = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["transcript"] for r in gated] == [r["transcript"] for r in plain]
    assert all(isinstance(r["routed"], bool) for r in gated)
    assert cli.main(["robust", "transcribe", "--gate", str(gate_file), "--model", str(trained_model),
                              *files]) == 2
    assert '--model or --gate, not both' in capsys.readouterr().err
    # The refusal comes before any model loads: these model paths do not exist.
    gate_file.write_text(json.dumps(dict(saved, per="utterance", model="nowhere.keras",
                                         robust_model="nowhere.keras")))
    assert cli.main(["robust", "transcribe", "--gate", str(gate_file), "--one-speaker", *files]) == 2
    assert 'gate.json: the gate was calibrated per utterance' in capsys.readouterr().err


def test_bench_paired_finds_no_difference_between_a_model_and_itself(trained_model, speech_corpus,
                                                                     tmp_path, capsys):
    """benchmarks/bench_paired.py end to end: the second row's paired difference is exactly 0."""
    from conftest import load_benchmark
    bench = load_benchmark("bench_paired")
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "abc")
    out = tmp_path / "paired.json"
    assert bench.main(["--models", str(trained_model), str(trained_model), "--corpus",
                       str(corpus), "--out", str(out)]) == 0
    first, second = json.loads(out.read_text())
    assert first["speakers"] == 3 and first["utterances"] == len(speech_corpus["entries"])
    assert first["cer_interval"][0] <= first["cer"] <= first["cer_interval"][1]
    assert second["cer"] == first["cer"] and second["cer_difference"] == 0.0
    assert second["cer_difference_interval"] == [0.0, 0.0]
    table = capsys.readouterr().out
    assert "| +0.0 | 0.0 to 0.0 |" in table and "3 speakers" in table
    with pytest.raises(SystemExit):
        bench.main(["--models", str(tmp_path / "missing.keras"), "--corpus", str(corpus)])


def test_evaluate_and_bench_paired_take_the_speaker_norm(trained_model, speech_corpus, tmp_path,
                                                         capsys):
    """`vui robust evaluate --speaker-norm` and bench_paired.py's paired row for it (vui.features.speaker_norm):
    the shifted features are decoded, scored against the same references."""
    import data_generator as DG
    import train_utils as T
    from conftest import load_benchmark
    from vui.research.strategies import SpeakerShift, WarpSearch
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    model = T.load_model(str(trained_model))
    gen = DG.AudioGeneratorCached.for_corpus(model.vui_record["feature_config"], corpus)
    expected = T.evaluate(model, gen, "validation", verbose=0, strategy=SpeakerShift("speaker"))
    cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
              "--speaker-norm", "speaker"])
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"validation: CER {expected.cer:.2%}  WER {expected.wer:.2%}")
    both = T.evaluate(model, gen, "validation", verbose=0, strategy=WarpSearch(shift="speaker"))
    cli.main(["robust", "evaluate", "--model", str(trained_model), "--corpus", str(corpus),
              "--speaker-norm", "speaker", "--warp-search"])
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"validation: CER {both.cer:.2%}  WER {both.wer:.2%}")
    out = tmp_path / "paired.json"
    assert load_benchmark("bench_paired").main(
        ["--models", str(trained_model), "--corpus", str(corpus), "--partition", "validation",
         "--speaker-norm", "utterance", "--out", str(out)]) == 0
    plain, normed = json.loads(out.read_text())
    assert normed["model"] == plain["model"] + " + utterance norm"
    by_utterance = T.evaluate(model, gen, "validation", verbose=0,
                              strategy=SpeakerShift("utterance"))
    assert normed["cer"] == pytest.approx(by_utterance.cer)
    assert normed["cer_difference"] == pytest.approx(by_utterance.cer - plain["cer"])


def test_bench_decoding_shifts_only_the_evaluated_speakers(trained_model, speech_corpus, tmp_path):
    """bench_decoding.py --speaker-norm: the evaluated partition's outputs come from the
    speaker-normalised features; the validation partition, which tunes the LM, stays as is."""
    import data_generator as DG
    from conftest import load_benchmark
    from vui.infer.inference import partition_features, predict_probabilities
    from vui.features.speaker_norm import normalize_speakers
    bench = load_benchmark("bench_decoding")
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    index = str(corpus / "test_corpus.json")
    model, valid, test, _ = bench.model_data(trained_model, corpus, index, None, "speaker")
    gen = DG.AudioGeneratorCached.for_corpus(model.vui_record["feature_config"], corpus, index)
    features = partition_features(model, gen, "test")
    shifted = predict_probabilities(model, normalize_speakers(features, gen.speakers("test")))
    plain = predict_probabilities(model, features)
    for got, want, other in zip(test[0], shifted, plain):
        np.testing.assert_allclose(got, want, atol=1e-5)
        assert not np.allclose(got, other, atol=1e-5)
    for got, want in zip(valid[0], plain):                  # the same utterances, unshifted
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_transcribe_takes_the_speaker_norm(trained_model, speech_corpus, capsys):
    from vui.research.strategies import OneSpeaker, SpeakerShift, WarpSearch
    from vui.infer.transcribe import load_for_inference, transcribe_files
    files = [e["key"] for e in speech_corpus["entries"][:3]]
    model = load_for_inference(trained_model)
    expected = [r["transcript"] for r in transcribe_files(model, files,
                                                          strategy=OneSpeaker(SpeakerShift(True)))]
    assert cli.main(["robust", "transcribe", "--model", str(trained_model), "--speaker-norm",
                     "--one-speaker", *files]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{f}\t{t}" for f, t in zip(files, expected)]
    searched = [r["transcript"] for r in transcribe_files(
        model, files, strategy=OneSpeaker(WarpSearch(shift=True)))]
    assert cli.main(["robust", "transcribe", "--model", str(trained_model), "--speaker-norm",
                     "--one-speaker", "--warp-search", *files]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{f}\t{t}" for f, t in zip(files, searched)]


def test_bench_model_gate_prints_a_row_per_decoding(trained_model, speech_corpus, tmp_path, capsys,
                                                    monkeypatch):
    """bench_model_gate.py end to end, the model as its own robust model: a row per decoding,
    and the plain ones agree whoever is routed."""
    from pathlib import Path
    from conftest import load_benchmark
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    bench = load_benchmark("bench_model_gate")
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    assert bench.main(["--model", str(trained_model), "--robust", str(trained_model),
                       "--corpus", str(corpus), "--partitions", "valid", "--warp-search",
                       "--speaker-norm", "speaker"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| valid |")]
    labels = [label for _, label, *_ in rows]
    assert labels == [label for label, _, _ in bench.decodings(True, "speaker")]
    assert len(labels) == 7 and labels[-1] == "gate + warp search + speaker norm"
    by_label = {label: (cer, wer) for _, label, cer, wer, _ in rows}
    assert by_label["unaugmented model"] == by_label["augmented model"] == by_label["gate"]


def test_train_takes_the_speaker_norm_and_evaluate_applies_it(speech_corpus, tmp_path,
                                                              monkeypatch, capsys):
    """`vui train --speaker-norm speaker` trains on shifted features and says so in the run's
    name and record; `vui evaluate` then shifts as trained, and `vui robust evaluate` does not
    when told `--speaker-norm off`."""
    from vui.features.speaker_norm import SpeakerNormConfig
    from vui.train.trained import model_info
    from vui.research.strategies import SpeakerShift
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setenv("VUI_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["train", "--preset", "model_0", "--corpus", str(corpus), "--features",
                     "mfcc26", "--epochs", "1", "--batch-size", "3",
                     "--speaker-norm", "speaker"]) == 0
    name = capsys.readouterr().out.strip().splitlines()[-1]
    assert name.endswith(" SpkNorm(speaker)")
    path = R.run_paths(name)[1]
    model = T.load_model(str(path))
    assert model_info(model).speaker_norm == SpeakerNormConfig()
    gen = DG.AudioGeneratorCached.for_corpus(model.vui_record["feature_config"], corpus)
    for command, norm in (["evaluate"], "speaker"), \
            (["robust", "evaluate", "--speaker-norm", "off"], False):
        expected = T.evaluate(model, gen, "validation", verbose=0, strategy=SpeakerShift(norm))
        cli.main([*command, "--model", str(path), "--corpus", str(corpus)])
        line = capsys.readouterr().out.splitlines()[0]
        assert line.startswith(f"validation: CER {expected.cer:.2%}  WER {expected.wer:.2%}")
    from conftest import load_benchmark
    out = tmp_path / "paired.json"                  # its shift once, another one as a row
    for norm, labels in (("speaker", ("",)), ("utterance", ("", " + utterance norm"))):
        assert load_benchmark("bench_paired").main(
            ["--models", str(path), "--corpus", str(corpus), "--partition", "validation",
             "--speaker-norm", norm, "--out", str(out)]) == 0
        rows = json.loads(out.read_text())
        assert [r["model"].split(" norm)")[1] for r in rows] == list(labels)
        assert "(trained and tested with speaker norm)" in rows[0]["model"]
        assert rows[0]["cer"] == pytest.approx(T.evaluate(model, gen, "validation",
                                                          verbose=0).cer)


def test_bench_holdout_takes_the_speaker_norm(tmp_path):
    from conftest import load_benchmark
    bench = load_benchmark("bench_holdout")
    cfg = bench.parse_args(["--families", "rms", "--conditions", "none", "--speaker-norm",
                            "speaker"])
    assert cfg.speaker_norm == "speaker"
    assert bench.parse_args(["--families", "rms"]).speaker_norm is None
    out = tmp_path / "holdout.md"
    bench.write_table(str(out), "| table |", cfg)
    assert "trained and tested with the speaker shift" in out.read_text()


def test_lm_build_writes_an_arpa_model_of_the_corpus_words(speech_corpus, tmp_path, capsys):
    from vui.decode.lm import read_arpa_vocabulary
    corpus = corpus_with_speakers(speech_corpus, tmp_path, ["a"])
    arpa = tmp_path / "words.arpa"
    assert cli.main(["lm", "build", "--corpus", str(corpus), "--order", "2",
                     "--out", str(arpa)]) == 0
    words = {w for e in speech_corpus["entries"] for w in e["text"].split()}
    assert words <= set(read_arpa_vocabulary(arpa))
    assert "\\2-grams:" in arpa.read_text() and "\\3-grams:" not in arpa.read_text()


@pytest.mark.filterwarnings("ignore:language model")       # six sentences: fallback discounts
def test_lm_tune_saves_weights_that_transcribe_uses(trained_model, speech_corpus, tmp_path,
                                                    capsys):
    corpus = corpus_with_speakers(speech_corpus, tmp_path, ["a"])
    model = tmp_path / "results" / trained_model.name       # a copy: the fixture stays untuned
    model.parent.mkdir()
    for suffix in (".keras", ".pickle", ".json"):
        shutil.copy(trained_model.with_suffix(suffix), model.with_suffix(suffix))
    pytest.importorskip("tf2onnx", reason="ONNX export: pip install -r requirements.txt")
    assert cli.main(["export", str(model), "--format", "onnx"]) == 0   # before tuning
    assert cli.main(["lm", "tune", "--model", str(model), "--corpus", str(corpus),
                     "--partition", "validation", "--alphas", "0.5", "1.5", "--betas", "1"]) == 0
    printed = capsys.readouterr().out
    for kind in ("greedy", "beam", "beam_lm"):
        assert f"validation {kind}" in printed
    export = default_export_dir(model, "onnx")
    assert f"{export}: now carries this LM" in printed
    decoder = Recognizer.load(model).decoder("beam_lm")
    assert decoder.lm_path == str(model.with_suffix(".arpa"))
    assert decoder.alpha in (0.5, 1.5) and decoder.beta == 1        # from the grid given
    for runtime in ("onnx", "keras"):                  # the export took the tuned LM
        assert cli.main(["transcribe", "--model", str(model), "--decoder", "beam_lm", "--json",
                         "--runtime", runtime, speech_corpus["entries"][0]["key"]]) == 0, \
            capsys.readouterr().err[-500:]
        row = json.loads(capsys.readouterr().out)
        assert "beam+LM" in row["decoder"] and row["runtime"] == runtime
    assert (export / "lm" / model.with_suffix(".arpa").name).read_bytes() == \
        model.with_suffix(".arpa").read_bytes()
    moved = tmp_path / "copied" / model.name                  # a results folder copied away
    moved.parent.mkdir()
    for suffix in (".keras", ".pickle", ".json", ".arpa"):
        shutil.move(model.with_suffix(suffix), moved.with_suffix(suffix))
    assert Recognizer.load(moved).decoder("beam_lm").lm_path == str(moved.with_suffix(".arpa"))


def test_compare_plots_and_tables_the_runs_of_a_results_folder(trained_model, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert cli.main(["compare", "--results", str(trained_model.parent), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    record = R.load_pickle(trained_model.with_suffix(".pickle"))
    assert record["name"][:40] in printed and f"plot: {out}" in printed
    assert f"{record['cer']:.2%}" in printed          # as vui train and evaluate print rates
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_names_an_out_folder_it_cannot_make(trained_model, tmp_path, capsys):
    (tmp_path / "notes.wav").write_bytes(b"a file")
    for out, said in [(tmp_path / "notes.wav", f"{tmp_path / 'notes.wav'} is a file; expected a "
                                               "folder (vui export --out)"),
                      (tmp_path / "notes.wav" / "x", "is a file; expected a folder")]:
        assert cli.main(["export", str(trained_model), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: export folder {out}") and said in err and "Errno" not in err


def test_compare_names_an_unreadable_run_once(trained_model, tmp_path, capsys):
    import shutil
    import warnings
    shutil.copy(trained_model.with_suffix(".pickle"), tmp_path)
    (tmp_path / "Spec broken.pickle").write_bytes(b"\x80\x05 half a pickle")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["compare", "--results", str(tmp_path),
                         "--out", str(tmp_path / "c.png")]) == 0
    told = [str(w.message) for w in caught if "could not be read" in str(w.message)]
    assert len(told) == 1 and "Spec broken.pickle" in told[0]
    assert R.load_pickle(trained_model.with_suffix(".pickle"))["name"][:30] in \
        capsys.readouterr().out


def test_an_interrupted_run_is_told_apart_from_one_never_trained(trained_model, tmp_path,
                                                                 capsys):
    record = R.load_pickle(trained_model.with_suffix(".pickle"))
    record.update(completed=False, loss=record["loss"][:1] * 2, val_loss=[7.0, 6.0],
                  epochs_requested=5, cer=None, wer=None)       # as a run stopped by Ctrl-C
    R.save_record(tmp_path / trained_model.with_suffix(".pickle").name, record)
    model = tmp_path / trained_model.name                       # its .keras is not saved yet
    assert cli.main(["evaluate", "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert f"no trained model at {model}: its run '{record['name']}' stopped after epoch 2 of " \
           "5 (interrupted?)" in err and "again to finish it" in err
    assert "or with epochs=2 (--epochs 2) to save it as it is now" in err
    assert cli.main(["compare", "--results", str(tmp_path), "--out", str(tmp_path / "c.png")]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if record["name"][:30] in line)
    assert "None" not in row and "nan" not in row.lower()
    picture = tmp_path / "c.png"                               # a file, but no model
    assert cli.main(["transcribe", "--model", str(picture), str(picture)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {picture} is not a trained model; expected")


def test_a_models_own_corpus_is_the_default_and_said(speech_corpus, tmp_path, capsys):
    from vui.cli.common import DEFAULT_CORPUS, corpus_for
    from vui.train.trained import ModelInfo
    corpus = corpus_with_speakers(speech_corpus, tmp_path, ["a"])
    trained_here = ModelInfo(train_index=str(corpus / "train_corpus.json"))
    assert corpus_for(None, trained_here) == str(corpus)
    assert f"corpus: {corpus} (where the model was trained" in capsys.readouterr().err
    assert corpus_for("elsewhere", trained_here) == "elsewhere"          # --corpus wins
    assert capsys.readouterr().err == ""
    moved = ModelInfo(train_index=str(tmp_path / "gone" / "train_corpus.json"))
    for info in (moved, ModelInfo()):                   # nothing to go back to: the default
        assert corpus_for(None, info) == str(DEFAULT_CORPUS)
        assert "the embedded default" in capsys.readouterr().err


def test_a_missing_backend_is_one_error_line(monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    monkeypatch.setattr(cli, "BACKEND_PACKAGES", {"torch": "no_such_package_vui"})
    assert cli.main(["evaluate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: KERAS_BACKEND=torch, but no_such_package_vui is not installed")
    with pytest.raises(SystemExit) as exit_:             # --help still answers
        cli.main(["evaluate", "--help"])
    assert exit_.value.code == 0


def test_the_cli_says_a_warning_in_one_line(monkeypatch):
    import warnings
    formatted = cli.one_line_warning(UserWarning("a.wav is sampled at 8000 Hz"), UserWarning,
                                     "/x/utils.py", 7, "    audio = resample(...)")
    assert formatted == "warning: a.wav is sampled at 8000 Hz\n"
    seen = []
    previous = warnings.formatwarning
    monkeypatch.setattr(cli, "_dispatch", lambda argv: seen.append(warnings.formatwarning))
    cli.main(["evaluate"])
    assert seen == [cli.one_line_warning]                     # while the command runs
    assert warnings.formatwarning is previous                  # and Python's own after it


def test_evaluate_reads_only_the_partitions_it_scores_held_out_ones_too(
        trained_model, speech_corpus, tmp_path, capsys):
    """The model's own statistics stand in for the training partition's: a corpus folder
    without a train index is scored, with the figures a generator fitted on it would give.
    `vui corpus embedded --holdout-families` writes holdout_corpus.json: evaluate and the
    model gate score it, the gate calibrated on the in-family test partition."""
    import train_utils as T
    corpus = corpus_with_speakers(speech_corpus, tmp_path, "ab")
    (corpus / "train_corpus.json").unlink()
    shutil.copy(corpus / "test_corpus.json", corpus / "holdout_corpus.json")
    common = ["--model", str(trained_model), "--corpus", str(corpus)]
    assert cli.main(["evaluate", *common, "--partition", "test"]) == 0
    test_line = capsys.readouterr().out.splitlines()[0]
    model = T.load_model(str(trained_model))
    fitted = DG.AudioGeneratorCached.for_features(model.vui_record["feature_config"],
                                                  cache_dir=tmp_path / "cache")
    fitted.load_train_data(speech_corpus["index"])        # what the model was trained on
    fitted.load_test_data(str(corpus / "test_corpus.json"))
    expected = T.evaluate(model, fitted, "test", verbose=0)
    assert test_line.startswith(f"test: CER {expected.cer:.2%}  WER {expected.wer:.2%}"), test_line
    assert cli.main(["evaluate", *common, "--partition", "holdout"]) == 0
    holdout_line = capsys.readouterr().out.splitlines()[0]
    same = [line.split(", real-time factor")[0] for line in (test_line, holdout_line)]
    assert same[1] == same[0].replace("test:", "holdout:", 1)             # the same files here
    assert cli.main(["robust", "evaluate", *common, "--partition", "holdout",
                     "--robust-model", str(trained_model), "--calibrate-on", "test"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("holdout: CER") and "gate: threshold" in printed


def test_ctrl_c_exits_130_and_a_training_command_says_how_to_resume(monkeypatch, capsys):
    def interrupted(argv):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "_dispatch", interrupted)
    assert cli.main(["train", "--preset", "demo"]) == 130
    assert capsys.readouterr().err == ("interrupted; the same command again resumes after the "
                                       "last finished epoch\n")
    assert cli.main(["transcribe", "a.wav"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("options, message", [
    (["--min-loss", "nan"], "argument --min-loss: expected a finite number, got 'nan'"),
    (["--min-loss", "500", "--max-loss", "5"], "error: --min-loss 500 is not below --max-loss 5")])
def test_compare_refuses_limits_that_make_no_plot(tmp_path, capsys, options, message):
    with contextlib.suppress(SystemExit):
        assert cli.main(["compare", "--results", str(tmp_path), *options]) == 2
    assert message in capsys.readouterr().err
