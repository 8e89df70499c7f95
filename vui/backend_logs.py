"""TensorFlow's start-up lines held to TF_CPP_MIN_LOG_LEVEL, including the ones it prints first.

TensorFlow 2.21 on a CPU where oneDNN is on by default (AVX512-VNNI, AMX) logs "oneDNN custom
operations are on" through absl from its libraries' static initialisers, while `import
tensorflow` loads them and before its own logging reads TF_CPP_MIN_LOG_LEVEL: the variable
silences every later line but not those (absl also announces that it is not initialised yet).
A command-line tool does not print its backend's start-up logs (docs/design.md, "Backends"), and
a notebook's first cell is no place for them either. TensorFlow offers no switch for them; Python's
`warnings` and `logging` never see them, since they are written to file descriptor 2 by C++.

`hold_startup_lines()` installs an import hook: the first `import tensorflow` runs with file
descriptor 2 pointed at a temporary file; afterwards every line in it is written back to the real
stderr except absl's lines below TF_CPP_MIN_LOG_LEVEL (the same rule TensorFlow applies to its
later lines) and the notice that goes with them. Nothing else written meanwhile (a Python
warning, another thread's error) is lost; it is only delayed until the import ends.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
import threading

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
HOOKED_MODULE = "tensorflow"
# absl's prefix: severity, MMDD hh:mm:ss.us (before its initialisation the seconds are the epoch's),
# thread, file:line: "I0000 00:00:1796699355.322466   13802 port.cc:153] "
ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ")
SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# cpu_feature_guard's INFO line goes on over a second line without absl's prefix
CONTINUATION = re.compile(r"^To enable the following instructions: .* rebuild TensorFlow")
STDERR_FD = 2

_lock = threading.Lock()


def min_log_level(environ=None):
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it: 0 (everything) when unset or not a number."""
    text = (os.environ if environ is None else environ).get(LEVEL_VARIABLE, "0")
    try:
        return int(text)
    except ValueError:
        return 0


def kept_lines(text, level):
    """The lines of `text` that TF_CPP_MIN_LOG_LEVEL `level` lets through: absl lines of a lower
    severity go, with the notice and continuation lines that belong to them; all else stays."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = ABSL_LINE.match(line)
        if match:
            dropping = SEVERITY[match.group(1)] < level
        elif line.rstrip("\n") == ABSL_NOTICE:
            dropping = level > 0
        elif not (dropping and CONTINUATION.match(line)):
            dropping = False
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def stderr_held(level):
    """File descriptor 2 into a temporary file for the block; then its kept lines to stderr."""
    with _lock, tempfile.TemporaryFile(mode="w+b") as held:
        sys.stderr.flush()
        saved = os.dup(STDERR_FD)
        os.dup2(held.fileno(), STDERR_FD)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, STDERR_FD)
            os.close(saved)
            held.seek(0)
            text = kept_lines(held.read().decode("utf-8", "replace"), level)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()


class _HeldLoader(importlib.abc.Loader):
    """The module's own loader, its execution run under stderr_held."""

    def __init__(self, loader, level):
        self.loader, self.level = loader, level

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = self.loader     # as if it had been loaded the usual way
        with stderr_held(self.level):
            self.loader.exec_module(module)


class _StartupHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of the first `import tensorflow`, then leaves."""

    def find_spec(self, name, path, target=None):
        if name != HOOKED_MODULE:
            return None
        _unhook()
        level = min_log_level()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or level <= 0:
            return spec
        spec.loader = _HeldLoader(spec.loader, level)
        return spec


def _unhook():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _StartupHook)]


def hold_startup_lines():
    """Hold TensorFlow's first import to TF_CPP_MIN_LOG_LEVEL (read then; unset: everything is
    printed, as TensorFlow would). Does nothing once TensorFlow is imported."""
    if HOOKED_MODULE in sys.modules:
        return
    _unhook()
    sys.meta_path.insert(0, _StartupHook())
