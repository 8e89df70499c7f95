"""Training throughput and transcription speed of a trained model, from its results.

    python benchmarks/bench_training.py [--model results/NAME.keras] [--corpus data/embedded] [-n 100]

Prints: audio seconds trained per wall second (from the run's epoch times, first epoch apart:
it includes graph tracing), and the real-time factor of `vui transcribe` (features + model +
greedy decoding, one file at a time, files read from disk) on validation files.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vui.data.tts_corpus import EMBEDDED_ROOT  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the demo's model")
    parser.add_argument("--corpus", default=str(EMBEDDED_ROOT))
    parser.add_argument("-n", type=int, default=100, help="validation files to transcribe")
    args = parser.parse_args(argv)

    from vui import results as R
    from vui.infer.transcribe import load_for_inference, transcribe_files
    model_path = R.default_model() if args.model is None else R.resolve_model_path(args.model)
    model = load_for_inference(model_path)
    rec = model.model.vui_record
    times = np.asarray(rec["epoch_times"])
    steady = R.run_epoch_seconds(rec)
    audio = rec["train_audio_seconds"]
    print(f"model: {rec['name']} ({rec['params']:,} parameters, backend {rec['backend']})")
    print(f"training: {len(times)} epochs of {audio:.0f} audio s; "
          f"first epoch {times[0]:.0f} s, later epochs {steady:.0f} s (median)")
    if len(times) > 1:
        print(f"training throughput: {audio / steady:.0f} audio seconds per wall second")

    index = Path(args.corpus) / "valid_corpus.json"
    files = [json.loads(line)["key"] for line in index.read_text().splitlines()[:args.n]]
    transcribe_files(model, files[:2])          # warm-up: tracing is not transcription
    start = time.perf_counter()
    rows = transcribe_files(model, files)
    wall = time.perf_counter() - start
    seconds = sum(r["audio_seconds"] for r in rows if "audio_seconds" in r)
    print(f"transcription: {len(rows)} files, {seconds:.0f} audio s in {wall:.1f} s: "
          f"real-time factor {wall / seconds:.4f} ({seconds / wall:.0f}x faster than real time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
