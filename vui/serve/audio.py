"""Uploaded bytes and live PCM frames -> a float32 mono waveform at the model's sample rate.

Uploads are decoded from memory, so nothing a client sends is written to disk by us: with
soundfile (WAV, FLAC, OGG and whatever else libsndfile reads), and what libsndfile does not know
(a phone's M4A, a browser's WebM) through ffmpeg (vui.data.audio_codecs). The web page converts
microphone audio to 16 kHz PCM itself. The length limit is checked from the file's header before
its samples are decoded where the file has one, else while decoding, so a long file costs little
to refuse.
"""
import io

import numpy as np
import soundfile

from utils import resample
from vui.data import audio_codecs
from vui.data.audio import AudioError, check_audible
from vui.serve.errors import bad_request, too_large

PCM_ENCODINGS = {"f32": np.dtype("<f4"), "i16": np.dtype("<i2")}   # little-endian frames
INT16_SCALE = 32768.0


def decode_upload(data, filename, limits, sample_rate):
    """An upload's bytes -> float32 mono samples at sample_rate; ServeError (400/413) naming
    the file and the problem for empty, unreadable, over-long or corrupt audio."""
    name = filename or "upload"
    if not data:
        raise bad_request(f"empty upload {name!r}: the file has 0 bytes; send a WAV, FLAC, "
                          "OGG, M4A, WebM or MP3 recording")
    if len(data) > limits.max_upload_bytes:
        raise too_large(f"upload {name!r} has {len(data)} bytes; the limit is "
                        f"{limits.max_upload_bytes} bytes ({limits.upload_megabytes:g} MiB)")
    try:
        info = soundfile.info(io.BytesIO(data))
    except Exception as err:   # LibsndfileError, RuntimeError, TypeError depending on format
        audio, rate = _decode_with_ffmpeg(data, name, limits, _reason(err))
        return _mono_at_rate(audio, rate, sample_rate, name)
    seconds = info.frames / info.samplerate if info.samplerate else 0.0
    if seconds > limits.max_audio_seconds:
        raise _too_long(name, f"{seconds:.1f} s", limits)
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as err:   # libsndfile's errors differ by format and version
        raise bad_request(f"cannot decode audio {name!r}: {_reason(err)}") from None
    return _mono_at_rate(audio, rate, sample_rate, name)


def _decode_with_ffmpeg(data, name, limits, libsndfile_reason):
    try:
        return audio_codecs.read_with_ffmpeg(io.BytesIO(data), limits.max_audio_seconds)
    except audio_codecs.TooLong as err:
        raise _too_long(name, str(err), limits) from None
    except audio_codecs.CodecError as err:
        raise bad_request(f"{name!r} is not an audio file this server can read (WAV, FLAC, "
                          f"OGG, M4A, WebM, MP3): libsndfile: {libsndfile_reason}; ffmpeg: "
                          f"{err}") from None


def _too_long(name, lasts, limits):
    return too_large(f"audio {name!r} lasts {lasts}; the limit is "
                     f"{limits.max_audio_seconds:g} s per request (vui serve --max-audio-seconds)")


def _reason(err):
    """libsndfile's own sentence ("Format not recognised."), without the BytesIO repr that
    soundfile puts before it."""
    return (getattr(err, "error_string", None) or str(err)).strip()


def _mono_at_rate(audio, rate, sample_rate, name):
    if audio.shape[0] == 0:
        raise bad_request(f"audio {name!r} has no samples")
    if not np.all(np.isfinite(audio)):
        raise bad_request(f"audio {name!r} holds NaN or infinite samples (corrupt file)")
    mono = audio.mean(axis=1, dtype=np.float32) if audio.shape[1] > 1 else audio[:, 0]
    try:
        check_audible(mono, f"audio {name!r}")      # as `vui transcribe` refuses it
    except AudioError as err:
        raise bad_request(str(err)) from None
    return resample(mono, rate, sample_rate)


def pcm_samples(frame, encoding):
    """One binary WebSocket frame of little-endian PCM -> float32 samples in [-1, 1]."""
    dtype = PCM_ENCODINGS[encoding]
    if len(frame) % dtype.itemsize:
        raise bad_request(f"a {encoding} PCM frame must hold whole {dtype.itemsize}-byte "
                          f"samples, got {len(frame)} bytes")
    samples = np.frombuffer(frame, dtype=dtype)
    if encoding == "i16":
        return samples.astype(np.float32) / np.float32(INT16_SCALE)
    samples = samples.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        raise bad_request("a f32 PCM frame holds NaN or infinite samples")
    return samples
