"""vui.backend_logs: TensorFlow's first lines held to TF_CPP_MIN_LOG_LEVEL, nothing else lost.

TensorFlow 2.21 prints absl lines while `import tensorflow` loads its libraries, before it reads
TF_CPP_MIN_LOG_LEVEL (on CPUs where oneDNN is on by default). The hook is tested on a stand-in
package named tensorflow that writes such lines to file descriptor 2 as the C++ code does, so
the test does not depend on this machine's CPU; tests/test_serve.py checks the real one.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vui.backend_logs import ABSL_NOTICE, LineFilter, min_log_level

ROOT = Path(__file__).resolve().parents[1]
INFO = ("I0000 00:00:1796699355.322466   13802 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results.\n")
GUARD = ("I0000 00:00:1796699355.406665   13802 cpu_feature_guard.cc:227] This TensorFlow binary "
         "is optimized to use available CPU instructions in performance-critical operations.\n"
         "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
         "TensorFlow with the appropriate compiler flags.\n")
WARNING = "W0000 00:00:1796699355.5   13802 gpu_device.cc:2342] Cannot dlopen some GPU libraries.\n"
ERROR = "E0000 00:00:1796699355.6   13802 cuda_dnn.cc:8579] Unable to register cuDNN factory.\n"
OTHER = "/x/warn.py:3: UserWarning: something the user should see\n"
STARTUP = f"{ABSL_NOTICE}\n{INFO}{GUARD}{WARNING}{OTHER}{ERROR}"

STAND_IN = """
import os
os.write(2, {startup!r}.encode())
import sys
print("python's own stderr, during the import", file=sys.stderr)
if os.environ.get("CRASH"):
    os.write(2, b"F0000 00:00:1796699355.7   13802 port.cc:99] this CPU lacks AVX\\n")
    os.abort()
"""
USER = """
import importlib.util, sys
sys.path.insert(0, sys.argv[1])
from vui import backend_logs
backend_logs.hold_startup_lines()
assert importlib.util.find_spec("tensorflow") is not None   # a probe first, as the CLI's
import tensorflow
assert tensorflow.__loader__ is tensorflow.__spec__.loader
assert type(tensorflow.__loader__).__name__ == "SourceFileLoader"
print("after the import", file=sys.stderr)
"""
DURING = "python's own stderr, during the import\n"


def kept_lines(text, level):
    line_filter = LineFilter(level)
    return "".join(line for line in text.splitlines(keepends=True) if line_filter.keeps(line))


@pytest.mark.parametrize("level, expected", [
    (0, STARTUP),
    (1, f"{WARNING}{OTHER}{ERROR}"),
    (2, f"{OTHER}{ERROR}"),
    (3, OTHER),
])
def test_lines_below_the_level_go_with_their_notice_and_continuations(level, expected):
    assert kept_lines(STARTUP, level) == expected


def test_the_level_is_read_as_tensorflow_reads_it():
    assert [min_log_level(e) for e in ({}, {"TF_CPP_MIN_LOG_LEVEL": "2"},
                                       {"TF_CPP_MIN_LOG_LEVEL": "x"})] == [0, 2, 0]


def run_user_script(tmp_path, level, crash=False):
    package = tmp_path / "site" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(STAND_IN.format(startup=STARTUP))
    script = tmp_path / "user.py"
    script.write_text(USER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop("CRASH", None)
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    if crash:
        env["CRASH"] = "1"
    return subprocess.run([sys.executable, str(script), str(ROOT)], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("level", ["3", None])
def test_the_first_import_is_held_and_everything_else_comes_through(tmp_path, level):
    """After a find_spec probe (which must not use the hook up), the import's lines below the
    level go and the rest come through, in order; the module's loader is its own."""
    done = run_user_script(tmp_path, level)
    assert done.returncode == 0, done.stderr
    if level is None:       # unset: TensorFlow would print everything, and so does the hook
        assert done.stderr == f"{STARTUP}{DURING}after the import\n"
    else:
        assert done.stderr == f"{OTHER}{DURING}after the import\n"


def test_an_import_that_crashes_still_says_why(tmp_path):
    """absl's fatal line before abort() (or an illegal instruction) reaches the terminal: the
    filter is a child process, which outlives the crash."""
    done = run_user_script(tmp_path, "3", crash=True)
    assert done.returncode != 0
    assert done.stderr.startswith(f"{OTHER}{DURING}F0000 ") and "this CPU lacks AVX" in done.stderr
    assert "oneDNN" not in done.stderr
