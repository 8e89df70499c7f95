"""Words with their times and a confidence each, from one utterance's CTC outputs.

Input: one utterance's softmax outputs, shape (time, 29) with the blank last (char_map:
apostrophe 0, space 1, a-z 2..27, blank 28), already cut to its output length, and the duration
of one output frame in seconds (`seconds_per_frame`: the features' 10 ms step times the model's
total convolution stride). A word's characters are located either on the best path (greedy: the
argmax of every frame) or, for beam search, by aligning the words pyctcdecode returns to the
frames it gives for them; both then go through the same confidence rule, so greedy and beam
confidences can be compared.

Times: a word starts at its first character frame and ends after its last one. Blank frames
between two characters of a word belong to the word; blank and space frames around it do not,
because CTC emits a character on one or a few frames and fills the rest with blanks, so the
frames around a word carry no evidence of where its sound begins or ends. The posteriors are
near 0 or 1 there, so nothing finer can be read from them either; the audio can tell more. With
the audio's speech frames (`speech_frames`), `snap_to_speech` moves each word's edges to the
speech around its letters: back and forward over frames of speech to the silence on either
side, never into the next word's letters, and off silent frames its letters were put on, but
never to fewer frames than the word has letters (CTC gives each letter a frame of its own). A
model's letters can sit a frame or more from the sound they stand for (docs/design.md,
Contracts, "Word times"); the sound's edges are where a listener hears the word begin and end.

The input check (`check_softmax`) lives here and the decoders use it too: one contract for
every consumer of a model's outputs.
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from char_map import BLANK_INDEX, NUM_CLASSES, index_map

SPACE_INDEX = 1                   # char_map's space: the word delimiter
SPEECH_RANGE_DB = 35.0            # a frame this far below the loudest one is silence ...
NOISE_MARGIN_DB = 6.0             # ... as is one within this of the quiet frames' level
NOISE_PERCENTILE = 10             # the quiet frames' level: this percentile of all levels
POWER_FLOOR = 1e-20               # digital silence, kept finite in decibels
TIME_DECIMALS = 3                 # times are rounded to milliseconds
ROW_SUM_TOLERANCE = 1e-2          # softmax rows of a float16 model still sum within this
PROB_FLOOR = 1e-300               # exact zeros are floored before the log, so paths still rank
UNREACHABLE = -np.inf             # the score of an alignment state no path reaches
CHAR_INDEX = {ch: i for i, ch in index_map.items()}


@dataclass(frozen=True)
class Word:
    """One recognised word: its text, start and end in seconds, and a confidence in [0, 1]."""
    text: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class CharRun:
    """Consecutive frames [start, end) on which one character is emitted (one CTC token)."""
    label: int
    start: int
    end: int


def check_seconds_per_frame(seconds_per_frame):
    """Return seconds_per_frame as a float after checking it is a positive, finite duration.

    A zero, negative or missing frame duration would silently give every word a zero or
    negative length, so it is refused with what it should be.
    """
    try:
        value = float(seconds_per_frame)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(seconds_per_frame, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"seconds_per_frame must be a positive, finite number of seconds (the "
                         f"model's output frame duration, e.g. 0.01 * its total convolution "
                         f"stride), got {seconds_per_frame!r}")
    return value


def check_softmax(probs, what="probs"):
    """Return probs as float64 after checking it is one utterance's softmax outputs.

    Logits or log-probabilities passed by mistake decode to plausible-looking garbage (and,
    having the same argmax, to the right words with meaningless confidences), so rows that do
    not sum to one are refused here with the likely cause named.
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


def label_runs(labels):
    """Frame labels -> CharRun per stretch of equal labels, blanks included, in frame order."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return []
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [labels.size]])
    return [CharRun(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def split_words(runs):
    """Character runs -> one list of runs per word: blanks dropped, spaces end words.

    A repeated letter needs a blank between its runs to count twice ("hel-lo"); two runs that
    touch are one run already (label_runs merged them), exactly as greedy decoding collapses them.
    """
    words, current = [], []
    for run in runs:
        if run.label == BLANK_INDEX:
            continue
        if run.label == SPACE_INDEX:
            if current:
                words.append(current)
            current = []
        else:
            current.append(run)
    if current:
        words.append(current)
    return words


def run_peak(probs, run):
    """The highest posterior of the run's character over its frames.

    The peak, not the mean: CTC emits a character as a spike, and the frames at the edges of a
    run are the transition into and out of it, so their lower posteriors say nothing about
    whether the character is right.
    """
    return float(probs[run.start:run.end, run.label].max())


def word_confidence(probs, runs):
    """Confidence of one word: the lowest peak posterior among its characters' runs.

    A word is right only if every one of its characters is, so it can be no surer than its least
    certain character: the minimum keeps one doubtful letter from hiding among sure ones (which
    the arithmetic or geometric mean would let it do), and unlike the product it does not make a
    long word look doubtful merely for having many letters. It is a probability, so greedy and
    beam words scored on the same frames can be compared and thresholded alike.
    """
    return min(run_peak(probs, run) for run in runs)


def make_word(probs, runs, seconds_per_frame):
    """A Word from its character runs (frame indices into probs)."""
    text = "".join(index_map[run.label] for run in runs)
    start = round(runs[0].start * seconds_per_frame, TIME_DECIMALS)
    end = round(runs[-1].end * seconds_per_frame, TIME_DECIMALS)
    return Word(text, start, end, word_confidence(probs, runs))


def greedy_words(probs, seconds_per_frame):
    """The words of the best path (argmax per frame) with their times and confidences.

    Joined with single spaces, their texts are the greedy decoder's transcript.
    """
    seconds_per_frame = check_seconds_per_frame(seconds_per_frame)
    probs = check_softmax(probs)
    runs = label_runs(np.argmax(probs, axis=1))
    return [make_word(probs, word, seconds_per_frame) for word in split_words(runs)]


def _ctc_states(labels):
    """A word's CTC states without leading or trailing blank: c0, blank, c1, blank, ... c_last."""
    states = [BLANK_INDEX] * (2 * len(labels) - 1)
    states[::2] = labels
    return np.asarray(states)


def _allowed_skips(states):
    """Which states may be entered from two states back (skipping the blank between them):
    a character after a different character; never a repeated one, which needs its blank."""
    skips = np.zeros(len(states), dtype=bool)
    skips[2::2] = states[2::2] != states[:-2:2]
    return skips


def align_word(probs, text, start_frame, end_frame):
    """The most probable path spelling `text` on frames [start_frame, end_frame), as CharRuns.

    Beam search returns each word with the frames of its first and last character but not the
    frames of the characters in between. The Viterbi path under CTC's rules (a character may
    repeat, blanks may separate characters and must separate repeated ones), forced to start and
    end on a character, recovers them; when the argmax frames already spell the word, it is the
    argmax path, so beam and greedy confidences agree wherever the two decoders do.
    """
    labels = [_label_of(ch, text) for ch in text]
    if end_frame - start_frame < _min_frames(labels):
        raise ValueError(f"word {text!r} cannot be aligned to frames {start_frame}..{end_frame}: "
                         f"it needs at least {_min_frames(labels)} frames")
    states = _ctc_states(labels)
    frames = np.log(np.maximum(probs[start_frame:end_frame], PROB_FLOOR))[:, states]
    path = _viterbi(frames, _allowed_skips(states))
    return _path_runs(states, path, start_frame)


def _viterbi(frames, skips):
    """Best state path from the first state to the last; frames: (time, states) log-probs.

    Hand-written: the forced aligners (torchaudio.functional.forced_align, ctc-segmentation)
    would bring PyTorch or a compiled package to every backend for one word's few frames."""
    n_frames, n_states = frames.shape
    score = np.full(n_states, UNREACHABLE)
    score[0] = frames[0, 0]
    back = np.zeros((n_frames, n_states), dtype=np.int64)
    for t in range(1, n_frames):
        step = _moved_on(score, 1)
        skip = np.where(skips, _moved_on(score, 2), UNREACHABLE)
        moves = np.stack([score, step, skip])          # stay, come from one back, from two back
        best = np.argmax(moves, axis=0)
        back[t] = np.arange(n_states) - best
        score = moves[best, np.arange(n_states)] + frames[t]
    path = [n_states - 1]
    for t in range(n_frames - 1, 0, -1):
        path.append(back[t, path[-1]])
    return path[::-1]


def _moved_on(score, states):
    """The scores of coming from `states` states back: score shifted on, the first `states`
    unreachable (all of them in a word shorter than that, such as a one-letter word)."""
    moved = np.full_like(score, UNREACHABLE)
    moved[states:] = score[:max(len(score) - states, 0)]
    return moved


def _label_of(ch, text):
    """A word's character -> its class; spaces and unknown characters cannot be in a word."""
    if CHAR_INDEX.get(ch, SPACE_INDEX) == SPACE_INDEX:
        raise ValueError(f"word {text!r}: character {ch!r} is not a letter or apostrophe of the "
                         f"alphabet")
    return CHAR_INDEX[ch]


def _min_frames(labels):
    """Frames needed to spell labels: one per character and one blank per repeated letter."""
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


def _path_runs(states, path, offset):
    """A state path (one state per frame) -> the CharRuns of its character states."""
    runs = label_runs(np.asarray(path))
    return [CharRun(int(states[r.label]), r.start + offset, r.end + offset)
            for r in runs if states[r.label] != BLANK_INDEX]


def words_from_frames(probs, word_frames, seconds_per_frame):
    """Words from (word, (start_frame, end_frame)) pairs, as pyctcdecode's decode_beams gives them.

    pyctcdecode's frames index the same output frames as probs, end exclusive (its last
    character frame + 1), so times follow the same rule as greedy_words; the confidence comes
    from the characters' frames found by align_word, with greedy_words' rule.
    """
    seconds_per_frame = check_seconds_per_frame(seconds_per_frame)
    probs = check_softmax(probs)
    words = []
    for text, (start_frame, end_frame) in word_frames:
        if not 0 <= start_frame < end_frame <= len(probs):
            raise ValueError(f"word {text!r}: frames {start_frame}..{end_frame} lie outside the "
                             f"utterance's {len(probs)} frames")
        runs = align_word(probs, text, int(start_frame), int(end_frame))
        words.append(make_word(probs, runs, seconds_per_frame))
    return words


def speech_frames(audio, sample_rate, seconds_per_frame, num_frames):
    """Which of an utterance's `num_frames` output frames hold speech, from its waveform.

    A frame is the samples of its output frame's time span; it is speech when its mean power
    is within SPEECH_RANGE_DB of the loudest frame's and NOISE_MARGIN_DB above the quiet
    frames' level (a steady background noise is not speech). Frames past the audio's end are
    silence. Not librosa.effects.split: its top_db is only the first rule, so a steady noise
    within top_db of the speech would count as speech and stretch the words over it.
    """
    hop = int(round(check_seconds_per_frame(seconds_per_frame) * sample_rate))
    if num_frames == 0:
        return np.zeros(0, bool)
    samples = np.zeros(num_frames * hop, np.float64)
    audio = np.asarray(audio)[:len(samples)]
    samples[:len(audio)] = audio
    power = np.square(samples).reshape(num_frames, hop).mean(axis=1)
    level = 10 * np.log10(np.maximum(power, POWER_FLOOR))
    threshold = max(level.max() - SPEECH_RANGE_DB,
                    np.percentile(level, NOISE_PERCENTILE) + NOISE_MARGIN_DB)
    return level > threshold


def snap_to_speech(words, speech, seconds_per_frame):
    """Words with their edges moved to the speech around their letters (see the module's
    docstring); `speech` is one bool per output frame (speech_frames). A word whose letters lie
    on no speech frame, or on fewer speech frames than it has letters, keeps its times."""
    seconds_per_frame = check_seconds_per_frame(seconds_per_frame)
    speech = np.asarray(speech, bool)
    spans = [(round(w.start / seconds_per_frame), round(w.end / seconds_per_frame))
             for w in words]
    snapped, previous_end = [], 0
    for i, (word, (start, end)) in enumerate(zip(words, spans)):
        next_start = spans[i + 1][0] if i + 1 < len(spans) else len(speech)
        start, end = _speech_edges(speech, start, end, previous_end, next_start,
                                   len(word.text))
        snapped.append(replace(word, start=round(start * seconds_per_frame, TIME_DECIMALS),
                               end=round(end * seconds_per_frame, TIME_DECIMALS)))
        previous_end = end
    return snapped


def _speech_edges(speech, start, end, lowest, highest, letters):
    """[start, end) moved onto the speech frames under it, then out over adjacent speech to
    the silence on either side, within [lowest, highest); unmoved when that leaves fewer frames
    than `letters` (the speech found is not the word's: a quiet consonant, a weak model)."""
    voiced = np.flatnonzero(speech[start:end])
    if not voiced.size:
        return start, end
    first, last = start + voiced[0], start + voiced[-1] + 1
    while first > lowest and speech[first - 1]:
        first -= 1
    while last < highest and speech[last]:
        last += 1
    if last - first < letters:
        return start, end
    return int(first), int(last)
