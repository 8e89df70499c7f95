"""The service's one model: loaded once in a background thread, then shared by every request.

Loading a Keras model takes seconds (importing TensorFlow alone takes several), so the server
starts listening at once and answers 503 with Retry-After until the model is ready, instead of
leaving the user in front of a browser that cannot connect. A model that fails to load leaves
the rest of the service (the runs view) working and its error on every transcription request.
"""
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field

import numpy as np

from vui.decode.decoders import DECODER_KINDS
from vui.decode.words import speech_frames
from vui.serve.batching import Batcher
from vui.decode.parallel import DecodePool
from vui.serve.errors import bad_request, decoding_failed, model_loading, model_unavailable

DECODER_CACHE_SIZE = 16            # decoders checked for (kind, hot words), kept for reuse
WARM_UP_SECONDS = (1.0, 3.0)       # traced once at load, so the first request is not the slow one
WARM_UP_NOISE = 0.01
LOADING, READY, FAILED, NO_MODEL = "loading", "ready", "failed", "none"
# Keras serves concurrent requests faster than the ONNX export on a small machine: the service
# batches requests that arrive together, and TensorFlow runs a batch's two GRU directions on
# two threads (docs/experiments/serving.md, "Runtimes under load"); ONNX stays the one-shot
# `vui transcribe` default, where its 0.6 s load beats TensorFlow's 7-10 s.
DEFAULT_RUNTIME = "keras"


@dataclass(frozen=True)
class Transcript:
    """What POST /transcribe returns and the live session sends: the words with their times."""
    transcript: str
    words: list = field(default_factory=list)   # vui.decode.words.Word
    audio_seconds: float = 0.0
    model: str = ""
    decoder: str = "greedy"
    seconds: float = 0.0                        # server time from audio to words

    def to_json(self):
        out = asdict(self)
        out["words"] = [dict(text=w.text, start=w.start, end=w.end,
                             confidence=round(float(w.confidence), 4)) for w in self.words]
        out["seconds"] = round(self.seconds, 4)
        out["audio_seconds"] = round(self.audio_seconds, 3)
        return out


def default_loader(model_path, runtime=DEFAULT_RUNTIME, threads=None):
    """The model in the named runtime (`vui serve --runtime`; "auto": its fastest up-to-date
    export, else Keras): the same features, probabilities and decoders as a Recognizer.
    Imported here so that importing the service does not import Keras."""
    from vui.infer.runtimes import load_runtime
    return load_runtime(model_path, runtime, threads=threads)


def parse_hotword_field(text):
    """The form's hot words, comma-separated ("boat:8, red boat") -> a tuple of specs."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


class Engine:
    """The model of one server: `start()` loads it in a thread; `transcribe` (blocking, call
    it from a worker thread) raises ServeError 503 until it is ready. Beam searches run in
    `decode_workers` processes (vui.decode.parallel; None: one per core, 0: in the thread)."""

    def __init__(self, model_path, loader=default_loader, decode_workers=None):
        self.model_path = model_path
        self.status = LOADING if model_path is not None else NO_MODEL
        self.error = None
        self.recognizer = None
        self.name = str(model_path) if model_path is not None else None
        self._loader = loader
        self._ready = threading.Event()
        self._batcher = None
        self._decode_pool = DecodePool(decode_workers)
        self._decoders = OrderedDict()
        self._decoders_lock = threading.Lock()
        self._seconds_per_frame = None

    def start(self):
        if self.status == LOADING:
            threading.Thread(target=self._load, name="vui-serve-load", daemon=True).start()
        else:
            self._ready.set()

    def wait(self, timeout=None):
        """True once loading has ended (ready or failed)."""
        return self._ready.wait(timeout)

    def close(self):
        """At the server's shutdown: uvicorn has let the requests finish (first Ctrl-C) or
        given up on them (second), so the decoding workers are stopped at once; a decode
        still running belongs to a request nobody waits for."""
        if self._batcher is not None:
            self._batcher.close()
        self._decode_pool.terminate()

    def _load(self):
        try:
            recognizer = self._loader(self.model_path)
            self._seconds_per_frame = recognizer.seconds_per_frame
            self._warm_up(recognizer)
            self._warm_up_decoding(recognizer)
            self._batcher = Batcher(recognizer.probabilities)
            self.recognizer, self.name = recognizer, recognizer.name
            self.status = READY
        except Exception as err:   # any failure is reported on every request, not raised here
            self.error = f"the model {self.model_path} failed to load: {type(err).__name__}: {err}"
            self.status = FAILED
            print(f"error: {self.error}; transcription answers 503, the runs view stays up",
                  file=sys.stderr, flush=True)     # where the person who started it looks
        finally:
            self._ready.set()

    def _warm_up(self, recognizer):
        rng = np.random.default_rng(0)
        rate = recognizer.feature_config.sample_rate
        feats = [recognizer.features((WARM_UP_NOISE * rng.standard_normal(int(s * rate)))
                                     .astype(np.float32)) for s in WARM_UP_SECONDS]
        for batch in ([feats[0]], [feats[1]], feats):
            recognizer.probabilities(batch)

    def _warm_up_decoding(self, recognizer):
        """Start the decoding workers with the model's best decoder built in each; if that
        fails, its requests will say why, and the model still serves."""
        if not self._decode_pool.workers:
            return
        try:
            self._decode_pool.warm_up(_best_decoder(recognizer))
        except Exception as err:
            print(f"warning: the beam decoders failed to start: {type(err).__name__}: {err}",
                  file=sys.stderr, flush=True)

    def require(self):
        """The recognizer, or the ServeError that says why there is none yet."""
        if self.status == READY:
            return self.recognizer
        if self.status == LOADING:
            raise model_loading(self.name)
        if self.status == FAILED:
            raise model_unavailable(self.error)
        raise model_unavailable("no model is loaded: start the server with --model "
                                "results/NAME.keras (or run `vui demo` to make a default model)")

    def health(self):
        return {"status": self.status, "model": self.name, "error": self.error}

    @property
    def sample_rate(self):
        return self.require().feature_config.sample_rate

    def decoder(self, kind="greedy", hotwords=()):
        """A decoder for (kind, hot words), checked once and kept. Its LM loads where it
        decodes: in each decoding worker once (hot words do not load another), or here at its
        first decode when decoding runs in the request threads."""
        if kind not in DECODER_KINDS:
            raise bad_request(f"unknown decoder {kind!r}; expected one of "
                              f"{', '.join(DECODER_KINDS)}")
        key = (kind, tuple(hotwords))
        with self._decoders_lock:
            if key in self._decoders:
                self._decoders.move_to_end(key)
                return self._decoders[key]
        try:
            built = self._build_decoder(kind, tuple(hotwords))
        except ValueError as err:   # hot words with greedy, beam_lm without an LM, bad spelling
            raise bad_request(str(err)) from None
        with self._decoders_lock:
            self._decoders[key] = built
            while len(self._decoders) > DECODER_CACHE_SIZE:
                self._decoders.popitem(last=False)
        return built

    def _build_decoder(self, kind, hotwords):
        """The model's decoder (beam_lm: its tuned LM and weights) with the hot words; one
        dropped from the cache frees its LM, if it loaded one here, when the last request
        using it is done."""
        return self.require().decoder(kind, hotwords=list(hotwords) or None)

    def transcribe(self, audio, decoder="greedy", hotwords=()):
        """Words of a float32 waveform at the model's sample rate (blocking)."""
        started = time.perf_counter()
        recognizer = self.require()
        chosen = self.decoder(decoder, hotwords)
        try:
            feats = recognizer.features(audio)
        except ValueError as err:   # too short for one analysis window, and the like
            raise bad_request(f"cannot compute features: {err}") from None
        probs = self._batcher.submit(feats).result()
        speech = speech_frames(audio, recognizer.feature_config.sample_rate,
                               self._seconds_per_frame, len(probs))
        try:
            words = self._decode_pool.decode_words(chosen, probs, self._seconds_per_frame,
                                                   speech)
        except BrokenProcessPool as err:   # a worker died, and again on the retry
            raise decoding_failed(err) from None
        return Transcript(transcript=" ".join(w.text for w in words), words=words,
                          audio_seconds=len(audio) / recognizer.feature_config.sample_rate,
                          model=recognizer.name, decoder=decoder,
                          seconds=time.perf_counter() - started)


def _best_decoder(recognizer):
    """The decoder the workers are warmed up with: beam_lm (its LM loads in each) if the
    model has a tuned LM, else beam."""
    try:
        return recognizer.decoder("beam_lm")
    except (ValueError, OSError):       # no tuned LM, or its file is gone
        return recognizer.decoder("beam")
