"""Unseen-voice methods as strategies: warp search, speaker shift, model gate."""
