"""`vui serve`: POST /transcribe, WebSocket /live, GET /runs, bad input, loading, the command.

One tiny model is trained once per test session (shared with test_serve_browser.py through
the session's temporary folder) and loaded once per module; apps get it through `loader`, so
each app starts in a fraction of a second. Servers started here are always shut down.
"""
import functools
import io
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from fastapi.testclient import TestClient

from conftest import train_tiny
from vui import results as R
from vui.serve.app import create_app
from vui.serve.audio import decode_upload
from vui.serve.batching import Batcher
from vui.serve.engine import default_loader
from vui.serve.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
READY_TIMEOUT = 60            # seconds for an app to load its model
SERVER_TIMEOUT = 20           # seconds for a uvicorn thread to start or stop
CLI_TIMEOUT = 90              # the command imports TensorFlow in a fresh process
WS_TIMEOUT = 30               # seconds for any one WebSocket message
HOT_WORD = "rascal"


# ---------------------------------------------------------------- shared fixtures and helpers

@pytest.fixture(scope="session")
def served_model(speech_corpus, tmp_path_factory):
    """The tiny model's .keras path, trained once per session even when two modules ask."""
    base = tmp_path_factory.getbasetemp() / "serve-model"
    done = base / "MODEL_PATH"
    if not done.exists():
        base.mkdir(exist_ok=True)
        done.write_text(str(train_tiny(speech_corpus["index"], base, "SERVE")))
    return Path(done.read_text())


@pytest.fixture(scope="module")
def recognizer(served_model):
    from vui.infer.recognizer import Recognizer
    return Recognizer.load(served_model)


def wav_bytes(samples, rate=RATE, fmt="WAV", subtype="PCM_16"):
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format=fmt, subtype=subtype)
    return out.getvalue()


def speech_samples(speech_corpus, seconds, rate=RATE):
    """The corpus's utterances end to end, cut to `seconds` (float32 at `rate`)."""
    import utils
    audio = np.concatenate([utils.load_audio(e["key"], RATE) for e in speech_corpus["entries"]])
    while len(audio) < seconds * RATE:
        audio = np.concatenate([audio, audio])
    audio = audio[:int(seconds * RATE)]
    if rate != RATE:
        import soxr
        audio = soxr.resample(audio, RATE, rate).astype(np.float32)
    return audio


def app_for(recognizer, results_dir, **options):
    """An app serving the already-loaded recognizer (no second model load). Its beam searches
    run in the request threads unless `decode_workers` says otherwise: the module's `app`
    runs them in the default worker processes, and one set of workers is enough to start."""
    options.setdefault("decode_workers", 0)
    return create_app(model_path="tiny.keras", results_dir=results_dir,
                      loader=lambda _path: recognizer, **options)


@contextmanager
def ready_client(app):
    with TestClient(app) as client:
        assert app.state.engine.wait(READY_TIMEOUT), "the model did not load in time"
        assert client.get("/health").json()["status"] == "ready"
        yield client


@contextmanager
def running_server(app):
    """The app under a real uvicorn on a free 127.0.0.1 port, in a thread; yields its URL and
    always shuts it down."""
    import uvicorn
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(SERVER_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def app(recognizer, served_model):
    return app_for(recognizer, served_model.parent, decode_workers=None)   # the default


@pytest.fixture(scope="module")
def client(app):
    with ready_client(app) as client:
        yield client


@pytest.fixture(scope="module")
def clip(speech_corpus):
    """A 2.5-second clip of speech at 16 kHz (float32)."""
    return speech_samples(speech_corpus, 2.5)


def post_audio(client, data, filename="clip.wav", **fields):
    return client.post("/transcribe", files={"file": (filename, data, "audio/wav")},
                       data=fields)


# ---------------------------------------------------------------- POST /transcribe

def test_transcribe_returns_the_words_with_times_and_confidences(client, recognizer, clip):
    sent = time.perf_counter()
    reply = post_audio(client, wav_bytes(clip, subtype="FLOAT"))
    waited = time.perf_counter() - sent
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) >= {"transcript", "words", "audio_seconds", "model", "seconds"}
    assert body["model"] == recognizer.name and body["decoder"] == "greedy"
    assert body["audio_seconds"] == pytest.approx(2.5, abs=1e-3)
    assert 0 < body["seconds"] <= waited                 # the server's own time, inside ours
    words = body["words"]
    assert words and body["transcript"] == " ".join(w["text"] for w in words)
    for w in words:
        assert 0 <= w["start"] < w["end"] <= body["audio_seconds"] + 0.1
        assert 0 <= w["confidence"] <= 1
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    # the same words as the toolkit's own greedy transcript of these samples
    expected = recognizer.transcribe([clip])[0]
    assert body["transcript"].split() == expected.split()


def test_beam_with_a_hot_word_favours_it(client, clip):
    reply = post_audio(client, wav_bytes(clip), decoder="beam", hotwords=f"{HOT_WORD}:10")
    assert reply.status_code == 200, reply.text
    assert HOT_WORD in [w["text"] for w in reply.json()["words"]]


def test_beam_searches_run_in_worker_processes_that_survive_a_killed_worker(recognizer, clip):
    """The server's decoding processes give the words the decoder gives in this process; a
    worker that dies costs a retry on a fresh pool, not the request."""
    import signal
    from vui.decode.parallel import DecodePool
    probs = recognizer.probabilities([recognizer.features(clip)])[0]
    per_frame = recognizer.seconds_per_frame
    beam = recognizer.decoder("beam", hotwords=[f"{HOT_WORD}:10"])
    expected = beam.decode_words(probs, per_frame)
    pool = DecodePool(1)
    try:
        pool.warm_up(beam)
        assert pool.decode_words(beam, probs, per_frame) == expected
        worker = pool._executor.submit(os.getpid).result()
        assert worker != os.getpid()
        os.kill(worker, signal.SIGKILL)
        assert pool.decode_words(beam, probs, per_frame) == expected
        assert pool._executor.submit(os.getpid).result() != worker
    finally:
        pool.close()


def test_a_stereo_44k_flac_is_mixed_down_and_resampled(client, speech_corpus):
    mono = speech_samples(speech_corpus, 2.0, rate=44100)
    reply = post_audio(client, wav_bytes(np.stack([mono, mono], axis=1), 44100, fmt="FLAC"),
                       filename="stereo.flac")
    assert reply.status_code == 200, reply.text
    assert reply.json()["audio_seconds"] == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("fields, needle", [
    ({"decoder": "greedy", "hotwords": "boat"}, "cannot use hot words"),
    ({"decoder": "viterbi"}, "unknown decoder 'viterbi'"),
    ({"decoder": "beam", "hotwords": "b0at"}, "outside the alphabet"),
    ({"decoder": "beam_lm"}, "needs a language model"),
])
def test_bad_decoder_choices_are_400_naming_the_problem(client, clip, fields, needle):
    reply = post_audio(client, wav_bytes(clip), **fields)
    assert reply.status_code == 400 and needle in reply.json()["error"]


def test_a_file_that_is_not_audio_is_400_naming_it(client):
    reply = post_audio(client, b"just some notes, not a recording\n" * 20, filename="notes.txt")
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert "'notes.txt' is not an audio file" in error and "BytesIO" not in error


def test_an_empty_upload_is_400(client):
    reply = post_audio(client, b"", filename="empty.wav")
    assert reply.status_code == 400 and "empty upload 'empty.wav'" in reply.json()["error"]


def test_a_request_without_a_file_is_400(client):
    reply = client.post("/transcribe", data={"decoder": "greedy"})
    assert reply.status_code == 400 and "multipart field 'file'" in reply.json()["error"]


def test_audio_too_short_for_features_is_400(client):
    reply = post_audio(client, wav_bytes(0.1 * np.sin(np.arange(40, dtype=np.float32))))
    assert reply.status_code == 400 and "cannot compute features" in reply.json()["error"]


def test_silence_is_400_as_vui_transcribe_refuses_it(client):
    reply = post_audio(client, wav_bytes(np.zeros(3 * RATE, np.float32)), filename="quiet.wav")
    assert reply.status_code == 400
    assert "audio 'quiet.wav' is silent (peak amplitude 0 < 0.0001); expected speech" in \
        reply.json()["error"]


def test_uploads_over_the_size_limit_are_413_declared_or_streamed(recognizer, tmp_path, clip):
    data = wav_bytes(clip)                                   # 80 kB
    app = app_for(recognizer, tmp_path, limits=Limits(max_upload_bytes=20_000))
    with ready_client(app) as client:
        declared = post_audio(client, data)
        assert declared.status_code == 413 and "20000 bytes" in declared.json()["error"]
        boundary = "vui-test-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"big.wav\"\r\nContent-Type: audio/wav\r\n\r\n").encode() + data + \
            f"\r\n--{boundary}--\r\n".encode()
        chunks = (body[i:i + 8192] for i in range(0, len(body), 8192))   # no Content-Length
        streamed = client.post("/transcribe", content=chunks, headers={
            "content-type": f"multipart/form-data; boundary={boundary}"})
        assert streamed.status_code == 413 and "limit is 20000 bytes" in streamed.json()["error"]
        assert post_audio(client, data[:15_000]).status_code in (200, 400)   # still serving


def test_audio_over_the_length_limit_is_413_naming_the_limit(recognizer, tmp_path, clip):
    app = app_for(recognizer, tmp_path, limits=Limits(max_audio_seconds=2.0))
    with ready_client(app) as client:
        reply = post_audio(client, wav_bytes(clip))
        assert reply.status_code == 413
        assert "lasts 2.5 s; the limit is 2 s" in reply.json()["error"]
        assert post_audio(client, wav_bytes(clip[:RATE])).status_code == 200


def compressed_bytes(samples, container, codec, codec_rate):
    from test_audio_codecs import encode
    out = io.BytesIO()
    encode(samples, container, codec, codec_rate, out)
    return out.getvalue()


@pytest.mark.parametrize("filename, container, codec, codec_rate", [
    ("phone.m4a", "ipod", "aac", 16000), ("browser.webm", "webm", "libopus", 48000)])
def test_a_compressed_recording_is_transcribed_as_its_speech(client, clip, filename, container,
                                                             codec, codec_rate):
    """The service's model is too weak for its transcript to survive a lossy codec unchanged,
    so the waveform the service decodes is compared with the clip, and the reply checked."""
    from test_audio_codecs import MIN_CORRELATION, best_correlation
    data = compressed_bytes(clip, container, codec, codec_rate)
    decoded = decode_upload(data, filename, Limits(), RATE)
    assert best_correlation(clip, decoded) > MIN_CORRELATION
    reply = post_audio(client, data, filename)
    assert reply.status_code == 200, reply.text
    assert reply.json()["audio_seconds"] == pytest.approx(2.5, abs=0.13)  # AAC pads <= 0.128 s


def test_a_compressed_recording_over_the_length_limit_is_413(recognizer, tmp_path, clip):
    app = app_for(recognizer, tmp_path, limits=Limits(max_audio_seconds=2.0))
    with ready_client(app) as client:
        reply = post_audio(client, compressed_bytes(clip, "webm", "libopus", 48000), "long.webm")
        assert reply.status_code == 413
        assert "'long.webm' lasts 2.5 s; the limit is 2 s" in reply.json()["error"]


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError, match="max_audio_seconds"):
        Limits(max_audio_seconds=0)


# ---------------------------------------------------------------- model loading

def test_requests_while_the_model_loads_get_503_with_retry_after(recognizer, tmp_path, clip):
    release = threading.Event()

    def slow_loader(_path):
        release.wait(READY_TIMEOUT)
        return recognizer

    app = create_app(model_path="slow.keras", results_dir=tmp_path, loader=slow_loader)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "loading"
        reply = post_audio(client, wav_bytes(clip))
        assert reply.status_code == 503 and reply.headers["retry-after"] == "5"
        assert "still loading" in reply.json()["error"]
        with client.websocket_connect("/live") as ws:
            refusal = receive_json(ws)
            assert refusal["type"] == "error" and refusal["retry_after"] == 5
        assert client.get("/runs").status_code == 200         # the rest keeps serving
        assert client.get("/").status_code == 200
        release.set()
        assert app.state.engine.wait(READY_TIMEOUT)
        assert post_audio(client, wav_bytes(clip)).status_code == 200


def test_a_model_that_fails_to_load_is_named_on_every_request(tmp_path, clip, capsys):
    app = create_app(model_path=tmp_path / "missing.keras", results_dir=tmp_path)
    with TestClient(app) as client:
        assert app.state.engine.wait(READY_TIMEOUT)
        told = capsys.readouterr().err              # and on the terminal, once
        assert told.count("error: the model ") == 1 and "missing.keras failed to load" in told
        health = client.get("/health").json()
        assert health["status"] == "failed" and "missing.keras" in health["error"]
        reply = post_audio(client, wav_bytes(clip))
        assert reply.status_code == 503 and "failed to load" in reply.json()["error"]
        assert "retry-after" not in reply.headers
        assert client.get("/runs").json()["runs"] == []


def test_without_a_model_the_runs_view_still_works(tmp_path, clip):
    app = create_app(model_path=None, results_dir=tmp_path)      # no DEFAULT_MODEL there
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "none"
        reply = post_audio(client, wav_bytes(clip))
        assert reply.status_code == 503 and "--model" in reply.json()["error"]


def test_the_runs_folder_defaults_to_the_toolkits_own(tmp_path, monkeypatch):
    """Without results_dir (vui serve without --results) the service reads the folder every
    command reads: results/, or $VUI_RESULTS_DIR (vui.results.RESULTS_DIR)."""
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path)
    app = create_app(model_path=None)
    with TestClient(app) as client:
        assert client.get("/runs").json()["results_dir"] == str(tmp_path)


# ---------------------------------------------------------------- WebSocket /live

def stream(ws, samples, chunk_seconds=0.1, pace=0.0, encoding="f32"):
    step = int(chunk_seconds * RATE)
    for i in range(0, len(samples), step):
        chunk = samples[i:i + step]
        if encoding == "i16":
            ws.send_bytes(np.round(np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes())
        else:
            ws.send_bytes(chunk.astype("<f4").tobytes())
        if pace:
            time.sleep(pace)


def receive_json(ws, timeout=WS_TIMEOUT):
    """TestClient's receive_json, bounded: a server that never answers fails the test."""
    import anyio
    stream = getattr(ws, "_send_rx", None)
    if stream is None:                       # another Starlette: unbounded, as it offers
        return ws.receive_json()

    async def bounded():
        with anyio.fail_after(timeout):
            return await stream.receive()

    message = ws.portal.call(bounded)
    assert message["type"] == "websocket.send", f"the server closed the socket: {message}"
    return json.loads(message["text"])


def collect_until_final(ws):
    messages = []
    while not messages or messages[-1]["type"] not in ("final", "error"):
        messages.append(receive_json(ws))
    return messages


def test_live_sends_partials_about_once_a_second_and_a_final(client, clip):
    with client.websocket_connect("/live") as ws:
        ws.send_json({"type": "start", "sample_rate": RATE, "encoding": "f32"})
        assert receive_json(ws)["type"] == "ready"
        started = time.perf_counter()
        stream(ws, clip, pace=0.1)                           # real time: 2.5 s
        ws.send_json({"type": "stop"})
        stopped = time.perf_counter()
        messages = collect_until_final(ws)
        ended = time.perf_counter()
    partials = [m for m in messages if m["type"] == "partial"]
    final = messages[-1]
    assert final["type"] == "final", messages
    most = math.ceil(stopped - started) + 1                  # one a second, and one in flight
    assert 1 <= len(partials) <= most, [m["audio_seconds"] for m in partials]
    assert [p["audio_seconds"] for p in partials] == sorted(p["audio_seconds"] for p in partials)
    assert final["audio_seconds"] == pytest.approx(2.5, abs=1e-3)
    assert 0 <= final["final_delay"] <= ended - started     # measured inside our own wait
    http = post_audio(client, wav_bytes(clip, subtype="FLOAT")).json()
    assert final["transcript"] == http["transcript"]        # the same audio, the same words


def test_live_takes_int16_at_48k_and_resamples(client, speech_corpus):
    audio = speech_samples(speech_corpus, 1.5, rate=48000)
    with client.websocket_connect("/live") as ws:
        ws.send_json({"type": "start", "sample_rate": 48000, "encoding": "i16"})
        assert receive_json(ws)["type"] == "ready"
        step = 4800
        for i in range(0, len(audio), step):
            ws.send_bytes(np.round(audio[i:i + step] * 32767).astype("<i2").tobytes())
        ws.send_json({"type": "stop"})
        final = collect_until_final(ws)[-1]
    assert final["type"] == "final"
    assert final["audio_seconds"] == pytest.approx(1.5, abs=0.02)


@pytest.mark.parametrize("start, needle", [
    ({"type": "start", "encoding": "mp3"}, "encoding must be one of"),
    ({"type": "start", "sample_rate": 12}, "sample_rate must be"),
    ({"type": "start", "decoder": "greedy", "hotwords": "boat"}, "cannot use hot words"),
])
def test_live_refuses_a_bad_start_message(client, start, needle):
    with client.websocket_connect("/live") as ws:
        ws.send_json(start)
        reply = receive_json(ws)
    assert reply["type"] == "error" and needle in reply["error"]


def test_live_refuses_a_torn_frame(client):
    with client.websocket_connect("/live") as ws:
        ws.send_json({"type": "start"})
        assert receive_json(ws)["type"] == "ready"
        ws.send_bytes(b"\x00" * 7)
        reply = receive_json(ws)
    assert reply["type"] == "error" and "whole 4-byte samples" in reply["error"]


def test_live_past_its_length_limit_is_finalised_with_the_limit_named(recognizer, tmp_path,
                                                                      clip):
    app = app_for(recognizer, tmp_path, limits=Limits(max_live_seconds=1.0))
    with ready_client(app) as client, client.websocket_connect("/live") as ws:
        ws.send_json({"type": "start"})
        assert receive_json(ws)["type"] == "ready"
        stream(ws, clip)
        messages = collect_until_final(ws)
        if messages[-1]["type"] == "error":
            messages.append(receive_json(ws))
    errors = [m for m in messages if m["type"] == "error"]
    assert errors and "1 s limit" in errors[0]["error"]
    assert messages[-1]["type"] == "final" and messages[-1]["audio_seconds"] <= 1.2


def test_a_silent_live_client_is_finalised_after_the_idle_timeout(client, clip, monkeypatch):
    from vui.serve import live
    monkeypatch.setattr(live, "IDLE_TIMEOUT_SECONDS", 1.0)     # 30 s in service
    with client.websocket_connect("/live") as ws:
        ws.send_json({"type": "start", "sample_rate": RATE, "encoding": "f32"})
        assert receive_json(ws)["type"] == "ready"
        stream(ws, clip[:RATE])                          # one second, then neither frame nor stop
        messages = collect_until_final(ws)
        if messages[-1]["type"] == "error":
            messages.append(receive_json(ws))
    errors = [m for m in messages if m["type"] == "error"]
    assert len(errors) == 1 and "no audio or stop message for 1 s" in errors[0]["error"]
    assert messages[-1]["type"] == "final", messages
    assert messages[-1]["audio_seconds"] == pytest.approx(1.0, abs=1e-3)


def test_a_broken_websocket_mid_stream_leaves_the_server_serving(recognizer, tmp_path, clip):
    from websockets.sync.client import connect
    app = app_for(recognizer, tmp_path)
    with running_server(app) as url:
        assert app.state.engine.wait(READY_TIMEOUT)
        ws_url = url.replace("http", "ws") + "/live"
        for _ in range(2):                 # twice: the first break must not spoil the second
            broken = connect(ws_url, open_timeout=10)
            broken.send(json.dumps({"type": "start"}))
            assert json.loads(broken.recv(timeout=10))["type"] == "ready"
            broken.send(clip[:RATE].tobytes())
            broken.socket.shutdown(socket.SHUT_RDWR)      # gone: no close frame, no stop
            broken.socket.close()
        time.sleep(1.5)                                    # let a partial hit the dead socket
        reply = httpx.post(url + "/transcribe", files={"file": ("c.wav", wav_bytes(clip))},
                           timeout=30)
        assert reply.status_code == 200, reply.text
        with connect(ws_url, open_timeout=10) as ws:
            ws.send(json.dumps({"type": "start"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            ws.send(clip.tobytes())
            ws.send(json.dumps({"type": "stop"}))
            while (message := json.loads(ws.recv(timeout=30)))["type"] != "final":
                assert message["type"] == "partial"
        assert message["transcript"] == reply.json()["transcript"]


# ---------------------------------------------------------------- GET /runs and the page

def fake_run(results_dir, name, losses, val_losses, cer=None, wer=None):
    """A run's pickle and JSON as train_model writes them (metadata + histories)."""
    record = {"name": name, "model_config": {"rnn_units": 16}, "feature_config": {},
              "normalization": {"mean": [0.0], "std": [1.0]}, "completed": True,
              "cer": cer, "wer": wer, "loss": list(losses), "val_loss": list(val_losses)}
    R.save_record(R.run_paths(name, results_dir)[0], record)


def test_runs_lists_metrics_and_histories_and_skips_what_is_not_a_run(recognizer, served_model,
                                                                      tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    fake_run(results, "GRU run", [300, 200, 150], [310, float("nan"), 170], cer=0.41, wer=0.9)
    (results / "broken.json").write_text("{not json")
    (results / "GRU run.lm.json").write_text(json.dumps({"alpha": 0.5}))   # not a run
    with ready_client(app_for(recognizer, results)) as client:
        body = client.get("/runs").json()
    assert [run["name"] for run in body["runs"]] == ["GRU run"]
    run = body["runs"][0]
    assert run["loss"] == [300, 200, 150] and run["val_loss"] == [310, None, 170]
    assert (run["cer"], run["wer"], run["epochs"], run["best_val_loss"]) == (0.41, 0.9, 3, 170)
    assert [s["file"] for s in body["skipped"]] == ["broken.json"]
    # the tiny model's own run, as train_model left it
    with ready_client(app_for(recognizer, served_model.parent)) as client:
        real = client.get("/runs").json()["runs"]
    assert [r["name"] for r in real] == [recognizer.name]
    assert real[0]["epochs"] == 1 and len(real[0]["val_loss"]) == 1
    assert real[0]["cer"] is not None and math.isfinite(real[0]["cer"])


def test_the_page_and_its_scripts_are_served_with_nothing_from_outside(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for name in ("app.js", "live.js", "runs.js", "pcm-worklet.js", "style.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200, name
        assert not re.search(r"(src|href)=\"https?://|import .* from \"https?://", asset.text)
    assert not re.search(r"(src|href)=\"https?://", page.text)


# ---------------------------------------------------------------- the batcher

def test_the_batcher_batches_waiting_items_and_isolates_a_failing_one():
    calls, gate, started = [], threading.Event(), threading.Event()

    def fn(items):
        started.set()
        gate.wait(5)
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    batcher = Batcher(fn, max_batch=8)
    try:
        first = batcher.submit("a")
        assert started.wait(5)                       # "a" is being processed alone
        rest = [batcher.submit(x) for x in ("b", "bad", "c")]
        gate.set()
        assert first.result(5) == "A"
        assert rest[0].result(5) == "B" and rest[2].result(5) == "C"
        with pytest.raises(ValueError, match="bad item"):
            rest[1].result(5)
        assert calls[1] == ["b", "bad", "c"]         # the three waiting items went together
    finally:
        batcher.close()


# ---------------------------------------------------------------- the command

def read_line(stream, timeout):
    """One line of a child's output, or "" if none comes within `timeout` seconds."""
    import selectors
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        return stream.readline() if selector.select(timeout) else ""


def test_the_command_prints_one_line_with_the_url_and_serves(served_model, speech_corpus):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "vui.cli.serve", "--model", str(served_model),
               "--port", "0", "--results", str(served_model.parent)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc.stdout, CLI_TIMEOUT)
        match = re.match(r"vui serve: (http://127\.0\.0\.1:(\d+)/) ", line)
        assert match, line
        url = match.group(1)
        deadline = time.monotonic() + CLI_TIMEOUT
        while httpx.get(url + "health", timeout=5).json()["status"] == "loading":
            assert time.monotonic() < deadline, "the model did not load in time"
            time.sleep(0.3)
        wav = speech_corpus["entries"][0]["key"]
        with open(wav, "rb") as f:
            reply = httpx.post(url + "transcribe", files={"file": ("a.wav", f.read())},
                               timeout=30)
        assert reply.status_code == 200, reply.text
        assert httpx.get(url, timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=SERVER_TIMEOUT)
    assert out == "", out                                # one line, nothing after it
    # nor TensorFlow's start-up lines, nor multiprocessing's complaint about a pool not shut down
    assert not re.search(r"tensorflow|oneDNN|cuda|absl|leaked semaphore", err, re.I), err


def test_the_command_names_a_busy_port(capsys):
    from vui.cli.serve import main
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("option, value, expected", [
    ("--port", "99999", "expected a port number 0..65535, got '99999'"),
    ("--port", "-1", "expected a port number 0..65535"),
    ("--max-upload-mb", "0", "argument --max-upload-mb: expected a finite number > 0"),
    ("--max-audio-seconds", "-3", "argument --max-audio-seconds: expected a finite number > 0"),
    ("--threads", "0", "argument --threads: expected a whole number >= 1"),
    ("--decode-workers", "-1", "argument --decode-workers: expected a whole number >= 0")])
def test_the_command_refuses_bad_numbers_by_option(option, value, expected, capsys):
    from vui.cli.serve import main
    with pytest.raises(SystemExit) as code:
        main([option, value])
    assert code.value.code == 2 and expected in capsys.readouterr().err


def test_the_command_refuses_more_decoding_workers_than_cores(capsys):
    from vui import cpu_threads
    from vui.cli.serve import main
    cores = cpu_threads.usable_cores()
    assert main(["--decode-workers", str(cores + 1), "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: --decode-workers: decode workers {cores + 1}: expected a whole number from 0 "
        f"to {cores}")


def test_dead_decoding_workers_and_bugs_answer_json_not_a_bare_500(recognizer, served_model,
                                                                  clip, monkeypatch):
    """Workers killed under a request twice running: 503 with Retry-After, as JSON; an
    unforeseen failure: 500, still as JSON."""
    from concurrent.futures.process import BrokenProcessPool
    app = app_for(recognizer, served_model.parent)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert app.state.engine.wait(READY_TIMEOUT)
        pool = app.state.engine._decode_pool

        def dies(*_args, **_kwargs):
            raise BrokenProcessPool("a worker was killed")
        monkeypatch.setattr(pool, "decode_words", dies)
        reply = post_audio(client, wav_bytes(clip), decoder="beam")
        assert reply.status_code == 503 and reply.headers["Retry-After"]
        assert "the decoding workers stopped while decoding this request" in \
            reply.json()["error"]

        def bug(*_args, **_kwargs):
            raise RuntimeError("something nobody foresaw")
        monkeypatch.setattr(pool, "decode_words", bug)
        reply = post_audio(client, wav_bytes(clip), decoder="beam")
        assert reply.status_code == 500
        assert reply.json() == {"error": "internal error: RuntimeError: something nobody "
                                         "foresaw"}


def test_the_command_names_a_missing_model(tmp_path, capsys):
    from vui.cli.serve import main
    assert main(["--model", str(tmp_path / "nope.keras"), "--port", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: no trained model at")   # as every command


def test_the_service_runs_the_runtime_it_is_given(served_model, recognizer, clip, tmp_path):
    """--runtime auto takes the fastest up-to-date export (the ONNX one beside the model),
    keras (the default) the Keras model, with the same transcript."""
    import shutil
    from vui.export.writers import export
    from vui.infer.runtimes import default_export_dir
    for suffix in (".keras", ".json", ".pickle"):
        shutil.copy(served_model.with_suffix(suffix), tmp_path / f"m{suffix}")
    model = tmp_path / "m.keras"
    export(recognizer, default_export_dir(model, "onnx"), "onnx")
    app = create_app(model_path=str(model), results_dir=tmp_path,
                     loader=functools.partial(default_loader, runtime="auto"))
    with ready_client(app) as client:
        assert app.state.engine.recognizer.kind == "onnx"
        body = post_audio(client, wav_bytes(clip, subtype="FLOAT")).json()
    assert body["transcript"].split() == recognizer.transcribe([clip])[0].split()
    keras_app = create_app(model_path=str(model), results_dir=tmp_path)
    with ready_client(keras_app) as client:
        assert keras_app.state.engine.recognizer.kind == "keras"
        assert post_audio(client, wav_bytes(clip, subtype="FLOAT")).json() \
            ["transcript"] == body["transcript"]
