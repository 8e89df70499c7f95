"""Word times, per-word confidence and hot words, on hand-made probability matrices.

Every matrix is built frame by frame, so where each word's characters sit is known exactly and
the expected times follow from the rule (first character frame to last character frame + 1).
"""
import dataclasses
import warnings

import numpy as np
import pytest

from char_map import BLANK_INDEX, NUM_CLASSES, char_map, int_sequence_to_text
from conftest import frames as hand_made_frames
from vui.decode import decoders as D
from vui.decode.lm import build_arpa
from vui.decode.words import (Word, align_word, greedy_words, snap_to_speech, speech_frames,
                              words_from_frames)

SPF = 0.04                         # seconds per output frame: 10 ms features, stride 4
BLANK = {"": 0.9}
SPACE = {" ": 0.9}
LM_SENTENCES = ["the six sat", "the cat sat", "six cats sat", "the dog sat"]


def frames(*specs, floor=1e-4):
    return hand_made_frames(*specs, floor=floor, dtype=np.float64)


def spell(text, p=0.9):
    """Specs spelling text, one frame a character followed by a blank frame."""
    return [spec for ch in text for spec in ({ch: p}, BLANK)]


def hi_there():
    """'hi' on frames 3-6 (h h blank i), blank and space, 'there' on frames 10-18."""
    specs = [BLANK] * 3 + [{"h": 0.9}, {"h": 0.8}, BLANK, {"i": 0.7}]      # frames 0-6
    specs += [BLANK, SPACE, BLANK]                                          # frames 7-9
    specs += [{"t": 0.9}, BLANK, {"h": 0.9}, {"e": 0.9}, BLANK, BLANK, {"r": 0.9}, BLANK,
              {"e": 0.95}]                                                  # frames 10-18
    specs += [BLANK, SPACE]                                                 # frames 19-20
    return frames(*specs)


def text_of(words):
    return " ".join(w.text for w in words)


def random_softmax(seed, n_frames=40):
    """Random outputs with many blanks and spaces, so words, doubled and edge spaces occur."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n_frames, NUM_CLASSES)) * 3
    logits[:, BLANK_INDEX] += 3
    logits[:, char_map[" "]] += 3
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "tiny.arpa"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny corpus: fallback discounts
        build_arpa(LM_SENTENCES, path, order=3)
    return str(path)


# --- greedy word times -------------------------------------------------------------------------

def test_known_positions_give_exact_times():
    words = greedy_words(hi_there(), SPF)
    assert [(w.text, w.start, w.end) for w in words] == [
        ("hi", 0.12, 0.28),          # frames 3..6: 3 * 0.04, 7 * 0.04
        ("there", 0.4, 0.76)]        # frames 10..18: 10 * 0.04, 19 * 0.04
    assert all(isinstance(w.start, float) and isinstance(w.confidence, float) for w in words)


def test_times_are_rounded_to_milliseconds():
    words = greedy_words(hi_there(), 0.0123)
    assert [(w.start, w.end) for w in words] == [(0.037, 0.086), (0.123, 0.234)]


def test_word_is_frozen():
    word = greedy_words(hi_there(), SPF)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        word.text = "ho"


def test_repeated_letters_need_a_blank_between_them():
    # h e l (blank) l o: the blank splits the two l's; l l without one is one l, as in greedy.
    probs = frames(BLANK, {"h": 0.9}, {"e": 0.9}, {"l": 0.9}, {"l": 0.9}, BLANK, {"l": 0.9},
                   {"o": 0.9}, BLANK)
    assert greedy_words(probs, SPF) == [Word("hello", 0.04, 0.32, 0.9)]
    joined = frames({"h": 0.9}, {"e": 0.9}, {"l": 0.9}, {"l": 0.9}, {"o": 0.9})
    assert [w.text for w in greedy_words(joined, SPF)] == ["helo"]


def test_word_at_the_edges_of_the_utterance():
    probs = frames({"a": 0.9}, SPACE, {"b": 0.9}, {"c": 0.9})
    assert [(w.text, w.start, w.end) for w in greedy_words(probs, 0.01)] == [
        ("a", 0.0, 0.01), ("bc", 0.02, 0.04)]


def test_no_words_in_silence_or_an_empty_output():
    assert greedy_words(frames(BLANK, SPACE, BLANK), SPF) == []
    assert greedy_words(np.zeros((0, NUM_CLASSES)), SPF) == []
    for kind in ("greedy", "beam"):
        assert D.make_decoder(kind).decode_words(frames(BLANK, BLANK), SPF) == []
        assert D.make_decoder(kind).decode_words(np.zeros((0, NUM_CLASSES)), SPF) == []


@pytest.mark.parametrize("seed", range(6))
def test_words_spell_the_greedy_transcript(seed):
    probs = random_softmax(seed)
    text = D.make_decoder("greedy").decode(probs)
    words = greedy_words(probs, 0.01)
    assert text_of(words) == text
    # each word's own frames decode to the word alone, and words do not overlap
    for word in words:
        first, last = round(word.start / 0.01), round(word.end / 0.01)
        assert D.make_decoder("greedy").decode(probs[first:last]) == word.text
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))


def test_property_check_meets_doubled_and_edge_spaces():
    """Guard: the random matrices above do exercise the spaces words cannot keep, which the
    greedy transcript drops too."""
    paths = [int_sequence_to_text(D.greedy_indices(random_softmax(seed))) for seed in range(6)]
    assert any(p != " ".join(p.split()) for p in paths)
    assert sum(len(p.split()) for p in paths) >= 12
    texts = [D.make_decoder("greedy").decode(random_softmax(seed)) for seed in range(6)]
    assert texts == [" ".join(p.split()) for p in paths]


# --- confidence --------------------------------------------------------------------------------

def test_confidence_is_the_least_sure_characters_peak():
    # 'hi': h peaks at 0.9 (frames 3-4), i at 0.7; 'there': its lowest peak is 0.9
    assert [w.confidence for w in greedy_words(hi_there(), SPF)] == pytest.approx([0.7, 0.9])


def test_less_peaked_word_is_less_confident():
    clean = hi_there()
    rng = np.random.default_rng(0)
    noisy = clean.copy()
    there = slice(10, 19)
    noisy[there] = 0.5 * clean[there] + 0.5 * rng.dirichlet(np.ones(NUM_CLASSES), size=9)
    clean_words, noisy_words = greedy_words(clean, SPF), greedy_words(noisy, SPF)
    assert text_of(noisy_words) == text_of(clean_words) == "hi there"   # same best path
    assert noisy_words[1].confidence < clean_words[1].confidence
    assert noisy_words[0].confidence == clean_words[0].confidence
    assert all(0 < w.confidence <= 1 for w in noisy_words + clean_words)


# --- beam and beam + LM words ------------------------------------------------------------------

def test_beam_words_agree_with_greedy_words_on_a_peaked_matrix():
    probs = frames(*(spell("the ") + [{"h": 0.8}, {"h": 0.9}, BLANK, {"e": 0.9}, {"l": 0.9}, BLANK,
                                      {"l": 0.7}, {"o": 0.9}] + [BLANK, SPACE] + spell("cat")))
    greedy = D.make_decoder("greedy").decode_words(probs, SPF)
    assert text_of(greedy) == "the hello cat"
    assert D.make_decoder("beam", beam_width=8).decode_words(probs, SPF) == greedy


def test_beam_lm_words_agree_with_greedy_words(lm_path):
    probs = frames(*spell("the cat sat"))
    greedy = greedy_words(probs, SPF)
    beam_lm = D.make_decoder("beam_lm", lm_path=lm_path, beam_width=8)
    assert beam_lm.decode_words(probs, SPF) == greedy
    assert text_of(greedy) == beam_lm.decode(probs) == "the cat sat"


def test_pyctcdecode_frames_are_our_frames():
    """decode_beams gives (start, end) with end = last character frame + 1, as greedy_words."""
    probs = hi_there()
    word_frames = D.make_decoder("beam").decode_beams(probs)[0][2]
    assert word_frames == [("hi", (3, 7)), ("there", (10, 19))]
    assert words_from_frames(probs, word_frames, SPF) == greedy_words(probs, SPF)


def test_beam_words_where_beam_and_greedy_differ():
    # Each frame: blank 0.6, "a" 0.4: greedy says nothing, beam search "a" (summed paths).
    probs = frames({"a": 0.4}, {"a": 0.4}, floor=0.0)
    assert greedy_words(probs, SPF) == []
    (word,) = D.make_decoder("beam").decode_words(probs, SPF)
    assert word.text == "a" and word.confidence == pytest.approx(0.4)
    assert 0 <= word.start < word.end <= 2 * SPF


def test_a_one_letter_word_held_over_several_frames_is_aligned():
    """pyctcdecode can hand a one-letter word several frames (its Viterbi has one state)."""
    probs = frames(*spell("i saw "), {"a": 0.9}, {"a": 0.8}, {"a": 0.9}, BLANK, *spell(" cat"))
    greedy = greedy_words(probs, SPF)
    assert text_of(greedy) == "i saw a cat"
    (word,) = words_from_frames(probs, [("a", (12, 15))], SPF)
    assert word == greedy[2] and (word.start, word.end) == (pytest.approx(12 * SPF),
                                                            pytest.approx(15 * SPF))
    assert text_of(D.make_decoder("beam", beam_width=8).decode_words(probs, SPF)) == "i saw a cat"


@pytest.mark.parametrize("seed", range(3))
def test_beam_words_spell_the_beam_transcript(seed):
    probs = random_softmax(seed, n_frames=30)
    beam = D.make_decoder("beam", beam_width=8)
    words = beam.decode_words(probs, 0.01)
    assert text_of(words) == beam.decode(probs)
    assert all(0 < w.confidence <= 1 and w.start < w.end for w in words)


def test_align_word_finds_the_characters_between_the_ends():
    probs = hi_there()
    runs = align_word(probs, "there", 10, 19)
    assert [(r.start, r.end) for r in runs] == [(10, 11), (12, 13), (13, 14), (16, 17), (18, 19)]
    # a doubled letter needs a blank between its two runs: three frames at least
    with pytest.raises(ValueError, match=r"'ll' cannot be aligned to frames 0..2: it needs at "
                                         "least 3 frames"):
        align_word(frames({"l": 0.9}, {"l": 0.9}), "ll", 0, 2)


# --- hot words ---------------------------------------------------------------------------------

def six_or_zyx(around=False):
    """'six' scores higher than 'zyx' on every ambiguous frame (0.6 against 0.3)."""
    word = [{"s": 0.6, "z": 0.3}, BLANK, {"i": 0.6, "y": 0.3}, BLANK, {"x": 0.9}, BLANK]
    return frames(*(spell("the ") + word + spell(" sat") if around else word))


def test_hot_word_wins_over_a_better_scoring_spelling():
    probs = six_or_zyx()
    assert D.make_decoder("beam").decode(probs) == "six"
    hot = D.make_decoder("beam", hotwords=["zyx"])
    assert hot.decode(probs) == "zyx"
    # the bonus must outweigh the acoustic gap (2 * log 2): a weight of 1 does not
    assert D.make_decoder("beam", hotwords=["zyx:1"]).decode(probs) == "six"
    (word,) = hot.decode_words(probs, SPF)
    # the confidence is acoustic: the hot word's bonus does not raise it
    assert (word.text, word.start, word.end) == ("zyx", 0.0, 0.2)
    assert word.confidence == pytest.approx(0.3)


def test_hot_word_with_a_language_model(lm_path):
    probs = six_or_zyx(around=True)
    plain = D.make_decoder("beam_lm", lm_path=lm_path)
    assert plain.decode(probs) == "the six sat"
    # zyx is outside the LM: it must outweigh the LM's preference for "six", and the prune
    # window must be wider than the weight, or the bonus it gets while being spelt pushes the
    # other beams out before the LM's penalty for the unknown word arrives.
    hot = D.make_decoder("beam_lm", lm_path=lm_path, hotwords=["zyx:20"], beam_prune_logp=-30)
    assert hot.decode(probs) == "the zyx sat"
    assert [w.text for w in hot.decode_words(probs, SPF)] == ["the", "zyx", "sat"]
    assert "hot words zyx weight 20" in hot.name


def test_parse_hotwords():
    assert D.parse_hotwords(["boat:8", "river"]) == (("boat", "river"), 8.0)
    assert D.parse_hotwords(["Boat", "red river"]) == (("boat", "red river"),
                                                       D.DEFAULT_HOTWORD_WEIGHT)
    assert D.parse_hotwords(["boat:8", "river:8.0"], weight=8) == (("boat", "river"), 8.0)
    assert D.parse_hotwords("boat", weight=3) == (("boat",), 3.0)
    assert D.parse_hotwords([]) == ((), D.DEFAULT_HOTWORD_WEIGHT)


def test_decoders_take_weighted_hot_words():
    decoder = D.make_decoder("beam", hotwords=["boat:8", "River"])
    assert (decoder.hotwords, decoder.hotword_weight) == (["boat", "river"], 8.0)
    assert D.make_decoder("beam", hotwords=["boat"], hotword_weight=4).hotword_weight == 4.0
    plain = D.make_decoder("beam")
    assert (plain.hotwords, plain.hotword_weight, plain.name) == (None, 10.0, "beam (width 32)")
    assert D.make_decoder("beam", hotwords=("zyx:20",)).decode(six_or_zyx()) == "zyx"
    assert D.make_decoder().kind == "greedy"


@pytest.mark.parametrize("specs, weight, message", [
    (["boat:8", "river:3"], None, r"different weights \('boat:8', 'river:3'\)"),
    (["boat:8"], 5, r"different weights \(hotword_weight, 'boat:8'\)"),
    (["boat:x"], None, r"hot word 'boat:x': the weight must be a finite number"),
    (["boat:inf"], None, "finite number"),
    (["b0at"], None, r"hot word 'b0at' has characters outside the alphabet .*'0'"),
    (["at&t"], None, r"hot word 'at&t' has characters outside the alphabet .*'&'"),
    ([":8"], None, "hot word ':8' is empty"),
    ([7], None, "expected a string"),
])
def test_bad_hot_words(specs, weight, message):
    with pytest.raises(ValueError, match=message):
        D.parse_hotwords(specs, weight)
    with pytest.raises(ValueError, match=message):
        D.make_decoder("beam", hotwords=specs, hotword_weight=weight)


def test_greedy_refuses_hot_words():
    with pytest.raises(ValueError, match=r"'greedy' cannot use hot words \(zyx\).*'beam'"):
        D.make_decoder("greedy", hotwords=["zyx"])
    assert D.make_decoder("greedy", hotwords=[]).kind == "greedy"


# --- bad inputs --------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds_per_frame", [-0.04, 0, float("nan"), float("inf"), "fast", None,
                                               True])
def test_bad_seconds_per_frame(seconds_per_frame):
    probs = hi_there()
    message = r"seconds_per_frame must be a positive, finite number of seconds"
    with pytest.raises(ValueError, match=message):
        greedy_words(probs, seconds_per_frame)
    for kind in ("greedy", "beam"):
        with pytest.raises(ValueError, match=message):
            D.make_decoder(kind).decode_words(probs, seconds_per_frame)


def test_bad_probabilities():
    with pytest.raises(ValueError, match=r"shape \(time, 29\) for one utterance, got shape "
                                         r"\(10, 28\)"):
        greedy_words(np.ones((10, 28)) / 28, SPF)
    with pytest.raises(ValueError, match=r"got shape \(2, 21, 29\)"):
        greedy_words(np.stack([hi_there()] * 2), SPF)
    with pytest.raises(ValueError, match="logits or log-probabilities"):
        greedy_words(np.log(hi_there()), SPF)
    with pytest.raises(ValueError, match="NaN"):
        greedy_words(np.full((3, NUM_CLASSES), np.nan), SPF)
    with pytest.raises(ValueError, match=r"shape \(time, 29\)"):
        D.make_decoder("beam").decode_words(np.ones((4, 30)) / 30, SPF)


def test_bad_word_frames():
    probs = hi_there()
    with pytest.raises(ValueError, match=r"word 'hi': frames 3..40 lie outside the utterance's "
                                         "21 frames"):
        words_from_frames(probs, [("hi", (3, 40))], SPF)
    with pytest.raises(ValueError, match="character ' ' is not a letter"):
        words_from_frames(probs, [("h i", (3, 7))], SPF)


# ------------------------------------------------------------- edges at the speech (audio)

def speech_mask(*spans, frames=21):
    mask = np.zeros(frames, bool)
    for start, end in spans:
        mask[start:end] = True
    return mask


def test_word_edges_move_to_the_speech_around_their_letters():
    """'hi' has letters on frames 3-6 and 'there' on 10-18; the sound of 'hi' is 1-7 (letters
    late and early), that of 'there' 12-19 (its first letter on silence)."""
    words = greedy_words(hi_there(), SPF)
    assert [(w.start, w.end) for w in words] == [(0.12, 0.28), (0.4, 0.76)]
    speech = speech_mask((1, 8), (12, 20))
    snapped = D.make_decoder("greedy").decode_words(hi_there(), SPF, speech=speech)
    assert [(w.text, w.start, w.end) for w in snapped] == [("hi", 0.04, 0.32),
                                                          ("there", 0.48, 0.8)]
    assert [w.confidence for w in snapped] == [w.confidence for w in words]


def test_a_word_never_grows_into_its_neighbours_letters():
    """Speech without a pause from frame 0 to the end: 'hi' reaches back to the start and on
    to the frame before the first letter of 'there', which keeps its own start."""
    snapped = snap_to_speech(greedy_words(hi_there(), SPF), np.ones(21, bool), SPF)
    assert [(w.start, w.end) for w in snapped] == [(0.0, 0.4), (0.4, 0.84)]


def test_letters_on_no_speech_keep_their_frames():
    words = greedy_words(hi_there(), SPF)
    assert snap_to_speech(words, np.zeros(21, bool), SPF) == words


def test_a_word_is_not_shrunk_to_fewer_frames_than_its_letters():
    """'there' (letters on frames 10-18) over one loud frame: five letters cannot fit in one
    frame, so that speech is not the word's whole sound, and the word keeps its times; 'hi'
    over two speech frames fits and moves there."""
    words = greedy_words(hi_there(), SPF)
    snapped = snap_to_speech(words, speech_mask((4, 6), (14, 15)), SPF)
    assert [(w.text, w.start, w.end) for w in snapped] == [("hi", 0.16, 0.24),
                                                          ("there", 0.4, 0.76)]


def test_speech_frames_are_loud_frames_above_the_background():
    rate, spf = 16000, 0.04
    hop = int(rate * spf)
    rng = np.random.default_rng(0)
    audio = 1e-3 * rng.standard_normal(10 * hop)             # a steady background: not speech
    audio[3 * hop + hop // 2:6 * hop] += 0.3 * np.sin(np.arange(int(2.5 * hop)) / 3)
    mask = speech_frames(audio, rate, spf, 12)               # two frames past the audio's end
    assert mask.tolist() == [False] * 3 + [True] * 3 + [False] * 6
    assert speech_frames(np.zeros(5 * hop), rate, spf, 5).tolist() == [False] * 5
    with pytest.raises(ValueError, match="speech has 20 frames; expected one per output frame"):
        D.make_decoder("greedy").decode_words(hi_there(), SPF, speech=np.ones(20, bool))
