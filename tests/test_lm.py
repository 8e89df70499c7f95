"""vui.decode.lm: interpolated modified Kneser-Ney against hand arithmetic, against KenLM's own estimator
(lmplz, built from source once to produce the reference numbers below) and against kenlm.Model."""
import json
import math
import warnings

import kenlm
import pytest

from vui.decode import lm as L

TINY = ["the cat sat", "the cat ran", "a dog sat", "the dog sat"]

# `lmplz -o 2 --discount_fallback < tiny.txt` (KenLM, commit of the kpu/kenlm mirror), verbatim.
LMPLZ_TINY_ORDER2 = """
-1.20412	<unk>	0
0	<s>	-0.045757506
-0.78914666	</s>	0
-0.9488475	the	-0.5740313
-0.9488475	cat	-0.22184873
-0.78914666	sat	0
-0.9488475	ran	-0.22184873
-0.9488475	a	-0.22184873
-0.78914666	dog	-1.0000001
-0.78914666	sat </s>
-0.30320695	ran </s>
-0.994605	<s> the
-0.20065947	the cat
-0.5265131	cat sat
-0.037985988	dog sat
-0.57267624	cat ran
-0.69626415	<s> a
-0.7528454	the dog
-0.30320695	a dog
"""

# A corpus big enough for lmplz to estimate every order's discounts itself (no fallback).
SMALL = ("the cat sat on the mat|the dog sat on the log|the cat ran to the dog|a dog ran to the mat|"
         "the bird sat on a log|a cat sat on the log|the dog ran home|the cat ran home|"
         "a bird flew home|the bird flew to the cat|the dog sat on the mat|a cat sat on a mat|"
         "the cat sat|the dog ran|a bird sat on the dog|the bird ran to a cat|the cat sat quietly"
         ).split("|")
# `lmplz -o 3 < small.txt`: its "Statistics" lines (D1, D2, D3+ per order) and some ARPA lines.
LMPLZ_SMALL_DISCOUNTS = [(0.176471, 1.69748, 3.0), (0.422222, 1.70769, 3.0),
                         (0.516129, 1.5871, 2.48387)]
LMPLZ_SMALL_ORDER3 = """
-1.3343847	<unk>	0
0	<s>	-0.45229766
-0.7412699	</s>	0
-1.3343847	the	-0.09331609
-1.1639216	on	-0.37445888
-1.1639216	flew	-0.37445888
-0.26300287	<s> the	-0.20693097
-1.1167662	the cat	-0.116613366
-1.2780579	sat on	-0.2354004
-0.9543496	bird flew	-0.28724173
-0.26855224	sat on the
-0.8016552	the cat sat
-0.75346184	<s> a bird
-0.3947901	bird flew home
-0.66734535	cat sat quietly
"""


def parse_arpa_lines(text):
    table = {}
    for line in text.strip().splitlines():
        parts = line.split("\t")
        table[parts[1]] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else None)
    return table


def read_arpa(path):
    table, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.endswith("-grams:"):
                section = True
            elif section and line and not line.startswith("\\"):
                parts = line.split("\t")
                table[parts[1]] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else None)
    return table


def build_quiet(sentences, path, order):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return L.build_arpa(sentences, path, order=order)


def test_hand_computed_bigram_model(tmp_path):
    model = build_quiet(TINY, tmp_path / "tiny.arpa", order=2)
    # Bigram counts (raw, highest order): <s> the 3, sat </s> 3, the cat 2, dog sat 2, and six
    # bigrams seen once -> n1=6, n2=2, n3=2, n4=0; Y = 6/(6+2*2) = 0.6;
    # D1 = 1 - 2*0.6*2/6 = 0.6, D2 = 2 - 3*0.6*2/2 = 0.2, D3+ = 3 - 4*0.6*0/2 = 3.
    assert model.discounts[1].d1 == pytest.approx(0.6)
    assert model.discounts[1].d2 == pytest.approx(0.2)
    assert model.discounts[1].d3 == pytest.approx(3.0)
    # Unigram adjusted counts = distinct left neighbours: the 1 (<s>), cat 1, ran 1, a 1,
    # sat 2 (cat, dog), dog 2 (a, the), </s> 2 (sat, ran): n3 = 0, so lmplz's fallback
    # discounts 0.5 / 1 / 1.5 apply. Total 10; gamma() = (0.5*4 + 1*3)/10 = 0.5;
    # uniform over 8 (6 words, </s>, <unk>) = 0.125.
    assert model.discounts[0] == L.Discounts(0.5, 1.0, 1.5)
    p1 = model.prob[0]
    assert p1[("the",)] == pytest.approx((1 - 0.5) / 10 + 0.5 / 8)        # 0.1125
    assert p1[("sat",)] == pytest.approx((2 - 1.0) / 10 + 0.5 / 8)        # 0.1625
    assert p1[("<unk>",)] == pytest.approx(0.5 / 8)                       # 0.0625
    p2 = model.prob[1]
    # context "the": a(the cat)=2, a(the dog)=1; gamma = (0.2 + 0.6)/3
    assert p2[("the", "cat")] == pytest.approx((2 - 0.2) / 3 + 0.8 / 3 * 0.1125)   # 0.63
    assert model.backoff[0][("the",)] == pytest.approx(0.8 / 3)
    # context <s>: a(<s> the)=3 (discount 3: all its mass moves down), a(<s> a)=1; gamma = 3.6/4
    assert p2[("<s>", "the")] == pytest.approx(0 + 0.9 * 0.1125)               # 0.10125
    # context cat: sat 1, ran 1; gamma = 1.2/2. context sat: </s> 3; gamma = 3/3.
    assert p2[("cat", "sat")] == pytest.approx(0.4 / 2 + 0.6 * 0.1625)         # 0.2975
    assert p2[("sat", "</s>")] == pytest.approx(0 + 1.0 * 0.1625)              # 0.1625
    expected = math.log10(0.10125) + math.log10(0.63) + math.log10(0.2975) + math.log10(0.1625)
    assert model.sentence_log10("the cat sat") == pytest.approx(expected)


def test_matches_lmplz_with_fallback_discounts(tmp_path):
    path = tmp_path / "tiny.arpa"
    build_quiet(TINY, path, order=2)
    ours, reference = read_arpa(path), parse_arpa_lines(LMPLZ_TINY_ORDER2)
    assert set(ours) == set(reference)
    for gram, (logp, backoff) in reference.items():
        assert ours[gram][0] == pytest.approx(logp, abs=2e-6), gram
        assert (ours[gram][1] or 0.0) == pytest.approx(backoff or 0.0, abs=2e-6), gram


def test_matches_lmplz_estimated_discounts_order3(tmp_path):
    path = tmp_path / "small.arpa"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback may be needed here
        model = L.build_arpa(SMALL, path, order=3)
    for ours, theirs in zip(model.discounts, LMPLZ_SMALL_DISCOUNTS):
        assert (ours.d1, ours.d2, ours.d3) == pytest.approx(theirs, abs=1e-5)
    ours = read_arpa(path)
    assert [len(model.prob[n]) for n in range(3)] == [17, 37, 54]   # lmplz's ngram counts
    for gram, (logp, backoff) in parse_arpa_lines(LMPLZ_SMALL_ORDER3).items():
        assert ours[gram][0] == pytest.approx(logp, abs=2e-6), gram
        assert (ours[gram][1] or 0.0) == pytest.approx(backoff or 0.0, abs=2e-6), gram


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_context_sums_to_one(tmp_path, order):
    model = build_quiet(SMALL, tmp_path / "m.arpa", order=order)
    vocabulary = [g[0] for g in model.prob[0] if g[0] != "<s>"]
    contexts = {g[:-1] for n in range(order) for g in model.prob[n]}
    contexts |= {("unseen",), ("the", "unseen")} if order > 2 else set()
    for context in contexts:
        total = sum(model.probability(w, context) for w in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-9), context


def test_kenlm_loads_and_scores_like_our_tables(tmp_path):
    path = tmp_path / "small.arpa"
    model = build_quiet(SMALL, path, order=3)
    kenlm_model = kenlm.Model(str(path))
    assert kenlm_model.order == 3
    for sentence in ["the cat sat on the mat", "a bird flew to the log", "the zebra sat home",
                     "cat the mat on"]:
        assert kenlm_model.score(sentence) == pytest.approx(model.sentence_log10(sentence),
                                                            abs=1e-4), sentence
    assert kenlm_model.score("the cat sat on the mat") > kenlm_model.score("mat the on sat cat the")


def test_build_from_index_and_text_file(tmp_path):
    index = tmp_path / "train_corpus.json"
    index.write_text("".join(json.dumps({"key": f"a{i}.wav", "duration": 1.0, "text": t}) + "\n"
                             for i, t in enumerate(SMALL)))
    text = tmp_path / "extra.txt"
    text.write_text("\n".join(SMALL) + "\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = L.build_lm_from_index(index, tmp_path / "a.arpa")
        b = L.build_lm_from_index(text, tmp_path / "b.arpa")
        c = L.build_lm_from_index(SMALL, tmp_path / "c.arpa")
    assert read_arpa(a) == read_arpa(b) == read_arpa(c)
    assert sorted(L.read_arpa_vocabulary(a)) == sorted(set(" ".join(SMALL).split()))


def test_text_is_normalised_and_unspellable_sentences_dropped(tmp_path):
    with pytest.warns(UserWarning, match="left out 2 sentence"):
        model = L.build_arpa(["The CAT, sat!", "it cost 5 euros", "don’t stop", "he said ' no '",
                              "rock & roll"], tmp_path / "n.arpa", order=2)
    words = {g[0] for g in model.prob[0]}
    assert {"the", "cat", "sat", "don't", "stop", "no"} <= words
    assert not {"5", "'", "rock", "roll", "euros"} & words    # said as words: "and", "five"


def test_bad_input_errors(tmp_path):
    with pytest.raises(ValueError, match="no usable sentences"):
        L.build_arpa(["", "  "], tmp_path / "e.arpa")
    with pytest.raises(ValueError, match="order"):
        L.build_arpa(TINY, tmp_path / "e.arpa", order=9)
    with pytest.raises(TypeError, match="not one string"):
        L.build_arpa("the cat sat", tmp_path / "e.arpa")
    with pytest.raises(ValueError, match="nowhere.json"):
        L.build_lm_from_index(tmp_path / "nowhere.json", tmp_path / "e.arpa")
    bad = tmp_path / "bad.json"
    bad.write_text('{"key": "a.wav"}\n')
    with pytest.raises(ValueError, match="bad.json, line 1"):
        L.build_lm_from_index(bad, tmp_path / "e.arpa")
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(ValueError, match=r"text file '.*empty.txt' holds no text; expected one"):
        L.build_lm_from_index(tmp_path / "empty.txt", tmp_path / "e.arpa")
    (tmp_path / "a.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\xff\xfe")
    with pytest.raises(ValueError, match=r"text file '.*a.wav', line 1: not UTF-8 text \(byte "
                                         r"0xff at column 19\)"):
        L.build_lm_from_index(tmp_path / "a.wav", tmp_path / "e.arpa")
    (tmp_path / "late.txt").write_bytes(b"the cat sat\n" * 2000 + b"caf\xe9 au lait\n")
    with pytest.raises(ValueError, match=r"late.txt', line 2001: not UTF-8 text \(byte 0xe9 "
                                         r"at column 4\)"):       # 24 kB in: placed by line
        L.build_lm_from_index(tmp_path / "late.txt", tmp_path / "e.arpa")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfcaf\xe9\n")      # counted past the BOM
    with pytest.raises(ValueError, match=r"bom.txt', line 1: not UTF-8 text \(byte 0xe9 at "
                                         r"column 7\)"):
        L.build_lm_from_index(tmp_path / "bom.txt", tmp_path / "e.arpa")
    assert not (tmp_path / "e.arpa").exists()


def test_tune_lm_weights_picks_lm_weight_that_fixes_errors(tmp_path):
    import numpy as np
    from char_map import BLANK_INDEX, NUM_CLASSES, char_map
    from vui.decode.decoders import make_decoder
    from vui.decode.lm_tuning import load_lm_weights, save_lm_weights, tune_lm_weights

    def spell(text, wrong_at):
        rows = []
        for i, ch in enumerate(text):
            row = np.full(NUM_CLASSES, 1e-4)
            if i == wrong_at:  # acoustically "e" slightly ahead of the true vowel
                row[char_map["e"]], row[char_map[ch]] = 0.5, 0.4
            else:
                row[char_map[ch]] = 0.9
            row[BLANK_INDEX] += 1 - row.sum()
            blank = np.full(NUM_CLASSES, 1e-4)
            blank[BLANK_INDEX] += 1 - blank.sum()
            rows += [row, blank]
        return np.array(rows)

    path = tmp_path / "small.arpa"
    build_quiet(SMALL, path, order=3)
    references = ["the cat sat on the mat", "a dog ran home", "the bird flew to the cat"]
    probs = [spell(t, t.index(v)) for t, v in zip(references, ["a", "o", "i"])]
    result = tune_lm_weights(probs, references, path, alphas=(0.0, 0.5), betas=(0.0, 1.0),
                             beam_width=16, progress=False)
    assert len(result["grid"]) == 4
    # alpha 0 is not plain beam search in pyctcdecode (spelling a non-word prefix still costs
    # -10 while the word is open), so it already fixes some errors, but not all of them.
    at_zero = [g for g in result["grid"] if g["alpha"] == 0.0]
    assert all(g["wer"] > 0 for g in at_zero)
    assert make_decoder("beam", beam_width=16).decode_batch(probs) == [
        "the cet sat on the mat", "a deg ran home", "the berd flew to the cat"]
    assert result["alpha"] == 0.5 and result["wer"] == 0.0
    in_process = tune_lm_weights(probs, references, path, alphas=(0.0, 0.5), betas=(0.0, 1.0),
                                 beam_width=16, progress=False, workers=0)
    assert in_process == result                   # the worker processes decode the same
    decoder = make_decoder("beam_lm", lm_path=path, alpha=result["alpha"], beta=result["beta"],
                           beam_width=16)
    assert decoder.decode_batch(probs) == references
    saved = save_lm_weights(result, tmp_path / "results" / "model.lm.json")
    assert load_lm_weights(saved) == result
    with pytest.raises(ValueError, match="one reference per utterance"):
        tune_lm_weights(probs, references[:2], path)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not an LM weights file"):
        load_lm_weights(tmp_path / "other.json")


def test_a_tuned_weight_on_its_grids_edge_is_pointed_out():
    from vui.decode.lm_tuning import edges_reached
    grid = [{"alpha": a, "beta": b} for a in (0.0, 0.5, 1.5) for b in (0.0, 1.0, 3.0)]
    assert edges_reached({"alpha": 0.5, "beta": 1.0, "grid": grid}) == []
    assert edges_reached({"alpha": 0.0, "beta": 0.0, "grid": grid}) == []   # 0: no LM, no bonus
    assert edges_reached({"alpha": 1.5, "beta": 3.0, "grid": grid}) == [
        "alpha 1.5 is the largest tried (--alphas to widen the grid)",
        "beta 3 is the largest tried (--betas to widen the grid)"]
    assert edges_reached({"alpha": 0.5, "beta": 1.0,
                          "grid": [{"alpha": 0.5, "beta": 1.0}]}) == []       # one point: no grid
