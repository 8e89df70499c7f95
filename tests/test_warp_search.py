"""Test-time warp search (vui.research.warp_search): its scores, its choice per utterance and per
speaker, and that it finds the warp that undoes a talker's warp, with a model stand-in that
is most confident on the features it was 'trained' on."""
from dataclasses import asdict

import numpy as np
import pytest

from char_map import BLANK_INDEX, NUM_CLASSES
from utils import FeatureConfig, load_audio, mfcc
from vui.augment.feature_warp import warp_features, warp_normalized
from vui.research.warp_search import (WarpSearch, best_path_score, search_warps, speech_frame_score)

MFCC26 = FeatureConfig("mfcc", mfcc_dim=26)
ALPHAS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)


class TemplateModel:
    """Emits, per frame, a distribution whose peak is sharper the closer the frame is to the
    template's frame: confidence as a model has it on the voice it knows."""

    def __init__(self, template):
        self.template = np.asarray(template, np.float32)

    def output_length(self, n):
        return n

    def predict_on_batch(self, x):
        t = min(x.shape[1], len(self.template))
        distance = np.full(x.shape[:2], 50.0)
        distance[:, :t] = np.mean((x[:, :t] - self.template[None, :t]) ** 2, axis=-1)
        logits = np.zeros(x.shape[:2] + (NUM_CLASSES,))
        logits[..., 2] = 5.0 / (1.0 + distance)        # the letter 'a', sure when close
        e = np.exp(logits)
        return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def talker(speech_corpus):
    raw = mfcc(load_audio(speech_corpus["entries"][1]["key"]), MFCC26)
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    return raw, mean, std


def test_scores_are_the_best_paths_log_probability_per_frame():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.5, 0.25, 0.25]])
    assert best_path_score(probs) == pytest.approx(np.mean(np.log([0.7, 0.8, 0.5])))
    full = np.full((3, NUM_CLASSES), 0.01)
    full[0, BLANK_INDEX], full[1, 3], full[2, BLANK_INDEX] = 0.9, 0.6, 0.99
    assert speech_frame_score(full) == pytest.approx(np.log(0.6))   # the blank frames don't count
    silent = np.full((2, NUM_CLASSES), 0.01)
    silent[:, BLANK_INDEX] = 0.9
    assert speech_frame_score(silent) == pytest.approx(np.log(0.9))


def test_choice_per_utterance_and_per_speaker_weights_frames():
    scores = np.array([[-1.0, -0.2, -3.0],
                       [-0.5, -0.4, -0.1]])
    search = WarpSearch((0.9, 1.1), probs={}, scores=scores, frames=np.array([10.0, 30.0, 5.0]))
    assert list(search.choose()) == [1, 0, 1]
    # speaker "a" = utterances 0 and 1: 0.9 scores (-10 - 6) / 40, 1.1 scores (-5 - 12) / 40
    assert list(search.choose(["a", "a", "b"])) == [0, 0, 1]
    assert search.chosen_alphas() == [0.9, 0.9, 1.1]
    with pytest.raises(ValueError, match="2 group labels for 3 utterances"):
        search.choose(["a", "b"])


def test_averaged_probs_are_the_framewise_mean_over_factors():
    rng = np.random.default_rng(0)
    probs = {a: [rng.dirichlet(np.ones(NUM_CLASSES), size=n) for n in (4, 7)] for a in (0.9, 1.1)}
    search = WarpSearch((0.9, 1.1), probs=probs, scores=np.zeros((2, 2)), frames=np.ones(2))
    averaged = search.averaged_probs()
    assert [p.shape for p in averaged] == [(4, NUM_CLASSES), (7, NUM_CLASSES)]
    np.testing.assert_allclose(averaged[1], (probs[0.9][1] + probs[1.1][1]) / 2)
    np.testing.assert_allclose(averaged[0].sum(axis=-1), 1.0, rtol=1e-6)


def test_search_finds_the_warp_that_undoes_the_talkers(talker):
    raw, mean, std = talker
    template = (raw - mean) / std
    shifted = (warp_features(raw, MFCC26, 1.15) - mean) / std      # a shorter vocal tract
    search = search_warps(TemplateModel(template), [template, shifted], MFCC26, mean, std, ALPHAS)
    assert search.scores.shape == (len(ALPHAS), 2)
    assert [len(search.probs[a]) for a in ALPHAS] == [2] * len(ALPHAS)
    np.testing.assert_allclose(search.probs[1.0][0], TemplateModel(template).predict_on_batch(
        template[None])[0], rtol=1e-6)
    chosen = search.choose()
    assert search.chosen_alphas()[0] == 1.0               # the known talker stays as it is
    assert search.chosen_alphas()[1] in (0.85, 0.9)        # 1 / 1.15 = 0.87
    assert search.chosen_probs()[1] is search.probs[ALPHAS[chosen[1]]][1]


def test_warp_normalized_round_trips_the_normalisation(talker):
    raw, mean, std = talker
    normalised = (raw - mean) / std
    np.testing.assert_array_equal(warp_normalized(normalised, MFCC26, 1.0, mean, std), normalised)
    out = warp_normalized(normalised, MFCC26, 0.9, mean, std)
    np.testing.assert_allclose(out * std + mean, warp_features(raw, MFCC26, 0.9), atol=1e-3)


def test_bad_arguments_are_clear_errors(talker):
    raw, mean, std = talker
    model = TemplateModel(raw)
    with pytest.raises(ValueError, match="score='loudest'"):
        search_warps(model, [raw], MFCC26, mean, std, score="loudest")
    with pytest.raises(ValueError, match="at least one warp factor"):
        search_warps(model, [raw], MFCC26, mean, std, alphas=())


def test_known_outputs_are_used_instead_of_running_the_model_again(talker):
    raw, mean, std = talker
    template = (raw - mean) / std
    model = TemplateModel(template)
    full = search_warps(model, [template], MFCC26, mean, std, (0.9, 1.0))
    calls = []
    model.predict_on_batch = lambda x, run=model.predict_on_batch: calls.append(len(x)) or run(x)
    fake = [np.full_like(full.probs[1.0][0], 1.0 / NUM_CLASSES)]
    reused = search_warps(model, [template], MFCC26, mean, std, (0.9, 1.0), known={1: fake})
    assert calls == [1]                                    # only the 0.9 pass ran
    assert reused.probs[1.0][0] is fake[0]
    np.testing.assert_allclose(reused.probs[0.9][0], full.probs[0.9][0])
    assert reused.scores[1, 0] == pytest.approx(np.log(1.0 / NUM_CLASSES))
    with pytest.raises(ValueError, match="known outputs at warp 1.0: 2 for 1 utterances"):
        search_warps(model, [template], MFCC26, mean, std, (0.9, 1.0), known={1.0: fake * 2})
    with pytest.raises(ValueError, match="known outputs with a transform"):
        search_warps(model, [template], MFCC26, mean, std, (0.9, 1.0), known={1.0: fake},
                     transform=lambda warped: warped)


class LinearModel:
    """A fixed random projection of each frame onto the 29 symbols: a stand-in whose output
    depends on every feature, so a warp changes what it decodes."""

    def __init__(self, dim, stats, seed=0):
        self.w = np.random.default_rng(seed).normal(size=(dim, NUM_CLASSES)) * 3.0
        self.vui_record = {"normalization": stats,
                           "feature_config": asdict(FeatureConfig("mfcc", mfcc_dim=dim))}

    def output_length(self, n):
        return n

    def predict_on_batch(self, x):
        logits = x @ self.w
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


def test_evaluate_decodes_each_speaker_at_one_chosen_warp(speech_corpus, tmp_path):
    import data_generator as DG
    from vui.decode.decoders import make_decoder
    from vui.infer.evaluation import evaluate
    from vui.research.strategies import WarpSearch, chosen_warps
    from vui.research.warp_search import WarpSearchConfig
    gen = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=26, cache_dir=tmp_path / "cache")
    gen.load_train_data(speech_corpus["index"])
    gen.load_test_data(speech_corpus["index"])
    stats = gen.normalization_stats()
    model = LinearModel(26, stats)
    plain = evaluate(model, gen, "test", verbose=0)
    same = evaluate(model, gen, "test", verbose=0,
                    strategy=WarpSearch(WarpSearchConfig(alphas=(1.0,))))
    assert same.hypotheses == plain.hypotheses and chosen_warps(same) == [1.0] * 6
    per_speaker = evaluate(model, gen, "test", verbose=0,
                           strategy=WarpSearch(WarpSearchConfig(alphas=(0.85, 1.0, 1.15))))
    assert len(set(chosen_warps(per_speaker))) == 1          # one speaker in this corpus
    alpha = chosen_warps(per_speaker)[0]
    greedy = make_decoder("greedy")
    expected = [greedy.decode(model.predict_on_batch(warp_normalized(
        gen.get_features("test", i), gen.feature_config, alpha, stats["mean"], stats["std"])[None])[0])
        for i in range(6)]
    assert per_speaker.hypotheses == expected
    per_utterance = evaluate(model, gen, "test", verbose=0, strategy=WarpSearch(WarpSearchConfig(
        alphas=(0.85, 1.0, 1.15), per="utterance")))
    search = search_warps(model, [gen.get_features("test", i) for i in range(6)],
                          gen.feature_config, stats["mean"], stats["std"], (0.85, 1.0, 1.15))
    search.choose()                                        # each utterance its own best factor
    assert chosen_warps(per_utterance) == search.chosen_alphas()
    assert per_utterance.hypotheses == [greedy.decode(p) for p in search.chosen_probs()]
    with pytest.raises(ValueError, match="per='voice'"):
        evaluate(model, gen, "test", verbose=0, strategy=WarpSearch(WarpSearchConfig(per="voice")))
