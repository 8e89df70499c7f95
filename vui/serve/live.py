"""WebSocket /live: transcripts while the user speaks, and a final one when they stop.

Protocol (JSON text messages and binary PCM frames):

    client -> {"type": "start", "sample_rate": 16000, "encoding": "f32" | "i16",
               "decoder": "greedy", "hotwords": "boat, red boat"}       (optional; these defaults)
    client -> binary frames of mono little-endian PCM, as the microphone delivers them
    server -> {"type": "ready", "model", "sample_rate", "partial_interval"}
    server -> {"type": "partial", "transcript", "words", "audio_seconds", ...} about once a second
    client -> {"type": "stop"}
    server -> {"type": "final", ..., "final_delay": seconds from "stop" to this message}; closes
    server -> {"type": "error", "error": message} for a refusal (then closes, or finalises)

Each partial re-decodes the whole buffer so far (the issue allows it): simple, exact (the final
transcript is what POST /transcribe gives for the same audio), and cheap for the minute or two a
session may last (Limits.max_live_seconds). A client that vanishes mid-stream ends only its own
session; the server goes on serving.
"""
import asyncio
import json
import logging
from dataclasses import dataclass

import numpy as np
import soxr
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from vui.serve.audio import PCM_ENCODINGS, pcm_samples
from vui.serve.engine import parse_hotword_field
from vui.serve.errors import ServeError, bad_request

PARTIAL_INTERVAL_SECONDS = 1.0   # the issue: partial transcripts about once a second
MIN_DECODE_SECONDS = 0.1         # shorter buffers have no word to show yet
IDLE_TIMEOUT_SECONDS = 30.0      # a client silent this long (no frame, no stop) is finalised
CLOSE_NORMAL, CLOSE_BAD_DATA, CLOSE_TRY_AGAIN = 1000, 1003, 1013
log = logging.getLogger("vui.serve")


@dataclass(frozen=True)
class LiveOptions:
    """What the client's start message chose."""
    sample_rate: int = 16000
    encoding: str = "f32"
    decoder: str = "greedy"
    hotwords: tuple = ()

    @classmethod
    def from_message(cls, message):
        try:
            rate = int(message.get("sample_rate", cls.sample_rate))
        except (TypeError, ValueError):
            rate = 0
        if not 8000 <= rate <= 192000:
            raise bad_request(f"sample_rate must be 8000..192000 Hz, got "
                              f"{message.get('sample_rate')!r}")
        encoding = message.get("encoding", cls.encoding)
        if encoding not in PCM_ENCODINGS:
            raise bad_request(f"encoding must be one of {', '.join(PCM_ENCODINGS)}, got "
                              f"{encoding!r}")
        hotwords = message.get("hotwords") or ""
        if isinstance(hotwords, str):
            hotwords = parse_hotword_field(hotwords)
        return cls(rate, encoding, str(message.get("decoder") or "greedy"), tuple(hotwords))


class AudioBuffer:
    """The session's audio so far, at the model's sample rate (resampled as it arrives)."""

    def __init__(self, in_rate, out_rate):
        self.rate = out_rate
        self._chunks = []
        self.samples = 0
        self._stream = (None if in_rate == out_rate else
                        soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32"))

    def append(self, samples):
        if self._stream is not None:
            samples = self._stream.resample_chunk(samples)
        self._keep(samples)

    def finish(self):
        """Take the resampler's last samples (it holds a few milliseconds back for its filter)."""
        if self._stream is not None:
            self._keep(self._stream.resample_chunk(np.zeros(0, np.float32), last=True))
            self._stream = None

    def _keep(self, samples):
        if len(samples):
            self._chunks.append(np.asarray(samples, np.float32))
            self.samples += len(samples)

    @property
    def seconds(self):
        return self.samples / self.rate

    def audio(self):
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)


class LiveSession:
    """One WebSocket client's live transcription; `await LiveSession(...).run()`."""

    def __init__(self, websocket: WebSocket, engine, limits):
        self.ws = websocket
        self.engine = engine
        self.limits = limits
        self.options = LiveOptions()
        self.buffer = None
        self._decoded_samples = -1

    async def run(self):
        await self.ws.accept()
        try:
            self.engine.require()
        except ServeError as err:
            await self._refuse(err, CLOSE_TRY_AGAIN)
            return
        self.buffer = AudioBuffer(self.options.sample_rate, self.engine.sample_rate)
        ticker = None
        try:
            first = await self._receive()
            await self._start(first)
            ticker = asyncio.create_task(self._send_partials())
            reason = await self._stream(first)
        except WebSocketDisconnect:
            log.info("live client left mid-stream after %.1f s of audio", self.buffer.seconds)
            return
        except ServeError as err:
            await self._refuse(err, CLOSE_BAD_DATA)
            return
        finally:
            await _stop(ticker)
        await self._finish(reason)

    async def _receive(self):
        try:
            message = await asyncio.wait_for(self.ws.receive(), IDLE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            return {"type": "idle"}
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1006))
        return message

    async def _start(self, first):
        """Apply the start message if the client sent one, check the decoder, say ready."""
        text = first.get("text")
        if text is not None:
            request = _json(text)
            if request.get("type") == "start":
                self.options = LiveOptions.from_message(request)
                self.buffer = AudioBuffer(self.options.sample_rate, self.engine.sample_rate)
        await run_in_threadpool(self.engine.decoder, self.options.decoder, self.options.hotwords)
        await self.ws.send_json({"type": "ready", "model": self.engine.name,
                                 "sample_rate": self.options.sample_rate,
                                 "partial_interval": PARTIAL_INTERVAL_SECONDS})

    async def _stream(self, message):
        """Take frames until stop, disconnect (raised), idle timeout or the length limit;
        returns why it stopped."""
        while True:
            if message.get("bytes") is not None:
                self.buffer.append(pcm_samples(message["bytes"], self.options.encoding))
                if self.buffer.seconds > self.limits.max_live_seconds:
                    return "limit"
            elif message["type"] == "idle":
                return "idle"
            elif message.get("text") is not None and _json(message["text"]).get("type") == "stop":
                return "stop"
            message = await self._receive()

    async def _send_partials(self):
        """Every PARTIAL_INTERVAL_SECONDS, the transcript of everything heard so far (when
        there is new audio); ends quietly when the client has gone."""
        loop = asyncio.get_running_loop()
        tick = loop.time()
        try:
            while True:
                tick += PARTIAL_INTERVAL_SECONDS
                await asyncio.sleep(max(0.0, tick - loop.time()))
                if (self.buffer.samples == self._decoded_samples
                        or self.buffer.seconds < MIN_DECODE_SECONDS):
                    continue
                result = await self._transcribe()
                await self.ws.send_json({"type": "partial", **result})
        except asyncio.CancelledError:
            raise
        except Exception as err:   # the client left, or one decode failed: partials stop
            log.info("live partials stopped: %s: %s", type(err).__name__, err)

    async def _transcribe(self):
        self._decoded_samples = self.buffer.samples
        audio = self.buffer.audio()
        if len(audio) < MIN_DECODE_SECONDS * self.buffer.rate:
            return {"transcript": "", "words": [], "audio_seconds": self.buffer.seconds,
                    "model": self.engine.name, "decoder": self.options.decoder, "seconds": 0.0}
        result = await run_in_threadpool(self.engine.transcribe, audio, self.options.decoder,
                                         self.options.hotwords)
        return result.to_json()

    async def _finish(self, reason):
        loop = asyncio.get_running_loop()
        stopped = loop.time()
        if reason == "limit":
            await self._try_send({"type": "error", "error": (
                f"live audio passed the {self.limits.max_live_seconds:g} s limit per session "
                "(vui serve --max-live-seconds); transcribing what came before it")})
        elif reason == "idle":
            await self._try_send({"type": "error", "error": (
                f"no audio or stop message for {IDLE_TIMEOUT_SECONDS:g} s; ending the session")})
        self.buffer.finish()
        try:
            result = await self._transcribe()
        except ServeError as err:
            await self._refuse(err, CLOSE_BAD_DATA)
            return
        result.update(type="final", final_delay=round(loop.time() - stopped, 4))
        if await self._try_send(result):
            await self.ws.close(CLOSE_NORMAL)

    async def _refuse(self, err, code):
        reply = {"type": "error", "error": err.message, "status": err.status}
        if "Retry-After" in err.headers:
            reply["retry_after"] = int(err.headers["Retry-After"])
        if await self._try_send(reply):
            await self.ws.close(code)

    async def _try_send(self, message):
        """Send unless the client has gone; True if sent."""
        try:
            await self.ws.send_json(message)
            return True
        except Exception as err:   # WebSocketDisconnect, or the server's own closed-socket error
            log.info("live client gone before %s: %s", message.get("type"), err)
            return False


def _json(text):
    try:
        message = json.loads(text)
    except ValueError:
        raise bad_request(f"expected a JSON control message, got {text[:80]!r}") from None
    if not isinstance(message, dict):
        raise bad_request(f"expected a JSON object, got {text[:80]!r}")
    return message


async def _stop(task):
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
