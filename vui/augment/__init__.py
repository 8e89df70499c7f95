"""Training-time augmentation: waveform chain, SpecAugment, feature warps, presets."""
