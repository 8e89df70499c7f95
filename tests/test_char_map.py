import pytest

import char_map as C


def test_alphabet_matches_seed_indices():
    assert C.char_map["'"] == 0 and C.char_map[" "] == 1
    assert C.char_map["a"] == 2 and C.char_map["z"] == 27
    assert C.BLANK_INDEX == 28 and C.NUM_CLASSES == 29


def test_round_trip_and_blank_is_skipped():
    seq = C.text_to_int_sequence("Don't  panic!")
    assert C.int_sequence_to_text(seq) == "don't panic"
    assert C.int_sequence_to_text(seq + [C.BLANK_INDEX, -1]) == "don't panic"


@pytest.mark.parametrize("raw, expected", [
    ("Hello, World.", "hello world"),
    ("well-known   facts", "well known facts"),
    ("It\u2019s \"quoted\"; (fine)", "it's quoted fine"),
    ("  tabs\tand\nnewlines ", "tabs and newlines"),
])
def test_normalize_text(raw, expected):
    assert C.normalize_text(raw) == expected


@pytest.mark.parametrize("text, bad", [("room 101", "01"), ("caf\u00e9 society", "\u00e9"),
                                       ("fish & chips", "&"), ("me @ home", "@")])   # said as words
def test_out_of_alphabet_is_an_error_naming_the_utterance(text, bad):
    with pytest.raises(C.TranscriptError) as err:
        C.text_to_int_sequence(text, utterance="spk/ch/utt-0001.flac")
    assert "spk/ch/utt-0001.flac" in str(err.value)
    for ch in bad:
        assert ch in str(err.value)
