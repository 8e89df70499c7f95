"""`vui serve`: the transcription service and web page (vui.serve) on this machine.

    vui serve [--model results/NAME.keras] [--host 127.0.0.1] [--port 8000] [--results DIR]
              [--runtime auto|keras|onnx|litert|savedmodel] [--decode-workers N]

Prints one line with the URL, then serves until Ctrl-C. It binds 127.0.0.1 (this machine only)
by default; `--host 0.0.0.0` exposes it to the network, with no authentication, so do that only
on a network you trust (or put it behind a reverse proxy that authenticates). TensorFlow's
start-up logs are silenced (TF_CPP_MIN_LOG_LEVEL=3, set before Keras is imported, and
vui.backend_logs for the lines TensorFlow prints before it reads it) so that the URL line is what
the user sees.
"""
import argparse
import functools
import os
import socket
import sys

from vui import backend_logs
from vui.argtypes import count, port_number, positive_float, positive_int
from vui.infer.runtimes import RUNTIMES
from vui.decode.parallel import MAX_DEFAULT_WORKERS, check_workers
from vui.serve.engine import DEFAULT_RUNTIME
from vui.serve.limits import (DEFAULT_MAX_AUDIO_SECONDS, DEFAULT_MAX_LIVE_SECONDS,
                              DEFAULT_MAX_UPLOAD_BYTES, MIB, Limits)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TF_LOG_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
TF_QUIET = "3"
LISTEN_BACKLOG = 2048           # uvicorn's default


def parser():
    p = argparse.ArgumentParser(prog="vui serve", description=(
        "Serve a trained model: a web page to record or upload speech and see the transcript, "
        "POST /transcribe, the WebSocket /live, and the runs under --results (GET /runs)."))
    p.add_argument("--model", default=None,
                   help="results/NAME.keras or a run's name (default: the demo's model, if any)")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1: "
                   "this machine only; 0.0.0.0 exposes it, unauthenticated, to the network)")
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--results", default=None,
                   help="folder of the runs to show (default results/, or $VUI_RESULTS_DIR)")
    p.add_argument("--runtime", default=DEFAULT_RUNTIME, choices=("auto", *RUNTIMES),
                   help=f"what runs the network (default {DEFAULT_RUNTIME}: the fastest under "
                   "concurrent requests here; auto: the model's fastest up-to-date export, "
                   "else Keras, as in vui transcribe)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="threads of an ONNX or LiteRT runtime (default: 1 on machines of 4 cores "
                   "or fewer, else the library's choice)")
    p.add_argument("--decode-workers", type=count, default=None,
                   help="processes for beam searches (default: one per core, at most "
                   f"{MAX_DEFAULT_WORKERS}; 0: decode in the request threads)")
    p.add_argument("--max-upload-mb", type=positive_float, default=DEFAULT_MAX_UPLOAD_BYTES / MIB,
                   help=f"largest upload accepted (default {DEFAULT_MAX_UPLOAD_BYTES / MIB:g})")
    p.add_argument("--max-audio-seconds", type=positive_float, default=DEFAULT_MAX_AUDIO_SECONDS,
                   help="longest upload accepted")
    p.add_argument("--max-live-seconds", type=positive_float, default=DEFAULT_MAX_LIVE_SECONDS,
                   help="longest live session")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"))
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault(TF_LOG_VARIABLE, TF_QUIET)   # before anything imports Keras
    backend_logs.hold_startup_lines()                  # and the lines printed before it is read
    try:
        limits = Limits(int(args.max_upload_mb * MIB), args.max_audio_seconds,
                        args.max_live_seconds)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        if args.decode_workers is not None:
            check_workers(args.decode_workers)
    except ValueError as err:
        print(f"error: --decode-workers: {err}", file=sys.stderr)
        return 2
    model = _model_path(args.model)
    if model is not None and not model.exists():
        print(f"error: no trained model at {model}: pass --model results/NAME.keras "
              "(vui train or vui demo writes one)", file=sys.stderr)
        return 2
    try:
        sock = _bind(args.host, args.port)
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return _run(sock, args, model, limits)


def _model_path(model):
    if model is None:
        return None    # create_app takes the default model of --results, if there is one
    from vui import results as R
    return R.resolve_model_path(model)


def _bind(host, port):
    """Bind and listen before starting uvicorn, so that a busy port is one clear error, port
    0's real port can be printed, and a client that follows the printed URL at once is queued
    (not refused) while uvicorn starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _run(sock, args, model, limits):
    import uvicorn
    from vui import cpu_threads
    from vui.serve.app import create_app
    from vui.serve.engine import default_loader
    cpu_threads.configure()
    app = create_app(model, args.results, limits,
                     loader=functools.partial(default_loader, runtime=args.runtime,
                                              threads=args.threads),
                     decode_workers=args.decode_workers)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level))
    print(_banner(args.host, sock.getsockname()[1], app.state.engine.model_path), flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _banner(host, port, model_path):
    shown = f"[{host}]" if ":" in host else host
    where = ("this machine only; --host 0.0.0.0 exposes it" if host in LOOPBACK_HOSTS
             else "exposed to the network, unauthenticated")
    model = f"model {model_path} (loading)" if model_path else "no model: runs view only"
    return f"vui serve: http://{shown}:{port}/  ({model}; {where}; Ctrl-C stops)"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
