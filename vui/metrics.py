"""Character and word error rates: the one implementation that train_utils, the decoders' tuning
and the benchmarks share, so that every table in the project counts errors the same way.

jiwer does the edit-distance work; this module only normalises both sides with the alphabet's
`normalize_text` (references may carry punctuation and capitals, hypotheses never do) and checks
the inputs, so that a mismatch in lengths is an error instead of a silently truncated score.
"""
import jiwer

from char_map import normalize_text


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
