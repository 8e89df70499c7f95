"""TensorFlow's start-up lines held to TF_CPP_MIN_LOG_LEVEL, including the ones it prints first.

TensorFlow 2.21 on a CPU where oneDNN is on by default (AVX512-VNNI, AMX) logs "oneDNN custom
operations are on" through absl from its libraries' static initialisers, while `import
tensorflow` loads them and before its own logging reads TF_CPP_MIN_LOG_LEVEL: the variable
silences every later line but not those (absl also announces that it is not initialised yet).
A command-line tool does not print its backend's start-up logs (docs/design.md, "Backends"), and
a notebook's first cell is no place for them either. TensorFlow offers no switch for them; Python's
`warnings` and `logging` never see them, since they are written to file descriptor 2 by C++.

`hold_startup_lines()` installs an import hook: the first `import tensorflow` runs with file
descriptor 2 piped through a filter in a child process (this file run as a script), which
passes every line on to the real stderr at once except absl's lines below TF_CPP_MIN_LOG_LEVEL
(the rule TensorFlow applies to its later lines) and the notice that goes with them. The child
outlives a crash of the import (absl's fatal line before abort(), an illegal instruction on an
old CPU), so even then nothing but those lines is lost.
"""
import contextlib
import importlib.abc
import os
import re
import subprocess
import sys
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
FILTER_EXIT_SECONDS = 5     # a process started during the import may hold the pipe open

_lock = threading.Lock()


def min_log_level(environ=None):
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it: 0 (everything) when unset or not a number."""
    text = (os.environ if environ is None else environ).get(LEVEL_VARIABLE, "0")
    try:
        return int(text)
    except ValueError:
        return 0


class LineFilter:
    """Which lines TF_CPP_MIN_LOG_LEVEL `level` lets through, one at a time: absl lines of a
    lower severity go, with the notice and continuation lines that belong to them; all else
    stays."""

    def __init__(self, level):
        self.level, self.dropping = level, False

    def keeps(self, line):
        match = ABSL_LINE.match(line)
        if match:
            self.dropping = SEVERITY[match.group(1)] < self.level
        elif line.rstrip("\n") == ABSL_NOTICE:
            self.dropping = self.level > 0
        elif not (self.dropping and CONTINUATION.match(line)):
            self.dropping = False
        return not self.dropping


def filter_stream(source, sink, level):
    """Copy `source`'s lines (bytes) to `sink` as they come, less those LineFilter drops."""
    line_filter = LineFilter(level)
    for raw in iter(source.readline, b""):
        if line_filter.keeps(raw.decode("utf-8", "replace")):
            sink.write(raw)
            sink.flush()


@contextlib.contextmanager
def stderr_filtered(level):
    """File descriptor 2 through filter_stream in a child process for the block."""
    with _lock:
        sys.stderr.flush()
        saved = os.dup(STDERR_FD)
        child = subprocess.Popen([sys.executable, "-I", "-S", __file__, str(level)],
                                 stdin=subprocess.PIPE, stdout=saved, stderr=saved)
        os.dup2(child.stdin.fileno(), STDERR_FD)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, STDERR_FD)
            os.close(saved)
            child.stdin.close()
            try:
                child.wait(FILTER_EXIT_SECONDS)    # every line out before anything after
            except subprocess.TimeoutExpired:
                pass                                # it goes on forwarding, then exits


class _HeldLoader(importlib.abc.Loader):
    """The module's own loader, its execution run under stderr_filtered; once it runs, the
    hook has done its work and leaves."""

    def __init__(self, loader, level):
        self.loader, self.level = loader, level

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        _unhook()
        module.__spec__.loader = module.__loader__ = self.loader   # as if loaded the usual way
        with stderr_filtered(self.level):
            self.loader.exec_module(module)


class _StartupHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of `import tensorflow` that the other finders
    find. It stays until that import runs, so a probe (importlib.util.find_spec) before it
    does not use it up."""

    def find_spec(self, name, path, target=None):
        if name != HOOKED_MODULE:
            return None
        spec = _find_without(self, name, path, target)
        level = min_log_level()
        if spec is None or level <= 0 or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HeldLoader(spec.loader, level)
        return spec


def _find_without(hook, name, path, target):
    for finder in list(sys.meta_path):
        if finder is hook or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(name, path, target)
        if spec is not None:
            return spec
    return None


def _unhook():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _StartupHook)]


def hold_startup_lines():
    """Hold TensorFlow's first import to TF_CPP_MIN_LOG_LEVEL (read then; unset: everything is
    printed, as TensorFlow would). Does nothing once TensorFlow is imported."""
    if HOOKED_MODULE in sys.modules:
        return
    _unhook()
    sys.meta_path.insert(0, _StartupHook())


if __name__ == "__main__":     # the filter's child process (stderr_filtered)
    filter_stream(sys.stdin.buffer, sys.stdout.buffer, int(sys.argv[1]))
