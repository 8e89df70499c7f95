"""The demo keeps its 20-minute promise: the training budget gives way to a slow corpus build."""
import pytest

from vui import demo


def test_the_full_training_budget_when_the_corpus_was_quick():
    assert demo.training_minutes(3.5) == demo.DEMO_TRAIN_MINUTES


def test_a_slow_corpus_build_shortens_training_to_end_within_the_total():
    elapsed = 7.5
    budget = demo.training_minutes(elapsed)
    assert budget < demo.DEMO_TRAIN_MINUTES
    assert elapsed + budget + demo.DEMO_REPORT_MINUTES == pytest.approx(demo.DEMO_TOTAL_MINUTES)


def test_training_keeps_a_floor_and_an_explicit_budget_wins():
    assert demo.training_minutes(demo.DEMO_TOTAL_MINUTES) == demo.DEMO_MIN_TRAIN_MINUTES
    assert demo.training_minutes(7.5, requested=30) == 30.0


def test_the_benchmarks_feature_names_are_presets_and_others_are_refused(tmp_path):
    from vui.features.presets import FEATURE_PRESETS
    assert set(demo.FEATURE_CHOICES.values()) <= set(FEATURE_PRESETS)
    assert demo.DEMO_FEATURES in demo.FEATURE_CHOICES
    with pytest.raises(ValueError, match="features='mel': expected one of"):
        demo.demo_generator(tmp_path, "mel")
