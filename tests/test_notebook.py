"""The experiment notebook runs top to bottom at smoke scale, headless, and shows its key outputs.

Executes notebooks/vui_notebook.ipynb with nbclient (kernel python3 = this interpreter: the
kernelspec runs `python`, so PATH starts with this interpreter's bin folder) with
VUI_NOTEBOOK_SCALE=smoke and the results in a temporary folder, so it never touches real results
or the committed notebook. Every cell must run without raising; the comparison plots, the CER/WER
table and the predictions must be in the outputs.
"""
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import sharing_the_machine

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "vui_notebook.ipynb"
CELL_TIMEOUT_S = 300
EXPECTED_PLOTS = ("model_0_1_rnn_td", "model_2_cnn", "model_3_deeper", "model_4_bidirectional",
                  "cnn_depth", "cnn_order_bn_relu_do", "cnn_dilations", "dense_cnn_vs_dense_rnn",
                  "dropout_rates", "gru_vs_lstm", "spectrogram_vs_mfcc", "final_model")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    results = tmp_path_factory.mktemp("notebook_results")
    env = {"VUI_NOTEBOOK_SCALE": "smoke", "VUI_NOTEBOOK_RESULTS": str(results),
           "VUI_NOTEBOOK_RETRAIN": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    unset = ("TF_CPP_MIN_LOG_LEVEL",)     # the notebook's own quiet default is under test
    saved = {k: os.environ.get(k) for k in (*env, *unset)}
    os.environ.update(env)
    for k in unset:
        os.environ.pop(k, None)
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        with sharing_the_machine(tmp_path_factory, queue=False):
            NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb, results / "smoke"


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == kind]


def _text(nb):
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", ""))
            parts.extend(str(v) for v in o.get("data", {}).values())
    return "\n".join(parts)


def test_no_cell_raised_and_every_code_cell_ran(executed):
    nb, _ = executed
    assert _outputs(nb, "error") == []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    # twenty models in one kernel: TensorFlow's false retracing alarm stays hushed
    assert "triggered tf.function retracing" not in _text(nb)
    # nor do TensorFlow's C++ start-up lines reach the page
    assert not re.search(r"oneDNN|absl::InitializeLog|port\.cc", _text(nb)), _text(nb)[:2000]


def test_comparison_plots_written_and_shown(executed):
    nb, results = executed
    for title in EXPECTED_PLOTS:
        png = results / f"{title}.png"
        assert png.exists() and png.stat().st_size > 10_000, png
    images = [o for o in _outputs(nb, "display_data") + _outputs(nb, "execute_result")
              if "image/png" in o.get("data", {})]
    # waveform + spectrogram + MFCC + one per comparison
    assert len(images) >= 3 + len(EXPECTED_PLOTS)


def test_cer_wer_table_lists_every_model(executed):
    nb, results = executed
    import pandas as pd
    table = pd.read_csv(results / "cer_wer_table.csv", index_col="model")
    assert len(table) >= 18     # smoke: 10 runs for Models 0-4, 7 for Models 5+, the final
    assert table["CER"].between(0, 10).all() and table["WER"].between(0, 10).all()
    assert any(name.endswith("Final") for name in table.index)
    assert any(name.startswith("MFCC(13) ") for name in table.index)   # the notebook asks for 13
    assert "CER" in _text(nb) and "WER" in _text(nb)


def test_predictions_printed_side_by_side(executed):
    nb, _ = executed
    text = _text(nb)
    assert "True transcription:" in text and "Predicted transcription:" in text
    assert text.count("TRUE:") >= 2 and "PRED SPEC:" in text and "PRED MFCC(13):" in text
