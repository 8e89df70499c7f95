"""vui.processes: the workers of every pool start without the caller's script, unless a job
needs a function defined there, and stop at once when their owner is interrupted (the
interrupt and the unguarded script are tested through the decoding pool, test_decoding.py)."""
import functools
import subprocess
import sys
from pathlib import Path

import pytest

from vui import processes

ROOT = Path(__file__).resolve().parents[1]
GUARDED_SCRIPT = r"""
import functools, sys
sys.path.insert(0, sys.argv[1])
from vui import processes
print(f"script imported as {__name__}", file=sys.stderr, flush=True)

def cube(x):
    return x ** 3

class Doubler:
    def __call__(self, x):
        return 2 * x

if __name__ == "__main__":
    own = [cube, functools.partial(cube), Doubler()]
    needs_main = sys.argv[2] == "own"
    assert processes.defined_in_main(*own) is True
    with processes.worker_pool(2, needs_main=needs_main) as pool:
        jobs = own if needs_main else [len, sum]
        print([pool.submit(f, [3] if not needs_main else 3).result() for f in jobs])
"""


@pytest.mark.parametrize("jobs, printed, imports", [("own", "[27, 27, 6]", True),
                                                    ("toolkit", "[1, 3]", False)])
def test_workers_import_a_guarded_script_only_for_its_own_functions(tmp_path, jobs, printed,
                                                                    imports):
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(ROOT), jobs], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [printed]
    assert ("script imported as __mp_main__" in done.stderr) is imports


def test_only_what_the_caller_defined_needs_its_script():
    assert not processes.defined_in_main(processes.terminate, functools.partial(print),
                                         processes.WorkerContext(), len)
