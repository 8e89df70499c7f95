"""CTC decoders behind one interface: greedy, prefix beam search, and beam search with an n-gram LM.

pyctcdecode and numpy 2 (README paragraph). pyctcdecode 0.5.0 declares numpy<2, but TensorFlow
2.21 needs numpy 2, so scripts/setup.sh installs it with --no-deps and we checked what really
breaks: nothing. Its own test suite (v0.5.0 tag: decoding with and without a KenLM model,
hotwords, beam pruning, history pruning, decode_beams, batch decoding with a process pool,
serialisation) passes on numpy 2.4.6 (35 of 36 tests; the one failure needs the optional
huggingface_hub package). Two behaviours differ and are handled here: (1) under numpy 2's
promotion rules (NEP 50) float32 inputs keep the beam scores in float32 (numpy 1 promoted them to
float64), so we always hand pyctcdecode float64 log-probabilities; (2) an empty (0-frame) input
makes it warn "Mean of empty slice", so empty and all-blank outputs are answered here with "".
tests/test_decoding.py runs these paths on numpy 2 (with and without LM, hotwords, pruning,
decode_beams) so a future numpy or pyctcdecode that breaks them fails the suite.

Every decoder takes one utterance's softmax outputs, shape (time, 29) with the blank last
(char_map: apostrophe 0, space 1, a-z 2..27, blank 28), already cut to its output length.
"""
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from char_map import ALPHABET, BLANK_INDEX, NUM_CLASSES, int_sequence_to_text

DECODER_KINDS = ("greedy", "beam", "beam_lm")
DEFAULT_BEAM_WIDTH = 32           # see benchmarks/bench_decoding.py for width vs speed
DEFAULT_ALPHA = 0.5               # LM weight; lm_tuning.tune_lm_weights picks it per model
DEFAULT_BETA = 1.0                # word insertion bonus
# pyctcdecode's own defaults: beams more than 10 nats behind the best are dropped, and a
# character below log-probability -5 is not tried in a frame unless it is the frame's argmax.
DEFAULT_BEAM_PRUNE_LOGP = -10.0
DEFAULT_TOKEN_MIN_LOGP = -5.0
MIN_PROB = 1e-12                  # probabilities are clipped here before the log
ROW_SUM_TOLERANCE = 1e-2          # softmax rows of a float16 model still sum within this
# pyctcdecode's labels in our output order: "" is its blank, " " its word delimiter.
PYCTCDECODE_LABELS = list(ALPHABET) + [""]
assert len(PYCTCDECODE_LABELS) == NUM_CLASSES and PYCTCDECODE_LABELS[BLANK_INDEX] == ""


def check_probs(probs, what="probs"):
    """Return probs as a float array after checking it is one utterance's softmax outputs.

    Logits or log-probabilities passed by mistake decode to plausible-looking garbage, so rows that
    do not sum to one are refused here with the likely cause named.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
        raise ValueError(f"{what}: expected softmax outputs of shape (time, {NUM_CLASSES}) for one "
                         f"utterance, got shape {probs.shape}")
    if probs.shape[0] == 0:
        return probs.astype(np.float64)
    if not np.all(np.isfinite(probs)):
        raise ValueError(f"{what}: contains NaN or infinite values")
    sums = probs.sum(axis=1)
    if probs.min() < -ROW_SUM_TOLERANCE or np.abs(sums - 1).max() > ROW_SUM_TOLERANCE:
        raise ValueError(f"{what}: expected softmax probabilities (non-negative, rows summing to 1)"
                         f", got row sums from {sums.min():.3g} to {sums.max():.3g} and minimum "
                         f"{probs.min():.3g}; were logits or log-probabilities passed?")
    return probs.astype(np.float64)


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


class Decoder(ABC):
    """One utterance's (time, 29) softmax outputs -> transcript. `kind` names the table column."""

    kind = "decoder"

    @property
    @abstractmethod
    def name(self) -> str:
        """Human-readable description with the settings, for tables and logs."""

    @abstractmethod
    def _decode(self, probs: np.ndarray) -> str:
        """Decode checked, non-empty float64 probabilities."""

    def decode(self, probs) -> str:
        probs = check_probs(probs)
        if probs.shape[0] == 0:
            return ""
        return self._decode(probs)

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
        return int_sequence_to_text(greedy_indices(probs))


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
                 token_min_logp=DEFAULT_TOKEN_MIN_LOGP, hotwords=None, hotword_weight=10.0):
        from pyctcdecode import build_ctcdecoder
        if int(beam_width) < 1:
            raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
        self.beam_width = int(beam_width)
        self.beam_prune_logp = float(beam_prune_logp)
        self.token_min_logp = float(token_min_logp)
        self.hotwords = list(hotwords) if hotwords else None
        self.hotword_weight = float(hotword_weight)
        self._decoder = self._build(build_ctcdecoder)

    def _build(self, build_ctcdecoder):
        return build_ctcdecoder(PYCTCDECODE_LABELS)

    @property
    def name(self):
        return f"beam (width {self.beam_width})"

    def decode_beams(self, probs):
        """pyctcdecode's beams for one utterance: (text, lm_state, word_frames, logit_score,
        combined_score) tuples, best first; for n-best lists and inspection."""
        probs = check_probs(probs)
        if probs.shape[0] == 0:
            return [("", None, [], 0.0, 0.0)]
        return self._decoder.decode_beams(
            _log_probs(probs), beam_width=self.beam_width, beam_prune_logp=self.beam_prune_logp,
            token_min_logp=self.token_min_logp, hotwords=self.hotwords,
            hotword_weight=self.hotword_weight)

    def _decode(self, probs):
        return self.decode_beams(probs)[0][0]


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
        self.unigrams = list(unigrams) if unigrams is not None else _arpa_unigrams(lm_path)
        super().__init__(beam_width=beam_width, **kwargs)

    def _build(self, build_ctcdecoder):
        return build_ctcdecoder(PYCTCDECODE_LABELS, kenlm_model_path=self.lm_path,
                                unigrams=self.unigrams, alpha=self.alpha, beta=self.beta)

    def set_weights(self, alpha=None, beta=None):
        """Change alpha/beta without reloading the LM (used by the alpha/beta grid search)."""
        if alpha is not None:
            self.alpha = float(alpha)
        if beta is not None:
            self.beta = float(beta)
        self._decoder.reset_params(alpha=self.alpha, beta=self.beta)

    @property
    def name(self):
        return (f"beam+LM (width {self.beam_width}, alpha {self.alpha:g}, beta {self.beta:g}, "
                f"{os.path.basename(self.lm_path)})")

    def close(self):
        """Free the LM (pyctcdecode keeps models in a class-level dict until told otherwise)."""
        self._decoder.cleanup()


def _arpa_unigrams(lm_path):
    """The LM's words for pyctcdecode, or None for a KenLM binary (whose vocabulary it cannot
    list; pyctcdecode then warns and decodes without the partial-word check)."""
    with open(lm_path, "rb") as f:
        if not f.read(64).lstrip().startswith(b"\\data\\"):
            return None
    from vui.decode.lm import read_arpa_vocabulary
    return read_arpa_vocabulary(lm_path)


@dataclass(frozen=True)
class DecoderConfig:
    """What `make_decoder` needs; plain values so results files can store it."""
    kind: str = "greedy"
    beam_width: int = DEFAULT_BEAM_WIDTH
    lm_path: Optional[str] = None
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA

    def make(self) -> Decoder:
        return make_decoder(self.kind, beam_width=self.beam_width, lm_path=self.lm_path,
                            alpha=self.alpha, beta=self.beta)


def make_decoder(kind="greedy", beam_width=DEFAULT_BEAM_WIDTH, lm_path=None, alpha=DEFAULT_ALPHA,
                 beta=DEFAULT_BETA, **kwargs) -> Decoder:
    """kind in {"greedy", "beam", "beam_lm"}; beam_lm needs lm_path (ARPA or KenLM binary)."""
    if kind == "greedy":
        return GreedyDecoder()
    if kind == "beam":
        return BeamDecoder(beam_width=beam_width, **kwargs)
    if kind == "beam_lm":
        if lm_path is None:
            raise ValueError("decoder 'beam_lm' needs lm_path (an ARPA or KenLM binary file)")
        return BeamLMDecoder(lm_path, alpha=alpha, beta=beta, beam_width=beam_width, **kwargs)
    raise ValueError(f"unknown decoder kind {kind!r}; expected one of {DECODER_KINDS}")

