"""From a trained model to transcripts and error rates.

A model carries its training record (`model.vui_record`: feature settings and the training
partition's normalisation statistics), so features are normalised with the statistics the model
was trained with, whichever generator supplies the audio.
"""
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from vui.speaker_norm import as_config, normalize_speakers, trained_with, utterance_shifts

PREDICT_BATCH = 32
PAD_FRAMES_TO = 32          # pad batch lengths to a multiple of this: fewer distinct shapes to trace
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
    warp_alphas: list = field(default=None, repr=False)   # per utterance, with a warp search
    gate_routed: list = field(default=None, repr=False)   # per utterance, with a model gate
    speakers: list = field(default=None, repr=False)      # per utterance

    @property
    def real_time_factor(self):
        return self.seconds / max(self.audio_seconds, 1e-9)

    def interval(self, unit="char", baseline=None, **options):
        """95% bootstrap interval over speakers for the CER (unit "char") or WER ("word"), or
        with `baseline` (another Evaluation of the same utterances) for this one's rate minus
        the baseline's: vui.metrics.speaker_interval. None with fewer than 2 speakers, where
        there is nothing to resample."""
        from vui.metrics import speaker_interval
        if len(set(self.speakers or ())) < 2:
            return None
        if baseline is not None and baseline.references != self.references:
            raise ValueError("Evaluation.interval: the baseline evaluated other utterances "
                             f"({baseline.utterances} against {self.utterances}, or other "
                             "references); compare evaluations of one partition")
        return speaker_interval(self.references, self.hypotheses, self.speakers, unit=unit,
                                baseline=None if baseline is None else baseline.hypotheses,
                                **options)


def as_decoder(decoder, model=None):
    """A decoder object from a name ("greedy", "beam", "beam_lm") or pass one through.

    For "beam_lm" the language model and the weights tuned for this model are read from its
    record (`record["lm"]`, written by the alpha/beta search) unless a decoder object is given.
    """
    from vui.decoding import make_decoder
    if decoder is None:
        decoder = "greedy"
    if not isinstance(decoder, str):
        return decoder
    options = {}
    if decoder == "beam_lm":
        lm = (getattr(model, "vui_record", None) or {}).get("lm")
        if not lm:
            raise ValueError("decoder 'beam_lm' needs a language model: this model's record has none; "
                             "run `vui lm tune` (or vui.lm_tuning) first, or pass a decoder object")
        options = {"lm_path": lm["path"], "alpha": lm["alpha"], "beta": lm["beta"]}
    return make_decoder(decoder, **options)


def normalized_features(model, audio_gen, partition, index):
    """The utterance's features normalised with the model's own training statistics."""
    stats = (getattr(model, "vui_record", None) or {}).get("normalization")
    gen_stats = audio_gen.normalization_stats()
    if stats is None or _same_stats(stats, gen_stats):
        return audio_gen.get_features(partition, index)
    from utils import normalize_with
    paths = audio_gen.partition_data(partition)[0]
    return normalize_with(audio_gen.featurize(paths[index]), stats["mean"], stats["std"])


def partition_features(model, audio_gen, partition, n=None):
    """The first `n` (default: all) utterances of a partition, each through
    normalized_features."""
    if n is None:
        n = len(audio_gen.partition_data(partition)[0])
    return [normalized_features(model, audio_gen, partition, i) for i in range(n)]


def _same_stats(a, b):
    return all(np.allclose(np.asarray(a[k]), np.asarray(b[k])) for k in ("mean", "std"))


def predict_probabilities(model, features, verbose=0):
    """Softmax outputs for a list of (time, dim) feature matrices, each cut to its output length."""
    order = np.argsort([len(f) for f in features])
    out = [None] * len(features)
    batches = [order[i:i + PREDICT_BATCH] for i in range(0, len(order), PREDICT_BATCH)]
    for batch in tqdm(batches, desc="predict", disable=not verbose, leave=False):
        longest = max(len(features[i]) for i in batch)
        padded = -(-longest // PAD_FRAMES_TO) * PAD_FRAMES_TO
        x = np.zeros((len(batch), padded, features[batch[0]].shape[1]), dtype="float32")
        for row, i in enumerate(batch):
            x[row, :len(features[i])] = features[i]
        probs = np.asarray(model.predict_on_batch(x))
        for row, i in enumerate(batch):
            out[i] = probs[row, :int(model.output_length(len(features[i])))]
    return out


def evaluate(model, audio_gen, partition="validation", decoder="greedy", max_utterances=None,
             verbose=1, warp_search=None, gate=None, speaker_norm=None):
    """CER and WER (jiwer) of `decoder` over a whole partition (or its first `max_utterances`).

    `warp_search` (a vui.warp_search.WarpSearchConfig, or True for its defaults) decodes each
    utterance or speaker (the partition's `speakers`) at the vocal-tract warp its output is
    most confident under: test-time VTLN for talkers unlike the training voices.
    `gate` (a vui.model_gate.ModelGate) decodes the speakers `model` is unsure of with
    gate.robust, an augmented model, instead; with `warp_search` too, each speaker is
    warp-searched under the model the gate gave him; with "beam_lm", the routed speakers are
    decoded with the augmented model's own tuned LM weights when its record has them.
    `speaker_norm` (a vui.speaker_norm.SpeakerNormConfig, True, "speaker" or "utterance")
    shifts each speaker's features to the training mean before decoding (with `warp_search`,
    after each warp); with `gate`, only the routed speakers' (the kept ones are, by the
    gate's test, like the training voices). None (the default): the shift the model was
    trained with, if any (vui.speaker_norm.trained_with); False: none.
    """
    from vui.metrics import cer_wer
    speaker_norm = trained_with(model) if speaker_norm is None else as_config(speaker_norm)
    if gate is not None:
        from vui.model_gate import check_same_features
        check_same_features(model, gate.robust)
    decoder_name, decoder = decoder, as_decoder(decoder, model)
    paths, durations, texts = audio_gen.partition_data(partition)
    n = len(paths) if max_utterances is None else min(max_utterances, len(paths))
    if n == 0:
        raise ValueError(f"partition {partition!r} is empty: load it first (load_validation_data ...)")
    features = partition_features(model, audio_gen, partition, n)
    speakers = audio_gen.speakers(partition)[:n]
    start = time.perf_counter()
    routed = None
    if gate is None:
        probs, alphas = _probabilities(model, audio_gen, features, speakers, warp_search, verbose,
                                       speaker_norm=speaker_norm)
    else:
        probs, alphas, routed = _gated(model, audio_gen, partition, features, speakers, gate,
                                       warp_search, verbose, speaker_norm)
    decoders = [decoder] * n if routed is None else \
        _side_decoders(decoder_name, decoder, gate.robust, routed)
    hypotheses = [d.decode(p) for d, p in tqdm(list(zip(decoders, probs)),
                                               desc=f"decode ({decoder.name})",
                                               disable=not verbose, leave=False)]
    seconds = time.perf_counter() - start
    references = list(texts[:n])
    cer, wer = cer_wer(references, hypotheses)
    return Evaluation(cer=cer, wer=wer, utterances=n, audio_seconds=float(np.sum(durations[:n])),
                      seconds=seconds, decoder=decoder.name, references=references,
                      hypotheses=hypotheses, warp_alphas=alphas,
                      gate_routed=None if routed is None else routed.tolist(),
                      speakers=list(speakers))


def robust_decoder(name, decoder, robust):
    """The decoder for a model gate's routed side: with "beam_lm", the augmented model's own
    tuned LM weights when its record has them; else `decoder`, the unaugmented side's."""
    if name == "beam_lm" and (getattr(robust, "vui_record", None) or {}).get("lm"):
        return as_decoder(name, robust)
    return decoder


def _side_decoders(name, decoder, robust, routed):
    """Per utterance, its decoder: robust_decoder for the routed ones."""
    routed_decoder = robust_decoder(name, decoder, robust)
    return [routed_decoder if r else decoder for r in routed]


def _probabilities(model, audio_gen, features, speakers, warp_search, verbose, known=None,
                   speaker_norm=None):
    """(probs per utterance, its warp factor or None): plain, or warp-searched (`known`: the
    unwarped outputs when the caller has them already), speaker-normalised when asked (after
    each warp: a warp moves a speaker's mean)."""
    def shifted(feats):
        return normalize_speakers(feats, speakers, speaker_norm)
    if not warp_search:
        if speaker_norm is not None:
            features = shifted(features)
        return predict_probabilities(model, features, verbose=verbose), None
    from vui.warp_search import WarpSearchConfig, best_warped_probabilities
    config = WarpSearchConfig() if warp_search is True else warp_search
    stats = (getattr(model, "vui_record", None) or {}).get("normalization") \
        or audio_gen.normalization_stats()
    return best_warped_probabilities(model, features, audio_gen.feature_config, stats["mean"],
                                     stats["std"], config, speakers, verbose, known,
                                     None if speaker_norm is None else shifted)


def _gated(model, audio_gen, partition, features, speakers, gate, warp_search, verbose,
           speaker_norm=None):
    """(probs, warp factors or None, routing mask). The gate reads `model`'s unwarped output,
    as on the partition its threshold was set on; then each side is decoded by its own model
    (the augmented one sees its own normalisation, speaker-normalised when asked),
    warp-searched when asked."""
    probs = predict_probabilities(model, features, verbose=verbose)
    routed = gate.routed(probs, speakers)
    alphas = [1.0] * len(features) if warp_search else None
    kept = np.flatnonzero(~routed)
    sides = [(gate.robust, np.flatnonzero(routed),
              lambda i: normalized_features(gate.robust, audio_gen, partition, i), None,
              speaker_norm)]
    if warp_search:   # the unwarped pass is the gate's own: only the other factors are run
        sides.append((model, kept, features.__getitem__, {1.0: [probs[i] for i in kept]}, None))
    for side_model, rows, features_of, known, side_norm in sides:
        if len(rows) == 0:
            continue
        side_probs, side_alphas = _probabilities(side_model, audio_gen,
                                                 [features_of(i) for i in rows],
                                                 [speakers[i] for i in rows], warp_search,
                                                 verbose, known, side_norm)
        for k, i in enumerate(rows):
            probs[i] = side_probs[k]
            if side_alphas is not None:
                alphas[i] = side_alphas[k]
    return probs, alphas, routed


def get_predictions(audio_gen, model, partition, index, print_line=True, omit_true=False,
                    decoder="greedy"):
    """Print the true and decoded transcripts of one utterance, as the seed did; return its path.

    Default: the seed's long form. With `print_line=False` or `omit_true=True`, the compact
    form the seed's side-by-side listing uses ("TRUE: ..." / "PRED SPEC: ...").
    """
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
    config = trained_with(model)
    if config is None:
        return features
    speakers = audio_gen.speakers(partition)
    same = [i for i, s in enumerate(speakers) if s == speakers[index]] \
        if config.per == "speaker" else [index]
    group = [features if i == index else normalized_features(model, audio_gen, partition, i)
             for i in same]
    return features - utterance_shifts(group, [0] * len(group), config)[0]
