"""Audio in the formats libsndfile does not read: AAC (.m4a, .mp4), WebM and Matroska with Opus,
and whatever else ffmpeg's demuxers and decoders take, through PyAV's binding of them.

Phones record M4A and browsers' MediaRecorder WebM; a user should be able to transcribe either
as it is. soundfile (libsndfile) stays the first reader (utils.load_audio, the service's
uploads): it reads WAV/FLAC/OGG faster and gives a file's length from its header; this module is
what they try when libsndfile says it does not know the format; they import it only then (PyAV
brings 100 MB of ffmpeg libraries).
"""
import av
import numpy as np

PLANAR_FLOAT = "fltp"   # ffmpeg's planar float32: one row per channel


class CodecError(ValueError):
    """ffmpeg could not open or decode the audio; the message is ffmpeg's own."""


class TooLong(ValueError):
    """The audio lasts longer than the caller allows (known from the container, or found while
    decoding when the container does not say, as MediaRecorder's WebM does not)."""

    def __init__(self, seconds, at_least=False):
        super().__init__(f"{'over ' if at_least else ''}{seconds:.1f} s")
        self.seconds, self.at_least = seconds, at_least


def read_with_ffmpeg(source, max_seconds=None):
    """A path or binary file object -> (float32 samples of shape (frames, channels), rate) at
    the stream's own rate and channels (callers mix down and resample as for any file).

    Raises CodecError when ffmpeg cannot read it or decodes no audio from it, and TooLong
    past max_seconds, before decoding when the container gives its duration."""
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.audio:
                raise CodecError("it holds no audio stream")
            stream = container.streams.audio[0]
            declared = None if container.duration is None else container.duration / av.time_base
            if max_seconds is not None and declared is not None and declared > max_seconds:
                raise TooLong(declared)
            return _decode(container, stream, max_seconds)
    except av.FFmpegError as err:   # its str() adds an errno and a '<none>' file name
        raise CodecError(getattr(err, "strerror", None) or str(err)) from None


def _decode(container, stream, max_seconds):
    rate = stream.codec_context.sample_rate
    resampler = av.AudioResampler(format=PLANAR_FLOAT)   # channels and rate as they are
    chunks, frames = [], 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray())
            frames += out.samples
        if max_seconds is not None and frames > max_seconds * rate:
            raise TooLong(max_seconds, at_least=True)
    chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    if not chunks:   # a demuxer chosen by the file's name may find a stream and no audio in it
        raise CodecError("no audio frame could be decoded from it")
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32), rate
