"""Augmentation presets by name, and the object `train_model(..., augment=...)` takes.

Above vui.augment.augmenter (the configurations and on-the-fly augmenters), vui.augment.precompute (the
variants written once) and vui.augment.feature_warp, which it combines; none of them imports it.
"""
from __future__ import annotations

import dataclasses
import os

from vui.augment.augmenter import AugmentConfig, Augmenter, SpecAugmenter
from vui.augment.precompute import PrecomputedAugmenter, precompute_variants
from vui.augment.feature_warp import FeatureWarpAugmenter


PRESETS = {"none": AugmentConfig.none, "specaugment": AugmentConfig.spec_only,
           "light": AugmentConfig.light, "default": AugmentConfig.default,
           "voices": AugmentConfig.voices, "warp": AugmentConfig.warp}
WARP_SUFFIX = "+warp"      # "voices+warp": a preset with the "warp" preset's feature warp on top


def preset_names() -> list[str]:
    """Every name training_augmenter takes (vui train --augment's choices): the PRESETS, and
    each one the warp can be added to + WARP_SUFFIX."""
    return sorted(PRESETS) + [name + WARP_SUFFIX for name in sorted(PRESETS)
                              if name not in ("none", "warp")]


def preset_config(preset: str) -> AugmentConfig:
    """The AugmentConfig a preset name stands for: a PRESETS key, optionally with WARP_SUFFIX."""
    if preset not in preset_names():
        raise ValueError(f"unknown augmentation preset {preset!r}; expected one of "
                         f"{sorted(PRESETS)}, or one of them + {WARP_SUFFIX!r}")
    base = preset.removesuffix(WARP_SUFFIX)
    config = PRESETS[base]()
    if base != preset:
        config = dataclasses.replace(config, feature_warp=AugmentConfig.warp().feature_warp)
    return config


VARIANTS_SUBDIR = "augment-variants"   # beside the generator's feature cache


def training_augmenter(audio_gen, preset: str = "default", n_variants: int = 4,
                       workers: int = 2, cache_dir: str | None = None, seed: int = 0,
                       clean_prob: float = 0.2):
    """The object to pass as `train_model(..., augment=...)`, within the 30% epoch budget.

    Precomputes `n_variants` waveform-augmented feature variants of every utterance in
    `audio_gen`'s training partition (progress bar, two spawn workers, kept on disk beside the
    feature cache and resumed on a rerun), then returns a PrecomputedAugmenter that serves one
    of them per (epoch, utterance), the clean features with probability `clean_prob`, with the
    preset's SpecAugment on top. On-the-fly waveform augmentation would take up that budget,
    reading a variant back almost none of it (docs/experiments/holdout.md, "2026-11-24: cost of
    each augmentation per audio second"). preset "none" returns None. The object's `name`
    ("default x4") marks the run's name in train_utils ("Aug(default x4)").
    A preset without waveform kinds ("specaugment") needs no variants: a SpecAugmenter. One
    with a feature warp ("warp", or any preset + "+warp") comes wrapped in a
    vui.augment.feature_warp.FeatureWarpAugmenter ("voices x2+warp").
    """
    import functools

    import utils

    config = preset_config(preset)
    if preset == "none":
        return None
    paths = list(getattr(audio_gen, "train_audio_paths", []) or [])
    if not paths:
        raise ValueError("training_augmenter needs the generator's training partition: call "
                         "audio_gen.load_train_data(...) first")
    if not config.any_waveform:
        inner = SpecAugmenter(config.spec_augment, name=preset) \
            if config.spec_augment.enabled else None
        return _with_feature_warp(audio_gen, config, inner, preset)
    root = cache_dir or os.path.join(os.path.dirname(audio_gen.cache.dir), VARIANTS_SUBDIR)
    feature_fn = functools.partial(utils.compute_features, config=audio_gen.feature_config)
    store = precompute_variants(paths, n_variants, feature_fn, root, Augmenter(config),
                                seed=seed, workers=workers,
                                feature_key=audio_gen.feature_config.cache_key())
    inner = PrecomputedAugmenter(store, spec=config.spec_augment, clean_prob=clean_prob,
                                 name=f"{preset.removesuffix(WARP_SUFFIX)} x{n_variants}")
    return _with_feature_warp(audio_gen, config, inner, inner.name + WARP_SUFFIX)


def _with_feature_warp(audio_gen, config, inner, name):
    """`inner` wrapped in the feature warp when the config turns it on (it needs the
    generator's normalisation statistics: it warps un-normalised features)."""
    if not config.any_feature_warp:
        return inner
    return FeatureWarpAugmenter(config.feature_warp, audio_gen.feature_config,
                                **audio_gen.normalization_stats(), inner=inner, name=name)
