"""Test-time speaker mean normalisation (vui.features.speaker_norm): the pooled means it subtracts, its
settings, and the SpeakerShift strategy of evaluate / transcribe_files alone, after each warp
of a warp search and behind a model gate."""
import numpy as np
import pytest

from test_model_gate import linear, two_speaker_gen  # noqa: F401 (a fixture)
from vui.decode.decoders import make_decoder
from vui.research.model_gate import ModelGate
from vui.features.speaker_norm import SpeakerNormConfig, as_config, group_means, normalize_speakers
from vui.research.strategies import (Gate, OneSpeaker, SpeakerShift, WarpSearch, chosen_warps,
                                     gate_routed)


def utterances(rng):
    """Three utterances of two speakers, each speaker with his own offset, of unequal lengths."""
    offsets = {"a": np.arange(4.0), "b": -2.0 * np.ones(4)}
    lengths, speakers = (10, 30, 7), ["a", "a", "b"]
    feats = [rng.normal(size=(n, 4)).astype(np.float32) + offsets[s]
             for n, s in zip(lengths, speakers)]
    return feats, speakers


def test_each_speaker_pooled_frame_mean_becomes_zero(rng):
    feats, speakers = utterances(rng)
    before = [f.copy() for f in feats]
    shifted = normalize_speakers(feats, speakers)
    pooled_a = np.concatenate(shifted[:2]).mean(axis=0)
    np.testing.assert_allclose(pooled_a, 0.0, atol=1e-5)
    np.testing.assert_allclose(shifted[2].mean(axis=0), 0.0, atol=1e-5)
    # the two utterances of "a" share one shift, weighted by frames (30 outweigh 10)
    np.testing.assert_allclose((feats[0] - shifted[0])[:1], (feats[1] - shifted[1])[:1], atol=1e-5)
    expected_a = (feats[0].sum(0) + feats[1].sum(0)) / 40
    np.testing.assert_allclose(feats[0] - shifted[0], np.tile(expected_a, (10, 1)), atol=1e-5)
    assert shifted[0].dtype == np.float32
    for f, b in zip(feats, before):
        np.testing.assert_array_equal(f, b)                    # inputs left as they were


def test_per_utterance_and_part_strength(rng):
    feats, speakers = utterances(rng)
    alone = normalize_speakers(feats, speakers, SpeakerNormConfig(per="utterance"))
    for f in alone:
        np.testing.assert_allclose(f.mean(axis=0), 0.0, atol=1e-5)
    half = normalize_speakers(feats, speakers, SpeakerNormConfig(strength=0.5))
    full = normalize_speakers(feats, speakers)
    for f, h, s in zip(feats, half, full):
        np.testing.assert_allclose(f - h, 0.5 * (f - s), atol=1e-5)


def test_bad_settings_and_inputs_are_clear_errors(rng):
    feats, speakers = utterances(rng)
    with pytest.raises(ValueError, match="per='voice'"):
        SpeakerNormConfig(per="voice").validate()
    with pytest.raises(ValueError, match=r"strength=1.5: expected a fraction in \(0, 1\]"):
        normalize_speakers(feats, speakers, SpeakerNormConfig(strength=1.5))
    with pytest.raises(ValueError, match="2 speaker labels for 3 utterances"):
        group_means(feats, speakers[:2])
    with pytest.raises(ValueError, match=r"shape \(0, 4\)"):
        normalize_speakers([np.zeros((0, 4))], ["a"])
    with pytest.raises(TypeError, match="speaker_norm=3"):
        as_config(3)
    assert as_config(None) is None and as_config(False) is None
    assert as_config(True) == SpeakerNormConfig()
    assert as_config("utterance").per == "utterance"


def greedy_hypotheses(model, features):
    greedy = make_decoder("greedy")
    return [greedy.decode(model.predict_on_batch(f[None])[0]) for f in features]


def test_evaluate_decodes_the_shifted_features(two_speaker_gen):  # noqa: F811
    from vui.infer.evaluation import evaluate
    gen = two_speaker_gen
    model = linear(gen, 0)
    features = [gen.get_features("test", i) for i in range(6)]
    speakers = gen.speakers("test")
    plain = evaluate(model, gen, "test", verbose=0)
    normed = evaluate(model, gen, "test", verbose=0, strategy=SpeakerShift("speaker"))
    assert plain.hypotheses == greedy_hypotheses(model, features)
    assert normed.hypotheses == greedy_hypotheses(model, normalize_speakers(features, speakers))
    assert normed.hypotheses != plain.hypotheses             # the shift really reaches the model


def test_with_the_warp_search_each_speaker_is_shifted_after_each_warp(two_speaker_gen):  # noqa: F811
    from vui.augment.feature_warp import warp_normalized
    from vui.infer.evaluation import evaluate
    from vui.research.warp_search import WarpSearchConfig
    gen = two_speaker_gen
    model = linear(gen, 0)
    stats = gen.normalization_stats()
    features = [gen.get_features("test", i) for i in range(6)]
    speakers = gen.speakers("test")
    normed = evaluate(model, gen, "test", verbose=0, strategy=SpeakerShift("speaker"))
    unwarped = evaluate(model, gen, "test", verbose=0, strategy=WarpSearch(
        WarpSearchConfig(alphas=(1.0,)), shift="speaker"))
    assert unwarped.hypotheses == normed.hypotheses
    warped = evaluate(model, gen, "test", verbose=0, strategy=WarpSearch(
        WarpSearchConfig(alphas=(1.15,)), shift="speaker"))
    expected = normalize_speakers([warp_normalized(f, gen.feature_config, 1.15, stats["mean"],
                                                   stats["std"]) for f in features], speakers)
    assert warped.hypotheses == greedy_hypotheses(model, expected)
    assert chosen_warps(warped) == [1.15] * 6
    searched = evaluate(model, gen, "test", verbose=0, strategy=WarpSearch(
        WarpSearchConfig(alphas=(0.85, 1.0, 1.15)), shift="speaker"))
    for i, alpha in enumerate(chosen_warps(searched)):
        source = {1.0: unwarped, 1.15: warped}.get(alpha)
        if source is not None:
            assert searched.hypotheses[i] == source.hypotheses[i]
        assert alpha == chosen_warps(searched)[speakers.index(speakers[i])]   # one per speaker


def test_behind_a_gate_only_the_routed_speakers_are_shifted(two_speaker_gen):  # noqa: F811
    from vui.infer.evaluation import evaluate
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    speakers = gen.speakers("test")
    routed_speaker = speakers[0]
    gate = ModelGate(robust, 0.0)
    gate.routed = lambda probs, labels: np.array([s == routed_speaker for s in labels])
    result = evaluate(model, gen, "test", verbose=0,
                      strategy=Gate(gate, routed=SpeakerShift("speaker")))
    rows = [i for i, s in enumerate(speakers) if s == routed_speaker]
    routed_features = normalize_speakers([gen.get_features("test", i) for i in rows],
                                         [routed_speaker] * len(rows))
    expected = dict(zip(rows, greedy_hypotheses(robust, routed_features)))
    plain = evaluate(model, gen, "test", verbose=0)
    for i in range(6):
        assert result.hypotheses[i] == expected.get(i, plain.hypotheses[i])
    assert gate_routed(result) == [i in expected for i in range(6)]


def test_transcribe_shifts_each_file_or_one_speakers_files_together(speech_corpus):
    import utils
    from data_generator import normalize_with
    from test_warp_search import LinearModel
    from vui.infer.transcribe import transcribe_files
    config = utils.FeatureConfig("mfcc", mfcc_dim=26)
    paths = [e["key"] for e in speech_corpus["entries"][:3]]
    raw = [utils.features_from_file(p, config) for p in paths]
    stats = {"mean": np.mean(np.concatenate(raw), 0), "std": np.std(np.concatenate(raw), 0)}
    model = LinearModel(26, stats)
    normalised = [normalize_with(f, stats["mean"], stats["std"]) for f in raw]

    def transcripts(strategy=None):
        return [r["transcript"] for r in transcribe_files(model, paths, strategy=strategy)]
    plain = transcripts()
    assert plain == greedy_hypotheses(model, normalised)
    each = transcripts(SpeakerShift(True))
    assert each == greedy_hypotheses(model, normalize_speakers(normalised, [0, 1, 2]))
    together = transcripts(OneSpeaker(SpeakerShift(True)))
    assert together == greedy_hypotheses(model, normalize_speakers(normalised, [0, 0, 0]))
    assert each != plain and together != each
    from vui.augment.feature_warp import warp_normalized
    from vui.research.warp_search import WarpSearchConfig
    warped = [warp_normalized(f, config, 1.15, stats["mean"], stats["std"]) for f in normalised]
    search = WarpSearch(WarpSearchConfig(alphas=(1.15,)), shift=True)
    assert transcripts(search) == greedy_hypotheses(model, normalize_speakers(warped, [0, 1, 2]))
    assert transcripts(OneSpeaker(search)) == \
        greedy_hypotheses(model, normalize_speakers(warped, [0, 0, 0]))
    rows = transcribe_files(model, paths, strategy=OneSpeaker(
        WarpSearch(WarpSearchConfig(alphas=(0.85, 1.0, 1.15)), shift=True)))
    assert len({r["warp"] for r in rows}) == 1                # one warp for the one talker


def test_behind_a_gate_with_the_warp_search_only_the_routed_side_is_shifted(two_speaker_gen):  # noqa: F811,E501
    from vui.augment.feature_warp import warp_normalized
    from vui.infer.evaluation import evaluate
    from vui.research.warp_search import WarpSearchConfig
    gen = two_speaker_gen
    model, robust = linear(gen, 0), linear(gen, 1)
    stats = gen.normalization_stats()
    speakers = gen.speakers("test")
    gate = ModelGate(robust, 0.0)
    gate.routed = lambda probs, labels: np.array([s == speakers[0] for s in labels])
    search = WarpSearchConfig(alphas=(1.15,))
    result = evaluate(model, gen, "test", verbose=0, strategy=Gate(
        gate, routed=WarpSearch(search, shift="speaker"), kept=WarpSearch(search)))
    warped = [warp_normalized(gen.get_features("test", i), gen.feature_config, 1.15,
                              stats["mean"], stats["std"]) for i in range(6)]
    rows = [i for i in range(6) if speakers[i] == speakers[0]]
    routed = dict(zip(rows, greedy_hypotheses(
        robust, normalize_speakers([warped[i] for i in rows], [speakers[0]] * len(rows)))))
    kept = greedy_hypotheses(model, warped)
    assert result.hypotheses == [routed.get(i, kept[i]) for i in range(6)]


# ---- training with the shift (matched per-speaker CMN) ----------------------------------

def test_training_batches_are_shifted_by_each_speakers_pooled_mean(two_speaker_gen):  # noqa: F811
    gen = two_speaker_gen
    features = [gen.get_features("validation", i) for i in range(6)]
    expected = normalize_speakers(features, gen.speakers("validation"))
    gen.speaker_norm = as_config("speaker")
    data = gen.dataset("validation", shuffle=False)
    seen = 0
    for b in range(len(data)):
        x, y = data[b]
        for row, i in enumerate(data.batches[b]):
            np.testing.assert_allclose(x[row, :len(features[i])], expected[i], atol=1e-5)
            seen += 1
    assert seen == 6
    gen.speaker_norm = None
    x, _ = gen.dataset("validation", shuffle=False)[0]
    i = gen.dataset("validation", shuffle=False).batches[0][0]
    np.testing.assert_allclose(x[0, :len(features[i])], features[i], atol=1e-6)


def test_training_shift_refuses_augmentation_that_changes_the_voice(two_speaker_gen):  # noqa: F811
    from vui.augment.augmenter import SpecAugmenter, VTLPConfig
    from vui.augment.feature_warp import FeatureWarpAugmenter
    gen = two_speaker_gen
    gen.speaker_norm = as_config("speaker")
    stats = gen.normalization_stats()
    warp = FeatureWarpAugmenter(VTLPConfig(prob=1.0), gen.feature_config, stats["mean"],
                                stats["std"])
    with pytest.raises(ValueError, match="'warp' that changes the voice"):
        gen.dataset("train", augment=warp)

    class Variants:
        name = "voices"

        def variant_features(self, path, rng):
            return None
    with pytest.raises(ValueError, match="'voices' that changes the voice"):
        gen.dataset("train", augment=Variants())
    assert len(gen.dataset("train", augment=SpecAugmenter())) > 0   # masks keep the voice


def test_a_model_trained_with_the_shift_is_evaluated_and_transcribed_with_it(two_speaker_gen):  # noqa: F811,E501
    from vui.infer.evaluation import evaluate
    from vui.train.trained import model_info
    from vui.infer.transcribe import transcribe_files
    gen = two_speaker_gen
    model = linear(gen, 0)
    plain = evaluate(model, gen, "test", verbose=0)
    shifted = evaluate(model, gen, "test", verbose=0, strategy=SpeakerShift("speaker"))
    model.vui_record["speaker_norm"] = {"per": "speaker", "strength": 1.0}
    assert model_info(model).speaker_norm == SpeakerNormConfig()
    assert evaluate(model, gen, "test", verbose=0).hypotheses == shifted.hypotheses
    assert evaluate(model, gen, "test", verbose=0, strategy=SpeakerShift(False)).hypotheses == \
        plain.hypotheses
    paths = gen.partition_data("test")[0][:2]
    rows = transcribe_files(model, paths)
    each = transcribe_files(model, paths, strategy=SpeakerShift(True))
    unshifted = transcribe_files(model, paths, strategy=SpeakerShift(False))
    assert [r["transcript"] for r in rows] == [r["transcript"] for r in each]
    assert [r["transcript"] for r in rows] != [r["transcript"] for r in unshifted]
    robust = linear(gen, 1)
    with pytest.raises(ValueError, match="unaugmented model was trained with a speaker shift"):
        ModelGate.calibrate(model, robust, gen, "validation")


def test_get_predictions_shifts_one_utterance_by_its_speakers_mean(two_speaker_gen, capsys):  # noqa: F811,E501
    from vui.infer.evaluation import evaluate, get_predictions
    gen = two_speaker_gen
    model = linear(gen, 0)
    model.vui_record["speaker_norm"] = {"per": "speaker", "strength": 1.0}
    expected = evaluate(model, gen, "test", verbose=0).hypotheses
    for i in (0, 3):
        get_predictions(gen, model, "test", i, print_line=False, omit_true=True)
        assert capsys.readouterr().out.split(": ", 1)[1].strip() == expected[i].strip()


def test_train_model_records_the_shift_and_names_the_run(two_speaker_gen, tmp_path):  # noqa: F811
    import keras
    import train_utils as T
    from test_train_utils import tiny_builder
    from vui import results as R
    from vui.train.trained import model_info
    gen = two_speaker_gen
    gen.speaker_norm = SpeakerNormConfig(strength=0.5)
    name = T.train_model(gen, tiny_builder(), epochs=1, minibatch_size=3, verbose=0,
                         optimizer=lambda: keras.optimizers.Adam(1e-3),
                         results_dir=tmp_path, evaluate_after=False)
    assert name.endswith(" SpkNorm(speaker 0.5)")
    model = T.load_model(str(R.run_paths(name, tmp_path)[1]))
    assert model.vui_record["speaker_norm"] == {"per": "speaker", "strength": 0.5}
    assert model_info(model).speaker_norm == SpeakerNormConfig(strength=0.5)
