"""CTC decoders behind one interface: greedy, prefix beam search, and beam search with an n-gram LM.

pyctcdecode 0.5.0 declares numpy<2 and is installed beside numpy 2 (docs/experiments/summary.md,
"pyctcdecode and numpy 2"). Two behaviours differ there and are handled here: under NEP 50
float32 inputs would keep the beam scores in float32, so pyctcdecode always gets float64
log-probabilities; an empty (0-frame) input makes it warn "Mean of empty slice", so empty
outputs are answered here with "". tests/test_decoding.py runs its code paths on numpy 2.

Every decoder takes one utterance's softmax outputs, shape (time, 29) with the blank last
(char_map: apostrophe 0, space 1, a-z 2..27, blank 28), already cut to its output length.
`decode_words` gives the same transcript as words with times and confidences (vui.decode.words),
and the beam decoders take hot words (`parse_hotwords`), which pyctcdecode scores.
"""
import contextlib
import logging
import numbers
import os
import threading
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from char_map import (ALPHABET, BLANK_INDEX, NUM_CLASSES, int_sequence_to_text, normalize_text,
                      unspellable)
# check_softmax lives in words (which cannot import this module): one contract for both.
from vui.decode.words import (Word, check_seconds_per_frame, greedy_words, snap_to_speech,
                              words_from_frames, check_softmax)

DECODER_KINDS = ("greedy", "beam", "beam_lm")
DEFAULT_BEAM_WIDTH = 32           # see benchmarks/bench_decoding.py for width vs speed
DEFAULT_ALPHA = 0.5               # LM weight; lm_tuning.tune_lm_weights picks it per model
DEFAULT_BETA = 1.0                # word insertion bonus
# pyctcdecode's own defaults: beams more than 10 nats behind the best are dropped, and a
# character below log-probability -5 is not tried in a frame unless it is the frame's argmax.
DEFAULT_BEAM_PRUNE_LOGP = -10.0
DEFAULT_TOKEN_MIN_LOGP = -5.0
# pyctcdecode's default: a hot word adds this to a beam's score once spelt, and a share of it
# (letters so far / letters of the word) while being spelt; one weight for all hot words.
DEFAULT_HOTWORD_WEIGHT = 10.0
HOTWORD_WEIGHT_SEPARATOR = ":"    # "boat:8" is the hot word "boat" with weight 8
MIN_PROB = 1e-12                  # probabilities are clipped here before the log
# pyctcdecode's labels in our output order: "" is its blank, " " its word delimiter.
PYCTCDECODE_LABELS = list(ALPHABET) + [""]
PYCTCDECODE_LM_LOGGER = "pyctcdecode.language_model"
SMALL_VOCABULARY_WARNING = "Only %s unigrams"     # its warning under 1,000 words, as formatted
assert len(PYCTCDECODE_LABELS) == NUM_CLASSES and PYCTCDECODE_LABELS[BLANK_INDEX] == ""


def greedy_indices(probs):
    """Best path: argmax per frame, collapse repeats, drop blanks.

    Plain numpy on purpose: it equals keras.ops.ctc_decode(strategy="greedy") (tested), but needs
    no round trip through the backend's tensors and runs the same under every Keras backend.
    """
    best = np.argmax(probs, axis=1)
    if best.size == 0:
        return best
    keep = np.ones(best.shape, dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    best = best[keep]
    return best[best != BLANK_INDEX]


def parse_hotwords(specs, weight=None):
    """Hot words as a user gives them ("boat:8", "river", "red boat") -> (words, weight).

    pyctcdecode scores every hot word with one weight, so weights given per word must agree:
    words without one share the weight stated elsewhere (the `weight` argument or another
    word's), the default when none is stated, and two different stated weights are refused
    rather than one of them silently applied. Words are normalised like transcripts (lower case,
    punctuation dropped) and must be spelt in the alphabet, or they could never be decoded.
    """
    if isinstance(specs, str):
        specs = [specs]
    stated = {} if weight is None else {_check_weight(weight, "hotword_weight"): "hotword_weight"}
    words = []
    for spec in specs:
        word, word_weight = _split_hotword(spec)
        if word_weight is not None:
            stated.setdefault(word_weight, repr(spec))
        words.append(word)
    if len(stated) > 1:
        raise ValueError(f"hot words with different weights ({', '.join(stated.values())}): "
                         "pyctcdecode scores all hot words with one weight; give them the same "
                         "weight, or decode once per weight")
    return tuple(words), next(iter(stated), DEFAULT_HOTWORD_WEIGHT)


def _split_hotword(spec):
    """"boat:8" -> ("boat", 8.0); "boat" -> ("boat", None)."""
    if not isinstance(spec, str):
        raise ValueError(f"hot word {spec!r}: expected a string such as 'boat' or 'boat:8'")
    text, weight = spec, None
    if HOTWORD_WEIGHT_SEPARATOR in spec:
        text, weight_text = spec.rsplit(HOTWORD_WEIGHT_SEPARATOR, 1)
        weight = _check_weight(weight_text, f"hot word {spec!r}")
    word = normalize_text(text)
    if not word:
        raise ValueError(f"hot word {spec!r} is empty")
    bad = unspellable(text)
    if bad:
        raise ValueError(f"hot word {spec!r} has characters outside the alphabet {ALPHABET!r}: "
                         f"{bad}; the model cannot spell it")
    return word, weight


def _check_weight(value, what):
    try:
        weight = float(value)
    except (TypeError, ValueError):
        weight = float("nan")
    if not np.isfinite(weight):
        raise ValueError(f"{what}: the weight must be a finite number, got {value!r}")
    return weight


@dataclass(frozen=True)
class DecoderSpec:
    """A decoder's settings and nothing built from them: small, hashable and picklable, so a
    worker process can build (and keep) the same decoder (vui.decode.parallel) without the LM
    or pyctcdecode's objects crossing a process boundary."""
    kind: str
    options: tuple = ()          # (name, value) pairs of make_decoder's keyword arguments

    def build(self) -> "Decoder":
        return make_decoder(self.kind, **dict(self.options))


class Decoder(ABC):
    """One utterance's (time, 29) softmax outputs -> transcript. `kind` names the table column."""

    kind = "decoder"

    def spec(self) -> DecoderSpec:
        """The settings that rebuild this decoder: DecoderSpec.build() decodes the same."""
        return DecoderSpec(self.kind, tuple(self._spec_options().items()))

    def _spec_options(self) -> dict:
        return {}

    @property
    @abstractmethod
    def name(self) -> str:
        """Human-readable description with the settings, for tables and logs."""

    @abstractmethod
    def _decode(self, probs: np.ndarray) -> str:
        """Decode checked, non-empty float64 probabilities."""

    def decode(self, probs) -> str:
        probs = check_softmax(probs)
        if probs.shape[0] == 0:
            return ""
        return self._decode(probs)

    def decode_words(self, probs, seconds_per_frame, speech=None) -> list[Word]:
        """The transcript as words with start and end times (seconds) and a confidence each.

        seconds_per_frame: the model's output frame duration (0.01 * its total convolution
        stride). The words' texts joined with spaces are `decode(probs)`; confidences follow
        vui.decode.words.word_confidence for every decoder, so they can be compared across
        decoders. speech: one bool per output frame (vui.decode.words.speech_frames of the
        audio) moves each word's edges to the speech around its letters (snap_to_speech); None
        keeps the letters' frames.
        """
        seconds_per_frame = check_seconds_per_frame(seconds_per_frame)
        probs = check_softmax(probs)
        if probs.shape[0] == 0:
            return []
        words = self._decode_words(probs, seconds_per_frame)
        if speech is None:
            return words
        if len(speech) != probs.shape[0]:
            raise ValueError(f"speech has {len(speech)} frames; expected one per output frame "
                             f"({probs.shape[0]})")
        return snap_to_speech(words, speech, seconds_per_frame)

    def _decode_words(self, probs, seconds_per_frame):
        """Words of checked, non-empty float64 probabilities; decoders with word times override."""
        raise NotImplementedError(f"{type(self).__name__} does not give word times")

    def decode_batch(self, probs_batch, lengths=None):
        """Decode a padded batch (batch, time, 29) or a list of (time_i, 29) arrays.

        lengths: each utterance's output length (frames beyond it are padding); None uses every
        frame of each item.
        """
        items = list(probs_batch)
        if lengths is None:
            lengths = [len(p) for p in items]
        lengths = [int(n) for n in np.asarray(lengths).reshape(-1)]
        if len(lengths) != len(items):
            raise ValueError(f"decode_batch: {len(items)} utterances but {len(lengths)} lengths")
        out = []
        for i, (probs, n) in enumerate(zip(items, lengths)):
            probs = np.asarray(probs)
            if not 0 <= n <= probs.shape[0]:
                raise ValueError(f"decode_batch: length {n} of utterance {i} is outside "
                                 f"0..{probs.shape[0]} (its padded number of frames)")
            out.append(self.decode(probs[:n]))
        return out

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


class GreedyDecoder(Decoder):
    kind = "greedy"

    @property
    def name(self):
        return "greedy"

    def _decode(self, probs):
        # The best path's own text can hold doubled, leading or trailing spaces ("  the  cat ");
        # the transcript reads as its words, one space apart, as the beam decoders' do.
        return " ".join(int_sequence_to_text(greedy_indices(probs)).split())

    def _decode_words(self, probs, seconds_per_frame):
        return greedy_words(probs, seconds_per_frame)


def _log_probs(probs):
    # float64 on purpose: under numpy 2 (NEP 50) float32 input would keep pyctcdecode's running
    # beam scores in float32.
    return np.log(np.clip(probs, MIN_PROB, 1.0)).astype(np.float64)


class BeamDecoder(Decoder):
    """CTC prefix beam search (pyctcdecode, no LM).

    pyctcdecode keeps blank-ending and character-ending prefixes as separate beams and sums the
    paths that merge, i.e. a prefix beam search. It is pure Python, so it runs under every Keras
    backend; benchmarks/bench_decoding.py compares it with keras.ops.ctc_decode's beam search.
    """

    kind = "beam"

    def __init__(self, beam_width=DEFAULT_BEAM_WIDTH, beam_prune_logp=DEFAULT_BEAM_PRUNE_LOGP,
                 token_min_logp=DEFAULT_TOKEN_MIN_LOGP, hotwords=None, hotword_weight=None):
        """hotwords: words to favour ("boat", or "boat:8" with its weight; see parse_hotwords);
        hotword_weight: their common weight (pyctcdecode's default when neither states one).

        With an LM, a hot word the LM lacks gets its bonus while being spelt but the LM's
        unknown-word penalty only once complete; a beam_prune_logp narrower than the weight lets
        the bonus push the competing beams out in between (the transcript can lose the words
        after it), so widen beam_prune_logp by about the weight there."""
        if isinstance(beam_width, bool) or not isinstance(beam_width, numbers.Integral) \
                or beam_width < 1:           # 1.5 or True used to become a width of 1
            raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
        self.beam_width = int(beam_width)
        self.beam_prune_logp = float(beam_prune_logp)
        self.token_min_logp = float(token_min_logp)
        self.set_hotwords(hotwords, hotword_weight)
        self._built, self._release, self._building = None, None, threading.Lock()

    def set_hotwords(self, hotwords=None, hotword_weight=None):
        """Change the hot words (see parse_hotwords): pyctcdecode takes them at each decode,
        so nothing is rebuilt and an LM stays loaded."""
        words, self.hotword_weight = parse_hotwords(hotwords or [], hotword_weight)
        self.hotwords = list(words) or None

    def __getstate__(self):
        """Settings only: pyctcdecode's objects and the lock are made again where needed."""
        state = dict(self.__dict__)
        for key in ("_built", "_release", "_building"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._built, self._release, self._building = None, None, threading.Lock()

    @property
    def _decoder(self):
        """pyctcdecode's decoder, built at the first decode: a decoder that is only checked
        and handed on (its spec() to a worker process) never loads its LM here."""
        with self._building:
            if self._built is None:
                from pyctcdecode import build_ctcdecoder
                self._built = self._build(build_ctcdecoder)
                # pyctcdecode keeps each decoder's LM in a class-level dict until cleanup():
                # free it when this object goes (a server's cache drops decoders) or on
                # close(), once.
                self._release = weakref.finalize(self, self._built.cleanup)
        return self._built

    def _build(self, build_ctcdecoder):
        return build_ctcdecoder(PYCTCDECODE_LABELS)

    def _spec_options(self):
        return dict(beam_width=self.beam_width, beam_prune_logp=self.beam_prune_logp,
                    token_min_logp=self.token_min_logp, hotwords=tuple(self.hotwords or ()),
                    hotword_weight=self.hotword_weight)

    @property
    def name(self):
        return f"beam (width {self.beam_width}{self._hotwords_note()})"

    def _hotwords_note(self):
        if not self.hotwords:
            return ""
        return f", hot words {' '.join(self.hotwords)} weight {self.hotword_weight:g}"

    def decode_beams(self, probs):
        """pyctcdecode's beams for one utterance: (text, lm_state, word_frames, logit_score,
        combined_score) tuples, best first; for n-best lists and inspection."""
        probs = check_softmax(probs)
        if probs.shape[0] == 0:
            return [("", None, [], 0.0, 0.0)]
        return self._decoder.decode_beams(
            _log_probs(probs), beam_width=self.beam_width, beam_prune_logp=self.beam_prune_logp,
            token_min_logp=self.token_min_logp, hotwords=self.hotwords,
            hotword_weight=self.hotword_weight)

    def _decode(self, probs):
        return self.decode_beams(probs)[0][0]

    def close(self):
        """Free the LM now rather than when this decoder is garbage-collected (after a build
        under way in another thread, if one is)."""
        with self._building:
            release = self._release
        if release is not None:
            release()

    def _decode_words(self, probs, seconds_per_frame):
        """The best beam's words at the frames pyctcdecode gives them (first character frame,
        last character frame + 1: our convention), with greedy_words' confidence rule."""
        word_frames = self.decode_beams(probs)[0][2]
        return words_from_frames(probs, word_frames, seconds_per_frame)


class BeamLMDecoder(BeamDecoder):
    """Beam search scored with a word n-gram LM (KenLM model read by pyctcdecode).

    Score = log P_acoustic + alpha * log P_LM + beta * words. The LM's vocabulary is passed to
    pyctcdecode as unigrams so that partial words outside it are penalised while being spelled
    (-10 per open non-word prefix, *not* scaled by alpha: alpha=0 is not plain beam search).
    """

    kind = "beam_lm"

    def __init__(self, lm_path, alpha=DEFAULT_ALPHA, beta=DEFAULT_BETA, beam_width=DEFAULT_BEAM_WIDTH,
                 unigrams=None, **kwargs):
        lm_path = os.fspath(lm_path) if lm_path is not None else None
        if not lm_path or not os.path.isfile(lm_path):
            raise FileNotFoundError(f"beam_lm decoder: language model file {lm_path!r} not found; "
                                    "build one with vui.decode.lm.build_lm_from_index or build_arpa")
        self.lm_path = lm_path
        self.alpha, self.beta = float(alpha), float(beta)
        self.vocabulary_is_the_lms = unigrams is None
        self.unigrams = list(unigrams) if unigrams is not None else _arpa_unigrams(lm_path)
        super().__init__(beam_width=beam_width, **kwargs)

    def _build(self, build_ctcdecoder):
        """pyctcdecode's build_ctcdecoder with the KenLM model loaded quietly: given a path,
        it loads KenLM with its default settings, which print a progress bar and a hint to
        stderr on every load (a command-line tool's output). The same three steps otherwise."""
        import kenlm
        from pyctcdecode.alphabet import Alphabet
        from pyctcdecode.decoder import BeamSearchDecoderCTC
        from pyctcdecode.language_model import LanguageModel
        quiet = kenlm.Config()
        quiet.show_progress = False
        quiet.arpa_complain = kenlm.ARPALoadComplain.NONE
        with _small_vocabulary_hushed(self.vocabulary_is_the_lms):
            model = LanguageModel(kenlm.Model(self.lm_path, quiet), self.unigrams,
                                  alpha=self.alpha, beta=self.beta)
        return BeamSearchDecoderCTC(Alphabet.build_alphabet(PYCTCDECODE_LABELS), model)

    def set_weights(self, alpha=None, beta=None):
        """Change alpha/beta without reloading the LM (used by the alpha/beta grid search)."""
        with self._building:          # not lost to a build under way in another thread
            if alpha is not None:
                self.alpha = float(alpha)
            if beta is not None:
                self.beta = float(beta)
            if self._built is not None:
                self._built.reset_params(alpha=self.alpha, beta=self.beta)

    def _spec_options(self):
        # The LM's own vocabulary is read again from its file where the spec is built: a
        # large LM's word list need not travel with every spec.
        unigrams = None if self.vocabulary_is_the_lms else tuple(self.unigrams)
        return dict(super()._spec_options(), lm_path=self.lm_path, alpha=self.alpha,
                    beta=self.beta, unigrams=unigrams)

    @property
    def name(self):
        return (f"beam+LM (width {self.beam_width}, alpha {self.alpha:g}, beta {self.beta:g}, "
                f"{os.path.basename(self.lm_path)}{self._hotwords_note()})")


class _SmallVocabularyFilter(logging.Filter):
    def filter(self, record):
        return not str(record.msg).startswith(SMALL_VOCABULARY_WARNING)


@contextlib.contextmanager
def _small_vocabulary_hushed(hush):
    """pyctcdecode warns on every LM load under 1,000 words ("Is this small or artificial
    data?"). Where the vocabulary is the ARPA's own, a small one is the corpus's (the embedded
    corpus's LM is small on purpose): hushed for that load only. A vocabulary the caller
    passed, and pyctcdecode's other warning (words the LM does not know), still warn."""
    if not hush:
        yield
        return
    logger, quiet = logging.getLogger(PYCTCDECODE_LM_LOGGER), _SmallVocabularyFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _arpa_unigrams(lm_path):
    """The LM's words for pyctcdecode, or None for a KenLM binary (whose vocabulary it cannot
    list; pyctcdecode then warns and decodes without the partial-word check)."""
    with open(lm_path, "rb") as f:
        if not f.read(64).lstrip().startswith(b"\\data\\"):
            return None
    from vui.decode.lm import read_arpa_vocabulary
    return read_arpa_vocabulary(lm_path)


def make_decoder(kind="greedy", beam_width=DEFAULT_BEAM_WIDTH, lm_path=None, alpha=DEFAULT_ALPHA,
                 beta=DEFAULT_BETA, hotwords=None, hotword_weight=None, **kwargs) -> Decoder:
    """kind in {"greedy", "beam", "beam_lm"}; beam_lm needs lm_path (ARPA or KenLM binary).

    hotwords ("boat", "boat:8"; see parse_hotwords) and hotword_weight bias the beam decoders
    toward those words; greedy decoding has no search to bias, so it refuses them.
    """
    if kind == "greedy":
        if hotwords:
            listed = ", ".join(map(str, hotwords))
            raise ValueError(f"decoder 'greedy' cannot use hot words ({listed}): it takes the "
                             "best frame-by-frame path and has no search to bias; use decoder "
                             "'beam' or 'beam_lm'")
        return GreedyDecoder()
    hot = {"hotwords": hotwords, "hotword_weight": hotword_weight}
    if kind == "beam":
        return BeamDecoder(beam_width=beam_width, **hot, **kwargs)
    if kind == "beam_lm":
        if lm_path is None:
            raise ValueError("decoder 'beam_lm' needs lm_path (an ARPA or KenLM binary file)")
        return BeamLMDecoder(lm_path, alpha=alpha, beta=beta, beam_width=beam_width, **hot,
                             **kwargs)
    raise ValueError(f"unknown decoder kind {kind!r}; expected one of {DECODER_KINDS}")

