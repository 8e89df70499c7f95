"""Real English sentences for the embedded corpus, from Debian packages, split by seed.

Sources and licences (both allow redistribution of derived corpora):
- wordnet-base: the quoted example sentences in WordNet 3.0's data.* files (about 42,000
  usable). WordNet 3.0 licence (Princeton), a permissive BSD-like licence: use, copy, modify and
  distribute for any purpose, keeping the copyright notice (/usr/share/doc/wordnet-base/copyright).
- fortunes-min: the `fortunes`, `literature` and `riddles` cookie files, BSD licence (University
  of California; /usr/share/doc/fortunes-min/copyright). Split into sentences; attribution
  lines ("-- Mark Twain") are dropped.
Sentences are normalised with char_map.normalize_text and kept only when every character is in
the alphabet afterwards: sentences with digits are *dropped*, not spelled out, because a
hand-made number speller would disagree with how each TTS engine reads the digits.
"""
import glob
import os
import random
import re

import char_map

WORDNET_DIR = "/usr/share/wordnet"
FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNE_FILES = ("fortunes", "literature", "riddles")
MIN_WORDS = 3
MAX_WORDS = 18          # ~7 s at espeak-ng's default 175 words a minute; slow voices stay < 10 s
SOURCES = ("wordnet", "fortunes")

_QUOTED = re.compile(r'"([^"]+)"')
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class SentenceSourceError(FileNotFoundError):
    """A sentence source package is missing (says which Debian package to install)."""


def wordnet_examples(wordnet_dir=WORDNET_DIR):
    """The quoted example sentences after the '|' of each WordNet data line, file order."""
    files = sorted(glob.glob(os.path.join(wordnet_dir, "data.*")))
    if not files:
        raise SentenceSourceError(f"no WordNet data.* files in {wordnet_dir!r}; install the "
                                  f"Debian package wordnet-base (scripts/setup.sh does)")
    found = []
    for path in files:
        with open(path, encoding="latin-1") as lines:
            for line in lines:
                if line.startswith("  ") or "|" not in line:   # licence header lines
                    continue
                found += _QUOTED.findall(line.split("|", 1)[1])
    return found


def fortune_sentences(fortunes_dir=FORTUNES_DIR):
    """Sentences of the fortunes-min cookies (entries separated by '%'), attributions dropped."""
    paths = [os.path.join(fortunes_dir, name) for name in FORTUNE_FILES]
    paths = [p for p in paths if os.path.isfile(p)]
    if not paths:
        raise SentenceSourceError(f"no fortune files in {fortunes_dir!r}; install the Debian "
                                  f"package fortunes-min (scripts/setup.sh does)")
    found = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for cookie in handle.read().split("\n%\n"):
                lines = [l.strip() for l in cookie.splitlines()
                         if l.strip() and not l.strip().startswith("--")]
                found += _SENTENCE_END.split(" ".join(lines))
    return found


def clean_sentences(raw, min_words=MIN_WORDS, max_words=MAX_WORDS):
    """Normalise, keep in-alphabet sentences of min..max words, deduplicate, sorted."""
    kept = set()
    for sentence in raw:
        text = char_map.normalize_text(sentence)
        if (min_words <= len(text.split()) <= max_words
                and all(ch in char_map.char_map for ch in text)):
            kept.add(text)
    return sorted(kept)


def load_sentences(sources=SOURCES, min_words=MIN_WORDS, max_words=MAX_WORDS):
    """Deduplicated, normalised sentences from the named sources ('wordnet', 'fortunes')."""
    readers = {"wordnet": wordnet_examples, "fortunes": fortune_sentences}
    unknown = [s for s in sources if s not in readers]
    if unknown:
        raise ValueError(f"unknown sentence source(s) {unknown}; choose from {sorted(readers)}")
    raw = []
    for source in sources:
        raw += readers[source]()
    return clean_sentences(raw, min_words, max_words)


def split_sentences(sentences, sizes, seed):
    """Disjoint, seed-determined draws: {name: list} for `sizes` = {name: count} (in order).

    Raises ValueError when the sources hold fewer sentences than asked for.
    """
    need = sum(sizes.values())
    if need > len(sentences):
        raise ValueError(f"asked for {need} sentences ({sizes}) but the sources hold only "
                         f"{len(sentences)} usable ones")
    order = sorted(sentences)
    random.Random(seed).shuffle(order)
    split, start = {}, 0
    for name, count in sizes.items():
        split[name] = order[start:start + count]
        start += count
    return split
