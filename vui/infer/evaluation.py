"""A partition's error rates (`T.evaluate`) and one utterance's transcript (`T.get_predictions`).

Both take a model (a Recognizer, or a model from T.train_model / T.load_model) and a generator,
normalise the generator's features with the model's own statistics (vui.infer.inference) and
produce its outputs through a strategy (vui.infer.strategy; the model as trained by default).
"""
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from vui.decode.parallel import DecodePool, check_workers, default_workers, pooled
from vui.features.speaker_norm import utterance_shifts
from vui.infer.inference import (as_decoder, check_features, check_generator, decoder_for_model,
                                 normalized_features, partition_features, predict_probabilities)
from vui.infer.strategy import Context, run_strategy
from vui.train.trained import keras_model, model_info
from vui.watched import shows_progress

RULE = "-" * 80


@dataclass
class Evaluation:
    """Error rates over a partition, and what it cost to get them."""
    cer: float
    wer: float
    utterances: int
    audio_seconds: float
    seconds: float
    decoder: str
    references: list = field(default_factory=list, repr=False)
    hypotheses: list = field(default_factory=list, repr=False)
    extras: dict = field(default_factory=dict, repr=False)  # the strategy's, per utterance
    speakers: list = field(default=None, repr=False)      # per utterance
    decode_workers: int = 0      # processes that shared the decoding (0: this one)

    @property
    def real_time_factor(self):
        """Wall seconds per audio second, outputs and decoding (with `decode_workers`, the
        pool's wall time: not comparable with an evaluation decoded in one process)."""
        return self.seconds / max(self.audio_seconds, 1e-9)

    def interval(self, unit="char", baseline=None, **options):
        """95% bootstrap interval over speakers for the CER (unit "char") or WER ("word"), or
        with `baseline` (another Evaluation of the same utterances) for this one's rate minus
        the baseline's: vui.decode.metrics.speaker_interval. None with fewer than 2 speakers, where
        there is nothing to resample."""
        from vui.decode.metrics import speaker_interval
        if len(set(self.speakers or ())) < 2:
            return None
        if baseline is not None and baseline.references != self.references:
            raise ValueError("Evaluation.interval: the baseline evaluated other utterances "
                             f"({baseline.utterances} against {self.utterances}, or other "
                             "references); compare evaluations of one partition")
        return speaker_interval(self.references, self.hypotheses, self.speakers, unit=unit,
                                baseline=None if baseline is None else baseline.hypotheses,
                                **options)


def evaluate(model, audio_gen, partition="validation", decoder="greedy", max_utterances=None,
             verbose=1, strategy=None, decode_workers=0):
    """CER and WER (jiwer) of `decoder` over a whole partition (or its first `max_utterances`);
    `model` a Recognizer or a model from T.train_model / T.load_model.

    `strategy` (a Strategy, e.g. one of vui.research.strategies) says how the model's outputs are
    produced from the utterances' features, grouped by the partition's `speakers`; None: the
    model as trained (AsTrained). What it reports per utterance lands in `extras`.

    `decode_workers` processes share beam searches (pyctcdecode is pure Python, one core per
    process; vui.decode.parallel): None one per core (at most 4), 0 (default) this process
    only, as the real-time factor of vui lm tune's decoder comparison assumes. Greedy decodes
    here.
    """
    from vui.decode.metrics import cer_wer
    check_generator(audio_gen, "T.evaluate(model, audio_gen, partition)")
    workers = default_workers() if decode_workers is None else check_workers(decode_workers)
    main = as_decoder(decoder, model)        # a Recognizer's own LM settings, if it is one
    model = keras_model(model)
    check_features(model, audio_gen)
    audio_gen.check_loaded(partition)
    paths, durations, texts = audio_gen.partition_data(partition)
    n = len(paths) if max_utterances is None else min(max_utterances, len(paths))
    if n == 0:
        raise ValueError(f"max_utterances={max_utterances!r} leaves nothing to evaluate; "
                         "expected a number >= 1, or None for the whole partition")
    features = partition_features(model, audio_gen, partition, n)
    speakers = audio_gen.speakers(partition)[:n]
    context = _partition_context(audio_gen, partition, decoder, main, verbose)
    start = time.perf_counter()
    outcome = run_strategy(strategy, model, features, speakers, context)
    decoders = outcome.decoders_or(main)
    label = getattr(main, "kind", type(main).__name__)   # its name can be 150 characters
    with tqdm(total=n, desc=f"decode ({label})", disable=not shows_progress(verbose),
              leave=False) as bar, \
            DecodePool(_pooled(decoders, workers)) as pool:
        hypotheses = _decode(pool, decoders, outcome.probs, bar.update)
    seconds = time.perf_counter() - start
    references = list(texts[:n])
    cer, wer = cer_wer(references, hypotheses)
    return Evaluation(cer=cer, wer=wer, utterances=n, audio_seconds=float(np.sum(durations[:n])),
                      seconds=seconds, decoder=main.name, references=references,
                      hypotheses=hypotheses, extras=outcome.extras, speakers=list(speakers),
                      decode_workers=pool.workers)


def _pooled(decoders, workers):
    """`workers` where a decoder goes to a pool (vui.decode.parallel.pooled), else 0: no
    process start for greedy decoding."""
    return workers if any(pooled(d) for d in decoders) else 0


def _decode(pool, decoders, probs, progress):
    """Each utterance's transcript by its own decoder (a strategy may give some utterances
    another model's), each decoder's share of the list decoded in one call to the pool."""
    hypotheses = [None] * len(probs)
    groups = {}
    for i, decoder in enumerate(decoders):
        groups.setdefault(id(decoder), (decoder, []))[1].append(i)
    for decoder, rows in groups.values():
        texts = pool.decode_all(decoder, [probs[i] for i in rows], progress=progress)
        for i, text in zip(rows, texts):
            hypotheses[i] = text
    return hypotheses


def _partition_context(audio_gen, partition, name, decoder, verbose):
    """The Context of a partition's utterances (`name`: the decoder asked for, `decoder` its
    object for the main model)."""
    def features_for(other, rows):
        return [normalized_features(other, audio_gen, partition, i) for i in rows]
    return Context(audio_gen.feature_config, audio_gen.normalization_stats(), features_for,
                   lambda other: decoder_for_model(name, decoder, other), verbose=verbose)


def get_predictions(audio_gen, model, partition, index, print_line=True, omit_true=False,
                    decoder="greedy"):
    """Print the true and decoded transcripts of one utterance, as the seed did; return its path.

    Default: the seed's long form. With `print_line=False` or `omit_true=True`, the compact
    form the seed's side-by-side listing uses ("TRUE: ..." / "PRED SPEC: ...").
    """
    check_generator(audio_gen, "T.get_predictions(audio_gen, model, partition, index)")
    model = keras_model(model)
    check_features(model, audio_gen)
    paths, _, texts = audio_gen.partition_data(partition)
    if not 0 <= index < len(paths):
        raise IndexError(f"index {index} is outside partition {partition!r} ({len(paths)} utterances)")
    probs = predict_probabilities(model, [_as_trained(model, audio_gen, partition, index)])[0]
    predicted = as_decoder(decoder, model).decode(probs)
    if print_line and not omit_true:
        print(f"{RULE}\nTrue transcription:\n\n{texts[index]}\n{RULE}\n"
              f"Predicted transcription:\n\n{predicted}\n{RULE}")
    else:
        if not omit_true:
            print(f"TRUE:      {texts[index]}")
        print(f"PRED {audio_gen.feature_config.short_name.upper()}: {predicted}")
        if print_line:
            print(RULE)
    return paths[index]


def _as_trained(model, audio_gen, partition, index):
    """One utterance's normalised features, shifted as the model's training inputs were (by
    its speaker's mean over the partition, as evaluate does), if they were."""
    features = normalized_features(model, audio_gen, partition, index)
    config = model_info(model).speaker_norm
    if config is None:
        return features
    speakers = audio_gen.speakers(partition)
    same = [i for i, s in enumerate(speakers) if s == speakers[index]] \
        if config.per == "speaker" else [index]
    group = [features if i == index else normalized_features(model, audio_gen, partition, i)
             for i in same]
    return features - utterance_shifts(group, [0] * len(group), config)[0]
