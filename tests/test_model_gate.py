"""The model gate (vui.research.model_gate): per-speaker scores, the calibrated threshold, which
speakers go to the augmented model, and evaluate(strategy=Gate(...)) decoding them with it."""
from dataclasses import asdict

import numpy as np
import pytest

from char_map import NUM_CLASSES
from conftest import write_index
from test_warp_search import LinearModel
from vui.research.model_gate import GateConfig, ModelGate, check_same_features, speaker_scores
from vui.research.strategies import Gate, OneSpeaker, WarpSearch, chosen_warps, gate_routed
from vui.research.warp_search import speech_frame_score


def peaked(frames, top, symbol=2):
    """(frames, 29) outputs whose best symbol (a letter) has probability `top` in every frame."""
    p = np.full((frames, NUM_CLASSES), (1.0 - top) / (NUM_CLASSES - 1))
    p[:, symbol] = top
    return p


class CountingModel(LinearModel):
    """LinearModel that counts the utterances it is asked about."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def predict_on_batch(self, x):
        self.calls += len(x)
        return super().predict_on_batch(x)


def test_speaker_scores_weight_each_utterance_by_its_frames():
    probs = [peaked(10, 0.9), peaked(30, 0.5), peaked(5, 0.8)]
    scores = speaker_scores(probs, ["a", "a", "b"])
    assert scores["a"] == pytest.approx((10 * np.log(0.9) + 30 * np.log(0.5)) / 40)
    assert scores["b"] == pytest.approx(np.log(0.8))
    assert scores["b"] == pytest.approx(speech_frame_score(probs[2]))
    with pytest.raises(ValueError, match="2 speaker labels for 3 utterances"):
        speaker_scores(probs, ["a", "b"])


def test_only_speakers_below_the_threshold_are_routed():
    gate = ModelGate(robust=None, threshold=np.log(0.7))
    probs = [peaked(8, 0.9), peaked(8, 0.6), peaked(4, 0.75), peaked(8, 0.95)]
    routed = gate.routed(probs, ["sure", "unsure", "unsure", "sure"])
    assert routed.tolist() == [False, True, True, False]
    # per speaker: 0.6 over 8 frames and 0.75 over 4 average below log(0.7), 0.75 alone does not
    routed = gate.routed(probs, ["sure", "unsure", "other", "sure"])
    assert routed.tolist() == [False, True, False, False]
    alone = ModelGate(robust=None, threshold=np.log(0.7), per="utterance")
    assert alone.routed(probs, ["sure", "unsure", "unsure", "sure"]).tolist() == \
        [False, True, False, False]                   # 0.75 alone is above log(0.7)


def test_bad_gate_settings_are_clear_errors():
    with pytest.raises(ValueError, match="quantile=1.5"):
        GateConfig(quantile=1.5).validate()
    with pytest.raises(ValueError, match="score='loudest'"):
        GateConfig(score="loudest").validate()
    with pytest.raises(ValueError, match="per='file'"):
        GateConfig(per="file").validate()
    with pytest.raises(ValueError, match="expected the same feature settings"):
        check_same_features(model_reading({"kind": "mfcc"}), model_reading({"kind": "spectrogram"}))


def model_reading(feature_config):
    model = LinearModel(4, {"mean": np.zeros(4), "std": np.ones(4)})
    model.vui_record["feature_config"] = feature_config
    return model


@pytest.fixture
def two_speaker_gen(speech_corpus, tmp_path):
    """The six test utterances as two speakers, loaded as the test and validation partitions."""
    import data_generator as DG
    entries = [dict(e, speaker="ab"[i % 2]) for i, e in enumerate(speech_corpus["entries"])]
    index = write_index(tmp_path / "two.jsonl", entries)
    gen = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=26, cache_dir=tmp_path / "cache")
    gen.load_train_data(index)
    gen.load_test_data(index)
    gen.load_validation_data(index)
    return gen


def linear(gen, seed):
    model = CountingModel(26, gen.normalization_stats(), seed=seed)
    model.vui_record["feature_config"] = asdict(gen.feature_config)
    return model


def test_calibrated_threshold_is_the_quantile_of_in_family_speakers(two_speaker_gen, speech_corpus,
                                                                   tmp_path):
    from vui.infer.inference import predict_probabilities
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    probs = predict_probabilities(model, [gen.get_features("validation", i) for i in range(6)])
    scores = speaker_scores(probs, gen.speakers("validation"))
    assert len(scores) == 2
    for q in (0.0, 0.5, 1.0):
        gate = ModelGate.calibrate(model, robust, gen, "validation", GateConfig(quantile=q))
        assert gate.threshold == pytest.approx(np.quantile(list(scores.values()), q))
        assert gate.robust is robust
    utterance_scores = speaker_scores(probs, list(range(6)))
    gate = ModelGate.calibrate(model, robust, gen, "validation",
                               GateConfig(quantile=0.25, per="utterance"))
    assert gate.per == "utterance"
    assert gate.threshold == pytest.approx(np.quantile(list(utterance_scores.values()), 0.25))
    one = write_index(tmp_path / "one.jsonl",
                      [dict(e, speaker="a") for e in speech_corpus["entries"]])
    gen.load_validation_data(one)
    with pytest.raises(ValueError, match="1 speaker"):
        ModelGate.calibrate(model, robust, gen, "validation")


def test_evaluate_decodes_routed_speakers_with_the_robust_model(two_speaker_gen):
    from vui.infer.evaluation import evaluate
    from vui.infer.inference import predict_probabilities
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    alone = evaluate(model, gen, "test", verbose=0)
    augmented = evaluate(robust, gen, "test", verbose=0)
    assert alone.hypotheses != augmented.hypotheses       # the two models really differ
    everyone = evaluate(model, gen, "test", verbose=0, strategy=Gate(ModelGate(robust, np.inf)))
    assert everyone.hypotheses == augmented.hypotheses and all(gate_routed(everyone))
    robust.calls = 0
    nobody = evaluate(model, gen, "test", verbose=0, strategy=Gate(ModelGate(robust, -np.inf)))
    assert nobody.hypotheses == alone.hypotheses and not any(gate_routed(nobody))
    assert robust.calls == 0                               # never run when nobody is routed
    scores = speaker_scores(predict_probabilities(model, [gen.get_features("test", i)
                                                          for i in range(6)]), gen.speakers("test"))
    low = min(scores, key=scores.get)
    split_gate = ModelGate(robust, float(np.mean(list(scores.values()))))
    split = evaluate(model, gen, "test", verbose=0, strategy=Gate(split_gate))
    assert robust.calls == 3                               # the routed speaker's 3 utterances
    for i, speaker in enumerate(gen.speakers("test")):
        source = augmented if speaker == low else alone
        assert gate_routed(split)[i] == (speaker == low)
        assert split.hypotheses[i] == source.hypotheses[i]
    assert chosen_warps(split) is None


def test_a_gate_with_the_warp_search_searches_each_side_under_its_model(two_speaker_gen):
    from vui.infer.evaluation import evaluate
    from vui.research.warp_search import WarpSearchConfig
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    search = WarpSearch(WarpSearchConfig(alphas=(0.85, 1.0, 1.15)))
    alone = evaluate(model, gen, "test", verbose=0, strategy=search)
    augmented = evaluate(robust, gen, "test", verbose=0, strategy=search)
    routed_speaker = gen.speakers("test")[0]
    gate = ModelGate(robust, 0.0)
    gate.routed = lambda probs, speakers: np.array([s == routed_speaker for s in speakers])
    both = evaluate(model, gen, "test", verbose=0, strategy=Gate(gate, routed=search, kept=search))
    for i, speaker in enumerate(gen.speakers("test")):
        source = augmented if speaker == routed_speaker else alone
        assert both.hypotheses[i] == source.hypotheses[i]
        assert chosen_warps(both)[i] == chosen_warps(source)[i]


def test_the_gates_unwarped_pass_is_not_run_again_by_the_warp_search(two_speaker_gen):
    from vui.infer.evaluation import evaluate
    from vui.research.warp_search import WarpSearchConfig
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    search = WarpSearch(WarpSearchConfig(alphas=(0.85, 1.0, 1.15)))
    alone = evaluate(model, gen, "test", verbose=0, strategy=search)
    model.calls = 0
    kept = evaluate(model, gen, "test", verbose=0,
                    strategy=Gate(ModelGate(robust, -np.inf), routed=search, kept=search))
    assert model.calls == 6 * 3 and robust.calls == 0      # 3 passes over 6 utterances, not 4
    assert kept.hypotheses == alone.hypotheses and chosen_warps(kept) == chosen_warps(alone)


class NamedDecoder:
    def __init__(self, name):
        self.name = name

    def decode(self, probs):
        return self.name


def test_routed_speakers_decode_with_the_robust_models_own_lm_weights(two_speaker_gen,
                                                                      monkeypatch):
    from vui.infer import evaluation
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    model.vui_record["lm"] = {"path": "plain.arpa", "alpha": 0.5, "beta": 1.0}
    robust.vui_record["lm"] = {"path": "robust.arpa", "alpha": 0.7, "beta": 2.0}
    made = []
    monkeypatch.setattr("vui.decode.decoders.make_decoder",
                        lambda kind, **options: made.append(options) or NamedDecoder(options["lm_path"]))
    routed_speaker = gen.speakers("test")[0]
    gate = ModelGate(robust, 0.0)
    gate.routed = lambda probs, speakers: np.array([s == routed_speaker for s in speakers])
    result = evaluation.evaluate(model, gen, "test", decoder="beam_lm", verbose=0,
                                strategy=Gate(gate))
    assert result.hypotheses == ["robust.arpa" if s == routed_speaker else "plain.arpa"
                                 for s in gen.speakers("test")]
    assert {"lm_path": "robust.arpa", "alpha": 0.7, "beta": 2.0} in made
    del robust.vui_record["lm"]                            # none of its own: the model's
    result = evaluation.evaluate(model, gen, "test", decoder="beam_lm", verbose=0,
                                strategy=Gate(gate))
    assert set(result.hypotheses) == {"plain.arpa"}


@pytest.fixture
def three_files(speech_corpus):
    """Three recordings, the MFCC 26 settings, and normalisation statistics over them."""
    from utils import FeatureConfig, compute_features, load_audio
    config = FeatureConfig("mfcc", mfcc_dim=26)
    files = [e["key"] for e in speech_corpus["entries"][:3]]
    feats = [compute_features(load_audio(f, config.sample_rate), config) for f in files]
    stacked = np.vstack(feats)
    return files, config, feats, {"mean": stacked.mean(axis=0), "std": stacked.std(axis=0)}


def test_transcribe_files_sends_the_files_the_model_is_unsure_of_to_the_robust_one(three_files):
    from vui.infer.inference import predict_probabilities
    from vui.infer.transcribe import transcribe_files
    from vui.research.warp_search import WarpSearchConfig
    files, config, feats, stats = three_files
    model, robust = CountingModel(26, stats, seed=0), CountingModel(26, stats, seed=1)
    alone, augmented = (transcribe_files(m, files) for m in (model, robust))
    assert [r["transcript"] for r in alone] != [r["transcript"] for r in augmented]
    probs = predict_probabilities(model, [(f - stats["mean"]) / stats["std"] for f in feats])
    scores = speaker_scores(probs, [0, 1, 2])
    unsure = min(scores, key=scores.get)
    gate = ModelGate(robust, float(np.median(list(scores.values()))))
    robust.calls = 0
    rows = transcribe_files(model, files, strategy=Gate(gate))
    assert [r["routed"] for r in rows] == [i == unsure for i in range(3)]
    assert robust.calls == 1
    assert [r["transcript"] for r in rows] == [(augmented if i == unsure else alone)[i]["transcript"]
                                               for i in range(3)]
    # one speaker: one decision for all three, on their pooled score
    pooled = speaker_scores(probs, [0, 0, 0])[0]
    for threshold, expected in ((pooled + 1e-6, True), (pooled - 1e-6, False)):
        rows = transcribe_files(model, files,
                                strategy=OneSpeaker(Gate(ModelGate(robust, threshold))))
        assert [r["routed"] for r in rows] == [expected] * 3
    with pytest.raises(ValueError, match="calibrated per utterance"):   # a clip's threshold
        transcribe_files(model, files,
                         strategy=OneSpeaker(Gate(ModelGate(robust, pooled, per="utterance"))))
    model.calls = robust.calls = 0                       # kept, warp-searched: 3 passes a file
    search = WarpSearch(WarpSearchConfig(alphas=(0.9, 1.0, 1.1)))
    rows = transcribe_files(model, files,
                            strategy=Gate(ModelGate(robust, -np.inf), routed=search, kept=search))
    assert model.calls == 3 * 3 and robust.calls == 0
    assert all(r["warp"] in (0.9, 1.0, 1.1) for r in rows)


def test_a_saved_gate_loads_back_with_both_models(tmp_path, monkeypatch):
    import json
    from vui.train import trained
    from vui.research.model_gate import load_gate, save_gate
    gate = ModelGate(robust="R", threshold=-0.162, score="speech_frames")
    path = tmp_path / "gates" / "rms.json"
    save_gate(gate, path, tmp_path / "plain.keras", tmp_path / "robust.keras",
              {"partition": "test", "speakers": 20})
    record = json.loads(path.read_text())
    assert record["threshold"] == -0.162 and record["calibrated_on"]["speakers"] == 20
    loaded = {str(tmp_path / "plain.keras"): model_reading({"kind": "mfcc"}),
              str(tmp_path / "robust.keras"): model_reading({"kind": "mfcc"})}
    monkeypatch.setattr(trained, "load_model", lambda p: loaded[str(p)])
    model, back = load_gate(path)
    assert model is loaded[str(tmp_path / "plain.keras")]
    assert back.robust is loaded[str(tmp_path / "robust.keras")]
    assert (back.threshold, back.score, back.per) == (-0.162, "speech_frames", "speaker")
    with pytest.raises(FileNotFoundError, match="nowhere.json.*--save-gate"):
        load_gate(tmp_path / "nowhere.json")
    path.write_text(json.dumps({"model": "a.keras", "threshold": 0.1}))
    with pytest.raises(ValueError, match=r"rms.json lacks \['robust_model', 'score'\]"):
        load_gate(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="rms.json is not JSON"):
        load_gate(path)
