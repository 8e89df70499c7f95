"""Word n-gram language models in ARPA format, estimated with interpolated modified Kneser-Ney.

Why hand-written: KenLM's estimator (lmplz) is in no Debian package and the kenlm pip module only
*reads* models, so this module re-implements what lmplz computes (Chen & Goodman 1998, as in
KenLM's lm/builder: adjusted counts, three discounts per order from the counts of counts,
interpolation down to a uniform distribution over the vocabulary with <unk>, backoffs for every
context). tests/test_lm.py checks it against hand-computed values and against ARPA files that
lmplz itself wrote (equal to 1e-6 in log10, lmplz's float32 precision). One deliberate
difference: lmplz takes the counts of counts for the discounts from the *raw* count of the last
n-gram of each order in its sorted stream (the final loop of lm/builder/adjust_counts.cc), not its
adjusted count; we use adjusted counts for all, as Chen & Goodman define them. On real corpora the
discounts then differ in the fourth digit at most. The ARPA file is what the decoder loads (kenlm.Model reads it directly);
a KenLM binary is only a loading-speed optimisation and is not built here.

Text is normalised with char_map.normalize_text so the LM's words are spelled exactly like the
decoder's output; sentences with characters outside the alphabet (digits, accents) are left out.
"""
import math
import os
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass

from char_map import normalize_text, unspellable
from vui import atomic

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
DEFAULT_ORDER = 3
MAX_ORDER = 6
# lmplz --discount_fallback's values, used when the counts of counts cannot give discounts
# (tiny or artificial corpora): D1, D2, D3+.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class Discounts:
    """Modified Kneser-Ney discounts for one order: D(c) for adjusted counts 1, 2 and 3+."""
    d1: float
    d2: float
    d3: float

    def of(self, count):
        return (0.0, self.d1, self.d2, self.d3)[min(count, 3)]


def normalize_sentences(sentences):
    """Normalised word lists; sentences that are empty or not spellable in the alphabet are
    dropped (with one warning giving how many and an example). Unspellable, as for transcripts
    (char_map.unspellable): digits, other letters, and & % @ #, which are said as words ("rock
    & roll" is not "rock roll"). Tokens without a letter (a quote mark left standing alone:
    "he said ' no '") are not words and are left out."""
    kept, dropped = [], []
    for sentence in sentences:
        words = [w for w in normalize_text(sentence).split() if w.strip("'")]
        if unspellable(sentence):
            dropped.append(sentence)
        elif words:
            kept.append(words)
    if dropped:
        warnings.warn(f"language model: left out {len(dropped)} sentence(s) with characters "
                      f"outside the alphabet, e.g. {dropped[0]!r}", stacklevel=3)
    return kept


def count_ngrams(sentences, order):
    """Raw counts of every n-gram (n = 1..order) inside "<s> w1 .. wk </s>" (unigram <s> left
    out: it is never predicted). sentences: lists of words."""
    counts = [Counter() for _ in range(order)]
    for words in sentences:
        padded = [BOS] + list(words) + [EOS]
        for n in range(1, order + 1):
            for i in range(len(padded) - n + 1):
                gram = tuple(padded[i:i + n])
                if gram != (BOS,):
                    counts[n - 1][gram] += 1
    return counts


def adjust_counts(raw):
    """Kneser-Ney adjusted counts: raw counts for the highest order and for n-grams starting with
    <s> (nothing can precede them); otherwise the number of distinct words seen to their left."""
    order = len(raw)
    adjusted = [Counter() for _ in range(order)]
    adjusted[-1] = Counter(raw[-1])
    for n in range(order - 1):
        for gram in raw[n + 1]:
            if gram[1] != BOS:
                adjusted[n][gram[1:]] += 1
        for gram, count in raw[n].items():
            if gram[0] == BOS:
                adjusted[n][gram] = count
    return adjusted


def compute_discounts(counts, order_label):
    """Chen & Goodman eq. 26 from the counts of counts n1..n4 of one order's adjusted counts."""
    n = Counter(min(c, 5) for c in counts.values())
    try:
        if min(n[1], n[2], n[3]) == 0:
            raise ArithmeticError("an adjusted count of 1, 2 or 3 never occurs")
        y = n[1] / (n[1] + 2 * n[2])
        d = [j - (j + 1) * y * n[j + 1] / n[j] for j in (1, 2, 3)]
        bad = [x for j, x in zip((1, 2, 3), d) if not 0 <= x <= j]
        if bad:
            raise ArithmeticError(f"discounts {d} out of range")
        return Discounts(*d)
    except ArithmeticError as err:
        warnings.warn(f"language model: cannot estimate Kneser-Ney discounts for {order_label}-grams "
                      f"({err}; counts of counts {dict(sorted(n.items()))}): the corpus is too "
                      f"small; using lmplz's fallback discounts {FALLBACK_DISCOUNTS}", stacklevel=3)
        return Discounts(*FALLBACK_DISCOUNTS)


def _context_stats(adjusted, discounts):
    """Per context h: (sum_x a(hx), gamma(h)), the mass the discounts free for the lower order."""
    totals = defaultdict(int)
    freed = defaultdict(float)
    for gram, count in adjusted.items():
        totals[gram[:-1]] += count
        freed[gram[:-1]] += discounts.of(count)
    return {h: (totals[h], freed[h] / totals[h]) for h in totals}


@dataclass
class NgramModel:
    """The estimated model: probabilities (natural numbers, not logs) and backoff weights.

    prob[n-1][gram] = interpolated p(gram[-1] | gram[:-1]); backoff[n-1][gram] = gamma(gram) for
    grams that are contexts of a longer n-gram (1.0 otherwise, as in ARPA).
    """
    order: int
    prob: list
    backoff: list
    discounts: list
    vocabulary_size: int  # words + </s> + <unk> (the uniform distribution's support; not <s>)

    def probability(self, word, context=()):
        """p(word | context) by ARPA backoff, the way kenlm scores (context: older words first)."""
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        gram = context + (word,)
        weight = 1.0
        while gram:
            p = self.prob[len(gram) - 1].get(gram)
            if p is not None:
                return weight * p
            weight *= self.backoff[len(gram) - 2].get(gram[:-1], 1.0) if len(gram) > 1 else 1.0
            gram = gram[1:]
        return weight * self.prob[0][(UNK,)]

    def sentence_log10(self, sentence):
        """log10 P(sentence </s> | <s>): what kenlm.Model.score(sentence) returns."""
        words = normalize_text(sentence).split()
        known = {g[0] for g in self.prob[0]}
        history, total = [BOS], 0.0
        for word in words + [EOS]:
            word = word if word in known else UNK
            total += math.log10(self.probability(word, history))
            history.append(word)
        return total


def estimate(sentences, order=DEFAULT_ORDER):
    """Interpolated modified Kneser-Ney from lists of words (see module docstring)."""
    if not 1 <= int(order) <= MAX_ORDER:
        raise ValueError(f"n-gram order must be 1..{MAX_ORDER}, got {order!r}")
    if not sentences:
        raise ValueError("language model: no usable sentences (empty text after normalisation)")
    order = int(order)
    adjusted = adjust_counts(count_ngrams(sentences, order))
    adjusted[0][(UNK,)] = 0
    discounts = [compute_discounts(adjusted[n], n + 1) for n in range(order)]
    vocabulary_size = len(adjusted[0])  # includes </s> and <unk>, never <s>
    prob = [dict() for _ in range(order)]
    backoff = [dict() for _ in range(order)]
    lower = {(): 1.0 / vocabulary_size}
    for n in range(order):
        stats = _context_stats(adjusted[n], discounts[n])
        for gram, count in adjusted[n].items():
            total, gamma = stats[gram[:-1]]
            lower_p = lower[gram[1:]] if n else lower[()]
            prob[n][gram] = max(count - discounts[n].of(count), 0.0) / total + gamma * lower_p
        if n:
            for h, (_, gamma) in stats.items():
                if h[-1] not in (EOS, UNK):
                    backoff[n - 1][h] = gamma
        lower = prob[n]
    prob[0][(BOS,)] = 1.0  # lmplz writes log10 p(<s>) = 0: <s> is only ever a context
    if order > 1:
        backoff[0].setdefault((BOS,), 1.0)
    return NgramModel(order, prob, backoff, discounts, vocabulary_size)


def _arpa_value(x):
    return f"{min(0.0, math.log10(x)):.7g}" if x > 0 else "-99"


def write_arpa(model, path):
    """Write the ARPA file atomically (a half-written LM would load as a different model)."""
    lines = ["", "\\data\\"]
    lines += [f"ngram {n + 1}={len(model.prob[n])}" for n in range(model.order)]
    for n in range(model.order):
        lines += ["", f"\\{n + 1}-grams:"]
        for gram in sorted(model.prob[n]):
            line = f"{_arpa_value(model.prob[n][gram])}\t{' '.join(gram)}"
            if n < model.order - 1:
                line += f"\t{_arpa_value(model.backoff[n].get(gram, 1.0))}"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return atomic.write_text(path, "\n".join(lines))


def build_arpa(sentences, path, order=DEFAULT_ORDER, discounts="modified_kn"):
    """Estimate an interpolated modified Kneser-Ney n-gram model from raw sentences and write it
    as ARPA to path. Returns the NgramModel (its tables are what tests compare with kenlm)."""
    if discounts != "modified_kn":
        raise ValueError(f"discounts={discounts!r}: only 'modified_kn' (lmplz's method) is built")
    if isinstance(sentences, str):
        raise TypeError("build_arpa takes an iterable of sentences, not one string; "
                        "use build_lm_from_text for a text file")
    model = estimate(normalize_sentences(sentences), order)
    write_arpa(model, path)
    return model


def read_text_file(text_path):
    """One sentence per non-empty line of a UTF-8 text file."""
    text_path = os.fspath(text_path)
    if not os.path.isfile(text_path):
        raise FileNotFoundError(f"language-model text file {text_path!r} not found")
    from vui.data.corpus_index import undecodable_at
    lines = []
    with open(text_path, "rb") as f:           # bytes, so a bad byte is placed by its line
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as err:
                at = undecodable_at(raw, err)  # in the line's own bytes, past any BOM
                raise ValueError(f"language-model text file {text_path!r}, line {number}: not "
                                 f"UTF-8 text (byte {raw[at]:#04x} at column {at + 1}); "
                                 "expected one sentence a line") from None
            if line:
                lines.append(line)
    if not lines:
        raise ValueError(f"language-model text file {text_path!r} holds no text; expected one "
                         "sentence a line")
    return lines


def read_index_texts(index_path):
    """Transcripts of a JSON-lines corpus index (vui.data.corpus_index format, validated there)."""
    from vui.data.corpus_index import read_index
    return [entry["text"] for entry in read_index(index_path)]


def build_lm_from_index(source, path, order=DEFAULT_ORDER):
    """Build an ARPA LM from the training transcripts (a JSON-lines index, e.g.
    train_corpus.json), from a plain text file (one sentence per line, extension other than
    .json/.jsonl), or from a list of sentences. Returns the ARPA path."""
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        is_index = name.endswith((".json", ".jsonl"))
        texts = read_index_texts(name) if is_index else read_text_file(name)
    else:
        texts = list(source)
    build_arpa(texts, path, order=order)
    return os.fspath(path)


def read_arpa_vocabulary(path):
    """The words of an ARPA file's 1-gram section, without <s>, </s>, <unk> (the unigram list
    pyctcdecode needs; its own reader skips unigrams written without a backoff column)."""
    words, in_unigrams = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "\\1-grams:":
                in_unigrams = True
            elif in_unigrams and (line.startswith("\\") and line != "\\1-grams:"):
                break
            elif in_unigrams and line:
                parts = line.split("\t")
                if len(parts) < 2:
                    raise ValueError(f"{path}: malformed 1-gram line {line!r}")
                if parts[1] not in (BOS, EOS, UNK):
                    words.append(parts[1])
    if not words:
        raise ValueError(f"{path}: no 1-grams found; is it an ARPA file?")
    return words
