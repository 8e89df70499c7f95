"""Character and word error rates: the one implementation that train_utils, the decoders' tuning
and the benchmarks share, so that every table in the project counts errors the same way.

jiwer does the edit-distance work; this module only normalises both sides with the alphabet's
`normalize_text` (references may carry punctuation and capitals, hypotheses never do) and checks
the inputs, so that a mismatch in lengths is an error instead of a silently truncated score.
"""
import jiwer
import numpy as np

from char_map import normalize_text

ERROR_UNITS = {"char": jiwer.process_characters, "word": jiwer.process_words}
INTERVAL_CONFIDENCE = 0.95     # speaker_interval's default level
INTERVAL_RESAMPLES = 2000      # the interval's ends vary by ~0.1 point (s.d.) with the seed


def _check_pairs(references, hypotheses):
    references = [normalize_text(r) for r in references]
    hypotheses = [normalize_text(h) for h in hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(f"cer_wer needs one hypothesis per reference: got {len(references)} "
                         f"references and {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("cer_wer needs at least one reference/hypothesis pair; got none")
    if not any(references):
        raise ValueError("cer_wer: every reference is empty after normalisation, so error rates "
                         "are undefined; check the transcripts")
    return references, hypotheses


def cer_wer(references, hypotheses):
    """Corpus-level (CER, WER): total edits over total reference characters / words.

    Corpus-level rather than a mean of per-utterance rates, because short utterances would
    otherwise weigh as much as long ones (this is how jiwer, Kaldi and the literature report).
    """
    references, hypotheses = _check_pairs(references, hypotheses)
    return float(jiwer.cer(references, hypotheses)), float(jiwer.wer(references, hypotheses))


def seen_word_errors(references, hypotheses, vocabulary):
    """Word errors split by whether the reference word occurs in `vocabulary` (the training
    transcripts' words): {"seen": (words, errors), "unseen": (words, errors), "inserted": n}.

    A character model spells a word it never heard from its sound alone, so a WER that mixes
    both kinds cannot say whether the acoustics or the spelling fails. Substituted and deleted
    reference words are errors; inserted hypothesis words belong to no reference word and are
    counted apart. jiwer aligns; this only attributes its alignment chunks to words.
    """
    references, hypotheses = _check_pairs(references, hypotheses)
    vocabulary = set(vocabulary)
    counts = {"seen": [0, 0], "unseen": [0, 0]}
    inserted = 0
    output = jiwer.process_words(references, hypotheses)
    for words, chunks in zip(output.references, output.alignments):
        for chunk in chunks:
            if chunk.type == "insert":
                inserted += chunk.hyp_end_idx - chunk.hyp_start_idx
                continue
            for word in words[chunk.ref_start_idx:chunk.ref_end_idx]:
                row = counts["seen" if word in vocabulary else "unseen"]
                row[0] += 1
                row[1] += chunk.type != "equal"
    return {"seen": tuple(counts["seen"]), "unseen": tuple(counts["unseen"]),
            "inserted": inserted}


def utterance_errors(references, hypotheses, unit="char"):
    """Per utterance, (edits, reference length) as two int arrays, in characters or words:
    the parts whose sums give cer_wer's corpus-level rate (edits.sum() / lengths.sum()), kept
    apart so that a rate can be resampled (speaker_interval) or broken down."""
    references, hypotheses = _check_pairs(references, hypotheses)
    if unit not in ERROR_UNITS:
        raise ValueError(f"unit={unit!r}: expected one of {sorted(ERROR_UNITS)}")
    output = ERROR_UNITS[unit](references, hypotheses)
    edits = [sum(_chunk_edits(chunk) for chunk in chunks) for chunks in output.alignments]
    lengths = [len(units) for units in output.references]
    return np.asarray(edits, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def _chunk_edits(chunk):
    if chunk.type == "equal":
        return 0
    if chunk.type == "insert":
        return chunk.hyp_end_idx - chunk.hyp_start_idx
    return chunk.ref_end_idx - chunk.ref_start_idx    # substitute, delete


def speaker_interval(references, hypotheses, speakers, unit="char", baseline=None,
                     confidence=INTERVAL_CONFIDENCE, n_resamples=INTERVAL_RESAMPLES, seed=0):
    """A bootstrap confidence interval (low, high) for the corpus-level error rate, or, with
    `baseline` (another system's hypotheses for the same utterances), for the difference
    rate(hypotheses) - rate(baseline).

    Speakers, not utterances, are resampled: one talker's utterances fail together (an
    unseen voice is one draw, however many sentences it reads), so an utterance bootstrap
    would be too narrow. Paired over the same speakers, a difference between two systems is
    usually much tighter than either interval (their errors move together).
    scipy.stats.bootstrap does the resampling (percentile method); this only sums each
    speaker's edits and reference lengths.
    """
    from scipy.stats import bootstrap
    if speakers is None:
        raise ValueError("speaker_interval needs the speaker of each utterance; got None "
                         "(an Evaluation made before it recorded speakers?)")
    if len(speakers) != len(references):
        raise ValueError(f"speaker_interval needs one speaker per utterance: got "
                         f"{len(speakers)} speakers for {len(references)} utterances")
    names, group = np.unique(np.asarray(speakers, dtype=str), return_inverse=True)
    if len(names) < 2:
        raise ValueError(f"speaker_interval needs at least 2 speakers to resample; got "
                         f"{len(names)} ({', '.join(names)})")
    edits, lengths = utterance_errors(references, hypotheses, unit)
    samples = [np.bincount(group, edits), np.bincount(group, lengths)]
    if baseline is not None:
        samples.append(np.bincount(group, utterance_errors(references, baseline, unit)[0]))
    result = bootstrap(samples, _rate_statistic, paired=True, vectorized=True,
                       confidence_level=confidence, n_resamples=n_resamples,
                       method="percentile", rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _rate_statistic(edits, lengths, baseline_edits=None, axis=-1):
    rate = edits.sum(axis=axis) / lengths.sum(axis=axis)
    if baseline_edits is None:
        return rate
    return rate - baseline_edits.sum(axis=axis) / lengths.sum(axis=axis)
