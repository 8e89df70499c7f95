"""TensorFlow's CPU thread counts: chosen for few cores, never over a user's own setting."""
import os
import subprocess
import sys
from pathlib import Path

from vui import cpu_threads as C

ROOT = Path(__file__).resolve().parents[1]


def test_few_cores_get_one_intra_op_thread_and_one_inter_op_thread_per_core():
    environ = {}
    assert C.configure(environ, cores=2) == (2, 1)
    assert environ == {C.INTER_OP_VARIABLE: "2", C.INTRA_OP_VARIABLE: "1"}


def test_many_cores_keep_tensorflows_defaults():
    environ = {}
    assert C.configure(environ, cores=C.FEW_CORES + 1) is None
    assert environ == {}


def test_a_users_own_setting_wins():
    for variable in (C.INTER_OP_VARIABLE, C.INTRA_OP_VARIABLE):
        environ = {variable: "3"}
        assert C.configure(environ, cores=2) is None
        assert environ == {variable: "3"}


def test_the_opt_out_keeps_tensorflows_defaults():
    environ = {C.DISABLE_VARIABLE: "1"}
    assert C.configure(environ, cores=2) is None
    assert environ == {C.DISABLE_VARIABLE: "1"}


def _run(code):
    env = {k: v for k, v in os.environ.items()
           if k not in (C.INTER_OP_VARIABLE, C.INTRA_OP_VARIABLE, C.DISABLE_VARIABLE)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True).stdout.split()


def test_importing_the_toolkit_changes_no_thread_setting_and_config_gpu_sets_them():
    # One process for both (each start imports TensorFlow: about 7 s of a busy suite's time).
    out = _run("import os, models, train_utils, data_generator, vui.cli.main, utils as U; "
               "from vui import cpu_threads as C; "
               "print('after-import', os.environ.get(C.INTRA_OP_VARIABLE)); "
               "U.config_GPU(allow_growth=True); "
               "print('after-config-gpu', os.environ.get(C.INTRA_OP_VARIABLE))")
    assert out[out.index("after-import") + 1] == "None"
    expected = C.chosen_threads(C.usable_cores())
    assert out[out.index("after-config-gpu") + 1] == \
        ("None" if expected is None else str(expected[1]))
