"""Atomic file writes: a temporary file in the target's folder, renamed over the target.

A killed run never leaves half a file behind (a truncated index, pickle or ARPA file would read
as different data); `os.replace` is atomic on POSIX file systems.
"""
import os
import tempfile
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path, data):
    """`data` at `path`, whole or not at all; the file gets the usual permissions (0644 under
    the common umask), not mkstemp's private 0600, like every other file a run writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return os.fspath(path)


def write_text(path, text):
    """UTF-8 text, written atomically; returns the path as a string."""
    return write_bytes(path, text.encode("utf-8"))


UNWRITABLE = "is not writable"
NOT_A_FOLDER = "is a file"


def folder_blocker(folder):
    """(the path that stops `folder` being made or written in, why) or None, checked before the
    work that writes there: the nearest path at or above `folder` that exists must be a folder
    this process may write in (why: NOT_A_FOLDER or UNWRITABLE)."""
    existing = Path(folder)
    while not existing.exists():          # the first that is there will hold the rest
        existing = existing.parent
    if not existing.is_dir():
        return existing, NOT_A_FOLDER
    if not os.access(existing, os.W_OK):
        return existing, UNWRITABLE
    return None

