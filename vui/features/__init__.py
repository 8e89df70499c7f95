"""Features beyond utils' spectrogram/MFCC: the cache, presets, speaker shifts."""
