"""Inference speed per runtime: real-time factor (features included, model load excluded),
model size on disk, load time and memory, for the Keras model and its ONNX, LiteRT and
SavedModel exports; one markdown table.

    .venv/bin/python benchmarks/bench_inference.py [--model results/NAME.keras]
        [--corpus data/embedded] [--n 100] [--runtimes keras onnx litert savedmodel]

The files are the first N of the corpus's validation partition (default: the embedded corpus
under data/embedded when it exists). Exports are written to a temporary folder (or reused from
results/NAME.exports/ when they are of this model file). Each runtime then runs in a fresh
process of its own, as a fresh `vui transcribe` would: the load time counts from importing the
runtime module to a ready network (its library's import included); then two greedy passes over
the files: the first includes anything a runtime does once per input shape (Keras traces a
function per padded length), the second is warm. RTF = pass seconds / audio seconds, features
(reading audio included) + network + greedy decoding; "of which features" times reading and
features alone. "same as Keras" counts the files whose greedy transcript equals the Keras
runtime's. Peak RSS is the worker process's.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_N = 100
RUNTIMES = ("keras", "onnx", "litert", "savedmodel")
EMBEDDED = Path("data/embedded")
VALID_INDEX = "valid_corpus.json"
MB = 1e6


def validation_files(corpus, n):
    """(paths, audio seconds) of the first n utterances of the corpus's validation index."""
    index = Path(corpus) / VALID_INDEX
    if not index.is_file():
        raise SystemExit(f"error: no validation index {index}; pass --corpus FOLDER")
    entries = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
    entries = entries[:n]
    return [e["key"] for e in entries], sum(float(e["duration"]) for e in entries)


def prepare_exports(model_path, runtimes, workdir):
    """{runtime: what to load}: the .keras path for keras, an export folder for the others."""
    from vui.export.writers import export
    from vui.infer.recognizer import Recognizer
    from vui.infer.runtimes import default_export_dir, unusable_export
    sources, recognizer = {}, None
    for kind in runtimes:
        if kind == "keras":
            sources[kind] = str(model_path)
            continue
        folder = default_export_dir(model_path, kind)
        if unusable_export(folder, model_path, kind) is not None:
            recognizer = recognizer or Recognizer.load(model_path)
            folder = Path(workdir) / kind
            export(recognizer, folder, kind)
        sources[kind] = str(folder)
    return sources


def disk_size(path):
    """Bytes of a file, or of everything under a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_worker(kind, source, files_json, threads):
    """One runtime in a fresh process; its measurements as a dict."""
    command = [sys.executable, __file__, "--worker", kind, "--source", source,
               "--files", files_json]
    if threads:
        command += ["--threads", str(threads)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"error: the {kind} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(kind, source, files_json, threads):
    """Load the runtime (timed), then two timed greedy passes; print one JSON line."""
    from vui import cpu_threads
    cpu_threads.configure()              # as the vui command sets TensorFlow's threads
    files = json.loads(Path(files_json).read_text())
    start = time.perf_counter()
    from vui.infer.runtimes import load_runtime
    runtime = load_runtime(source, runtime=kind, threads=threads)
    load = time.perf_counter() - start
    passes, rows = [], []
    for _ in range(2):
        start = time.perf_counter()
        rows = runtime.transcribe(files, decoder="greedy")
        passes.append(time.perf_counter() - start)
    errors = [r for r in rows if "error" in r]
    if errors:
        raise SystemExit(f"{len(errors)} files failed, e.g. {errors[0]}")
    start = time.perf_counter()
    for path in files:
        runtime.features(path)
    features = time.perf_counter() - start
    print(json.dumps({"load_s": load, "first_s": passes[0], "warm_s": passes[1],
                      "features_s": features, "peak_rss": peak_rss(),
                      "transcripts": [r["transcript"] for r in rows],
                      "tensorflow_imported": "tensorflow" in sys.modules}))


def peak_rss():
    """This process's peak resident memory in bytes (VmHWM: unlike getrusage's maxrss it does
    not inherit the parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def network_size(kind, source):
    from vui.export.bundle import read_bundle
    if kind == "keras":
        return disk_size(source)
    return disk_size(read_bundle(source).network_path)


def table(results, sizes, audio_seconds, n):
    reference = results.get("keras", {}).get("transcripts")
    lines = [f"| runtime | RTF first pass | RTF warm | of which features | load s | size MB | "
             f"peak RSS MB | TensorFlow imported | same as Keras ({n} files) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        same = "-" if reference is None else sum(a == b for a, b in
                                                 zip(r["transcripts"], reference))
        lines.append(f"| {kind} | {r['first_s'] / audio_seconds:.4f} | "
                     f"{r['warm_s'] / audio_seconds:.4f} | {r['features_s'] / audio_seconds:.4f} | "
                     f"{r['load_s']:.2f} | "
                     f"{sizes[kind] / MB:.1f} | {r['peak_rss'] / MB:.0f} | "
                     f"{'yes' if r['tensorflow_imported'] else 'no'} | {same} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="results/NAME.keras (default: the demo's)")
    parser.add_argument("--corpus", default=str(EMBEDDED) if EMBEDDED.exists() else None)
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    parser.add_argument("--threads", type=int, default=None,
                        help="onnxruntime / LiteRT threads (default: theirs)")
    parser.add_argument("--worker", choices=RUNTIMES, help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.source, args.files, args.threads)
    if args.corpus is None:
        raise SystemExit(f"error: no {EMBEDDED}; pass --corpus FOLDER (with {VALID_INDEX})")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from vui import backend_logs
    backend_logs.hold_startup_lines()       # and the lines TensorFlow prints before reading it
    from vui import results as R
    model = R.default_model() if args.model is None else R.resolve_model_path(args.model)
    files, audio_seconds = validation_files(args.corpus, args.n)
    with tempfile.TemporaryDirectory() as workdir:
        sources = prepare_exports(model, args.runtimes, workdir)
        files_json = Path(workdir) / "files.json"
        files_json.write_text(json.dumps(files))
        results = {kind: run_worker(kind, sources[kind], str(files_json), args.threads)
                   for kind in args.runtimes}
        sizes = {kind: network_size(kind, sources[kind]) for kind in args.runtimes}
    print(f"model {model.name}; {len(files)} validation files of {args.corpus}, "
          f"{audio_seconds:.1f} audio seconds; {os.cpu_count()} CPUs\n")
    print(table(results, sizes, audio_seconds, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
