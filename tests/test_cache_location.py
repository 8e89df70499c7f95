"""Where the feature cache lives by default (issue 38, item 8): a per-user cache folder.

The old default was .cache/features beside data_generator.py, so an installed package wrote
gigabytes of features into site-packages. An explicit cache_dir and $VUI_CACHE_DIR still win.
"""
import os

import numpy as np
import pytest
import soundfile as sf

import data_generator as DG
import utils as U
from vui.features import cache as C

PACKAGE_DIRS = [os.path.dirname(os.path.abspath(DG.__file__)),     # the top-level modules
                os.path.dirname(os.path.dirname(os.path.abspath(C.__file__)))]   # vui/


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No VUI_CACHE_DIR or XDG_CACHE_HOME, and a HOME of our own."""
    monkeypatch.delenv(C.CACHE_ENV, raising=False)
    monkeypatch.delenv(C.XDG_CACHE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def _cache_root(**kwargs):
    """The folder a FeatureCache puts its settings folder in (its dir is root/<settings key>)."""
    return os.path.dirname(C.FeatureCache(U.FeatureConfig(), **kwargs).dir)


def _inside(path, folder):
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == \
        os.path.abspath(folder)


def test_default_is_the_users_cache_folder_never_the_package(clean_env):
    expected = str(clean_env / "home" / ".cache" / "vui" / "features")
    assert C.default_cache_dir() == expected
    assert _cache_root() == expected
    assert DG.AudioGeneratorCached().cache.dir.startswith(expected + os.sep)
    for folder in PACKAGE_DIRS:
        assert not _inside(_cache_root(), folder), folder


def test_xdg_cache_home_is_honoured(clean_env, monkeypatch):
    monkeypatch.setenv(C.XDG_CACHE_ENV, str(clean_env / "xdg"))
    assert _cache_root() == str(clean_env / "xdg" / "vui" / "features")


def test_relative_or_empty_xdg_cache_home_is_ignored(clean_env, monkeypatch):
    home_cache = str(clean_env / "home" / ".cache" / "vui" / "features")
    for value in ("", "relative/cache"):
        monkeypatch.setenv(C.XDG_CACHE_ENV, value)
        assert _cache_root() == home_cache


def test_vui_cache_dir_wins_over_xdg(clean_env, monkeypatch):
    monkeypatch.setenv(C.XDG_CACHE_ENV, str(clean_env / "xdg"))
    monkeypatch.setenv(C.CACHE_ENV, str(clean_env / "mine"))
    assert _cache_root() == str(clean_env / "mine")


def test_explicit_cache_dir_wins_over_everything(clean_env, monkeypatch):
    monkeypatch.setenv(C.XDG_CACHE_ENV, str(clean_env / "xdg"))
    monkeypatch.setenv(C.CACHE_ENV, str(clean_env / "mine"))
    assert _cache_root(cache_dir=clean_env / "explicit") == str(clean_env / "explicit")
    gen = DG.AudioGeneratorCached(cache_dir=str(clean_env / "explicit"))
    assert gen.cache.dir.startswith(str(clean_env / "explicit") + os.sep)


def test_features_are_written_under_the_default(clean_env, monkeypatch):
    monkeypatch.setenv(C.XDG_CACHE_ENV, str(clean_env / "xdg"))
    audio = clean_env / "a.wav"
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(1600) / 16000)
    sf.write(str(audio), tone.astype(np.float32), 16000)
    cache = C.FeatureCache(U.FeatureConfig())
    cache.get(str(audio))
    assert os.path.isfile(cache.disk_path(str(audio)))
    assert _inside(cache.disk_path(str(audio)), clean_env / "xdg" / "vui" / "features")
