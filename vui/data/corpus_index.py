"""JSON-lines corpus indexes: one utterance a line with `key` (audio path), `duration`, `text`.

This is the seed's `train_corpus.json` format. Extra fields (the embedded corpus adds
`engine`, `voice`, `family`, `variant`, `speaker`) are kept as they are, so one reader serves
LibriSpeech and the embedded corpus alike. Indexes are written atomically (temp file + rename)
so an interrupted build never leaves a half-written index that a later training run would trust.
"""
import json
import math
import os
from dataclasses import dataclass, field

import soundfile as sf

from vui import atomic

REQUIRED_FIELDS = ("key", "duration", "text")
DEFAULT_MAX_DURATION = 10.0   # seconds; the seed's AudioGenerator default
# A corpus folder's indexes, one per partition (the seed's names; holdout: held-out voices).
INDEX_FILES = {"train": "train_corpus.json", "valid": "valid_corpus.json",
               "test": "test_corpus.json", "holdout": "holdout_corpus.json"}
PARTITION_ALIASES = {"validation": "valid"}


def index_path(corpus_root, partition):
    """The index of `partition` ("train", "valid" or "validation", "test", "holdout") in a
    corpus folder."""
    part = PARTITION_ALIASES.get(partition, partition)
    if part not in INDEX_FILES:
        raise ValueError(f"unknown partition {partition!r}; expected one of "
                         f"{', '.join([*INDEX_FILES, *PARTITION_ALIASES])}")
    return os.path.join(os.fspath(corpus_root), INDEX_FILES[part])


class MissingIndexError(FileNotFoundError):
    """A corpus folder without the index of a partition asked for."""


class CorpusIndexError(ValueError):
    """An index file or entry that cannot be used (names the file, line and what was expected)."""


@dataclass
class IndexReport:
    """What a build kept, dropped for length, and skipped as broken; printed at the end."""
    kept: int = 0
    kept_seconds: float = 0.0
    too_long: int = 0
    too_long_seconds: float = 0.0
    skipped: list = field(default_factory=list)   # (path, reason) pairs

    def skip(self, path, reason):
        self.skipped.append((str(path), str(reason)))

    def summary(self, max_duration=None):
        lines = [f"kept {self.kept} utterances ({self.kept_seconds / 3600:.2f} h)"]
        if max_duration is not None:
            lines.append(f"dropped {self.too_long} clips over {max_duration:g} s "
                         f"({self.too_long_seconds / 3600:.2f} h)")
        if self.skipped:
            lines += self._skipped_lines()
        return "\n".join(lines)

    def _skipped_lines(self):
        return [f"skipped {len(self.skipped)} bad files:",
                *(f"  {path}: {reason}" for path, reason in self.skipped)]


def validate_entry(entry, where="entry"):
    """Raise CorpusIndexError unless `entry` has a non-empty key and text and a positive duration."""
    if not isinstance(entry, dict):
        raise CorpusIndexError(f"{where}: expected a JSON object, got {type(entry).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in entry]
    if missing:
        raise CorpusIndexError(f"{where}: missing field(s) {missing}; every line needs "
                               f"{list(REQUIRED_FIELDS)}")
    if not isinstance(entry["key"], str) or not entry["key"]:
        raise CorpusIndexError(f"{where}: 'key' must be a non-empty audio path, "
                               f"got {entry['key']!r}")
    duration = entry["duration"]
    if (isinstance(duration, bool) or not isinstance(duration, (int, float))
            or not math.isfinite(duration) or duration <= 0):
        raise CorpusIndexError(f"{where}: 'duration' must be a positive number of seconds, "
                               f"got {duration!r}")
    if not isinstance(entry["text"], str) or not entry["text"].strip():
        raise CorpusIndexError(f"{where}: 'text' must be a non-empty transcript, "
                               f"got {entry['text']!r}")
    return entry


def write_index(path, entries):
    """Validate every entry, then write JSON lines atomically; returns the number written."""
    entries = [validate_entry(e, f"entry {i} for {path}") for i, e in enumerate(entries)]
    atomic.write_text(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    return len(entries)


def undecodable_at(raw, err):
    """Where in `raw` a decode error is: the codec counts after a byte-order mark it dropped."""
    return err.start + len(raw) - len(err.object)


def _index_lines(path):
    """(where, raw line, entry or the ValueError that rejects it) for each non-blank line.

    Relative keys are resolved against the index's folder."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CorpusIndexError(f"corpus index {path!r} is a folder; expected its JSON-lines "
                               f"file, e.g. {os.path.join(path, 'train_corpus.json')}")
    if not os.path.isfile(path):
        raise CorpusIndexError(f"corpus index {path!r} does not exist; expected a JSON-lines file "
                               f"with one {list(REQUIRED_FIELDS)} object a line (build one with "
                               f"`vui corpus embedded` / python -m vui.data.tts_corpus, or `vui corpus librispeech`)")
    base = os.path.dirname(os.path.abspath(path))
    with open(path, "rb") as lines:            # decoded line by line: one bad byte, one line
        for number, raw in enumerate(lines, start=1):
            where = f"{path}, line {number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                yield where, raw.decode("utf-8", "replace"), CorpusIndexError(
                    f"{where}: not UTF-8 (byte 0x{raw[undecodable_at(raw, err)]:02x} at "
                    f"column {undecodable_at(raw, err) + 1}); expected UTF-8 JSON lines")
                continue
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                yield where, line, CorpusIndexError(
                    f"{where}: not valid JSON ({err.msg}); expected one object per line with "
                    f"{list(REQUIRED_FIELDS)}")
                continue
            try:
                validate_entry(entry, where)
            except ValueError as err:
                yield where, line, err
                continue
            if not os.path.isabs(entry["key"]):
                entry["key"] = os.path.normpath(os.path.join(base, entry["key"]))
            yield where, line, entry


def read_index(path, max_duration=None):
    """Read and validate an index; relative keys are resolved against the index's folder.

    Lines over `max_duration` seconds are left out (None keeps all). Blank lines are allowed;
    anything else that is not a valid entry raises CorpusIndexError naming the file and line.
    """
    entries = []
    for _, _, entry in _index_lines(path):
        if isinstance(entry, Exception):
            raise entry
        if max_duration is None or entry["duration"] <= max_duration:
            entries.append(entry)
    return entries


def read_index_lenient(path):
    """(entries, [(audio path or line, reason)]): every valid entry, and each bad line reported.

    Loading a partition must keep every good utterance, so bad lines are collected instead of
    stopping the read (read_index stops at the first)."""
    entries, bad = [], []
    for where, line, entry in _index_lines(path):
        if isinstance(entry, Exception):
            key, reason = _key_of(line), str(entry)
            if key is None:              # the line is its own label: say where only once
                key, reason = where, reason.removeprefix(f"{where}: ")
            bad.append((key, reason))
        else:
            entries.append(entry)
    if not entries and not bad:
        raise CorpusIndexError(f"corpus index {os.fspath(path)!r} is empty; expected one "
                               f"{list(REQUIRED_FIELDS)} object a line")
    return entries, bad


def _key_of(line):
    """The audio path of a rejected index line, if it has one, so reports name the file."""
    try:
        key = json.loads(line).get("key")
        return key if isinstance(key, str) and key else None
    except (ValueError, AttributeError):
        return None


def audio_duration(path):
    """Duration in seconds from the file header; raises ValueError naming the file.

    The header and the last frame are read, not the whole body: that keeps indexing 100 hours
    of LibriSpeech to seconds instead of minutes, and still catches a file cut short (a partial
    download or copy) whose header promises frames that are not there. Damage inside the body
    is caught later, when features are computed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"audio file {path!r} is a folder; expected an audio file")
    if not os.path.isfile(path):
        raise ValueError(f"audio file {path!r} does not exist")
    if os.path.getsize(path) == 0:
        raise ValueError(f"audio file {path!r} is empty (0 bytes)")
    try:
        info = sf.info(path)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError by version
        raise ValueError(f"audio file {path!r} is not readable audio ({err})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise ValueError(f"audio file {path!r} holds no samples")
    seconds = info.frames / info.samplerate
    try:
        with sf.SoundFile(path) as f:
            f.seek(info.frames - 1)
            complete = len(f.read(1)) == 1
    except Exception as err:  # libsndfile: "Internal psf_fseek() failed." for a cut FLAC
        complete, seconds_note = False, f" ({err})"
    else:
        seconds_note = ""
    if not complete:
        raise ValueError(f"audio file {path!r} is truncated or damaged: its header promises "
                         f"{seconds:.2f} s, but its last frame cannot be read{seconds_note}")
    return seconds
