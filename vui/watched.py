"""Whether a person watches this process: progress bars are drawn only there.

A bar redrawn ten times a second into a log file or a pipe is noise (`vui corpus embedded > log
2>&1` wrote a carriage-return line per redraw), so every bar in vui asks `watched()` first: a
terminal, or a notebook's cell. tqdm's own `disable=None` asks only isatty(), which a Jupyter
cell's stream answers False, so it would hide the bars where people watch them most.
"""
import sys

NOTEBOOK_STREAM_PACKAGE = "ipykernel"    # its OutStream is what a cell's sys.stderr is


def watched(stream=None):
    """Whether `stream` (default sys.stderr) reaches a person: a terminal or a notebook cell."""
    stream = sys.stderr if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):       # no isatty, or a closed stream
        return False
    return type(stream).__module__.split(".")[0] == NOTEBOOK_STREAM_PACKAGE


def shows_progress(verbose=True):
    """Whether to draw a bar: asked for (`verbose`) and watched."""
    return bool(verbose) and watched()
