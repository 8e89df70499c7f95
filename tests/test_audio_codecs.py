"""Compressed recordings read wherever a WAV is read (utils.load_audio, so every command and the
generators; the service's uploads, tests/test_serve.py): a phone's M4A and a browser's WebM/Opus
through ffmpeg (vui.data.audio_codecs), MP3 through libsndfile itself.

Each recording is espeak-ng speech encoded here with PyAV; read back, it must be the same speech:
the same length up to the codec's padding, and the same waveform up to the codec's loss
(normalised cross-correlation at the best small lag; lossy codecs keep speech far above 0.9).
"""
import io

import av
import numpy as np
import pytest
import soundfile

import utils as U
from vui.data import audio_codecs

RATE = 16000
# (container, codec, the codec's own sample rate): Opus runs at 48 kHz, so it also resamples
FORMATS = [("m4a", "ipod", "aac", 16000), ("webm", "webm", "libopus", 48000),
           ("mp3", "mp3", "libmp3lame", 16000)]
MAX_PADDING_S = 0.13          # AAC's, the most: 1,024 priming samples and up to 1,024 filling
                              # its last frame (0.128 s at 16 kHz)
MIN_CORRELATION = 0.9
MAX_LAG = 2048                # samples of codec delay the comparison allows for


def encode(audio, container, codec, codec_rate, target):
    """Mono float32 audio at RATE -> a file (path or file object) in that container and codec."""
    with av.open(target, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(audio[None, :], format="flt", layout="mono")
        frame.sample_rate = RATE
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono",
                                      rate=codec_rate)
        for piece in [*resampler.resample(frame), *resampler.resample(None), None]:
            for packet in stream.encode(piece):
                out.mux(packet)


def best_correlation(a, b):
    n = min(len(a), len(b)) - MAX_LAG
    ref = a[:n] / np.linalg.norm(a[:n])
    return max(float(np.dot(ref, b[lag:lag + n]) / np.linalg.norm(b[lag:lag + n]))
               for lag in range(0, MAX_LAG, 8))


@pytest.fixture(scope="module")
def speech(speech_corpus):
    audio, rate = soundfile.read(speech_corpus["entries"][0]["key"], dtype="float32")
    assert rate == RATE
    return audio


@pytest.mark.filterwarnings("ignore:.*resampling to:UserWarning")   # Opus: 48 kHz, as expected
@pytest.mark.parametrize("suffix, container, codec, codec_rate", FORMATS)
def test_load_audio_reads_a_compressed_recording(speech, tmp_path, suffix, container, codec,
                                                 codec_rate):
    path = tmp_path / f"speech.{suffix}"
    encode(speech, container, codec, codec_rate, str(path))
    audio = U.load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 0 <= (len(audio) - len(speech)) / RATE <= MAX_PADDING_S, (len(audio), len(speech))
    assert best_correlation(speech, audio) > MIN_CORRELATION


def test_a_file_neither_library_reads_is_named_with_both_reasons(tmp_path):
    path = tmp_path / "notes.m4a"
    path.write_text("these are my notes, not a recording\n" * 20)
    with pytest.raises(U.AudioError) as err:
        U.load_audio(path)
    message = str(err.value)
    assert str(path) in message and "libsndfile:" in message
    assert "ffmpeg: Invalid data found when processing input" in message


def test_a_recording_past_the_limit_is_refused_before_it_is_decoded(speech):
    data = io.BytesIO()
    encode(speech, "webm", "libopus", 48000, data)
    seconds = len(speech) / RATE
    with pytest.raises(audio_codecs.TooLong) as err:
        audio_codecs.read_with_ffmpeg(io.BytesIO(data.getvalue()), max_seconds=seconds / 2)
    assert err.value.seconds == pytest.approx(seconds, abs=MAX_PADDING_S)
    assert not err.value.at_least                        # the container said how long it is
    audio, rate = audio_codecs.read_with_ffmpeg(io.BytesIO(data.getvalue()),
                                                max_seconds=seconds + 1)
    assert rate == 48000 and audio.shape[1] == 1
