"""Writes notebooks/vui_notebook.ipynb from the cells below, so the notebook is reviewable Python.

    python notebooks/build_notebook.py            # (re)write the notebook, without outputs
    python notebooks/build_notebook.py --patch    # rewrite only the markdown cells (observations,
                                                  # run times) of the executed notebook in place

The notebook follows the seed investigation (../../shared/seed/): the data, STEP 2 (Models 0-4),
Models 5+, the final model, STEP 3. Observations live in OBSERVATIONS and are written after a real
default-scale run, from its plots and table; `--patch` puts them into the executed notebook
without re-running it (code cells and outputs are left untouched).
"""
import argparse
from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parent / "vui_notebook.ipynb"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
PENDING = "_(written after the default-scale run)_"

# Wall-clock times of whole runs, measured (see the report of the run that produced the outputs).
RUN_TIMES = """
* **2-core CPU** (this run, 2026-12-08, nothing else running): 33 minutes (1,964 s) at the default
  scale: 26 comparison models in about 21 minutes (a 45 s training budget each, 90 s for the
  two-layer LSTMs, plus evaluation) and the final model in about 12 minutes (one 666 s epoch on the
  18,000-utterance training partition: the budget stops a run only between epochs). The smoke
  scale takes about 2 minutes. Add the embedded corpus's generation (5 minutes) if `data/embedded`
  is missing.
* **GPU**: not measured (no GPU was available to us). Every comparison model stops after 20 epochs
  or at its wall-clock budget, so a GPU run takes at most about as long as the CPU run, less where
  20 epochs fit in the budget; its models get more epochs, so its curves and table will differ
  from the ones below.
"""

# key -> markdown; each is the text of one "Observations" cell (tagged observations-<key>).
OBSERVATIONS = {
    "rnn_td": """
* Without the time-distributed dense layer all three cell types stall on the CTC plateau where the
  network outputs (almost) only blanks: validation loss 318-323 per utterance, CER 98-101%. Here the
  recurrent layer itself has the 29 output units (5.5k-22k parameters), which is very little model.
* With it (200 recurrent units, BN, ReLU, dropout, a per-frame dense layer) every cell type leaves
  the plateau within the same 45 s: best validation loss 85 (SimpleRNN), 113 (GRU), 106 (LSTM).
  Same conclusion as the seed: the dense layer is what makes these models learn.
* SimpleRNN did not explode: with Adam and clipnorm 5 its loss stayed finite (the seed warned of
  NaN losses with SimpleRNN under SGD). It is the cheapest cell per epoch (3.4 s against 6.0-6.4
  s), so in a fixed time budget it got the most epochs (12 against 6-7) and the lowest CER (71%);
  on a longer budget we expect GRU/LSTM to pass it.
""",
    "cnn": """
* The convolution helps, as in the seed: Model 2 reaches validation loss 67 in 8 epochs against
  106 for Model 1 in 7, and its greedy transcripts start to contain letters (CER 65% against
  100%). The stride 2 halves the LSTM's time steps, so an epoch costs a little less than Model 1's
  (5.2 s against 6.0 s) despite 2.3 times the parameters.
""",
    "deeper": """
* Per epoch, two LSTM layers learn faster than one (validation loss 85 against 106 after 7
  epochs), as the seed found, but each epoch costs twice as much (12.0 s against 6.0 s, so the
  two-layer model had twice the budget), and neither decodes to words yet (CER 95% and 100%). Per
  second of CPU time, the CNN of Model 2 (67 in 45 s) is the better investment at this scale.
""",
    "bidirectional": """
* Epoch for epoch, concat and sum beat the unidirectional two-layer Model 3 (at epoch 5: 91
  concat, 115 sum against 139), in line with the seed; mul does not (144).
* Among the merge modes, mul is clearly the worst (it also starts highest, 365 after one epoch),
  again as in the seed; concat leads sum (91 against 115 after 5 epochs) with more parameters
  (1.07M against 0.91M) at the same cost per epoch (16.5 and 16.8 s; mul 18.1 s).
* At equal wall-clock time the picture changes: in the same 90 s Model 3 fits 7 epochs and reaches
  85, and none of these runs has left the blank-output regime yet (CER 94-99%). Within this budget
  the seed's ranking holds per epoch, not per CPU second.
""",
    "cnn_depth": """
* Per epoch, three kernel-3 convolutions lead one a little (157 against 176 after 2 epochs, 143
  against 147 after 3); five do not (185 after 2). The seed found deeper stacks better.
* Per CPU second, the single layer wins: it fits 4 epochs into the budget against 3 (three layers)
  and 2 (five), reaching 91 (CER 80%) against 143 and 185 (CER 99% and 100%). The seed's optimum of 10-12
  layers appeared after 50-150 epochs on a GPU; a 45 s budget cannot show it, and we do not claim
  it either way.
""",
    "order": """
* Leaving out **batch norm** starts fastest (126 after the first epoch, against 196-287 for the
  others) but gains least afterwards (109 after 3 epochs); the seed's ranking of batch norm as
  important shows here only in that slower descent.
* Leaving out **dropout** costs nothing (106 after 3 epochs, the best of the four): the models do
  not overfit yet, so there is nothing for dropout to fix. The seed, whose runs were long enough
  to overfit, found dropout to matter more than batch norm.
* Order: the canonical "BN relu DO" (112) is ahead of the base's "relu DO BN" (143). The base run
  is the outlier of this notebook: the same architecture with other CNN dropout rates or orders
  ends at 106-114, so a gap of this size, with one 3-epoch run per configuration, is within how
  soon a run happens to leave the CTC plateau. Like the seed, we see no effect of the order we
  could defend.
""",
    "dilation": """
* Growing dilations (1, 2, 4) and the seed's inverse dilations (4, 2, 1) both end at 130 after 3
  epochs against 143 for the undilated base (CER 99-100% for all three). Against the base's
  outlying run (see the order comparison) that is no evidence for dilations; the seed found them
  no better than the plain stack on spectrograms.
""",
    "dense": """
* Dense CNN: `CNN_DENSE(80)x3` (290k parameters) is behind the plain 200-filter stack epoch for
  epoch (174 against 143 after 3 epochs); cheaper per epoch (9.4 s against 12.2 s), it fit a 4th
  and reached 130. As in the seed, dense connections in the CNN do not pay off.
* Dense RNN: three GRU layers with DenseNet-style connections reach 98 after 3 epochs (CER 91%)
  against 117 (CER 99%) for the same three layers stacked plainly, at about the same cost per
  epoch (11.3 s against 10.9 s). This agrees with the seed, whose best models used dense RNN
  connections, and it is why our final model uses them.
""",
    "dropout": """
* CNN dropout 0.1 and 0.35 reach 109 and 114 after 3 epochs, the base's 0.2 only 143; the seed
  found 0.25 best.
* But the training losses rank the same way (97 and 101 against 121), which 0.35's stronger
  dropout cannot explain: these differences come from how soon each run leaves the CTC
  plateau (the base is this notebook's outlier), not from dropout. Choosing a dropout rate needs
  runs long enough to overfit.
""",
    "gru_lstm": """
* LSTM and GRU cannot be told apart here: 115 against the GRU base's 143 after 3 epochs, a gap
  the base's outlying run explains. The LSTM has 11% more parameters (587k against 527k) and was
  not slower per epoch on this CPU (11.0 s against 12.2 s); the seed saw a 20% larger LSTM model
  train faster on cuDNN and overfit sooner, for about the same best loss: the same best loss is
  all our short runs could confirm.
""",
    "features": """
* With 13 MFCCs the same model is at 128 after 3 epochs against 143 on the spectrogram, and
  neither decodes letters yet (CER 100% and 99%). The seed found both features equally good after
  long training; one short run each cannot separate them (the spectrogram run is the base, this
  notebook's outlier).
""",
    "final": """
* The final model (1.9M parameters) trained on the whole 18,000-utterance training partition (11.2
  hours of audio): one epoch took 666 s, past its 300 s budget, which stops a run only between
  epochs. That one epoch gave validation loss 38 (the best comparison model: 67) and greedy CER
  34.9% / WER 80.9% on the validation subset, the only model here whose output reads as words.
* Its training loss (58, averaged over the epoch while it learnt) is still above its validation
  loss: it is far from converged and does not overfit. 36 times more data did more in one epoch
  than any architecture change did on the 500-utterance subset; a longer budget is the obvious
  next step (`final_time_limit`).
""",
    "predictions": """
* The final model's transcripts are phonetically close and fail mostly on spelling and word
  boundaries ("flipover the pork cop", "he n eve anyon wat tadomin an imorgency"), much like the
  seed's; validation speakers and sentences are never heard in training, and the validation lines
  are only a little worse than the training ones.
* The MFCC model prints nothing: after 3 epochs on 500 utterances it still emits blanks (CER
  100%). That is the honest level of the short comparison runs, unlike the seed's MFCC model,
  which had the final architecture and a full training run.
""",
    "table": """
* Only the final model decodes usable text (CER 34.9%); the comparison models sit between CER 65%
  and 101% with WER 95-100%: their loss curves separate long before their greedy transcripts do.
* CER mostly follows the best validation loss but not strictly (the bidirectional concat model and
  the one-layer CNN both reach 91, at CER 95% and 80%; the two-layer LSTM and the SimpleRNN both
  85, at 95% and 71%): a model's CER stays near 100% until it starts emitting characters at all.
  Compare the comparison models by their curves; the CER column matters once models train for
  longer.
""",
}


def md(text, tag=None):
    cell = nbformat.v4.new_markdown_cell(text.strip())
    if tag:
        cell.metadata["tags"] = [tag]
    return cell


def code(text, tag=None):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tag:
        cell.metadata["tags"] = [tag]
    return cell


def observations(key):
    return md(f"**Observations** (our runs, {{scale}} scale):\n\n{OBSERVATIONS[key]}",
              tag=f"observations-{key}")


INTRO = """
# vui: an end-to-end speech recogniser, investigated on the embedded corpus

This notebook rebuilds the seed investigation (Udacity's "VUI capstone" notebook, `../shared/seed/`)
on the vui toolkit (`import models as M, train_utils as T, data_generator as DG, utils as U`) and
runs it on the **embedded corpus**: English spoken by Debian's speech engines (espeak-ng, festival,
flite), 18,000 training / 400 validation / 400 test utterances, made by `vui demo` or
`vui corpus embedded` (the cell below makes it if it is missing).

* The data: one training example's waveform, spectrogram and MFCC, its transcript and an audio player.
* **STEP 2**: Models 0-4 (SimpleRNN / GRU / LSTM without and with a time-distributed dense layer,
  CNN + RNN, deeper RNN, bidirectional merge modes), trained and compared in plots.
* **Models 5+**: the seed's main investigations at a scale this machine can run (CNN depth; order of
  batch norm / ReLU / dropout; dilations and inverse dilations; dense CNN vs dense RNN; dropout
  rates; GRU vs LSTM; spectrogram vs MFCC), then a final model.
* **STEP 3**: predictions for training and validation examples side by side, and CER/WER of every
  model in one table.

**Scale.** `VUI_NOTEBOOK_SCALE=default` (this run) trains the many comparison models on a subset of
the corpus (see `SCALES` below) for a fixed number of epochs *and* a wall-clock limit per model;
`VUI_NOTEBOOK_SCALE=smoke` shrinks every experiment to a tiny espeak-ng corpus and one epoch (the
test suite runs the notebook that way: `tests/test_notebook.py`). Results go to
`results/notebook/<scale>/`; a model that already has finished results there is loaded, not
retrained (set `VUI_NOTEBOOK_RETRAIN=1` to train everything again).

**How long a full run takes.**
{run_times}

Run it from the repository root after `bash scripts/setup.sh`:
`.venv/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 notebooks/vui_notebook.ipynb`
"""

PARAMETERS = """
# Parameters (papermill can override these; the environment variables work everywhere).
import os
SCALE = os.environ.get("VUI_NOTEBOOK_SCALE", "default")           # "default" | "smoke"
RETRAIN = os.environ.get("VUI_NOTEBOOK_RETRAIN", "0") == "1"       # ignore finished results
RESULTS_ROOT = os.environ.get("VUI_NOTEBOOK_RESULTS", "results/notebook")
"""

SETUP = """
import json, sys, time
from dataclasses import dataclass
from pathlib import Path

# The toolkit's modules live at the repository root; the notebook lives in notebooks/.
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "models.py").exists())
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))
# TensorFlow's C++ start-up lines (oneDNN, CUDA registration) are not for this page; its errors
# still show. Set before the first import of Keras (a value you set yourself wins); the hook
# holds the lines TensorFlow prints before it reads the variable (docs/design.md, "Backends").
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from vui import backend_logs
backend_logs.hold_startup_lines()

import keras
import numpy as np
from IPython.display import Audio, Markdown, display
%matplotlib inline

import models as M
import train_utils as T
import utils as U
import data_generator as DG
from vui import results as R
from vui.data import tts_corpus, tts_engines

NOTEBOOK_START = time.perf_counter()
print("keras", keras.__version__, "backend", keras.backend.backend())
U.config_GPU()   # as the seed does: GPU memory growth, and CPU threads for few cores
"""

SCALE_CELL = """
@dataclass(frozen=True)
class Scale:
    \"\"\"How big every experiment is. time_limit: seconds of training per comparison model
    (training stops after the epoch that would overrun it); the final model trains on the whole
    training partition.\"\"\"
    n_train: int            # training utterances for the comparison models
    n_valid: int            # validation utterances (validation loss, CER/WER, predictions)
    epochs: int
    time_limit: float
    final_epochs: int
    final_time_limit: float
    minibatch_size: int
    n_predictions: int      # STEP 3: examples listed per partition
    max_variants: int = None  # per comparison, besides its reference model (None: all)

SCALES = {
    "smoke":   Scale(n_train=8, n_valid=4, epochs=1, time_limit=5, final_epochs=1,
                     final_time_limit=5, minibatch_size=4, n_predictions=2, max_variants=1),
    "default": Scale(n_train=500, n_valid=100, epochs=20, time_limit=45, final_epochs=40,
                     final_time_limit=300, minibatch_size=10, n_predictions=8),
}

def variants(items):
    \"\"\"The variants a comparison trains at this scale (smoke: only the first, so every cell
    still runs in seconds).\"\"\"
    items = list(items)
    return items if S.max_variants is None else items[:S.max_variants]

if SCALE not in SCALES:
    raise ValueError(f"VUI_NOTEBOOK_SCALE={SCALE!r}: expected one of {sorted(SCALES)}")
S = SCALES[SCALE]
RESULTS = Path(RESULTS_ROOT) / SCALE
RESULTS.mkdir(parents=True, exist_ok=True)
print(SCALE, S, "results in", RESULTS)
"""

CORPUS_CELL = """
def smoke_corpus(root=ROOT / ".cache" / "notebook_smoke"):
    \"\"\"A tiny embedded corpus spoken by espeak-ng only (the fastest engine): seconds to make.\"\"\"
    voices = [v for v in tts_engines.all_voices() if v.engine == "espeak-ng"]
    return tts_corpus.build_embedded_corpus(str(root), n_train=S.n_train, n_valid=S.n_valid,
                                            n_test=S.n_valid, seed=0, voices=voices,
                                            progress=False).root

def full_corpus(root=ROOT / "data" / "embedded"):
    \"\"\"The embedded corpus `vui demo` makes; built here if it is missing.\"\"\"
    if not (root / "train_corpus.json").exists():
        tts_corpus.build_embedded_corpus(str(root))
    return str(root)

def subset_index(index, n, out):
    \"\"\"The first n entries of a JSON-lines index (the embedded corpus interleaves speakers, so
    the first n already mix voices and engines).\"\"\"
    with open(index, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()][:n]
    if len(lines) < n:
        raise ValueError(f"{index} has {len(lines)} entries, the {SCALE} scale needs {n}")
    Path(out).write_text("".join(lines), encoding="utf-8")
    return str(out)

CORPUS = Path(smoke_corpus() if SCALE == "smoke" else full_corpus())
TRAIN_INDEX = subset_index(CORPUS / "train_corpus.json", S.n_train, RESULTS / "train_subset.json")
VALID_INDEX = subset_index(CORPUS / "valid_corpus.json", S.n_valid, RESULTS / "valid_subset.json")
FULL_TRAIN_INDEX = str(CORPUS / "train_corpus.json")
print("corpus", CORPUS, "| train subset", TRAIN_INDEX, "| validation subset", VALID_INDEX)
"""

GEN_CELL = """
_generators = {}

def get_gen(spectrogram=True, mfcc_dim=13, full=False, shuffle=True):
    \"\"\"One AudioGeneratorCached per feature kind and training set (the seed's init_gen_var):
    features are computed once, cached on disk, and normalised with training statistics.\"\"\"
    key = (spectrogram, mfcc_dim, full, shuffle)
    if key not in _generators:
        gen = DG.AudioGeneratorCached(spectrogram=spectrogram, mfcc_dim=mfcc_dim,
                                      minibatch_size=S.minibatch_size, shuffle_data=shuffle)
        gen.load_train_data(FULL_TRAIN_INDEX if full else TRAIN_INDEX)
        gen.load_validation_data(VALID_INDEX)
        _generators[key] = gen
    return _generators[key]

def adam():
    \"\"\"Adam with gradient clipping, a fresh one per model (Keras 3 optimizers are not shared).\"\"\"
    return keras.optimizers.Adam(1e-3, clipnorm=5)

def train_model(builder, spectrogram=True, mfcc_dim=13, full=False, epochs=None,
                time_limit=None, optimizer=adam, **kwargs):
    \"\"\"The seed's train_model cell: train (or load finished results) and return the run's name.\"\"\"
    return T.train_model(get_gen(spectrogram, mfcc_dim, full), builder,
                         epochs=epochs or S.epochs, minibatch_size=S.minibatch_size,
                         optimizer=optimizer, time_limit=time_limit or S.time_limit,
                         results_dir=RESULTS, retrain=RETRAIN, verbose=2, **kwargs)

def plot_comparison(model_names, title, **kwargs):
    \"\"\"Loss curves of the named runs (dashed: training, solid: validation), saved as
    results/notebook/<scale>/<title>.png. The y range leaves out the first epoch's spike.\"\"\"
    if "max_loss" not in kwargs:
        later = [v for n in model_names
                 for v in R.load_pickle(R.run_paths(n, RESULTS)[0])["val_loss"][1:]
                 if np.isfinite(v)]
        kwargs["max_loss"] = 1.1 * max(later) if later else None
    fig = T.plot_comparison(model_names=model_names, results_dir=RESULTS,
                            save_path=RESULTS / f"{title}.png", **kwargs)
    fig.axes[0].set_title(title)
    return T.comparison_table(model_names=model_names, results_dir=RESULTS)
"""

DATA_MD = """
## The data

`DG.vis_train_features` returns one training example: its transcript, the 16 kHz waveform, the
normalised MFCC and the normalised spectrogram, and its path.
"""

DATA_CELL = """
vis_text, vis_raw_audio, vis_mfcc_feature, vis_spectrogram_feature, vis_audio_path = \\
    DG.vis_train_features(index=0, mfcc_classes=13, desc_file=TRAIN_INDEX)
DG.plot_raw_audio(vis_raw_audio)
display(Markdown("**Shape of Audio Signal** : " + str(vis_raw_audio.shape)))
display(Markdown("**Transcript** : " + str(vis_text)))
Audio(vis_audio_path)
"""

STEP1_MD = """
## STEP 1: Acoustic features

The spectrogram: 161 frequency bins every 10 ms (20 ms windows), normalised with the training
partition's mean and standard deviation. The MFCC: 13 cepstral coefficients per 10 ms frame, far
fewer numbers per frame.
"""

SPEC_CELL = """
DG.plot_spectrogram_feature(vis_spectrogram_feature)
display(Markdown("**Shape of Spectrogram** : " + str(vis_spectrogram_feature.shape)))
"""

MFCC_CELL = """
DG.plot_mfcc_feature(vis_mfcc_feature)
display(Markdown("**Shape of MFCC** : " + str(vis_mfcc_feature.shape)))
"""

STEP2_MD = """
## STEP 2: Deep neural networks for acoustic modelling

Every model maps feature frames to a softmax over 28 characters plus the CTC blank, and trains
with the CTC loss. **Batches.** Minibatches of 10 utterances at the default scale (the seed: 20-32):
more updates per second of CPU time, which matters more than batch efficiency in short runs.
**Optimiser.** The seed trained with SGD (learning rate 0.02, Nesterov momentum
0.9, clipnorm 5: `T.seed_optimizer()`) for 20-150 epochs on a GPU. Our runs are short (a wall-clock
limit per model), and SGD barely moves the loss in a few epochs, so every comparison here uses
Adam (learning rate 1e-3, clipnorm 5): differences between architectures then show within the
budget. Conclusions about *speed of convergence* are therefore about Adam, not the seed's SGD.

Each `train_model(...)` cell trains a model, or loads it when finished results already exist under
`results/notebook/<scale>/`. The plots show the training (dashed) and validation (solid) CTC loss
per utterance; the table under each plot gives the best validation loss and the greedy-decoding
CER/WER on the validation subset.
"""

MODEL0_MD = """
### Models 0 and 1: SimpleRNN, GRU and LSTM, without and with a time-distributed dense layer

Model 0 is one recurrent layer whose 29 units *are* the output (`time_distributed_dense=False`);
Model 1 puts a 200-unit recurrent layer, batch norm, ReLU, dropout and a per-frame dense layer in
front of the softmax. We train both for each cell type.
"""

MODEL0_CELL = """
rnn_names = {}
for rnn_type in (M.RNNType.SimpleRNN, M.RNNType.GRU, M.RNNType.LSTM):
    rnn_names[rnn_type.name, "noTD"] = train_model(
        M.RNNModel(bd_merge=None, rnn_type=rnn_type, time_distributed_dense=False))
    rnn_names[rnn_type.name, "TD"] = train_model(M.RNNModel(bd_merge=None, rnn_type=rnn_type))
model_0, model_1 = rnn_names["SimpleRNN", "noTD"], rnn_names["LSTM", "TD"]
assert M.presets.model_0().describe() in model_0 and M.presets.model_1().describe() in model_1
"""

MODEL0_PLOT = """
plot_comparison(list(rnn_names.values()), "model_0_1_rnn_td")
"""

MODEL2_MD = """
### Model 2: CNN + RNN + time-distributed dense

A Conv1D layer (200 filters, kernel 11, stride 2) in front of the LSTM: it sees 11 frames at once
and halves the number of time steps the recurrent layer has to run.
"""

MODEL2_CELL = """
model_2 = train_model(M.presets.model_2())
plot_comparison([model_1, model_2], "model_2_cnn")
"""

MODEL3_MD = """
### Model 3: deeper RNN + time-distributed dense

Two stacked LSTM layers (batch norm, ReLU and dropout between them) against Model 1's one. The
two-layer models here and in Model 4 get twice the time budget (each epoch costs about twice as
much).
"""

MODEL3_CELL = """
model_3 = train_model(M.presets.model_3(), time_limit=2 * S.time_limit)   # 2 layers: twice the time
plot_comparison([model_1, model_3], "model_3_deeper")
"""

MODEL4_MD = """
### Model 4: bidirectional RNN + time-distributed dense

The first of two LSTM layers is bidirectional. The seed compared the four ways of merging the
forward and backward outputs (concat, sum, ave, mul) against the unidirectional two-layer model
and found mul worst, the other three alike; we train concat, sum and mul (ave is sum halved
before a batch norm, and the budget is short).
"""

MODEL4_CELL = """
model_4 = train_model(M.presets.model_4(), time_limit=2 * S.time_limit)   # BD(concat)
bd_names = [train_model(M.RNNModel(bd_merge=merge, rnn_type=M.RNNType.LSTM, rnn_layers=2),
                        time_limit=2 * S.time_limit)
            for merge in variants([M.BidirectionalMerge.sum, M.BidirectionalMerge.mul])]
plot_comparison([model_3, model_4, *bd_names], "model_4_bidirectional")
"""

MODELS5_MD = """
## Models 5+

The seed's investigations, scaled down. The common base is the seed's own: a convolutional front
end, one bidirectional GRU layer, batch norm / ReLU / dropout and the time-distributed dense layer.
To keep dozens of runs within a CPU budget the GRU has 100 units (the seed: 200) and the CNN
stacks are 1-5 layers deep (the seed: up to 16). Stacks of stride-1 kernels of 3 frames follow the
seed's deep-CNN runs; `same` padding keeps the frame count, so the recurrent layer runs at 100
frames per second.
"""

BASE_CELL = """
def cnn(**kwargs):
    \"\"\"The seed's deep-CNN front end: 200 filters, kernel 3, stride 1, 'same' padding,
    relu DO(0.2) BN after each convolution; keyword arguments override.\"\"\"
    options = dict(filters=200, kernel_size=3, conv_stride=1, conv_border_mode="same",
                   cnn_layers=3, cnn_dropout_rate=0.2)
    return M.CNNConfig(**{**options, **kwargs})

def cnn_gru(cnn_config, **kwargs):
    \"\"\"CNN + BD(concat) GRU(100 x1) + BN relu DO(0.2) + TD(D) (the seed's Models 5+ base).\"\"\"
    options = dict(cnn_config=cnn_config, rnn_type=M.RNNType.GRU, rnn_units=100, rnn_layers=1,
                   bd_merge=M.BidirectionalMerge.concat)
    return M.RNNModel(**{**options, **kwargs})

base = train_model(cnn_gru(cnn()))
"""

DEPTH_MD = """
### CNN depth

Stacks of 1, 3 (the base) and 5 stride-1 convolutions with kernel 3 (the seed went up to 16 and
found 10-12 best with one recurrent layer).
"""

DEPTH_CELL = """
depth_names = [base] + [train_model(cnn_gru(cnn(cnn_layers=n))) for n in variants((1, 5))]
plot_comparison(depth_names, "cnn_depth")
"""

ORDER_MD = """
### Order of batch norm, ReLU and dropout in the CNN

The seed found that the order hardly matters once both dropout and batch norm are present, and
that leaving dropout out hurts more than leaving batch norm out. The base's "relu DO BN" (the
seed's preferred order), the canonical "BN relu DO", and the block without dropout and without
batch norm.
"""

ORDER_CELL = """
orders = {  # the base is "relu DO BN" (activation first, dropout before batch norm)
    "BN relu DO": dict(cnn_activation_before_bn_do=False, cnn_do_bn_order=False),
    "relu BN (no DO)": dict(cnn_dropout_rate=0.0),
    "relu DO (no BN)": dict(cnn_bn=False),
}
order_names = [base] + [train_model(cnn_gru(cnn(**opts))) for opts in variants(orders.values())]
plot_comparison(order_names, "cnn_order_bn_relu_do")
"""

DILATION_MD = """
### Dilations and inverse dilations

Three kernel-3 layers with dilations 1, 2, 4 (`dilation=2`, as in WaveNet) and the seed's
"inverse" dilations 4, 2, 1 (`dilation=-2`), against the undilated stack.
"""

DILATION_CELL = """
dilation_names = [base] + [train_model(cnn_gru(cnn(dilation=d))) for d in variants((2, -2))]
plot_comparison(dilation_names, "cnn_dilations")
"""

DENSE_MD = """
### Dense CNN vs dense RNN

DenseNet-style connections: in `CNN_DENSE` every convolution sees the CNN input and all earlier
convolution outputs (narrower layers, 80 filters, as in the seed); in `GRU_DENSE` every recurrent
layer sees the input and all earlier recurrent outputs (the seed's final model). The dense RNN is
compared with the same three GRU layers stacked plainly, on one stride-2 convolution.
"""

DENSE_CELL = """
stride2 = M.CNNConfig(kernel_size=11, conv_stride=2, conv_border_mode="same")
dense_builders = [cnn_gru(cnn(filters=80, cnn_dense=True)),
                  cnn_gru(stride2, rnn_layers=3, rnn_dense=True),
                  cnn_gru(stride2, rnn_layers=3)]
dense_names = [base] + [train_model(b) for b in variants(dense_builders)]
plot_comparison(dense_names, "dense_cnn_vs_dense_rnn")
"""

DROPOUT_MD = """
### Dropout rates

CNN dropout 0.1, 0.2 (base) and 0.35; the seed found 0.25 best for its CNN layers.
"""

DROPOUT_CELL = """
dropout_names = [base] + [train_model(cnn_gru(cnn(cnn_dropout_rate=r)))
                          for r in variants((0.1, 0.35))]
plot_comparison(dropout_names, "dropout_rates")
"""

GRU_LSTM_MD = """
### GRU vs LSTM

The base model with LSTM cells instead of GRU cells (the seed: LSTM has more parameters, trains
faster per epoch and overfits sooner, for about the same best validation loss).
"""

GRU_LSTM_CELL = """
gru_lstm_names = [base, train_model(cnn_gru(cnn(), rnn_type=M.RNNType.LSTM))]
plot_comparison(gru_lstm_names, "gru_vs_lstm")
"""

FEATURES_MD = """
### Spectrogram vs MFCC

The same base model on 13 MFCCs instead of the 161-bin spectrogram (the seed: no difference).
"""

FEATURES_CELL = """
base_mfcc = train_model(cnn_gru(cnn()), spectrogram=False)
plot_comparison([base, base_mfcc], "spectrogram_vs_mfcc")
"""

FINAL_MD = """
## The final model

A scaled-down version of the seed's final model (12 convolutions, a bidirectional GRU and three
dense-connected GRU layers of 250 units, 4.7M parameters; too slow for this CPU): one stride-2
convolution, a bidirectional GRU and two more GRU layers of 200 units with dense (DenseNet-style)
connections, BN relu DO before the dense layer. Unlike the comparison models it trains on the
whole training partition, with a longer time budget.
"""

FINAL_CELL = """
final_builder = M.RNNModel(
    cnn_config=M.CNNConfig(filters=200, kernel_size=11, conv_stride=2, conv_border_mode="same",
                           cnn_dropout_rate=0.1),
    rnn_type=M.RNNType.GRU, rnn_units=200, rnn_layers=3, bd_merge=M.BidirectionalMerge.concat,
    rnn_dense=True, rnn_dropout_rate=0.1, dropout_rate=0.2, activation_before_bn_do=False,
    name_suffix="Final")
final = train_model(final_builder, full=True, epochs=S.final_epochs,
                    time_limit=S.final_time_limit)
plot_comparison([base, final], "final_model")
"""

STEP3_MD = """
## STEP 3: Predictions

Greedy CTC decoding of the final model (spectrogram) and of the base model on MFCC, for the first
training and validation examples, side by side as in the seed.
"""

STEP3_LOAD = """
def get_predictions(model, spectrogram, partition, index, full=False, **kwargs):
    return T.get_predictions(get_gen(spectrogram, full=full), model, partition, index, **kwargs)

model_spec = T.load_model(get_gen(True, full=True), final_builder, results_dir=RESULTS)
model_mfcc = T.load_model(get_gen(False), cnn_gru(cnn()), results_dir=RESULTS)
Audio(get_predictions(model_spec, True, "train", 0, full=True))
"""

STEP3_VALID = """
Audio(get_predictions(model_spec, True, "validation", 0, full=True))
"""

STEP3_LIST = """
def print_predictions(number):
    for partition in ("train", "validation"):
        print("*" * 25, f"  FINAL (SPEC) & BASE (MFCC)  -  {partition}  ", "*" * 25, "\\n")
        for i in range(min(number, len(get_gen(False).partition_data(partition)[0]))):
            get_predictions(model_spec, True, partition, i, full=True, print_line=False)
            get_predictions(model_mfcc, False, partition, i, omit_true=True)
        print()

print_predictions(S.n_predictions)
"""

TABLE_MD = """
## CER and WER of every model

Greedy decoding on the validation subset (the same utterances for every model). Comparison models
trained on the training subset for a few epochs; the final model on the whole training partition.
"""

TABLE_CELL = """
import pandas as pd
pd.set_option("display.max_colwidth", 120)
table = T.comparison_table(results_dir=RESULTS).sort_values("CER")
table.to_csv(RESULTS / "cer_wer_table.csv")
display(table[["epochs", "best val loss", "CER", "WER", "params", "s/epoch"]]
        .style.format({"CER": "{:.1%}", "WER": "{:.1%}", "best val loss": "{:.1f}"}))
print(f"notebook run time: {time.perf_counter() - NOTEBOOK_START:.0f} s ({SCALE} scale)")
"""


def cells():
    return [
        md(INTRO.format(run_times=RUN_TIMES), tag="intro"),
        code(PARAMETERS, tag="parameters"),
        code(SETUP), code(SCALE_CELL), code(CORPUS_CELL), code(GEN_CELL),
        md(DATA_MD), code(DATA_CELL),
        md(STEP1_MD), code(SPEC_CELL), code(MFCC_CELL),
        md(STEP2_MD),
        md(MODEL0_MD), code(MODEL0_CELL), code(MODEL0_PLOT), observations("rnn_td"),
        md(MODEL2_MD), code(MODEL2_CELL), observations("cnn"),
        md(MODEL3_MD), code(MODEL3_CELL), observations("deeper"),
        md(MODEL4_MD), code(MODEL4_CELL), observations("bidirectional"),
        md(MODELS5_MD), code(BASE_CELL),
        md(DEPTH_MD), code(DEPTH_CELL), observations("cnn_depth"),
        md(ORDER_MD), code(ORDER_CELL), observations("order"),
        md(DILATION_MD), code(DILATION_CELL), observations("dilation"),
        md(DENSE_MD), code(DENSE_CELL), observations("dense"),
        md(DROPOUT_MD), code(DROPOUT_CELL), observations("dropout"),
        md(GRU_LSTM_MD), code(GRU_LSTM_CELL), observations("gru_lstm"),
        md(FEATURES_MD), code(FEATURES_CELL), observations("features"),
        md(FINAL_MD), code(FINAL_CELL), observations("final"),
        md(STEP3_MD), code(STEP3_LOAD), code(STEP3_VALID), code(STEP3_LIST),
        observations("predictions"),
        md(TABLE_MD), code(TABLE_CELL), observations("table"),
    ]


def build():
    nb = nbformat.v4.new_notebook(cells=cells())
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _fill_scale(text, scale):
    return text.replace("{scale}", scale)


def patch(path=NOTEBOOK, scale="default"):
    """Replace every markdown cell of an executed notebook by the current text, leaving the code
    cells and their outputs alone. Refuses when the code cells differ from the current ones (the
    outputs would then not be those of the code shown)."""
    executed = nbformat.read(path, as_version=4)
    fresh = cells()
    kinds = [(c.cell_type, c.source if c.cell_type == "code" else None) for c in fresh]
    if kinds != [(c.cell_type, c.source if c.cell_type == "code" else None)
                 for c in executed.cells]:
        raise ValueError(f"{path}: its code cells differ from build_notebook.py's; re-run the "
                         "notebook instead of patching its markdown")
    for cell, new in zip(executed.cells, fresh):
        if cell.cell_type == "markdown":
            cell.source = _fill_scale(new.source, scale)
            cell.metadata = new.metadata
    nbformat.write(executed, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", action="store_true",
                        help="update only the markdown cells of the executed notebook")
    parser.add_argument("--out", default=str(NOTEBOOK))
    args = parser.parse_args(argv)
    if args.patch:
        patch(args.out)
    else:
        nb = build()
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _fill_scale(cell.source, "default")
        nbformat.validate(nb)
        nbformat.write(nb, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
