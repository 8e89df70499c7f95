"""Pick the LM weight (alpha) and word bonus (beta) on the validation partition.

A small grid, not an optimiser: the WER surface over (alpha, beta) is flat near its best and
noisy on a few hundred utterances, so a coarse grid is as good as anything finer and its table
is worth keeping. Each grid point's pass is shared out among worker processes
(vui.decode.parallel), each of which loads the LM once and only resets the weights between
points (pyctcdecode's reset_params).
"""
import json
import os

from tqdm.auto import tqdm

from vui import atomic
from vui.decode.decoders import DEFAULT_BEAM_WIDTH, BeamLMDecoder
from vui.decode.metrics import cer_wer
from vui.decode.parallel import DecodePool
from vui.watched import shows_progress

DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
DEFAULT_BETAS = (0.0, 1.0, 2.0, 3.0)


def tune_lm_weights(probs_list, references, lm_path, alphas=DEFAULT_ALPHAS, betas=DEFAULT_BETAS,
                    beam_width=DEFAULT_BEAM_WIDTH, progress=True, workers=None):
    """Decode every utterance at every (alpha, beta); return the best by WER (then CER).

    probs_list: per-utterance (time, 29) softmax outputs cut to their output lengths;
    references: their transcripts; workers: decoding processes (None: one per core, 0: this
    process only; the same transcripts either way). Returns a JSON-ready dict: alpha, beta,
    wer, cer, beam_width, lm_path, grid (a list of {alpha, beta, cer, wer}).
    """
    probs_list, references = list(probs_list), list(references)
    if len(probs_list) != len(references) or not probs_list:
        raise ValueError(f"tune_lm_weights needs one reference per utterance and at least one "
                         f"utterance: got {len(probs_list)} outputs, {len(references)} references")
    if not alphas or not betas:
        raise ValueError("tune_lm_weights: alphas and betas must each hold at least one value")
    decoder = BeamLMDecoder(lm_path, alpha=alphas[0], beta=betas[0], beam_width=beam_width)
    grid = []
    points = [(float(a), float(b)) for a in alphas for b in betas]
    try:
        with DecodePool(workers) as pool:
            for alpha, beta in tqdm(points, desc="alpha/beta grid", disable=not shows_progress(progress)):
                decoder.set_weights(alpha=alpha, beta=beta)
                hypotheses = pool.decode_all(decoder, probs_list)
                cer, wer = cer_wer(references, hypotheses)
                grid.append({"alpha": alpha, "beta": beta, "cer": cer, "wer": wer})
    finally:
        decoder.close()
    best = min(grid, key=lambda g: (g["wer"], g["cer"], g["alpha"], g["beta"]))
    return {**best, "beam_width": int(beam_width), "lm_path": os.fspath(lm_path), "grid": grid}



def edges_reached(tuning):
    """The tuned weights that lie on their grid's edge (the largest alpha or beta tried, or a
    smallest above 0): the best may lie beyond, so a caller says to widen that grid."""
    notes = []
    for key, option in (("alpha", "--alphas"), ("beta", "--betas")):
        tried = sorted({g[key] for g in tuning["grid"]})
        value = tuning[key]
        if len(tried) > 1 and (value == tried[-1] or (value == tried[0] and value > 0)):
            side = "largest" if value == tried[-1] else "smallest"
            notes.append(f"{key} {value:g} is the {side} tried ({option} to widen the grid)")
    return notes

def save_lm_weights(tuning, path):
    """Write the tuning result as JSON next to the model's results (e.g. results/NAME.lm.json)."""
    return atomic.write_text(path, json.dumps(tuning, indent=1))


def load_lm_weights(path):
    """The dict save_lm_weights wrote; raises a clear error for a file that is not one."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"LM weights file {path!r} not found; run tune_lm_weights first")
    with open(path, encoding="utf-8") as f:
        tuning = json.load(f)
    missing = [k for k in ("alpha", "beta", "lm_path") if k not in tuning]
    if missing:
        raise ValueError(f"{path}: not an LM weights file (missing {missing})")
    return tuning
