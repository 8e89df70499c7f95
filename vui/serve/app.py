"""The FastAPI application: routes only; the work is in engine, audio, live and runs.

    GET  /            the web page (static/index.html): record or upload, and the runs view
    GET  /health      {"status": "loading" | "ready" | "failed" | "none", "model", "error"}
    POST /transcribe  multipart `file` (+ `decoder`, `hotwords`) -> transcript, words, timings
    WS   /live        live transcription (protocol in vui.serve.live)
    GET  /runs        the runs under results/ with CER/WER and loss histories

The model loads in a background thread when the app starts (its lifespan), so the server
answers at once: 503 with Retry-After for transcription until the model is ready.
"""
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, UploadFile, WebSocket
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from vui import results as R
from vui.serve.audio import decode_upload
from vui.serve.body_limit import BodyLimit
from vui.serve.engine import Engine, default_loader, parse_hotword_field
from vui.serve.errors import (ServeError, bad_request, internal_error_handler,
                              serve_error_handler)
from vui.serve.limits import Limits
from vui.serve.live import LiveSession
from vui.serve.runs import RunCatalog

STATIC_DIR = Path(__file__).resolve().parent / "static"
UPLOAD_READ_CHUNK = 1024 * 1024


def default_model_path(results_dir):
    """The demo's model (results/DEFAULT_MODEL), or None when there is none."""
    try:
        return R.default_model(results_dir)
    except FileNotFoundError:
        return None


def create_app(model_path=None, results_dir=None, limits=Limits(), loader=default_loader,
               decode_workers=None):
    """The service for one model (None: the default model of results_dir, if any) and the
    runs under results_dir (None: results/, or $VUI_RESULTS_DIR, as every command).
    `loader(model_path) -> Recognizer` is Recognizer.load unless a test gives another;
    decode_workers: processes for beam searches (None: one per core; 0: none)."""
    results_dir = R.RESULTS_DIR if results_dir is None else results_dir
    if model_path is None:
        model_path = default_model_path(results_dir)
    engine = Engine(model_path, loader, decode_workers)
    catalog = RunCatalog(results_dir)

    @asynccontextmanager
    async def lifespan(_app):
        engine.start()
        yield
        engine.close()

    app = FastAPI(title="vui serve", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.engine, app.state.catalog, app.state.limits = engine, catalog, limits
    app.add_exception_handler(ServeError, serve_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_routes(app, engine, catalog, limits)
    return app


def _add_routes(app, engine, catalog, limits):
    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/health")
    async def health():
        return engine.health()

    @app.post("/transcribe")
    async def transcribe(file: UploadFile | None = File(None), decoder: str = Form("greedy"),
                         hotwords: str = Form("")):
        engine.require()   # 503 (Retry-After) before any decoding while the model loads
        if file is None:
            raise bad_request("no audio: send the recording as the multipart field 'file'")
        data = await _read_upload(file, limits)
        audio = await run_in_threadpool(decode_upload, data, file.filename, limits,
                                        engine.sample_rate)
        result = await run_in_threadpool(engine.transcribe, audio, decoder,
                                         parse_hotword_field(hotwords))
        return result.to_json()

    @app.websocket("/live")
    async def live(websocket: WebSocket):
        await LiveSession(websocket, engine, limits).run()

    @app.get("/runs")
    async def runs():
        return await run_in_threadpool(catalog.list)


async def _read_upload(file, limits):
    """The upload's bytes (BodyLimit has already capped the request; this caps the file)."""
    chunks, size = [], 0
    while chunk := await file.read(UPLOAD_READ_CHUNK):
        size += len(chunk)
        if size > limits.max_upload_bytes:
            raise ServeError(413, f"upload {file.filename!r} is over the limit of "
                                  f"{limits.max_upload_bytes} bytes "
                                  f"({limits.upload_megabytes:g} MiB)")
        chunks.append(chunk)
    return b"".join(chunks)
