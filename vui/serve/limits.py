"""The service's limits on what one request may ask of it, in one dataclass.

The server runs on a researcher's own machine with one model and a few cores: a single huge
upload or an hour-long live stream would hold the model for everyone else, so each request's
size and length are capped, and the caps are named in the errors that enforce them.
"""
from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 20 * MIB   # a minute of 16-bit 44.1 kHz stereo WAV is about 10 MiB
DEFAULT_MAX_AUDIO_SECONDS = 60.0      # per upload; the models were trained on clips up to 10 s
DEFAULT_MAX_LIVE_SECONDS = 120.0      # per live session; it is re-decoded whole every second


@dataclass(frozen=True)
class Limits:
    """Per-request caps: upload bytes (413 past it), seconds of uploaded audio (413), seconds
    of audio in one live session (the session is finalised with an error message past it)."""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
    max_live_seconds: float = DEFAULT_MAX_LIVE_SECONDS

    def __post_init__(self):
        for name in ("max_upload_bytes", "max_audio_seconds", "max_live_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")

    @property
    def upload_megabytes(self):
        """The upload cap in MiB, as error messages and the CLI state it."""
        return self.max_upload_bytes / MIB
