"""Index a LibriSpeech subset folder (speaker/chapter/*.flac + *.trans.txt) into a corpus index.

FLAC is read directly by soundfile, so there is no conversion step (the seed's flac->wav script
is gone); a tree of a user's own recordings in this layout may hold WAV files instead. One bad
file never stops the build, and nothing is lost or changed silently: every
utterance that cannot be indexed exactly as written (a chapter without a transcript, a
transcript that is not UTF-8, a line without its audio, audio without a line, a broken FLAC,
text the alphabet cannot spell) is kept out of the index and named in the report, with the
transcript's line number where there is one. A label is never repaired, because a repaired
label is a wrong label the model is trained on without anyone knowing.
"""
import argparse
import os
import string
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from tqdm import tqdm

import char_map
from vui import atomic
from vui.argtypes import positive_float
from vui.data.corpus_index import (DEFAULT_MAX_DURATION, INDEX_FILES, IndexReport, audio_duration,
                                   undecodable_at, write_index)
from vui.watched import shows_progress

TRANSCRIPT_SUFFIX = ".trans.txt"
AUDIO_SUFFIX = ".flac"                   # LibriSpeech's own
AUDIO_SUFFIXES = (AUDIO_SUFFIX, ".wav")  # an utterance's audio: the first of these that exists
# Subset folder names (dev-clean, train-clean-100, ...): a folder holding training and
# evaluation subsets together is LibriSpeech's root, whose one index would mix them.
TRAINING_SUBSET_PREFIX = "train-"
EVALUATION_SUBSET_PREFIXES = ("dev-", "test-")
# "utf-8-sig": a byte-order mark is an encoding detail, not text, so dropping it alters nothing;
# strict decoding: any other byte that is not UTF-8 rejects the whole transcript.
TRANSCRIPT_ENCODING = "utf-8-sig"
SHOWN_PER_REASON = 5          # paths printed per reason in the summary; the report keeps them all

# Why an utterance (or a whole chapter) was kept out; the summary counts these.
REASON_NO_TRANSCRIPT = "chapter without a transcript"
REASON_NOT_UTF8 = "transcript not UTF-8"
REASON_UNREADABLE_TRANSCRIPT = "transcript unreadable"
REASON_MALFORMED_LINE = "malformed transcript line"
REASON_DUPLICATE_LINE = "duplicate transcript line"
REASON_OUTSIDE_ALPHABET = "characters outside the alphabet"
REASON_MISSING_AUDIO = "audio file missing"
REASON_UNREADABLE_AUDIO = "audio file unreadable"
REASON_UNLISTED_AUDIO = "audio without a transcript line"
REASON_SECOND_AUDIO = "a second audio file for one utterance"
REASON_OTHER = "other"

# Characters every LibriSpeech transcript is made of; anything else is looked at one by one.
_PLAIN_CHARACTERS = frozenset(string.ascii_letters + " '")


class NothingIndexedError(ValueError):
    """A build that kept no utterance at all: writing an empty index would hide the failure."""


@dataclass
class LibriSpeechReport(IndexReport):
    """IndexReport whose skipped entries also carry a reason kind, so the summary can count them.

    `skipped` stays the list of (path, message) pairs that IndexReport users read; `kinds[i]`
    is the REASON_* of `skipped[i]`."""
    kinds: list = field(default_factory=list)

    def skip(self, path, reason, kind=REASON_OTHER):
        super().skip(path, reason)
        self.kinds.append(kind)

    def counts(self):
        """{reason kind: number skipped}, in the order the kinds were first met."""
        return dict(Counter(self.kinds))

    def skipped_by_kind(self):
        """{reason kind: [(path, message), ...]} in the order they were met."""
        grouped = {}
        for kind, item in zip(self.kinds, self.skipped):
            grouped.setdefault(kind, []).append(item)
        return grouped

    def _skipped_lines(self):
        """Grouped by reason, a few of each shown: a LibriSpeech tree can have thousands."""
        lines = [f"skipped {len(self.skipped)} (kept out of the index, not altered; fix them "
                 "and index again to include them):"]
        for kind, items in self.skipped_by_kind().items():
            lines.append(f"  {len(items)} x {kind}:")
            lines += [f"    {path}: {reason}" for path, reason in items[:SHOWN_PER_REASON]]
            if len(items) > SHOWN_PER_REASON:
                lines.append(f"    ... and {len(items) - SHOWN_PER_REASON} more")
        return lines


def find_chapters(subset_dir):
    """[(folder, transcript names, audio names)] for each folder holding either, sorted.

    Folders are found by content, not by depth, so a chapter with audio and no transcript is
    found too (looking only for transcripts is how such chapters used to vanish)."""
    chapters = []
    for folder, subfolders, files in os.walk(subset_dir):
        subfolders.sort()
        transcripts = sorted(f for f in files if f.endswith(TRANSCRIPT_SUFFIX))
        audio = sorted(f for f in files if f.endswith(AUDIO_SUFFIXES))
        if transcripts or audio:
            chapters.append((folder, transcripts, audio))
    return sorted(chapters)


def parse_transcript_line(line):
    """'ID TEXT' -> (id, text); raises ValueError when either part is missing."""
    parts = line.strip().split(None, 1)          # a space, or a tab
    if len(parts) != 2 or not parts[1].strip():
        raise ValueError(f"expected 'UTTERANCE-ID TRANSCRIPT', got {line.strip()!r}")
    return parts[0], parts[1].strip()


def deleted_characters(text):
    """Characters that char_map.normalize_text would delete although they are neither
    punctuation nor spacing (symbols, control characters, U+FFFD from a bad decode).

    Normalisation turns punctuation into spaces, which is how LibriSpeech spells hyphens; but
    it deletes symbols too, so "CAF\\ufffd" (a mis-decoded "CAFE") would become the label
    "caf" with no error. Those characters are refused here, by name, instead."""
    return sorted(ch for ch in set(text) - _PLAIN_CHARACTERS
                  if not ch.isspace() and not unicodedata.category(ch).startswith("P")
                  and not char_map.normalize_text(ch))


def _describe_characters(chars):
    return ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in chars)


def _expected_transcript_name(folder):
    """speaker-chapter.trans.txt for a speaker/chapter folder, as LibriSpeech names it."""
    chapter = os.path.basename(os.path.normpath(folder))
    speaker = os.path.basename(os.path.dirname(os.path.normpath(folder)))
    return f"{speaker}-{chapter}{TRANSCRIPT_SUFFIX}"


def read_transcript_lines(path, n_audio, report):
    """[(line number, line)] of the non-blank lines, or None (reported) when the file cannot
    be read as UTF-8.

    Decoding is strict: a Latin-1 or Windows-1252 file used to be decoded with replacement
    characters that normalisation then deleted, so "CAFÉ" was indexed as "caf"."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        report.skip(path, f"cannot read this transcript ({err.strerror or err}); none of the "
                          f"{n_audio} audio files in its folder were indexed",
                    REASON_UNREADABLE_TRANSCRIPT)
        return None
    try:
        text = raw.decode(TRANSCRIPT_ENCODING)
    except UnicodeDecodeError as err:
        report.skip(path, _not_utf8_message(raw, err, n_audio), REASON_NOT_UTF8)
        return None
    return [(number, line) for number, line in enumerate(text.split("\n"), start=1)
            if line.strip()]


def _not_utf8_message(raw, err, n_audio):
    """Where the first undecodable byte is (line and column), and how to fix the file."""
    start = undecodable_at(raw, err)
    line = raw.count(b"\n", 0, start) + 1
    column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return (f"not UTF-8 text: byte 0x{raw[start]:02x} at line {line}, column {column} "
            f"cannot be decoded; expected a UTF-8 transcript (re-encode it, e.g. "
            f"`iconv -f latin1 -t utf-8`, and index again); none of its lines and none of the "
            f"{n_audio} audio files in its folder were indexed")


def _text_problem(text):
    """(REASON_*, message) when the alphabet cannot spell `text` as written, else None."""
    deleted = deleted_characters(text)
    if deleted:
        return REASON_OUTSIDE_ALPHABET, (
            f"transcript has characters outside the alphabet {char_map.ALPHABET!r} that "
            f"normalisation would delete: {_describe_characters(deleted)} (text: {text!r})")
    try:
        char_map.text_to_int_sequence(text)
    except ValueError as err:
        return REASON_OUTSIDE_ALPHABET, str(err)
    return None


def _audio_name(utt_id, audio):
    """The utterance's audio file among the folder's `audio` names: its .flac, else another
    AUDIO_SUFFIXES file; LibriSpeech's name (.flac) when there is none."""
    return next((utt_id + suffix for suffix in AUDIO_SUFFIXES if utt_id + suffix in audio),
                utt_id + AUDIO_SUFFIX)


def _line_entry(folder, trans, number, line, audio_name, report):
    """Index entry for one transcript line, or None (reason recorded, named by file and line)."""
    try:
        utt_id, text = parse_transcript_line(line)
    except ValueError as err:
        report.skip(f"{trans}:{number}", str(err), REASON_MALFORMED_LINE)
        return None
    where = f"{os.path.basename(trans)}:{number}"      # the audio is named with its folder
    audio_path = os.path.join(folder, audio_name)
    problem = _text_problem(text)
    if problem is not None:
        report.skip(audio_path, f"{where}: {problem[1]}", problem[0])
        return None
    if not os.path.isfile(audio_path):
        report.skip(audio_path, f"{where} names this audio file, but it does not exist (nor "
                                f"as {' or '.join(AUDIO_SUFFIXES[1:])})", REASON_MISSING_AUDIO)
        return None
    try:
        duration = audio_duration(audio_path)
    except ValueError as err:
        report.skip(audio_path, f"{where}: {err}", REASON_UNREADABLE_AUDIO)
        return None
    return {"key": os.path.abspath(audio_path), "duration": round(duration, 4),
            "text": char_map.normalize_text(text),
            "speaker": utt_id.split("-")[0]}     # LibriSpeech ids: speaker-chapter-utt


def _keep(entry, max_duration, report):
    """Count the entry as kept, or as too long (not an error: a length limit the user chose)."""
    if max_duration is not None and entry["duration"] > max_duration:
        report.too_long += 1
        report.too_long_seconds += entry["duration"]
        return False
    report.kept += 1
    report.kept_seconds += entry["duration"]
    return True


def _report_chapter_without_transcript(folder, audio, report):
    report.skip(folder, f"{len(audio)} audio files but no *{TRANSCRIPT_SUFFIX} "
                        f"(expected {_expected_transcript_name(folder)} in this folder); none "
                        f"of them were indexed", REASON_NO_TRANSCRIPT)


def _chapter_lines(folder, transcripts, audio, report):
    """([(transcript path, line number, line, audio name)], all transcripts read) for a folder."""
    lines, all_read, names = [], True, set(audio)
    for name in transcripts:
        trans = os.path.join(folder, name)
        read = read_transcript_lines(trans, len(audio), report)
        if read is None:
            all_read = False     # its audio is covered by the transcript's own report
            continue
        lines += [(trans, number, line, _audio_name(line.split()[0], names))
                  for number, line in read]
    return lines, all_read


def _drop_duplicates(lines, report):
    """The lines whose audio file no other line names; the others are all reported.

    Two lines for one recording cannot both be its label, and which one is right cannot be
    told, so neither is used (indexing both trained the model on two labels for one clip)."""
    where = {}
    for trans, number, _, audio_name in lines:
        where.setdefault(audio_name, []).append(f"{os.path.basename(trans)}:{number}")
    for trans, number, _, audio_name in lines:
        if len(where[audio_name]) > 1:
            here = f"{os.path.basename(trans)}:{number}"
            others = ", ".join(w for w in where[audio_name] if w != here)
            report.skip(f"{trans}:{number}", f"{audio_name} is also named at {others}; its "
                        f"label is ambiguous, so no line for it was used",
                        REASON_DUPLICATE_LINE)
    return [item for item in lines if len(where[item[3]]) == 1]


def chapter_entries(folder, transcripts, audio, max_duration, report):
    """Entries for one chapter folder; every utterance left out is recorded in `report`."""
    if not transcripts:
        _report_chapter_without_transcript(folder, audio, report)
        return []
    lines, all_read = _chapter_lines(folder, transcripts, audio, report)
    entries = []
    for trans, number, line, audio_name in _drop_duplicates(lines, report):
        entry = _line_entry(folder, trans, number, line, audio_name, report)
        if entry is not None and _keep(entry, max_duration, report):
            entries.append(entry)
    if all_read:       # each audio file a line names is reported, if at all, as that line
        _report_unlisted(folder, transcripts, audio, {name for *_, name in lines}, report)
    return entries


def _report_unlisted(folder, transcripts, audio, listed, report):
    """Report each audio file no transcript line took: one no line names, or a second file
    (another format) of an utterance whose first was taken."""
    taken = {os.path.splitext(name)[0]: name for name in listed}
    for name in audio:
        if name in listed:
            continue
        first = taken.get(os.path.splitext(name)[0])
        if first is not None:
            report.skip(os.path.join(folder, name), f"the same utterance as {first}, which "
                        "was indexed; this file was not", REASON_SECOND_AUDIO)
        else:
            report.skip(os.path.join(folder, name), f"no transcript line in "
                        f"{', '.join(transcripts)} names it", REASON_UNLISTED_AUDIO)


def collect_entries(subset_dir, max_duration=DEFAULT_MAX_DURATION, progress=True):
    """(entries, LibriSpeechReport) for every usable utterance in a subset folder."""
    if not os.path.isdir(subset_dir):
        raise FileNotFoundError(f"LibriSpeech subset folder {subset_dir!r} does not exist "
                                f"(expected e.g. LibriSpeech/dev-clean)")
    _check_one_kind_of_subset(subset_dir)
    chapters = find_chapters(subset_dir)
    if not chapters:
        raise FileNotFoundError(f"no *{TRANSCRIPT_SUFFIX} or *{AUDIO_SUFFIX} files under "
                                f"{subset_dir!r}; expected speaker/chapter/speaker-chapter"
                                f"{TRANSCRIPT_SUFFIX} beside speaker-chapter-utt{AUDIO_SUFFIX}")
    report, entries = LibriSpeechReport(), []
    for folder, transcripts, audio in tqdm(chapters, desc="indexing", unit="chapter",
                                           disable=not shows_progress(progress)):
        entries += chapter_entries(folder, transcripts, audio, max_duration, report)
    return entries, report


def _check_one_kind_of_subset(folder):
    """Refuse a folder whose subsets are for training and for evaluation both (LibriSpeech's
    root): one index of it would put dev and test utterances where the model trains."""
    subsets = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    training = [name for name in subsets if name.startswith(TRAINING_SUBSET_PREFIX)]
    evaluation = [name for name in subsets if name.startswith(EVALUATION_SUBSET_PREFIXES)]
    if training and evaluation:
        raise ValueError(
            f"{folder!r} holds training subsets ({', '.join(training)}) and evaluation subsets "
            f"({', '.join(evaluation)}); one index of them all would mix test utterances into "
            f"training. Index each subset on its own, e.g. "
            f"{os.path.join(folder, training[0])} -> train_corpus.json and "
            f"{os.path.join(folder, evaluation[0])} -> valid_corpus.json")


def _check_output_file(out_json):
    """The index path must name a file: a folder (existing, or written with a trailing
    slash) is the mistake of passing a corpus folder, as `--corpus` takes."""
    out = os.fspath(out_json)
    if os.path.isdir(out) or out.endswith(("/", os.sep)):
        raise ValueError(f"{out!r} is a folder; expected the index file to write, e.g. "
                         f"{os.path.join(out, 'train_corpus.json')}")
    blocker = atomic.folder_blocker(os.path.dirname(os.path.abspath(out)))
    if blocker is None:
        return
    folder, why = str(blocker[0]), blocker[1]
    if why == atomic.NOT_A_FOLDER:
        raise ValueError(f"cannot write {out!r}: {folder!r} is a file, not a folder")
    raise ValueError(f"cannot write {out!r}: no permission to write in {folder!r}")


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def index_librispeech(subset_dir, out_json, max_duration=DEFAULT_MAX_DURATION, progress=True):
    """Write the index for one subset folder; prints and returns the report.

    Raises NothingIndexedError (and writes nothing) when no utterance was kept: an empty index
    would only fail later, in training, far from the cause."""
    _check_output_file(out_json)
    entries, report = collect_entries(subset_dir, max_duration, progress)
    if not entries:
        print(f"{subset_dir}: " + report.summary(max_duration), file=sys.stderr)
        raise NothingIndexedError(
            f"no utterances indexed from {subset_dir!r} ({_count(len(report.skipped), 'problem')} "
            f"reported above, {_count(report.too_long, 'clip')} over the length limit); "
            f"{out_json!r} was not written")
    write_index(out_json, entries)
    print(f"{out_json}: " + report.summary(max_duration), file=sys.stderr)
    _note_evaluation_subset_for_training(subset_dir, out_json)
    return report


def _note_evaluation_subset_for_training(subset_dir, out_json):
    """A dev-* or test-* subset written as a training index is allowed (a quick experiment may
    want it) but said, since scoring the model on its own training speech flatters it."""
    subset = os.path.basename(os.path.normpath(os.fspath(subset_dir)))
    if (subset.startswith(EVALUATION_SUBSET_PREFIXES)
            and os.path.basename(os.fspath(out_json)) == INDEX_FILES["train"]):
        print(f"note: {subset} is a LibriSpeech evaluation subset, indexed here as training "
              "data; evaluate on speech the model did not train on (e.g. train-clean-100 -> "
              f"{INDEX_FILES['train']})", file=sys.stderr)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="vui corpus librispeech",
        description="Index a LibriSpeech subset folder (FLAC read directly; WAV too, for your "
                    "own recordings in this layout) into JSON lines with key/duration/text. "
                    "Transcripts are lower-cased and their punctuation becomes spaces, as the "
                    "alphabet has neither; utterances that cannot be indexed so (digits, other "
                    "symbols, missing or broken audio, ...) are left out and listed on stderr, "
                    "never altered.")
    parser.add_argument("subset_dir", help="e.g. LibriSpeech/dev-clean")
    parser.add_argument("out_json", help="index to write, e.g. train_corpus.json")
    parser.add_argument("--max-duration", type=positive_float, default=DEFAULT_MAX_DURATION,
                        help="drop clips longer than this many seconds (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    """Exit 0 when at least one utterance was indexed (skips are reported, not fatal), else 2."""
    args = build_parser().parse_args(argv)
    try:
        index_librispeech(args.subset_dir, args.out_json, args.max_duration,
                          progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
