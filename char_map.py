"""The seed's alphabet: apostrophe, space and a-z, plus the CTC blank as the 29th class.

Index order is the seed's (apostrophe 0, space 1, a-z 2..27, blank 28) so that models and
decoders trained against the original course toolkit read the same outputs.
"""
import re
import unicodedata

ALPHABET = "' abcdefghijklmnopqrstuvwxyz"
BLANK_INDEX = len(ALPHABET)          # 28: the CTC blank
NUM_CLASSES = len(ALPHABET) + 1      # 29: softmax width of every acoustic model

char_map = {ch: i for i, ch in enumerate(ALPHABET)}
index_map = {i: ch for i, ch in enumerate(ALPHABET)}

# Typographic apostrophes are folded to ASCII before anything else is stripped, so "don’t"
# keeps its apostrophe instead of becoming "don t".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_NOT_WORD_OR_APOSTROPHE = re.compile(r"[^\w\s']+")
_WHITESPACE = re.compile(r"\s+")
# Punctuation that is said as words ("and", "percent", "at", "number"): normalisation would
# turn it into a space, losing a word of what was said, so a transcript with it is refused.
SPOKEN_PUNCTUATION = frozenset("&%@#")


class TranscriptError(ValueError):
    """A transcript that cannot be written in the alphabet (names the utterance)."""


def normalize_text(text):
    """Lower-case, fold apostrophes, drop punctuation other than the apostrophe, collapse spaces.

    Hyphens and other punctuation become spaces ("well-known" -> "well known"), which is how
    LibriSpeech spells its transcripts. Digits and non-English letters are *kept* so that
    `text_to_int_sequence` can refuse them by name instead of dropping them silently.
    """
    text = unicodedata.normalize("NFC", str(text)).translate(_APOSTROPHES).lower()
    text = _NOT_WORD_OR_APOSTROPHE.sub(" ", text).replace("_", " ")
    return _WHITESPACE.sub(" ", text).strip()


def unspellable(text):
    """The characters of `text` the alphabet cannot spell, as "'0', '&'" (empty: none): what
    normalisation keeps outside the alphabet, and punctuation said as words."""
    bad = sorted({ch for ch in normalize_text(text) if ch not in char_map}
                 | (SPOKEN_PUNCTUATION & set(str(text))))
    return ", ".join(map(repr, bad))


def text_to_int_sequence(text, utterance=None):
    """Normalised text -> list of class indices; raises TranscriptError naming the utterance."""
    bad = unspellable(text)
    if bad:
        where = f" in utterance {utterance!r}" if utterance is not None else ""
        raise TranscriptError(
            f"transcript{where} has characters outside the alphabet {ALPHABET!r}: {bad} "
            f"(text: {text!r}); spell numbers and symbols as words and use English letters")
    return [char_map[ch] for ch in normalize_text(text)]


def int_sequence_to_text(int_sequence):
    """Class indices -> text; the blank (and any padding index such as -1) is skipped."""
    return "".join(index_map[int(i)] for i in int_sequence if int(i) in index_map)
