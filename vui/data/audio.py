"""Reading a recording as the features want it: float32 mono in [-1, 1] at one sample rate.

libsndfile (soundfile) reads WAV / FLAC / OGG; what it does not know (a phone's M4A, a
browser's WebM) goes through ffmpeg (vui.data.audio_codecs). Other rates are resampled with
soxr, several channels are averaged, and a file that cannot serve as speech (missing, empty,
corrupt, silent, cut short) is refused or flagged with its name. `utils` re-exports these
names: the seed calls them `U.x`.
"""
import os
import warnings

import numpy as np
import soundfile
import soxr

SAMPLE_RATE = 16000
SILENCE_PEAK = 1e-4              # a clip whose peak stays below this is treated as silent
RESAMPLE_QUALITY = "HQ"
WAV_HEADER_SCAN = 4096           # bytes read to find a WAV's data chunk and its declared size
MISSING_AUDIO = "does not exist"   # how an error names a file that is not there (callers match it)

_warned = set()


class AudioError(ValueError):
    """Audio that cannot be used (missing, unreadable, empty, silent); the message names the file."""


def _warn_once(kind, message):
    """Resampling and down-mixing are normal for some corpora: say so once per `kind` (a
    name, or a tuple that holds the rates), not per file."""
    if kind not in _warned:
        _warned.add(kind)
        warnings.warn(message, stacklevel=3)


def check_audible(audio, what):
    """AudioError for a waveform whose peak is under SILENCE_PEAK (`what` names it): there is no
    speech to transcribe, and a model's output on silence is noise, not an empty transcript."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENCE_PEAK:
        raise AudioError(f"{what} is silent (peak amplitude {peak:.2g} < {SILENCE_PEAK}); "
                         "expected speech")


def load_audio(path, sample_rate=SAMPLE_RATE):
    """Read a sound file as float32 mono in [-1, 1] at `sample_rate`.

    soundfile reads WAV/FLAC/OGG; what libsndfile does not know (M4A, WebM, MP4...) goes through
    ffmpeg (vui.data.audio_codecs). Other rates are resampled with soxr (high quality) and
    multi-channel audio is averaged to mono, each announced by one warning per process (one per
    file rate for resampling).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise AudioError(f"audio file {path!r} is a folder; expected an audio file")
    if not os.path.isfile(path):
        raise AudioError(f"audio file {path!r} {MISSING_AUDIO} (expected an audio file: WAV, "
                         "FLAC, or what ffmpeg reads)")
    if os.path.getsize(path) == 0:       # said as such, not as two decoders' format errors
        raise AudioError(f"audio file {path!r} is empty (0 bytes); expected speech")
    try:
        audio, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile raises LibsndfileError/RuntimeError/TypeError by format
        audio, file_rate = _read_with_ffmpeg(path, err)
    else:
        _warn_if_truncated(path, audio.shape[0], file_rate)
    if audio.shape[0] == 0:
        raise AudioError(f"audio file {path!r} is empty (0 samples); expected speech")
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"audio file {path!r} holds NaN or infinite samples (corrupt file)")
    if audio.shape[1] > 1:
        _warn_once("stereo", f"{path!r} has {audio.shape[1]} channels: mixing down to mono "
                             f"(said once; other multi-channel files are mixed the same way)")
    audio = audio.mean(axis=1, dtype=np.float32) if audio.shape[1] > 1 else audio[:, 0]
    if file_rate != sample_rate:
        _warn_once(("resample", file_rate, sample_rate),     # once for each pair of rates
                   f"{path!r} is sampled at {file_rate} Hz: resampling to {sample_rate} Hz (said "
                   f"once; other files at {file_rate} Hz are resampled the same way)")
        audio = resample(audio, file_rate, sample_rate)
    check_audible(audio, f"audio file {path!r}")
    return audio


def resample(audio, rate, sample_rate):
    """float32 samples at `rate` -> at `sample_rate` (soxr, high quality; unchanged when equal)."""
    if rate == sample_rate:
        return np.ascontiguousarray(audio, dtype=np.float32)
    out = soxr.resample(audio, rate, sample_rate, quality=RESAMPLE_QUALITY)
    return np.ascontiguousarray(out, dtype=np.float32)


def _read_with_ffmpeg(path, libsndfile_error):
    from vui.data.audio_codecs import CodecError, read_with_ffmpeg
    try:
        return read_with_ffmpeg(path)
    except CodecError as err:
        raise AudioError(f"cannot read audio file {path!r}: libsndfile: {libsndfile_error}; "
                         f"ffmpeg: {err} (expected a WAV, FLAC, OGG, M4A, WebM or MP3 "
                         "recording)") from None


def _warn_if_truncated(path, frames_read, file_rate):
    """libsndfile reads a WAV cut short (a copy or download that stopped) without a word, up
    to where its data ends; its RIFF header still says how long it should be, so compare.
    Hand-written because soundfile reports only the frames it found."""
    with open(path, "rb") as f:
        head = f.read(WAV_HEADER_SCAN)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    at = 12
    while at + 8 <= len(head):
        chunk, size = head[at:at + 4], int.from_bytes(head[at + 4:at + 8], "little")
        if chunk == b"data":
            declared = size // max(1, _bytes_per_frame(head)) if size != 0xFFFFFFFF else 0
            if declared > frames_read:
                warnings.warn(f"audio file {path!r} is truncated: its header declares "
                              f"{declared / file_rate:.2f} s, the file holds "
                              f"{frames_read / file_rate:.2f} s; using what there is",
                              stacklevel=3)
            return
        at += 8 + size + (size & 1)


def _bytes_per_frame(head):
    """Bytes of one frame (all channels), the WAV fmt chunk's block align."""
    at = head.find(b"fmt ")
    return int.from_bytes(head[at + 20:at + 22], "little") if at >= 0 else 2
