"""Side-by-side loss curves and a results table for any set of runs under results/."""
from pathlib import Path

import numpy as np

from vui import results as R

DEFAULT_PLOT_FILE = "comparison.png"
FIGURE_SIZE = (12, 6)


def _load_records(pickles=None, model_names=None, results_dir=None):
    base = Path(results_dir or R.RESULTS_DIR)
    if pickles is None and model_names is None:
        pickles = sorted(base.glob("*.pickle"))
    elif pickles is None:
        pickles = [R.run_paths(name, base)[0] for name in model_names]
    if not pickles:
        raise FileNotFoundError(f"no results to compare under {base}: train a model first")
    return R.load_records(pickles)


def plot_comparison(pickles=None, model_names=None, min_loss=None, max_loss=None, max_epoch=None,
                    results_dir=None, save_path=None, show=True):
    """Train (dashed) and validation (solid) CTC loss per epoch, one colour per run.

    Shown inline in Jupyter and saved as a PNG (default results/comparison.png); returns the
    figure.
    """
    import matplotlib.pyplot as plt
    records = _load_records(pickles, model_names, results_dir)
    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    for i, rec in enumerate(records):
        colour = colours[i % len(colours)]
        epochs = np.arange(1, len(rec["loss"]) + 1)
        ax.plot(epochs, rec["loss"], "--", color=colour)
        ax.plot(epochs, rec["val_loss"], "-", color=colour, label=rec["name"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("CTC loss per utterance (dashed: train, solid: validation)")
    ax.set_ylim(bottom=min_loss, top=max_loss)
    if max_epoch is not None:
        ax.set_xlim(0, max_epoch)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    save_path = Path(save_path or Path(results_dir or R.RESULTS_DIR) / DEFAULT_PLOT_FILE)
    save_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(save_path, dpi=100)
    if show and _inline_backend():
        plt.show()
    return fig


def _inline_backend():
    import matplotlib
    return "inline" in matplotlib.get_backend().lower()


def comparison_table(pickles=None, model_names=None, results_dir=None):
    """One row per run: best validation loss and its epoch, CER/WER per decoder, size, speed.

    CER and WER are the validation partition's, greedy, as training ended; "CER <decoder>" come
    from compare_decoders (`vui lm tune`), on the partition named in "decoded on"."""
    import pandas as pd
    rows = []
    for rec in _load_records(pickles, model_names, results_dir):
        val = np.asarray(rec["val_loss"], dtype=float)
        best = int(np.nanargmin(val)) if len(val) and not np.all(np.isnan(val)) else None
        row = {
            "model": rec["name"],
            "epochs": len(rec["loss"]),
            "best val loss": None if best is None else round(float(val[best]), 2),
            "best epoch": None if best is None else best + 1,
            "CER": rec.get("cer"), "WER": rec.get("wer"),
            "params": rec.get("params"),
            "s/epoch": round(R.run_epoch_seconds(rec), 1)
            if rec.get("epoch_times") else None,
        }
        decoded = rec.get("decoders") or {}
        for decoder, scores in decoded.items():
            row[f"CER {decoder}"], row[f"WER {decoder}"] = scores["cer"], scores["wer"]
        if decoded:
            row["decoded on"] = "/".join(dict.fromkeys(str(s.get("partition", "?"))
                                                       for s in decoded.values()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
