"""Index a LibriSpeech subset folder (speaker/chapter/*.flac + *.trans.txt) into a corpus index.

FLAC is read directly by soundfile, so there is no conversion step (the seed's flac->wav script
is gone). One bad file never stops the build: it is skipped and named in the final report.
"""
import argparse
import os
import sys

from tqdm import tqdm

import char_map
from vui.data.corpus_index import DEFAULT_MAX_DURATION, IndexReport, audio_duration, write_index

TRANSCRIPT_SUFFIX = ".trans.txt"
AUDIO_SUFFIX = ".flac"


def find_transcripts(subset_dir):
    """All *.trans.txt files under `subset_dir`, sorted so indexes are reproducible."""
    found = []
    for folder, _, files in os.walk(subset_dir):
        found += [os.path.join(folder, f) for f in files if f.endswith(TRANSCRIPT_SUFFIX)]
    return sorted(found)


def parse_transcript_line(line):
    """'ID TEXT' -> (id, text); raises ValueError when either part is missing."""
    parts = line.strip().split(" ", 1)
    if len(parts) != 2 or not parts[1].strip():
        raise ValueError(f"expected 'UTTERANCE-ID TRANSCRIPT', got {line.strip()!r}")
    return parts[0], parts[1].strip()


def _entry(audio_path, text, report):
    """Index entry for one utterance, or None (reason recorded) when it cannot be used."""
    try:
        char_map.text_to_int_sequence(text, utterance=audio_path)
        duration = audio_duration(audio_path)
    except ValueError as err:
        report.skip(audio_path, err)
        return None
    return {"key": os.path.abspath(audio_path), "duration": round(duration, 4),
            "text": char_map.normalize_text(text)}


def collect_entries(subset_dir, max_duration=DEFAULT_MAX_DURATION, progress=True):
    """(entries, report) for every usable utterance in a subset folder."""
    if not os.path.isdir(subset_dir):
        raise FileNotFoundError(f"LibriSpeech subset folder {subset_dir!r} does not exist "
                                f"(expected e.g. LibriSpeech/dev-clean)")
    transcripts = find_transcripts(subset_dir)
    if not transcripts:
        raise FileNotFoundError(f"no *{TRANSCRIPT_SUFFIX} files under {subset_dir!r}; expected "
                                f"speaker/chapter/speaker-chapter{TRANSCRIPT_SUFFIX}")
    report, entries = IndexReport(), []
    for trans in tqdm(transcripts, desc="indexing", unit="chapter", disable=not progress):
        chapter_dir = os.path.dirname(trans)
        listed = set()
        with open(trans, encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                listed.add(line.split()[0] + AUDIO_SUFFIX)   # reported once, as this line
                try:
                    utt_id, text = parse_transcript_line(line)
                except ValueError as err:
                    report.skip(f"{trans}:{number}", err)
                    continue
                entry = _entry(os.path.join(chapter_dir, utt_id + AUDIO_SUFFIX), text, report)
                if entry is None:
                    continue
                entry["speaker"] = utt_id.split("-")[0]     # LibriSpeech ids: speaker-chapter-utt
                if max_duration is not None and entry["duration"] > max_duration:
                    report.too_long += 1
                    report.too_long_seconds += entry["duration"]
                    continue
                entries.append(entry)
                report.kept += 1
                report.kept_seconds += entry["duration"]
        for name in sorted(set(os.listdir(chapter_dir)) - listed):
            if name.endswith(AUDIO_SUFFIX):
                report.skip(os.path.join(chapter_dir, name), f"no transcript line in {trans}")
    return entries, report


def index_librispeech(subset_dir, out_json, max_duration=DEFAULT_MAX_DURATION, progress=True):
    """Write the index for one subset folder; prints and returns the IndexReport."""
    entries, report = collect_entries(subset_dir, max_duration, progress)
    write_index(out_json, entries)
    print(f"{out_json}: " + report.summary(max_duration), file=sys.stderr)
    return report


def build_parser():
    parser = argparse.ArgumentParser(
        prog="vui corpus librispeech",
        description="Index a LibriSpeech subset folder (FLAC read directly) into JSON lines "
                    "with key/duration/text.")
    parser.add_argument("subset_dir", help="e.g. LibriSpeech/dev-clean")
    parser.add_argument("out_json", help="index to write, e.g. train_corpus.json")
    parser.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION,
                        help="drop clips longer than this many seconds (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
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
