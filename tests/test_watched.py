"""Progress bars only where a person watches: a terminal or a notebook cell, not a log file."""
import io
import sys

import numpy as np
import pytest

from vui.watched import shows_progress, watched


class Terminal(io.StringIO):
    def isatty(self):
        return True


def notebook_stream():
    """A stand-in for ipykernel's OutStream: not a tty, but a person reads the cell."""
    cls = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})
    return cls()


def test_terminals_and_notebook_cells_are_watched_files_and_pipes_not():
    closed = io.StringIO()
    closed.close()
    assert [watched(s) for s in (Terminal(), notebook_stream(), io.StringIO(), closed, object())] \
        == [True, True, False, False, False]


def test_a_bar_asked_for_is_drawn_only_where_watched(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert shows_progress(1) and not shows_progress(0)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not shows_progress(1)


@pytest.mark.parametrize("stream, drawn", [(Terminal, True), (io.StringIO, False)])
def test_the_feature_cache_draws_its_bar_only_at_a_terminal(tmp_path, monkeypatch, stream, drawn):
    import soundfile as sf
    from vui.features.cache import FeatureCache
    from utils import FeatureConfig
    path = tmp_path / "tone.wav"
    t = np.arange(16000) / 16000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 16000)
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    FeatureCache(FeatureConfig(), cache_dir=tmp_path / "cache").fill([str(path)], n_jobs=1)
    assert ("features: 100%" in err.getvalue()) == drawn
