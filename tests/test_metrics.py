"""Per-utterance error counts against jiwer's corpus rates, and the speaker bootstrap against a
plain numpy cluster bootstrap."""
import numpy as np
import pytest

from vui.infer.evaluation import Evaluation
from vui.decode.metrics import cer_wer, speaker_interval, utterance_errors

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "home"]


def noisy_pairs(n, error_rate, rng):
    """References of random words, hypotheses with each character changed at `error_rate`."""
    refs, hyps = [], []
    for _ in range(n):
        ref = " ".join(rng.choice(WORDS, size=rng.integers(2, 6)))
        hyp = "".join("x" if c != " " and rng.random() < error_rate else c for c in ref)
        refs.append(ref)
        hyps.append(hyp)
    return refs, hyps


def cluster_bootstrap(edits, lengths, n_resamples, confidence, rng):
    """The reference: resample whole speakers with replacement, percentile interval."""
    n = len(edits)
    rates = []
    for _ in range(n_resamples):
        pick = rng.integers(0, n, n)
        rates.append(edits[pick].sum() / lengths[pick].sum())
    tail = 100 * (1 - confidence) / 2
    return np.percentile(rates, [tail, 100 - tail])


def test_utterance_errors_sum_to_the_corpus_rates():
    rng = np.random.default_rng(0)
    refs, hyps = noisy_pairs(40, 0.3, rng)
    hyps[3] = hyps[3] + " extra"        # an insertion
    hyps[5] = ""                        # every character deleted
    cer, wer = cer_wer(refs, hyps)
    edits, lengths = utterance_errors(refs, hyps, "char")
    assert edits.sum() / lengths.sum() == pytest.approx(cer)
    assert lengths[5] == len(refs[5]) and edits[5] == len(refs[5])
    words, word_lengths = utterance_errors(refs, hyps, "word")
    assert words.sum() / word_lengths.sum() == pytest.approx(wer)
    assert word_lengths[0] == len(refs[0].split())
    with pytest.raises(ValueError, match="unit='phone'"):
        utterance_errors(refs, hyps, "phone")


def test_speaker_interval_matches_a_numpy_cluster_bootstrap():
    rng = np.random.default_rng(1)
    refs, hyps, speakers = [], [], []
    for s, rate in enumerate(rng.uniform(0.05, 0.6, size=12)):   # speakers unlike each other
        r, h = noisy_pairs(10, rate, rng)
        refs += r
        hyps += h
        speakers += [f"speaker{s}"] * 10
    low, high = speaker_interval(refs, hyps, speakers, n_resamples=20000, seed=3)
    edits, lengths = utterance_errors(refs, hyps)
    group = np.unique(speakers, return_inverse=True)[1]
    expected = cluster_bootstrap(np.bincount(group, edits), np.bincount(group, lengths),
                                 20000, 0.95, np.random.default_rng(4))
    assert (low, high) == pytest.approx(tuple(expected), abs=0.01)
    assert low < cer_wer(refs, hyps)[0] < high
    assert speaker_interval(refs, hyps, speakers, seed=5) == speaker_interval(refs, hyps,
                                                                             speakers, seed=5)
    # Each utterance its own "speaker": the utterance bootstrap, too narrow for clustered errors.
    narrow = speaker_interval(refs, hyps, [str(i) for i in range(len(refs))])
    assert narrow[1] - narrow[0] < 0.7 * (high - low)


def test_paired_difference_between_two_systems():
    rng = np.random.default_rng(2)
    refs, worse = noisy_pairs(60, 0.4, rng)
    speakers = [f"s{i % 6}" for i in range(60)]
    better = [r if i % 2 else w for i, (r, w) in enumerate(zip(refs, worse))]  # half fixed
    assert speaker_interval(refs, worse, speakers, baseline=worse) == (0.0, 0.0)
    low, high = speaker_interval(refs, better, speakers, baseline=worse)
    difference = cer_wer(refs, better)[0] - cer_wer(refs, worse)[0]
    assert high < 0 and low <= difference <= high


def test_speaker_interval_refuses_what_it_cannot_resample():
    with pytest.raises(ValueError, match="at least 2 speakers.*got 1 \\(alice\\)"):
        speaker_interval(["a b", "c"], ["a b", "d"], ["alice", "alice"])
    with pytest.raises(ValueError, match="one speaker per utterance: got 1 speakers for 2"):
        speaker_interval(["a b", "c"], ["a b", "d"], ["alice"])
    with pytest.raises(ValueError, match="speaker of each utterance; got None"):
        speaker_interval(["a b", "c"], ["a b", "d"], None)


def test_evaluation_interval_compares_only_the_same_utterances():
    def evaluation(refs, hyps, speakers):
        cer, wer = cer_wer(refs, hyps)
        return Evaluation(cer, wer, len(refs), 1.0, 1.0, "greedy", refs, hyps,
                          speakers=speakers)
    a = evaluation(["the cat", "a dog", "the mat"], ["the cat", "a dig", "the mat"], list("xyz"))
    b = evaluation(["the cat", "a dog", "the mat"], ["the cut", "a dig", "the mat"], list("xyz"))
    low, high = a.interval(baseline=b)
    assert low <= cer_wer(a.references, a.hypotheses)[0] - b.cer <= high <= 0
    other = evaluation(["the cat", "a dog"], ["the cat", "a dog"], list("xy"))
    with pytest.raises(ValueError, match="baseline evaluated other utterances"):
        a.interval(baseline=other)
    assert evaluation(["the cat", "a dog"], ["the cat", "a dig"], ["x", "x"]).interval() is None
