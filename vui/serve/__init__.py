"""`vui serve`: a transcription service and a web page for one trained model and its runs.

`create_app(model_path, results_dir, limits)` (vui.serve.app) builds the FastAPI app; the
command line (vui.cli.serve) runs it with uvicorn. Modules, one job each: limits (per-request
caps), errors (ServeError -> JSON), body_limit (413 while the upload arrives), audio (upload
bytes and PCM frames -> waveform), batching (one model thread, batched calls), engine (the
model: background loading, decoders, transcription; beam searches in vui.decode.parallel's
worker processes), live (the WebSocket session), runs (GET /runs),
static/ (the page: plain HTML, CSS and JavaScript, no build step, nothing fetched from outside).
Importing this package does not import Keras; the model loads when the app starts.
"""
