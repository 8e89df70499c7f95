"""Argparse types for numbers that must be positive, shared by every command's parser (the
corpus builders' in vui.data as much as vui.cli's), so a bad value is refused when the command
line is read, with the value, rather than after minutes of work."""
import argparse
import math

MAX_PORT = 65535


def positive_int(text):
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def count(text):
    """A whole number >= 0 (0: none of the thing, as in --decode-workers 0)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def as_float(value):
    """`value` as a float, or NaN when it is no number at all (text, None): every check below
    then refuses NaN, so one comparison covers both."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def positive_float(text):
    """A finite number > 0."""
    value = as_float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def finite_float(text):
    """Any finite number (NaN and infinities are no axis limit or setting)."""
    value = as_float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def port_number(text):
    """A TCP port, 0..65535 (0: the system picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"expected a port number 0..{MAX_PORT}, got {text!r}")
    return value
