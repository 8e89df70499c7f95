"""The strategy interface (vui.infer.strategy.Strategy): any object with `apply` plugs into evaluate
and transcribe_files; its extras and decoders reach the results; OneSpeaker pools the files;
strategy_for composes the research strategies as the command line spells them."""
import numpy as np
import pytest

from test_model_gate import NamedDecoder, linear, three_files, two_speaker_gen  # noqa: F401
from vui.infer.evaluation import evaluate
from vui.infer.inference import predict_probabilities
from vui.infer.strategy import Outcome
from vui.research.model_gate import ModelGate
from vui.research.strategies import (Gate, OneSpeaker, SpeakerShift, WarpSearch, chosen_warps,
                                     gate_routed, strategy_for)


class Recording:
    """Plain outputs, each utterance's group as an extra, every other one decoded by name."""

    def __init__(self):
        self.calls = []

    def apply(self, model, features, groups, context):
        self.calls.append((list(groups), context.stats(model)))
        decoders = [NamedDecoder(f"group {g}") if i % 2 else None for i, g in enumerate(groups)]
        return Outcome(predict_probabilities(model, features), {"group": list(groups)}, decoders)


def test_a_plug_in_strategy_gets_speakers_and_reports_per_utterance(two_speaker_gen):  # noqa: F811
    gen = two_speaker_gen
    model = linear(gen, 0)
    plain = evaluate(model, gen, "test", verbose=0)
    strategy = Recording()
    result = evaluate(model, gen, "test", verbose=0, strategy=strategy)
    speakers = gen.speakers("test")
    assert [groups for groups, _ in strategy.calls] == [speakers]
    for key in ("mean", "std"):      # the model's own statistics
        np.testing.assert_allclose(strategy.calls[0][1][key], model.vui_record["normalization"][key])
    assert result.extras == {"group": speakers}
    assert chosen_warps(result) is None and gate_routed(result) is None
    assert result.hypotheses == [f"group {s}" if i % 2 else plain.hypotheses[i]
                                 for i, s in enumerate(speakers)]


def test_transcribe_gives_each_file_its_own_group_unless_one_speaker(three_files):  # noqa: F811
    from test_warp_search import LinearModel
    from vui.infer.transcribe import transcribe_files
    files, config, _, stats = three_files
    model = LinearModel(26, stats)
    strategy = Recording()
    rows = transcribe_files(model, files, strategy=strategy)
    assert [groups for groups, _ in strategy.calls] == [[0], [1], [2]]   # one call a file
    assert [r["group"] for r in rows] == [0, 1, 2]
    together = Recording()
    rows = transcribe_files(model, files, strategy=OneSpeaker(together))
    assert [groups for groups, _ in together.calls] == [[0, 0, 0]]
    assert [r["decoder"] for r in rows] == ["greedy", "group 0", "greedy"]


def test_a_strategy_must_answer_for_every_utterance(two_speaker_gen):  # noqa: F811
    class Short:
        def apply(self, model, features, groups, context):
            return Outcome(predict_probabilities(model, features[1:]))
    with pytest.raises(ValueError, match=r"Short: \[5\] outputs, extras or decoders for 6"):
        evaluate(linear(two_speaker_gen, 0), two_speaker_gen, "test", verbose=0, strategy=Short())


def test_strategy_for_spells_the_command_lines_options():
    gate = ModelGate(robust=None, threshold=0.0)
    assert isinstance(strategy_for(), SpeakerShift) and strategy_for().as_trained
    assert strategy_for(speaker_norm=False).shift(None) is None
    searched = strategy_for(warp_search=True, speaker_norm="utterance")
    assert isinstance(searched, WarpSearch) and searched.shift.config.per == "utterance"
    gated = strategy_for(warp_search=True, speaker_norm="speaker", gate=gate, one_speaker=True)
    assert isinstance(gated, OneSpeaker) and isinstance(gated.inner, Gate)
    routed, kept = gated.inner.routed_strategy, gated.inner.kept_strategy
    assert routed.shift.config.per == "speaker"
    assert kept.shift.config is None and not kept.shift.as_trained     # the kept side: no shift
    with pytest.raises(ValueError, match="calibrated per utterance"):
        strategy_for(gate=ModelGate(None, 0.0, per="utterance"), one_speaker=True)
    assert np.all(OneSpeaker().regroup(["a", "b"]) == [0, 0])
