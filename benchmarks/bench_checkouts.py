"""Demo-preset training throughput of two (or more) checkouts of vui, alternating, in one run.

    git worktree add /tmp/before REV
    .venv/bin/python benchmarks/bench_checkouts.py /tmp/before . [--corpus data/bench-2k]
        [--n 400] [--runs 2]

Each run is a fresh process that imports the checkout given (its folder first on sys.path),
trains `M.presets.demo()` for 3 epochs on the first --n utterances of the corpus's training
index (MFCC 26, batch 32, Adam 1e-3, its own cold feature cache, validating on the same
utterances) and reports its steady epochs (2nd and 3rd) in audio seconds per wall second.
Checkouts alternate so that the machine's load falls on each alike. Used for
docs/experiments/scale.md, "The CPU path before and after this work".
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

EPOCHS = 3
BATCH = 32
RESULT_PREFIX = "CHECKOUT-RESULT "


def train_once(checkout, index, audio_seconds):
    """In this process: train on `checkout`'s code; print the steady epochs' rates."""
    sys.path.insert(0, checkout)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from vui import cpu_threads
    cpu_threads.configure()
    import keras

    import data_generator as DG
    import models as M
    import train_utils as T
    from vui import results as R
    with tempfile.TemporaryDirectory() as tmp:
        gen = DG.AudioGeneratorCached(spectrogram=False, mfcc_dim=26, minibatch_size=BATCH,
                                      cache_dir=os.path.join(tmp, "cache"))
        gen.load_train_data(index)
        gen.load_validation_data(index)
        results = os.path.join(tmp, "results")
        name = T.train_model(gen, M.presets.demo(), epochs=EPOCHS, minibatch_size=BATCH,
                             verbose=0, optimizer=lambda: keras.optimizers.Adam(1e-3),
                             results_dir=results, evaluate_after=False)
        times = R.load_pickle(R.run_paths(name, results)[0])["epoch_times"]
    print(RESULT_PREFIX + json.dumps([round(audio_seconds / t, 1) for t in times[1:]]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkouts", nargs="*", help="folders of vui checkouts (git worktrees)")
    p.add_argument("--corpus", default="data/bench-2k")
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        checkout, index, seconds = args.worker
        return train_once(checkout, index, float(seconds))
    if not args.checkouts:
        p.error("name at least one checkout folder")
    with open(os.path.join(args.corpus, "train_corpus.json")) as f:
        rows = [json.loads(line) for line in f][:args.n]
    seconds = sum(r["duration"] for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        index = os.path.join(tmp, "train.json")
        with open(index, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        print(f"{len(rows)} utterances, {seconds:.0f} audio s; steady epochs, audio s / wall s")
        for run in range(args.runs):
            for checkout in args.checkouts:
                done = subprocess.run([sys.executable, __file__, "--worker",
                                       os.path.abspath(checkout), index, str(seconds)],
                                      capture_output=True, text=True, check=True)
                rates = [line for line in done.stdout.splitlines()
                         if line.startswith(RESULT_PREFIX)][-1][len(RESULT_PREFIX):]
                print(f"run {run + 1}  {checkout:30s} {rates}")


if __name__ == "__main__":
    main()
