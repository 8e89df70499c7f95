"""Features against independent references (librosa, plain numpy, python_speech_features)."""
import warnings

import librosa
import numpy as np
import pytest
import python_speech_features as psf
import soundfile

import utils as U
from vui.data import audio as audio_module


@pytest.fixture
def speech(speech_corpus):
    return U.load_audio(speech_corpus["entries"][1]["key"])


def reference_log_spectrogram(audio, eps=1e-14):
    """The course toolkit's spectrogram, rebuilt from librosa's STFT (center=False, same window)."""
    window = np.hanning(320)
    stft = librosa.stft(np.asarray(audio, np.float64), n_fft=320, hop_length=160,
                        window=window, center=False)
    power = np.abs(stft) ** 2
    scale = np.sum(window ** 2) * 16000
    power[1:-1] *= 2.0 / scale
    power[[0, -1]] /= scale
    return np.log(power[:161].T + eps)


def test_spectrogram_matches_librosa_stft(speech):
    ours = U.spectrogram(speech)
    ref = reference_log_spectrogram(speech)
    assert ours.shape == ref.shape == (1 + (len(speech) - 320) // 160, 161)
    assert ours.dtype == np.float32
    # float32 FFT: within 0.01 of float64 in natural-log units (0.04 dB), far closer typically
    np.testing.assert_allclose(ours, ref, atol=1e-2, rtol=0)
    assert np.percentile(np.abs(ours - ref), 99) < 1e-3


def test_spectrogram_matches_a_plain_numpy_frame_loop(rng):
    audio = rng.uniform(-0.5, 0.5, 16000 + 77).astype(np.float32)
    ours = U.spectrogram(audio)
    window = np.hanning(320)
    frames = []
    for start in range(0, len(audio) - 320 + 1, 160):
        power = np.abs(np.fft.rfft(audio[start:start + 320] * window)) ** 2
        power /= np.sum(window ** 2) * 16000
        power[1:-1] *= 2
        frames.append(np.log(power[:161] + 1e-14))
    np.testing.assert_allclose(ours, np.array(frames), atol=1e-2, rtol=0)
    assert np.percentile(np.abs(ours - np.array(frames)), 99) < 1e-3


@pytest.mark.parametrize("dim", [13, 26])
def test_mfcc_matches_python_speech_features(speech, dim):
    config = U.FeatureConfig("mfcc", mfcc_dim=dim)
    ours = U.mfcc(speech, config)
    n = config.num_frames(len(speech))
    ref = psf.mfcc(speech[:(n - 1) * 160 + 320].astype(np.float64), samplerate=16000,
                   winlen=0.02, winstep=0.01, numcep=dim, nfilt=26, nfft=512)
    assert ours.shape == (n, dim) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("num_samples", [320, 321, 479, 480, 481, 61120, 61279])
def test_every_feature_kind_has_the_same_time_axis(rng, num_samples):
    audio = rng.uniform(-0.5, 0.5, num_samples).astype(np.float32)
    expected = 1 + (num_samples - 320) // 160
    for kind, dim in [("spectrogram", 161), ("mfcc", 26), ("raw", 160)]:
        config = U.FeatureConfig(kind)
        feats = U.compute_features(audio, config)
        assert feats.shape == (expected, dim) == (config.num_frames(num_samples),
                                                  config.feature_dim), kind


def test_raw_frames_are_consecutive_10ms_blocks(rng):
    audio = rng.uniform(-1, 1, 1000).astype(np.float32)
    frames = U.raw_frames(audio)
    assert frames.shape == (5, 160)
    np.testing.assert_array_equal(frames.ravel(), audio[:800])


def test_feature_config_dims_names_and_cache_keys():
    assert U.FeatureConfig().feature_dim == 161
    assert U.FeatureConfig("mfcc", mfcc_dim=26).feature_dim == 26
    assert U.FeatureConfig("raw").feature_dim == 160
    assert [U.FeatureConfig(k).short_name for k in U.FEATURE_KINDS] == ["Spec", "MFCC", "Raw"]
    assert U.FeatureConfig(max_freq=4000).feature_dim == 81
    # mfcc_dim does not change a spectrogram, so it must not split the cache
    assert U.FeatureConfig(mfcc_dim=26).cache_key() == U.FeatureConfig().cache_key()
    keys = {U.FeatureConfig("mfcc", mfcc_dim=13).cache_key(),
            U.FeatureConfig("mfcc", mfcc_dim=26).cache_key(),
            U.FeatureConfig().cache_key(), U.FeatureConfig(step_ms=5).cache_key()}
    assert len(keys) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "fbank"}, "fbank"), ({"step_ms": 30}, "step_ms"),
    ({"max_freq": 9000}, "max_freq"), ({"kind": "mfcc", "mfcc_dim": 0}, "mfcc_dim")])
def test_feature_config_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        U.FeatureConfig(**kwargs)


def test_resampling_is_announced_once_and_keeps_duration(tmp_path, monkeypatch, speech):
    monkeypatch.setattr(audio_module, "_warned", set())
    paths = []
    for i, rate in enumerate((22050, 22050, 8000, 8000)):
        path = tmp_path / f"r{i}.wav"
        soundfile.write(path, librosa.resample(speech, orig_sr=16000, target_sr=rate),
                        rate, subtype="FLOAT")
        paths.append(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = [U.load_audio(p) for p in paths]
    messages = [str(w.message) for w in caught]        # once for each rate
    assert len(messages) == 2 and "22050 Hz" in messages[0] and "r0.wav" in messages[0]
    assert "8000 Hz" in messages[1] and "r2.wav" in messages[1]
    assert abs(len(back[0]) - len(speech)) <= 1
    n = min(len(back[0]), len(speech))
    # a round trip through 22.05 kHz keeps the speech band: the spectrograms agree closely
    ours, ref = U.spectrogram(back[0][:n]), U.spectrogram(speech[:n])
    loud = ref > np.percentile(ref, 50)
    assert np.median(np.abs(ours - ref)[loud]) < 0.05


def test_stereo_is_mixed_down_once(tmp_path, monkeypatch, speech):
    monkeypatch.setattr(audio_module, "_warned", set())
    stereo = np.stack([speech, 0.5 * speech], axis=1)
    for name in ("s0.wav", "s1.wav"):
        soundfile.write(tmp_path / name, stereo, 16000, subtype="FLOAT")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mono = U.load_audio(tmp_path / "s0.wav")
        U.load_audio(tmp_path / "s1.wav")
    assert len(caught) == 1 and "s0.wav" in str(caught[0].message)
    assert "mono" in str(caught[0].message)
    np.testing.assert_allclose(mono, 0.75 * speech, atol=1e-6)


def _broken_files(tmp_path, speech):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x01\x00\x00WAVEjunkjunkjunk" + bytes(range(256)) * 4)
    not_audio = tmp_path / "notes.flac"
    not_audio.write_text("this is a text file, not audio\n")
    truncated = tmp_path / "truncated.wav"
    soundfile.write(truncated, speech, 16000)
    truncated.write_bytes(truncated.read_bytes()[:30])
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), 16000)
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16000, np.float32), 16000)
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.touch()
    return [(tmp_path / "missing.wav", "does not exist"), (corrupt, "cannot read"),
            (not_audio, "cannot read"), (truncated, "cannot read|empty"),
            (empty, "empty"), (silent, "silent"), (zero_bytes, r"is empty \(0 bytes\)")]


def test_bad_audio_raises_audio_error_naming_the_file(tmp_path, speech):
    for path, reason in _broken_files(tmp_path, speech):
        with pytest.raises(U.AudioError, match=reason) as err:
            U.load_audio(path)
        assert str(path) in str(err.value)
        assert isinstance(err.value, ValueError)


def test_too_short_audio_names_the_clip(rng):
    with pytest.raises(U.AudioError, match="clip.wav.*shorter than one 20 ms window"):
        U.compute_features(rng.uniform(-1, 1, 100), U.FeatureConfig(), name="clip.wav")
    with pytest.raises(ValueError, match="mono"):
        U.compute_features(np.zeros((400, 2)), U.FeatureConfig())


def test_spectrogram_from_file_is_the_seed_entry_point(speech_corpus):
    path = speech_corpus["entries"][0]["key"]
    np.testing.assert_array_equal(U.spectrogram_from_file(path),
                                  U.spectrogram(U.load_audio(path)))


def test_config_gpu_runs_on_a_cpu_machine(capsys):
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("compares with TensorFlow's own device list")
    import tensorflow as tf
    devices = U.config_GPU(allow_growth=True)
    listed = lambda kind: [d.name for d in tf.config.list_logical_devices(kind)]  # noqa: E731
    assert devices == (listed("GPU") or listed("CPU"))    # here: ["/device:CPU:0"]
    assert capsys.readouterr().out.splitlines()[-1] == ", ".join(devices)   # as the seed printed


def test_config_gpu_says_when_the_driver_sees_a_gpu_the_backend_does_not(tmp_path, monkeypatch):
    from vui import devices as D
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)'\n")
    smi.chmod(0o755)
    monkeypatch.setattr(D.shutil, "which", lambda name: str(smi) if name == "nvidia-smi" else None)
    monkeypatch.setattr(D, "_unseen_warned", set())
    with pytest.warns(UserWarning, match=r"nvidia-smi lists a GPU .*setup\.sh --gpu"):
        U.config_GPU()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # once per backend, not every call
        U.config_GPU()


def test_utterance_mean_removes_each_utterances_own_offset(rng):
    audio = rng.uniform(-0.5, 0.5, 16000).astype(np.float32)
    plain = U.FeatureConfig("mfcc", mfcc_dim=26)
    cmn = U.FeatureConfig("mfcc", mfcc_dim=26, utterance_mean=True)
    feats = U.compute_features(audio, cmn)
    reference = U.compute_features(audio, plain)
    np.testing.assert_allclose(feats, reference - reference.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(feats.mean(axis=0), 0, atol=1e-4)
    # louder audio shifts c0 of the plain MFCC but not the mean-normalised one
    np.testing.assert_allclose(U.compute_features(4 * audio, cmn), feats, atol=1e-3)
    assert cmn.cache_key() != plain.cache_key()
    assert cmn.short_name == "MFCC-CMN" and plain.short_name == "MFCC"


def test_generator_keeps_utterance_mean_through_a_saved_feature_config():
    import dataclasses
    import data_generator as DG
    gen = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=26, utterance_mean=True)
    again = DG.AudioGeneratorCached.for_features(dataclasses.asdict(gen.feature_config))
    assert again.feature_config == gen.feature_config
    old_record = {k: v for k, v in dataclasses.asdict(gen.feature_config).items()
                  if k != "utterance_mean"}      # saved before the option existed
    assert DG.AudioGeneratorCached.for_features(old_record).feature_config.utterance_mean is False
